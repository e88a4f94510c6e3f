import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import { areaFreeze, type Freeze } from '../guard/freeze.js';
import type { GuardPolicy } from '../guard/policy.js';
import type { Store } from '../store/index.js';
import { startOfDay } from '../util/time.js';

export interface Allowance {
  used: number;
  limit: number;
  left: number;
}

/** What a target may still spend today (calendar day in the configured time zone). */
export interface TargetBudget {
  /** Start of today (ms since epoch) in `timeZone`. */
  dayStart: number;
  /** Applies (entries into applying) against the guard policy's dailyBudget. */
  applies: Allowance;
  /** Model tokens (in + out) against proposer.dailyTokens. */
  tokens: Allowance;
}

type Deps = { store: Store; config: KaizenConfig };

const allowance = (used: number, limit: number): Allowance => ({
  used,
  limit,
  left: Math.max(0, limit - used),
});

/** The same counts the budget check and the proposer's token pause use, so the numbers agree. */
export function targetBudget(
  deps: Deps,
  target: TargetConfig,
  policy: GuardPolicy,
  now: number,
): TargetBudget {
  const dayStart = startOfDay(now, deps.config.timeZone);
  return {
    dayStart,
    applies: allowance(deps.store.interventions.countAppliesSince(target.name, dayStart), policy.dailyBudget),
    tokens: allowance(deps.store.usage.tokensSince(target.name, dayStart), deps.config.proposer.dailyTokens),
  };
}

/** The target's areas frozen now (three rollbacks in a row, for the policy's freeze time). */
export function frozenAreas(deps: Deps, target: TargetConfig, policy: GuardPolicy, now: number): Freeze[] {
  // Every area that ever had an intervention; the (target, area, created_at) index answers this.
  const areas = deps.store.db
    .prepare(
      `SELECT DISTINCT i.area FROM interventions i JOIN targets t ON t.id = i.target_id WHERE t.name = ? ORDER BY i.area`,
    )
    .pluck()
    .all(target.name) as string[];
  return areas
    .map((area) => areaFreeze(deps.store, target.name, area, policy, now))
    .filter((f): f is Freeze => f !== undefined);
}
