import { z } from 'zod';
import { TRAILER } from '../apply/messages.js';
import { createGit, type GitCommit, type GitRepo } from '../apply/git.js';
import { liveLease } from '../apply/lease.js';
import type { Runtime } from '../compose.js';
import type { TargetConfig } from '../config/schema.js';
import type { DriftFindingKind } from './messages.js';
import { NotifyStore } from './state.js';

/*
 * The drift scan: is each target's repository still as kaizen's pipeline left it? It looks for
 *
 * - dirty: uncommitted changes in the work tree (the same `git status` the apply's lockdown
 *   uses, so what is reported here is what would make the next apply refuse);
 * - bypass: commits on the target branch since the last scan without a `Kaizen-Intervention:`
 *   trailer (kaizen's own commits and reverts carry one);
 * - branch: the repository is on another branch (or a detached HEAD);
 * - rewritten: the commit the last scan saw is no longer in the branch (a reset, rebase, force push);
 * - remote: the remote's branch is at a commit this repository does not have, or one the branch
 *   does not contain: someone pushed outside kaizen. (The remote is asked with `git ls-remote`;
 *   kaizen never fetches, so the scan writes nothing to the repository.)
 *
 * Each new finding is one `drift` event (data.source "scan"); the notifier announces it. A finding
 * is reported once: the same dirty paths, wrong branch or remote SHA are not reported again until
 * they change, and commits are looked at once (the last SHA seen is kept per target). The first
 * scan of a target takes its HEAD as the baseline and reports no history.
 *
 * It never blocks or breaks the loop: each target is scanned on its own, a failed scan is retried
 * with backoff (on the clock) a few times, and it never throws; a target with an apply or revert
 * in flight is skipped, since kaizen's own half-written change would look like drift. A scan that
 * keeps failing is recorded as a `drift_scan_failed` event once per distinct error.
 */

export interface DriftFinding {
  kind: DriftFindingKind;
  /** One paragraph a person reads. */
  summary: string;
  paths?: string[];
  commits?: { sha: string; subject: string }[];
  /** Commits not listed (beyond the list's limit). */
  more?: number;
  branch?: string;
  remoteSha?: string;
}

export type DriftScanResult =
  /** Scanned: `findings` are the new ones, each recorded as a `drift` event (ids in `eventIds`). */
  | { target: string; outcome: 'scanned'; findings: DriftFinding[]; eventIds: number[]; remoteError?: string }
  | { target: string; outcome: 'skipped'; reason: string }
  | { target: string; outcome: 'failed'; attempts: number; error: string };

export interface DriftScanOptions {
  /** Only this target (default: all). */
  target?: string;
  signal?: AbortSignal;
  /** Attempts per target (default 3), waiting 2 s, 4 s, … between them. */
  attempts?: number;
  backoffMs?: number;
}

/** The most commits one scan lists; more are counted. */
const MAX_COMMITS = 200;
/** The most paths one finding lists. */
const MAX_PATHS = 50;
/** A git command (ls-remote against a slow remote, say) that says nothing this long is stopped. */
const GIT_IDLE_TIMEOUT_MS = 60_000;
/** Events that mean kaizen itself changed the repository. */
const OWN_CHANGES = new Set(['applied', 'rolled_back', 'reverted', 'apply_failed', 'recovery']);

const ScanState = z.object({
  /** HEAD of the target branch at the last scan. */
  lastSha: z.string().optional(),
  /** Dirty paths last reported (reported again only when a new path appears). */
  dirty: z.array(z.string()).default([]),
  /** The wrong branch last reported. */
  branch: z.string().optional(),
  /** The remote SHA last reported. */
  remoteSha: z.string().optional(),
  /** The last scan error recorded as an event. */
  lastError: z.string().optional(),
});
type ScanState = z.infer<typeof ScanState>;

const stateKey = (target: string) => `drift:${target}`;

export async function driftScan(rt: Runtime, options: DriftScanOptions = {}): Promise<DriftScanResult[]> {
  const targets = rt.config.targets.filter((t) => options.target === undefined || t.name === options.target);
  const results: DriftScanResult[] = [];
  for (const target of targets) {
    if (options.signal?.aborted) break;
    try {
      results.push(await scanWithRetries(rt, target, options));
    } catch (err) {
      // Only the store can throw here (a closed or broken database): say so, never throw.
      const error = err instanceof Error ? err.message : String(err);
      rt.logger.error({ target: target.name, error }, 'drift scan failed');
      results.push({ target: target.name, outcome: 'failed', attempts: 0, error });
    }
  }
  return results;
}

async function scanWithRetries(
  rt: Runtime,
  target: TargetConfig,
  options: DriftScanOptions,
): Promise<DriftScanResult> {
  const attempts = options.attempts ?? 3;
  const backoff = options.backoffMs ?? 2000;
  const ns = new NotifyStore(rt.store.db);
  let error = '';
  for (let i = 1; i <= attempts; i++) {
    const busy = inFlight(rt, target.name);
    if (busy) return { target: target.name, outcome: 'skipped', reason: busy };
    try {
      return await scanTarget(rt, ns, target);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      rt.logger.warn({ target: target.name, attempt: i, error }, 'drift scan attempt failed');
    }
    if (i < attempts) {
      try {
        await rt.clock.sleep(backoff * 2 ** (i - 1), options.signal);
      } catch {
        break; // shutting down
      }
    }
  }
  const state = ns.get(stateKey(target.name), ScanState) ?? ScanState.parse({});
  if (state.lastError !== error) {
    rt.store.events.append(rt.clock.now(), {
      kind: 'drift_scan_failed',
      target: target.name,
      data: { error, attempts },
    });
    ns.set(stateKey(target.name), { ...state, lastError: error }, rt.clock.now());
  }
  return { target: target.name, outcome: 'failed', attempts, error };
}

/** Why the target cannot be scanned now: kaizen is changing its repository. */
function inFlight(rt: Runtime, target: string): string | undefined {
  const lease = liveLease(rt, target);
  if (lease) return `kaizen (pid ${lease.pid} on ${lease.host}) is ${lease.doing}`;
  const applying = rt.store.interventions.list({ target, states: ['applying'], limit: 1 })[0];
  if (applying) return `${applying.id} is being applied`;
  const reverting = rt.store.intents
    .unfinished('revert')
    .find((id) => rt.store.interventions.find(id)?.target === target);
  if (reverting) return `${reverting} is being reverted`;
  return undefined;
}

async function scanTarget(rt: Runtime, ns: NotifyStore, target: TargetConfig): Promise<DriftScanResult> {
  const { store } = rt;
  const key = stateKey(target.name);
  const before = store.events.lastId();
  const git = createGit(target.repoPath, { idleTimeoutMs: GIT_IDLE_TIMEOUT_MS });
  const state = ns.get(key, ScanState) ?? ScanState.parse({});
  const next: ScanState = { ...state };
  delete next.lastError;
  const findings: DriftFinding[] = [];

  let branch: string | undefined;
  let detached: string | undefined;
  try {
    branch = await git.branch();
  } catch (err) {
    // A detached HEAD (or a branch git cannot name): the message says which and what to do.
    detached = err instanceof Error ? err.message : String(err);
  }
  const onBranch = branch === target.branch;
  const wrong = onBranch ? undefined : (branch ?? 'a detached HEAD');
  if (wrong !== undefined && wrong !== state.branch) {
    findings.push({
      kind: 'branch',
      branch: wrong,
      summary:
        detached ??
        `The repository ${target.repoPath} is on branch ${wrong}, not ${target.branch}: kaizen applies nothing until ${target.branch} is checked out again.`,
    });
  }
  if (wrong === undefined) delete next.branch;
  else next.branch = wrong;

  const status = await git.status();
  const newPaths = status.dirty.filter((p) => !state.dirty.includes(p));
  if (newPaths.length > 0) {
    const shown = status.dirty.slice(0, MAX_PATHS);
    findings.push({
      kind: 'dirty',
      paths: shown,
      summary:
        `The work tree of ${target.repoPath} has uncommitted changes in ${count(status.dirty.length, 'path')}` +
        ` (${listSome(status.dirty)}). Someone changed files outside kaizen; while they stay, kaizen applies nothing there.`,
    });
  }
  next.dirty = status.dirty.slice(0, 1000);

  if (onBranch) {
    const head = await git.head();
    if (state.lastSha !== undefined && state.lastSha !== head) {
      const finding = await historyFinding(git, target, state.lastSha, head);
      if (finding) findings.push(finding);
    }
    next.lastSha = head;
    if (target.remote) {
      try {
        const remote = await remoteFinding(git, target, head, state.remoteSha);
        if (remote.finding) findings.push(remote.finding);
        if (remote.sha === undefined || remote.sha === head) delete next.remoteSha;
        else next.remoteSha = remote.sha;
      } catch (err) {
        // A remote that cannot be reached is not drift, and must not stop the local checks.
        const remoteError = err instanceof Error ? err.message : String(err);
        rt.logger.warn({ target: target.name, error: remoteError }, 'drift scan could not ask the remote');
        return record(rt, ns, target, before, next, findings, remoteError);
      }
    }
  }
  return record(rt, ns, target, before, next, findings);
}

/** Save the state and write one `drift` event per finding, unless kaizen changed the repo meanwhile. */
function record(
  rt: Runtime,
  ns: NotifyStore,
  target: TargetConfig,
  before: number,
  next: ScanState,
  findings: DriftFinding[],
  remoteError?: string,
): DriftScanResult {
  const { store, clock } = rt;
  return ns.transaction(() => {
    // kaizen's own apply or revert between the first git command and now would look like drift:
    // drop this scan (its state too) and let the next one look again.
    const own = store.events
      .after(before, 10_000)
      .find((e) => e.target === target.name && OWN_CHANGES.has(e.kind));
    const busy = inFlight(rt, target.name);
    if (own || busy) {
      return {
        target: target.name,
        outcome: 'skipped' as const,
        reason: busy ?? `kaizen changed the repository during the scan (${own!.kind})`,
      };
    }
    ns.set(stateKey(target.name), next, clock.now());
    const eventIds = findings.map(({ kind, ...rest }) =>
      store.events.append(clock.now(), {
        kind: 'drift',
        target: target.name,
        data: { source: 'scan', finding: kind, ...rest },
      }),
    );
    for (const f of findings) rt.logger.warn({ target: target.name, finding: f.kind }, 'drift found');
    return {
      target: target.name,
      outcome: 'scanned' as const,
      findings,
      eventIds,
      ...(remoteError ? { remoteError } : {}),
    };
  });
}

/** Commits since `lastSha` without the trailer, or a rewritten history. */
async function historyFinding(
  git: GitRepo,
  target: TargetConfig,
  lastSha: string,
  head: string,
): Promise<DriftFinding | undefined> {
  if (!(await git.commitExists(lastSha)) || !(await git.isAncestor(lastSha, head))) {
    return {
      kind: 'rewritten',
      summary: `${target.branch} no longer contains ${lastSha.slice(0, 7)}, where the last scan saw it: its history was rewritten (a reset, rebase or force push) and is now at ${head.slice(0, 7)}.`,
    };
  }
  const log = await git.log(MAX_COMMITS + 1);
  const at = log.findIndex((c) => c.sha === lastSha);
  const newer = at < 0 ? log : log.slice(0, at);
  const bypassing = newer.filter((c) => !hasTrailer(c));
  if (bypassing.length === 0) return undefined;
  const listed = bypassing.slice(0, MAX_COMMITS);
  const more = (at < 0 ? 1 : 0) + bypassing.length - listed.length;
  return {
    kind: 'bypass',
    commits: listed.map((c) => ({ sha: c.sha, subject: c.subject })),
    ...(more > 0 ? { more } : {}),
    summary:
      `${count(bypassing.length, 'commit')}${more > 0 ? ' (or more)' : ''} on ${target.branch} since ${lastSha.slice(0, 7)} ` +
      `${bypassing.length === 1 ? 'has' : 'have'} no ${TRAILER} trailer: ${bypassing.length === 1 ? 'it' : 'they'} bypassed kaizen’s pipeline ` +
      `(no guard, no recorded SHAs, no health check, no automatic rollback). Newest: ${listed[0]!.sha.slice(0, 7)} ${listed[0]!.subject}`,
  };
}

function hasTrailer(c: GitCommit): boolean {
  return new RegExp(`^${TRAILER}: \\S+`, 'm').test(c.body);
}

/** Whether the remote's branch moved outside kaizen; `sha` is where it is. */
async function remoteFinding(
  git: GitRepo,
  target: TargetConfig,
  head: string,
  reported: string | undefined,
): Promise<{ sha: string | undefined; finding?: DriftFinding }> {
  const remote = target.remote!;
  const sha = await git.remoteSha(remote, target.branch);
  if (sha === undefined || sha === head || sha === reported) return { sha };
  const known = await git.commitExists(sha);
  if (known && (await git.isAncestor(sha, head))) return { sha }; // only behind: a push will follow
  return {
    sha,
    finding: {
      kind: 'remote',
      remoteSha: sha,
      summary: known
        ? `${remote}/${target.branch} is at ${sha.slice(0, 7)}, which ${target.branch} (at ${head.slice(0, 7)}) does not contain: the branches have diverged, and kaizen’s next push will be refused.`
        : `${remote}/${target.branch} is at ${sha.slice(0, 7)}, a commit this repository does not have: someone pushed to it outside kaizen, and kaizen’s next push will be refused.`,
    },
  };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function listSome(items: string[], max = 5): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
