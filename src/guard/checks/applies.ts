import { ChangeError } from '../../apply/changes.js';
import { PathEscapeError } from '../../apply/workspace.js';
import type { GuardCheck } from '../types.js';

/** The changes apply cleanly to the repo as it is now: search text found once, files parse. */
export const appliesCheck: GuardCheck = {
  id: 'applies',
  describe:
    'the changes apply cleanly to the current work tree (edit search text found exactly once, config files parse)',
  check(ctx) {
    if ('edits' in ctx.plan) {
      if (ctx.plan.edits.length === 0) return { decision: 'pass', reason: 'no file changes' };
      return { decision: 'pass', reason: `applies cleanly to ${ctx.plan.edits.length} file(s)` };
    }
    const err = ctx.plan.error;
    if (err instanceof ChangeError || err instanceof PathEscapeError)
      return { decision: 'reject', reason: err.message };
    // Anything else (a YAML file built to exhaust the parser, an unreadable file) is not a change
    // kaizen can apply either: refused with what went wrong, never a crash.
    return {
      decision: 'reject',
      reason: `the change cannot be planned: ${err instanceof Error ? err.message : String(err)}`,
    };
  },
};
