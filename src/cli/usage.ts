import { DateTime } from 'luxon';
import { UsageError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { formatTable, printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(opts: { config?: string; since: string; json?: boolean }, io: Io): Promise<void> {
  const sinceMs = parseDuration(opts.since);
  if (sinceMs === undefined || sinceMs <= 0)
    throw new UsageError(`--since ${JSON.stringify(opts.since)}: expected a duration such as 7d or 30d`);
  await withRuntime(opts, async (rt) => {
    const tz = rt.config.timeZone;
    const rows = rt.store.usage.perDay(
      rt.clock.now() - sinceMs,
      (t) => DateTime.fromMillis(t, { zone: tz }).toISODate() ?? '',
    );
    if (opts.json) return printJson(io, rows);
    if (rows.length === 0)
      return io.out(`no model calls in the last ${opts.since} (the offline rules engine makes none)`);
    io.out(
      formatTable(
        ['DAY', 'PROVIDER', 'MODEL', 'CALLS', 'FAILED', 'TOKENS IN', 'TOKENS OUT'],
        rows.map((r) => [r.day, r.provider, r.model, r.calls, r.failed, r.inputTokens, r.outputTokens]),
      ),
    );
  });
}
