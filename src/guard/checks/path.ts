import path from 'node:path';
import picomatch from 'picomatch';
import { PathEscapeError, resolveInRepo } from '../../apply/workspace.js';
import { realish } from '../../util/paths.js';
import { gitReadOf } from '../git-reads.js';
import type { GuardCheck } from '../types.js';

/** Every touched path stays inside the repo and matches no blocked pattern or protected path. */
export const pathCheck: GuardCheck = {
  id: 'path',
  describe:
    'every touched path stays inside the repo (symlinks resolved) and is neither blocked, nor kaizen’s own, nor read by git as configuration',
  check(ctx) {
    const matchers = ctx.policy.blockedPaths.map((glob) => ({
      glob,
      match: picomatch(glob, { dot: true, nocase: true }),
    }));
    for (const change of ctx.proposal.changes) {
      if (change.kind === 'runbook') continue;
      let resolved: { abs: string; rel: string };
      try {
        resolved = resolveInRepo(ctx.target.repoPath, change.path);
      } catch (err) {
        if (err instanceof PathEscapeError) return { decision: 'reject', reason: err.message };
        throw err;
      }
      const blocked = matchers.find((m) => m.match(resolved.rel));
      if (blocked) {
        return {
          decision: 'reject',
          reason: `${resolved.rel} matches the blocked pattern "${blocked.glob}"`,
        };
      }
      const read = gitReadOf(ctx.gitReads, resolved.rel);
      if (read) {
        return {
          decision: 'reject',
          reason: `${resolved.rel} is read by git itself: ${read.why}; a change there could make git run a command on kaizen's host, so kaizen never changes it`,
        };
      }
      const real = realish(resolved.abs);
      for (const p of ctx.protectedPaths) {
        const prot = realish(p.path);
        if (real === prot || real.startsWith(prot + path.sep)) {
          return { decision: 'reject', reason: `${resolved.rel} is ${p.why}: kaizen never modifies itself` };
        }
      }
    }
    return { decision: 'pass', reason: 'all paths inside the repo and allowed' };
  },
};
