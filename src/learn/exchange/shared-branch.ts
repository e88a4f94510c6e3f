import fs from 'node:fs';
import path from 'node:path';
import { createGit, verifyPushed } from '../../apply/git.js';
import type { Clock } from '../../clock.js';
import { KaizenError } from '../../errors.js';
import { childEnv } from '../../util/env.js';
import { runProcess } from '../../util/process.js';
import { MAX_ENVELOPE_BYTES } from './envelope.js';
import { FINGERPRINT } from './keys.js';

/*
 * The shared branch, seen through a private clone under <dataDir>/exchange/: kaizen never touches
 * a target repository's work tree for the exchange. The clone is a cache that kaizen alone writes:
 * each sync puts it back to exactly what the shared repository has (fetch, check out, clean), adds
 * this system's envelopes, commits and pushes. So there is never a merge: every system writes only
 * its own folder, and a push that lost a race is redone on top of the newer branch.
 *
 * Commands the git adapter (src/apply/git.ts) has are run through it (status, commit, push, the
 * push verification); the ones only a cache needs (init, fetch, a forced checkout, clean) run here
 * through runProcess with the same hardening: no prompts, no editor, a timeout. The clone's own
 * config switches off hooks, signing and symbolic links (a link in a peer's folder is checked out
 * as a plain file, so reading it can never leave the clone).
 */

export const REMOTE = 'origin';
/** Files the branch holds besides the key folders. */
export const BRANCH_README = 'README.md';
/** An envelope's file name: a lesson id (which cannot hold a `/` or `..`) and `.json`. */
export const ENVELOPE_FILE = /^([A-Za-z][A-Za-z0-9_-]{0,63})\.json$/;

const README_TEXT = `# kaizen lessons

Signed lessons shared between kaizen systems by \`kaizen lessons sync\`: one folder per signing key
(named by its fingerprint), one JSON envelope per lesson. Each system writes only its own folder.

Do not edit the envelopes by hand: a lesson changed after signing no longer verifies, and every
peer refuses it.
`;

export interface SharedBranchOptions {
  /** The private clone (created when missing). */
  dir: string;
  /** URL or absolute path of the shared repository. */
  repo: string;
  branch: string;
  timeoutMs: number;
  clock: Clock;
}

export interface Published {
  /** Repo-relative paths this sync added or changed. */
  files: string[];
  /** The commit pushed, when there was anything to push. */
  commit?: string;
  /** Push attempts (2 when the first lost a race with another system's push). */
  attempts: number;
}

/**
 * Bring the clone up to date with the shared branch, add the envelopes of `outboxFolders`
 * (`<outbox>/<fingerprint>`), and push them. A rejected push (another system pushed first) is
 * retried once on top of the newer branch; a second failure is SYNC_FAILED (retryable).
 */
export async function publishOutbox(
  opts: SharedBranchOptions,
  outboxFolders: readonly string[],
): Promise<Published> {
  for (let attempt = 1; ; attempt++) {
    const exists = await refresh(opts);
    const files = copyOutbox(opts.dir, outboxFolders);
    if (!exists && fs.readdirSync(opts.dir).some((n) => n !== '.git')) {
      fs.writeFileSync(path.join(opts.dir, BRANCH_README), README_TEXT);
    }
    const repo = createGit(opts.dir);
    const dirty = (await repo.status()).dirty;
    if (dirty.length === 0) return { files: [], attempts: attempt };
    const folders = [...new Set(dirty.map((f) => f.split('/')[0]!))].filter((f) => FINGERPRINT.test(f));
    // Not repo.commitFiles: on a branch the shared repository does not have yet there is no HEAD
    // to start from, which the adapter (made for target repositories) rightly refuses.
    await git(opts, ['add', '-A', '--', ...dirty], 'stage the outbox');
    const message = `kaizen: ${files.length} signed lesson${files.length === 1 ? '' : 's'} from ${folders.join(', ')}\n\n${files.join('\n')}`;
    await git(opts, ['commit', '--quiet', '--no-verify', `--message=${message}`], 'commit the outbox');
    const commit = (await git(opts, ['rev-parse', '--verify', 'HEAD^{commit}'], 'commit the outbox')).trim();
    try {
      await repo.push(REMOTE, opts.branch);
      await verifyPushed(repo, REMOTE, opts.branch, commit);
      return { files, commit, attempts: attempt };
    } catch (err) {
      if (attempt >= 2) {
        throw new KaizenError(
          'SYNC_FAILED',
          `pushing the outbox to ${opts.repo} (${opts.branch}) failed twice: ${(err as Error).message}; nothing was imported, run "kaizen lessons sync" again`,
          { cause: err, retryable: true },
        );
      }
    }
  }
}

/**
 * Put the clone at the shared branch as the shared repository has it now, without anything left
 * over from an earlier sync. Returns whether the branch exists there (when not, the clone is an
 * empty branch of that name, which the first push creates).
 */
export async function refresh(opts: SharedBranchOptions): Promise<boolean> {
  await ensureClone(opts);
  const { branch } = opts;
  const listed = await git(opts, ['ls-remote', '--heads', REMOTE, `refs/heads/${branch}`], 'reach');
  const exists = listed.split('\n').some((l) => l.split('\t')[1]?.trim() === `refs/heads/${branch}`);
  if (exists) {
    await git(
      opts,
      ['fetch', '--quiet', '--no-tags', REMOTE, `+refs/heads/${branch}:refs/remotes/${REMOTE}/${branch}`],
      'fetch',
    );
    await git(
      opts,
      ['checkout', '--quiet', '--force', '-B', branch, `refs/remotes/${REMOTE}/${branch}`],
      'check out',
    );
  } else {
    await git(opts, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`], 'prepare');
    await git(opts, ['update-ref', '-d', `refs/heads/${branch}`], 'prepare');
    await git(opts, ['read-tree', '--empty'], 'prepare');
  }
  await git(opts, ['clean', '--quiet', '-f', '-f', '-d', '-x'], 'clean');
  return exists;
}

async function ensureClone(opts: SharedBranchOptions): Promise<void> {
  if (opts.repo.startsWith('-')) {
    throw new KaizenError(
      'SYNC_FAILED',
      `exchange.repo ${JSON.stringify(opts.repo)} is not a git URL or path`,
    );
  }
  const healthy =
    fs.existsSync(path.join(opts.dir, '.git', 'HEAD')) &&
    (await git(opts, ['rev-parse', '--git-dir'], 'open').then(
      () => true,
      () => false,
    ));
  if (!healthy) {
    // Only ever this cache folder, which kaizen made: a broken one is made again.
    fs.rmSync(opts.dir, { recursive: true, force: true });
    fs.mkdirSync(opts.dir, { recursive: true });
    await git(opts, ['init', '--quiet'], 'create the exchange clone');
    for (const [key, value] of [
      ['user.name', 'kaizen'],
      ['user.email', 'kaizen@localhost'],
      ['commit.gpgsign', 'false'],
      ['tag.gpgsign', 'false'],
      ['core.symlinks', 'false'],
      ['core.autocrlf', 'false'],
      ['core.hooksPath', '/dev/null'],
      ['gc.auto', '0'],
    ] as const) {
      await git(opts, ['config', key, value], 'configure the exchange clone');
    }
  }
  await git(opts, ['config', `remote.${REMOTE}.url`, opts.repo], 'configure the exchange clone');
}

/** Copy `<outbox>/<fingerprint>/<id>.json` into the clone where it differs; returns the paths copied. */
function copyOutbox(dir: string, outboxFolders: readonly string[]): string[] {
  const copied: string[] = [];
  for (const folder of outboxFolders) {
    const fingerprint = path.basename(folder);
    if (!FINGERPRINT.test(fingerprint) || !fs.existsSync(folder)) continue;
    for (const name of fs.readdirSync(folder).sort()) {
      if (!ENVELOPE_FILE.test(name)) continue;
      const from = path.join(folder, name);
      const st = fs.lstatSync(from);
      if (!st.isFile() || st.size > MAX_ENVELOPE_BYTES) continue;
      const text = fs.readFileSync(from);
      const to = path.join(dir, fingerprint, name);
      if (fs.existsSync(to) && fs.readFileSync(to).equals(text)) continue;
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.rmSync(to, { force: true }); // whatever was there (a plain file, in this clone)
      fs.writeFileSync(to, text);
      copied.push(`${fingerprint}/${name}`);
    }
  }
  return copied;
}

/** Run git in the clone; a failure or a timeout is SYNC_FAILED saying what could not be done. */
async function git(opts: SharedBranchOptions, args: string[], what: string): Promise<string> {
  const env = childEnv({
    GIT_TERMINAL_PROMPT: '0',
    GIT_EDITOR: ':',
    GIT_PAGER: 'cat',
    GIT_LITERAL_PATHSPECS: '1',
  });
  for (const name of [
    'GIT_DIR',
    'GIT_WORK_TREE',
    'GIT_INDEX_FILE',
    'GIT_OBJECT_DIRECTORY',
    'GIT_COMMON_DIR',
  ]) {
    delete env[name];
  }
  const r = await runProcess(['git', ...args], {
    cwd: opts.dir,
    env,
    timeoutMs: opts.timeoutMs,
    clock: opts.clock,
    maxOutputBytes: 1024 * 1024,
    killGroupOnExit: true,
  });
  if (r.exitCode === 0 && !r.timedOut) return r.stdout;
  const said = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('hint:'))
    .slice(-3)
    .join(' / ');
  const why = r.timedOut
    ? `no answer within ${Math.round(opts.timeoutMs / 1000)} s (exchange.timeout)`
    : said || `exit code ${r.exitCode}`;
  const hint = what === 'reach' ? `; check exchange.repo and that this machine can reach it` : '';
  throw new KaizenError(
    'SYNC_FAILED',
    `could not ${what === 'reach' ? `reach the shared repository ${opts.repo}` : `${what} (git ${args[0]})`}: ${why}${hint}`,
    { retryable: true },
  );
}
