import type { GuardCheck } from '../types.js';

/**
 * A proposal must follow (cite) or argue against every active lesson that speaks to what it
 * changes: its area, or the signal it predicts. Silently going against a lesson is refused.
 */
export const lessonsCheck: GuardCheck = {
  id: 'lessons',
  describe: 'every active lesson on the area or predicted signal is cited or argued against',
  check(ctx) {
    const p = ctx.proposal;
    const signal = p.prediction.signal;
    const addressed = new Set([...p.citesLessons, ...p.arguesAgainst.map((a) => a.lesson)]);
    const relevant = ctx.lessons.filter(
      (l) =>
        l.status === 'active' &&
        (l.areas?.includes(p.area) ||
          l.signals?.includes(signal) ||
          l.scope === p.area ||
          l.scope === signal),
    );
    const ignored = relevant.filter((l) => !addressed.has(l.id));
    const unknown = [...addressed].filter((id) => !ctx.lessons.some((l) => l.id === id));
    if (unknown.length > 0) {
      return {
        decision: 'reject',
        reason: `cites or argues against lessons that do not exist: ${unknown.join(', ')}`,
      };
    }
    if (ignored.length > 0) {
      return {
        decision: 'reject',
        reason: `ignores ${ignored.map((l) => `${l.id} (${l.prefer})`).join('; ')}: follow a lesson and cite it (citesLessons), or argue against it (arguesAgainst) with why`,
      };
    }
    return {
      decision: 'pass',
      reason: relevant.length
        ? `addresses ${relevant.map((l) => l.id).join(', ')}`
        : 'no lesson speaks to this change',
    };
  },
};
