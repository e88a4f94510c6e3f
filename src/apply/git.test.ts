import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GIT_ENV, git, gitRepo } from '../../test/helpers/git.js';
import { tempDir } from '../../test/helpers/temp.js';
import { KaizenError } from '../errors.js';
import { createGit, verifyPushed, type GitRepo } from './git.js';

/** A handle on `dir` with the test environment (no global config, a fixed identity). */
const open = (dir: string): GitRepo => createGit(dir, { env: GIT_ENV });

const write = (dir: string, rel: string, content: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
};
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');

async function gitError(promise: Promise<unknown>, code = 'GIT_FAILED'): Promise<KaizenError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KaizenError);
  expect((err as KaizenError).code).toBe(code);
  return err as KaizenError;
}

/** A bare repository as `origin`, with main pushed. */
function withRemote(dir: string): string {
  const remote = tempDir('kaizen-remote-');
  git(remote, 'init', '-q', '--bare', '-b', 'main');
  git(dir, 'remote', 'add', 'origin', remote);
  git(dir, 'push', '-q', 'origin', 'main');
  return remote;
}

describe('head, branch, status', () => {
  it('reads HEAD and the branch', async () => {
    const dir = gitRepo();
    const repo = open(dir);
    expect(await repo.head()).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(await repo.head()).toMatch(/^[0-9a-f]{40}$/);
    expect(await repo.branch()).toBe('main');
  });

  it('refuses a detached HEAD', async () => {
    const dir = gitRepo();
    const sha = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'checkout', '-q', '--detach');
    expect((await gitError(open(dir).branch())).message).toBe(
      `HEAD in ${dir} is detached at ${sha.slice(0, 7)}: kaizen works on a branch; check out the target branch`,
    );
  });

  it('says when the repository has no commits', async () => {
    const dir = tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    expect((await gitError(open(dir).head())).message).toBe(
      `${dir} has no commits yet: kaizen needs a commit to start from`,
    );
  });

  it('lists modified, staged, deleted, renamed and untracked paths, not ignored ones', async () => {
    const dir = gitRepo({
      'a.txt': 'a\n',
      'b.txt': 'b\n',
      'c.txt': 'c\n',
      'old.txt': 'o\n',
      '.gitignore': '*.log\n',
    });
    const repo = open(dir);
    expect(await repo.status()).toEqual({ clean: true, dirty: [] });
    write(dir, 'a.txt', 'a2\n');
    write(dir, 'b.txt', 'b2\n');
    git(dir, 'add', 'b.txt');
    fs.rmSync(path.join(dir, 'c.txt'));
    git(dir, 'mv', 'old.txt', 'new.txt');
    write(dir, 'sub/untracked.txt', 'u\n');
    write(dir, 'debug.log', 'ignored\n');
    const status = await repo.status();
    expect(status.clean).toBe(false);
    expect(status.dirty.sort()).toEqual([
      'a.txt',
      'b.txt',
      'c.txt',
      'new.txt',
      'old.txt',
      'sub/untracked.txt',
    ]);
  });
});

describe('headAndChanges, staged, indexFile: what the checks before a side effect ask', () => {
  it('says where HEAD is and which of the named paths have changes, ignoring the others', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n', '.gitignore': '*.log\n' });
    const repo = open(dir);
    const head = git(dir, 'rev-parse', 'HEAD');
    write(dir, 'a.txt', 'a2\n');
    write(dir, 'b.txt', 'b2\n');
    git(dir, 'add', 'b.txt');
    write(dir, 'new.txt', 'n\n');
    write(dir, 'debug.log', 'ignored\n');

    expect(await repo.headAndChanges(['a.txt', 'c.txt', 'new.txt', 'debug.log'])).toEqual({
      head,
      dirty: ['a.txt', 'new.txt'],
    });
    expect(await repo.headAndChanges([])).toEqual({ head, dirty: [] });
    expect(await repo.staged(['a.txt', 'b.txt', 'new.txt'])).toEqual(['b.txt']);
    expect(await repo.indexFile('b.txt')).toBe('b2\n');
    expect(await repo.indexFile('a.txt'), 'the index holds HEAD’s content').toBe('a\n');
    expect(await repo.indexFile('new.txt'), 'not in the index').toBeUndefined();
  });
});

describe('commitFiles', () => {
  it('commits exactly the named files (added, changed, deleted) and leaves other changes alone', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n', 'staged.txt': 's\n', 'modified.txt': 'm\n', 'gone.txt': 'g\n' });
    const repo = open(dir);
    const before = await repo.head();
    write(dir, 'a.txt', 'a2\n');
    write(dir, 'new/n.txt', 'n\n');
    fs.rmSync(path.join(dir, 'gone.txt'));
    write(dir, 'staged.txt', 's2\n');
    git(dir, 'add', 'staged.txt'); // someone else's staged change
    write(dir, 'modified.txt', 'm2\n'); // someone else's unstaged change

    const sha = await repo.commitFiles(
      ['a.txt', 'new/n.txt', 'gone.txt'],
      'kaizen: tune\n\nKaizen-Intervention: K0001',
    );
    expect(sha).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(dir, 'rev-parse', `${sha}^`)).toBe(before);
    expect(git(dir, 'show', '--name-status', '--format=', sha).split('\n').sort()).toEqual([
      'A\tnew/n.txt',
      'D\tgone.txt',
      'M\ta.txt',
    ]);
    expect(git(dir, 'log', '-1', '--format=%B')).toBe('kaizen: tune\n\nKaizen-Intervention: K0001');
    // The other changes are exactly as they were: still staged, still modified, uncommitted.
    expect(git(dir, 'diff', '--cached', '--name-only')).toBe('staged.txt');
    expect(git(dir, 'diff', '--name-only')).toBe('modified.txt');
    expect(read(dir, 'modified.txt')).toBe('m2\n');
    expect(git(dir, 'show', 'HEAD:staged.txt')).toBe('s');
  });

  it('takes names literally, not as globs', async () => {
    const dir = gitRepo({ 'a[1].txt': 'x\n', 'a1.txt': 'y\n' });
    write(dir, 'a[1].txt', 'x2\n');
    write(dir, 'a1.txt', 'y2\n');
    const sha = await open(dir).commitFiles(['a[1].txt'], 'literal');
    expect(git(dir, 'show', '--name-only', '--format=', sha)).toBe('a[1].txt');
    expect(git(dir, 'diff', '--name-only')).toBe('a1.txt');
  });

  it('commits with no git identity configured anywhere, without writing one', async () => {
    const dir = gitRepo();
    const home = tempDir('kaizen-home-');
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
    };
    const repo = createGit(dir, { env });
    write(dir, 'a.txt', 'a\n');
    const sha = await repo.commitFiles(['a.txt'], 'no identity');
    expect(git(dir, 'log', '-1', '--format=%an <%ae> / %cn <%ce>', sha)).toBe(
      'kaizen <kaizen@localhost> / kaizen <kaizen@localhost>',
    );
    expect(() => git(dir, 'config', '--get', 'user.name')).toThrow(); // nothing was written to the config
    expect(fs.readdirSync(home)).toEqual([]);
  });

  it('uses the configured identity when there is one', async () => {
    const dir = gitRepo();
    git(dir, 'config', 'user.name', 'Ops Person');
    git(dir, 'config', 'user.email', 'ops@example.invalid');
    const env = {
      PATH: process.env.PATH,
      HOME: tempDir(),
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
    };
    write(dir, 'a.txt', 'a\n');
    const sha = await createGit(dir, { env }).commitFiles(['a.txt'], 'configured');
    expect(git(dir, 'log', '-1', '--format=%an <%ae>', sha)).toBe('Ops Person <ops@example.invalid>');
  });

  it("runs the repository's hooks, with no prompts, and reports a hook's refusal", async () => {
    const dir = gitRepo();
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    fs.writeFileSync(
      hook,
      '#!/bin/sh\necho "prompt=$GIT_TERMINAL_PROMPT" > hook-ran.txt\necho "lint failed: trailing space" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    write(dir, 'a.txt', 'a \n');
    const before = git(dir, 'rev-parse', 'HEAD');
    const err = await gitError(open(dir).commitFiles(['a.txt'], 'x'));
    expect(err.message).toBe(
      'git commit --only --no-edit --message=… -- a.txt failed: lint failed: trailing space',
    );
    expect(read(dir, 'hook-ran.txt')).toBe('prompt=0\n');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(before);
  });

  it('refuses an ignored path, a path with no change, and an empty list', async () => {
    const dir = gitRepo({ '.gitignore': 'secret.env\n', 'a.txt': 'a\n' });
    const repo = open(dir);
    write(dir, 'secret.env', 'TOKEN=x\n');
    expect((await gitError(repo.commitFiles(['secret.env'], 'x'))).message).toMatch(
      /^git add -A -- secret\.env failed: .*ignored by one of your \.gitignore files/,
    );
    expect((await gitError(repo.commitFiles(['a.txt'], 'x'))).message).toMatch(/^git commit .* failed: /);
    expect((await gitError(repo.commitFiles([], 'x'))).message).toBe(
      'nothing to commit: no files were named',
    );
  });
});

describe('revert', () => {
  it('makes a commit whose tree is the tree before the change, with the given message', async () => {
    const dir = gitRepo({ 'a.txt': 'one\n', 'b.txt': 'b\n' });
    const repo = open(dir);
    const base = await repo.head();
    write(dir, 'a.txt', 'two\n');
    write(dir, 'c.txt', 'new\n');
    const change = await repo.commitFiles(['a.txt', 'c.txt'], 'change');
    write(dir, 'untracked.txt', 'keep me\n');

    const revert = await repo.revert(change, 'kaizen: revert "change"\n\nKaizen-Revert-Of: ' + change);
    expect(revert).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(dir, 'rev-parse', `${revert}^`)).toBe(change);
    expect(git(dir, 'rev-parse', `${revert}^{tree}`)).toBe(git(dir, 'rev-parse', `${base}^{tree}`));
    expect(git(dir, 'log', '-1', '--format=%B')).toBe(
      `kaizen: revert "change"\n\nKaizen-Revert-Of: ${change}`,
    );
    expect(read(dir, 'untracked.txt')).toBe('keep me\n');
    expect(await repo.status()).toEqual({ clean: false, dirty: ['untracked.txt'] });
  });

  it('aborts a conflicting revert cleanly, naming the files, leaving everything as before', async () => {
    const dir = gitRepo({ 'a.txt': 'x = 1\n', 'b.txt': 'b\n' });
    const repo = open(dir);
    write(dir, 'a.txt', 'x = 2\n');
    const change = await repo.commitFiles(['a.txt'], 'set x to 2');
    write(dir, 'a.txt', 'x = 3\n');
    const later = await repo.commitFiles(['a.txt'], 'someone sets x to 3');
    write(dir, 'untracked.txt', 'keep me\n');

    const err = await gitError(repo.revert(change, 'revert'));
    expect(err.message).toBe(
      `git revert of ${change.slice(0, 7)} conflicts in a.txt; the revert was aborted and the work tree is as it was. Later commits changed the same lines: a person must undo this change by hand`,
    );
    expect(await repo.head()).toBe(later);
    expect(read(dir, 'a.txt')).toBe('x = 3\n');
    expect(read(dir, 'untracked.txt')).toBe('keep me\n');
    expect(git(dir, 'status', '--porcelain')).toBe('?? untracked.txt');
    expect(fs.existsSync(path.join(dir, '.git', 'REVERT_HEAD'))).toBe(false);
  });

  it('refuses to start with uncommitted changes to tracked files, and leaves them alone', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const repo = open(dir);
    write(dir, 'a.txt', 'a2\n');
    const change = await repo.commitFiles(['a.txt'], 'change');
    write(dir, 'b.txt', 'b2\n');
    git(dir, 'add', 'b.txt');
    const err = await gitError(repo.revert(change, 'revert'));
    expect(err.message).toBe(
      `cannot revert ${change.slice(0, 7)}: uncommitted changes in b.txt; kaizen reverts only on a tree without them, and never stashes or discards them`,
    );
    expect(git(dir, 'diff', '--cached', '--name-only')).toBe('b.txt');
    expect(read(dir, 'b.txt')).toBe('b2\n');
    expect(await repo.head()).toBe(change);
  });

  it('says when the change is already undone', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n' });
    const repo = open(dir);
    write(dir, 'a.txt', 'a2\n');
    const change = await repo.commitFiles(['a.txt'], 'change');
    await repo.revert(change, 'first revert');
    const head = await repo.head();
    const err = await gitError(repo.revert(change, 'second revert'));
    expect(err.message).toBe(
      `git revert of ${change.slice(0, 7)} changes nothing: its change is already undone on this branch; the revert was aborted and the work tree is as it was`,
    );
    expect(await repo.head()).toBe(head);
    expect(await repo.status()).toEqual({ clean: true, dirty: [] });
  });

  it('refuses while another revert is in progress', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n' });
    const repo = open(dir);
    write(dir, 'a.txt', 'a2\n');
    const change = await repo.commitFiles(['a.txt'], 'change');
    write(dir, 'a.txt', 'a3\n');
    await repo.commitFiles(['a.txt'], 'later');
    // A person's revert that stopped on a conflict.
    expect(() => git(dir, 'revert', '--no-edit', change)).toThrow();
    expect(fs.existsSync(path.join(dir, '.git', 'REVERT_HEAD'))).toBe(true);
    expect((await gitError(repo.revert(change, 'x'))).message).toBe(
      `cannot revert ${change.slice(0, 7)}: a revert is in progress in ${dir}; a person must finish or abort it first`,
    );
    expect(fs.existsSync(path.join(dir, '.git', 'REVERT_HEAD'))).toBe(true); // theirs, left alone
  });
});

describe('push, remoteSha, verifyPushed', () => {
  it('pushes and reads the remote branch back', async () => {
    const dir = gitRepo();
    withRemote(dir);
    const repo = open(dir);
    expect(await repo.remoteSha('origin', 'main')).toBe(await repo.head());
    write(dir, 'a.txt', 'a\n');
    const sha = await repo.commitFiles(['a.txt'], 'change');
    expect(await repo.remoteSha('origin', 'main')).not.toBe(sha);
    await repo.push('origin', 'main');
    expect(await repo.remoteSha('origin', 'main')).toBe(sha);
    await verifyPushed(repo, 'origin', 'main', sha);
    expect(await repo.remoteSha('origin', 'feature')).toBeUndefined();
  });

  it('verifyPushed fails when the remote is not at the commit', async () => {
    const dir = gitRepo();
    withRemote(dir);
    const repo = open(dir);
    const remoteAt = await repo.head();
    write(dir, 'a.txt', 'a\n');
    const sha = await repo.commitFiles(['a.txt'], 'not pushed');
    const err = await gitError(verifyPushed(repo, 'origin', 'main', sha), 'PUSH_NOT_VERIFIED');
    expect(err.message).toBe(
      `push to origin/main did not take effect: the remote is at ${remoteAt.slice(0, 7)}, expected ${sha.slice(0, 7)}`,
    );
    const missing = await gitError(verifyPushed(repo, 'origin', 'release', sha), 'PUSH_NOT_VERIFIED');
    expect(missing.message).toBe(
      `push to origin/release did not take effect: the remote has no branch release, expected ${sha.slice(0, 7)}`,
    );
  });

  it('reports a rejected (non-fast-forward) push and never forces', async () => {
    const dir = gitRepo();
    const remote = withRemote(dir);
    const other = tempDir('kaizen-other-');
    execFileSync('git', ['clone', '-q', remote, other], { env: GIT_ENV });
    write(other, 'theirs.txt', 't\n');
    git(other, 'add', 'theirs.txt');
    git(other, 'commit', '-q', '-m', 'theirs');
    git(other, 'push', '-q', 'origin', 'main');
    const theirs = git(other, 'rev-parse', 'HEAD');

    const repo = open(dir);
    write(dir, 'a.txt', 'a\n');
    await repo.commitFiles(['a.txt'], 'ours');
    const err = await gitError(repo.push('origin', 'main'));
    expect(err.message).toMatch(
      /^git push origin main failed \(\[rejected\] \(fetch first\)\): .*failed to push some refs/,
    );
    expect(await repo.remoteSha('origin', 'main')).toBe(theirs);
  });

  it('wraps git failures with the command and what git said', async () => {
    const dir = gitRepo();
    const err = await gitError(open(dir).remoteSha('nowhere', 'main'));
    expect(err.message).toMatch(/^git ls-remote --heads nowhere refs\/heads\/main failed: fatal: .*nowhere/);
    expect((await gitError(open(dir).push('--force', 'main'))).message).toBe(
      '"--force" is not a valid remote name',
    );
  });
});

describe('findCommits, commitExists, isAncestor, showFile, log', () => {
  it('finds the commits carrying a trailer, newest first, exactly', async () => {
    const dir = gitRepo({ 'a.txt': '0\n' });
    const repo = open(dir);
    const start = await repo.head();
    const commit = async (n: string, message: string) => {
      write(dir, 'a.txt', `${n}\n`);
      return repo.commitFiles(['a.txt'], message);
    };
    const forward = await commit('1', 'kaizen: tune\n\nKaizen-Intervention: K0007');
    const other = await commit('2', 'kaizen: other\n\nKaizen-Intervention: K00071');
    const revert = await commit(
      '3',
      `kaizen: revert\n\nKaizen-Intervention: K0007\nKaizen-Revert-Of: ${forward}`,
    );

    expect(await repo.findCommits('Kaizen-Intervention: K0007\n')).toEqual([revert, forward]);
    expect(await repo.findCommits('Kaizen-Intervention: K00071\n')).toEqual([other]);
    expect(await repo.findCommits('Kaizen-Intervention: K0007')).toEqual([revert, other, forward]);
    expect(await repo.findCommits(`Kaizen-Revert-Of: ${forward}`)).toEqual([revert]);
    expect(await repo.findCommits('Kaizen-Intervention: K0007\n', start)).toEqual([revert, forward]);
    expect(await repo.findCommits('Kaizen-Intervention: K0007\n', forward)).toEqual([revert]);
    expect(await repo.findCommits('Kaizen-Intervention: K9999')).toEqual([]);
    // Fixed string, not a pattern.
    expect(await repo.findCommits('K000.')).toEqual([]);
  });

  it('answers existence, ancestry, file contents and the log', async () => {
    const dir = gitRepo({ 'a.txt': 'one\n' });
    const repo = open(dir);
    const first = await repo.head();
    write(dir, 'a.txt', 'two\n');
    write(dir, 'dir/b.txt', 'b\n');
    const second = await repo.commitFiles(['a.txt', 'dir/b.txt'], 'second\n\nbody line 1\nbody line 2');

    expect(await repo.commitExists(second)).toBe(true);
    expect(await repo.commitExists(second.slice(0, 10))).toBe(true);
    expect(await repo.commitExists('0'.repeat(40))).toBe(false);
    expect(await repo.commitExists('--all')).toBe(false);
    expect(await repo.commitExists(git(dir, 'rev-parse', `${second}^{tree}`))).toBe(false); // a tree, not a commit

    expect(await repo.isAncestor(first, second)).toBe(true);
    expect(await repo.isAncestor(second, first)).toBe(false);
    expect(await repo.isAncestor(second, second)).toBe(true);

    expect(await repo.showFile(first, 'a.txt')).toBe('one\n');
    expect(await repo.showFile(second, './dir/b.txt')).toBe('b\n');
    expect(await repo.showFile(first, 'dir/b.txt')).toBeUndefined();
    expect(await repo.showFile(second, 'dir')).toBeUndefined(); // a folder is not a file
    expect((await gitError(repo.showFile('0'.repeat(40), 'a.txt'))).message).toBe(
      `commit ${'0'.repeat(40)} does not exist in ${dir}`,
    );

    expect(await repo.log(5)).toEqual([
      { sha: second, subject: 'second', body: 'body line 1\nbody line 2' },
      { sha: first, subject: 'initial', body: '' },
    ]);
    expect(await repo.log(1)).toHaveLength(1);
  });
});

describe('createGit', () => {
  it('works on its own directory whatever GIT_DIR, EDITOR or PAGER say', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n' });
    const elsewhere = gitRepo({ 'other.txt': 'o\n' });
    const env = {
      ...GIT_ENV,
      GIT_DIR: path.join(elsewhere, '.git'),
      GIT_WORK_TREE: elsewhere,
      EDITOR: 'vim',
      PAGER: 'less',
    };
    const repo = createGit(dir, { env });
    expect(await repo.head()).toBe(git(dir, 'rev-parse', 'HEAD'));
    write(dir, 'a.txt', 'a2\n');
    const sha = await repo.commitFiles(['a.txt'], 'here');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(sha);
    expect(git(elsewhere, 'log', '--format=%s')).toBe('initial');
  });

  it('refuses a directory that does not exist', () => {
    expect(() => createGit('/nonexistent/kaizen/repo')).toThrow(
      'the target repository /nonexistent/kaizen/repo does not exist',
    );
  });
});

describe('running git', () => {
  it('fails on a non-zero exit even when git says nothing', async () => {
    const dir = gitRepo();
    fs.writeFileSync(path.join(dir, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    write(dir, 'a.txt', 'a\n');
    const before = git(dir, 'rev-parse', 'HEAD');
    expect((await gitError(open(dir).commitFiles(['a.txt'], 'x'))).message).toBe(
      'git commit --only --no-edit --message=… -- a.txt failed: exit code 1',
    );
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(before);
  });

  it('stops a command that produces no output for idleTimeoutMs, naming it', async () => {
    const dir = gitRepo();
    // The hook's sleep keeps git's stderr open after git is stopped: kaizen stops waiting anyway
    // (waiting for it would fail this test on its timeout).
    fs.writeFileSync(path.join(dir, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nsleep 120\n', {
      mode: 0o755,
    });
    write(dir, 'a.txt', 'a\n');
    const before = git(dir, 'rev-parse', 'HEAD');
    const err = await gitError(
      createGit(dir, { env: GIT_ENV, idleTimeoutMs: 300 }).commitFiles(['a.txt'], 'x'),
    );
    expect(err.message).toBe(
      'git commit --only --no-edit --message=… -- a.txt failed: no output for 300 ms: stopped',
    );
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(before);
  });

  it('says when git cannot be run, and when the repository has gone', async () => {
    const dir = gitRepo();
    const noGit = createGit(dir, { env: { PATH: tempDir('kaizen-empty-path-') } });
    expect((await gitError(noGit.head())).message).toMatch(
      /^git rev-parse --verify --quiet HEAD\^\{commit\} failed: could not run git: spawn git ENOENT/,
    );
    const repo = open(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    expect((await gitError(repo.status())).message).toMatch(
      new RegExp(`failed: the repository directory ${dir} no longer exists$`),
    );
  });

  it('runs one git command at a time per handle, so concurrent calls do not trip over each other', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const repo = open(dir);
    write(dir, 'a.txt', 'a2\n');
    write(dir, 'b.txt', 'b2\n');
    const head = git(dir, 'rev-parse', 'HEAD');
    // Commands queue one by one (not whole calls): the answers are from before or after the commit.
    const [a, h, s, b, log] = await Promise.all([
      repo.commitFiles(['a.txt'], 'a'),
      repo.head(),
      repo.status(),
      repo.branch(),
      repo.log(1),
    ]);
    expect(a).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(dir, 'rev-parse', `${a}^`)).toBe(head);
    expect([head, a]).toContain(h);
    expect(s.dirty).toContain('b.txt');
    expect(b).toBe('main');
    expect([head, a]).toContain(log[0]?.sha);
    expect(git(dir, 'status', '--porcelain')).toBe('M b.txt');
  });

  it('reads paths with spaces, renames and conflicts from git status', async () => {
    const dir = gitRepo({ 'my file.txt': 'x\n', 'c.txt': 'base\n' });
    git(dir, 'mv', 'my file.txt', 'new name.txt');
    write(dir, 'un tracked.txt', 'u\n');
    expect((await open(dir).status()).dirty.sort()).toEqual([
      'my file.txt',
      'new name.txt',
      'un tracked.txt',
    ]);

    const other = gitRepo({ 'c.txt': 'base\n' });
    git(other, 'checkout', '-q', '-b', 'side');
    write(other, 'c.txt', 'side\n');
    git(other, 'commit', '-q', '-am', 'side');
    git(other, 'checkout', '-q', 'main');
    write(other, 'c.txt', 'main\n');
    git(other, 'commit', '-q', '-am', 'main');
    expect(() => git(other, 'merge', '-q', 'side')).toThrow();
    expect(await open(other).status()).toEqual({ clean: false, dirty: ['c.txt'] });
  });
});

describe('revert, more', () => {
  const changeAndLater = async (repo: GitRepo, dir: string) => {
    write(dir, 'a.txt', 'a2\n');
    const change = await repo.commitFiles(['a.txt'], 'change');
    write(dir, 'a.txt', 'a3\n');
    await repo.commitFiles(['a.txt'], 'later');
    return change;
  };

  it('refuses while a merge is in progress, and leaves it alone', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n' });
    const repo = open(dir);
    const change = await changeAndLater(repo, dir);
    git(dir, 'checkout', '-q', '-b', 'side', change);
    write(dir, 'a.txt', 'side\n');
    git(dir, 'commit', '-q', '-am', 'side');
    git(dir, 'checkout', '-q', 'main');
    expect(() => git(dir, 'merge', '-q', 'side')).toThrow();
    // The conflict is resolved and staged, but the merge is not committed yet.
    write(dir, 'a.txt', 'resolved\n');
    git(dir, 'add', 'a.txt');
    expect((await gitError(repo.revert(change, 'x'))).message).toBe(
      `cannot revert ${change.slice(0, 7)}: a merge is in progress in ${dir}; a person must finish or abort it first`,
    );
    expect(fs.existsSync(path.join(dir, '.git', 'MERGE_HEAD'))).toBe(true);
    expect(read(dir, 'a.txt')).toBe('resolved\n');
  });

  it('works in a linked worktree, and sees the operations in progress there', async () => {
    const main = gitRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const dir = path.join(tempDir('kaizen-wt-'), 'wt');
    git(main, 'worktree', 'add', '-q', '-b', 'feature', dir);
    const repo = open(dir);
    write(dir, 'b.txt', 'b2\n');
    const change = await repo.commitFiles(['b.txt'], 'change b');
    expect(change).toBe(git(dir, 'rev-parse', 'HEAD'));
    const revert = await repo.revert(change, 'revert b');
    expect(revert).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(revert).toBe(git(main, 'rev-parse', 'refs/heads/feature'));
    expect(read(dir, 'b.txt')).toBe('b\n');

    // A person's cherry-pick stopped on a conflict in the worktree.
    const change2 = await changeAndLater(repo, dir);
    git(main, 'checkout', '-q', '-b', 'pick');
    write(main, 'a.txt', 'conflicting\n');
    git(main, 'commit', '-q', '-am', 'conflicting');
    const pick = git(main, 'rev-parse', 'HEAD');
    expect(() => git(dir, 'cherry-pick', pick)).toThrow();
    expect((await gitError(repo.revert(change2, 'x'))).message).toBe(
      `cannot revert ${change2.slice(0, 7)}: a cherry-pick is in progress in ${dir}; a person must finish or abort it first`,
    );
    expect(git(main, 'status', '--porcelain')).toBe(''); // the main worktree is not affected
  });

  it('returns the right SHA on a detached HEAD and with packed refs', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n' });
    const repo = open(dir);
    write(dir, 'a.txt', 'a2\n');
    const change = await repo.commitFiles(['a.txt'], 'change');
    git(dir, 'pack-refs', '--all', '--prune');
    const revert = await repo.revert(change, 'revert');
    expect(revert).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(revert).toMatch(/^[0-9a-f]{40}$/);

    git(dir, 'checkout', '-q', '--detach');
    write(dir, 'a.txt', 'a3\n');
    git(dir, 'commit', '-q', '-am', 'detached change');
    const detached = git(dir, 'rev-parse', 'HEAD');
    const revert2 = await repo.revert(detached, 'revert detached');
    expect(revert2).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(dir, 'rev-parse', `${revert2}^`)).toBe(detached);
  });

  it("reports a hook's refusal of the revert commit and aborts it", async () => {
    const dir = gitRepo({ 'a.txt': 'a\n' });
    const repo = open(dir);
    write(dir, 'a.txt', 'a2\n');
    const change = await repo.commitFiles(['a.txt'], 'change');
    fs.writeFileSync(
      path.join(dir, '.git', 'hooks', 'commit-msg'),
      '#!/bin/sh\necho "commit-msg: missing ticket" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    write(dir, 'untracked.txt', 'keep me\n');
    const err = await gitError(repo.revert(change, 'revert'));
    expect(err.message).toBe(
      `committing the revert of ${change.slice(0, 7)} failed: commit-msg: missing ticket; the revert was aborted and the work tree is as it was`,
    );
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(change);
    expect(read(dir, 'a.txt')).toBe('a2\n');
    expect(git(dir, 'status', '--porcelain')).toBe('?? untracked.txt');
    expect(fs.existsSync(path.join(dir, '.git', 'REVERT_HEAD'))).toBe(false);
  });

  it('fills in only the part of the identity the repository lacks', async () => {
    const dir = gitRepo({ 'a.txt': 'a\n' });
    git(dir, 'config', 'user.name', 'Ops Person');
    const env = {
      PATH: process.env.PATH,
      HOME: tempDir(),
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
    };
    const repo = createGit(dir, { env });
    write(dir, 'a.txt', 'a2\n');
    const change = await repo.commitFiles(['a.txt'], 'change');
    expect(git(dir, 'log', '-1', '--format=%an <%ae>', change)).toBe('Ops Person <kaizen@localhost>');
    const revert = await repo.revert(change, 'revert');
    expect(git(dir, 'log', '-1', '--format=%an <%ae> / %cn <%ce>', revert)).toBe(
      'Ops Person <kaizen@localhost> / Ops Person <kaizen@localhost>',
    );
    expect(git(dir, 'config', '--get', 'user.name')).toBe('Ops Person');
    expect(() => git(dir, 'config', '--get', 'user.email')).toThrow(); // nothing was written

    // An empty value counts as none.
    const other = gitRepo();
    git(other, 'config', 'user.name', '');
    git(other, 'config', 'user.email', 'ops@example.invalid');
    write(other, 'b.txt', 'b\n');
    const sha = await createGit(other, { env }).commitFiles(['b.txt'], 'x');
    expect(git(other, 'log', '-1', '--format=%an <%ae>', sha)).toBe('kaizen <ops@example.invalid>');
  });
});
