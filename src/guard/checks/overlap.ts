import { ACTIVE_STATES } from '../../loop/states.js';
import { touches } from '../../propose/proposal.js';
import type { GuardCheck } from '../types.js';

/**
 * One change at a time in one place: no other intervention applying or awaiting its verdict in
 * the same area or touching the same path (or runbook action). Two at once could not be told apart
 * by validation, and doctor holds the same invariant.
 */
export const overlapCheck: GuardCheck = {
  id: 'overlap',
  describe: 'no other change applying or awaiting its verdict in the same area or on the same path',
  check(ctx) {
    const mine = new Set(touches(ctx.proposal));
    const active = ctx.store.interventions
      .list({ target: ctx.target.name, states: ACTIVE_STATES })
      .filter((i) => i.id !== ctx.interventionId);
    const wait = (what: string, id: string, state: string) => ({
      decision: 'defer' as const,
      reason: `${what} already has ${id} ${state === 'applying' ? 'being applied' : 'applied and awaiting its verdict'}: two changes at once in one place could not be told apart, so this one waits until ${id} is judged`,
    });
    const sameArea = active.find((i) => i.area === ctx.proposal.area);
    if (sameArea) return wait(`area ${sameArea.area}`, sameArea.id, sameArea.state);
    for (const i of active) {
      const shared = touches(i.proposal).find((k) => mine.has(k));
      if (shared) return wait(shared, i.id, i.state);
    }
    return { decision: 'pass', reason: 'nothing else is changing the same area or paths' };
  },
};
