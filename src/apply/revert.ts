import { selectTargets } from '../compose.js';
import { KaizenError } from '../errors.js';
import type { State } from '../loop/states.js';
import type { Intervention } from '../store/interventions.js';
import { runProcess } from '../util/process.js';
import {
  remoteStillHasIt,
  undoCommit,
  type ApplyDeps,
  type UndoResult,
  type UndoStopped,
} from './apply-intervention.js';
import { createGit } from './git.js';
import { withTargetLease } from './lease.js';
import { describeDrift, driftEventData, short, writtenFiles } from './written.js';

export const REVERTIBLE: readonly State[] = ['applied', 'validated', 'no_effect', 'inconclusive'];

/** A revert that stopped because the repository changed under it: nothing was touched. */
export class RevertStoppedError extends KaizenError {
  constructor(message: string) {
    super('DRIFT', message);
  }
}

/**
 * Undo an intervention that went live: git revert (or the runbook's inverse), push, redeploy,
 * probe; then `reverted`. Used by validation (wrong direction, alert crossed) and by a person.
 * Holds the target's lease (TargetBusyError when another live process holds it). Once its revert
 * commit is made it pushes and redeploys only while HEAD is that revert and the touched files are
 * as kaizen left them; otherwise it records the drift, escalates and throws RevertStoppedError.
 */
export async function revertIntervention(
  deps: ApplyDeps,
  id: string,
  actor: string,
  why: string,
  data: { verdict?: unknown } = {},
): Promise<{ intervention: Intervention; undo: UndoResult }> {
  const target = deps.store.interventions.get(id).target;
  return withTargetLease(
    deps,
    target,
    { doing: `reverting ${id}`, interventionId: id, ...(actor !== 'kaizen' ? { actor } : {}) },
    () => revertHeld(deps, id, actor, why, data),
  );
}

async function revertHeld(
  deps: ApplyDeps,
  id: string,
  actor: string,
  why: string,
  data: { verdict?: unknown },
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
  let undo: UndoResult | UndoStopped;
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
      const written = store.intents.get(id, 'write');
      undo = await undoCommit(
        deps,
        iv,
        target,
        createGit(target.repoPath),
        why,
        `revert-by-${actor === 'kaizen' ? 'kaizen' : 'person'}`,
        { paths: written ? writtenFiles(written.data).map((f) => f.rel) : [], headAtCommit: false },
      );
    }
  } catch (err) {
    store.intents.finish(id, 'revert', clock.now(), {
      error: err instanceof Error ? err.message : String(err),
    });
    throw err;
  }
  if ('stopped' in undo) {
    const summary = describeDrift(undo.drift);
    const message =
      `the revert of ${id} stopped: kaizen made the revert ${short(undo.revertSha ?? '')}, but the repository changed after that: ${summary}. ` +
      `kaizen touched nothing; the revert is ${undo.pushed ? 'pushed but not deployed' : 'neither pushed nor deployed'}: ` +
      `${undo.pushed ? '' : 'push it, then '}deploy, or run kaizen revert ${id} again once the repository is as kaizen left it`;
    store.db.transaction(() => {
      store.intents.finish(id, 'revert', clock.now(), { error: message });
      store.events.append(clock.now(), {
        kind: 'drift',
        target: iv.target,
        interventionId: id,
        data: driftEventData(undo.drift),
      });
      store.events.append(clock.now(), {
        kind: 'escalation',
        target: iv.target,
        interventionId: id,
        data: { why: message, cause: 'drift' },
      });
    })();
    throw new RevertStoppedError(message);
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
      data: undo.remoteError
        ? { why: remoteStillHasIt(undo.remoteError), cause: 'remote' }
        : { why: 'the target is unhealthy after the revert: a person is needed', cause: 'health' },
    });
  }
  return { intervention: done, undo };
}
