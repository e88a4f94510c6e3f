import fs from 'node:fs';
import path from 'node:path';
import { GitError, GitPluginError, simpleGit, type SimpleGit } from 'simple-git';
import { KaizenError } from '../errors.js';
import { childEnv } from '../util/env.js';

/*
 * The only way kaizen gets a git handle. Every operation is a plain git command run through
 * simple-git's `raw`, with kaizen's own error handling:
 *
 * - Any non-zero exit is an error (simple-git alone treats a non-zero exit with an empty stderr
 *   as success), wrapped in KaizenError code GIT_FAILED naming the git command and its stderr.
 * - Nothing here runs `git stash`, `reset`, `checkout -- .`, `clean` or a force push. The one
 *   command that rewinds anything is `git revert --abort`, and only for a revert this module
 *   started on a tree without uncommitted changes (see revert()).
 * - The repository's hooks run as they would for a person; core.hooksPath is left alone.
 * - Git never prompts: GIT_TERMINAL_PROMPT=0, no editor, no pager, stdin closed.
 * - Commits work without a configured identity: user.name / user.email default to
 *   kaizen / kaizen@localhost for that one command (the user's config is never written).
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

/** A git command that exited non-zero, with what it said. */
class GitExitError extends GitError {
  constructor(
    readonly exitCode: number,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(undefined, stderr.trim() || stdout.trim() || `exit code ${exitCode}`);
  }
}

export function createGit(dir: string, options: CreateGitOptions = {}): GitRepo {
  const baseDir = path.resolve(dir);
  if (!fs.existsSync(baseDir)) {
    throw new KaizenError('GIT_FAILED', `the target repository ${baseDir} does not exist`);
  }
  const env: NodeJS.ProcessEnv = { ...(options.env ? childEnv({}, options.env) : childEnv()) };
  for (const name of REDIRECTING_ENV) delete env[name];
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: '0',
    GIT_EDITOR: ':',
    GIT_SEQUENCE_EDITOR: ':',
    GIT_PAGER: 'cat',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_LITERAL_PATHSPECS: '1',
  });

  const sg: SimpleGit = simpleGit({
    baseDir,
    binary: 'git',
    maxConcurrentProcesses: 1,
    trimmed: false,
    timeout: { block: options.idleTimeoutMs ?? 10 * 60_000 },
    // simple-git screens the environment as if it were untrusted input and refuses to run at all
    // when it holds, say, GIT_CONFIG_GLOBAL or GIT_SSH_COMMAND. This environment is the
    // operator's own, and the arguments kaizen passes never set these things, so allow them.
    unsafe: {
      allowUnsafeEditor: true,
      allowUnsafePager: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeConfigEnvCount: true,
      allowUnsafeSshCommand: true,
      allowUnsafeAskPass: true,
      allowUnsafeGitProxy: true,
      allowUnsafeTemplateDir: true,
      allowUnsafeDiffExternal: true,
    },
    errors(error, result) {
      if (error instanceof GitPluginError) return error; // timeout, abort, refused arguments
      if (result.exitCode === 0) return undefined;
      return new GitExitError(
        result.exitCode,
        Buffer.concat(result.stdErr).toString('utf8'),
        Buffer.concat(result.stdOut).toString('utf8'),
      );
    },
  }).env(env);

  return new SimpleGitRepo(baseDir, sg);
}

class SimpleGitRepo implements GitRepo {
  constructor(
    readonly dir: string,
    private readonly sg: SimpleGit,
  ) {}

  /** Run git; a failure becomes GIT_FAILED naming the command. */
  private async run(args: string[]): Promise<string> {
    try {
      return await this.sg.raw(args);
    } catch (err) {
      throw gitFailed(args, err);
    }
  }

  /** Run git; resolve with the exit code instead of failing on 0 / 1 (for yes/no questions). */
  private async test(args: string[]): Promise<{ ok: boolean; stdout: string }> {
    try {
      return { ok: true, stdout: await this.sg.raw(args) };
    } catch (err) {
      if (err instanceof GitExitError && err.exitCode === 1) return { ok: false, stdout: err.stdout };
      throw gitFailed(args, err);
    }
  }

  async head(): Promise<string> {
    const r = await this.test(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
    if (!r.ok)
      throw new KaizenError(
        'GIT_FAILED',
        `${this.dir} has no commits yet: kaizen needs a commit to start from`,
      );
    return r.stdout.trim();
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
    const out = await this.run(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
    const dirty = parsePorcelain(out);
    return { clean: dirty.length === 0, dirty };
  }

  async commitFiles(files: string[], message: string): Promise<string> {
    if (files.length === 0) throw new KaizenError('GIT_FAILED', 'nothing to commit: no files were named');
    if (message.trim() === '')
      throw new KaizenError('GIT_FAILED', 'refusing to commit with an empty message');
    const paths = files.map(repoPath);
    const before = await this.head();
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
    const after = await this.head();
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
    const changed = parsePorcelain(
      await this.run(['status', '--porcelain=v1', '-z', '--untracked-files=no']),
    );
    if (changed.length > 0) {
      throw new KaizenError(
        'GIT_FAILED',
        `cannot revert ${short}: uncommitted changes in ${listSome(changed)}; kaizen reverts only on a tree without them, and never stashes or discards them`,
      );
    }
    const before = await this.head();
    try {
      await this.sg.raw([...(await this.identity()), 'revert', '--no-commit', rev]);
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
    const staged = await this.test(['diff', '--cached', '--quiet']);
    if (staged.ok) {
      const aborted = await this.abortRevert();
      throw new KaizenError(
        'GIT_FAILED',
        `git revert of ${short} changes nothing: its change is already undone on this branch; ${aborted}`,
      );
    }
    try {
      await this.sg.raw([...(await this.identity()), 'commit', '--no-edit', `--message=${message}`]);
    } catch (err) {
      const aborted = await this.abortRevert();
      throw new KaizenError(
        'GIT_FAILED',
        `committing the revert of ${short} failed: ${gitMessage(err)}; ${aborted}`,
        {
          cause: err,
        },
      );
    }
    const after = await this.head();
    if (after === before) throw new KaizenError('GIT_FAILED', `git revert of ${short} made no commit`);
    return after;
  }

  async push(remote: string, branch: string): Promise<void> {
    const ref = `refs/heads/${checkName(branch, 'branch')}`;
    checkName(remote, 'remote');
    try {
      await this.sg.raw(['push', '--porcelain', remote, `${ref}:${ref}`]);
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

  /** `-c user.name=… -c user.email=…` for whichever of the two git has no value for. */
  private async identity(): Promise<string[]> {
    const args: string[] = [];
    for (const [key, fallback] of [
      ['user.name', DEFAULT_IDENTITY.name],
      ['user.email', DEFAULT_IDENTITY.email],
    ] as const) {
      const r = await this.test(['config', '--get', key]);
      if (!r.ok || r.stdout.trim() === '') args.push('-c', `${key}=${fallback}`);
    }
    return args;
  }

  private async gitPath(name: string): Promise<string> {
    const p = (await this.run(['rev-parse', '--git-path', name])).trim();
    return path.resolve(this.dir, p);
  }

  private async operationInProgress(): Promise<string | undefined> {
    const markers: [string, string][] = [
      ['REVERT_HEAD', 'revert'],
      ['CHERRY_PICK_HEAD', 'cherry-pick'],
      ['MERGE_HEAD', 'merge'],
      ['rebase-merge', 'rebase'],
      ['rebase-apply', 'rebase or am'],
      ['sequencer', 'revert or cherry-pick sequence'],
    ];
    for (const [marker, what] of markers) if (fs.existsSync(await this.gitPath(marker))) return what;
    return undefined;
  }

  private async conflicts(): Promise<string[]> {
    try {
      const out = await this.sg.raw(['diff', '--name-only', '--diff-filter=U', '-z']);
      return out.split('\0').filter(Boolean);
    } catch {
      return [];
    }
  }

  /** Undo a revert this module started (on a tree it checked had no uncommitted changes). */
  private async abortRevert(): Promise<string> {
    if (
      !fs.existsSync(await this.gitPath('REVERT_HEAD')) &&
      !fs.existsSync(await this.gitPath('sequencer'))
    ) {
      return 'nothing was changed';
    }
    try {
      await this.sg.raw(['revert', '--abort']);
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

/** `XY path\0` records; renames and copies carry the old path as a second record. */
function parsePorcelain(out: string): string[] {
  const records = out.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.length < 4) continue;
    paths.push(r.slice(3));
    if (r[0] === 'R' || r[0] === 'C') {
      const from = records[++i];
      if (from) paths.push(from);
    }
  }
  return paths;
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
      ? err.stderr.trim() || err.stdout.trim()
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
