import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { SystemClock } from '../clock.js';
import { runDeploy } from './deploy.js';

const clock = new SystemClock();

describe('runDeploy', () => {
  it('is ok when the command exits 0 within its timeout, and keeps its output', async () => {
    const dir = tempDir();
    const r = await runDeploy(
      {
        command: ['sh', '-c', 'echo building; sleep 0.05; echo warn >&2; sleep 0.05; pwd'],
        timeoutMs: 10_000,
      },
      { cwd: dir, clock },
    );
    expect(r).toMatchObject({
      ok: true,
      exitCode: 0,
      signal: null,
      timedOut: false,
      aborted: false,
      output: `building\nwarn\n${fs.realpathSync(dir)}\n`,
    });
    expect(r.failure).toBeUndefined();
  });

  it('is not ok on a non-zero exit, saying so', async () => {
    const dir = tempDir();
    const r = await runDeploy(
      { command: ['sh', '-c', 'echo "migration failed" >&2; exit 3'], timeoutMs: 10_000 },
      { cwd: dir, clock },
    );
    expect(r).toMatchObject({
      ok: false,
      exitCode: 3,
      failure: 'exited with code 3',
      output: 'migration failed\n',
    });
  });

  it('is not ok when it times out, and the command is stopped', async () => {
    const dir = tempDir();
    const r = await runDeploy(
      { command: ['sh', '-c', 'echo $$ > pid; exec sleep 30'], timeoutMs: 200 },
      { cwd: dir, clock },
    );
    expect(r).toMatchObject({
      ok: false,
      timedOut: true,
      exitCode: null,
      signal: 'SIGTERM',
      failure: 'timed out after 200ms',
    });
  });

  it('is not ok, without throwing, when the command cannot start', async () => {
    const dir = tempDir();
    const r = await runDeploy({ command: ['./deploy.sh'], timeoutMs: 10_000 }, { cwd: dir, clock });
    expect(r).toEqual({
      ok: false,
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: false,
      output: `command not found: ./deploy.sh (no such file in ${dir})`,
      durationMs: 0,
      failure: `command not found: ./deploy.sh (no such file in ${dir})`,
    });
  });

  it('keeps the last 16 KiB of a long output', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'noisy.js'), 'for (let i = 0; i < 5000; i++) console.log("line " + i);');
    const r = await runDeploy(
      { command: [process.execPath, 'noisy.js'], timeoutMs: 10_000 },
      { cwd: dir, clock },
    );
    expect(r.ok).toBe(true);
    expect(Buffer.byteLength(r.output)).toBeLessThanOrEqual(16 * 1024);
    expect(r.output.endsWith('line 4999\n')).toBe(true);
    expect(r.output).not.toContain('line 0\n');
  });

  it('is stopped by an abort and reports it as aborted, not as a verdict', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const r = await runDeploy(
      { command: ['sleep', '30'], timeoutMs: 10_000 },
      { cwd: dir, clock, abort: controller.signal },
    );
    expect(r).toMatchObject({
      ok: false,
      aborted: true,
      timedOut: false,
      failure: 'stopped: kaizen is shutting down',
    });
  });
});
