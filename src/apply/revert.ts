import { selectTargets } from '../compose.js';
import { KaizenError } from '../errors.js';
import type { State } from '../loop/states.js';
import type { Intervention } from '../store/interventions.js';
import { runProcess } from '../util/process.js';
import { undoCommit, type ApplyDeps, type UndoResult } from './apply-intervention.js';
import { createGit } from './git.js';

export const REVERTIBLE: readonly State[] = ['applied', 'validated', 'no_effect', 'inconclusive'];

/**
 * Undo an intervention that went live: git revert (or the runbook's inverse), push, redeploy,
 * probe; then `reverted`. Used by validation (wrong direction, alert crossed) and by a person.
 */
export async function revertIntervention(
  deps: ApplyDeps,
  id: string,
  actor: string,
  why: string,
  data: { verdict?: unknown } = {},
): Promise<{ intervention: Intervention; undo: UndoResult }> {
  const { store, clock } = deps;
  const iv = store.interventions.get(id);
  if (!REVERTIBLE.includes(iv.state)) {
    throw new KaizenError(
      'ILLEGAL_TRANSITION',
      `intervention ${id} is ${iv.state}; only applied, validated, no_effect or inconclusive interventions can be reverted`,
    );
  }
  const target = selectTargets(deps.config, iv.target)[0]!;
  // Write-ahead: who reverts and why, so that recovery (recoverInterrupted) finishes a revert a
  // crash interrupted. A revert that fails with an error closes the intent: its caller was told.
  // (json_patch drops a null verdict, so none is left over from an earlier attempt.)
  store.intents.begin(id, 'revert', clock.now(), { actor, why, verdict: data.verdict ?? null });
  let undo: UndoResult;
  try {
    const change = iv.proposal.changes[0];
    if (iv.kind === 'runbook' && change?.kind === 'runbook') {
      const runbook = Object.hasOwn(target.runbooks, change.action)
        ? target.runbooks[change.action]
        : undefined;
      if (!runbook)
        throw new KaizenError(
          'NOT_FOUND',
          `runbook ${change.action} is no longer configured; its inverse cannot be run`,
        );
      const r = await runProcess(runbook.inverse, {
        cwd: target.repoPath,
        timeoutMs: runbook.timeoutMs,
        clock,
      });
      undo = { healthyAfter: r.exitCode === 0 && !r.timedOut };
    } else {
      undo = await undoCommit(
        deps,
        iv,
        target,
        createGit(target.repoPath),
        why,
        `revert-by-${actor === 'kaizen' ? 'kaizen' : 'person'}`,
      );
    }
  } catch (err) {
    store.intents.finish(id, 'revert', clock.now(), {
      error: err instanceof Error ? err.message : String(err),
    });
    throw err;
  }
  const done = store.interventions.transition(id, 'reverted', clock.now(), actor, why, {
    revertSha: undo.revertSha ?? null,
    ...(data.verdict !== undefined ? { verdict: data.verdict } : {}),
  });
  store.intents.finish(id, 'revert', clock.now());
  store.events.append(clock.now(), {
    kind: 'reverted',
    target: iv.target,
    interventionId: id,
    data: {
      by: actor,
      why,
      commitSha: iv.commitSha,
      revertSha: undo.revertSha ?? null,
      healthyAfter: undo.healthyAfter,
      remoteError: undo.remoteError ?? null,
    },
  });
  if (!undo.healthyAfter) {
    store.events.append(clock.now(), {
      kind: 'escalation',
      target: iv.target,
      interventionId: id,
      data: {
        why: undo.remoteError
          ? `the revert could not be pushed (${undo.remoteError}): the remote still has the change; a person is needed`
          : 'the target is unhealthy after the revert: a person is needed',
      },
    });
  }
  return { intervention: done, undo };
}
