import { ACTIVE_STATES } from '../../loop/states.js';
import type { GuardCheck } from '../types.js';

/** At most `maxConcurrent` interventions applying or awaiting validation per target. */
export const concurrencyCheck: GuardCheck = {
  id: 'concurrency',
  describe: 'at most maxConcurrent interventions applying or awaiting validation',
  check(ctx) {
    const active = ctx.store.interventions
      .list({ target: ctx.target.name, states: ACTIVE_STATES })
      .filter((i) => i.id !== ctx.interventionId);
    const max = ctx.policy.maxConcurrent;
    if (active.length < max) return { decision: 'pass', reason: `${active.length} of ${max} slots in use` };
    return {
      decision: 'defer',
      reason: `concurrency limit: ${active.length} of ${max} interventions applying or awaiting validation (${active.map((i) => i.id).join(', ')})`,
    };
  },
};
