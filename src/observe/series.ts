import type { Clock } from '../clock.js';
import type { SignalConfig, TargetConfig } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { HOUR_MS } from '../store/samples.js';

/** One point of a series: a value or the error that kept it from being one. */
export type SeriesPoint =
  | { t: number; value: number | null; error: string | null }
  | { t: number; value: number | null; error: string | null; rollup: 'hourly' };

export interface SignalSeries {
  target: string;
  signal: string;
  unit: string;
  /** Start of the series (ms since epoch): now minus the requested span. */
  since: number;
  points: SeriesPoint[];
}

/**
 * A signal's samples over the last `sinceMs`, oldest first: raw samples where they are kept, and
 * older than raw retention the hourly rollups (their means) standing in for them. What
 * `kaizen signals` prints and the HTTP API serves.
 */
export function signalSeries(
  deps: { store: Store; clock: Clock },
  target: TargetConfig,
  signal: SignalConfig,
  sinceMs: number,
): SignalSeries {
  const row = deps.store.catalog.signalsOf(target.name).get(signal.name);
  const now = deps.clock.now();
  const from = now - sinceMs;
  const raw = row ? deps.store.samples.range(row.id, from, now) : [];
  const firstRaw = raw[0]?.t ?? now;
  const hourly =
    row && from < firstRaw
      ? deps.store.samples.hourly(row.id, from, Math.floor(firstRaw / HOUR_MS) * HOUR_MS)
      : [];
  const points: SeriesPoint[] = [
    ...hourly.map((h) => ({
      t: h.hour,
      value: h.n > 0 ? h.sum! / h.n : null,
      error: h.n === 0 ? `${h.errors} error sample(s)` : null,
      rollup: 'hourly' as const,
    })),
    ...raw.map((s) => ({ t: s.t, value: s.value ?? null, error: s.error ?? null })),
  ];
  return { target: target.name, signal: signal.name, unit: signal.unit, since: from, points };
}
