import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../clock.js';
import { LogCountSource } from '../../config/schema.js';
import { SourceError } from '../../errors.js';
import { logCount, type LogCountState } from './log-count.js';
import type { SourceContext } from './types.js';

let repo: string;
let log: string;
let clock: SimulatedClock;
let state: unknown;

beforeEach(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'kaizen-log-'));
  log = path.join(repo, 'app.log');
  clock = new SimulatedClock();
  state = undefined;
});

afterEach(() => {
  fs.rmSync(repo, { recursive: true, force: true });
});

function ctx(abort = new AbortController().signal): SourceContext {
  return { repoPath: repo, clock, abort, state, setState: (next) => (state = next) };
}

function config(extra: { fromStart?: boolean; window?: string; file?: string; pattern?: string } = {}) {
  return LogCountSource.parse({
    kind: 'log-count',
    file: 'app.log',
    pattern: 'ERROR',
    window: '5m',
    ...extra,
  });
}

const sample = (cfg = config()) => logCount.sample(cfg, ctx());
const append = (file: string, text: string) => fs.appendFileSync(file, text);
const lines = (n: number, text: string) => `${text}\n`.repeat(n);

describe('log-count source', () => {
  it('starts at the end of the file like tail -F, then counts only new matching lines', async () => {
    append(log, lines(3, 'ERROR old') + 'INFO fine\n');
    expect(await sample()).toBe(0);
    append(log, 'ERROR new 1\nINFO x\nERROR new 2\n');
    await clock.advance(60_000);
    expect(await sample()).toBe(2);
    expect(state).toMatchObject({ ino: fs.statSync(log).ino, offset: fs.statSync(log).size });
  });

  it('counts the lines already there when fromStart is true', async () => {
    append(log, lines(3, 'ERROR old') + 'INFO fine\n');
    expect(await sample(config({ fromStart: true }))).toBe(3);
  });

  it('resolves an absolute file as given', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'kaizen-log-abs-'));
    try {
      const file = path.join(elsewhere, 'x.log');
      append(file, 'ERROR 1\n');
      expect(await sample(config({ file, fromStart: true }))).toBe(1);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('counts a line only once it is complete', async () => {
    append(log, 'ERROR half-writ');
    expect(await sample()).toBe(0); // first sight: the line being written is not yet there
    append(log, 'ten\nERROR a\nERROR b is still being wri');
    await clock.advance(1000);
    expect(await sample()).toBe(2);
    expect((state as LogCountState).offset).toBe('ERROR half-written\nERROR a\n'.length);
    append(log, 'tten\n');
    await clock.advance(1000);
    expect(await sample()).toBe(3);
  });

  it('strips \\r of CRLF lines before matching', async () => {
    append(log, 'x ERROR\r\ny\r\n');
    expect(await sample(config({ pattern: 'ERROR$', fromStart: true }))).toBe(1);
  });

  it('forgets matches once they leave the trailing window', async () => {
    fs.writeFileSync(log, '');
    expect(await sample()).toBe(0);
    await clock.advance(60_000); // t = 1m
    append(log, lines(2, 'ERROR'));
    expect(await sample()).toBe(2);
    await clock.advance(120_000); // t = 3m
    append(log, lines(1, 'ERROR'));
    expect(await sample()).toBe(3);
    await clock.advance(179_999); // t = 5m59.999s: the 1m bucket is still inside the 5m window
    expect(await sample()).toBe(3);
    await clock.advance(1); // t = 6m: it is not
    expect(await sample()).toBe(1);
    await clock.advance(120_000); // t = 8m
    expect(await sample()).toBe(0);
    expect((state as LogCountState).buckets).toEqual([]);
  });

  it('after a rename rotation finishes the old file, then reads the new one from the start', async () => {
    append(log, lines(5, 'ERROR before we looked'));
    expect(await sample()).toBe(0);
    append(log, lines(2, 'ERROR late in the old file') + 'INFO\n');
    fs.renameSync(log, `${log}.1`);
    append(log, lines(3, 'ERROR in the new file') + 'ERROR partial');
    await clock.advance(1000);
    expect(await sample()).toBe(5);
    expect(state).toMatchObject({ ino: fs.statSync(log).ino, offset: 'ERROR in the new file\n'.length * 3 });
  });

  it('reads the new file from the start when the rotated one is gone', async () => {
    append(log, 'INFO\n');
    expect(await sample()).toBe(0);
    append(log, lines(4, 'ERROR lost with the old file'));
    fs.renameSync(log, path.join(repo, 'archived-elsewhere.log'));
    append(log, lines(2, 'ERROR new'));
    await clock.advance(1000);
    expect(await sample()).toBe(2);
  });

  it('reads from the start after a truncation in place (copytruncate)', async () => {
    append(log, lines(10, 'INFO a long line that makes the file big'));
    expect(await sample()).toBe(0);
    fs.truncateSync(log, 0);
    append(log, lines(2, 'ERROR after truncation'));
    await clock.advance(1000);
    expect(await sample()).toBe(2);
  });

  it('says a missing file does not exist', async () => {
    await expect(sample()).rejects.toThrow(`log file ${log} does not exist`);
    expect(state).toBeUndefined();
  });

  it('keeps its place while the file is missing mid-rotation and recovers on the next sample', async () => {
    append(log, 'INFO\n');
    expect(await sample()).toBe(0);
    const before = state;
    append(log, lines(3, 'ERROR'));
    fs.renameSync(log, `${log}.1`);
    await clock.advance(1000);
    const err = await sample().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toBe(`log file ${log} does not exist`);
    expect(state).toEqual(before);
    append(log, lines(1, 'ERROR'));
    await clock.advance(1000);
    expect(await sample()).toBe(4);
  });

  it('reads a large file in chunks, counting lines that straddle chunk boundaries', async () => {
    // 300k lines of varying length (about 6 MiB): chunk boundaries fall in the middle of lines.
    const fd = fs.openSync(log, 'w');
    let expected = 0;
    for (let block = 0; block < 30; block++) {
      let text = '';
      for (let i = 0; i < 10_000; i++) {
        const n = block * 10_000 + i;
        const match = n % 7 === 0;
        if (match) expected++;
        text += `${match ? 'ERROR' : 'INFO'} request ${n} ${'.'.repeat(n % 13)}\n`;
      }
      fs.writeSync(fd, text);
    }
    fs.closeSync(fd);
    expect(fs.statSync(log).size).toBeGreaterThan(5_000_000);
    expect(await sample(config({ fromStart: true }))).toBe(expected);
    expect((state as LogCountState).offset).toBe(fs.statSync(log).size);
  });

  it('rejects promptly when aborted', async () => {
    append(log, lines(100_000, 'INFO padding so that there is something to read'));
    const controller = new AbortController();
    controller.abort();
    await expect(logCount.sample(config({ fromStart: true }), ctx(controller.signal))).rejects.toThrow(
      `log file ${log}: timed out after 5s`,
    );
  });

  it('starts afresh from state it cannot read', async () => {
    append(log, lines(2, 'ERROR'));
    state = { ino: 'nonsense' };
    expect(await sample()).toBe(0);
    expect(state).toMatchObject({ offset: fs.statSync(log).size, buckets: [] });
  });
});
