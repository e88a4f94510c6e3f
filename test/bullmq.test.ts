import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock, SystemClock } from '../src/clock.js';
import { compose, type Runtime } from '../src/compose.js';
import { BullmqBackend, scheduleJobs } from '../src/daemon/bullmq/backend.js';
import { Queues } from '../src/daemon/bullmq/queues.js';
import { resolveRedis } from '../src/daemon/bullmq/redis-target.js';
import { OutageLog } from '../src/daemon/bullmq/redis.js';
import { syncSchedulers } from '../src/daemon/bullmq/schedules.js';
import { queueValidations } from '../src/daemon/bullmq/validations.js';
import { JobStore } from '../src/daemon/job-store.js';
import { coreJobs, type JobSpec } from '../src/daemon/jobs.js';
import { silentLogger } from '../src/logger.js';
import { submitProposal } from '../src/loop/submit.js';
import { spawnKaizen } from './helpers/cli.js';
import { skipWithoutRedis, startRedis, type RedisServer } from './helpers/redis.js';
import { proposal, targetFixture, type TargetFixture } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';

/*
 * The BullMQ backend against a real redis-server (started by the harness on a free loopback port),
 * real worker processes (`kaizen worker`, the built binary), a real target repo and
 * real signals. Each test gets its own key prefix, so tests sharing the server cannot see each other.
 */

let redis: RedisServer;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Poll `check` (real time) until it is true; fail with `what` after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newPrefix = () => `t${randomBytes(4).toString('hex')}`;

async function scene(options: {
  url?: string;
  signals?: Record<string, unknown>[];
  schedule?: Record<string, unknown>;
  redis?: Record<string, unknown>;
  target?: Record<string, unknown>;
}): Promise<{ fx: TargetFixture; rt: Runtime; prefix: string; url: string }> {
  const prefix = newPrefix();
  const url = options.url ?? redis.url;
  const fx = await targetFixture({
    config: {
      redis: { url, prefix, stallTimeout: '1s', ...options.redis },
      schedule: { observe: '1h', ...options.schedule },
      proposer: { provider: 'rules' },
    },
    ...(options.signals ? { signals: options.signals } : {}),
    ...(options.target ? { target: options.target } : {}),
  });
  const rt = fx.runtime(new SystemClock());
  cleanups.push(() => rt.close());
  return { fx, rt, prefix, url };
}

async function backend(rt: Runtime, schedule: boolean): Promise<BullmqBackend> {
  const b = new BullmqBackend({ ...rt, breakers: new Map(), env: {} }, coreJobs(rt.config), {
    redis: resolveRedis(rt.config, {})!,
    schedule,
  });
  cleanups.push(() => b.stop(0));
  await b.start();
  return b;
}

/** A client and queue handles for looking into Redis from the test. */
function inspect(url: string, prefix: string) {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const opened: Queue[] = [];
  cleanups.push(async () => {
    await Promise.all(opened.map((q) => q.close()));
    connection.disconnect();
  });
  return {
    connection,
    queue(name: string): Queue {
      const q = new Queue(name, { connection, prefix });
      opened.push(q);
      return q;
    },
    queues: new Queues(
      connection,
      prefix,
      new OutageLog(silentLogger(), resolveRedis({ redis: { url } } as never, {})!),
    ),
  };
}

interface Child {
  process: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

/** `kaizen worker` as a real child process; resolves once it says it is working. */
async function worker(fx: TargetFixture, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  // A worker takes its clock from the daemon through Redis, whatever KAIZEN_CLOCK_START says.
  const child = spawnKaizen(['worker', '-c', fx.configPath, ...args], {
    clock: 'system',
    env: { KAIZEN_LOG_LEVEL: 'warn', ...env },
  });
  child.stdin.end();
  child.stdout.resume();
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  await until(`kaizen worker to start (stderr so far: ${err})`, () => {
    if (child.exitCode !== null) throw new Error(`kaizen worker exited ${child.exitCode}: ${err}`);
    return err.includes('kaizen worker: ') && err.includes(' working ');
  });
  return { process: child, stderr: () => err, exited };
}

const samples = (rt: Runtime) => rt.store.db.prepare('SELECT COUNT(*) FROM samples').pluck().get() as number;

/** One real signal whose sample takes `seconds` and notes each start in `dir`/started.log. */
function slowSignal(dir: string, seconds: number): Record<string, unknown> {
  const log = path.join(dir, 'started.log');
  return {
    name: 'slow_count',
    source: {
      kind: 'command',
      shell: true,
      command: `echo started >> '${log}'; sleep ${seconds}; echo 1`,
      timeout: '20s',
    },
    unit: 'count',
    direction: 'higher_is_better',
  };
}

const startedLines = (dir: string) => {
  try {
    return readFileSync(path.join(dir, 'started.log'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe.skipIf(skipWithoutRedis())('the BullMQ backend on a real redis-server', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it('puts every configured job on a Redis job scheduler and runs it through the same job code, recorded in scheduled_jobs', async () => {
    const cheap = {
      name: 'lock_age',
      source: { kind: 'file-age', path: 'app.lock', ifMissing: 'zero' },
      unit: 's',
      direction: 'lower_is_better',
    };
    const { rt, prefix, url } = await scene({ signals: [cheap], schedule: { observe: '300ms' } });

    const b = await backend(rt, true);
    await until('three observe runs', () => samples(rt) >= 3);

    const look = inspect(url, prefix);
    const schedulers = async (q: string) =>
      (await look.queue(q).getJobSchedulers(0, -1)).map((s) => [s.key, s.every ?? s.pattern]);
    expect(await schedulers('observe')).toEqual([['observe:app', 300]]);
    expect((await schedulers('mutate')).sort()).toEqual([
      ['propose:app', 300],
      ['validate', 30_000],
    ]);
    expect(await schedulers('distill')).toEqual([['distill', '0 3 * * *']]);
    expect(await schedulers('review')).toEqual([['review', '0 6 * * 1']]);
    const rows = new JobStore(rt.store.db).list();
    expect(rows.map((r) => r.key).sort()).toEqual(
      coreJobs(rt.config)
        .map((j) => j.key)
        .sort(),
    );
    const observe = rows.find((r) => r.key === 'observe:app')!;
    expect(observe.lastStatus).toBe('ok');
    expect(observe.lastRunAt).not.toBeNull();
    await until(
      'the propose tick recorded',
      () => new JobStore(rt.store.db).get('propose:app')?.lastStatus === 'ok',
    );
    const done = await look.queue('observe').getCompleted();
    expect(done[0]!.processedBy).toBe(b.workerName);
    expect(done[0]!.returnvalue).toBe('sampled 1 signal(s)');

    // A second start upserts nothing new; a job no longer configured loses its scheduler.
    const again = await syncSchedulers(look.queues, coreJobs(rt.config), rt.clock, silentLogger());
    expect(again).toEqual({ added: [], updated: [], removed: [] });
    const fewer = coreJobs(rt.config).filter((j) => j.key !== 'review');
    expect(await syncSchedulers(look.queues, fewer, rt.clock, silentLogger())).toEqual({
      added: [],
      updated: [],
      removed: ['review'],
    });
    expect(await schedulers('review')).toEqual([]);
  }, 60_000);

  it('queues one delayed validation per applied intervention under a deterministic id, and judges it once when its window ends', async () => {
    const { rt, prefix, url } = await scene({});
    const { intervention } = await submitProposal(rt, {
      target: 'app',
      proposal: proposal({ validationWindow: '3s' }),
      origin: 'test',
      actor: 'tester',
    });
    expect(intervention.state).toBe('applied');
    const look = inspect(url, prefix);
    const mutate = look.queue('mutate');

    await queueValidations(rt, look.queues);
    await queueValidations(rt, look.queues);

    const queued = await mutate.getJobs(['delayed', 'waiting', 'active']);
    expect(queued.map((j) => j.id)).toEqual([`validate-${intervention.id}`]);
    expect(queued[0]!.opts.delay).toBeGreaterThan(1_000);
    expect(queued[0]!.opts.delay).toBeLessThanOrEqual(3_000);

    // Run early on purpose: the worker sees the window still open and puts the job back.
    await backend(rt, false);
    await queued[0]!.promote();
    await until(
      'the early job back in delayed',
      async () => (await mutate.getJobState(queued[0]!.id!)) === 'delayed',
    );
    expect(rt.store.interventions.get(intervention.id).state).toBe('applied');

    await until('the verdict', () => rt.store.interventions.get(intervention.id).state !== 'applied', 15_000);
    await until('the job completed', async () => (await mutate.getJobState(queued[0]!.id!)) === 'completed');
    const job = (await mutate.getJob(`validate-${intervention.id}`))!;
    expect(job.returnvalue).toBe(
      `judged ${intervention.id} ${rt.store.interventions.get(intervention.id).state}`,
    );
    // Started twice (early, then on time), one attempt spent, never failed.
    expect([job.attemptsStarted, job.attemptsMade, job.stacktrace]).toEqual([2, 1, []]);
    const verdicts = rt.store.interventions.history(intervention.id).filter((h) => h.from === 'applied');
    expect(verdicts).toHaveLength(1);

    // Judged: a later scan queues nothing for it.
    await queueValidations(rt, look.queues);
    expect(await mutate.getJobs(['delayed', 'waiting'])).toEqual([]);
  }, 60_000);

  it('under --time-scale a worker follows the clock the daemon published: its samples carry the daemon’s time', async () => {
    const cheap = {
      name: 'lock_age',
      source: { kind: 'file-age', path: 'app.lock', ifMissing: 'zero' },
      unit: 's',
      direction: 'lower_is_better',
    };
    const { fx, rt: plain, prefix, url } = await scene({ signals: [cheap] });
    // The daemon's clock runs 60 times faster than real time, from a day years away.
    const clock = new ScaledClock(60, Date.UTC(2030, 0, 7, 9, 0, 0));
    const rt = compose(plain.config, { clock, logger: silentLogger() });
    cleanups.push(() => rt.close());
    const look = inspect(url, prefix);
    await scheduleJobs(rt, look.queues, coreJobs(rt.config));

    const w = await worker(fx);
    await until('a sample', () => samples(rt) >= 1);

    expect(w.stderr()).toContain("on the daemon's clock, 60× faster than real time");
    const t = rt.store.db.prepare('SELECT MAX(t) FROM samples').pluck().get() as number;
    expect(Math.abs(t - clock.now())).toBeLessThan(60 * 5_000);
    // Observe every hour of the clock is every minute of real time.
    expect((await look.queue('observe').getJobSchedulers(0, -1)).map((s) => s.every)).toEqual([60_000]);
  }, 60_000);

  it('runExclusive waits for the running mutating job and holds the next one back until it is done', async () => {
    const { rt, prefix, url } = await scene({});
    const events: string[] = [];
    // A stand-in for a slow propose: what matters is that it may commit.
    const slow: JobSpec = {
      key: 'slow',
      kind: 'propose',
      schedule: { everyMs: 3_600_000 },
      mutates: true,
      run: async () => {
        events.push('job start');
        await sleep(600);
        events.push('job end');
        return 'ok';
      },
    };
    const b = new BullmqBackend({ ...rt, breakers: new Map(), env: {} }, [slow], {
      redis: resolveRedis(rt.config, {})!,
      schedule: false,
    });
    cleanups.push(() => b.stop(0));
    await b.start();
    const mutate = inspect(url, prefix).queue('mutate');

    await mutate.add('slow', { key: 'slow' });
    await until('the job to start', () => events.includes('job start'));
    await b.runExclusive(async () => {
      events.push('exclusive start');
      await mutate.add('slow', { key: 'slow' });
      await sleep(600);
      events.push('exclusive end');
    });
    await until('the second job', () => events.filter((e) => e === 'job end').length === 2);

    expect(events).toEqual([
      'job start',
      'job end',
      'exclusive start',
      'exclusive end',
      'job start',
      'job end',
    ]);
  }, 60_000);

  it('a worker killed mid-job: another worker recovers the job, which completes exactly once', async () => {
    const logs = tempDir();
    const { fx, rt, prefix, url } = await scene({ signals: [slowSignal(logs, 3)] });
    const look = inspect(url, prefix);

    const a = await worker(fx, ['--concurrency', '1']);
    // Schedule as `kaizen run` does at start, but from the test: only the workers run jobs.
    await scheduleJobs(rt, look.queues, coreJobs(rt.config));
    await until('worker A to start the slow sample', () => startedLines(logs) === 1);
    a.process.kill('SIGKILL');
    await a.exited;

    const b = await worker(fx, ['--concurrency', '1']);
    await until('the sample taken by worker B', () => samples(rt) >= 1, 25_000);
    await sleep(1_500); // long enough for a second completion, if there were one

    expect(startedLines(logs)).toBe(2);
    expect(samples(rt)).toBe(1);
    const done = await look.queue('observe').getCompleted();
    expect(done).toHaveLength(1);
    expect(done[0]!.stalledCounter).toBe(1);
    expect(done[0]!.processedBy).toBe(`worker@${os.hostname()}:${b.process.pid}`);
    expect(new JobStore(rt.store.db).get('observe:app')?.lastStatus).toBe('ok');
  }, 60_000);

  it('a worker killed in the middle of an apply: the next mutating job, on another worker, finishes the apply once', async () => {
    const cacheRule = {
      name: 'cache_off',
      when: { signal: 'latency_ms', condition: 'below', value: 1, for: '2m' },
      propose: {
        title: 'Turn the cache on',
        area: 'cache',
        kind: 'config_set',
        changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
        hypothesis: 'The cache is off ({{signal}} = {{value}}).',
        prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.3 },
        risk: 'low',
        rollback: 'git revert',
      },
    };
    const { fx, rt, prefix, url } = await scene({ target: { rules: [cacheRule] } });
    const latency = rt.store.catalog.sync(rt.config.targets[0]!, rt.clock.now()).get('latency_ms')!.id;
    const now = rt.clock.now();
    // Ten minutes of zeros up to now: the rule's two-minute window is full when a worker looks.
    rt.store.samples.insert(
      Array.from({ length: 41 }, (_, i) => ({ signalId: latency, t: now - 600_000 + i * 15_000, value: 0 })),
    );
    const look = inspect(url, prefix);
    const mutate = look.queue('mutate');

    // Worker A applies the rule's change and dies (SIGKILL, no cleanup) right after the push.
    const a = await worker(fx, ['--concurrency', '1'], { KAIZEN_FAULT: 'after-push' });
    await scheduleJobs(rt, look.queues, coreJobs(rt.config));
    expect(await a.exited).toBeNull();
    const [stuck] = rt.store.interventions.list({ states: ['applying'] });
    expect(stuck).toBeDefined();
    expect(await look.connection.get(`${prefix}:mutating`)).toMatch(/^worker@/);

    await worker(fx, ['--concurrency', '1']);
    await until(
      'the apply finished',
      () => rt.store.interventions.get(stuck!.id).state !== 'applying',
      25_000,
    );
    await until('the marker cleared', async () => (await look.connection.get(`${prefix}:mutating`)) === null);

    expect(rt.store.interventions.get(stuck!.id).state).toBe('applied');
    expect(JSON.parse(fx.read('config.json')).cacheSize).toBe(200);
    const commits = fx.git('log', '--format=%H', '--grep', `Kaizen-Intervention: ${stuck!.id}`).split('\n');
    expect(commits).toHaveLength(1);
    expect(fx.git('ls-remote', 'origin', 'main').split('\t')[0]).toBe(commits[0]);
    expect(rt.store.events.list({ kind: 'recovery' }).map((e) => e.interventionId)).toEqual([stuck!.id]);
    await until('the killed propose job completed', async () =>
      (await mutate.getCompleted()).some((j) => j.data.key === 'propose:app'),
    );
    const proposeJobs = (await mutate.getCompleted()).filter((j) => j.data.key === 'propose:app');
    expect(proposeJobs).toHaveLength(1);
    expect(proposeJobs[0]!.stalledCounter).toBe(1);
  }, 60_000);

  it('two workers share the queues: both run jobs, none runs twice, and SIGTERM stops each cleanly', async () => {
    const logs = tempDir();
    const { fx, rt, prefix, url } = await scene({
      signals: [slowSignal(logs, 0.4)],
      schedule: { observe: '150ms' },
    });
    const look = inspect(url, prefix);
    const a = await worker(fx, ['--concurrency', '1']);
    const b = await worker(fx, ['--concurrency', '1']);

    await scheduleJobs(rt, look.queues, coreJobs(rt.config));
    const observe = look.queue('observe');
    const processedBy = async () => new Set((await observe.getCompleted(0, -1)).map((j) => j.processedBy));
    await until('both workers to complete observe jobs', async () => (await processedBy()).size === 2);
    // Stop making jobs, let the queue drain, then compare.
    await syncSchedulers(look.queues, [], rt.clock, silentLogger());
    await until('the observe queue drained', async () => {
      const c = await observe.getJobCounts('active', 'waiting', 'delayed');
      return (c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) === 0;
    });

    const done = await observe.getCompleted(0, -1);
    expect(new Set(done.map((j) => j.id)).size).toBe(done.length);
    expect(samples(rt)).toBe(done.length);
    expect(startedLines(logs)).toBe(done.length);
    expect([...(await processedBy())].sort()).toEqual(
      [a, b].map((w) => `worker@${os.hostname()}:${w.process.pid}`).sort(),
    );

    a.process.kill('SIGTERM');
    b.process.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(a.stderr()).toContain('kaizen worker: stopped cleanly');
  }, 60_000);
});

describe.skipIf(skipWithoutRedis())('the BullMQ backend across a Redis restart', () => {
  it('workers reconnect after redis-server restarts on the same port and data, and scheduled jobs keep running', async () => {
    const persistent = await startRedis({ persistent: true });
    cleanups.push(() => persistent.dispose());
    const cheap = {
      name: 'lock_age',
      source: { kind: 'file-age', path: 'app.lock', ifMissing: 'zero' },
      unit: 's',
      direction: 'lower_is_better',
    };
    const { fx, rt, prefix } = await scene({
      url: persistent.url,
      signals: [cheap],
      schedule: { observe: '200ms' },
    });
    await backend(rt, true);
    const child = await worker(fx);
    await until('samples before the restart', () => samples(rt) >= 3);

    await persistent.stop();
    await sleep(1_000);
    const during = samples(rt);
    await persistent.start();

    await until('samples after the restart', () => samples(rt) >= during + 5, 25_000);
    expect(child.process.exitCode).toBeNull();
    const look = inspect(persistent.url, prefix);
    expect((await look.queue('observe').getJobSchedulers(0, -1)).map((s) => s.key)).toEqual(['observe:app']);
    expect(new JobStore(rt.store.db).get('observe:app')?.lastStatus).toBe('ok');
  }, 60_000);

  it('a worker told to stop while Redis is down still stops, and says so', async () => {
    const persistent = await startRedis();
    cleanups.push(() => persistent.dispose());
    const { fx } = await scene({ url: persistent.url });
    const child = await worker(fx);

    await persistent.stop();
    child.process.kill('SIGTERM');
    const code = await child.exited; // a worker waiting on Redis for ever would fail this test on its timeout

    expect(code).toBe(0);
    expect(child.stderr()).toContain('kaizen worker: stopped cleanly');
  }, 60_000);
});
