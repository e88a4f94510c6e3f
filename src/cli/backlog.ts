import { backlogItems, expireBacklog } from '../loop/backlog.js';
import { formatDuration } from '../util/duration.js';
import { formatTable, printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(opts: { config?: string; target?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const now = rt.clock.now();
    // Expiry is applied whenever someone looks, so the list never shows what has already lapsed.
    const expired = expireBacklog(rt, opts.target);
    const rows = backlogItems(rt, opts.target).map(({ intervention: iv, waitingSince, expiresAt }) => ({
      id: iv.id,
      target: iv.target,
      area: iv.area,
      title: iv.proposal.title,
      risk: iv.risk,
      waitingSince,
      expiresAt,
      why: iv.waitingReason ?? '',
    }));
    if (opts.json) return printJson(io, rows);
    for (const iv of expired) io.out(`${iv.id} expired: ${iv.proposal.title}`);
    if (rows.length === 0) return io.out('the backlog is empty');
    io.out(
      formatTable(
        ['ID', 'TARGET', 'AREA', 'RISK', 'WAITING', 'EXPIRES IN', 'TITLE', 'WHY IT WAITS'],
        rows.map((r) => [
          r.id,
          r.target,
          r.area,
          r.risk,
          formatDuration(now - r.waitingSince),
          formatDuration(Math.max(0, r.expiresAt - now)),
          r.title,
          r.why,
        ]),
      ),
    );
    io.out('\napprove with "kaizen approve ID", reject with "kaizen reject ID --why ..."');
  });
}
