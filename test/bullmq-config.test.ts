import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ScaledClock, SystemClock } from '../src/clock.js';
import { probeRedis } from '../src/daemon/bullmq/redis.js';
import { describeRedis, resolveRedis } from '../src/daemon/bullmq/redis-target.js';
import { concurrencyOf, jobOptions, MUTATE_QUEUE, queueOf } from '../src/daemon/bullmq/queues.js';
import { repeatOf } from '../src/daemon/bullmq/schedules.js';
import { coreJobs } from '../src/daemon/jobs.js';
import { ConfigError, RedisUnavailableError } from '../src/errors.js';
import { runCli } from './helpers/cli.js';
import { writeConfig } from './helpers/config.js';

/*
 * Choosing and reaching the BullMQ backend, without a Redis: which URL wins, what a person reads
 * when it is missing, malformed or unreachable (never the password), and how clock durations
 * become BullMQ's wall-clock delays under --time-scale.
 */

const HOUR = 3_600_000;

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('which Redis, if any', () => {
  it('uses the embedded scheduler when neither redis.url nor KAIZEN_REDIS_URL is set', () => {
    expect(resolveRedis(writeConfig(), {})).toBeUndefined();
  });

  it('takes redis.url from the config, and KAIZEN_REDIS_URL over it', () => {
    const config = writeConfig({ redis: { url: 'redis://queue.internal:6390/2' } });

    expect(resolveRedis(config, {})).toEqual({
      url: 'redis://queue.internal:6390/2',
      from: 'redis.url',
      where: 'queue.internal:6390',
    });
    expect(resolveRedis(config, { KAIZEN_REDIS_URL: 'redis://:pw@10.0.0.5/0' })).toEqual({
      url: 'redis://:pw@10.0.0.5/0',
      from: 'KAIZEN_REDIS_URL',
      where: '10.0.0.5:6379',
    });
  });

  it('describes a URL by host and port only, never user or password', () => {
    expect(describeRedis('redis://kaizen:hunter2@cache.example:7000/3')).toBe('cache.example:7000');
    expect(describeRedis('rediss://:hunter2@cache.example')).toBe('cache.example:6379');
  });

  it('refuses a malformed KAIZEN_REDIS_URL without echoing it', () => {
    const run = () => resolveRedis(writeConfig(), { KAIZEN_REDIS_URL: 'http://user:hunter2@host:6379' });

    expect(run).toThrow(ConfigError);
    expect(run).toThrow(
      'KAIZEN_REDIS_URL: expected a Redis URL such as redis://127.0.0.1:6379/0 (or rediss:// for TLS)',
    );
    expect(run).not.toThrow(/hunter2/);
  });

  it('refuses a malformed redis.url in the config by line and key, without echoing it', () => {
    const run = () => writeConfig({ redis: { url: 'redis//:hunter2@nowhere' } });

    expect(run).toThrow(
      /kaizen\.yaml:\d+ redis\.url: expected a Redis URL such as redis:\/\/127\.0\.0\.1:6379\/0/,
    );
    expect(run).not.toThrow(/hunter2/);
  });

  it('refuses an unknown queue in redis.concurrency, listing the known ones', () => {
    expect(() => writeConfig({ redis: { concurrency: { obsrve: 2 } } })).toThrow(
      /redis\.concurrency.*obsrve/,
    );
  });
});

describe('reaching Redis', () => {
  it('names host:port and what went wrong when nothing listens there, and never the password', async () => {
    const port = await deadPort();
    const target = resolveRedis(writeConfig(), { KAIZEN_REDIS_URL: `redis://:hunter2@127.0.0.1:${port}/0` })!;

    const err = await probeRedis(target).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toBe(
      `cannot reach Redis at 127.0.0.1:${port} (from KAIZEN_REDIS_URL): connect ECONNREFUSED 127.0.0.1:${port}; start redis-server there or fix the URL`,
    );
  });
});

describe('kaizen worker: errors a person reads', () => {
  it('needs a Redis URL', async () => {
    const config = writeConfig();

    const r = await runCli('worker', '-c', config.configPath);

    expect(r.code).toBe(78);
    expect(r.err).toBe(
      `kaizen: kaizen worker needs redis.url in the config (${config.configPath}) or KAIZEN_REDIS_URL\n`,
    );
  });

  it('says which Redis it cannot reach, without the password', async () => {
    const port = await deadPort();
    const config = writeConfig({ redis: { url: `redis://kaizen:hunter2@127.0.0.1:${port}/0` } });

    const r = await runCli('worker', '-c', config.configPath);

    expect(r.code).toBe(69);
    expect(r.err).toBe(
      `kaizen: cannot reach Redis at 127.0.0.1:${port} (from redis.url): connect ECONNREFUSED 127.0.0.1:${port}; start redis-server there or fix the URL\n`,
    );
    expect(r.err).not.toContain('hunter2');
  });

  it.each(['0', '65', 'two', '1.5'])('refuses --concurrency %s', async (n) => {
    const r = await runCli('worker', '--concurrency', n);

    expect(r.code).toBe(64);
    expect(r.err).toBe(`kaizen: --concurrency "${n}": expected a whole number from 1 to 64\n`);
  });
});

describe('queues and schedules', () => {
  const config = writeConfig({ schedule: { observe: '5m' }, redis: { concurrency: { observe: 8 } } });
  const jobs = coreJobs(config);
  const byKey = (key: string) => jobs.find((j) => j.key === key)!;

  it('sends every job that may commit to the one mutating queue, the others to their kind', () => {
    expect(Object.fromEntries(jobs.map((j) => [j.key, queueOf(j)]))).toMatchObject({
      'observe:app': 'observe',
      'propose:app': MUTATE_QUEUE,
      validate: MUTATE_QUEUE,
      distill: 'distill',
      review: 'review',
    });
    for (const j of jobs) expect(queueOf(j)).toBe(j.mutates ? MUTATE_QUEUE : j.kind);
  });

  it('runs one mutating job at a time whatever is configured; others as configured or overridden', () => {
    expect(concurrencyOf(MUTATE_QUEUE, config, 16)).toBe(1);
    expect(concurrencyOf('observe', config)).toBe(8);
    expect(concurrencyOf('observe', config, 2)).toBe(2);
    expect(concurrencyOf('distill', config)).toBe(1);
    expect(concurrencyOf('heartbeat', config)).toBe(1);
  });

  it('repeats interval jobs every interval and calendar jobs on their cron, in real time', () => {
    const clock = new SystemClock();

    expect(repeatOf(byKey('observe:app').schedule, clock)).toEqual({ every: 300_000 });
    expect(repeatOf(byKey('distill').schedule, clock)).toEqual({ pattern: '0 3 * * *', tz: 'UTC' });
  });

  it('divides intervals by the time scale, and turns a cron into an interval from its next run on the scaled clock', () => {
    // 01:00 UTC on the clock; the nightly distill is due at 03:00, two clock hours away.
    const clock = new ScaledClock(60, Date.UTC(2026, 10, 2, 1, 0, 0));

    const before = Date.now();
    const distill = repeatOf(byKey('distill').schedule, clock);

    expect(repeatOf(byKey('observe:app').schedule, clock)).toEqual({ every: 5_000 });
    expect(distill.every).toBe((24 * HOUR) / 60);
    expect(distill.startDate).toBeGreaterThanOrEqual(before + (2 * HOUR) / 60 - 50);
    expect(distill.startDate).toBeLessThanOrEqual(Date.now() + (2 * HOUR) / 60);
  });

  it('retries interval jobs once soon and calendar jobs from five minutes, on the scaled clock too', () => {
    expect(jobOptions(byKey('observe:app'), new SystemClock())).toMatchObject({
      attempts: 2,
      backoff: { type: 'exponential', delay: 5_000 },
    });
    expect(jobOptions(byKey('distill'), new ScaledClock(10))).toMatchObject({
      attempts: 4,
      backoff: { type: 'exponential', delay: 30_000 },
    });
  });
});
