import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { SystemClock } from '../src/clock.js';
import { compose } from '../src/compose.js';
import { loadConfig } from '../src/config/load.js';
import { BullmqBackend } from '../src/daemon/bullmq/backend.js';
import { MUTATE_QUEUE } from '../src/daemon/bullmq/queues.js';
import { resolveRedis } from '../src/daemon/bullmq/redis-target.js';
import { JobStore } from '../src/daemon/job-store.js';
import type { JobSpec } from '../src/daemon/jobs.js';
import { silentLogger } from '../src/logger.js';
import { redisMissing, startRedis } from '../test/helpers/redis.js';
import { figure, fmt } from './figures.js';

/*
 * Jobs per second through kaizen's BullMQ path (the processor: look up the JobSpec, record the run
 * in scheduled_jobs, the mutation marker and validation scan for mutating jobs) against a bare
 * BullMQ worker whose processor does nothing, on the same redis-server in the same run. The job
 * itself is a no-op in both, so the difference is kaizen's overhead per job.
 */

const JOBS = 3000;
const WARMUP = 300;

/** Enqueue `n` jobs and resolve with jobs/s once `done()` has counted them all. */
async function throughput(queue: Queue, name: string, n: number, done: () => number): Promise<number> {
  const base = done();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 500) {
    await queue.addBulk(Array.from({ length: Math.min(500, n - i) }, () => ({ name, data: { key: name } })));
  }
  while (done() - base < n) await new Promise((r) => setTimeout(r, 5));
  return n / ((performance.now() - t0) / 1000);
}

async function bare(url: string, prefix: string, queueName: string, concurrency: number): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection, prefix });
  if (queueName === MUTATE_QUEUE) await queue.setGlobalConcurrency(1);
  let completed = 0;
  const worker = new Worker(queueName, async () => 'ok', {
    connection,
    prefix,
    concurrency,
    removeOnComplete: { count: 100 },
  });
  worker.on('completed', () => completed++);
  await worker.waitUntilReady();
  try {
    await throughput(queue, 'bench:noop', WARMUP, () => completed);
    return await throughput(queue, 'bench:noop', JOBS, () => completed);
  } finally {
    await worker.close();
    await queue.close();
    connection.disconnect();
  }
}

async function kaizen(
  dir: string,
  url: string,
  prefix: string,
  mutates: boolean,
  concurrency: number,
): Promise<number> {
  const config = loadConfig(path.join(dir, 'kaizen.yaml'));
  const rt = compose(
    { ...config, redis: { ...config.redis, prefix } },
    {
      clock: new SystemClock(),
      logger: silentLogger(),
    },
  );
  const spec: JobSpec = {
    key: 'bench:noop',
    kind: 'observe',
    schedule: { everyMs: 3_600_000 },
    mutates,
    run: async () => 'ok',
  };
  // The row the processor records into, as the daemon would have made it.
  new JobStore(rt.store.db).sync([{ key: spec.key, kind: spec.kind, firstRun: rt.clock.now() }]);
  let completed = 0;
  const backend = new BullmqBackend({ ...rt, breakers: new Map(), env: {} }, [spec], {
    redis: resolveRedis(rt.config, {})!,
    schedule: false,
    concurrency,
    onJobDone: () => completed++,
  });
  await backend.start();
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(mutates ? MUTATE_QUEUE : 'observe', { connection, prefix });
  try {
    await throughput(queue, spec.key, WARMUP, () => completed);
    return await throughput(queue, spec.key, JOBS, () => completed);
  } finally {
    await backend.stop(0);
    await queue.close();
    connection.disconnect();
    rt.close();
  }
}

export async function run(): Promise<void> {
  const missing = redisMissing();
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  const redis = await startRedis();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizen-bench-bullmq-'));
  try {
    mkdirSync(path.join(dir, 'repo'));
    writeFileSync(
      path.join(dir, 'kaizen.yaml'),
      stringify({
        dataDir: 'data',
        target: { name: 'bench', repo: 'repo' },
        signals: [],
        redis: { url: redis.url },
      }),
    );
    let n = 0;
    const fresh = () => `bench${n++}`;
    for (const [label, queue, mutates, concurrency] of [
      ['observe queue, concurrency 4', 'observe', false, 4],
      ['mutating queue, one at a time', MUTATE_QUEUE, true, 1],
    ] as const) {
      const plain = await bare(redis.url, fresh(), queue, concurrency);
      const ours = await kaizen(dir, redis.url, fresh(), mutates, concurrency);
      figure(`${label}: bare BullMQ worker, no-op (jobs/s)`, fmt(plain, 0));
      figure(`${label}: kaizen processor, no-op job (jobs/s)`, fmt(ours, 0));
      figure(`${label}: kaizen / bare`, fmt(ours / plain, 2));
    }
  } finally {
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
