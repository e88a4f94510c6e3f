import { recoverInterrupted } from '../apply/recover.js';
import { printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

/**
 * `kaizen recover`: what it finished or undid, one line each. A target another live kaizen process
 * holds is left alone, and then the command fails with exit 75 (busy) naming the holder, after
 * everything else is done.
 */
export async function run(opts: { config?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const report = await recoverInterrupted(rt);
    if (opts.json) {
      printJson(io, {
        recovered: report.recovered.map((r) => ({
          id: r.intervention.id,
          outcome: r.outcome,
          state: r.intervention.state,
          ...('reason' in r ? { reason: r.reason } : {}),
        })),
        orphans: report.orphans.map((iv) => iv.id),
        pushes: report.pushes,
        busy: report.busy.map((b) => ({ target: b.target, holder: b.holder, message: b.message })),
      });
    } else {
      const lines: string[] = [];
      for (const r of report.recovered) {
        lines.push(
          r.outcome === 'stopped'
            ? `${r.intervention.id} not recovered: ${r.reason}`
            : `${r.intervention.id} recovered: ${r.intervention.state}${r.outcome === 'failed' ? ` (${r.reason})` : ''}`,
        );
      }
      for (const iv of report.orphans)
        lines.push(`${iv.id} rejected: ${iv.id} was never guarded (kaizen stopped before guarding it)`);
      for (const p of report.pushes)
        lines.push(
          `${p.interventionId}: ${p.outcome === 'still-pending' ? `the revert is still not pushed: ${p.detail}` : p.detail}`,
        );
      if (lines.length === 0 && report.busy.length === 0)
        lines.push('nothing to recover: no apply was interrupted');
      for (const line of lines) io.out(line);
    }
    if (report.busy.length > 0) throw report.busy[0]!;
  });
}
