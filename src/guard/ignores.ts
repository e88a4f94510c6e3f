import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gitEnv, SAFE_GIT_CONFIG } from '../apply/git.js';
import type { FileEdit } from '../apply/changes.js';
import { KaizenError } from '../errors.js';
import { realish } from '../util/paths.js';

/*
 * What git ignores, asked of git. Two questions of the guard and one of doctor:
 * - a path a change would write that git ignores cannot be committed (`git add` refuses it), so the
 *   apply would fail after writing: refused up front, naming the ignore rule;
 * - a change to a .gitignore must not un-ignore kaizen's own data folder or config when they sit in
 *   the repo: they would show as uncommitted changes, and every later apply would stop as drift;
 * - doctor checks that they are ignored today.
 */

/** check-ignore refuses literal pathspecs; the paths it is given are plain paths anyway. */
const ENV = { GIT_LITERAL_PATHSPECS: '0' };

function git(
  repo: string,
  args: string[],
  input?: string,
): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('git', [...SAFE_GIT_CONFIG, ...args], {
      cwd: repo,
      env: { ...gitEnv(), ...ENV },
      input: input ?? '',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 10_000,
    }).toString('utf8');
    return { status: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status?: number | null; stdout?: Buffer; stderr?: Buffer };
    if (typeof e.status === 'number')
      return { status: e.status, stdout: e.stdout?.toString() ?? '', stderr: e.stderr?.toString() ?? '' };
    throw new KaizenError('GIT_FAILED', `git ${args[0]} in ${repo} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Of `rels` (repo-relative), the ones git ignores, each with the rule that ignores it (`.gitignore:2: build/`). */
export function ignoredBy(repo: string, rels: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  if (rels.length === 0) return found;
  // Without --no-index: a tracked file matching a pattern is not ignored (git commits it anyway).
  const r = git(repo, ['check-ignore', '-v', '-z', '--stdin'], rels.map((r) => `${r}\0`).join(''));
  if (r.status === 1) return found;
  if (r.status !== 0) throw new KaizenError('GIT_FAILED', `git check-ignore failed: ${r.stderr.trim()}`);
  const f = r.stdout.split('\0');
  for (let i = 0; i + 3 < f.length; i += 4) {
    const [source, line, pattern, file] = [f[i]!, f[i + 1]!, f[i + 2]!, f[i + 3]!];
    if (pattern.startsWith('!')) continue; // a negated pattern matched: not ignored
    found.set(file, `${source}:${line}: ${pattern}`);
  }
  return found;
}

/** Whether git tracks `rel` (a file, or anything under a folder). */
export function isTracked(repo: string, rel: string): boolean {
  return git(repo, ['ls-files', '-z', '--', `:(literal)${rel}`]).stdout !== '';
}

/**
 * Which of kaizen's own paths (repo-relative; a folder ends with "/") the planned edits would make
 * visible to git: ignored with the work tree as it is, not ignored with the edits applied. Asked
 * of git in a scratch repository holding only the ignore files on the way to each path.
 */
export function exposedBy(repo: string, edits: readonly FileEdit[], own: readonly string[]): string[] {
  const ignoreEdits = edits.filter((e) => path.posix.basename(e.rel) === '.gitignore');
  if (ignoreEdits.length === 0 || own.length === 0) return [];
  const exclude = git(repo, ['rev-parse', '--git-path', 'info/exclude']).stdout.trim();
  const excludeText = readOr(path.resolve(repo, exclude), '');
  const planned = new Map(ignoreEdits.map((e) => [e.rel, e.after]));
  const ignored = (withEdits: boolean): Set<string> => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kaizen-ignore-'));
    try {
      git(scratch, ['init', '-q', '--template=']);
      fs.mkdirSync(path.join(scratch, '.git', 'info'), { recursive: true });
      fs.writeFileSync(path.join(scratch, '.git', 'info', 'exclude'), excludeText);
      const probes: string[] = [];
      for (const p of own) {
        const folder = p.endsWith('/');
        const rel = folder ? p.slice(0, -1) : p;
        // Every .gitignore from the root down to the path, as it is or as the edits would leave it.
        const parts = rel.split('/');
        for (let i = 0; i < parts.length; i++) {
          const ignoreRel = [...parts.slice(0, i), '.gitignore'].join('/');
          const text =
            withEdits && planned.has(ignoreRel)
              ? planned.get(ignoreRel)!
              : readOr(path.join(repo, ignoreRel), undefined);
          if (text !== undefined) {
            fs.mkdirSync(path.dirname(path.join(scratch, ignoreRel)), { recursive: true });
            fs.writeFileSync(path.join(scratch, ignoreRel), text);
          }
        }
        // A folder is probed through a file in it, so "data/" patterns (folders only) match.
        const probe = folder ? `${rel}/kaizen.probe` : rel;
        fs.mkdirSync(path.dirname(path.join(scratch, probe)), { recursive: true });
        if (!fs.existsSync(path.join(scratch, probe))) fs.writeFileSync(path.join(scratch, probe), '');
        probes.push(probe);
      }
      const r = git(scratch, ['check-ignore', '-z', '--stdin'], probes.map((p) => `${p}\0`).join(''));
      const hits = new Set(r.status === 0 ? r.stdout.split('\0').filter(Boolean) : []);
      return new Set(own.filter((_, i) => hits.has(probes[i]!)));
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  };
  const before = ignored(false);
  const after = ignored(true);
  return own.filter((p) => before.has(p) && !after.has(p));
}

function readOr<T extends string | undefined>(file: string, fallback: T): string | T {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** kaizen's own paths inside the repo, repo-relative (folders end with "/"): its data folder and config. */
export function ownPathsInRepo(repo: string, own: { dataDir: string; configPath: string }): string[] {
  const root = fs.realpathSync(repo);
  const out: string[] = [];
  for (const [p, folder] of [
    [own.dataDir, true],
    [own.configPath, false],
  ] as const) {
    const rel = path.relative(root, realish(p));
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) continue;
    out.push(rel.split(path.sep).join('/') + (folder ? '/' : ''));
  }
  return out;
}
