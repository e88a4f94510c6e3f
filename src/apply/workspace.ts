import fs from 'node:fs';
import path from 'node:path';
import { KaizenError } from '../errors.js';

/*
 * Containment: every path a proposal names goes through resolveInRepo before kaizen reads or
 * writes it. A path is refused unless it names a file strictly inside the target repository,
 * outside `.git`, reached without following any symbolic link. The rules are deliberately
 * stricter than "ends up inside the repo": a link that points inside today can be repointed
 * tomorrow, and git itself will not commit a path beyond a symbolic link.
 */

export class PathEscapeError extends KaizenError {
  readonly path: string;

  constructor(relPath: string, reason: string) {
    super('PATH_ESCAPE', `path ${JSON.stringify(relPath)} is refused: ${reason}`);
    this.path = relPath;
  }
}

/**
 * `relPath` (as a proposal wrote it) resolved against the repository. `rel` is the normalised,
 * POSIX, repo-relative form (`src/app.py`), `abs` the absolute path to read and write.
 * Throws PathEscapeError with a reason a person can act on.
 */
export function resolveInRepo(repoRoot: string, relPath: string): { abs: string; rel: string } {
  const segments = lexicalSegments(relPath);
  const rel = segments.join('/');

  const root = path.resolve(repoRoot);
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch (err) {
    throw new KaizenError('PATH_ESCAPE', `the target repository ${root} cannot be opened: ${errText(err)}`, {
      cause: err,
    });
  }

  // Walk the path one segment at a time with lstat, so a symbolic link anywhere on the way is seen
  // (and named) rather than silently followed.
  let current = root;
  let deepestExisting = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    current = path.join(current, segment);
    const shown = segments.slice(0, i + 1).join('/');
    const isTarget = i === segments.length - 1;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(current);
    } catch (err) {
      if (errCode(err) === 'ENOENT') break; // the rest does not exist yet: nothing further to follow
      if (errCode(err) === 'ENOTDIR') {
        throw new PathEscapeError(relPath, `${segments.slice(0, i).join('/')} is a file, not a folder`);
      }
      throw new PathEscapeError(relPath, `${shown} cannot be inspected: ${errText(err)}`);
    }
    if (st.isSymbolicLink())
      throw new PathEscapeError(relPath, describeLink(current, shown, realRoot, isTarget));
    if (!isTarget && !st.isDirectory()) {
      throw new PathEscapeError(relPath, `${shown} is a file, not a folder`);
    }
    if (!isTarget && fs.existsSync(path.join(current, '.git'))) {
      throw new PathEscapeError(
        relPath,
        `${shown} is a separate git repository (it has its own .git); kaizen only changes files of the target repository itself`,
      );
    }
    deepestExisting = current;
  }

  // Belt and braces: whatever the walk concluded, the deepest existing ancestor must really be
  // inside the real repository (this also catches a bind mount or a race with the walk).
  const realDeepest = fs.realpathSync(deepestExisting);
  if (!isInside(realRoot, realDeepest) && realDeepest !== realRoot) {
    throw new PathEscapeError(relPath, `it resolves to ${realDeepest}, outside the repository ${realRoot}`);
  }

  return { abs: path.join(root, ...segments), rel };
}

/** The path's segments after purely textual checks and normalisation (no file system access). */
function lexicalSegments(relPath: string): string[] {
  if (relPath === '' || relPath.trim() === '') {
    throw new PathEscapeError(
      relPath,
      'it is empty; expected a path inside the repository such as "src/app.py"',
    );
  }
  if (relPath.includes('\u0000')) throw new PathEscapeError(relPath, 'it contains a NUL byte');
  if (relPath.startsWith('\\\\') || relPath.startsWith('//')) {
    throw new PathEscapeError(
      relPath,
      'it is a network (UNC) path; expected a path relative to the repository',
    );
  }
  if (/^[A-Za-z]:/.test(relPath)) {
    throw new PathEscapeError(
      relPath,
      'it is a Windows drive path; expected a path relative to the repository',
    );
  }
  if (relPath.startsWith('/') || relPath.startsWith('\\')) {
    throw new PathEscapeError(relPath, 'it is absolute; expected a path relative to the repository root');
  }
  const segments: string[] = [];
  for (const part of relPath.replaceAll('\\', '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (segments.length === 0) {
        throw new PathEscapeError(relPath, 'it leaves the repository (too many ".." segments)');
      }
      segments.pop();
      continue;
    }
    if (isGitDirName(part)) {
      throw new PathEscapeError(relPath, 'it is inside a .git folder; kaizen never touches git internals');
    }
    segments.push(part);
  }
  if (segments.length === 0) {
    throw new PathEscapeError(relPath, 'it names the repository root itself, not a file in it');
  }
  return segments;
}

/**
 * `.git` in any letter case, and the spellings that mean `.git` on Windows and macOS file systems
 * (trailing dots or spaces, the 8.3 short name `git~1`): the same list git's own protectNTFS checks.
 */
function isGitDirName(segment: string): boolean {
  const s = segment.toLowerCase().replace(/[. ]+$/, '');
  return s === '.git' || s === 'git~1';
}

function describeLink(linkPath: string, shown: string, realRoot: string, isTarget: boolean): string {
  let target: string;
  try {
    target = fs.readlinkSync(linkPath);
  } catch {
    target = '?';
  }
  let real: string | undefined;
  try {
    real = fs.realpathSync(linkPath);
  } catch {
    real = undefined; // dangling
  }
  if (real === undefined) {
    return `${shown} is a symbolic link to ${target}, which does not exist; kaizen does not write through links`;
  }
  if (!isInside(realRoot, real) && real !== realRoot) {
    return `${shown} is a symbolic link to ${real}, outside the repository`;
  }
  const inside = path.relative(realRoot, real).split(path.sep).join('/') || '.';
  return isTarget
    ? `${shown} is a symbolic link (to ${inside}); kaizen does not write through links: change ${inside} instead`
    : `${shown} is a symbolic link (to ${inside}); git cannot commit a path beyond a symbolic link: use the real path under ${inside}`;
}

function isInside(parent: string, child: string): boolean {
  const r = path.relative(parent, child);
  return r !== '' && r !== '..' && !r.startsWith(`..${path.sep}`) && !path.isAbsolute(r);
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
