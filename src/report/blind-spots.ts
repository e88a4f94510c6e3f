import type { Episode } from './recovery.js';
import { lastTransitionBefore, stateAt, transitionsIn, type Tracked } from './timeline.js';

/*
 * What kaizen does not see or does not act on: signals that alerted while nothing was proposed for
 * them, areas where changes keep having no effect, and proposals waiting in the backlog (longest
 * first, with the guard's reason).
 */

/** An area with at least this many no_effect outcomes in the trend window is a blind spot. */
export const REPEATED_NO_EFFECT = 2;

export interface BlindSpots {
  silentAlerts: { target: string; signal: string; episodes: number; alertMs: number; threshold: string }[];
  repeatedNoEffect: { target: string; area: string; count: number; interventions: string[] }[];
  backlog: {
    id: string;
    target: string;
    title: string;
    area: string;
    since: number;
    waitingMs: number;
    reason: string;
  }[];
}

/** `weekStart`..`until` is the week; `windowStart`..`until` the trend window. */
export function blindSpots(
  tracked: readonly Tracked[],
  weekEpisodes: readonly Episode[],
  range: { weekStart: number; windowStart: number; until: number },
): BlindSpots {
  return {
    silentAlerts: silentAlerts(weekEpisodes, range.weekStart, range.until),
    repeatedNoEffect: repeatedNoEffect(tracked, range.windowStart, range.until),
    backlog: backlogAt(tracked, range.until),
  };
}

function silentAlerts(episodes: readonly Episode[], from: number, until: number): BlindSpots['silentAlerts'] {
  const bySignal = new Map<string, BlindSpots['silentAlerts'][number]>();
  for (const e of episodes) {
    if (e.proposals.length > 0) continue;
    const key = `${e.target}\u0000${e.signal}`;
    const row = bySignal.get(key) ?? {
      target: e.target,
      signal: e.signal,
      episodes: 0,
      alertMs: 0,
      threshold: e.threshold,
    };
    row.episodes++;
    row.alertMs += Math.min(e.end ?? until, until) - Math.max(e.start, from);
    bySignal.set(key, row);
  }
  return [...bySignal.values()].sort((a, b) => b.alertMs - a.alertMs || a.signal.localeCompare(b.signal));
}

function repeatedNoEffect(
  tracked: readonly Tracked[],
  from: number,
  until: number,
): BlindSpots['repeatedNoEffect'] {
  const byArea = new Map<string, { target: string; area: string; interventions: string[] }>();
  for (const t of tracked) {
    if (transitionsIn(t, from, until, ['no_effect']).length === 0) continue;
    const key = `${t.iv.target}\u0000${t.iv.area}`;
    const row = byArea.get(key) ?? { target: t.iv.target, area: t.iv.area, interventions: [] };
    row.interventions.push(t.iv.id);
    byArea.set(key, row);
  }
  return [...byArea.values()]
    .filter((r) => r.interventions.length >= REPEATED_NO_EFFECT)
    .map((r) => ({ ...r, count: r.interventions.length }))
    .sort((a, b) => b.count - a.count || a.area.localeCompare(b.area));
}

function backlogAt(tracked: readonly Tracked[], until: number): BlindSpots['backlog'] {
  return tracked
    .filter((t) => stateAt(t, until) === 'backlog')
    .map((t) => {
      const last = lastTransitionBefore(t, until)!;
      // Waiting since it first entered the backlog this time round (re-guarding keeps it there).
      const firstEntry =
        [...t.history]
          .reverse()
          .find((tr) => tr.at < until && tr.from !== 'backlog' && tr.to === 'backlog') ?? last;
      return {
        id: t.iv.id,
        target: t.iv.target,
        title: t.iv.proposal.title,
        area: t.iv.area,
        since: firstEntry.at,
        waitingMs: until - firstEntry.at,
        reason: last.reason,
      };
    })
    .sort((a, b) => b.waitingMs - a.waitingMs || a.id.localeCompare(b.id));
}
