import { formatDuration } from '../util/duration.js';
import { formatTable, printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(opts: { config?: string; target?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const now = rt.clock.now();
    const items = rt.store.interventions.list({
      states: ['backlog'],
      ...(opts.target ? { target: opts.target } : {}),
    });
    const rows = items.map((iv) => ({
      id: iv.id,
      target: iv.target,
      area: iv.area,
      title: iv.proposal.title,
      risk: iv.risk,
      waitingSince: rt.store.interventions.enteredAt(iv.id, 'backlog') ?? iv.createdAt,
      why: iv.waitingReason ?? '',
    }));
    if (opts.json) return printJson(io, rows);
    if (rows.length === 0) return io.out('the backlog is empty');
    io.out(
      formatTable(
        ['ID', 'TARGET', 'AREA', 'RISK', 'WAITING', 'TITLE', 'WHY IT WAITS'],
        rows.map((r) => [
          r.id,
          r.target,
          r.area,
          r.risk,
          formatDuration(now - r.waitingSince),
          r.title,
          r.why,
        ]),
      ),
    );
    io.out('\napprove with "kaizen approve ID", reject with "kaizen reject ID --why ..."');
  });
}
