import type { Clock } from '../clock.js';
import type { SignalConfig, TargetConfig } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { HOUR_MS, medianOfSorted, type Sample } from '../store/samples.js';
import { crosses, crossesSql, describeThreshold } from './alert.js';

export interface WindowStats {
  /** Value samples in the window (errors excluded). */
  n: number;
  mean: number | null;
  /** Exact for 1 h and 24 h; for 7 d the n-weighted median of hourly medians (approximate). */
  median: number | null;
  min: number | null;
  max: number | null;
}

export type AlertState = 'ok' | 'alert' | 'no_threshold' | 'unknown';

export interface SignalDigest {
  target: string;
  name: string;
  unit: string;
  direction: SignalConfig['direction'];
  role: SignalConfig['role'];
  area?: string;
  /** Newest value sample. */
  last: { value: number; t: number; ageMs: number } | null;
  /** Newest error sample, if it is newer than the newest value. */
  lastError: { message: string; t: number } | null;
  /** Error samples since the newest value (all samples when there was never a value). */
  errorStreak: number;
  /** True when there is no value newer than `staleAfterMs`. */
  stale: boolean;
  windows: { '1h': WindowStats; '24h': WindowStats; '7d': WindowStats };
  /** Least-squares slope over the last 24 h, in units per hour; null with fewer than 3 values. */
  trendPerHour: number | null;
  alert: {
    state: AlertState;
    threshold?: string;
    /** When the current alert (or ok) run began, as far back as raw samples reach. */
    since?: number;
    heldMs?: number;
  };
}

export interface TargetDigest {
  target: string;
  at: number;
  signals: SignalDigest[];
}

export interface DigestOptions {
  /** A signal whose newest value is older than this is stale (default 3 × 5 min). */
  staleAfterMs?: number;
}

const DAY_MS = 24 * HOUR_MS;

/**
 * The compact summary of a target's signals that the proposer and `kaizen status` read.
 * Cheap by construction: raw samples only for the last 24 h, hourly rollups for the week, and
 * index-range queries for streaks and alert runs.
 */
export function buildDigest(
  deps: { store: Store; clock: Clock },
  target: TargetConfig,
  options: DigestOptions = {},
): TargetDigest {
  const now = deps.clock.now();
  const staleAfterMs = options.staleAfterMs ?? 15 * 60_000;
  const rows = deps.store.catalog.signalsOf(target.name);
  const signals: SignalDigest[] = [];
  for (const signal of target.signals) {
    const row = rows.get(signal.name);
    signals.push(digestSignal(deps.store, signal, target.name, row?.id, now, staleAfterMs));
  }
  return { target: target.name, at: now, signals };
}

function digestSignal(
  store: Store,
  signal: SignalConfig,
  targetName: string,
  signalId: number | undefined,
  now: number,
  staleAfterMs: number,
): SignalDigest {
  const raw24 = signalId === undefined ? [] : store.samples.range(signalId, now - DAY_MS, now);
  const values24 = raw24.filter((s): s is Sample & { value: number } => s.value !== undefined);
  const values1 = values24.filter((s) => s.t >= now - HOUR_MS);

  const lastValue = signalId === undefined ? undefined : lastValueSample(store, signalId, now);
  const errors =
    signalId === undefined
      ? { count: 0, last: null }
      : errorsSince(store, signalId, lastValue?.t ?? -Infinity, now);

  const digest: SignalDigest = {
    target: targetName,
    name: signal.name,
    unit: signal.unit,
    direction: signal.direction,
    role: signal.role,
    ...(signal.area ? { area: signal.area } : {}),
    last: lastValue ? { value: lastValue.value, t: lastValue.t, ageMs: now - lastValue.t } : null,
    lastError: errors.last,
    errorStreak: errors.count,
    stale: !lastValue || now - lastValue.t > staleAfterMs,
    windows: {
      '1h': stats(values1.map((s) => s.value)),
      '24h': stats(values24.map((s) => s.value)),
      '7d': signalId === undefined ? stats([]) : weekStats(store, signalId, now),
    },
    trendPerHour: slopePerHour(values24),
    alert: { state: 'no_threshold' },
  };

  if (signal.alert) {
    const threshold = describeThreshold(signal.alert);
    if (!lastValue || signalId === undefined) {
      digest.alert = { state: 'unknown', threshold };
    } else {
      const alerting = crosses(lastValue.value, signal.alert);
      const since = runStart(store, signalId, signal.alert, alerting, now);
      digest.alert = { state: alerting ? 'alert' : 'ok', threshold, since, heldMs: now - since };
    }
  }
  return digest;
}

function lastValueSample(
  store: Store,
  signalId: number,
  now: number,
): { t: number; value: number } | undefined {
  return store.db
    .prepare(
      'SELECT t, value FROM samples WHERE signal_id = ? AND t <= ? AND value IS NOT NULL ORDER BY t DESC LIMIT 1',
    )
    .get(signalId, now) as { t: number; value: number } | undefined;
}

function errorsSince(store: Store, signalId: number, after: number, now: number) {
  const row = store.db
    .prepare(
      `SELECT COUNT(*) AS count, MAX(t) AS lastT FROM samples
       WHERE signal_id = ? AND t > ? AND t <= ? AND error IS NOT NULL`,
    )
    .get(signalId, Number.isFinite(after) ? after : -1, now) as { count: number; lastT: number | null };
  if (row.count === 0 || row.lastT === null) return { count: 0, last: null };
  const message = store.db
    .prepare('SELECT error FROM samples WHERE signal_id = ? AND t = ?')
    .pluck()
    .get(signalId, row.lastT) as string;
  return { count: row.count, last: { message, t: row.lastT } };
}

/** Start of the current run of alerting (or of ok) values. */
function runStart(
  store: Store,
  signalId: number,
  threshold: NonNullable<SignalConfig['alert']>,
  alerting: boolean,
  now: number,
): number {
  const cond = crossesSql(threshold);
  const opposite = alerting ? `NOT ${cond.sql}` : cond.sql;
  const lastOpposite = store.db
    .prepare(
      `SELECT MAX(t) FROM samples WHERE signal_id = ? AND t <= ? AND value IS NOT NULL AND ${opposite}`,
    )
    .pluck()
    .get(signalId, now, ...cond.params) as number | null;
  return store.db
    .prepare('SELECT MIN(t) FROM samples WHERE signal_id = ? AND t > ? AND t <= ? AND value IS NOT NULL')
    .pluck()
    .get(signalId, lastOpposite ?? -1, now) as number;
}

function stats(values: number[]): WindowStats {
  if (values.length === 0) return { n: 0, mean: null, median: null, min: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    n: values.length,
    mean: sum / values.length,
    median: medianOfSorted(sorted),
    min: sorted[0]!,
    max: sorted.at(-1)!,
  };
}

/** 7-day stats from hourly rollups plus the raw samples not rolled up yet. */
function weekStats(store: Store, signalId: number, now: number): WindowStats {
  const from = now - 7 * DAY_MS;
  const rolledUntil = store.samples.rolledUntil(signalId) ?? from;
  const hours =
    rolledUntil > from
      ? store.samples.hourly(signalId, Math.ceil(from / HOUR_MS) * HOUR_MS, rolledUntil)
      : [];
  const raw = store.samples
    .range(signalId, Math.max(from, rolledUntil), now)
    .flatMap((s) => (s.value === undefined ? [] : [s.value]));

  let n = raw.length;
  let sum = raw.reduce((a, b) => a + b, 0);
  let min = raw.reduce((a, b) => Math.min(a, b), Infinity);
  let max = raw.reduce((a, b) => Math.max(a, b), -Infinity);
  const weighted: [number, number][] = raw.map((v) => [v, 1]);
  for (const h of hours) {
    if (h.n === 0) continue;
    n += h.n;
    sum += h.sum!;
    min = Math.min(min, h.min!);
    max = Math.max(max, h.max!);
    weighted.push([h.median!, h.n]);
  }
  if (n === 0) return { n: 0, mean: null, median: null, min: null, max: null };
  return { n, mean: sum / n, median: weightedMedian(weighted, n), min, max };
}

function weightedMedian(pairs: [number, number][], total: number): number {
  pairs.sort((a, b) => a[0] - b[0]);
  let acc = 0;
  for (const [v, w] of pairs) {
    acc += w;
    if (acc >= total / 2) return v;
  }
  return pairs.at(-1)![0];
}

function slopePerHour(points: { t: number; value: number }[]): number | null {
  if (points.length < 3) return null;
  const t0 = points[0]!.t;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    const x = (p.t - t0) / HOUR_MS;
    sx += x;
    sy += p.value;
    sxx += x * x;
    sxy += x * p.value;
  }
  const n = points.length;
  const denom = n * sxx - sx * sx;
  return denom === 0 ? null : (n * sxy - sx * sy) / denom;
}
