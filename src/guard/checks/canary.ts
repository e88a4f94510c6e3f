import type { GuardCheck } from '../types.js';

/** Risk medium or high is applied only where canary infrastructure is declared for the area. */
export const canaryCheck: GuardCheck = {
  id: 'canary',
  describe: 'risk medium or high needs canary infrastructure declared for the area',
  check(ctx) {
    const { effective } = ctx.risk;
    if (effective === 'low') return { decision: 'pass', reason: 'low risk: no canary needed' };
    if (ctx.policy.canaryAreas.includes(ctx.proposal.area)) {
      return { decision: 'pass', reason: `${effective} risk; area ${ctx.proposal.area} has a canary` };
    }
    return {
      decision: 'defer',
      reason: `blocked on missing canary: ${effective} risk (${ctx.risk.reasons.join('; ') || 'as proposed'}) and area ${ctx.proposal.area} has no canary (canaryAreas)`,
    };
  },
};
