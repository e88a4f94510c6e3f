import os from 'node:os';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../../errors.js';
import { JobStore } from '../job-store.js';
import { firstRun, jobsAbortController, type JobContext, type JobSpec } from '../jobs.js';
import type { JobDone } from '../scheduler.js';
import { publishClock } from './clock-origin.js';
import { kaizenProcessor, type Runnable } from './processor.js';
import { connectRedis, OutageLog } from './redis.js';
import type { RedisTarget } from './redis-target.js';
import { syncSchedulers } from './schedules.js';
import {
  concurrencyOf,
  jobOptions,
  MUTATE_QUEUE,
  mutatingKey,
  queueOf,
  Queues,
  type KaizenJobData,
} from './queues.js';
import { queueValidations, validationJob } from './validations.js';

export interface BullmqOptions {
  redis: RedisTarget;
  /**
   * The daemon (`kaizen run`): sync the job schedulers, publish the clock and queue validations,
   * besides working the queues. False for `kaizen worker`, which only works them.
   */
  schedule: boolean;
  /** Jobs per non-mutating queue in this process (`kaizen worker --concurrency`); default from redis.concurrency. */
  concurrency?: number;
  /** Stored on every job this process runs (BullMQ's processedBy); default `<role>@<host>:<pid>`. */
  workerName?: string;
  onJobDone?: (done: JobDone) => void;
}

/**
 * What the daemon does on Redis at start, before (or without) working any queue: a
 * `scheduled_jobs` row per job (what /health and `kaizen status` read), its clock for the workers,
 * a job scheduler per job, and the validations of interventions applied while it was away.
 */
export async function scheduleJobs(
  ctx: Pick<JobContext, 'store' | 'clock' | 'config' | 'logger'>,
  queues: Queues,
  jobs: readonly JobSpec[],
): Promise<void> {
  const now = ctx.clock.now();
  new JobStore(ctx.store.db).sync(
    jobs.map((j) => ({
      key: j.key,
      kind: j.kind,
      ...(j.target ? { target: j.target } : {}),
      firstRun: firstRun(j.schedule, now),
    })),
  );
  // A daemon that died inside runExclusive left the mutating queue paused.
  await queues.get(MUTATE_QUEUE).resume();
  await publishClock(queues.connection, queues.prefix, ctx.clock);
  await syncSchedulers(queues, jobs, ctx.clock, ctx.logger);
  await queueValidations(ctx, queues);
}

/** Times a job may lose its worker (killed, frozen) and go back to the queue before it fails. */
const MAX_STALLED = 2;
/** The longest a shutdown step waits on Redis: a stop during an outage must still end. */
const CLOSE_MS = 5_000;

/** `p`, or undefined once `ms` have passed. */
const within = <T>(ms: number, p: Promise<T>): Promise<T | undefined> =>
  Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);

/**
 * The BullMQ backend: the same jobs as the embedded scheduler, on Redis queues (one per job kind,
 * and one shared one-at-a-time queue for the jobs that may commit), so any number of worker
 * processes share them. Its surface mirrors EmbeddedScheduler's: start, stop(graceMs),
 * runningJobs, runSoon, runExclusive.
 */
export class BullmqBackend {
  readonly workerName: string;
  private readonly jobs: Map<string, JobSpec>;
  private readonly running = new Map<string, string>();
  private readonly stopController = jobsAbortController();
  private readonly workers: Worker<KaizenJobData, string>[] = [];
  private connection: Redis | undefined;
  private queues: Queues | undefined;
  private stopping = false;
  /** Callers of runExclusive in progress here. */
  private exclusiveHolds = 0;

  constructor(
    private readonly ctx: Omit<JobContext, 'abort'>,
    jobs: readonly JobSpec[],
    private readonly options: BullmqOptions,
  ) {
    this.jobs = new Map(jobs.map((j) => [j.key, j]));
    this.workerName =
      options.workerName ?? `${options.schedule ? 'run' : 'worker'}@${os.hostname()}:${process.pid}`;
  }

  /** The queues this process works: every kind it has a job for, and always the mutating queue (validations). */
  get queueNames(): string[] {
    return [...new Set([MUTATE_QUEUE, ...[...this.jobs.values()].map(queueOf)])];
  }

  /** Connect (a clear error when Redis cannot be reached), set up the queues, start the workers. */
  async start(): Promise<void> {
    const { ctx, options } = this;
    const { config, logger } = ctx;
    const prefix = config.redis.prefix;
    // One outage log for the connection and every queue and worker on it: one line per outage.
    const outage = new OutageLog(logger, options.redis);
    const connection = await connectRedis(
      options.redis,
      outage,
      `kaizen-${options.schedule ? 'run' : 'worker'}-${process.pid}`,
      () => this.stopping,
    );
    this.connection = connection;
    const queues = new Queues(connection, prefix, outage);
    this.queues = queues;
    // Idempotent, and set by every process, so whichever starts first leaves it right.
    await queues.get(MUTATE_QUEUE).setGlobalConcurrency(1);

    if (options.schedule) await scheduleJobs(ctx, queues, [...this.jobs.values()]);

    const processor = kaizenProcessor({
      ctx,
      resolve: (data) => this.resolve(data),
      connection,
      markerKey: mutatingKey(prefix),
      workerName: this.workerName,
      stopping: this.stopController.signal,
      running: this.running,
      afterMutation: async () => void (this.queues ? await queueValidations(ctx, this.queues) : undefined),
      ...(options.onJobDone ? { onJobDone: options.onJobDone } : {}),
    });
    const stallMs = config.redis.stallTimeoutMs;
    for (const name of this.queueNames) {
      const worker = new Worker<KaizenJobData, string>(name, processor, {
        connection,
        prefix,
        name: this.workerName,
        concurrency: concurrencyOf(name, config, options.concurrency),
        // A worker renews its jobs' locks every stallMs / 2; a job whose lock has lapsed (its
        // worker was killed or froze) goes back to waiting at the next check, up to MAX_STALLED
        // times, then fails rather than looping on a job that kills its workers.
        lockDuration: stallMs,
        stalledInterval: stallMs,
        maxStalledCount: MAX_STALLED,
      });
      worker.on('error', (err) => outage.error(err, `worker ${name}`));
      worker.on('stalled', (id) =>
        logger.warn({ queue: name, id }, 'a job whose worker stopped goes back to the queue'),
      );
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    logger.info(
      {
        redis: options.redis.where,
        worker: this.workerName,
        queues: Object.fromEntries(
          this.queueNames.map((q) => [q, concurrencyOf(q, config, options.concurrency)]),
        ),
      },
      'working BullMQ queues',
    );
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Keys of the jobs running in this process now. */
  runningJobs(): string[] {
    return [...this.running.values()];
  }

  /**
   * Run `fn` (a person's approve or revert through the API) when no job that changes a repo runs on
   * any worker, and hold such jobs back until it is done: the mutating queue is paused (for every
   * worker), its running job allowed to finish, then resumed. A daemon that dies inside `fn` leaves
   * the queue paused; its next start resumes it (see scheduleJobs).
   */
  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const queue = this.queues?.get(MUTATE_QUEUE);
    if (!queue) throw new Error('BullmqBackend.runExclusive: the backend is not started');
    if (this.exclusiveHolds++ === 0) await queue.pause();
    try {
      while ((await queue.getActiveCount()) > 0) await new Promise((r) => setTimeout(r, 100));
      return await fn();
    } finally {
      if (--this.exclusiveHolds === 0) await queue.resume();
    }
  }

  /**
   * Ask for a job to run as soon as a worker is free (a person, an alert). The job id is
   * deterministic, so asking again while one is waiting adds nothing.
   */
  async runSoon(key: string): Promise<void> {
    const spec = this.jobs.get(key);
    if (!spec || !this.queues)
      throw new NotFoundError(`no job "${key}"; jobs: ${[...this.jobs.keys()].join(', ')}`);
    await this.queues.get(queueOf(spec)).add(
      key,
      { key },
      {
        ...jobOptions(spec, this.ctx.clock),
        jobId: `soon-${key.replaceAll(':', '-')}`,
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  /**
   * Stop taking jobs, give running ones `graceMs` (world time, see Clock.world) to finish, then
   * abort them and give them a moment to return. A job still running after that is abandoned with
   * its lock: once the lock lapses, another worker (or the next start) runs it again.
   */
  async stop(graceMs: number): Promise<{ finished: boolean; abandoned: string[] }> {
    this.stopping = true;
    await within(CLOSE_MS, Promise.allSettled(this.workers.map((w) => w.pause(true))));
    const grace = new AbortController();
    const timedOut = this.ctx.clock.world.sleep(graceMs, grace.signal).catch(() => undefined);
    let finished = await this.idle(timedOut);
    let abandoned: string[] = [];
    if (!finished) {
      this.stopController.abort(new Error('kaizen is shutting down'));
      for (const w of this.workers) w.cancelAllJobs('kaizen is shutting down');
      finished = await this.idle(new Promise((r) => setTimeout(r, 2000)));
      abandoned = this.runningJobs();
    }
    grace.abort();
    // Forced, as this process has already waited for (or given up on) its own jobs: an unforced
    // close also waits on the worker's blocking read, which never returns while Redis is away.
    await within(CLOSE_MS, Promise.allSettled(this.workers.map((w) => w.close(true))));
    await within(CLOSE_MS, this.queues?.close() ?? Promise.resolve());
    // quit() waits for Redis to answer; during an outage it never would.
    const quit = await within(
      CLOSE_MS,
      (this.connection?.quit() ?? Promise.resolve('OK')).catch(() => 'OK'),
    );
    if (quit === undefined) this.connection?.disconnect();
    return { finished, abandoned };
  }

  /** True once nothing runs here; false if `deadline` comes first. */
  private async idle(deadline: Promise<unknown>): Promise<boolean> {
    let late = false;
    void deadline.then(() => (late = true));
    while (this.running.size > 0) {
      if (late) return false;
      await Promise.race([deadline, new Promise((r) => setTimeout(r, 25))]);
    }
    return true;
  }

  private resolve(data: KaizenJobData): Runnable | undefined {
    if (data.intervention !== undefined) return validationJob(data.intervention);
    return this.jobs.get(data.key);
  }
}
