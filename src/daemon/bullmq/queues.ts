import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { ScaledClock, type Clock } from '../../clock.js';
import type { KaizenConfig } from '../../config/schema.js';
import { CALENDAR_RETRY_MS, type JobSpec } from '../jobs.js';
import type { OutageLog } from './redis.js';

/**
 * Every job that may commit to a target repo (propose, validate, the per-intervention validations)
 * goes to this one queue, whose global concurrency is 1: across all worker processes at most one
 * of them runs at a time, and BullMQ's own bookkeeping (active set, locks, stalled recovery) is the
 * lock; there is no second lock to lease, renew and recover.
 */
export const MUTATE_QUEUE = 'mutate';

/**
 * The Redis key naming the mutating job in progress: set when one starts, deleted when it ends. One
 * found at a start means the one before never finished (see processor.ts).
 */
export const mutatingKey = (prefix: string) => `${prefix}:mutating`;

/**
 * Queues kaizen may have put job schedulers on. A scheduler on any of them that the config no
 * longer asks for is removed on start, even when its whole kind is gone.
 */
export const KNOWN_QUEUES = [
  MUTATE_QUEUE,
  'heartbeat',
  'observe',
  'distill',
  'review',
  'notify',
  'drift',
  'propose',
  'validate',
] as const;

/** What a BullMQ job carries: the JobSpec key, and for a validation job its intervention. */
export interface KaizenJobData {
  key: string;
  intervention?: string;
}

/** The queue a job goes to: its kind's own, or the shared one-at-a-time queue when it mutates. */
export function queueOf(spec: Pick<JobSpec, 'kind' | 'mutates'>): string {
  return spec.mutates ? MUTATE_QUEUE : spec.kind;
}

/**
 * Jobs of `queue` one worker process runs at once: 1 on the mutating queue whatever is configured,
 * the `--concurrency` override, the configured value, else 1.
 */
export function concurrencyOf(queue: string, config: Pick<KaizenConfig, 'redis'>, override?: number): number {
  if (queue === MUTATE_QUEUE) return 1;
  if (override !== undefined) return override;
  const configured = config.redis.concurrency as Record<string, number | undefined>;
  return configured[queue] ?? 1;
}

/** The clock's speed-up over real time (`kaizen run --time-scale`); 1 for the system clock. */
export function clockScale(clock: Clock): number {
  return clock instanceof ScaledClock ? clock.scale : 1;
}

/** BullMQ delays and repeat intervals are wall-clock milliseconds: a clock duration divided by the scale. */
export function wallMs(clock: Clock, clockMs: number): number {
  return Math.max(0, Math.round(clockMs / clockScale(clock)));
}

/**
 * Retries of a job that threw. Interval jobs retry once soon (their next run is near anyway);
 * calendar jobs (distill, review) retry like the embedded scheduler does, from CALENDAR_RETRY_MS
 * and doubling, rather than waiting a day or a week. A kept history lets `kaizen status` and
 * people see recent outcomes in Redis without growing it without bound.
 */
export function jobOptions(spec: Pick<JobSpec, 'schedule'>, clock: Clock): JobsOptions {
  const keep = { removeOnComplete: { count: 200 }, removeOnFail: { count: 1000 } };
  if ('everyMs' in spec.schedule)
    return { attempts: 2, backoff: { type: 'exponential', delay: wallMs(clock, 5_000) }, ...keep };
  return { attempts: 4, backoff: { type: 'exponential', delay: wallMs(clock, CALENDAR_RETRY_MS) }, ...keep };
}

/** Queue handles by name, made on first use and closed together. */
export class Queues {
  private readonly open = new Map<string, Queue<KaizenJobData, string>>();

  constructor(
    readonly connection: Redis,
    readonly prefix: string,
    private readonly outage: OutageLog,
  ) {}

  get(name: string): Queue<KaizenJobData, string> {
    let q = this.open.get(name);
    if (!q) {
      q = new Queue<KaizenJobData, string>(name, { connection: this.connection, prefix: this.prefix });
      // An unhandled 'error' event would crash the process; a Redis outage is logged once instead.
      q.on('error', (err: Error) => this.outage.error(err, `queue ${name}`));
      this.open.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.open.values()].map((q) => q.close()));
    this.open.clear();
  }
}
