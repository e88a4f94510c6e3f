// Runs examples/demo-target/deploy.mjs and stop.mjs as real processes in a scratch copy of the demo
// target: deploy starts the service detached, reloads it, reports an invalid config, restarts it on the
// same port, and stop.mjs stops it. No wall-clock durations are asserted; every wait is a bounded poll.
import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SOURCE_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../examples/demo-target');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Health {
  status: string;
  pid: number;
  config_version: string;
  cache: { size: number };
}

const dirs: string[] = [];
const pids = new Set<number>(); // every process a test saw, killed in afterEach if still alive

/** Alive = signalable and not a zombie (orphans may stay unreaped zombies in containers). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

function readPidFile(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, 'run/demo.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await node(dir, 'stop.mjs');
    const left = readPidFile(dir);
    if (left !== undefined) pids.add(left);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const pid of pids) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  pids.clear();
});

function scratchTarget(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kaizen-demo-deploy-'));
  dirs.push(dir);
  cpSync(SOURCE_DIR, dir, { recursive: true, filter: (src) => !/[\\/](run|logs)$/.test(src) });
  return dir;
}

/** Runs `node <script>` in `dir` (PORT=0, no DEMO_CONFIG) to completion. */
function node(dir: string, script: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  delete env.DEMO_CONFIG;
  const child = spawn(process.execPath, [script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res({ code, stdout, stderr }));
  });
}

const readConfig = (dir: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
const writeConfig = (dir: string, config: unknown): void =>
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
const configVersion = (dir: string): string =>
  createHash('sha1')
    .update(readFileSync(join(dir, 'config.json')))
    .digest('hex')
    .slice(0, 12);
const readPort = (dir: string): number => Number(readFileSync(join(dir, 'run/port'), 'utf8').trim());

async function health(port: number): Promise<{ code: number; body: Health }> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return { code: res.status, body: (await res.json()) as Health };
}

/** Polls `fn` until it returns true (bounded). */
async function until(what: string, fn: () => boolean, tries = 100, everyMs = 50): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (fn()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const STARTED = /^deploy: started pid (\d+) on port (\d+), config ([0-9a-f]{12})\n$/;

describe('demo-target deploy.mjs / stop.mjs', () => {
  it('starts, reloads, reports an invalid config, restarts on the same port, and stops', async () => {
    const dir = scratchTarget();

    // 1. Nothing running: deploy starts the service detached.
    const first = await node(dir, 'deploy.mjs');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const m = STARTED.exec(first.stdout);
    expect(m, first.stdout).not.toBeNull();
    const pid = Number(m![1]);
    const port = Number(m![2]);
    pids.add(pid);
    const v1 = configVersion(dir);
    expect(m![3]).toBe(v1);
    expect(readPort(dir)).toBe(port);
    expect(readPidFile(dir)).toBe(pid);
    const h1 = await health(port);
    expect(h1.code).toBe(200);
    expect(h1.body).toMatchObject({ status: 'ok', pid, config_version: v1 });
    expect(isAlive(pid)).toBe(true); // it outlived deploy.mjs

    // 2. Config changed, service running: deploy reloads it in place (SIGHUP), same pid and port.
    const good = { ...readConfig(dir), cacheSize: 200 };
    writeConfig(dir, good);
    const v2 = configVersion(dir);
    expect(v2).not.toBe(v1);
    const reloaded = await node(dir, 'deploy.mjs');
    expect(reloaded).toEqual({ code: 0, stdout: `deploy: reloaded pid ${pid}, config ${v2}\n`, stderr: '' });
    const h2 = await health(port);
    expect(h2.body).toMatchObject({ status: 'ok', pid, config_version: v2, cache: { size: 200 } });
    expect(readPort(dir)).toBe(port);

    // 3. Invalid config: the service exits on the reload, the restart fails too, and deploy says why.
    writeConfig(dir, { ...good, latencyMs: 'fast' });
    const broken = await node(dir, 'deploy.mjs');
    expect(broken).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'deploy: the service did not start: demo-target: invalid config.json: ' +
        'latencyMs must be a number between 0 and 60000, got "fast"\n',
    });
    expect(isAlive(pid)).toBe(false);
    expect(readPidFile(dir)).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();

    // 4. Valid config again (a revert): deploy starts a new process on the same port.
    writeConfig(dir, good);
    const restarted = await node(dir, 'deploy.mjs');
    expect(restarted.stderr).toBe('');
    expect(restarted.code).toBe(0);
    const m2 = STARTED.exec(restarted.stdout);
    expect(m2, restarted.stdout).not.toBeNull();
    const pid2 = Number(m2![1]);
    pids.add(pid2);
    expect(pid2).not.toBe(pid);
    expect(Number(m2![2])).toBe(port);
    expect(m2![3]).toBe(v2);
    expect(readPort(dir)).toBe(port);
    const h3 = await health(port);
    expect(h3.code).toBe(200);
    expect(h3.body).toMatchObject({ status: 'ok', pid: pid2, config_version: v2 });

    // 5. stop.mjs stops it and the pid file goes; run/port stays for the next start.
    const stopped = await node(dir, 'stop.mjs');
    expect(stopped).toEqual({ code: 0, stdout: `stop: stopped pid ${pid2}\n`, stderr: '' });
    expect(isAlive(pid2)).toBe(false);
    expect(existsSync(join(dir, 'run/demo.pid'))).toBe(false);
    expect(readPort(dir)).toBe(port);

    // Stopping again is fine: nothing is running.
    expect(await node(dir, 'stop.mjs')).toEqual({
      code: 0,
      stdout: 'stop: not running (no run/demo.pid)\n',
      stderr: '',
    });
  });

  it('a pid file naming some other live process is stale: deploy neither signals it nor skips the start', async () => {
    const dir = scratchTarget();
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const otherExit = new Promise<void>((res) => other.once('exit', () => res()));
    pids.add(other.pid!);
    await until('other process alive', () => isAlive(other.pid!));
    mkdirSync(join(dir, 'run'));
    writeFileSync(join(dir, 'run/demo.pid'), `${other.pid}\n`);

    const r = await node(dir, 'deploy.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = STARTED.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    pids.add(Number(m![1]));
    expect(Number(m![1])).not.toBe(other.pid);
    expect(readPidFile(dir)).toBe(Number(m![1]));
    expect(isAlive(other.pid!)).toBe(true);
    expect(other.exitCode).toBeNull();

    other.kill('SIGKILL');
    await otherExit;
  });
});
