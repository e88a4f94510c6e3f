import { exportLessons as exportOwn } from '../learn/exchange/export.js';
import { syncLessons } from '../learn/exchange/sync.js';
import { LessonsRefusedError } from '../errors.js';
import { printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export interface ExchangeOptions {
  config?: string;
  json?: boolean;
}

/** `kaizen lessons export`: sign this system's new lessons into the outbox. */
export async function exportLessons(opts: ExchangeOptions, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const r = exportOwn(rt);
    if (opts.json) return printJson(io, r);
    const lines: string[] = [];
    if (r.exported.length === 0) {
      lines.push(
        `nothing new to export (key ${r.signer}): ${r.unchanged.length} own lesson${r.unchanged.length === 1 ? ' is' : 's are'} in the outbox already`,
      );
    } else {
      lines.push(
        `signed ${r.exported.length} lesson${r.exported.length === 1 ? '' : 's'} with key ${r.signer} into ${r.folder}:`,
      );
      for (const e of r.exported) {
        const what = e.update ? 'new version' : 'new';
        lines.push(`  ${e.id}  ${what}${e.status === 'retired' ? ', retired' : ''} (v${e.version})`);
      }
      lines.push('"kaizen lessons sync" sends them to the shared branch');
    }
    for (const p of r.problems) lines.push(`skipped ${p.file}: ${p.problem}`);
    io.out(lines.join('\n'));
  });
}

/**
 * `kaizen lessons sync`: push the outbox, import peers' lessons whose signatures verify. Everything
 * is printed first; when any envelope was refused the command then fails with LESSONS_REFUSED (exit
 * 14, EXIT.refused), so that a cron job notices an attack on the shared branch.
 */
export async function sync(opts: ExchangeOptions, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const r = await syncLessons(rt);
    const refusals = r.outcomes.filter((o) => o.outcome === 'refused').length;
    const failIfRefused = () => {
      if (refusals === 0) return;
      throw new LessonsRefusedError(
        `refused ${refusals} envelope${refusals === 1 ? '' : 's'} on the shared branch (${opts.json ? 'see "outcomes"' : 'the reasons are above'}); nothing refused was written, what verified was imported`,
      );
    };
    if (opts.json) {
      printJson(io, r);
      return failIfRefused();
    }
    const lines: string[] = [];
    lines.push(
      r.pushed.commit
        ? `pushed ${r.pushed.files.length} envelope${r.pushed.files.length === 1 ? '' : 's'} to ${r.repo} (${r.branch}) as ${r.pushed.commit.slice(0, 7)}`
        : `nothing to push to ${r.repo} (${r.branch})`,
    );
    for (const o of r.outcomes) {
      if (o.outcome === 'refused') lines.push(`refused ${o.message}`);
      else
        lines.push(
          `${o.outcome === 'updated' ? 'updated ' : 'imported'} lesson ${o.id} from ${o.peer} ("${o.name}")${o.version > 0 ? ` v${o.version}` : ''} into ${o.file}`,
        );
    }
    const imported = r.outcomes.length - refusals;
    const refused = refusals;
    lines.push(
      `${imported} imported, ${r.unchanged} unchanged, ${refused} refused${refused > 0 ? ' (nothing refused was written; see the reasons above)' : ''}`,
    );
    for (const n of r.notes) lines.push(`note: ${n}`);
    io.out(lines.join('\n'));
    failIfRefused();
  });
}
