import { parseDuration } from '../util/duration.js';
import { NotFoundError, UsageError } from '../errors.js';
import { signalSeries } from '../observe/series.js';
import { formatNumber, formatTable, printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(
  name: string,
  opts: { config?: string; since: string; json?: boolean },
  io: Io,
): Promise<void> {
  const sinceMs = parseDuration(opts.since);
  if (sinceMs === undefined || sinceMs <= 0) {
    throw new UsageError(`--since ${JSON.stringify(opts.since)}: expected a duration such as 30m, 24h or 7d`);
  }
  await withRuntime(opts, async (rt) => {
    const [targetName, signalName] = name.includes('/')
      ? (name.split('/', 2) as [string, string])
      : [undefined, name];
    const matches = rt.config.targets
      .filter((t) => targetName === undefined || t.name === targetName)
      .flatMap((t) => t.signals.filter((s) => s.name === signalName).map((s) => ({ target: t, signal: s })));
    if (matches.length === 0) {
      const known = rt.config.targets.flatMap((t) => t.signals.map((s) => `${t.name}/${s.name}`));
      throw new NotFoundError(
        `no signal "${name}"; known signals: ${known.join(', ') || 'none (add some to the config)'}`,
      );
    }
    if (matches.length > 1) {
      throw new UsageError(
        `signal "${name}" exists in several targets; say which: ${matches.map((m) => `${m.target.name}/${name}`).join(', ')}`,
      );
    }
    const { target, signal } = matches[0]!;
    const series = signalSeries(rt, target, signal, sinceMs);
    const points = series.points;
    if (opts.json) return printJson(io, series);
    if (points.length === 0) {
      io.out(
        `no samples of ${target.name}/${signal.name} in the last ${opts.since}; run "kaizen observe" to take one`,
      );
      return;
    }
    io.out(
      formatTable(
        ['TIME', `VALUE (${signal.unit})`, 'ERROR'],
        points.map((p) => [
          new Date(p.t).toISOString() + ('rollup' in p ? ' (hourly mean)' : ''),
          formatNumber(p.value),
          p.error ?? '',
        ]),
      ),
    );
  });
}
