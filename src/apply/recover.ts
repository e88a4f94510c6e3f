import { selectTargets } from '../compose.js';
import { KaizenError } from '../errors.js';
import type { Intervention } from '../store/interventions.js';
import { applyIntervention, type ApplyDeps, type ApplyResult } from './apply-intervention.js';
import { createGit } from './git.js';
import { TargetBusyError, withTargetLease } from './lease.js';
import { finishPendingPush, pendingPushes, type PushOutcome } from './pending-push.js';
import { REVERTIBLE, revertIntervention } from './revert.js';

export type RecoverResult =
  | ApplyResult
  | { outcome: 'reverted'; intervention: Intervention; healthyAfter: boolean }
  /** An interrupted revert that could not be finished (the repository changed, git refused): said why. */
  | { outcome: 'stopped'; intervention: Intervention; reason: string };

export interface RecoverReport {
  /** Applies and reverts a crash interrupted, finished or undone. */
  recovered: RecoverResult[];
  /** Proposals a crash left unguarded in `proposed`, rejected now. */
  orphans: Intervention[];
  /** Reverts whose push the remote had not taken, tried again. */
  pushes: PushOutcome[];
  /** Targets another live kaizen process holds: nothing there was touched. */
  busy: TargetBusyError[];
}

/** The reason an orphaned proposal is rejected with. */
export const ORPHAN_REASON =
  'orphaned: kaizen stopped before guarding it; propose it again if it still matters';

/**
 * Finish or undo every apply a crash left in `applying`, finish every revert a crash interrupted,
 * push reverts the remote did not take, and reject proposals a crash left unguarded. Safe to run
 * at any time, in any process: each target's work is done holding its lease, so an apply that is
 * still running (its holder lives) is never touched; that target is reported busy instead.
 */
export async function recoverInterrupted(
  deps: ApplyDeps,
  options: { target?: string } = {},
): Promise<RecoverReport> {
  const report: RecoverReport = { recovered: [], orphans: rejectOrphans(deps), pushes: [], busy: [] };
  for (const target of selectTargets(deps.config, options.target)) {
    // A read without the lease first: most of the time there is nothing to do, and taking the
    // lease then would make a concurrent apply on the target find it busy for nothing.
    if (!hasWork(deps, target.name)) continue;
    try {
      await withTargetLease(deps, target.name, { doing: 'recovering interrupted work' }, () =>
        recoverTarget(deps, target.name, report),
      );
    } catch (err) {
      if (!(err instanceof TargetBusyError)) throw err;
      // The caller says it where it matters (kaizen recover fails with it; the daemon logs it).
      deps.logger.info({ target: target.name, holder: err.holder.doing }, 'target busy: not recovered now');
      report.busy.push(err);
    }
  }
  return report;
}

function hasWork(deps: ApplyDeps, target: string): boolean {
  const { store } = deps;
  return (
    store.interventions.list({ target, states: ['applying'], limit: 1 }).length > 0 ||
    interruptedReverts(deps, target).length > 0 ||
    pendingPushes(store, target).length > 0
  );
}

function interruptedReverts(deps: ApplyDeps, target: string): string[] {
  return deps.store.intents
    .unfinished('revert')
    .filter((id) => deps.store.interventions.find(id)?.target === target);
}

/** Under the target's lease: everything is read again, for another process may have done it meanwhile. */
async function recoverTarget(deps: ApplyDeps, target: string, report: RecoverReport): Promise<void> {
  const { store, clock, logger } = deps;
  for (const iv of store.interventions.list({ target, states: ['applying'] }).reverse()) {
    logger.warn({ intervention: iv.id }, 'recovering an apply interrupted by a crash');
    store.events.append(clock.now(), {
      kind: 'recovery',
      target: iv.target,
      interventionId: iv.id,
      data: {},
    });
    report.recovered.push(await applyIntervention(deps, iv.id));
  }
  for (const id of interruptedReverts(deps, target)) {
    const iv = store.interventions.get(id);
    if (!REVERTIBLE.includes(iv.state)) continue; // the revert finished; only its intent was not closed
    const intent = store.intents.get(id, 'revert')!;
    const actor = String(intent.data.actor ?? 'kaizen');
    const why = String(intent.data.why ?? 'revert interrupted by a crash');
    logger.warn({ intervention: id }, 'recovering a revert interrupted by a crash');
    store.events.append(clock.now(), {
      kind: 'recovery',
      target: iv.target,
      interventionId: id,
      data: { step: 'revert' },
    });
    try {
      const { intervention, undo } = await revertIntervention(
        deps,
        id,
        actor,
        why,
        intent.data.verdict != null ? { verdict: intent.data.verdict } : {},
      );
      report.recovered.push({ outcome: 'reverted', intervention, healthyAfter: undo.healthyAfter });
    } catch (err) {
      // The revert closed its intent and said why; the intervention stays as it was (applied).
      if (!(err instanceof KaizenError) || err instanceof TargetBusyError) throw err;
      report.recovered.push({
        outcome: 'stopped',
        intervention: store.interventions.get(id),
        reason: err.message,
      });
    }
  }
  const pushes = pendingPushes(store, target);
  if (pushes.length > 0) {
    const git = createGit(selectTargets(deps.config, target)[0]!.repoPath);
    for (const push of pushes) report.pushes.push(await finishPendingPush(deps, git, push));
  }
}

/**
 * Proposals in `proposed`: a kaizen older than atomic submits (or a crash in one) created them and
 * never recorded a guard verdict. They are rejected, never guarded late: the world they were
 * proposed in is gone. (A submit now creates and decides in one transaction: none is ever seen.)
 */
function rejectOrphans(deps: ApplyDeps): Intervention[] {
  const { store, clock } = deps;
  const rejected: Intervention[] = [];
  for (const iv of store.interventions.list({ states: ['proposed'] })) {
    try {
      const done = store.db.transaction(() => {
        store.events.append(clock.now(), {
          kind: 'proposal_rejected',
          target: iv.target,
          interventionId: iv.id,
          data: { reasons: [ORPHAN_REASON] },
        });
        return store.interventions.transition(
          iv.id,
          'rejected',
          clock.now(),
          'kaizen',
          ORPHAN_REASON,
          {},
          'proposed',
        );
      })();
      rejected.push(done);
    } catch (err) {
      if (!(err instanceof KaizenError) || err.code !== 'ILLEGAL_TRANSITION') throw err; // decided meanwhile
    }
  }
  return rejected;
}
