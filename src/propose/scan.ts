import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Clock } from '../clock.js';
import { compileLinear, type LinearRegex } from '../util/linear-regex.js';
import { globProblem } from './context/scan-rule.js';

/*
 * Lesson scans: a lesson may carry `scan: { pattern, files }`, a regular expression searched line by
 * line in the repository files its glob names. The hits ("findings") tell the proposer that a lesson
 * applies to code as it is now.
 *
 * Safety and bounds:
 * - Patterns run on a linear-time engine (RE2, see util/linear-regex.ts): no pattern, from whatever
 *   source, can take exponential time on a line, as `(a+)+$` does with JavaScript's RegExp on a line
 *   of `a`s ending in `!` (issue 18). A pattern or glob kaizen cannot run safely is skipped with a
 *   note naming the lesson (lesson files are refused earlier, when they are added, imported or
 *   loaded; this is the last line for scans from anywhere else).
 * - Lines longer than MAX_LINE_CHARS are not searched (a note says how many): minified bundles and
 *   data blobs are not code a lesson speaks about, and a line's cost grows with its length.
 * - Linear is not instant: a large compiled pattern costs up to tens of microseconds a character. So
 *   a scan has a time budget on the clock's world time (`maxScanMs`), and each lesson a share of it
 *   (`maxLessonScanMs`); a lesson that spends its share stops, the scan that spends the whole stops,
 *   and a note says so. Findings made until then are kept. Within the budget the result depends on
 *   the tree only.
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
  /** A regular expression in RE2 syntax, searched for in each line. */
  pattern: string;
  /** RE2 syntax: a line that matches `pattern` and this is not a finding. */
  unless?: string | undefined;
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
  /** Whose world time the budgets are measured on (a simulated clock that stands still never ends a scan). */
  clock: Clock;
  /** The whole scan stops after this many ms (default 10 s). */
  maxScanMs?: number;
  /** One lesson's scan stops after this many ms (default 3 s). */
  maxLessonScanMs?: number;
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
/** Longer lines are not searched. */
export const MAX_LINE_CHARS = 8192;
export const DEFAULT_MAX_SCAN_MS = 10_000;
export const DEFAULT_MAX_LESSON_SCAN_MS = 3_000;
/** Lines searched between two looks at the clock. */
const LINES_PER_CLOCK_READ = 256;
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
  const maxScanMs = opts.maxScanMs ?? DEFAULT_MAX_SCAN_MS;
  const maxLessonMs = opts.maxLessonScanMs ?? DEFAULT_MAX_LESSON_SCAN_MS;
  const now = () => opts.clock.world.now();
  const started = now();
  const notes: string[] = [];
  let truncated = false;
  let outOfTime = false;
  /** Whether the scan's time budget is spent (said once, with where it stopped). */
  const timeUp = (where: string): boolean => {
    if (!outOfTime && now() - started > maxScanMs) {
      outOfTime = true;
      truncated = true;
      notes.push(
        `stopped after ${maxScanMs} ms (the scan's time budget) ${where}: findings until then are kept`,
      );
    }
    return outOfTime;
  };

  const compiled: Compiled[] = [];
  const ordered = [...scans].sort((a, b) => compare(a.lesson, b.lesson) || compare(a.files, b.files));
  for (const s of ordered) {
    const pattern = compileLinear(s.pattern);
    const unless = s.unless === undefined ? undefined : compileLinear(s.unless);
    const glob = globProblem(s.files);
    const skip = (why: string) => notes.push(`lesson ${s.lesson}: scan skipped: ${why}`);
    if (!pattern.ok) {
      skip(`the pattern ${pattern.reason}`);
      continue;
    }
    if (unless && !unless.ok) {
      skip(`the "unless" pattern ${unless.reason}`);
      continue;
    }
    if (glob) {
      skip(glob);
      continue;
    }
    compiled.push({
      lesson: s.lesson,
      regex: pattern.regex,
      ...(unless?.ok ? { unless: unless.regex } : {}),
      matches: picomatch(s.files, GLOB_OPTIONS),
    });
  }
  if (compiled.length === 0) return { findings: [], truncated, notes };
  const blocked = opts.blockedGlobs.map((g) => picomatch(g, GLOB_OPTIONS));
  const isBlocked = (rel: string) => blocked.some((m) => m(rel));

  // Walk (sorted, so the same tree is read in the same order), collecting the files a scan names.
  const files: string[] = [];
  const stack = [''];
  let walked = 0;
  walk: while (stack.length > 0) {
    if (timeUp('while listing files')) break;
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
      // Globs are bounded (scan-rule.ts), not linear: a look at the budget for every path matched.
      if (timeUp('while listing files')) break walk;
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
  const spent = new Map<string, number>();
  const stopped = new Set<string>();
  for (const c of compiled) byLesson.set(c.lesson, byLesson.get(c.lesson) ?? []);
  const stopLesson = (lesson: string, file: string) => {
    if (stopped.has(lesson)) return;
    stopped.add(lesson);
    truncated = true;
    notes.push(
      `lesson ${lesson}: scan stopped after ${maxLessonMs} ms (its share of the time budget), in ${file}: findings until then are kept`,
    );
  };
  files: for (const file of files) {
    if (timeUp(`before ${file}`)) break;
    const text = readText(path.join(repoPath, file), maxFileBytes);
    if (text === undefined) {
      notes.push(`skipped ${file}: larger than ${maxFileBytes} bytes, binary or unreadable`);
      continue;
    }
    const lines = text.split(/\r?\n/);
    const long = lines.reduce((n, line) => n + (line.length > MAX_LINE_CHARS ? 1 : 0), 0);
    if (long > 0) {
      notes.push(`${file}: ${long} line(s) longer than ${MAX_LINE_CHARS} characters not searched`);
    }
    for (const c of compiled) {
      if (stopped.has(c.lesson) || !c.matches(file)) continue;
      const found = byLesson.get(c.lesson)!;
      const from = now();
      const left = maxLessonMs - (spent.get(c.lesson) ?? 0);
      for (let i = 0; i < lines.length; i++) {
        if (i % LINES_PER_CLOCK_READ === LINES_PER_CLOCK_READ - 1) {
          if (now() - from > left) {
            stopLesson(c.lesson, file);
            break;
          }
          if (timeUp(`in ${file}`)) break;
        }
        const line = lines[i]!;
        if (line.length > MAX_LINE_CHARS || !c.regex.test(line) || c.unless?.test(line)) continue;
        if (found.length >= maxFindings) {
          cut = true;
          break;
        }
        found.push({ lesson: c.lesson, file, line: i + 1, text: line.trim().slice(0, MAX_TEXT) });
      }
      const total = (spent.get(c.lesson) ?? 0) + (now() - from);
      spent.set(c.lesson, total);
      if (total > maxLessonMs) stopLesson(c.lesson, file);
      if (timeUp(`in ${file}`)) break files;
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

interface Compiled {
  lesson: string;
  regex: LinearRegex;
  unless?: LinearRegex;
  matches: (p: string) => boolean;
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
