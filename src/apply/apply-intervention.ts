import type { Clock } from '../clock.js';
import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import { selectTargets } from '../compose.js';
import { KaizenError } from '../errors.js';
import { freezeOf } from '../guard/freeze.js';
import { loadPolicy } from '../guard/policy.js';
import type { Logger } from '../logger.js';
import type { Change } from '../propose/proposal.js';
import type { Store } from '../store/index.js';
import type { Intervention } from '../store/interventions.js';
import { runProcess } from '../util/process.js';
import { planChanges, restoreEdits, writeEdits, type FileEdit } from './changes.js';
import { runDeploy, type DeployResult } from './deploy.js';
import { faultPoint } from './fault.js';
import { createGit, verifyPushed, type GitRepo } from './git.js';
import { probeHealth, type HealthResult } from './health.js';
import { REVERT_TRAILER, TRAILER, commitMessage, revertMessage } from './messages.js';

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

/**
 * Apply an intervention that is in `applying`: lockdown, write, commit, push and verify, deploy,
 * stabilise, probe; on failure revert, push, redeploy and probe again. Every step writes an
 * intent first and is skipped when a previous run already did it, so calling this again after a
 * crash finishes (or undoes) the apply — never a second commit.
 */
export async function applyIntervention(deps: ApplyDeps, id: string): Promise<ApplyResult> {
  const { store, clock } = deps;
  let iv = store.interventions.get(id);
  if (iv.state !== 'applying')
    throw new KaizenError('ILLEGAL_TRANSITION', `intervention ${id} is ${iv.state}, not applying`);
  const target = selectTargets(deps.config, iv.target)[0]!;
  const git = createGit(target.repoPath);
  const log: ApplyLog = (iv.applyLog as ApplyLog | null) ?? {};
  const startedAt = store.interventions.enteredAt(id, 'applying') ?? clock.now();
  const saveLog = () => store.interventions.patch(id, { applyLog: log }, clock.now());

  // A rollback that was under way when the process died is finished first.
  if (store.intents.get(id, 'rollback')) return finishRollback(deps, iv, target, git, log, startedAt);

  if (iv.kind === 'runbook') return applyRunbook(deps, iv, target, log, startedAt);

  if (!iv.commitSha) {
    const committed = await writeAndCommit(deps, iv, target, git);
    if (committed.failed) return fail(deps, iv, committed.failed);
    iv = store.interventions.get(id);
  }
  const commitSha = iv.commitSha!;

  if (target.remote && !store.intents.get(id, 'push')?.finishedAt) {
    store.intents.begin(id, 'push', clock.now(), { sha: commitSha });
    try {
      if ((await git.remoteSha(target.remote, target.branch)) !== commitSha)
        await git.push(target.remote, target.branch);
      await verifyPushed(git, target.remote, target.branch, commitSha);
    } catch (err) {
      return startRollback(deps, iv, target, git, log, startedAt, `push failed: ${errorText(err)}`);
    }
    store.intents.finish(id, 'push', clock.now());
    faultPoint('after-push');
  }

  if (target.deploy && !store.intents.get(id, 'deploy')?.finishedAt) {
    store.intents.begin(id, 'deploy', clock.now());
    log.deploy = await runDeploy(target.deploy, { cwd: target.repoPath, clock });
    saveLog();
    store.intents.finish(id, 'deploy', clock.now(), { ok: log.deploy.ok });
    faultPoint('after-deploy');
  }
  if (log.deploy && !log.deploy.ok) {
    return startRollback(
      deps,
      iv,
      target,
      git,
      log,
      startedAt,
      `deploy failed: ${describeDeploy(log.deploy)}`,
    );
  }

  if (target.health && !store.intents.get(id, 'health')?.finishedAt) {
    store.intents.begin(id, 'health', clock.now());
    if (target.deploy) await clock.world.sleep(target.deploy.stabilisationMs);
    log.health = await probeHealth(target.health, clock);
    saveLog();
    store.intents.finish(id, 'health', clock.now(), { healthy: log.health.healthy });
    faultPoint('after-health');
  }
  if (log.health && !log.health.healthy) {
    return startRollback(
      deps,
      iv,
      target,
      git,
      log,
      startedAt,
      `health check failed: ${describeHealth(log.health)}`,
    );
  }

  const windowMs = iv.proposal.validationWindow ?? deps.config.validation.windowMs;
  const done = store.interventions.transition(
    id,
    'applied',
    clock.now(),
    ACTOR,
    `committed ${commitSha.slice(0, 7)} and healthy`,
    {
      appliedAt: clock.now(),
      windowMs,
      applyLog: log,
    },
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

/** Lockdown, then write the files and commit exactly them. Resumes after a crash without a second commit. */
async function writeAndCommit(
  deps: ApplyDeps,
  iv: Intervention,
  target: TargetConfig,
  git: GitRepo,
): Promise<{ failed?: string }> {
  const { store, clock } = deps;
  const id = iv.id;
  const writeIntent = store.intents.get(id, 'write');

  if (writeIntent) {
    // A previous run got this far and died: did its commit land?
    const existing = await findForwardCommit(git, id, iv.preApplySha);
    if (existing) {
      store.interventions.patch(id, { commitSha: existing }, clock.now());
      store.intents.finish(id, 'commit', clock.now(), { sha: existing });
      return {};
    }
    const edits = (writeIntent.data.edits ?? []) as FileEdit[];
    restoreEdits(target.repoPath, edits);
    // It may have died between its own `git add` and the commit: unstage exactly its files, so
    // nobody's next commit carries kaizen's change without its trailer.
    await git.unstage(edits.map((e) => e.rel));
    return {
      failed: `interrupted before its commit (kaizen stopped mid-apply); restored ${edits.length} file(s), nothing was committed`,
    };
  }

  const drift = await lockdown(git, target, iv);
  if (drift) {
    store.events.append(clock.now(), {
      kind: 'drift',
      target: iv.target,
      interventionId: id,
      data: { drift },
    });
    return { failed: `drift: ${drift}` };
  }
  faultPoint('after-lockdown');

  const changes = iv.proposal.changes.filter(
    (c): c is Exclude<Change, { kind: 'runbook' }> => c.kind !== 'runbook',
  );
  let edits: FileEdit[];
  try {
    edits = planChanges(target.repoPath, changes);
  } catch (err) {
    return { failed: `the change no longer applies: ${errorText(err)}` };
  }
  const preApplySha = await git.head();
  store.interventions.patch(id, { preApplySha }, clock.now());
  store.intents.begin(id, 'write', clock.now(), { preApplySha, edits });
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
  return {};
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
    return `HEAD moved from ${iv.baseSha.slice(0, 7)} to ${head.slice(0, 7)} since the proposal; approving it again re-checks it against the new HEAD`;
  }
  return undefined;
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

function startRollback(
  deps: ApplyDeps,
  iv: Intervention,
  target: TargetConfig,
  git: GitRepo,
  log: ApplyLog,
  startedAt: number,
  reason: string,
): Promise<ApplyResult> {
  log.rollback = { reason, detectedAt: deps.clock.now() };
  deps.store.interventions.patch(iv.id, { applyLog: log }, deps.clock.now());
  deps.store.intents.begin(iv.id, 'rollback', deps.clock.now(), { reason });
  return finishRollback(deps, iv, target, git, log, startedAt);
}

/** Revert, push, redeploy, probe again; record the revert SHA; tell the operator. */
async function finishRollback(
  deps: ApplyDeps,
  iv: Intervention,
  target: TargetConfig,
  git: GitRepo,
  log: ApplyLog,
  startedAt: number,
): Promise<ApplyResult> {
  const { store, clock } = deps;
  const rb = log.rollback ?? {
    reason: String(store.intents.get(iv.id, 'rollback')?.data.reason ?? 'rollback'),
    detectedAt: clock.now(),
  };
  log.rollback = rb;
  const undo = await undoCommit(deps, store.interventions.get(iv.id), target, git, rb.reason, 'rollback');
  Object.assign(rb, undo, { finishedAt: clock.now() });
  store.intents.finish(iv.id, 'rollback', clock.now());
  const done = store.interventions.transition(iv.id, 'rolled_back', clock.now(), ACTOR, rb.reason, {
    revertSha: undo.revertSha ?? null,
    applyLog: log,
  });
  announceRollback(deps, done, log, startedAt, undo.healthyAfter);
  return { outcome: 'rolled_back', intervention: done, healthyAfter: undo.healthyAfter };
}

export interface UndoResult {
  revertSha?: string;
  /** Set when the revert could not be pushed: the remote still has the change. */
  remoteError?: string;
  redeploy?: DeployResult;
  health?: HealthResult;
  healthyAfter: boolean;
}

/**
 * Undo a committed intervention: git revert (found again after a crash by its trailer), push,
 * redeploy, probe. Each step has its own intent under `prefix`, so it runs at most once.
 */
export async function undoCommit(
  deps: ApplyDeps,
  iv: Intervention,
  target: TargetConfig,
  git: GitRepo,
  why: string,
  prefix: string,
): Promise<UndoResult> {
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
      store.intents.begin(iv.id, `${prefix}-revert`, clock.now(), { commitSha });
      revertSha = await git.revert(commitSha, revertMessage(iv, commitSha, why));
      faultPoint('revert-made');
    }
    store.interventions.patch(iv.id, { revertSha }, clock.now());
    store.intents.finish(iv.id, `${prefix}-revert`, clock.now(), { revertSha });
    result.revertSha = revertSha;
    faultPoint('after-revert');
    if (target.remote && !store.intents.get(iv.id, `${prefix}-push`)?.finishedAt) {
      store.intents.begin(iv.id, `${prefix}-push`, clock.now());
      const remoteAt = await git.remoteSha(target.remote, target.branch);
      // A commit whose own push failed never reached the remote: there is nothing to undo there,
      // and pushing it with its revert to a remote that refuses pushes would leave the rollback
      // stuck in applying for good. (A remote SHA we do not know may hold it: push.)
      const remoteHasCommit =
        remoteAt !== undefined &&
        (!(await git.commitExists(remoteAt)) || (await git.isAncestor(commitSha, remoteAt)));
      if (remoteHasCommit) {
        try {
          if (remoteAt !== revertSha) await git.push(target.remote, target.branch);
          await verifyPushed(git, target.remote, target.branch, revertSha);
        } catch (err) {
          // The work tree and the deploy are rolled back; the remote still holds the change.
          // Finish the rollback locally and make a person look at the remote.
          result.remoteError = errorText(err);
          result.healthyAfter = false;
        }
      }
      store.intents.finish(iv.id, `${prefix}-push`, clock.now());
      faultPoint('after-revert-push');
    }
  }
  if (target.deploy) {
    store.intents.begin(iv.id, `${prefix}-redeploy`, clock.now());
    result.redeploy = await runDeploy(target.deploy, { cwd: target.repoPath, clock });
    store.intents.finish(iv.id, `${prefix}-redeploy`, clock.now(), { ok: result.redeploy.ok });
    faultPoint('after-redeploy');
    if (!result.redeploy.ok) result.healthyAfter = false;
  }
  if (target.health) {
    if (target.deploy) await clock.world.sleep(target.deploy.stabilisationMs);
    result.health = await probeHealth(target.health, clock);
    if (!result.health.healthy) result.healthyAfter = false;
  }
  return result;
}

/** Runbooks: run the allow-listed action, probe, and run its declared inverse on failure. */
async function applyRunbook(
  deps: ApplyDeps,
  iv: Intervention,
  target: TargetConfig,
  log: ApplyLog,
  startedAt: number,
): Promise<ApplyResult> {
  const { store, clock } = deps;
  const change = iv.proposal.changes[0];
  const runbook =
    change?.kind === 'runbook' && Object.hasOwn(target.runbooks, change.action)
      ? target.runbooks[change.action]
      : undefined;
  if (!runbook || change?.kind !== 'runbook')
    return fail(deps, iv, 'the runbook action is no longer on the allow-list');
  const run = async (command: string[]) => {
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
    log.rollback.inverse = await run(runbook.inverse);
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
    log.runbook = await run(runbook.command);
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
    {
      appliedAt: clock.now(),
      windowMs,
      applyLog: log,
    },
  );
  store.events.append(clock.now(), {
    kind: 'applied',
    target: iv.target,
    interventionId: iv.id,
    data: { runbook: change.action },
  });
  return { outcome: 'applied', intervention: done };
}

function fail(deps: ApplyDeps, iv: Intervention, reason: string): ApplyResult {
  const done = deps.store.interventions.transition(iv.id, 'failed', deps.clock.now(), ACTOR, reason);
  deps.store.events.append(deps.clock.now(), {
    kind: 'apply_failed',
    target: iv.target,
    interventionId: iv.id,
    data: { reason },
  });
  deps.logger.warn({ intervention: iv.id, reason }, 'apply failed');
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
      data: {
        why: rb.remoteError
          ? `the revert could not be pushed (${rb.remoteError}): the remote still has the change; a person is needed`
          : 'the target is still unhealthy after the rollback: a person is needed',
      },
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
