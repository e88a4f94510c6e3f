import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { KaizenError } from '../errors.js';
import { childEnv } from '../util/env.js';

/*
 * The only way kaizen gets a git handle. Every operation is a plain git command, run directly as a
 * child process (see runGit below), with kaizen's own error handling:
 *
 * - Any non-zero exit is an error, wrapped in KaizenError code GIT_FAILED naming the git command
 *   and its stderr. So is a command killed by a signal, stopped for producing no output for
 *   idleTimeoutMs, or producing more than MAX_STDOUT_BYTES of output.
 * - Nothing here runs `git stash`, `reset`, `checkout -- .`, `clean` or a force push. The one
 *   command that rewinds anything is `git revert --abort`, and only for a revert this module
 *   started on a tree without uncommitted changes (see revert()).
 * - The repository's hooks run as they would for a person; core.hooksPath is left alone.
 * - Git never prompts: GIT_TERMINAL_PROMPT=0, no editor, no pager, stdin closed.
 * - Commits work without a configured identity: user.name / user.email default to
 *   kaizen / kaizen@localhost for that one command (the user's config is never written).
 * - One git command at a time per handle: commands queue, as they did under simple-git's
 *   maxConcurrentProcesses: 1.
 *
 * Why not simple-git: its completion detection waits an unconditional 50 ms after every command
 * that writes nothing to stdout or stderr (`status` on a clean tree, `add`, `diff --quiet`,
 * `merge-base --is-ancestor`, `config --get` of a missing key, …), with no setting to turn that
 * off, which made revert() take ~260-310 ms instead of ~20 ms. What it did for kaizen is
 * done here: spawning with cwd and env, capturing output, the idle timeout (its `timeout.block`),
 * one process at a time, and the exit-code-to-error mapping (which kaizen already overrode).
 *
 * Per handle, two things are looked up once and kept: the git directories (for the in-progress
 * markers and HEAD, read with fs) and the identity fallback (whether user.name / user.email are set).
 * Neither is expected to change under a running kaizen: moving the repository's .git or editing
 * its identity while kaizen is mid-apply is not supported; a new handle (each apply makes one)
 * sees the change.
 */

export interface GitCommit {
  sha: string;
  subject: string;
  body: string;
}

export interface GitStatus {
  clean: boolean;
  /** Paths with uncommitted changes, untracked files included, ignored files not. */
  dirty: string[];
}

export interface GitRepo {
  readonly dir: string;
  /** Full SHA of HEAD. */
  head(): Promise<string>;
  /** The checked-out branch; an error on a detached HEAD. */
  branch(): Promise<string>;
  status(): Promise<GitStatus>;
  /**
   * From one `git status`: HEAD (undefined before the first commit), and which of `paths` have
   * uncommitted changes (work tree, index, untracked; ignored files not).
   */
  headAndChanges(paths: string[]): Promise<{ head: string | undefined; dirty: string[] }>;
  /** Which of `paths` are staged with content other than HEAD's (`git diff --cached`). */
  staged(paths: string[]): Promise<string[]>;
  /** A file's staged content (the index), or undefined when the index has no such file. */
  indexFile(path: string): Promise<string | undefined>;
  /** Stage exactly these paths (deletions included) and commit only them; returns the new SHA. */
  commitFiles(files: string[], message: string): Promise<string>;
  /** A new commit undoing `sha`, with `message`; returns its SHA. Needs a tree without uncommitted changes. */
  revert(sha: string, message: string): Promise<string>;
  /** Push the branch (never forced). */
  push(remote: string, branch: string): Promise<void>;
  /** Where the remote's branch is now (git ls-remote), or undefined when it has no such branch. */
  remoteSha(remote: string, branch: string): Promise<string | undefined>;
  /** SHAs on the current branch whose message contains `grep` (fixed string), newest first; after `sinceSha` when given. */
  findCommits(grep: string, sinceSha?: string): Promise<string[]>;
  commitExists(sha: string): Promise<boolean>;
  /** Whether `a` is an ancestor of (or equal to) `b`. */
  isAncestor(a: string, b: string): Promise<boolean>;
  /** A file's content at a commit, or undefined when the commit has no such file. */
  showFile(sha: string, path: string): Promise<string | undefined>;
  /** The last `n` commits of HEAD, newest first. */
  log(n: number): Promise<GitCommit[]>;
  /**
   * Put the index entries of exactly these paths back to HEAD (the files in the work tree are not
   * touched). Used after a crash between kaizen's own `git add` and its commit.
   */
  unstage(files: string[]): Promise<void>;
}

export interface CreateGitOptions {
  /** Environment git runs with, before kaizen's additions (default: kaizen's own, secrets removed). */
  env?: NodeJS.ProcessEnv;
  /** Kill a git command that produces no output for this long (default 10 minutes). */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDENTITY = { name: 'kaizen', email: 'kaizen@localhost' };

/** Variables that point git at another repository, work tree or index than `dir`. */
const REDIRECTING_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
];

/**
 * Set on every git command kaizen runs, ahead of its arguments (command-line settings win over every
 * config file): config that makes git run a program of its own choosing is off, so a file a change
 * touched, or a config someone planted, cannot run a command on kaizen's host through kaizen's git.
 * core.fsmonitor runs a command on `status`, `add`, `commit`; an `ext::` remote URL runs one on
 * `push`; a pager is never needed. Diffs are asked for with --no-ext-diff --no-textconv. Hooks run
 * as they would for a person (README: "git behaves as for a person"); the guard refuses changes to
 * the hooks and to every work-tree file git reads as configuration (guard/git-reads.ts).
 */
export const SAFE_GIT_CONFIG: readonly string[] = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'protocol.ext.allow=never',
  '-c',
  'core.pager=cat',
];

/** Keep at most this much of a command's stdout; more fails the command (it would be wrong data). */
const MAX_STDOUT_BYTES = 64 * 1024 * 1024;
/** Keep the last this-many bytes of stderr (messages come from its last lines). */
const MAX_STDERR_BYTES = 64 * 1024;
/** After a timeout's SIGTERM, SIGKILL this long later if git is still running. */
const KILL_GRACE_MS = 2000;
/**
 * After git exits, how long to wait for its output pipes to close. They stay open when a hook left
 * a background process holding them; kaizen then stops reading rather than wait for that process.
 */
const EXIT_DRAIN_MS = 1000;

interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  idleTimeoutMs: number;
}

interface GitOutput {
  /** null when git was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A git command that exited non-zero (or was killed), with what it said. */
class GitExitError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout: string,
    signal: NodeJS.Signals | null = null,
  ) {
    super(
      stderr.trim() ||
        stdout.trim() ||
        (exitCode === null ? `killed by ${signal ?? 'a signal'}` : `exit code ${exitCode}`),
    );
    this.name = 'GitExitError';
  }
}

/** A git command that could not be started, or was stopped by kaizen (timeout, too much output). */
class GitRunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GitRunError';
  }
}

/**
 * Run `git args` in `cwd` and collect its output. Resolves with the exit code whatever it is;
 * rejects (GitRunError) only when git could not be started, produced no output for
 * idleTimeoutMs, or more than MAX_STDOUT_BYTES of stdout: then it is stopped (SIGTERM, SIGKILL
 * after KILL_GRACE_MS) and the promise settles once it has exited.
 */
function runGit(args: string[], opts: RunOptions): Promise<GitOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...SAFE_GIT_CONFIG, ...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr: Buffer[] = [];
    let stderrBytes = 0;
    let failure: Error | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let idleTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(idleTimer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      child.stdout.destroy();
      child.stderr.destroy();
      if (failure) return reject(failure);
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    };
    const stop = (why: Error) => {
      if (failure || settled) return;
      failure = why;
      clearTimeout(idleTimer);
      if (exit) return finish();
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const touch = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => stop(new GitRunError(`no output for ${opts.idleTimeoutMs} ms: stopped`)),
        opts.idleTimeoutMs,
      );
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (failure) return;
      touch();
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) {
        stop(new GitRunError(`more than ${MAX_STDOUT_BYTES} bytes of output: stopped`));
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (failure) return;
      touch();
      stderr.push(chunk);
      stderrBytes += chunk.length;
      if (stderrBytes > 2 * MAX_STDERR_BYTES) {
        const tail = Buffer.concat(stderr).subarray(-MAX_STDERR_BYTES);
        stderr = [tail];
        stderrBytes = tail.length;
      }
    });
    child.on('error', (err) => {
      // Not started (no git, no such cwd), or a kill that failed; either way nothing more will come.
      const gone = (err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(opts.cwd);
      failure ??= new GitRunError(
        gone ? `the repository directory ${opts.cwd} no longer exists` : `could not run git: ${err.message}`,
        { cause: err },
      );
      if (child.pid === undefined || exit) finish();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      clearTimeout(idleTimer);
      clearTimeout(killTimer);
      drainTimer = setTimeout(finish, EXIT_DRAIN_MS);
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      finish();
    });
    touch();
  });
}

/**
 * The environment every git command of kaizen's runs with: `base` without kaizen's secrets and
 * without variables that would point git at another repository, and never waiting for a person.
 */
export function gitEnv(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(base ? childEnv({}, base) : childEnv()) };
  for (const name of REDIRECTING_ENV) delete env[name];
  return Object.assign(env, {
    GIT_TERMINAL_PROMPT: '0',
    GIT_EDITOR: ':',
    GIT_SEQUENCE_EDITOR: ':',
    GIT_PAGER: 'cat',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_LITERAL_PATHSPECS: '1',
  });
}

export function createGit(dir: string, options: CreateGitOptions = {}): GitRepo {
  const baseDir = path.resolve(dir);
  if (!fs.existsSync(baseDir)) {
    throw new KaizenError('GIT_FAILED', `the target repository ${baseDir} does not exist`);
  }
  return new ChildProcessGitRepo({
    cwd: baseDir,
    env: gitEnv(options.env),
    idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60_000,
  });
}

interface GitDirs {
  /** `git rev-parse --absolute-git-dir`: HEAD and the in-progress markers. */
  gitDir: string;
  /** `git rev-parse --git-common-dir`, absolute: refs/heads. */
  commonDir: string;
}

/** Markers git leaves in the git directory while an operation waits for a person. */
const IN_PROGRESS_MARKERS: [string, string][] = [
  ['REVERT_HEAD', 'revert'],
  ['CHERRY_PICK_HEAD', 'cherry-pick'],
  ['MERGE_HEAD', 'merge'],
  ['rebase-merge', 'rebase'],
  ['rebase-apply', 'rebase or am'],
  ['sequencer', 'revert or cherry-pick sequence'],
];

class ChildProcessGitRepo implements GitRepo {
  readonly dir: string;
  /** The last command queued: the next one starts after it has finished. */
  private tail: Promise<unknown> = Promise.resolve();
  private gitDirsCache: Promise<GitDirs> | undefined;
  private identityCache: Promise<string[]> | undefined;

  constructor(private readonly opts: RunOptions) {
    this.dir = opts.cwd;
  }

  /** Run git after the commands queued before it; a non-zero exit rejects with GitExitError. */
  private raw(args: string[]): Promise<string> {
    const result = this.tail.then(() => runGit(args, this.opts));
    this.tail = result.catch(() => undefined);
    return result.then((r) => {
      if (r.exitCode !== 0) throw new GitExitError(r.exitCode, r.stderr, r.stdout, r.signal);
      return r.stdout;
    });
  }

  /** Run git; a failure becomes GIT_FAILED naming the command. */
  private async run(args: string[]): Promise<string> {
    try {
      return await this.raw(args);
    } catch (err) {
      throw gitFailed(args, err);
    }
  }

  /** Run git; resolve with the exit code instead of failing on 0 / 1 (for yes/no questions). */
  private async test(args: string[]): Promise<{ ok: boolean; stdout: string }> {
    try {
      return { ok: true, stdout: await this.raw(args) };
    } catch (err) {
      if (err instanceof GitExitError && err.exitCode === 1) return { ok: false, stdout: err.stdout };
      throw gitFailed(args, err);
    }
  }

  async head(): Promise<string> {
    const r = await this.test(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
    if (!r.ok) throw this.noCommits();
    return r.stdout.trim();
  }

  private noCommits(): KaizenError {
    return new KaizenError(
      'GIT_FAILED',
      `${this.dir} has no commits yet: kaizen needs a commit to start from`,
    );
  }

  async branch(): Promise<string> {
    const r = await this.test(['symbolic-ref', '--quiet', '--short', 'HEAD']);
    if (!r.ok) {
      const at = await this.head().then(
        (sha) => ` at ${sha.slice(0, 7)}`,
        () => '',
      );
      throw new KaizenError(
        'GIT_FAILED',
        `HEAD in ${this.dir} is detached${at}: kaizen works on a branch; check out the target branch`,
      );
    }
    return r.stdout.trim();
  }

  async status(): Promise<GitStatus> {
    const { dirty } = await this.porcelain('all');
    return { clean: dirty.length === 0, dirty };
  }

  async headAndChanges(paths: string[]): Promise<{ head: string | undefined; dirty: string[] }> {
    if (paths.length === 0) return { head: await this.head(), dirty: [] };
    return this.porcelain('all', paths);
  }

  async staged(paths: string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const out = await this.run(['diff', '--cached', '--name-only', '-z', '--', ...paths.map(repoPath)]);
    return out.split('\0').filter(Boolean);
  }

  async indexFile(file: string): Promise<string | undefined> {
    const object = await this.test(['rev-parse', '--verify', '--quiet', `:${repoPath(file)}`]);
    if (!object.ok) return undefined;
    return this.run(['cat-file', 'blob', object.stdout.trim()]);
  }

  /** One `git status`: the paths with uncommitted changes, and HEAD (undefined before the first commit). */
  private async porcelain(
    untracked: 'all' | 'no',
    paths?: string[],
  ): Promise<{ head: string | undefined; dirty: string[] }> {
    const out = await this.run([
      'status',
      '--porcelain=v2',
      '--branch', // `# branch.oid`: HEAD, from the same command
      '--no-ahead-behind', // not needed, and slow against a far-away upstream
      '-z',
      `--untracked-files=${untracked}`,
      ...(paths ? ['--', ...paths.map(repoPath)] : []),
    ]);
    return parsePorcelainV2(out);
  }

  async unstage(files: string[]): Promise<void> {
    if (files.length === 0) return;
    await this.run(['restore', '--staged', '--', ...files.map(repoPath)]);
  }

  async commitFiles(files: string[], message: string): Promise<string> {
    if (files.length === 0) throw new KaizenError('GIT_FAILED', 'nothing to commit: no files were named');
    if (message.trim() === '')
      throw new KaizenError('GIT_FAILED', 'refusing to commit with an empty message');
    const paths = files.map(repoPath);
    const before = await this.quickHead();
    // `add -A` stages additions, changes and deletions of exactly these paths; `commit --only`
    // then commits those paths alone, whatever else is staged (it stays staged).
    await this.run(['add', '-A', '--', ...paths]);
    await this.run([
      ...(await this.identity()),
      'commit',
      '--only',
      '--no-edit',
      `--message=${message}`,
      '--',
      ...paths,
    ]);
    const after = await this.quickHead();
    if (after === before)
      throw new KaizenError('GIT_FAILED', `git commit of ${paths.join(', ')} made no commit`);
    return after;
  }

  async revert(sha: string, message: string): Promise<string> {
    const rev = checkRev(sha);
    if (message.trim() === '')
      throw new KaizenError('GIT_FAILED', 'refusing to commit a revert with an empty message');
    const short = rev.slice(0, 7);
    const busy = await this.operationInProgress();
    if (busy) {
      throw new KaizenError(
        'GIT_FAILED',
        `cannot revert ${short}: a ${busy} is in progress in ${this.dir}; a person must finish or abort it first`,
      );
    }
    // `git revert --abort` resets the index (git reset --merge): on a tree with staged changes it
    // would discard them. So revert only on a tree whose tracked files are all committed.
    // The same `git status` says where HEAD is.
    const { head: before, dirty: changed } = await this.porcelain('no');
    if (changed.length > 0) {
      throw new KaizenError(
        'GIT_FAILED',
        `cannot revert ${short}: uncommitted changes in ${listSome(changed)}; kaizen reverts only on a tree without them, and never stashes or discards them`,
      );
    }
    if (before === undefined) throw this.noCommits();
    const identity = await this.identity();
    try {
      await this.raw([...identity, 'revert', '--no-commit', rev]);
    } catch (err) {
      const conflicts = await this.conflicts();
      const aborted = await this.abortRevert();
      if (conflicts.length > 0) {
        throw new KaizenError(
          'GIT_FAILED',
          `git revert of ${short} conflicts in ${listSome(conflicts)}; ${aborted}. Later commits changed the same lines: a person must undo this change by hand`,
          { cause: err },
        );
      }
      throw new KaizenError('GIT_FAILED', `git revert of ${short} failed: ${gitMessage(err)}; ${aborted}`, {
        cause: err,
      });
    }
    // git commit refuses a commit that changes nothing (exit 1, "nothing to commit"; only
    // --allow-empty or a merge in progress would let it through, and neither applies), so whether
    // the revert staged anything is asked only when the commit fails, saving a git process on the
    // rollback path. (In that already-undone case the pre-commit hook has run, on nothing staged.)
    // maintenance.auto=false: like a person's `git revert`, which commits without starting
    // `git maintenance run --auto`.
    try {
      await this.raw([
        ...identity,
        '-c',
        'maintenance.auto=false',
        'commit',
        '--no-edit',
        `--message=${message}`,
      ]);
    } catch (err) {
      const nothingStaged = await this.test([
        'diff',
        '--no-ext-diff',
        '--no-textconv',
        '--cached',
        '--quiet',
      ]).then(
        (r) => r.ok,
        () => false,
      );
      const aborted = await this.abortRevert();
      if (nothingStaged) {
        throw new KaizenError(
          'GIT_FAILED',
          `git revert of ${short} changes nothing: its change is already undone on this branch; ${aborted}`,
          { cause: err },
        );
      }
      throw new KaizenError(
        'GIT_FAILED',
        `committing the revert of ${short} failed: ${gitMessage(err)}; ${aborted}`,
        { cause: err },
      );
    }
    const after = await this.quickHead();
    if (after === before) throw new KaizenError('GIT_FAILED', `git revert of ${short} made no commit`);
    return after;
  }

  async push(remote: string, branch: string): Promise<void> {
    const ref = `refs/heads/${checkName(branch, 'branch')}`;
    checkName(remote, 'remote');
    try {
      await this.raw(['push', '--porcelain', remote, `${ref}:${ref}`]);
    } catch (err) {
      // --porcelain puts the per-ref verdict ("!  refs/heads/main:… [rejected] (fetch first)") on stdout.
      const verdict =
        err instanceof GitExitError
          ? err.stdout
              .split('\n')
              .filter((l) => l.startsWith('!'))
              .map((l) => l.split('\t').pop()!.trim())
              .join('; ')
          : '';
      throw new KaizenError(
        'GIT_FAILED',
        `git push ${remote} ${branch} failed${verdict ? ` (${verdict})` : ''}: ${gitMessage(err)}`,
        { cause: err, retryable: true },
      );
    }
  }

  async remoteSha(remote: string, branch: string): Promise<string | undefined> {
    const ref = `refs/heads/${checkName(branch, 'branch')}`;
    const out = await this.run(['ls-remote', '--heads', checkName(remote, 'remote'), ref]);
    for (const line of out.split('\n')) {
      const [sha, name] = line.trim().split('\t');
      if (name === ref && sha) return sha;
    }
    return undefined;
  }

  async findCommits(grep: string, sinceSha?: string): Promise<string[]> {
    if (grep === '') throw new KaizenError('GIT_FAILED', 'findCommits needs a non-empty text to look for');
    // git matches --grep line by line; the exact (possibly multi-line) match is checked here.
    const firstLine = grep.split('\n').find((l) => l !== '');
    const args = ['log', '-z', '--format=%H%n%B'];
    if (firstLine !== undefined) args.push('--fixed-strings', `--grep=${firstLine}`);
    args.push(sinceSha === undefined ? 'HEAD' : `${checkRev(sinceSha)}..HEAD`);
    const out = await this.run(args);
    const found: string[] = [];
    for (const record of out.split('\0')) {
      const nl = record.indexOf('\n');
      if (nl < 0) continue;
      const message = record.slice(nl + 1);
      if (message.includes(grep)) found.push(record.slice(0, nl).trim());
    }
    return found;
  }

  async commitExists(sha: string): Promise<boolean> {
    if (!/^[0-9a-fA-F]{4,64}$/.test(sha)) return false;
    return (await this.test(['rev-parse', '--verify', '--quiet', `${sha}^{commit}`])).ok;
  }

  async isAncestor(a: string, b: string): Promise<boolean> {
    return (await this.test(['merge-base', '--is-ancestor', checkRev(a), checkRev(b)])).ok;
  }

  async showFile(sha: string, file: string): Promise<string | undefined> {
    if (!(await this.commitExists(sha))) {
      throw new KaizenError('GIT_FAILED', `commit ${sha} does not exist in ${this.dir}`);
    }
    const object = await this.test(['rev-parse', '--verify', '--quiet', `${sha}:${repoPath(file)}`]);
    if (!object.ok) return undefined;
    const id = object.stdout.trim();
    const type = (await this.run(['cat-file', '-t', id])).trim();
    if (type !== 'blob') return undefined;
    return this.run(['cat-file', 'blob', id]);
  }

  async log(n: number): Promise<GitCommit[]> {
    if (!Number.isInteger(n) || n < 1)
      throw new KaizenError('GIT_FAILED', `log needs a positive count, got ${n}`);
    const out = await this.run(['log', '-z', `--max-count=${n}`, '--format=%H%n%s%n%b', 'HEAD']);
    return out
      .split('\0')
      .filter((r) => r.trim() !== '')
      .map((record) => {
        const [sha = '', subject = '', ...body] = record.split('\n');
        return { sha: sha.trim(), subject, body: body.join('\n').replace(/\n+$/, '') };
      });
  }

  /**
   * `-c user.name=… -c user.email=…` for whichever of the two git has no value for. Looked up once
   * per handle (one `git config --get-regexp`): a repository's identity does not change under a
   * running kaizen.
   */
  private identity(): Promise<string[]> {
    this.identityCache ??= this.lookUpIdentity().catch((err: unknown) => {
      this.identityCache = undefined;
      throw err;
    });
    return this.identityCache;
  }

  private async lookUpIdentity(): Promise<string[]> {
    // -z: `key\nvalue\0` per entry; `key\0` for a key with no value. Exit 1 when none is set.
    const r = await this.test(['config', '-z', '--get-regexp', '^user\\.(name|email)$']);
    const values = new Map<string, string>();
    if (r.ok) {
      for (const record of r.stdout.split('\0')) {
        const nl = record.indexOf('\n');
        const key = (nl < 0 ? record : record.slice(0, nl)).toLowerCase();
        values.set(key, nl < 0 ? '' : record.slice(nl + 1)); // the last one wins, as with --get
      }
    }
    const args: string[] = [];
    for (const [key, fallback] of [
      ['user.name', DEFAULT_IDENTITY.name],
      ['user.email', DEFAULT_IDENTITY.email],
    ] as const) {
      if ((values.get(key) ?? '').trim() === '') args.push('-c', `${key}=${fallback}`);
    }
    return args;
  }

  /**
   * The repository's git directory (a linked worktree's own one) and its common directory (where
   * branches live), looked up once per handle. The in-progress markers are per worktree, so they
   * all live right in the git directory.
   */
  private gitDirs(): Promise<GitDirs> {
    this.gitDirsCache ??= this.run(['rev-parse', '--absolute-git-dir', '--git-common-dir']).then(
      (out) => {
        const [gitDir = '', commonDir = ''] = out.split('\n');
        if (gitDir === '' || commonDir === '') {
          throw new KaizenError('GIT_FAILED', `git rev-parse --absolute-git-dir said nothing in ${this.dir}`);
        }
        return { gitDir, commonDir: path.resolve(this.dir, commonDir) };
      },
      (err: unknown) => {
        this.gitDirsCache = undefined;
        throw err;
      },
    );
    return this.gitDirsCache;
  }

  private async gitDir(): Promise<string> {
    return (await this.gitDirs()).gitDir;
  }

  /**
   * HEAD, read from the files git writes when it can be (HEAD names the branch, the branch's loose
   * ref file holds the SHA), which saves a git process; git writes both atomically (lock file and
   * rename) and a loose ref always wins over packed-refs. Anything else (a detached HEAD, a packed
   * ref, the reftable backend, a file that cannot be read) asks `git rev-parse`, as head() does. A
   * commit always leaves the branch's ref loose, so right after one this needs no git process.
   */
  private async quickHead(): Promise<string> {
    try {
      const { gitDir, commonDir } = await this.gitDirs();
      const ref = /^ref: (refs\/heads\/[^\n]+)\n?$/.exec(fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8'));
      if (ref && !ref[1]!.split('/').includes('..')) {
        const sha = /^([0-9a-f]{40}|[0-9a-f]{64})\n?$/.exec(
          fs.readFileSync(path.join(commonDir, ...ref[1]!.split('/')), 'utf8'),
        );
        if (sha) return sha[1]!;
      }
    } catch {
      // fall through to git
    }
    return this.head();
  }

  private async operationInProgress(): Promise<string | undefined> {
    const gitDir = await this.gitDir();
    for (const [marker, what] of IN_PROGRESS_MARKERS) {
      if (fs.existsSync(path.join(gitDir, marker))) return what;
    }
    return undefined;
  }

  private async conflicts(): Promise<string[]> {
    try {
      const out = await this.raw([
        'diff',
        '--no-ext-diff',
        '--no-textconv',
        '--name-only',
        '--diff-filter=U',
        '-z',
      ]);
      return out.split('\0').filter(Boolean);
    } catch {
      return [];
    }
  }

  /** Undo a revert this module started (on a tree it checked had no uncommitted changes). */
  private async abortRevert(): Promise<string> {
    const gitDir = await this.gitDir();
    if (!fs.existsSync(path.join(gitDir, 'REVERT_HEAD')) && !fs.existsSync(path.join(gitDir, 'sequencer'))) {
      return 'nothing was changed';
    }
    try {
      await this.raw(['revert', '--abort']);
      return 'the revert was aborted and the work tree is as it was';
    } catch (err) {
      return `aborting it failed too (${gitMessage(err)}): the repository needs a person (git status)`;
    }
  }
}

/**
 * Throw PUSH_NOT_VERIFIED unless the remote's branch is at `sha` now. A push can "succeed" without
 * taking effect (a proxy, a hook that rewrites, a mirror that lags): this asks the remote itself.
 */
export async function verifyPushed(git: GitRepo, remote: string, branch: string, sha: string): Promise<void> {
  const actual = await git.remoteSha(remote, branch);
  if (actual === sha) return;
  const where =
    actual === undefined ? `the remote has no branch ${branch}` : `the remote is at ${actual.slice(0, 7)}`;
  throw new KaizenError(
    'PUSH_NOT_VERIFIED',
    `push to ${remote}/${branch} did not take effect: ${where}, expected ${sha.slice(0, 7)}`,
    { retryable: true },
  );
}

/**
 * `git status --porcelain=v2 --branch -z`: `# branch.oid <sha>|(initial)` headers, then one record
 * per path: `1 XY sub mH mI mW hH hI path`, `2 XY sub mH mI mW hH hI Xscore path\0origPath`
 * (rename or copy), `u XY sub m1 m2 m3 mW h1 h2 h3 path` (unmerged), `? path`, `! path`.
 */
function parsePorcelainV2(out: string): { head: string | undefined; dirty: string[] } {
  const records = out.split('\0');
  const dirty: string[] = [];
  let head: string | undefined;
  /** The path after the first `fields` space-separated fields (a path may hold spaces). */
  const after = (record: string, fields: number): string | undefined => {
    let at = 0;
    for (let i = 0; i < fields; i++) {
      at = record.indexOf(' ', at) + 1;
      if (at === 0) return undefined;
    }
    return record.slice(at) || undefined;
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    let p: string | undefined;
    switch (r[0]) {
      case '#': {
        const m = /^# branch\.oid ([0-9a-f]{40,64})$/.exec(r);
        if (m) head = m[1];
        continue;
      }
      case '1':
        p = after(r, 8);
        break;
      case '2': {
        const to = after(r, 9);
        const from = records[++i];
        if (to !== undefined) dirty.push(to);
        p = from || undefined;
        break;
      }
      case 'u':
        p = after(r, 10);
        break;
      case '?':
        p = after(r, 1);
        break;
      default:
        continue; // '!' (ignored) is never asked for; '' after the last \0
    }
    if (p !== undefined) dirty.push(p);
  }
  return { head, dirty };
}

/** A repo-relative path as git expects it: forward slashes, no leading `./`. */
function repoPath(p: string): string {
  const clean = p.replaceAll('\\', '/').replace(/^(\.\/)+/, '');
  if (clean === '' || clean.startsWith('/') || clean.split('/').includes('..')) {
    throw new KaizenError('GIT_FAILED', `${JSON.stringify(p)} is not a path inside the repository`);
  }
  return clean;
}

/** A revision kaizen passes to git: a SHA or a plain ref name, never something git reads as an option. */
function checkRev(rev: string): string {
  if (!/^[0-9A-Za-z][0-9A-Za-z._/^~-]*$/.test(rev)) {
    throw new KaizenError('GIT_FAILED', `${JSON.stringify(rev)} is not a commit SHA or ref name`);
  }
  return rev;
}

function checkName(name: string, what: 'remote' | 'branch'): string {
  if (!/^[0-9A-Za-z_][0-9A-Za-z._/-]*$/.test(name) || name.includes('..') || name.endsWith('.lock')) {
    throw new KaizenError('GIT_FAILED', `${JSON.stringify(name)} is not a valid ${what} name`);
  }
  return name;
}

function gitMessage(err: unknown): string {
  const text =
    err instanceof GitExitError
      ? err.stderr.trim() || err.stdout.trim() || err.message
      : err instanceof Error
        ? err.message.trim()
        : String(err);
  // The last few lines carry the reason ("fatal: …"); hints before them are noise.
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('hint:'));
  const tail = lines.slice(-4).join(' / ');
  return tail.length > 600 ? `…${tail.slice(-600)}` : tail || 'no message';
}

function gitFailed(args: string[], err: unknown): KaizenError {
  if (err instanceof KaizenError) return err;
  return new KaizenError('GIT_FAILED', `git ${describeArgs(args)} failed: ${gitMessage(err)}`, {
    cause: err,
  });
}

/** The command for a message: no commit message text, no identity overrides, not too long. */
function describeArgs(args: string[]): string {
  const shown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c') {
      i++;
      continue;
    }
    shown.push(a.startsWith('--message=') ? '--message=…' : a);
  }
  const text = shown.join(' ');
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

function listSome(items: string[], max = 5): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
