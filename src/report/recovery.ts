import type { KaizenConfig } from '../config/schema.js';
import { ROLLBACK_STATES } from '../loop/states.js';
import { describeThreshold } from '../observe/alert.js';
import type { Store } from '../store/index.js';
import { episodesOf, valueSeries, type AlertEpisode } from './episodes.js';
import { transitionsIn, type Tracked } from './timeline.js';

/*
 * Recovery: every alert episode of every signal with an alert threshold, and how it ended. An
 * episode ends when a sample is back within the threshold; it counts as recovered by
 *  - a validated fix: an intervention on that signal (it predicted it, or works on its area) went
 *    live during the episode and was later validated;
 *  - a rollback: a change on the target was rolled back or reverted during the episode (a change
 *    that broke it, undone);
 *  - nothing kaizen did, otherwise.
 * Time to recovery is end − start: alert → fix or rollback → healthy.
 */

/** How far before the trend window samples are read, so an episode already running is seen whole. */
const LOOKBACK_MS = 7 * 86_400_000;

export type RecoveryHow = 'validated_fix' | 'rollback' | 'no_intervention';

export interface Episode extends AlertEpisode {
  threshold: string;
  /** How it ended; null while it still alerts. */
  recovery: { how: RecoveryHow; interventionId: string | null } | null;
  /** Interventions proposed for this signal (or its area) while it alerted. */
  proposals: string[];
}

/** The episodes of every alert-guarded signal that alerted at some point in [from, until). */
export function alertEpisodes(
  deps: { store: Store; config: KaizenConfig },
  tracked: readonly Tracked[],
  from: number,
  until: number,
): Episode[] {
  const out: Episode[] = [];
  for (const target of deps.config.targets) {
    const rows = deps.store.catalog.signalsOf(target.name);
    for (const signal of target.signals) {
      const row = rows.get(signal.name);
      if (!signal.alert || !row) continue;
      const series = valueSeries({ store: deps.store, signalId: row.id }, from - LOOKBACK_MS, until);
      const label = { target: target.name, signal: signal.name, area: signal.area ?? null };
      for (const ep of episodesOf(series, signal.alert, label)) {
        if ((ep.end ?? until) <= from) continue;
        out.push({
          ...ep,
          threshold: describeThreshold(signal.alert),
          recovery: ep.end === null ? null : recoveryOf(ep, tracked, until),
          proposals: tracked
            .filter(
              (t) => concerns(t, ep) && t.iv.createdAt >= ep.start && t.iv.createdAt <= (ep.end ?? until),
            )
            .map((t) => t.iv.id),
        });
      }
    }
  }
  return out.sort((a, b) => a.start - b.start || a.signal.localeCompare(b.signal));
}

/** Whether an intervention works on the episode's signal: it predicts it, or it is in its area. */
function concerns(t: Tracked, ep: AlertEpisode): boolean {
  return (
    t.iv.target === ep.target &&
    (t.iv.proposal.prediction.signal === ep.signal || (ep.area !== null && t.iv.area === ep.area))
  );
}

function recoveryOf(
  ep: AlertEpisode,
  tracked: readonly Tracked[],
  until: number,
): NonNullable<Episode['recovery']> {
  const end = ep.end!;
  const fix = tracked.find(
    (t) =>
      concerns(t, ep) &&
      t.iv.appliedAt !== null &&
      t.iv.appliedAt >= ep.start &&
      t.iv.appliedAt <= end &&
      // Validated by the time of the report's week end (a later verdict was not known then).
      t.history.some((tr) => tr.to === 'validated' && tr.at < until),
  );
  if (fix) return { how: 'validated_fix', interventionId: fix.iv.id };
  const undone = tracked.find(
    (t) => t.iv.target === ep.target && transitionsIn(t, ep.start, end + 1, ROLLBACK_STATES).length > 0,
  );
  if (undone) return { how: 'rollback', interventionId: undone.iv.id };
  return { how: 'no_intervention', interventionId: null };
}

/** Mean time to recovery of the episodes that ended in [from, to); null when none did. */
export function meanTimeToRecovery(
  episodes: readonly Episode[],
  from: number,
  to: number,
): { mttrMs: number | null; recovered: number } {
  const ended = episodes.filter((e) => e.end !== null && e.end >= from && e.end < to);
  if (ended.length === 0) return { mttrMs: null, recovered: 0 };
  return {
    mttrMs: ended.reduce((s, e) => s + (e.end! - e.start), 0) / ended.length,
    recovered: ended.length,
  };
}
