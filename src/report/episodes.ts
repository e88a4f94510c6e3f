import type { AlertThreshold } from '../config/schema.js';
import { crosses } from '../observe/alert.js';
import type { Store } from '../store/index.js';
import { HOUR_MS, medianOfSorted } from '../store/samples.js';

/** One run of alerting values of a signal: from the first crossing sample to the first one back. */
export interface AlertEpisode {
  target: string;
  signal: string;
  area: string | null;
  /** The first sample past the threshold. */
  start: number;
  /** The first sample back within it; null while the signal still alerts. */
  end: number | null;
  /** The value furthest past the threshold (largest for `above`, smallest for `below`). */
  worst: number;
  /** Samples in the episode. */
  samples: number;
}

export interface SignalSeriesSource {
  store: Store;
  signalId: number;
}

/**
 * The signal's values in [from, to), oldest first: raw samples where they are still kept, and the
 * hourly medians before that (raw samples are pruned after the retention period; the rollups stay).
 * Alert episodes older than the raw retention are therefore seen at an hour's resolution.
 * Error samples are skipped: a sample that could not be taken says nothing about the alert.
 */
export function valueSeries({ store, signalId }: SignalSeriesSource, from: number, to: number) {
  const raw = store.samples.values(signalId, from, to);
  const firstRaw = raw[0]?.t ?? to;
  const older = store.samples
    .hourly(signalId, Math.floor(from / HOUR_MS) * HOUR_MS, firstRaw)
    .filter((h) => h.median !== null && h.hour >= from && h.hour + HOUR_MS <= firstRaw)
    // An hour's median stands for the middle of the hour, so episodes seen at this resolution are
    // off by at most half an hour either way instead of always starting and ending early.
    .map((h) => ({ t: h.hour + HOUR_MS / 2, value: h.median! }));
  return [...older, ...raw];
}

/**
 * The alert episodes in a series, with the same test the status digest and the validator use
 * (`crosses`). An episode still open at the end of the series has `end: null`.
 */
export function episodesOf(
  series: readonly { t: number; value: number }[],
  threshold: AlertThreshold,
  label: { target: string; signal: string; area: string | null },
): AlertEpisode[] {
  const episodes: AlertEpisode[] = [];
  let open: AlertEpisode | undefined;
  const worse = (a: number, b: number) =>
    threshold.above !== undefined && a > threshold.above ? a > b : a < b;
  for (const { t, value } of series) {
    if (crosses(value, threshold)) {
      if (!open) {
        open = { ...label, start: t, end: null, worst: value, samples: 0 };
        episodes.push(open);
      }
      open.samples++;
      if (worse(value, open.worst)) open.worst = value;
    } else if (open) {
      open.end = t;
      open = undefined;
    }
  }
  return episodes;
}

/** Hourly medians of a signal over [from, to): the rollups where written, the raw samples after. */
export function hourlyMedians(
  { store, signalId }: SignalSeriesSource,
  from: number,
  to: number,
): { t: number; value: number }[] {
  const rolled = Math.min(store.samples.rolledUntil(signalId) ?? from, to);
  const out = store.samples
    .hourly(signalId, from, rolled)
    .filter((h) => h.median !== null)
    .map((h) => ({ t: h.hour, value: h.median! }));
  const byHour = new Map<number, number[]>();
  for (const s of store.samples.values(signalId, Math.max(from, rolled), to)) {
    const hour = Math.floor(s.t / HOUR_MS) * HOUR_MS;
    const list = byHour.get(hour) ?? [];
    list.push(s.value);
    byHour.set(hour, list);
  }
  for (const [hour, values] of [...byHour].sort((a, b) => a[0] - b[0])) {
    out.push({ t: hour, value: medianOfSorted(values.sort((a, b) => a - b))! });
  }
  return out;
}
