import { distill, type DistillSummary } from '../learn/distill/run.js';
import { formatLocal } from '../util/time.js';
import { printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(opts: { config?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const summary = await distill(rt);
    if (opts.json) return printJson(io, summary);
    io.out(describe(summary, rt.config.timeZone));
  });
}

/** What one run did, as a person reads it. */
export function describe(s: DistillSummary, tz: string): string {
  const lines = [
    `distill run ${s.run}${s.resumed ? ' (resumed after an interrupted run)' : ''}: ${s.reviewed.length} intervention(s) finished ${s.since === 0 ? 'so far' : `since ${formatLocal(s.since, tz)}`} reviewed (${s.mode})`,
  ];
  if (s.created.length) lines.push(`  new lessons: ${s.created.join(', ')}`);
  if (s.updated.length) lines.push(`  more evidence for: ${s.updated.join(', ')}`);
  for (const d of s.duplicates) lines.push(`  not written: ${d.draft} repeats ${d.existing}`);
  for (const r of s.retired) lines.push(`  retired ${r.id}: ${r.why}`);
  for (const r of s.proposedRetirements)
    lines.push(
      `  consider retiring ${r.id} (not kaizen's own): ${r.why} — "kaizen lessons retire ${r.id} --why ..."`,
    );
  for (const e of s.escapedDefects)
    lines.push(`  escaped the guard: ${e.intervention} (${e.state}): ${e.analysis}`);
  for (const n of s.notes) lines.push(`  note: ${n}`);
  if (lines.length === 1) lines.push('  nothing new to learn');
  return lines.join('\n');
}
