import type { GuardCheck } from '../types.js';

/** The change kind is allowed, and a runbook action is on the allow-list. */
export const kindCheck: GuardCheck = {
  id: 'kind',
  describe: 'the change kind is not blocked, and runbook actions are allow-listed',
  check(ctx) {
    const { kind } = ctx.proposal;
    if (ctx.policy.blockedKinds.includes(kind)) {
      return {
        decision: 'reject',
        reason: `change kind "${kind}" is blocked by the guard policy (blockedKinds)`,
      };
    }
    for (const change of ctx.proposal.changes) {
      if (change.kind !== 'runbook') continue;
      const known = Object.keys(ctx.target.runbooks);
      if (!Object.hasOwn(ctx.target.runbooks, change.action)) {
        return {
          decision: 'reject',
          reason: `runbook action "${change.action}" is not on the allow-list of target ${ctx.target.name} (${known.length ? `known: ${known.join(', ')}` : 'it has no runbooks'})`,
        };
      }
    }
    return { decision: 'pass', reason: `kind "${kind}" allowed` };
  },
};
