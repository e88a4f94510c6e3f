import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../clock.js';
import { FileAgeSource } from '../../config/schema.js';
import { fileAge } from './file-age.js';
import type { SourceContext } from './types.js';

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);

let repo: string;

beforeEach(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'kaizen-file-age-'));
});

afterEach(() => {
  fs.rmSync(repo, { recursive: true, force: true });
});

function ctx(abort = new AbortController().signal): SourceContext {
  return { repoPath: repo, clock: new SimulatedClock(NOW), abort, state: undefined, setState: () => {} };
}

function config(p: string, ifMissing?: 'error' | 'zero') {
  return FileAgeSource.parse({ kind: 'file-age', path: p, ...(ifMissing ? { ifMissing } : {}) });
}

/** Create a file modified `secondsAgo` before NOW (fractions kept). */
function touch(rel: string, secondsAgo: number): string {
  const file = path.join(repo, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'x');
  const mtime = new Date(NOW - secondsAgo * 1000);
  fs.utimesSync(file, mtime, mtime);
  return file;
}

describe('file-age source', () => {
  it('gives the seconds since the last modification, relative to the repo', async () => {
    touch('state/heartbeat', 90);
    expect(await fileAge.sample(config('state/heartbeat'), ctx())).toBe(90);
  });

  it('keeps fractions of a second', async () => {
    touch('beat', 2.5);
    expect(await fileAge.sample(config('beat'), ctx())).toBe(2.5);
  });

  it('accepts an absolute path', async () => {
    const file = touch('abs/beat', 3600);
    expect(await fileAge.sample(config(file), ctx())).toBe(3600);
  });

  it('gives 0, not a negative age, for a modification time in the future', async () => {
    touch('future', -120);
    expect(await fileAge.sample(config('future'), ctx())).toBe(0);
  });

  it('reports a missing file, or gives 0 when told to', async () => {
    await expect(fileAge.sample(config('gone.lock'), ctx())).rejects.toThrow(
      `file ${path.join(repo, 'gone.lock')} does not exist (set ifMissing: zero if it exists only some of the time)`,
    );
    expect(await fileAge.sample(config('gone.lock', 'zero'), ctx())).toBe(0);
  });

  it('rejects when already aborted', async () => {
    touch('beat', 1);
    const controller = new AbortController();
    controller.abort();
    await expect(fileAge.sample(config('beat'), ctx(controller.signal))).rejects.toThrow(
      `file ${path.join(repo, 'beat')}: timed out after 5s`,
    );
  });
});
