import { RISKS } from '../../propose/proposal.js';
import type { GuardCheck } from '../types.js';

/** From the policy's `approvalFrom` risk upwards, a person must approve before anything is applied. */
export const approvalCheck: GuardCheck = {
  id: 'approval',
  describe: 'proposals at or above the approvalFrom risk wait for a person',
  check(ctx) {
    const needs = RISKS.indexOf(ctx.risk.effective) >= RISKS.indexOf(ctx.policy.approvalFrom);
    if (!needs) return { decision: 'pass', reason: `${ctx.risk.effective} risk: no approval needed` };
    if (ctx.approvedBy) return { decision: 'pass', reason: `approved by ${ctx.approvedBy}` };
    return {
      decision: 'defer',
      reason: `needs approval: ${ctx.risk.effective} risk (approvalFrom: ${ctx.policy.approvalFrom})`,
    };
  },
};
