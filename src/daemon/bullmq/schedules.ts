import type { RepeatOptions } from 'bullmq';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { nextRun, type JobSchedule, type JobSpec } from '../jobs.js';
import { clockScale, jobOptions, KNOWN_QUEUES, queueOf, wallMs, type Queues } from './queues.js';

export type Repeat = Pick<RepeatOptions, 'every' | 'pattern' | 'tz' | 'startDate'>;

/**
 * A JobSchedule as BullMQ repeat options. Intervals are clock durations, so under `--time-scale N`
 * they are divided by N. A cron pattern runs on wall time in BullMQ; on a scaled clock it becomes
 * an interval instead: the gap between its next two runs on the clock, divided by N, starting when
 * the clock reaches the next run (so a nightly distill comes every 24 h / N, at the clock's 03:00).
 */
export function repeatOf(schedule: JobSchedule, clock: Clock): Repeat {
  if ('everyMs' in schedule) return { every: Math.max(1, wallMs(clock, schedule.everyMs)) };
  if (clockScale(clock) === 1) return { pattern: schedule.cron, tz: schedule.timeZone };
  const now = clock.now();
  const first = nextRun(schedule, now);
  const gap = nextRun(schedule, first) - first;
  return { every: Math.max(1, wallMs(clock, gap)), startDate: Date.now() + wallMs(clock, first - now) };
}

export interface SchedulerSync {
  added: string[];
  updated: string[];
  removed: string[];
}

/**
 * Make Redis's job schedulers match the configured jobs: one per JobSpec, keyed by its key, on its
 * queue. An unchanged scheduler is left alone (upserting it again would not move it, but skipping
 * says so in the log); a changed one is replaced; one no longer configured is removed, on any queue
 * kaizen has used. Run by the daemon at start only: workers never touch schedulers.
 */
export async function syncSchedulers(
  queues: Queues,
  jobs: readonly JobSpec[],
  clock: Clock,
  logger: Logger,
): Promise<SchedulerSync> {
  const out: SchedulerSync = { added: [], updated: [], removed: [] };
  const wanted = new Map<string, Map<string, JobSpec>>();
  for (const spec of jobs) {
    const q = queueOf(spec);
    if (!wanted.has(q)) wanted.set(q, new Map());
    wanted.get(q)!.set(spec.key, spec);
  }

  for (const name of new Set<string>([...KNOWN_QUEUES, ...wanted.keys()])) {
    const queue = queues.get(name);
    const here = wanted.get(name) ?? new Map<string, JobSpec>();
    const existing = new Map((await queue.getJobSchedulers(0, -1)).map((s) => [s.key, s]));
    for (const [key, spec] of here) {
      const repeat = repeatOf(spec.schedule, clock);
      const have = existing.get(key);
      const same =
        have !== undefined &&
        repeat.startDate === undefined &&
        (have.every ?? undefined) === repeat.every &&
        (have.pattern ?? undefined) === repeat.pattern &&
        (have.tz ?? undefined) === repeat.tz;
      if (same) continue;
      await queue.upsertJobScheduler(key, repeat, {
        name: key,
        data: { key },
        opts: jobOptions(spec, clock),
      });
      (have ? out.updated : out.added).push(key);
    }
    for (const key of existing.keys()) {
      if (here.has(key)) continue;
      await queue.removeJobScheduler(key);
      out.removed.push(key);
    }
  }
  if (out.added.length || out.updated.length || out.removed.length)
    logger.info({ ...out }, 'job schedulers synced');
  return out;
}
