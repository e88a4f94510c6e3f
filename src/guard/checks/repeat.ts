import { formatDuration } from '../../util/duration.js';
import type { GuardCheck } from '../types.js';

/** What counts as a fix that did not help: it changed nothing measurable, or it was undone. */
const FAILED = new Set(['no_effect', 'reverted', 'rolled_back']);

/**
 * A fix that "succeeded" without helping is not tried again: a change whose fingerprint matches
 * an intervention that ended no_effect, reverted or rolled_back within `failedFixWindow` is refused.
 */
export const repeatCheck: GuardCheck = {
  id: 'repeat',
  describe: 'no repeat of a change that ended no_effect, reverted or rolled_back within failedFixWindow',
  check(ctx) {
    const since = ctx.now - ctx.policy.failedFixWindowMs;
    const failed = ctx.store.interventions
      .list({ target: ctx.target.name, since })
      .find((i) => i.fingerprint === ctx.fingerprint && i.id !== ctx.interventionId && FAILED.has(i.state));
    if (!failed) return { decision: 'pass', reason: 'not a repeat of a failed change' };
    return {
      decision: 'reject',
      reason: `repeats ${failed.id}, which ended ${failed.state} ${formatDuration(ctx.now - failed.updatedAt)} ago: the same change is not tried again within ${formatDuration(ctx.policy.failedFixWindowMs)}`,
    };
  },
};
