import { ChangeError, planChanges } from '../../apply/changes.js';
import type { Change } from '../../propose/proposal.js';
import type { GuardCheck } from '../types.js';

/** The changes apply cleanly to the repo as it is now: search text found once, files parse. */
export const appliesCheck: GuardCheck = {
  id: 'applies',
  describe:
    'the changes apply cleanly to the current work tree (edit search text found exactly once, config files parse)',
  check(ctx) {
    const fileChanges = ctx.proposal.changes.filter(
      (c): c is Exclude<Change, { kind: 'runbook' }> => c.kind !== 'runbook',
    );
    if (fileChanges.length === 0) return { decision: 'pass', reason: 'no file changes' };
    try {
      const edits = planChanges(ctx.target.repoPath, fileChanges);
      return { decision: 'pass', reason: `applies cleanly to ${edits.length} file(s)` };
    } catch (err) {
      if (err instanceof ChangeError) return { decision: 'reject', reason: err.message };
      throw err;
    }
  },
};
