import { formatLocal } from '../../util/time.js';
import { areaFreeze } from '../freeze.js';
import type { GuardCheck } from '../types.js';

export const freezeCheck: GuardCheck = {
  id: 'freeze',
  describe: 'the area is not frozen after consecutive rollbacks',
  check(ctx) {
    const f = areaFreeze(ctx.store, ctx.target.name, ctx.proposal.area, ctx.policy, ctx.now);
    if (!f) return { decision: 'pass', reason: `area ${ctx.proposal.area} is not frozen` };
    return {
      decision: 'defer',
      reason: `area ${f.area} is frozen until ${formatLocal(f.until, ctx.timeZone)} after ${f.interventions.length} consecutive rollbacks (${f.interventions.join(', ')})`,
    };
  },
};
