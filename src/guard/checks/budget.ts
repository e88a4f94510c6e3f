import { formatLocal, startOfDay } from '../../util/time.js';
import type { GuardCheck } from '../types.js';

/** At most `dailyBudget` applies per target per calendar day in the configured time zone. */
export const budgetCheck: GuardCheck = {
  id: 'budget',
  describe: 'at most dailyBudget applies per target per calendar day (in timeZone)',
  check(ctx) {
    const dayStart = startOfDay(ctx.now, ctx.timeZone);
    const used = ctx.store.interventions.countAppliesSince(ctx.target.name, dayStart);
    const budget = ctx.policy.dailyBudget;
    if (used < budget) return { decision: 'pass', reason: `${used} of ${budget} applies used today` };
    return {
      decision: 'defer',
      reason: `daily budget spent: ${used} of ${budget} applies today (day began ${formatLocal(dayStart, ctx.timeZone)})`,
    };
  },
};
