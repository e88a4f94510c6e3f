import type { Clock } from '../clock.js';
import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import { selectTargets } from '../compose.js';
import { KaizenError } from '../errors.js';
import { freezeOf } from '../guard/freeze.js';
import { loadPolicy } from '../guard/policy.js';
import type { Logger } from '../logger.js';
import type { Change } from '../propose/proposal.js';
import type { Store } from '../store/index.js';
import type { Intent } from '../store/intents.js';
import type { Intervention } from '../store/interventions.js';
import { runProcess } from '../util/process.js';
import { planChanges, writeEdits } from './changes.js';
import { runDeploy, type DeployResult } from './deploy.js';
import { faultPoint } from './fault.js';
import { createGit, verifyPushed, type GitRepo } from './git.js';
import { probeHealth, type HealthResult } from './health.js';
import { withTargetLease } from './lease.js';
import { REVERT_TRAILER, TRAILER, commitMessage, revertMessage } from './messages.js';
import { recordPendingPush } from './pending-push.js';
import {
  checkCommitted,
  checkUncommitted,
  describeDrift,
  driftEventData,
  short,
  toWritten,
  undoUncommitted,
  writtenFiles,
  type DriftItem,
} from './written.js';

export interface ApplyDeps {
  store: Store;
  clock: Clock;
  config: KaizenConfig;
  logger: Logger;
}

/** What happened at each step, kept on the intervention for `kaizen show`. */
export interface ApplyLog {
  deploy?: DeployResult;
  health?: HealthResult;
  runbook?: { command: string[]; exitCode: number | null; output: string };
  rollback?: {
    reason: string;
    detectedAt: number;
    revertSha?: string;
    remoteError?: string;
    redeploy?: DeployResult;
    health?: HealthResult;
    inverse?: { command: string[]; exitCode: number | null; output: string };
    finishedAt?: number;
  };
}

export type ApplyResult =
  | { outcome: 'applied'; intervention: Intervention }
  | { outcome: 'rolled_back'; intervention: Intervention; healthyAfter: boolean }
  | { outcome: 'failed'; intervention: Intervention; reason: string };

const ACTOR = 'kaizen';

/** One apply in progress: what every step needs. */
interface Run {
  deps: ApplyDeps;
  id: string;
  target: TargetConfig;
  git: GitRepo;
  log: ApplyLog;
  startedAt: number;
}

/**
 * Apply an intervention that is in `applying`: lockdown, write, commit, push and verify, deploy,
 * stabilise, probe; on failure revert, push, redeploy and probe again. Every step writes an
 * intent first and is skipped when a previous run already did it, so calling this again after a
 * crash finishes (or undoes) the apply — never a second commit, never a second deploy.
 *
 * It holds the target's lease throughout (TargetBusyError when another live process holds it).
 * Before touching the repository again after writing or committing, it checks that the
 * repository is exactly as it left it (written.ts); if not, it stops, touches nothing, records
 * the drift and escalates. Every way it can end, an unexpected error included, is a final state.
 */
export async function applyIntervention(deps: ApplyDeps, id: string): Promise<ApplyResult> {
  const target = deps.store.interventions.get(id).target;
  return withTargetLease(deps, target, { doing: `applying ${id}`, interventionId: id }, () =>
    applyHeld(deps, id),
  );
}

async function applyHeld(deps: ApplyDeps, id: string): Promise<ApplyResult> {
  const { store, clock } = deps;
  const iv = store.interventions.get(id);
  if (iv.state !== 'applying')
    throw new KaizenError('ILLEGAL_TRANSITION', `intervention ${id} is ${iv.state}, not applying`);
  const target = selectTargets(deps.config, iv.target)[0]!;
  const run: Run = {
    deps,
    id,
    target,
    git: createGit(target.repoPath),
    log: (iv.applyLog as ApplyLog | null) ?? {},
    startedAt: store.interventions.enteredAt(id, 'applying') ?? clock.now(),
  };
  try {
    return await applySteps(run);
  } catch (err) {
    return settleUnexpected(run, err);
  }
}

async function applySteps(run: Run): Promise<ApplyResult> {
  const { deps, id, target, git, log } = run;
  const { store, clock } = deps;
  const saveLog = () => store.interventions.patch(id, { applyLog: log }, clock.now());

  // A rollback that was under way when the process died is finished first.
  if (store.intents.get(id, 'rollback')) return finishRollback(run);

  let iv = store.interventions.get(id);
  if (iv.kind === 'runbook') return applyRunbook(run, iv);

  if (!iv.commitSha) {
    const ended = await writeAndCommit(run, iv);
    if (ended) return ended;
    iv = store.interventions.get(id);
  }
  const commitSha = iv.commitSha!;

  const pushDue = target.remote !== undefined && !store.intents.get(id, 'push')?.finishedAt;
  const deployDue = target.deploy !== undefined && !store.intents.get(id, 'deploy')?.finishedAt;
  if (pushDue || deployDue) {
    // Push and deploy ship the branch and the work tree: only as kaizen left them.
    const drift = await checkCommitted(git, touchedPaths(run), commitSha, "kaizen's commit");
    if (drift.length > 0) {
      const done = pushDue ? 'neither pushed nor deployed' : 'pushed but not deployed';
      return stopOnDrift(
        run,
        drift,
        `kaizen committed ${short(commitSha)} but the repository changed before it could ship it`,
        `the commit is ${done}: to keep the change, push and deploy it yourself; to drop it, git revert ${short(commitSha)}`,
      );
    }
  }

  if (pushDue && target.remote) {
    store.intents.begin(id, 'push', clock.now(), { sha: commitSha });
    try {
      if ((await git.remoteSha(target.remote, target.branch)) !== commitSha)
        await git.push(target.remote, target.branch);
      await verifyPushed(git, target.remote, target.branch, commitSha);
    } catch (err) {
      return startRollback(run, `push failed: ${errorText(err)}`);
    }
    store.intents.finish(id, 'push', clock.now());
    faultPoint('after-push');
  }

  if (deployDue && target.deploy) {
    store.intents.begin(id, 'deploy', clock.now());
    log.deploy = await runDeploy(target.deploy, { cwd: target.repoPath, clock });
    saveLog();
    store.intents.finish(id, 'deploy', clock.now(), { ok: log.deploy.ok });
    faultPoint('after-deploy');
  }
  if (log.deploy && !log.deploy.ok) return startRollback(run, `deploy failed: ${describeDeploy(log.deploy)}`);

  if (target.health && !store.intents.get(id, 'health')?.finishedAt) {
    store.intents.begin(id, 'health', clock.now());
    if (target.deploy) await clock.world.sleep(target.deploy.stabilisationMs);
    log.health = await probeHealth(target.health, clock);
    saveLog();
    store.intents.finish(id, 'health', clock.now(), { healthy: log.health.healthy });
    faultPoint('after-health');
  }
  if (log.health && !log.health.healthy)
    return startRollback(run, `health check failed: ${describeHealth(log.health)}`);

  const windowMs = iv.proposal.validationWindow ?? deps.config.validation.windowMs;
  const done = store.interventions.transition(
    id,
    'applied',
    clock.now(),
    ACTOR,
    `committed ${short(commitSha)} and healthy`,
    { appliedAt: clock.now(), windowMs, applyLog: log },
  );
  store.events.append(clock.now(), {
    kind: 'applied',
    target: iv.target,
    interventionId: id,
    data: { commitSha },
  });
  deps.logger.info({ intervention: id, commitSha }, 'intervention applied');
  return { outcome: 'applied', intervention: done };
}

/**
 * Lockdown, then write the files and commit exactly them. Resumes after a crash without a second
 * commit. Returns a result when the apply ended here, undefined when the commit is made.
 */
async function writeAndCommit(run: Run, iv: Intervention): Promise<ApplyResult | undefined> {
  const { deps, id, target, git } = run;
  const { store, clock } = deps;
  const writeIntent = store.intents.get(id, 'write');

  if (writeIntent) {
    // A previous run got this far and died: did its commit land?
    const existing = await findForwardCommit(git, id, preApplyShaOf(iv, writeIntent));
    if (existing) {
      store.interventions.patch(id, { commitSha: existing }, clock.now());
      store.intents.finish(id, 'write', clock.now());
      store.intents.finish(id, 'commit', clock.now(), { sha: existing });
      return undefined;
    }
    return undoWrite(run, writeIntent, 'interrupted before its commit (kaizen stopped mid-apply)');
  }

  const drift = await lockdown(git, target, iv);
  if (drift) {
    store.events.append(clock.now(), {
      kind: 'drift',
      target: iv.target,
      interventionId: id,
      data: { drift },
    });
    return fail(run, `drift: ${drift}`);
  }
  faultPoint('after-lockdown');

  const changes = iv.proposal.changes.filter(
    (c): c is Exclude<Change, { kind: 'runbook' }> => c.kind !== 'runbook',
  );
  let edits;
  try {
    edits = planChanges(target.repoPath, changes);
  } catch (err) {
    return fail(run, `the change no longer applies: ${errorText(err)}`);
  }
  const preApplySha = await git.head();
  store.interventions.patch(id, { preApplySha }, clock.now());
  // The old contents (an undo puts them back) and the hashes of both: an undo touches only a file
  // that still holds exactly what kaizen wrote.
  store.intents.begin(id, 'write', clock.now(), { preApplySha, files: toWritten(edits) });
  writeEdits(target.repoPath, edits);
  faultPoint('after-write');

  store.intents.begin(id, 'commit', clock.now());
  const sha = await git.commitFiles(
    edits.map((e) => e.rel),
    commitMessage(store.interventions.get(id)),
  );
  faultPoint('commit-made');
  store.interventions.patch(id, { commitSha: sha }, clock.now());
  store.intents.finish(id, 'write', clock.now());
  store.intents.finish(id, 'commit', clock.now(), { sha });
  faultPoint('after-commit');
  return undefined;
}

/**
 * Undo files kaizen wrote but did not commit, then `failed` with `why`: only when HEAD is where it
 * was before the write and every file holds kaizen's bytes or the old ones. Otherwise nothing is
 * touched: the drift is recorded and escalated.
 */
async function undoWrite(run: Run, writeIntent: Intent, why: string): Promise<ApplyResult> {
  const { deps, id, target, git } = run;
  const { store, clock } = deps;
  const iv = store.interventions.get(id);
  const files = writtenFiles(writeIntent.data);
  const preApplySha = preApplyShaOf(iv, writeIntent);
  const check = await checkUncommitted(git, files, preApplySha);
  if (check.drift.length > 0) {
    store.intents.finish(id, 'write', clock.now(), { stopped: describeDrift(check.drift) });
    const left = check.restore.map((f) => f.rel);
    return stopOnDrift(
      run,
      check.drift,
      `${why}, and the repository changed after kaizen wrote to it`,
      left.length > 0
        ? `kaizen's uncommitted change is still in ${left.join(', ')}: keep it, or take it out by hand` +
            (preApplySha ? ` (the old content is in ${short(preApplySha)})` : '')
        : "nothing of kaizen's change is left in the work tree",
    );
  }
  // It may have died between its own `git add` and the commit: unstaging exactly its files means
  // nobody's next commit carries kaizen's change without its trailer.
  await undoUncommitted(target.repoPath, git, check);
  store.intents.finish(id, 'write', clock.now(), { restored: check.restore.map((f) => f.rel) });
  if (store.intents.get(id, 'commit')) store.intents.finish(id, 'commit', clock.now());
  return fail(run, `${why}; restored ${files.length} file(s), nothing was committed`);
}

/**
 * Production lockdown: the work tree must be clean, on the target branch, at the HEAD the
 * proposal was made against. Drift is reported, never stashed, reset or discarded.
 */
async function lockdown(git: GitRepo, target: TargetConfig, iv: Intervention): Promise<string | undefined> {
  const branch = await git.branch();
  if (branch !== target.branch) return `the repo is on branch ${branch}, expected ${target.branch}`;
  const status = await git.status();
  if (!status.clean) {
    const shown =
      status.dirty.slice(0, 5).join(', ') +
      (status.dirty.length > 5 ? `, and ${status.dirty.length - 5} more` : '');
    return `the work tree has uncommitted changes (${shown}); kaizen never stashes or discards them: commit or remove them, then approve again`;
  }
  const head = await git.head();
  if (iv.baseSha && head !== iv.baseSha) {
    return `HEAD moved from ${short(iv.baseSha)} to ${short(head)} since the proposal; approving it again re-checks it against the new HEAD`;
  }
  return undefined;
}

/** HEAD before kaizen wrote: recorded with the write; the proposal's base for older intents. */
function preApplyShaOf(iv: Intervention, writeIntent: Intent): string | null {
  const recorded = writeIntent.data.preApplySha;
  return typeof recorded === 'string' ? recorded : (iv.preApplySha ?? iv.baseSha);
}

/** The files kaizen's commit touched, from its write intent. */
function touchedPaths(run: Run): string[] {
  const intent = run.deps.store.intents.get(run.id, 'write');
  return intent ? writtenFiles(intent.data).map((f) => f.rel) : [];
}

async function findForwardCommit(
  git: GitRepo,
  id: string,
  preApplySha: string | null,
): Promise<string | undefined> {
  const mine = await git.findCommits(`${TRAILER}: ${id}\n`, preApplySha ?? undefined);
  const reverts = new Set(await git.findCommits(`${REVERT_TRAILER}: `, preApplySha ?? undefined));
  return mine.filter((sha) => !reverts.has(sha)).at(-1);
}

function startRollback(run: Run, reason: string): Promise<ApplyResult> {
  const { deps, id, log } = run;
  log.rollback = { reason, detectedAt: deps.clock.now() };
  deps.store.interventions.patch(id, { applyLog: log }, deps.clock.now());
  deps.store.intents.begin(id, 'rollback', deps.clock.now(), { reason });
  return finishRollback(run);
}

/** Revert, push, redeploy, probe again; record the revert SHA; tell the operator. */
async function finishRollback(run: Run): Promise<ApplyResult> {
  const { deps, id, target, git, log, startedAt } = run;
  const { store, clock } = deps;
  const rb = log.rollback ?? {
    reason: String(store.intents.get(id, 'rollback')?.data.reason ?? 'rollback'),
    detectedAt: clock.now(),
  };
  log.rollback = rb;
  const iv = store.interventions.get(id);
  const undo = await undoCommit(deps, iv, target, git, rb.reason, 'rollback', {
    paths: touchedPaths(run),
    headAtCommit: true,
  });
  if ('stopped' in undo) {
    Object.assign(rb, undo.revertSha ? { revertSha: undo.revertSha } : {}, { finishedAt: clock.now() });
    store.interventions.patch(id, { applyLog: log }, clock.now());
    store.intents.finish(id, 'rollback', clock.now(), { stopped: describeDrift(undo.drift) });
    const commit = short(iv.commitSha ?? '');
    return undo.stopped === 'before-revert'
      ? stopOnDrift(
          run,
          undo.drift,
          `${rb.reason}; kaizen was to revert ${commit}, but the repository changed after kaizen committed it`,
          `the target still runs ${commit}: revert it by hand (git revert ${commit}), push and deploy`,
        )
      : stopOnDrift(
          run,
          undo.drift,
          `${rb.reason}; kaizen made the revert ${short(undo.revertSha!)}, but the repository changed after that`,
          `the revert is ${undo.pushed ? 'pushed but not deployed' : 'neither pushed nor deployed'} and the target still runs ${commit}: ` +
            `${undo.pushed ? '' : `push ${short(undo.revertSha!)}, then `}deploy`,
        );
  }
  Object.assign(rb, undo, { finishedAt: clock.now() });
  store.intents.finish(id, 'rollback', clock.now());
  const reason = undo.remoteError
    ? `${rb.reason}; the remote still has the change: kaizen recover pushes the revert when the remote takes it`
    : rb.reason;
  const done = store.interventions.transition(id, 'rolled_back', clock.now(), ACTOR, reason, {
    revertSha: undo.revertSha ?? null,
    applyLog: log,
  });
  announceRollback(deps, done, log, startedAt, undo.healthyAfter);
  return { outcome: 'rolled_back', intervention: done, healthyAfter: undo.healthyAfter };
}

export interface UndoResult {
  revertSha?: string;
  /** Set when the revert could not be pushed: the remote still has the change (a pending push). */
  remoteError?: string;
  redeploy?: DeployResult;
  health?: HealthResult;
  healthyAfter: boolean;
}

/** The undo stopped because the repository is not as kaizen left it; nothing was touched. */
export interface UndoStopped {
  stopped: 'before-revert' | 'after-revert';
  drift: DriftItem[];
  revertSha?: string;
  /** Whether the revert reached the remote before the stop. */
  pushed: boolean;
}

/**
 * Undo a committed intervention: git revert (found again after a crash by its trailer), push,
 * redeploy, probe. Each step has its own intent under `prefix`, so it runs at most once.
 *
 * Before the push and the redeploy, HEAD must be the revert and the touched files (`paths`) as
 * it left them; with `headAtCommit` (a rollback during the apply) HEAD must also still be
 * kaizen's commit before the revert is made. Otherwise it stops (UndoStopped) and touches nothing.
 * A remote that does not answer or refuses the revert leaves a pending push (pending-push.ts).
 */
export async function undoCommit(
  deps: ApplyDeps,
  iv: Intervention,
  target: TargetConfig,
  git: GitRepo,
  why: string,
  prefix: string,
  options: { paths: readonly string[]; headAtCommit: boolean },
): Promise<UndoResult | UndoStopped> {
  const { store, clock } = deps;
  const result: UndoResult = { healthyAfter: true };
  const commitSha = iv.commitSha;
  if (commitSha) {
    // Only a run that began the revert and died can have made one: search git only then.
    const began = store.intents.get(iv.id, `${prefix}-revert`) !== undefined;
    let revertSha =
      iv.revertSha ??
      (began ? (await git.findCommits(`${REVERT_TRAILER}: ${commitSha}`, commitSha)).at(0) : undefined);
    if (!revertSha) {
      if (options.headAtCommit) {
        const drift = await checkCommitted(git, options.paths, commitSha, "kaizen's commit");
        if (drift.length > 0) return { stopped: 'before-revert', drift, pushed: false };
      }
      store.intents.begin(iv.id, `${prefix}-revert`, clock.now(), { commitSha });
      revertSha = await git.revert(commitSha, revertMessage(iv, commitSha, why));
      faultPoint('revert-made');
    }
    store.interventions.patch(iv.id, { revertSha }, clock.now());
    store.intents.finish(iv.id, `${prefix}-revert`, clock.now(), { revertSha });
    result.revertSha = revertSha;
    faultPoint('after-revert');

    const pushDue = target.remote !== undefined && !store.intents.get(iv.id, `${prefix}-push`)?.finishedAt;
    const redeployDue =
      target.deploy !== undefined && !store.intents.get(iv.id, `${prefix}-redeploy`)?.finishedAt;
    if (pushDue || redeployDue) {
      const drift = await checkCommitted(git, options.paths, revertSha, "kaizen's revert");
      if (drift.length > 0) return { stopped: 'after-revert', drift, revertSha, pushed: !pushDue };
    }
    if (pushDue && target.remote) {
      store.intents.begin(iv.id, `${prefix}-push`, clock.now());
      try {
        const remoteAt = await git.remoteSha(target.remote, target.branch);
        // A commit whose own push failed never reached the remote: there is nothing to undo there,
        // and pushing it with its revert to a remote that refuses pushes would fail for nothing.
        // (A remote SHA we do not know may hold it: push.)
        const remoteHasCommit =
          remoteAt !== undefined &&
          (!(await git.commitExists(remoteAt)) || (await git.isAncestor(commitSha, remoteAt)));
        if (remoteHasCommit) {
          if (remoteAt !== revertSha) await git.push(target.remote, target.branch);
          await verifyPushed(git, target.remote, target.branch, revertSha);
        }
      } catch (err) {
        // The work tree and the deploy are rolled back; the remote (may) still hold the change.
        // The push stays pending: `kaizen recover` makes it once the remote takes it.
        result.remoteError = errorText(err);
        result.healthyAfter = false;
        recordPendingPush(store, iv.id, clock.now(), {
          revertSha,
          commitSha,
          remote: target.remote,
          branch: target.branch,
          error: result.remoteError,
        });
      }
      store.intents.finish(
        iv.id,
        `${prefix}-push`,
        clock.now(),
        result.remoteError ? { remoteError: result.remoteError } : {},
      );
      faultPoint('after-revert-push');
    }
  }
  if (target.deploy) {
    const redeployed = store.intents.get(iv.id, `${prefix}-redeploy`);
    if (redeployed?.finishedAt) {
      // Done before a crash: deploying again would be a second deploy of the same thing.
      if (redeployed.data.ok === false) result.healthyAfter = false;
    } else {
      store.intents.begin(iv.id, `${prefix}-redeploy`, clock.now());
      result.redeploy = await runDeploy(target.deploy, { cwd: target.repoPath, clock });
      store.intents.finish(iv.id, `${prefix}-redeploy`, clock.now(), { ok: result.redeploy.ok });
      faultPoint('after-redeploy');
      if (!result.redeploy.ok) result.healthyAfter = false;
    }
  }
  if (target.health) {
    if (target.deploy) await clock.world.sleep(target.deploy.stabilisationMs);
    result.health = await probeHealth(target.health, clock);
    if (!result.health.healthy) result.healthyAfter = false;
  }
  return result;
}

/** Runbooks: run the allow-listed action, probe, and run its declared inverse on failure. */
async function applyRunbook(run: Run, iv: Intervention): Promise<ApplyResult> {
  const { deps, target, log, startedAt } = run;
  const { store, clock } = deps;
  const change = iv.proposal.changes[0];
  const runbook =
    change?.kind === 'runbook' && Object.hasOwn(target.runbooks, change.action)
      ? target.runbooks[change.action]
      : undefined;
  if (!runbook || change?.kind !== 'runbook')
    return fail(run, 'the runbook action is no longer on the allow-list');
  const runCommand = async (command: string[]) => {
    const r = await runProcess(command, {
      cwd: target.repoPath,
      timeoutMs: runbook.timeoutMs,
      clock,
      env: undefined,
    });
    return { command, exitCode: r.timedOut ? null : r.exitCode, output: r.output };
  };
  const inverse = async (reason: string): Promise<ApplyResult> => {
    log.rollback = { reason, detectedAt: clock.now() };
    log.rollback.inverse = await runCommand(runbook.inverse);
    if (target.health) log.rollback.health = await probeHealth(target.health, clock);
    log.rollback.finishedAt = clock.now();
    const healthyAfter = log.rollback.inverse.exitCode === 0 && (log.rollback.health?.healthy ?? true);
    const done = store.interventions.transition(iv.id, 'rolled_back', clock.now(), ACTOR, reason, {
      applyLog: log,
    });
    announceRollback(deps, done, log, startedAt, healthyAfter);
    return { outcome: 'rolled_back', intervention: done, healthyAfter };
  };

  const intent = store.intents.get(iv.id, 'runbook');
  if (intent && !intent.finishedAt)
    return inverse('interrupted while the runbook action ran; its inverse was run');
  if (!intent) {
    store.intents.begin(iv.id, 'runbook', clock.now());
    log.runbook = await runCommand(runbook.command);
    store.intents.finish(iv.id, 'runbook', clock.now(), { exitCode: log.runbook.exitCode });
    store.interventions.patch(iv.id, { applyLog: log }, clock.now());
  }
  if (log.runbook && log.runbook.exitCode !== 0) {
    return inverse(
      `runbook ${change.action} failed (exit ${log.runbook.exitCode ?? 'timeout'}): ${lastLine(log.runbook.output)}`,
    );
  }
  if (target.health) {
    log.health = await probeHealth(target.health, clock);
    if (!log.health.healthy) return inverse(`health check failed: ${describeHealth(log.health)}`);
  }
  const windowMs = iv.proposal.validationWindow ?? deps.config.validation.windowMs;
  const done = store.interventions.transition(
    iv.id,
    'applied',
    clock.now(),
    ACTOR,
    `runbook ${change.action} ran and the target is healthy`,
    { appliedAt: clock.now(), windowMs, applyLog: log },
  );
  store.events.append(clock.now(), {
    kind: 'applied',
    target: iv.target,
    interventionId: iv.id,
    data: { runbook: change.action },
  });
  return { outcome: 'applied', intervention: done };
}

/**
 * Something the steps did not expect (a git command that failed, a store error, a bug) must not
 * leave the intervention in `applying`: files kaizen wrote are put back (under the same rule as
 * after a crash), a commit is rolled back, a rollback that broke ends `failed` naming what is left;
 * a person is told. Only an error reading the store itself leaves it for `kaizen recover`.
 */
async function settleUnexpected(run: Run, err: unknown): Promise<ApplyResult> {
  const { deps, id, git } = run;
  const { store, clock, logger } = deps;
  const iv = store.interventions.get(id);
  if (iv.state !== 'applying') throw err;
  const why = `unexpected error: ${errorText(err)}`;
  logger.error({ intervention: id, error: errorText(err) }, 'apply failed with an unexpected error');
  try {
    if (iv.kind === 'runbook')
      return fail(run, `${why}; whether the runbook action ran is not known: check the target`, {
        escalate: true,
      });
    const rollback = store.intents.get(id, 'rollback');
    if (rollback) {
      const revert = iv.revertSha ? `the revert ${short(iv.revertSha)} is made; ` : '';
      return fail(
        run,
        `${String(rollback.data.reason ?? 'rollback')}; the rollback stopped: ${why}. ${revert}the target may still run ${short(iv.commitSha ?? '')}: a person must finish the rollback (revert, push, deploy)`,
        { escalate: true },
      );
    }
    const write = store.intents.get(id, 'write');
    let commitSha = iv.commitSha;
    if (!commitSha && write) {
      commitSha = (await findForwardCommit(git, id, preApplyShaOf(iv, write))) ?? null;
      if (commitSha) store.interventions.patch(id, { commitSha }, clock.now());
    }
    if (commitSha) return await startRollback(run, why);
    if (write) return await undoWrite(run, write, why);
    return fail(run, `${why}; nothing was written`);
  } catch (again) {
    logger.error({ intervention: id, error: errorText(again) }, 'settling a failed apply failed too');
    return fail(
      run,
      `${why}; putting things back failed too (${errorText(again)}): a person must look at the repository (git status, git log) and the target`,
      { escalate: true },
    );
  }
}

/**
 * The repository is not as kaizen left it: touch nothing, record the drift with the exact files,
 * end `failed` saying what is left to do, and escalate (a notification, and /health attention).
 */
function stopOnDrift(run: Run, drift: DriftItem[], what: string, left: string): ApplyResult {
  const { deps, id, target } = run;
  const summary = describeDrift(drift);
  const reason = `${what}: ${summary}. kaizen touched nothing; ${left}`;
  deps.store.events.append(deps.clock.now(), {
    kind: 'drift',
    target: target.name,
    interventionId: id,
    data: driftEventData(drift),
  });
  deps.logger.warn({ intervention: id, drift: summary }, 'the repository changed under kaizen; stopped');
  return fail(run, reason, { escalate: true, cause: 'drift' });
}

function fail(run: Run, reason: string, options: { escalate?: boolean; cause?: 'drift' } = {}): ApplyResult {
  const { deps, id, target } = run;
  const { store, clock } = deps;
  const done = store.db.transaction(() => {
    const failed = store.interventions.transition(id, 'failed', clock.now(), ACTOR, reason, {}, 'applying');
    store.events.append(clock.now(), {
      kind: 'apply_failed',
      target: target.name,
      interventionId: id,
      data: { reason },
    });
    if (options.escalate)
      store.events.append(clock.now(), {
        kind: 'escalation',
        target: target.name,
        interventionId: id,
        data: { why: reason, ...(options.cause ? { cause: options.cause } : {}) },
      });
    return failed;
  })();
  deps.logger.warn({ intervention: id, reason }, 'apply failed');
  return { outcome: 'failed', intervention: done, reason };
}

/** The incident record: enough for a person to act on without asking. */
function announceRollback(
  deps: ApplyDeps,
  iv: Intervention,
  log: ApplyLog,
  startedAt: number,
  healthyAfter: boolean,
): void {
  const { store, clock } = deps;
  const rb = log.rollback!;
  store.events.append(clock.now(), {
    kind: 'rolled_back',
    target: iv.target,
    interventionId: iv.id,
    data: {
      title: iv.proposal.title,
      hypothesis: iv.proposal.hypothesis,
      commitSha: iv.commitSha,
      rolledBackTo: iv.preApplySha,
      revertSha: rb.revertSha ?? null,
      failure: rb.reason,
      probe: log.health?.attempts ?? null,
      deployOutput: log.deploy?.output ?? null,
      timeToDetectMs: rb.detectedAt - startedAt,
      timeToRollbackMs: (rb.finishedAt ?? clock.now()) - rb.detectedAt,
      healthyAfter,
    },
  });
  deps.logger.warn({ intervention: iv.id, reason: rb.reason, healthyAfter }, 'intervention rolled back');
  if (!healthyAfter) {
    store.events.append(clock.now(), {
      kind: 'escalation',
      target: iv.target,
      interventionId: iv.id,
      data: rb.remoteError
        ? { why: remoteStillHasIt(rb.remoteError), cause: 'remote' }
        : { why: 'the target is still unhealthy after the rollback: a person is needed', cause: 'health' },
    });
  }
  const target = selectTargets(deps.config, iv.target)[0]!;
  const freeze = freezeOf(store, iv.target, iv.proposal, loadPolicy(deps.config, target), clock.now());
  if (freeze && freeze.interventions[0] === iv.id) {
    store.events.append(clock.now(), {
      kind: 'area_frozen',
      target: iv.target,
      interventionId: iv.id,
      data: { ...freeze },
    });
  }
}

/** The escalation's words when a revert could not be pushed. */
export function remoteStillHasIt(remoteError: string): string {
  return `the revert could not be pushed (${remoteError}): the remote still has the change; kaizen recover pushes the revert when the remote takes it`;
}

export function describeDeploy(d: DeployResult): string {
  const how = d.timedOut ? 'timed out' : d.signal ? `killed by ${d.signal}` : `exit ${d.exitCode}`;
  return `${how}: ${lastLine(d.output) || '(no output)'}`;
}

export function describeHealth(h: HealthResult): string {
  const failures = h.attempts.filter((a) => !a.ok).map((a) => a.failure);
  return `${failures.length} of ${h.attempts.length} probes failed; last: ${failures.at(-1) ?? 'n/a'}`;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
