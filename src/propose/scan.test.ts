import type * as nodeFs from 'node:fs';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { SimulatedClock, type Clock } from '../clock.js';
import { MAX_LINE_CHARS, MAX_TEXT, runScans, scanRepo } from './scan.js';

/** Every file the scanner opens, to show that blocked files are never opened. */
const opened: string[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof nodeFs>();
  return {
    ...fs,
    openSync: (...args: Parameters<typeof fs.openSync>) => {
      opened.push(String(args[0]));
      return fs.openSync(...args);
    },
  };
});
beforeEach(() => {
  opened.length = 0;
});

/** A clock that stands still: the time budgets never end these scans. */
const clock = new SimulatedClock();

/** A clock on which every look finds `step` ms gone: a slow scan, told without waiting for one. */
function steppingClock(step: number): Clock {
  let t = Date.UTC(2026, 0, 5);
  const stepping: Clock = {
    now: () => (t += step),
    sleep: () => Promise.resolve(),
    get world() {
      return stepping;
    },
  };
  return stepping;
}

const BLOCKED = ['.git/**', '**/.git/**', '**/.env', '**/.env.*', '**/*.pem', '**/secrets/**'];

/** A repo folder with the given files (paths with `/`). */
function repo(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('runScans', () => {
  it('reports matching lines with 1-based line numbers and trimmed text, only in files the glob names', () => {
    const dir = repo({
      'src/a.ts': 'const x = 1;\n   setTimeout(run, 0);   \nfoo();\r\nsetTimeout(again)\n',
      'src/b.js': 'setTimeout(x)\n',
      'README.md': 'setTimeout is mentioned here\n',
    });
    const findings = runScans(dir, [{ lesson: 'L1', pattern: 'setTimeout\\(', files: 'src/**/*.ts' }], {
      blockedGlobs: BLOCKED,
      clock,
    });
    expect(findings).toEqual([
      { lesson: 'L1', file: 'src/a.ts', line: 2, text: 'setTimeout(run, 0);' },
      { lesson: 'L1', file: 'src/a.ts', line: 4, text: 'setTimeout(again)' },
    ]);
  });

  it('orders findings by file, line, then lesson, whatever the order of the scans', () => {
    const dir = repo({ 'b.txt': 'x\nTODO\n', 'a.txt': 'TODO x\n', 'sub/c.txt': 'x\n' });
    const scans = [
      { lesson: 'L2', pattern: 'x', files: '**/*.txt' },
      { lesson: 'L1', pattern: 'TODO', files: '*.txt' },
    ];
    const one = runScans(dir, scans, { blockedGlobs: [], clock });
    expect(one.map((f) => `${f.file}:${f.line}:${f.lesson}`)).toEqual([
      'a.txt:1:L1',
      'a.txt:1:L2',
      'b.txt:1:L2',
      'b.txt:2:L1',
      'sub/c.txt:1:L2',
    ]);
    expect(runScans(dir, [...scans].reverse(), { blockedGlobs: [], clock })).toEqual(one);
  });

  it('never reads a blocked file, even when the glob names it', () => {
    const dir = repo({
      '.env': 'API_KEY=sk-live-secret\n',
      'config/.env.production': 'API_KEY=other\n',
      'secrets/db.txt': 'API_KEY=db\n',
      'app.env.example': 'API_KEY=placeholder\n',
    });
    const result = scanRepo(dir, [{ lesson: 'L1', pattern: 'API_KEY', files: '**' }], {
      blockedGlobs: BLOCKED,
      clock,
    });
    expect(result.findings).toEqual([
      { lesson: 'L1', file: 'app.env.example', line: 1, text: 'API_KEY=placeholder' },
    ]);
    expect(result.notes).toEqual([]);
    expect(opened).toEqual([path.join(dir, 'app.env.example')]);
  });

  it('skips .git, node_modules and symbolic links', () => {
    const outside = repo({ 'outside.txt': 'needle\n' });
    const dir = repo({
      '.git/config': 'needle\n',
      'node_modules/pkg/index.js': 'needle\n',
      'lib/node_modules/x.js': 'needle\n',
      'src/index.js': 'needle\n',
    });
    symlinkSync(path.join(outside, 'outside.txt'), path.join(dir, 'link.txt'));
    symlinkSync(outside, path.join(dir, 'linkdir'));
    const findings = runScans(dir, [{ lesson: 'L1', pattern: 'needle', files: '**' }], {
      blockedGlobs: [],
      clock,
    });
    expect(findings.map((f) => f.file)).toEqual(['src/index.js']);
    expect(opened).toEqual([path.join(dir, 'src/index.js')]);
  });

  it('cuts long lines to 200 characters and skips large and binary files with a note', () => {
    const dir = repo({
      'long.txt': `  needle ${'y'.repeat(500)}\n`,
      'big.txt': `needle\n${'z'.repeat(2000)}\n`,
      'bin.dat': 'needle\u0000\n',
    });
    const result = scanRepo(dir, [{ lesson: 'L1', pattern: 'needle', files: '*' }], {
      blockedGlobs: [],
      clock,
      maxFileBytes: 1000,
    });
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]!.text).toBe(`needle ${'y'.repeat(MAX_TEXT - 7)}`);
    expect(result.notes).toEqual([
      'skipped big.txt: larger than 1000 bytes, binary or unreadable',
      'skipped bin.dat: larger than 1000 bytes, binary or unreadable',
    ]);
    expect(result.truncated).toBe(false);
  });

  it('returns at most maxFindings, shared between lessons, and says so', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `hit ${i}`).join('\n');
    const dir = repo({ 'a.txt': lines, 'b.txt': 'rare\n' });
    const result = scanRepo(
      dir,
      [
        { lesson: 'L1', pattern: 'hit', files: '*.txt' },
        { lesson: 'L2', pattern: 'rare', files: '*.txt' },
      ],
      { blockedGlobs: [], clock },
    );
    expect(result.findings).toHaveLength(200);
    expect(result.findings.filter((f) => f.lesson === 'L2')).toHaveLength(1);
    expect(result.truncated).toBe(true);
    expect(result.notes).toEqual(['findings cut to 200 (at most 200, shared between lessons)']);
    const small = scanRepo(dir, [{ lesson: 'L1', pattern: 'hit', files: '*.txt' }], {
      blockedGlobs: [],
      clock,
      maxFindings: 5,
    });
    expect(small.findings.map((f) => f.line)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reads at most maxFiles files, the first in path order', () => {
    const files = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`f${String(i).padStart(2, '0')}.txt`, 'x\n']),
    );
    const dir = repo(files);
    const result = scanRepo(dir, [{ lesson: 'L1', pattern: 'x', files: '*.txt' }], {
      blockedGlobs: [],
      clock,
      maxFiles: 10,
    });
    expect(result.findings.map((f) => f.file)).toEqual(Object.keys(files).slice(0, 10));
    expect(result.truncated).toBe(true);
    expect(result.notes).toEqual(['read the first 10 of 12 files the scans name']);
  });

  it('skips an invalid pattern with a note and runs the others', () => {
    const dir = repo({ 'a.txt': 'ok\n' });
    const result = scanRepo(
      dir,
      [
        { lesson: 'L1', pattern: '(', files: '*' },
        { lesson: 'L2', pattern: 'ok', files: '*' },
      ],
      { blockedGlobs: [], clock },
    );
    expect(result.findings.map((f) => f.lesson)).toEqual(['L2']);
    expect(result.notes).toHaveLength(1);
    expect(result.notes).toEqual([
      "lesson L1: scan skipped: the pattern is not valid in kaizen's linear-time regex engine (RE2 syntax): missing closing ): `(`",
    ]);
  });

  it('finishes a catastrophic pattern over a 5,000-character line: the engine is linear (issue 18)', () => {
    // (a+)+$ takes exponential time in a backtracking engine on a line of a's that ends otherwise.
    const dir = repo({ 'hostile.txt': `${'a'.repeat(5000)}!\n`, 'plain.txt': 'aaaa\n' });

    const result = scanRepo(dir, [{ lesson: 'L1', pattern: '(a+)+$', files: '*.txt' }], {
      blockedGlobs: [],
      clock,
    });

    expect(result.findings).toEqual([{ lesson: 'L1', file: 'plain.txt', line: 1, text: 'aaaa' }]);
    expect(result.notes).toEqual([]);
  });

  it.each([
    ['(?=foo)bar', 'the pattern uses a lookahead "(?=" at character 1'],
    ['(?<!x)y', 'the pattern uses a lookbehind "(?<!" at character 1'],
    ['(a)\\1', 'the pattern uses a backreference "\\1" at character 4'],
  ])('skips a pattern the linear engine cannot run (%s) with a note naming the lesson', (pattern, why) => {
    const dir = repo({ 'a.txt': 'foobar y aa\n' });

    const result = scanRepo(
      dir,
      [
        { lesson: 'L1', pattern, files: '*' },
        { lesson: 'L2', pattern: 'foo', files: '*' },
      ],
      { blockedGlobs: [], clock },
    );

    expect(result.findings.map((f) => f.lesson)).toEqual(['L2']);
    expect(result.notes).toHaveLength(1);
    expect(result.notes[0]).toContain(
      `lesson L1: scan skipped: ${why}, which kaizen's linear-time regex engine (RE2) does not support`,
    );
  });

  it('skips a glob whose matching could take exponential time, with a note', () => {
    const dir = repo({ 'a.txt': 'x\n' });

    const result = scanRepo(dir, [{ lesson: 'L1', pattern: 'x', files: '{*a*a,*a*a}{*a*a,*a*a}b' }], {
      blockedGlobs: [],
      clock,
    });

    expect(result.findings).toEqual([]);
    expect(result.notes[0]).toMatch(
      /^lesson L1: scan skipped: the glob has 0 "\*\*" segment\(s\) and 8 other "\*" wildcard\(s\)/,
    );
  });

  it('does not report a line that also matches "unless"', () => {
    const dir = repo({ 'a.py': 'requests.get(url)\nrequests.get(url, timeout=5)\n' });

    const findings = runScans(
      dir,
      [{ lesson: 'L1', pattern: 'requests\\.get\\(', unless: '\\btimeout\\b', files: '*.py' }],
      { blockedGlobs: [], clock },
    );

    expect(findings.map((f) => f.line)).toEqual([1]);
  });

  it(`does not search lines longer than ${MAX_LINE_CHARS} characters, and says so`, () => {
    const dir = repo({ 'a.js': `needle\n${'needle '.repeat(2000)}\nneedle\n` });

    const result = scanRepo(dir, [{ lesson: 'L1', pattern: 'needle', files: '*' }], {
      blockedGlobs: [],
      clock,
    });

    expect(result.findings.map((f) => f.line)).toEqual([1, 3]);
    expect(result.notes).toEqual([`a.js: 1 line(s) longer than ${MAX_LINE_CHARS} characters not searched`]);
  });

  it('stops a lesson that spends its share of the time budget, and the scan that spends all of it, keeping what was found', () => {
    const slowClock = steppingClock(1000);
    const many = Array.from({ length: 600 }, (_, i) => `hit ${i}`).join('\n');
    const dir = repo({ 'a.txt': many, 'b.txt': 'hit\n', 'c.txt': 'hit\n' });

    const result = scanRepo(dir, [{ lesson: 'L1', pattern: 'hit', files: '*.txt' }], {
      blockedGlobs: [],
      clock: slowClock,
      maxLessonScanMs: 1500,
      maxScanMs: 60_000,
      maxFindings: 1000,
    });

    expect(result.findings.length).toBeGreaterThan(0);
    expect(result.findings.length).toBeLessThan(600);
    expect(result.findings.every((f) => f.file === 'a.txt')).toBe(true);
    expect(result.truncated).toBe(true);
    expect(result.notes).toEqual([
      'lesson L1: scan stopped after 1500 ms (its share of the time budget), in a.txt: findings until then are kept',
    ]);

    const whole = scanRepo(dir, [{ lesson: 'L1', pattern: 'hit', files: '*.txt' }], {
      blockedGlobs: [],
      clock: slowClock,
      maxScanMs: 5500,
      maxFindings: 1000,
    });

    expect(whole.truncated).toBe(true);
    expect(whole.findings.every((f) => f.file === 'a.txt')).toBe(true);
    expect(whole.findings.length).toBeGreaterThan(0);
    expect(whole.notes).toEqual([
      "stopped after 5500 ms (the scan's time budget) in a.txt: findings until then are kept",
    ]);
  });

  it('does not read any file when no scan names it', () => {
    const dir = repo({ 'a.txt': 'x\n' });
    expect(
      runScans(dir, [{ lesson: 'L1', pattern: 'x', files: '*.md' }], { blockedGlobs: [], clock }),
    ).toEqual([]);
    expect(runScans(dir, [], { blockedGlobs: [], clock })).toEqual([]);
    expect(opened).toEqual([]);
  });
});
