import picomatch from 'picomatch';
import { repoRelative } from '../risk.js';
import type { GuardCheck } from '../types.js';

/** A concrete way back exists: git revert, a declared inverse, or a backup step for migrations. */
export const rollbackCheck: GuardCheck = {
  id: 'rollback',
  describe:
    'a concrete rollback exists: git revert for commits, a declared inverse for runbooks, a backup for migrations',
  check(ctx) {
    const p = ctx.proposal;
    if (p.rollback.trim() === '') {
      return {
        decision: 'reject',
        reason: 'the proposal says nothing about how to undo it (rollback is empty)',
      };
    }
    if (p.kind === 'runbook') {
      const change = p.changes[0]!;
      const runbook =
        change.kind === 'runbook' && Object.hasOwn(ctx.target.runbooks, change.action)
          ? ctx.target.runbooks[change.action]
          : undefined;
      if (!runbook)
        return {
          decision: 'reject',
          reason: 'a runbook action needs an allow-listed runbook with a declared inverse',
        };
      return { decision: 'pass', reason: `inverse declared: ${runbook.inverse.join(' ')}` };
    }
    const isMigration = picomatch(ctx.policy.risk.migrationPaths, { dot: true, nocase: true });
    const migration = p.changes.find((c) => c.kind !== 'runbook' && isMigration(repoRelative(c.path)));
    if (migration && migration.kind !== 'runbook' && !p.backup?.trim()) {
      return {
        decision: 'reject',
        reason: `${migration.path} is a schema or data migration: git revert does not undo data, so the proposal must name a backup step (backup)`,
      };
    }
    return {
      decision: 'pass',
      reason: migration ? `git revert of the commit, after backup: ${p.backup}` : 'git revert of the commit',
    };
  },
};
