import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';
import { restoreEdits, type FileEdit } from './changes.js';
import type { GitRepo } from './git.js';

/*
 * What kaizen wrote, and whether the repository is still exactly as kaizen left it. Anything kaizen
 * does to a repository after it wrote or committed there (undo its files after a crash or an
 * error, push, deploy, revert, redeploy) first asks this module; the answer is either "as kaizen
 * left it" or the exact files and commits that differ, and then kaizen touches nothing: a
 * person's edit or commit is never undone, pushed or deployed by kaizen.
 */

/** One file kaizen wrote, as its write intent records it. */
export interface WrittenFile {
  rel: string;
  abs: string;
  /** The content before kaizen wrote (null: the file did not exist): what an undo puts back. */
  before: string | null;
  /** sha256 of `before` (null: no file). */
  beforeHash: string | null;
  /** sha256 of what kaizen wrote. */
  afterHash: string;
}

/** One way the repository differs from how kaizen left it. */
export interface DriftItem {
  /** The file, or undefined for HEAD. */
  path?: string;
  why: string;
}

export function contentHash(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The write intent's record of planned edits: the old content (to restore) and both hashes. */
export function toWritten(edits: readonly FileEdit[]): WrittenFile[] {
  return edits.map((e) => ({
    rel: e.rel,
    abs: e.abs,
    before: e.before,
    beforeHash: e.before === null ? null : contentHash(e.before),
    afterHash: contentHash(e.after),
  }));
}

const StoredFile = z.object({
  rel: z.string(),
  abs: z.string(),
  before: z.string().nullable(),
  beforeHash: z.string().nullable(),
  afterHash: z.string(),
});
/** Write intents of kaizen versions before the hashes kept whole `after` contents. */
const OldEdit = z.object({
  rel: z.string(),
  abs: z.string(),
  before: z.string().nullable(),
  after: z.string(),
});
const WriteIntentData = z.object({
  files: z.array(StoredFile).optional(),
  edits: z.array(OldEdit).optional(),
});

/** The files a write intent says kaizen wrote. */
export function writtenFiles(data: Record<string, unknown>): WrittenFile[] {
  const parsed = WriteIntentData.parse(data);
  return parsed.files ?? toWritten(parsed.edits ?? []);
}

/** What the work tree holds now: the file's bytes, null when there is none, or why it cannot be read. */
function currentBytes(abs: string): Buffer | null | { unreadable: string } {
  try {
    const st = fs.lstatSync(abs);
    if (!st.isFile())
      return { unreadable: st.isSymbolicLink() ? 'it is now a symbolic link' : 'it is no longer a file' };
    return fs.readFileSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { unreadable: `it cannot be read (${(err as Error).message})` };
  }
}

export interface UncommittedCheck {
  /** Empty when the repository is as kaizen left it. */
  drift: DriftItem[];
  /** Files that hold exactly what kaizen wrote: what an undo puts back. */
  restore: WrittenFile[];
  /** Files staged with exactly what kaizen wrote (a crash between its `git add` and its commit). */
  unstage: string[];
}

/**
 * Before undoing files kaizen wrote but did not commit: HEAD must be where it was before kaizen
 * wrote (`expectedHead`), each file must hold what kaizen wrote or what was there before, and
 * anything staged for them must be what kaizen wrote.
 */
export async function checkUncommitted(
  git: GitRepo,
  files: readonly WrittenFile[],
  expectedHead: string | null,
): Promise<UncommittedCheck> {
  const check: UncommittedCheck = { drift: [], restore: [], unstage: [] };
  const head = await git.head();
  if (expectedHead !== null && head !== expectedHead)
    check.drift.push({
      why: `HEAD moved from ${short(expectedHead)} to ${short(head)} (a commit kaizen did not make)`,
    });
  for (const file of files) {
    const bytes = currentBytes(file.abs);
    if (bytes !== null && !Buffer.isBuffer(bytes)) {
      check.drift.push({ path: file.rel, why: bytes.unreadable });
      continue;
    }
    const hash = bytes === null ? null : contentHash(bytes);
    if (hash === file.afterHash) check.restore.push(file);
    else if (hash !== file.beforeHash)
      check.drift.push({
        path: file.rel,
        why:
          hash === null
            ? 'it was deleted since kaizen wrote it'
            : 'it holds neither what kaizen wrote nor what was there before (someone changed it)',
      });
  }
  for (const rel of await git.staged(files.map((f) => f.rel))) {
    const file = files.find((f) => f.rel === rel);
    const staged = await git.indexFile(rel);
    if (file && staged !== undefined && contentHash(staged) === file.afterHash) check.unstage.push(rel);
    else
      check.drift.push({
        path: rel,
        why:
          staged === undefined ? 'its deletion is staged' : 'it is staged with content kaizen did not write',
      });
  }
  return check;
}

/** Undo what checkUncommitted found to be kaizen's: old contents back, kaizen's staging taken back. */
export async function undoUncommitted(
  repoRoot: string,
  git: GitRepo,
  check: UncommittedCheck,
): Promise<void> {
  restoreEdits(repoRoot, check.restore);
  await git.unstage(check.unstage);
}

/**
 * Before a push, deploy, revert or redeploy of a commit kaizen made: HEAD must be that commit
 * (`expectedHead`, kaizen's commit or kaizen's revert of it) and the files it touched must have
 * no uncommitted change (work tree or index), so what kaizen pushes and deploys is only its own.
 */
export async function checkCommitted(
  git: GitRepo,
  paths: readonly string[],
  expectedHead: string,
  whose: string,
): Promise<DriftItem[]> {
  const drift: DriftItem[] = [];
  const status = await git.headAndChanges([...paths]);
  const head = status.head ?? (await git.head());
  if (head !== expectedHead)
    drift.push({
      why: `HEAD moved from ${short(expectedHead)} (${whose}) to ${short(head)} (a commit kaizen did not make)`,
    });
  for (const rel of status.dirty)
    drift.push({ path: rel, why: 'it has uncommitted changes since kaizen committed it' });
  return drift;
}

/** The data of a `drift` event: the summary, and each file with why it differs. */
export function driftEventData(drift: readonly DriftItem[]): {
  drift: string;
  files: { path: string; why: string }[];
} {
  return {
    drift: describeDrift(drift),
    files: drift.flatMap((d) => (d.path ? [{ path: d.path, why: d.why }] : [])),
  };
}

/** `HEAD moved from …; config.json: it holds …` */
export function describeDrift(drift: readonly DriftItem[]): string {
  return drift.map((d) => (d.path ? `${d.path}: ${d.why}` : d.why)).join('; ');
}

export function short(sha: string): string {
  return sha.slice(0, 7);
}
