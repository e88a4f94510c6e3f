import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { LOCK_FILE, runDaemon, type DaemonOptions, type RunningDaemon } from '../src/daemon/daemon.js';
import type { JobContribution } from '../src/daemon/jobs.js';
import { JobStore } from '../src/daemon/job-store.js';
import { submitProposal } from '../src/loop/submit.js';
import { spawnKaizen } from './helpers/cli.js';
import { requireRedis, skipWithoutRedis, startRedis } from './helpers/redis.js';
import { holdLease, idleProcess } from './helpers/lease.js';
import { proposal, targetFixture } from './helpers/target.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

const stops: (() => Promise<unknown>)[] = [];
const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  for (const rt of runtimes.splice(0)) rt.close();
});

/** Wait (real time) until nothing runs and the loop has parked itself on the clock. */
async function settle(clock: SimulatedClock, d: RunningDaemon): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (d.scheduler.runningJobs().length === 0 && clock.pending > 0) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`jobs still running: ${d.scheduler.runningJobs().join(', ')}`);
}

/** `kaizen run` as a real process without provider keys, killed after the test if it still runs. */
function kaizenRun(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawnKaizen(['run', ...args], {
    clock: 'system',
    env: { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', ...env },
  });
  stops.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Poll (real time) until `ok`; fails after 10 s. */
async function realTimeUntil(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

/** Move the clock `ms` forward in `step`s, letting every job that comes due run to its end. */
async function pass(clock: SimulatedClock, d: RunningDaemon, ms: number, step = MIN): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(Math.min(step, ms - t));
    await settle(clock, d);
  }
}

/** The daemon in this process; `settled`: wait until the jobs due at start have run. */
async function start(
  rt: Runtime,
  clock: SimulatedClock,
  options: Partial<DaemonOptions> = {},
  settled = true,
) {
  const stop = new AbortController();
  let ready!: (d: RunningDaemon) => void;
  const up = new Promise<RunningDaemon>((r) => (ready = r));
  const exited = runDaemon(rt, {
    env: {},
    signal: stop.signal,
    shutdownGraceMs: 0,
    onReady: (d) => ready(d),
    ...options,
  });
  stops.push(async () => {
    stop.abort();
    await exited.catch(() => undefined);
  });
  const daemon = await Promise.race([up, exited.then(() => Promise.reject(new Error('the daemon exited')))]);
  if (settled) await settle(clock, daemon);
  return {
    daemon,
    stop: async () => {
      stop.abort();
      return exited;
    },
  };
}

async function scene(schedule: Record<string, unknown> = {}) {
  const fx = await targetFixture({
    config: {
      schedule: { observe: '5m', propose: '1h', ...schedule },
      proposer: { provider: 'rules' },
      server: { port: 0 },
    },
  });
  const clock = new SimulatedClock('2026-11-02T01:00:00Z');
  const rt = fx.runtime(clock);
  runtimes.push(rt);
  return { fx, clock, rt };
}

const samples = (rt: Runtime) => rt.store.db.prepare('SELECT COUNT(*) FROM samples').pluck().get() as number;

describe('kaizen run: the embedded scheduler', () => {
  it('starts while another live kaizen holds a target mid-apply: that apply is left to its holder, and the jobs run', async () => {
    const { fx, clock, rt } = await scene();
    const { intervention: pending } = await submitProposal(
      rt,
      { target: 'app', proposal: proposal(), origin: 'test', actor: 'tester' },
      { apply: false },
    );
    const holder = await idleProcess();
    holdLease(rt.store, 'app', {
      pid: holder.pid,
      acquiredAt: clock.now(),
      heartbeatAt: clock.world.now(),
      doing: `applying ${pending.id}`,
      interventionId: pending.id,
    });
    const head = fx.git('rev-parse', 'HEAD');

    const { stop } = await start(rt, clock);
    const exit = await stop();

    expect(exit.recovered).toBe(0);
    expect(rt.store.interventions.get(pending.id).state).toBe('applying');
    expect(fx.git('rev-parse', 'HEAD')).toBe(head);
    expect(fx.deploys()).toBe(0);
    expect(new JobStore(rt.store.db).get('propose:app')).toMatchObject({ lastStatus: 'ok' });
    expect(samples(rt)).toBe(2);
  });

  it('runs each job on its schedule, keeps next-run times in SQLite, and a restart neither loses nor doubles a run', async () => {
    const { clock, rt } = await scene();
    const first = await start(rt, clock);
    // At start every interval job runs once: 2 signals sampled.
    expect(samples(rt)).toBe(2);
    await pass(clock, first.daemon, 15 * MIN);
    expect(samples(rt)).toBe(8); // t = 0, 5, 10, 15 min
    const jobs = new JobStore(rt.store.db);
    expect(jobs.get('observe:app')).toMatchObject({
      lastStatus: 'ok',
      nextRunAt: clock.now() + 5 * MIN,
      runningSince: null,
    });
    await first.stop();

    // Two minutes later a new process starts: observe is not due for three more minutes.
    await clock.advance(2 * MIN);
    const second = await start(rt, clock);
    expect(samples(rt)).toBe(8);
    await pass(clock, second.daemon, 3 * MIN);
    expect(samples(rt)).toBe(10);
    await second.stop();
  });

  it('runs a nightly job missed while it was down once on start, then at its time', async () => {
    const { clock, rt } = await scene({ distill: '0 3 * * *' });
    const first = await start(rt, clock); // 01:00 UTC
    const jobs = new JobStore(rt.store.db);
    expect(jobs.get('distill')!.nextRunAt).toBe(Date.parse('2026-11-02T03:00:00Z'));
    await first.stop();

    await clock.set('2026-11-02T09:00:00Z'); // kaizen was down at 03:00
    const second = await start(rt, clock);
    expect(rt.store.distill.list()).toHaveLength(1);
    expect(jobs.get('distill')!.nextRunAt).toBe(Date.parse('2026-11-03T03:00:00Z'));
    await pass(clock, second.daemon, 2 * HOUR, 30 * MIN);
    expect(rt.store.distill.list()).toHaveLength(1);
    await second.stop();
  });

  it('runs a job a crash left marked as running again on the next start, and says so', async () => {
    const { clock, rt } = await scene();
    const first = await start(rt, clock);
    await first.stop();
    const jobs = new JobStore(rt.store.db);
    // As a SIGKILL in the middle of a distill leaves it.
    rt.store.db
      .prepare("UPDATE scheduled_jobs SET running_since = ?, next_run_at = ? WHERE key = 'distill'")
      .run(clock.now(), clock.now() + 10 * HOUR);
    const exit = start(rt, clock);
    const second = await exit;
    expect(rt.store.distill.list()).toHaveLength(1);
    expect(jobs.get('distill')).toMatchObject({ lastStatus: 'ok', runningSince: null });
    const done = await second.stop();
    expect(done.interrupted).toEqual(['distill']);
  });

  it('beats the heartbeat on time while slow jobs hold every slot and others wait for one', async () => {
    const { clock, rt } = await scene();
    let beats = 0;
    let running = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow: JobContribution = () =>
      [1, 2].map((n) => ({
        key: `slow:${n}`,
        kind: 'review' as const,
        schedule: { everyMs: HOUR },
        mutates: false,
        run: async () => {
          running++;
          await held;
          return 'done';
        },
      }));
    stops.push(async () => release()); // before the daemon's own stop, which waits for them
    const { daemon } = await start(
      rt,
      clock,
      { maxConcurrent: 2, heartbeatMs: 20_000, onHeartbeat: () => void beats++, contributions: [slow] },
      false,
    );
    await realTimeUntil('both slow jobs hold a slot', () => running === 2);
    const jobs = new JobStore(rt.store.db);
    const waiting = jobs.get('validate')!;
    expect(waiting.nextRunAt).toBeLessThanOrEqual(clock.now()); // due, and held back by the limit

    const before = beats;
    for (let n = 1; n <= 6; n++) {
      await clock.advance(20_000);
      await realTimeUntil(`heartbeat ${n}`, () => beats >= before + n);
    }
    expect(beats - before).toBe(6);
    expect(daemon.scheduler.runningJobs().sort()).toEqual(['slow:1', 'slow:2']);
    expect(jobs.get('validate')!.lastRunAt).toBe(waiting.lastRunAt); // still waiting

    release();
    await settle(clock, daemon);
    expect(jobs.get('validate')!.lastRunAt).toBeGreaterThan(waiting.nextRunAt - 1);
  });

  it('refuses a second daemon on the same data folder, naming the pid and the lock', async () => {
    const { clock, rt, fx } = await scene();
    const first = await start(rt, clock);
    const other = fx.runtime(clock);
    runtimes.push(other);
    await expect(runDaemon(other, { env: {}, signal: new AbortController().signal })).rejects.toThrow(
      `another kaizen is already running on ${rt.config.dataDir} (pid ${process.pid}, lock ${path.join(rt.config.dataDir, LOCK_FILE)}): stop it first, or point this one at another dataDir`,
    );
    await first.stop();
    expect(existsSync(path.join(rt.config.dataDir, LOCK_FILE))).toBe(false);
  });

  it('takes over the lock of a process that died', async () => {
    const { clock, rt } = await scene();
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(path.join(rt.config.dataDir, LOCK_FILE), `${dead.pid}\n`);
    const d = await start(rt, clock);
    expect(readFileSync(path.join(rt.config.dataDir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    await d.stop();
  });
});

describe('kaizen run as a process', () => {
  it('starts, works on a compressed clock, and stops cleanly on SIGTERM', async () => {
    const { fx, rt: watch } = await scene();
    const child = kaizenRun(['-c', fx.configPath, '--time-scale', '600'], { KAIZEN_LOG_LEVEL: 'warn' });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 400 && !err.includes('kaizen: provider'); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(err).toMatch(
      /kaizen: running \d+ job\(s\) for app from .*kaizen\.yaml on a clock 600× faster than real time/,
    );
    expect(err).toContain('kaizen: provider: rules is configured');
    // 5-minute observe ticks at 600×: one every 0.5 s of real time, two signals each.
    for (let i = 0; i < 800 && samples(watch) < 6; i++) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toContain('kaizen: SIGTERM: stopping');
    expect(err).toContain('kaizen: stopped cleanly');
    const rt = fx.runtime();
    runtimes.push(rt);
    expect(samples(rt)).toBeGreaterThanOrEqual(6);
    expect(existsSync(path.join(rt.config.dataDir, LOCK_FILE))).toBe(false);
  });

  it('says when sampling cannot keep up with a time scale too high for the machine', async () => {
    // A signal that takes 200 ms of real time to read, due every minute at 600×: every 100 ms.
    const fx = await targetFixture({
      config: { schedule: { observe: '1m' }, proposer: { provider: 'rules' }, server: { port: 0 } },
      signals: [
        {
          name: 'queue_depth',
          source: { kind: 'command', command: ['sh', '-c', 'sleep 0.2; echo 1'] },
          unit: 'jobs',
          direction: 'lower_is_better',
        },
      ],
    });
    const child = kaizenRun(['-c', fx.configPath, '--time-scale', '600'], { KAIZEN_LOG_LEVEL: 'warn' });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 800 && !err.includes('observe:app cannot keep up'); i++)
      await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const warning = err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { job?: string; msg: string })
      .find((l) => l.job === 'observe:app');
    expect(warning?.msg).toMatch(
      /^observe:app cannot keep up: 3 runs in a row, due every 60000 ms \(clock time\), ended a whole interval late \(the last by \d+ ms\); lengthen its interval or lower --time-scale$/,
    );
  }, 60_000);

  it.skipIf(skipWithoutRedis())(
    'runs its jobs on BullMQ when KAIZEN_REDIS_URL is set, and says so',
    async () => {
      requireRedis();
      const redis = await startRedis();
      stops.push(() => redis.dispose());
      const { fx, rt: watch } = await scene();
      const child = kaizenRun(['-c', fx.configPath, '--time-scale', '600'], {
        KAIZEN_REDIS_URL: redis.url,
        KAIZEN_LOG_LEVEL: 'info',
      });
      let err = '';
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      for (let i = 0; i < 400 && !err.includes('kaizen: running'); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(err).toContain(`"backend":"bullmq at 127.0.0.1:${redis.port}"`);
      for (let i = 0; i < 800 && samples(watch) < 4; i++) await new Promise((r) => setTimeout(r, 25));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const rt = fx.runtime();
      runtimes.push(rt);
      expect(samples(rt)).toBeGreaterThanOrEqual(4);
      expect(new JobStore(rt.store.db).get('observe:app')?.lastStatus).toBe('ok');
    },
  );

  it('refuses a bad --time-scale', async () => {
    const { fx } = await scene();
    const child = kaizenRun(['-c', fx.configPath, '--time-scale', 'fast']);
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(64);
    expect(err).toBe('kaizen: --time-scale "fast": expected a number from 1 to 100000\n');
  });
});
