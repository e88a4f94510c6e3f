import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

/*
 * Lesson scans: a lesson may carry `scan: { pattern, files }`, a regular expression searched line by
 * line in the repository files its glob names. The hits ("findings") tell the proposer that a lesson
 * applies to code as it is now.
 *
 * Safety and bounds:
 * - `.git` and `node_modules` folders are never entered, symbolic links are never followed (a link
 *   could point out of the repository), and a file or folder matching one of `blockedGlobs` (the
 *   guard's blockedPaths: .env, keys, secrets) is never opened: secrets are not read, let alone sent
 *   to a model.
 * - At most `maxFiles` files are read (those a scan's glob names), each at most `maxFileBytes`
 *   (larger files and binary files, with a NUL byte, are skipped), and at most MAX_WALK entries are
 *   looked at in all.
 * - At most `maxFindings` findings are returned, shared fairly between the lessons (round robin in
 *   lesson order), so one noisy pattern cannot hide the others; `truncated` and a note say so.
 * Findings are ordered by file, line, then lesson: the same tree gives the same answer.
 */

export interface ScanRule {
  /** The lesson id the scan belongs to. */
  lesson: string;
  /** A JavaScript regular expression, tested against each line. */
  pattern: string;
  /** A glob of repo-relative paths (picomatch, dot files included, case-insensitive). */
  files: string;
}

export interface ScanOptions {
  /** Files read at most (default 2000). */
  maxFiles?: number;
  /** Larger files are skipped (default 512 KiB). */
  maxFileBytes?: number;
  /** Findings returned at most (default 200). */
  maxFindings?: number;
  /** Globs of paths never read, e.g. the guard policy's blockedPaths. */
  blockedGlobs: readonly string[];
}

export interface Finding {
  lesson: string;
  /** Repo-relative, with `/`. */
  file: string;
  /** 1-based. */
  line: number;
  /** The line, trimmed, at most MAX_TEXT characters. */
  text: string;
}

export interface ScanResult {
  findings: Finding[];
  /** True when findings, files or the walk hit a limit. */
  truncated: boolean;
  /** What was skipped or cut, for logs: invalid patterns, limits. */
  notes: string[];
}

export const DEFAULT_MAX_FILES = 2000;
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024;
export const DEFAULT_MAX_FINDINGS = 200;
export const MAX_TEXT = 200;
/** Directory entries looked at in one scan, at most. */
export const MAX_WALK = 100_000;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
const GLOB_OPTIONS = { dot: true, nocase: true } as const;

/** Run the scans over the repository and return the findings (see `scanRepo` for limits and notes). */
export function runScans(repoPath: string, scans: readonly ScanRule[], opts: ScanOptions): Finding[] {
  return scanRepo(repoPath, scans, opts).findings;
}

export function scanRepo(repoPath: string, scans: readonly ScanRule[], opts: ScanOptions): ScanResult {
  const maxFiles = opts.maxFiles ?? DEFAULT_MAX_FILES;
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxFindings = opts.maxFindings ?? DEFAULT_MAX_FINDINGS;
  const notes: string[] = [];
  let truncated = false;

  const compiled: { lesson: string; regex: RegExp; matches: (p: string) => boolean }[] = [];
  const ordered = [...scans].sort((a, b) => compare(a.lesson, b.lesson) || compare(a.files, b.files));
  for (const s of ordered) {
    try {
      compiled.push({
        lesson: s.lesson,
        regex: new RegExp(s.pattern),
        matches: picomatch(s.files, GLOB_OPTIONS),
      });
    } catch (e) {
      notes.push(`lesson ${s.lesson}: scan skipped: ${(e as Error).message}`);
    }
  }
  if (compiled.length === 0) return { findings: [], truncated, notes };
  const blocked = opts.blockedGlobs.map((g) => picomatch(g, GLOB_OPTIONS));
  const isBlocked = (rel: string) => blocked.some((m) => m(rel));

  // Walk (sorted, so the same tree is read in the same order), collecting the files a scan names.
  const files: string[] = [];
  const stack = [''];
  let walked = 0;
  walk: while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(path.join(repoPath, dir), { withFileTypes: true });
    } catch (e) {
      notes.push(`could not list ${dir || '.'}: ${(e as Error).message}`);
      continue;
    }
    entries.sort((a, b) => compare(b.name, a.name)); // reversed: popped in name order
    const subdirs: string[] = [];
    for (const entry of entries) {
      if (++walked > MAX_WALK) {
        truncated = true;
        notes.push(`stopped after ${MAX_WALK} directory entries`);
        break walk;
      }
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink() || isBlocked(rel)) continue;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) subdirs.push(rel);
      } else if (entry.isFile() && compiled.some((c) => c.matches(rel))) {
        files.push(rel);
      }
    }
    stack.push(...subdirs);
  }
  files.sort(compare);
  if (files.length > maxFiles) {
    truncated = true;
    notes.push(`read the first ${maxFiles} of ${files.length} files the scans name`);
    files.length = maxFiles;
  }

  // Per lesson, at most maxFindings each (more could never be returned).
  let cut = false;
  const byLesson = new Map<string, Finding[]>();
  for (const c of compiled) byLesson.set(c.lesson, byLesson.get(c.lesson) ?? []);
  for (const file of files) {
    const text = readText(path.join(repoPath, file), maxFileBytes);
    if (text === undefined) {
      notes.push(`skipped ${file}: larger than ${maxFileBytes} bytes, binary or unreadable`);
      continue;
    }
    const lines = text.split(/\r?\n/);
    for (const c of compiled) {
      if (!c.matches(file)) continue;
      const found = byLesson.get(c.lesson)!;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (!c.regex.test(line)) continue;
        if (found.length >= maxFindings) {
          cut = true;
          break;
        }
        found.push({ lesson: c.lesson, file, line: i + 1, text: line.trim().slice(0, MAX_TEXT) });
      }
    }
  }

  // Round robin over the lessons, so every lesson with a hit keeps some of its findings.
  const queues = [...byLesson.values()];
  const total = queues.reduce((n, q) => n + q.length, 0);
  const findings: Finding[] = [];
  for (let i = 0; findings.length < maxFindings && findings.length < total; i++) {
    for (const q of queues) {
      const f = q[i];
      if (f && findings.length < maxFindings) findings.push(f);
    }
  }
  if (cut || total > findings.length) {
    truncated = true;
    notes.push(`findings cut to ${findings.length} (at most ${maxFindings}, shared between lessons)`);
  }
  findings.sort((a, b) => compare(a.file, b.file) || a.line - b.line || compare(a.lesson, b.lesson));
  return { findings, truncated, notes };
}

/** The file's text, or undefined when it is too large, binary or unreadable. Reads at most max + 1 bytes. */
function readText(abs: string, max: number): string | undefined {
  let fd: number | undefined;
  try {
    // O_NOFOLLOW: a file swapped for a symbolic link after the walk is not followed either.
    fd = openSync(abs, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > max) return undefined;
    const buf = Buffer.alloc(max + 1);
    const n = readSync(fd, buf, 0, max + 1, 0);
    if (n > max) return undefined; // it grew since the stat
    const bytes = buf.subarray(0, n);
    if (bytes.includes(0)) return undefined;
    return bytes.toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
