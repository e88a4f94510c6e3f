import { formatDuration } from '../../util/duration.js';
import type { GuardCheck } from '../types.js';

/** No intervention with the same area and change fingerprint inside the dedup window. */
export const dedupCheck: GuardCheck = {
  id: 'dedup',
  describe: 'no intervention with the same change (fingerprint, in any area) inside the dedup window',
  check(ctx) {
    const since = ctx.now - ctx.policy.dedupWindowMs;
    const twin = ctx.store.interventions
      .list({ target: ctx.target.name, since })
      .find((i) => i.fingerprint === ctx.fingerprint && i.id !== ctx.interventionId);
    if (!twin) return { decision: 'pass', reason: 'no duplicate in the window' };
    return {
      decision: 'reject',
      reason: `duplicate of ${twin.id} (${twin.state}, proposed ${formatDuration(ctx.now - twin.createdAt)} ago): the same change in area ${twin.area} within the ${formatDuration(ctx.policy.dedupWindowMs)} dedup window`,
    };
  },
};
