import { writeWeeklyReport } from '../report/weekly.js';
import { printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

/** `kaizen report weekly [--week 2026-W47]`: write the weekly meta-review and say where it is. */
export async function weekly(
  opts: { config?: string; week?: string; json?: boolean },
  io: Io,
): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const written = await writeWeeklyReport(rt, opts.week === undefined ? {} : { week: opts.week });
    if (opts.json) return printJson(io, written);
    io.out(
      [
        `weekly report ${written.week}:`,
        `  ${written.html}`,
        `  ${written.markdown}`,
        `  ${written.charts.length} chart${written.charts.length === 1 ? '' : 's'} beside it`,
        `next moves: ${written.nextMoves.note}`,
      ].join('\n'),
    );
  });
}
