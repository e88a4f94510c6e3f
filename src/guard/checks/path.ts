import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { PathEscapeError, resolveInRepo } from '../../apply/workspace.js';
import type { GuardCheck } from '../types.js';

/** Every touched path stays inside the repo and matches no blocked pattern or protected path. */
export const pathCheck: GuardCheck = {
  id: 'path',
  describe:
    'every touched path stays inside the repo (symlinks resolved) and is neither blocked nor kaizen’s own',
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

/** The real path of the deepest existing ancestor, with the rest appended. */
function realish(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  while (!existsSync(head) && path.dirname(head) !== head) {
    tail.unshift(path.basename(head));
    head = path.dirname(head);
  }
  return path.join(realpathSync(head), ...tail);
}
