// Runs examples/demo-target/server.mjs as a real child process in a scratch copy and checks its
// observable behaviour over real HTTP and the file system. No wall-clock durations are asserted;
// every wait is a small bounded poll on a behavioural condition.
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SOURCE_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../examples/demo-target');

/** Fast settings so behaviour shows up within a fraction of a second. */
const FAST = { latencyMs: 2, latencyJitterMs: 1, worker: { enabled: true, intervalMs: 100, hang: false } };

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Target {
  dir: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Exit>;
}

interface Running extends Target {
  port: number;
  pid: number;
  base: string;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function writeConfig(dir: string, config: unknown | string): void {
  const text = typeof config === 'string' ? config : `${JSON.stringify(config, null, 2)}\n`;
  writeFileSync(join(dir, 'config.json'), text);
}

function spawnTarget(config?: unknown | string): Target {
  const dir = mkdtempSync(join(tmpdir(), 'demo-target-'));
  dirs.push(dir);
  cpSync(SOURCE_DIR, dir, { recursive: true, filter: (src) => !/[\\/](run|logs)$/.test(src) });
  if (config !== undefined) writeConfig(dir, config);
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  delete env.DEMO_CONFIG;
  const child = spawn(process.execPath, ['server.mjs'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  return { dir, child, stdout: () => out, stderr: () => err, exited };
}

const LISTENING = /^demo-target listening on http:\/\/127\.0\.0\.1:(\d+) pid (\d+)$/m;

async function startTarget(config?: unknown | string): Promise<Running> {
  const t = spawnTarget(config);
  let exit: Exit | undefined;
  void t.exited.then((e) => (exit = e));
  for (let i = 0; i < 200; i++) {
    const m = LISTENING.exec(t.stdout());
    if (m) {
      const port = Number(m[1]);
      return { ...t, port, pid: Number(m[2]), base: `http://127.0.0.1:${port}` };
    }
    if (exit) throw new Error(`demo-target exited early (${JSON.stringify(exit)}): ${t.stderr()}`);
    await sleep(25);
  }
  throw new Error(`demo-target never printed its listening line; stdout=${t.stdout()} stderr=${t.stderr()}`);
}

/** Polls `fn` until it returns a truthy value (bounded); returns that value. */
async function until<T>(
  what: string,
  fn: () => Promise<T> | T,
  tries = 100,
  everyMs = 50,
): Promise<NonNullable<T>> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}; last=${String(last)}`);
}

interface Health {
  status: string;
  uptime_s: number;
  pid: number;
  config_version: string;
  latency_ms: { p50: number | null; p95: number | null };
  error_rate: number | null;
  memory: { rss_mb: number; leaked_mb: number };
  worker: { enabled: boolean; processed_total: number; last_job_age_s: number | null; hung: boolean };
  requests: { total: number; failed: number };
}

async function health(t: Running): Promise<{ code: number; body: Health }> {
  const res = await fetch(`${t.base}/health`);
  return { code: res.status, body: (await res.json()) as Health };
}

/** Minimal Prometheus text parser: series (name + labels as written) -> value. Throws on malformed lines. */
function parseProm(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('#')) expect(line).toMatch(/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${JSON.stringify(line)}`);
    const value = m[2] === 'NaN' ? NaN : Number(m[2]);
    if (m[2] !== 'NaN' && !Number.isFinite(value))
      throw new Error(`non-numeric value in ${JSON.stringify(line)}`);
    series.set(m[1]!, value);
  }
  return series;
}

async function metrics(t: Running): Promise<Map<string, number>> {
  const res = await fetch(`${t.base}/metrics`);
  expect(res.status).toBe(200);
  return parseProm(await res.text());
}

const mtime = (path: string): number => statSync(path).mtimeMs;

describe('demo-target', () => {
  it('serves /health with the documented shape and writes its pid file', async () => {
    const t = await startTarget();
    expect(t.pid).toBe(t.child.pid);
    expect(readFileSync(join(t.dir, 'run/demo.pid'), 'utf8').trim()).toBe(String(t.child.pid));

    const { code, body } = await until('health with traffic', async () => {
      const h = await health(t);
      return h.body.requests.total > 0 ? h : undefined;
    });
    expect(code).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.pid).toBe(t.child.pid);
    expect(body.uptime_s).toBeTypeOf('number');
    expect(body.config_version).toMatch(/^[0-9a-f]{12}$/);
    expect(body.latency_ms.p50).toBeTypeOf('number');
    expect(body.latency_ms.p95).toBeTypeOf('number');
    expect(body.latency_ms.p95!).toBeGreaterThanOrEqual(body.latency_ms.p50!);
    expect(body.error_rate).toBeTypeOf('number');
    expect(body.memory.rss_mb).toBeGreaterThan(0);
    expect(body.memory.leaked_mb).toBe(0);
    expect(body.worker).toMatchObject({ enabled: true, hung: false });
    expect(body.worker.processed_total).toBeTypeOf('number');
    expect(body.worker.last_job_age_s).toBeTypeOf('number');
    expect(body.requests.failed).toBeLessThanOrEqual(body.requests.total);

    const index = await fetch(`${t.base}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('/metrics');
    const missing = await fetch(`${t.base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/application\/json/);
    expect(await missing.json()).toMatchObject({ error: 'not found' });
  });

  it('serves Prometheus text with the documented series', async () => {
    const t = await startTarget({ ...FAST, cacheSize: 200 });
    await until('some completed requests', async () => (await health(t)).body.requests.total > 0);
    const res = await fetch(`${t.base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const m = parseProm(text);
    for (const name of [
      'demo_requests_total{status="ok"}',
      'demo_requests_total{status="error"}',
      'demo_request_latency_ms{quantile="0.5"}',
      'demo_request_latency_ms{quantile="0.95"}',
      'demo_memory_rss_bytes',
      'demo_leaked_bytes',
      'demo_jobs_processed_total',
      'demo_worker_hung',
      'demo_up',
    ]) {
      expect(m.has(name), name).toBe(true);
      expect(Number.isFinite(m.get(name)), name).toBe(true);
    }
    expect(m.get('demo_up')).toBe(1);
    expect(m.get('demo_worker_hung')).toBe(0);
    expect(m.get('demo_memory_rss_bytes')).toBeGreaterThan(0);
    for (const base of [
      'demo_requests_total',
      'demo_request_latency_ms',
      'demo_jobs_processed_total',
      'demo_up',
    ]) {
      expect(text).toContain(`# HELP ${base} `);
      expect(text).toContain(`# TYPE ${base} `);
    }
    expect(text).toContain('# TYPE demo_requests_total counter');
    // With a cache covering the whole key space, lookups start hitting once it warms up.
    await until('cache hits', async () => ((await metrics(t)).get('demo_cache_hit_ratio') ?? 0) > 0);
  });

  it('with errorRate 0.3 the error counter grows and app.log gets ERROR lines', async () => {
    const t = await startTarget({ ...FAST, errorRate: 0.3 });
    const first = await until('first error', async () =>
      (await metrics(t)).get('demo_requests_total{status="error"}'),
    );
    await until(
      'error counter growth',
      async () => (await metrics(t)).get('demo_requests_total{status="error"}')! > first,
    );
    const log = readFileSync(join(t.dir, 'logs/app.log'), 'utf8');
    expect(log).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR request failed: simulated error \(errorRate=0\.3\)$/m,
    );
    const h = await health(t);
    expect(h.code).toBe(200); // 0.3 < 0.5: still "ok"
    expect(h.body.requests.failed).toBeGreaterThan(0);
  });

  it('answers 503 "degraded" when errorRate >= 0.5', async () => {
    const t = await startTarget({ ...FAST, errorRate: 0.6 });
    const h = await health(t);
    expect(h.code).toBe(503);
    expect(h.body.status).toBe('degraded');
  });

  it('leaks memory at memoryGrowthMbPerMin', async () => {
    const t = await startTarget({ ...FAST, memoryGrowthMbPerMin: 120 });
    await until('leaked_mb > 0', async () => (await health(t)).body.memory.leaked_mb > 0);
    await until('demo_leaked_bytes > 0', async () => (await metrics(t)).get('demo_leaked_bytes')! > 0);
  });

  it('a hung worker stops touching run/worker.lock while /health still answers', async () => {
    const t = await startTarget(FAST);
    const lock = join(t.dir, 'run/worker.lock');
    await until('lock file', () => existsSync(lock));
    const m0 = mtime(lock);
    await until('lock mtime advancing', () => mtime(lock) > m0);
    await until('jobs processed', async () => (await health(t)).body.worker.processed_total > 0);

    // Hang the worker through a config reload.
    const v0 = (await health(t)).body.config_version;
    writeConfig(t.dir, { ...FAST, worker: { ...FAST.worker, hang: true } });
    t.child.kill('SIGHUP');
    await until('reload', async () => (await health(t)).body.config_version !== v0);
    const hungHealth = await until('hung reported', async () => {
      const h = await health(t);
      return h.body.worker.hung ? h : undefined;
    });
    expect(hungHealth.code).toBe(200);
    expect(hungHealth.body.status).toBe('ok');
    const frozenMtime = mtime(lock);
    const frozenJobs = hungHealth.body.worker.processed_total;
    // Several worker intervals later nothing moved, yet the process is alive and serving.
    for (let i = 0; i < 5; i++) {
      await sleep(100);
      const h = await health(t);
      expect(h.code).toBe(200);
      expect(h.body.worker.processed_total).toBe(frozenJobs);
      expect(mtime(lock)).toBe(frozenMtime);
    }
    expect((await metrics(t)).get('demo_worker_hung')).toBe(1);
  });

  it('a worker configured hung from the start creates the lock once and never processes a job', async () => {
    const t = await startTarget({ ...FAST, worker: { ...FAST.worker, hang: true } });
    const lock = join(t.dir, 'run/worker.lock');
    expect(existsSync(lock)).toBe(true);
    const m0 = mtime(lock);
    await until('hung reported', async () => (await health(t)).body.worker.hung);
    const h = await health(t);
    expect(h.code).toBe(200);
    expect(h.body.worker.processed_total).toBe(0);
    expect(mtime(lock)).toBe(m0);
  });

  it.each([
    [
      { latencyMs: 'fast' },
      'demo-target: invalid config.json: latencyMs must be a number between 0 and 60000, got "fast"',
    ],
    [
      { errorRate: 1.5 },
      'demo-target: invalid config.json: errorRate must be a number between 0 and 1, got 1.5',
    ],
    [
      { worker: { enabled: 'yes' } },
      'demo-target: invalid config.json: worker.enabled must be a boolean (true or false), got "yes"',
    ],
    [
      { latencyMs: 20, colour: 'blue' },
      'demo-target: invalid config.json: unknown key "colour" (allowed: port, latencyMs, latencyJitterMs, errorRate, memoryGrowthMbPerMin, cacheSize, statsWindowMs, worker, logLevel)',
    ],
    [
      { logLevel: 'trace' },
      'demo-target: invalid config.json: logLevel must be "info" or "debug", got "trace"',
    ],
    [
      { cacheSize: 1.5 },
      'demo-target: invalid config.json: cacheSize must be an integer between 0 and 100000, got 1.5',
    ],
  ])('exits 2 on invalid config %j', async (config, message) => {
    const t = spawnTarget(config);
    const exit = await t.exited;
    expect(exit).toEqual({ code: 2, signal: null });
    expect(t.stderr()).toBe(`${message}\n`);
    expect(t.stdout()).not.toMatch(LISTENING);
    expect(existsSync(join(t.dir, 'run/demo.pid'))).toBe(false);
  });

  it('exits 2 on a config that is not JSON', async () => {
    const t = spawnTarget('{ "latencyMs": 20,');
    expect(await t.exited).toEqual({ code: 2, signal: null });
    expect(t.stderr()).toMatch(/^demo-target: invalid config\.json: not valid JSON \(.+\)\n$/);
  });

  it('accepts {} (every key has a default)', async () => {
    const t = await startTarget({});
    expect((await health(t)).body.status).toBe('ok');
  });

  it('SIGHUP with a changed config changes config_version', async () => {
    const t = await startTarget(FAST);
    const before = (await health(t)).body;
    writeConfig(t.dir, { ...FAST, cacheSize: 64 });
    t.child.kill('SIGHUP');
    const after = await until('new config_version', async () => {
      const h = await health(t);
      return h.body.config_version !== before.config_version ? h : undefined;
    });
    expect(after.code).toBe(200);
    expect(after.body.pid).toBe(before.pid);
    expect(after.body.config_version).toMatch(/^[0-9a-f]{12}$/);
    await until('reload line on stdout', () =>
      t.stdout().includes(`demo-target reloaded config ${after.body.config_version}`),
    );
  });

  it('SIGHUP with an invalid config exits 2 with the message', async () => {
    const t = await startTarget(FAST);
    writeConfig(t.dir, { ...FAST, latencyMs: 'fast' });
    t.child.kill('SIGHUP');
    expect(await t.exited).toEqual({ code: 2, signal: null });
    expect(t.stderr()).toBe(
      'demo-target: invalid config.json: latencyMs must be a number between 0 and 60000, got "fast"\n',
    );
    await expect(fetch(`${t.base}/health`)).rejects.toThrow();
  });

  it('SIGTERM exits cleanly and removes the pid file', async () => {
    const t = await startTarget(FAST);
    const pidFile = join(t.dir, 'run/demo.pid');
    expect(existsSync(pidFile)).toBe(true);
    t.child.kill('SIGTERM');
    expect(await t.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(pidFile)).toBe(false);
    expect(readFileSync(join(t.dir, 'logs/app.log'), 'utf8')).toMatch(
      / INFO received SIGTERM; shutting down$/m,
    );
  });
});
