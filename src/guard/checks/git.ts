import path from 'node:path';
import { exposedBy, ignoredBy, isTracked, ownPathsInRepo } from '../ignores.js';
import type { GuardCheck } from '../types.js';

/** `.gitattributes` settings that choose a driver git runs as a command. */
const DRIVER = /(^|\s)(filter|diff|merge)=\S+/;

/** The lines of a .gitattributes that name a driver, normalised, for before/after comparison. */
function driverLines(text: string | null): string[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '' && !l.startsWith('#') && DRIVER.test(l))
    .sort();
}

/**
 * What git would do with the change: commit it as it is (no ignored path), run nothing new (no
 * new filter, diff or merge driver chosen in a .gitattributes), and keep kaizen's own data folder
 * and config out of sight (a .gitignore change must not expose them).
 */
export const gitCheck: GuardCheck = {
  id: 'git',
  describe:
    'git commits the change as written and runs nothing new: no ignored path, no new driver in .gitattributes, kaizen’s own files stay ignored',
  check(ctx) {
    if (!('edits' in ctx.plan) || ctx.plan.edits.length === 0)
      return { decision: 'pass', reason: 'no file changes' };
    const edits = ctx.plan.edits;
    const repo = ctx.target.repoPath;

    for (const e of edits) {
      if (path.posix.basename(e.rel) !== '.gitattributes') continue;
      const before = driverLines(e.before);
      const after = driverLines(e.after);
      const added = after.filter((l) => !before.includes(l));
      const removed = before.filter((l) => !after.includes(l));
      if (added.length || removed.length)
        return {
          decision: 'reject',
          reason: `${e.rel}: the change ${added.length ? `adds ${JSON.stringify(added[0])}` : `removes ${JSON.stringify(removed[0])}`}; attributes choose the filter, diff and merge drivers git runs as commands, so kaizen does not change them`,
        };
    }

    const ignored = ignoredBy(
      repo,
      edits.map((e) => e.rel),
    );
    if (ignored.size > 0) {
      const [file, rule] = [...ignored][0]!;
      return {
        decision: 'reject',
        reason: `${file} is ignored by git (${rule}): kaizen could not commit it, and a change it cannot commit is not one it can undo`,
      };
    }

    const ignoreFiles = edits.some((e) => path.posix.basename(e.rel) === '.gitignore');
    // A config the repo tracks on purpose is not hidden by ignore rules anyway.
    const own = ignoreFiles ? ownPathsInRepo(repo, ctx.ownPaths).filter((p) => !isTracked(repo, p)) : [];
    const exposed = exposedBy(repo, edits, own);
    if (exposed.length > 0)
      return {
        decision: 'reject',
        reason: `the change would stop git ignoring kaizen's own ${exposed.join(' and ')}: they would show as uncommitted changes and every later apply would stop as drift`,
      };
    return { decision: 'pass', reason: 'git commits it as written and runs nothing new' };
  },
};
