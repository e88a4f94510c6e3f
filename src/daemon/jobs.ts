import { setMaxListeners } from 'node:events';
import { Cron } from 'croner';
import { describeLease, liveLease, TargetBusyError } from '../apply/lease.js';
import type { Runtime } from '../compose.js';
import type { TargetConfig } from '../config/schema.js';
import { expireBacklog } from '../loop/backlog.js';
import type { Notifier } from '../notify/notifier.js';
import { observeTick } from '../observe/tick.js';
import type { CircuitBreaker } from '../propose/breaker.js';
import { proposeCycle } from '../propose/cycle.js';
import { proposeDue, recordCycle } from '../propose/triggers.js';
import { denseTick } from '../validate/dense.js';
import { dueForValidation, validateIntervention } from '../validate/validate-intervention.js';

/*
 * The daemon's jobs: what each does and when it runs. The same job code runs under the embedded
 * scheduler and under BullMQ; a job is a plain async function of the runtime.
 */

export type JobKind =
  'heartbeat' | 'observe' | 'propose' | 'validate' | 'distill' | 'review' | 'notify' | 'drift';

export type JobSchedule = { everyMs: number } | { cron: string; timeZone: string };

export interface JobContext extends Runtime {
  breakers: Map<string, CircuitBreaker>;
  env: NodeJS.ProcessEnv;
  abort: AbortSignal;
}

export interface JobSpec {
  /** Unique and stable: `observe:shop`, `distill`. Also the BullMQ job scheduler id. */
  key: string;
  kind: JobKind;
  target?: string;
  schedule: JobSchedule;
  /** Jobs that may commit to a target repo run one at a time (they share the git work tree). */
  mutates: boolean;
  /**
   * Runs even when the concurrency limit is reached: the heartbeat, whose missing pings make
   * systemd's watchdog kill the daemon, must not wait behind a slow propose or deploy. (Under
   * BullMQ every kind has its own queue, so this only matters to the embedded scheduler.)
   */
  outsideLimit?: boolean;
  /** What it did, in one line for the log and /health. */
  run(ctx: JobContext): Promise<string>;
}

/** Extra jobs other modules contribute (notifications, drift, the weekly review). */
export type JobContribution = (config: Runtime['config']) => JobSpec[];

/**
 * The controller whose signal every running job gets as `abort` (kaizen shutting down). Every
 * in-flight sample, process and request of every running job listens to it, so more than Node's
 * default of ten listeners is normal, not a leak.
 */
export function jobsAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(1000, controller.signal);
  return controller;
}

/** Every job the config asks for, core stages first. */
export function coreJobs(config: Runtime['config']): JobSpec[] {
  const jobs: JobSpec[] = [];
  for (const target of config.targets) {
    jobs.push(
      {
        key: `observe:${target.name}`,
        kind: 'observe',
        target: target.name,
        schedule: { everyMs: config.schedule.observeMs },
        mutates: false,
        run: (ctx) => observeJob(ctx, target),
      },
      {
        key: `propose:${target.name}`,
        kind: 'propose',
        target: target.name,
        // Checked as often as samples arrive: an alert or a stall starts a cycle at once
        // (debounced); otherwise a cycle runs every schedule.propose.
        schedule: { everyMs: config.schedule.observeMs },
        mutates: true,
        run: (ctx) => proposeJob(ctx, target),
      },
    );
  }
  jobs.push(
    {
      key: 'validate',
      kind: 'validate',
      schedule: { everyMs: config.validation.denseIntervalMs },
      mutates: true,
      run: validateJob,
    },
    {
      key: 'distill',
      kind: 'distill',
      schedule: { cron: config.schedule.distill, timeZone: config.timeZone },
      mutates: false,
      run: async (ctx) => {
        // Nightly and weekly work is loaded when it is due, not kept in an idle daemon's memory.
        const { distill } = await import('../learn/distill/run.js');
        const s = await distill(ctx);
        return `reviewed ${s.reviewed.length}, new lessons ${s.created.length}, updated ${s.updated.length}, retired ${s.retired.length}`;
      },
    },
    notifyJob(config),
    {
      key: 'drift',
      kind: 'drift',
      schedule: { everyMs: config.notifications.driftScanMs },
      mutates: false,
      run: async (ctx) => {
        const { driftScan } = await import('../notify/drift.js');
        const results = await driftScan(ctx, { signal: ctx.abort });
        return results
          .map(
            (r) => `${r.target}: ${r.outcome === 'scanned' ? `${r.findings.length} finding(s)` : r.outcome}`,
          )
          .join(', ');
      },
    },
    {
      key: 'review',
      kind: 'review',
      schedule: { cron: config.schedule.metaReview, timeZone: config.timeZone },
      mutates: false,
      run: async (ctx) => {
        // Loaded when the week's report is due: its charting library is most of kaizen's memory.
        const { writeWeeklyReport } = await import('../report/weekly.js');
        const r = await writeWeeklyReport(ctx, { env: ctx.env });
        return `weekly report ${r.week}: ${r.html}`;
      },
    },
  );
  return jobs;
}

/** Notifications: one notifier per daemon (it keeps a lease and a cursor), created on first use. */
function notifyJob(config: Runtime['config']): JobSpec {
  let notifier: Notifier | undefined;
  return {
    key: 'notify',
    kind: 'notify',
    schedule: { everyMs: config.notifications.intervalMs },
    mutates: false,
    run: async (ctx) => {
      // Without a receiver there is no one to tell: the drift scan still records its findings.
      if (ctx.config.notifications.webhooks.length === 0) return 'no webhooks configured';
      notifier ??= (await import('../notify/notifier.js')).createNotifier(ctx, { env: ctx.env });
      const r = await notifier.runOnce({ signal: ctx.abort });
      return `sent ${r.sent}, failed ${r.failed}, pending ${r.pending}`;
    },
  };
}

async function observeJob(ctx: JobContext, target: TargetConfig): Promise<string> {
  const r = await observeTick(ctx, target, ctx.abort);
  const failed = r.outcomes.filter((o) => o.error !== undefined).length;
  return `sampled ${r.outcomes.length} signal(s)${failed ? `, ${failed} failed` : ''}`;
}

async function proposeJob(ctx: JobContext, target: TargetConfig): Promise<string> {
  const expired = expireBacklog(ctx, target.name);
  const due = proposeDue(ctx, target);
  if (!due.due)
    return `${expired.length ? `expired ${expired.map((i) => i.id).join(', ')}; ` : ''}not due: ${due.reason}`;
  // Another process applies or recovers there right now: propose on a later run, rather than ask
  // a model for proposals that could not be submitted.
  const busy = liveLease(ctx, target.name);
  if (busy)
    return `due, but ${target.name} is busy: ${describeLease(busy, ctx.config.timeZone)}; proposing on a later run`;
  recordCycle(ctx, target, due);
  const r = await proposeCycle(ctx, target);
  return `${due.kind}: ${r.submitted.length} proposal(s) (${r.submitted.map((s) => `${s.intervention.id} ${s.intervention.state}`).join(', ') || 'none'})${r.note ? `; ${r.note}` : ''}`;
}

async function validateJob(ctx: JobContext): Promise<string> {
  await denseTick(ctx, ctx.abort);
  const judged: string[] = [];
  for (const iv of dueForValidation(ctx)) {
    try {
      const { verdict } = await validateIntervention(ctx, iv.id);
      judged.push(`${iv.id} ${verdict.outcome}`);
    } catch (err) {
      // Not a failure of the job: another process holds the target; the next run judges it.
      if (!(err instanceof TargetBusyError)) throw err;
      judged.push(`${iv.id} waits (${err.message})`);
    }
  }
  return judged.length ? `judged ${judged.join(', ')}` : 'nothing due';
}

/** When a job runs next after running (or first being scheduled) at `now`. */
export function nextRun(schedule: JobSchedule, now: number): number {
  if ('everyMs' in schedule) return now + schedule.everyMs;
  const next = new Cron(schedule.cron, { timezone: schedule.timeZone, paused: true }).nextRun(new Date(now));
  // croner returns null only for patterns that never match again; such a job never runs.
  return next ? next.getTime() : Number.MAX_SAFE_INTEGER;
}

/** How soon a failed calendar job (distill, review) is tried again, rather than at its next time. */
export const CALENDAR_RETRY_MS = 5 * 60_000;

/**
 * When a job that started at `startedAt` and ended at `end` runs next: interval jobs keep their
 * rate (never in the past), calendar jobs their calendar, except that a failed one retries soon.
 */
export function nextRunAfter(schedule: JobSchedule, startedAt: number, end: number, ok: boolean): number {
  if ('everyMs' in schedule) return Math.max(end, startedAt + schedule.everyMs);
  const normal = nextRun(schedule, end);
  return ok ? normal : Math.min(normal, end + CALENDAR_RETRY_MS);
}

/** When a job new to the store first runs: interval jobs at once, calendar jobs at their next time. */
export function firstRun(schedule: JobSchedule, now: number): number {
  return 'everyMs' in schedule ? now : nextRun(schedule, now);
}
