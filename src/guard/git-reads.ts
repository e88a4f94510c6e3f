import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { gitEnv, SAFE_GIT_CONFIG } from '../apply/git.js';
import { KaizenError } from '../errors.js';

/*
 * Files in the work tree that git itself reads as configuration, or runs because its
 * configuration names them. A change to one of them is a change to what git does on kaizen's host
 * (and on every person's): `core.fsmonitor` in an included file runs a command on the next
 * `git status`, `core.hooksPath` re-points the hooks, an alias or `core.sshCommand` naming a
 * script in the repo runs that script. So the path check refuses them, whatever their name.
 *
 * They are found by asking git, not by guessing from names: every config file git loads (with its
 * includes, `git config --list --show-origin`), every include and includeIf target whether or not
 * its condition holds today (a change could create the file, or make the condition true), and
 * every config value that names a file in the work tree. `.gitmodules` and `.lfsconfig` are read
 * by git and git-lfs whatever the config says.
 */

export interface GitRead {
  /** Repo-relative POSIX path of a file, or of a folder (`dir: true`) everything under which counts. */
  rel: string;
  dir: boolean;
  /** Why git reads or runs it, for the rejection a person reads. */
  why: string;
}

/** Read by git (or git-lfs) from the work tree whatever the config says. */
const ALWAYS_READ: GitRead[] = [
  {
    rel: '.gitmodules',
    dir: false,
    why: 'git reads .gitmodules as configuration (a submodule’s update setting can run a command)',
  },
  { rel: '.lfsconfig', dir: false, why: 'git-lfs reads .lfsconfig as configuration' },
];

/** Keys whose value is a folder (everything inside it counts). */
const FOLDER_KEYS = new Set(['core.hookspath']);
/** Keys whose value is always a path (relative to the work tree), even without a slash in it. */
const PATH_KEYS = new Set([
  'core.hookspath',
  'core.attributesfile',
  'core.excludesfile',
  'commit.template',
  'core.fsmonitor',
]);

/** What git reads from, or runs in, the work tree of `repo`, by asking git. */
export function gitReads(repo: string): GitRead[] {
  const root = path.resolve(repo);
  let out: string;
  try {
    out = execFileSync(
      'git',
      [...SAFE_GIT_CONFIG, 'config', '--list', '--show-origin', '--show-scope', '--includes', '-z'],
      { cwd: root, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000, maxBuffer: 16 << 20 },
    ).toString('utf8');
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new KaizenError(
      'GIT_FAILED',
      `could not read the git configuration of ${root}: ${stderr || (err as Error).message}`,
      { cause: err },
    );
  }
  const found = new Map<string, GitRead>(ALWAYS_READ.map((r) => [r.rel, r]));
  const add = (abs: string, dir: boolean, why: string) => {
    const rel = inWorkTree(root, abs);
    if (rel !== undefined && !found.has(rel)) found.set(rel, { rel, dir, why });
  };

  for (const entry of parseConfigList(out)) {
    const origin = path.resolve(root, entry.origin);
    add(origin, false, `git reads it as configuration (${entry.scope} config)`);
    const key = entry.key.toLowerCase();
    const value = entry.value;
    if (value === undefined || value === '') continue;
    if (key === 'include.path' || (key.startsWith('includeif.') && key.endsWith('.path'))) {
      // Relative to the file that includes it; "~/" is the home folder.
      const target = value.startsWith('~/')
        ? path.join(os.homedir(), value.slice(2))
        : path.resolve(path.dirname(origin), value);
      add(target, false, `git reads it as configuration (${entry.key} in ${shown(root, origin)})`);
      continue;
    }
    // A value that names a file or folder in the work tree: a command git runs, a file it reads.
    const named = firstWord(value);
    if (named === undefined || /^[a-z][a-z0-9+.-]*:/i.test(named)) continue; // none, or a URL
    // A bare word is a program found on PATH, unless the key only ever holds a path.
    if (!PATH_KEYS.has(key) && !/[/\\]/.test(named)) continue;
    const dir = FOLDER_KEYS.has(key);
    add(
      path.resolve(root, named.startsWith('~/') ? path.join(os.homedir(), named.slice(2)) : named),
      dir,
      `git’s ${entry.key} (in ${shown(root, origin)}) names it: git runs or reads it`,
    );
  }
  return [...found.values()];
}

/** The entry of `reads` that covers the repo-relative path `rel`, if any. */
export function gitReadOf(reads: readonly GitRead[], rel: string): GitRead | undefined {
  const lower = rel.toLowerCase();
  return reads.find((r) => {
    const p = r.rel.toLowerCase();
    return lower === p || (r.dir && lower.startsWith(`${p}/`));
  });
}

interface ConfigEntry {
  scope: string;
  origin: string;
  key: string;
  value: string | undefined;
}

/** `git config --list --show-origin --show-scope -z`: scope NUL origin NUL key [LF value] NUL. */
function parseConfigList(out: string): ConfigEntry[] {
  const fields = out.split('\0');
  const entries: ConfigEntry[] = [];
  for (let i = 0; i + 2 < fields.length; i += 3) {
    const scope = fields[i]!;
    const origin = fields[i + 1]!;
    const kv = fields[i + 2]!;
    if (!origin.startsWith('file:')) continue; // command line, blob: not a file in the work tree
    const nl = kv.indexOf('\n');
    entries.push({
      scope,
      origin: origin.slice('file:'.length),
      key: nl === -1 ? kv : kv.slice(0, nl),
      value: nl === -1 ? undefined : kv.slice(nl + 1),
    });
  }
  return entries;
}

/** The program or file a value names: its first word, without a leading `!` (aliases) or quotes. */
function firstWord(value: string): string | undefined {
  const m = /^\s*!?\s*(?:"([^"]+)"|'([^']+)'|(\S+))/.exec(value);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/** `abs` as a repo-relative POSIX path when it lies in the work tree (not in .git), else undefined. */
function inWorkTree(root: string, abs: string): string | undefined {
  const rel = path.relative(root, path.resolve(abs));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const posix = rel.split(path.sep).join('/');
  if (posix === '.git' || posix.startsWith('.git/')) return undefined; // .git is refused anyway
  return posix;
}

/** A config file as a person would name it: repo-relative when inside the repo, else absolute. */
function shown(root: string, abs: string): string {
  const rel = path.relative(root, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
}
