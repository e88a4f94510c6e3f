import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/*
 * A real redis-server for the BullMQ tests, on a free loopback port with its own temp folder.
 * redis-server has no `--port 0`, so a port is found by listening on port 0, closing, and
 * starting Redis on it. Under CI=true a missing redis-server fails loudly (.ci/run installs it);
 * on a developer's machine the tests skip and say how to install it.
 */

const BINARY = process.env.KAIZEN_TEST_REDIS_SERVER ?? 'redis-server';

/**
 * Redis runs on the machine's real time even when the suite runs under faketime (.ci/run does, to
 * prove no test depends on today's date): redis-server's allocator deadlocks under libfaketime, and
 * Redis is not the code under test. Durations it keeps (locks, expiries) are relative either way.
 */
function realTimeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (k !== 'LD_PRELOAD' && !k.startsWith('FAKETIME')) env[k] = v;
  return env;
}

/** Why Redis tests cannot run here, or undefined when redis-server is installed. */
export function redisMissing(): string | undefined {
  const r = spawnSync(BINARY, ['--version'], { encoding: 'utf8', env: realTimeEnv(), timeout: 10_000 });
  if (r.status === 0) return undefined;
  return `${BINARY} is not installed (install it: apt-get install redis-server, or brew install redis)`;
}

/** True when these tests must skip: no redis-server, and not on CI (where missing is a failure). */
export function skipWithoutRedis(): boolean {
  const missing = redisMissing();
  if (missing === undefined) return false;
  if (process.env.CI === 'true') return false; // requireRedis() then fails with the reason
  console.warn(`skipping the Redis tests: ${missing}`);
  return true;
}

/** Fail with a clear message when redis-server is missing (call it in beforeAll). */
export function requireRedis(): void {
  const missing = redisMissing();
  if (missing !== undefined)
    throw new Error(`the BullMQ tests need a real Redis: ${missing}; .ci/run installs Debian's redis-server`);
}

export interface RedisServer {
  url: string;
  port: number;
  /** Its data folder (the AOF lives here when persistent). */
  dir: string;
  /** Stop it (SIGTERM: with persistence on, Redis writes its AOF before it exits). */
  stop(): Promise<void>;
  /** Start it again on the same port and data folder. */
  start(): Promise<void>;
  /** Stop it and remove its folder. */
  dispose(): Promise<void>;
}

export interface RedisOptions {
  /** Keep data across a restart (append-only file in the temp folder). Default false: faster. */
  persistent?: boolean;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Resolves once Redis answers PING on the port; rejects after `timeoutMs`. */
async function waitForPong(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(500);
      let reply = '';
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d) => {
        reply += d.toString();
        if (reply.includes('\r\n')) {
          socket.destroy();
          resolve(reply.startsWith('+PONG'));
        }
      });
      socket.on('error', () => resolve(false));
      socket.on('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const live = new Set<ChildProcess>();
// A test run killed half-way must not leave Redis servers behind.
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Start a redis-server on a free 127.0.0.1 port in a fresh temp folder. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  requireRedis();
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizen-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
    '--logfile',
    path.join(dir, 'redis.log'),
    ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  let child: ChildProcess | undefined;

  const start = async () => {
    const c = spawn(BINARY, args, { stdio: 'ignore', env: realTimeEnv() });
    child = c;
    live.add(c);
    c.once('exit', () => live.delete(c));
    await waitForPong(port, c);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
