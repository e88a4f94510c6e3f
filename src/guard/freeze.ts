import { OUTCOME_STATES, ROLLBACK_STATES } from '../loop/states.js';
import type { Store } from '../store/index.js';
import type { GuardPolicy } from './policy.js';

export interface Freeze {
  area: string;
  /** The rollbacks that froze it, newest first. */
  interventions: string[];
  since: number;
  until: number;
}

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
