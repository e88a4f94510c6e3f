/** Every time from the API is ms since the epoch; people read it in their browser's time zone. */
const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

export function formatTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : DATE_TIME.format(ms);
}

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** `2d 3h`, `45m`, `12s`: the two largest units, enough to read at a glance. */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms));
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0 || (unit === 's' && parts.length === 0)) parts.push(`${n}${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** The first 10 characters of a SHA: enough to find it in `git log`. */
export const shortSha = (sha: string | null): string => (sha ? sha.slice(0, 10) : '—');

export function formatNumber(n: number): string {
  if (n !== 0 && Math.abs(n) < 0.01) return n.toExponential(2);
  return Number.isInteger(n) ? String(n) : n.toFixed(Math.abs(n) < 10 ? 3 : 1);
}

/** `latency_ms down by 30 %` / `down by 5 ms`. */
export function formatPrediction(
  p: { signal: string; direction: string; magnitude: number; relative: boolean },
  unit = '',
): string {
  const size = p.relative
    ? `${formatNumber(p.magnitude * 100)} %`
    : `${formatNumber(p.magnitude)}${unit ? ` ${unit}` : ''}`;
  return `${p.signal} ${p.direction} by ${size}`;
}

export const stateLabel = (state: string): string => state.replace(/_/g, ' ');
