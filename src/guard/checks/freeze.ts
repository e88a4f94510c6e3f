import { formatLocal } from '../../util/time.js';
import { freezeOf } from '../freeze.js';
import type { GuardCheck } from '../types.js';

export const freezeCheck: GuardCheck = {
  id: 'freeze',
  describe: 'neither the area nor a path it touches is frozen after consecutive rollbacks',
  check(ctx) {
    const f = freezeOf(ctx.store, ctx.target.name, ctx.proposal, ctx.policy, ctx.now);
    if (!f) return { decision: 'pass', reason: `area ${ctx.proposal.area} is not frozen` };
    const until = formatLocal(f.until, ctx.timeZone);
    if (f.key)
      return {
        decision: 'defer',
        reason: `${f.key} is frozen until ${until} after ${f.interventions.length} consecutive rollbacks of changes to it (${f.interventions.join(', ')}), whatever area they were labelled with`,
      };
    return {
      decision: 'defer',
      reason: `area ${f.area} is frozen until ${until} after ${f.interventions.length} consecutive rollbacks (${f.interventions.join(', ')})`,
    };
  },
};
