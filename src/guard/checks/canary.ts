import picomatch from 'picomatch';
import { touches } from '../../propose/proposal.js';
import type { GuardCheck } from '../types.js';

/**
 * Risk medium or high is applied only behind canary infrastructure. The canary must cover what the
 * change touches: every file by the canary's declared paths (the area label alone never puts a
 * file behind a canary), a runbook action by its area.
 */
export const canaryCheck: GuardCheck = {
  id: 'canary',
  describe: 'risk medium or high needs a declared canary that covers the paths it touches',
  check(ctx) {
    const { effective } = ctx.risk;
    if (effective === 'low') return { decision: 'pass', reason: 'low risk: no canary needed' };
    const why = `${effective} risk (${ctx.risk.reasons.join('; ') || 'as proposed'})`;
    const area = ctx.proposal.area;
    const entry = ctx.policy.canaryAreas.find((a) => a.area === area);
    if (!entry)
      return {
        decision: 'defer',
        reason: `blocked on missing canary: ${why} and area ${area} has no canary (canaryAreas)`,
      };
    const files = touches(ctx.proposal).filter((k) => !k.startsWith('runbook:'));
    if (files.length === 0)
      return { decision: 'pass', reason: `${effective} risk; area ${area} has a canary` };
    if (!entry.paths)
      return {
        decision: 'defer',
        reason: `blocked on missing canary: ${why}; area ${area}'s canary declares no paths, so nothing shows that ${files.join(', ')} deploy${files.length === 1 ? 's' : ''} through it (give it paths: canaryAreas: [{ area: ${area}, paths: [...] }])`,
      };
    const covered = picomatch(entry.paths, { dot: true, nocase: true });
    const outside = files.filter((f) => !covered(f));
    if (outside.length)
      return {
        decision: 'defer',
        reason: `blocked on missing canary: ${why}; ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not behind area ${area}'s canary (its paths: ${entry.paths.join(', ')})`,
      };
    return {
      decision: 'pass',
      reason: `${effective} risk; ${files.join(', ')} ${files.length === 1 ? 'is' : 'are'} behind area ${area}'s canary`,
    };
  },
};
