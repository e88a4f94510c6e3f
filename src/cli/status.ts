import { selectTargets } from '../compose.js';
import { buildDigest, type SignalDigest } from '../observe/digest.js';
import { selectProvider } from '../propose/providers/index.js';
import { formatDuration } from '../util/duration.js';
import { formatNumber, formatTable, printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(opts: { config?: string; target?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const staleAfterMs = 3 * rt.config.schedule.observeMs;
    const digests = selectTargets(rt.config, opts.target).map((t) => buildDigest(rt, t, { staleAfterMs }));
    if (opts.json) return printJson(io, digests);
    io.out(`proposer: ${proposerLine(rt.config.proposer)}`);
    io.out(renderStatus(digests.flatMap((d) => d.signals)));
  });
}

export function renderStatus(signals: SignalDigest[]): string {
  if (signals.length === 0) return 'no signals configured';
  return formatTable(
    ['TARGET', 'SIGNAL', 'LAST', 'UNIT', 'AGE', '24H', 'ALERT', 'ERRORS'],
    signals.map((s) => [
      s.target,
      s.name,
      s.last ? formatNumber(s.last.value) : '-',
      s.unit,
      s.last ? formatDuration(s.last.ageMs) + (s.stale ? ' (stale)' : '') : 'never',
      trendArrow(s),
      alertText(s),
      s.errorStreak > 0 ? `${s.errorStreak} in a row: ${truncate(s.lastError?.message ?? '', 60)}` : '',
    ]),
  );
}

/** ↑ / ↓ when the 24 h trend moves the value by more than 5 % of its median over a day; → otherwise. */
export function trendArrow(s: SignalDigest): string {
  const slope = s.trendPerHour;
  const median = s.windows['24h'].median;
  if (slope === null || median === null) return '·';
  const scale = Math.max(Math.abs(median), 1e-9);
  const dayChange = (slope * 24) / scale;
  if (Math.abs(dayChange) < 0.05) return '→';
  return slope > 0 ? '↑' : '↓';
}

function alertText(s: SignalDigest): string {
  switch (s.alert.state) {
    case 'no_threshold':
      return '';
    case 'unknown':
      return `unknown (${s.alert.threshold})`;
    case 'ok':
      return 'ok';
    case 'alert':
      return `ALERT ${s.alert.threshold} for ${formatDuration(s.alert.heldMs ?? 0)}`;
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Which proposer runs and why; a misconfiguration is shown, not thrown: status must always answer. */
function proposerLine(config: Parameters<typeof selectProvider>[0]): string {
  try {
    return selectProvider(config).why;
  } catch (err) {
    return err instanceof Error ? `NOT USABLE: ${err.message}` : String(err);
  }
}
