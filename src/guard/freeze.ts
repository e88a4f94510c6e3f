import { OUTCOME_STATES, ROLLBACK_STATES } from '../loop/states.js';
import { touches, type Proposal } from '../propose/proposal.js';
import type { Store } from '../store/index.js';
import type { GuardPolicy } from './policy.js';

export interface Freeze {
  area: string;
  /**
   * Set when what froze is a path (or `runbook:<action>`) rather than the area: changes to it were
   * rolled back under whatever area labels the proposer chose.
   */
  key?: string;
  /** The rollbacks that froze it, newest first. */
  interventions: string[];
  since: number;
  until: number;
}

/** How many finished interventions a touch freeze looks back through. */
const LOOK_BACK = 500;

/**
 * An area is frozen for `freeze.for` after `freeze.after` consecutive rollbacks (rolled_back or
 * reverted) among its finished interventions.
 */
export function areaFreeze(
  store: Store,
  target: string,
  area: string,
  policy: GuardPolicy,
  now: number,
): Freeze | undefined {
  const recent = store.interventions.latestInArea(target, area, OUTCOME_STATES, policy.freeze.after);
  if (recent.length < policy.freeze.after || !recent.every((i) => ROLLBACK_STATES.includes(i.state)))
    return undefined;
  const since = recent[0]!.updatedAt;
  const until = since + policy.freeze.forMs;
  return until > now ? { area, interventions: recent.map((i) => i.id), since, until } : undefined;
}

/**
 * A path (or runbook action) is frozen the same way, keyed on what the changes touched rather than
 * on their area: three rollbacks of changes to config.json under three area names still freeze
 * config.json. The area is the proposer's own label; it must not decide safety.
 */
export function touchFreeze(
  store: Store,
  target: string,
  keys: readonly string[],
  policy: GuardPolicy,
  now: number,
): Freeze | undefined {
  if (keys.length === 0) return undefined;
  const finished = store.interventions
    .list({ target, states: OUTCOME_STATES, limit: LOOK_BACK })
    .sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : -1));
  for (const key of keys) {
    const recent = finished.filter((i) => touches(i.proposal).includes(key)).slice(0, policy.freeze.after);
    if (recent.length < policy.freeze.after || !recent.every((i) => ROLLBACK_STATES.includes(i.state)))
      continue;
    const since = recent[0]!.updatedAt;
    const until = since + policy.freeze.forMs;
    if (until > now)
      return { area: recent[0]!.area, key, interventions: recent.map((i) => i.id), since, until };
  }
  return undefined;
}

/** What freezes a proposal now: its area, or anything it touches; undefined when nothing does. */
export function freezeOf(
  store: Store,
  target: string,
  proposal: Pick<Proposal, 'area' | 'changes'>,
  policy: GuardPolicy,
  now: number,
): Freeze | undefined {
  return (
    areaFreeze(store, target, proposal.area, policy, now) ??
    touchFreeze(store, target, touches(proposal), policy, now)
  );
}
