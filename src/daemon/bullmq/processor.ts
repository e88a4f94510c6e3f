import { DelayedError, UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { recoverInterrupted } from '../../apply/recover.js';
import { KaizenError } from '../../errors.js';
import { errorMessage } from '../../observe/sources/support.js';
import { JobStore } from '../job-store.js';
import { nextRunAfter, type JobContext, type JobSchedule } from '../jobs.js';
import type { JobDone } from '../scheduler.js';
import { wallMs, type KaizenJobData } from './queues.js';

/**
 * What a BullMQ job runs: a JobSpec (the very object the embedded scheduler runs), or a one-off
 * job such as one intervention's validation, which has no schedule and no `scheduled_jobs` row.
 */
export interface Runnable {
  key: string;
  kind: string;
  mutates: boolean;
  schedule?: JobSchedule;
  /** Clock time before which it must not run (a validation window still open): it waits until then. */
  notBefore?: (ctx: Omit<JobContext, 'abort'>) => number | undefined;
  run(ctx: JobContext): Promise<string>;
}

export interface ProcessorDeps {
  ctx: Omit<JobContext, 'abort'>;
  /** The job to run for a BullMQ job's data; undefined when this process does not know it. */
  resolve(data: KaizenJobData): Runnable | undefined;
  /** For the mutation marker. */
  connection: Redis;
  /** Redis key holding the mutating job in progress (set at its start, deleted at its end). */
  markerKey: string;
  /** This worker process's name, stored on every job it processes. */
  workerName: string;
  /** Aborted when the process stops and the grace period is over. */
  stopping: AbortSignal;
  /** BullMQ job id → job key, of the jobs running in this process. */
  running: Map<string, string>;
  /** After every mutating job: queue the validations of interventions it may have applied. */
  afterMutation(): Promise<void>;
  onJobDone?: (done: JobDone) => void;
}

/** How many times a job no process here knows is put back before it fails, and how far apart. */
const UNKNOWN_PASSES = 20;
const UNKNOWN_RETRY_MS = 5_000;

/**
 * The BullMQ processor: runs the same job code as the embedded scheduler and writes the outcome
 * into the same `scheduled_jobs` row, so /health and `kaizen status` read the same thing under
 * both backends. A throw fails the BullMQ job (retried with backoff), except a KaizenError that
 * says retrying cannot help.
 */
export function kaizenProcessor(deps: ProcessorDeps): Processor<KaizenJobData, string> {
  const { ctx } = deps;
  const store = new JobStore(ctx.store.db);
  return async (job: Job<KaizenJobData, string>, token?: string, signal?: AbortSignal) => {
    const spec = deps.resolve(job.data);
    if (!spec) {
      const why = `worker ${deps.workerName} has no job "${job.data.key}": its config (${ctx.config.configPath}) differs from the daemon's; restart it with the same config`;
      // Another process may know it (a target added to the daemon's config only): put it back
      // for them, a bounded number of times, without spending one of its attempts.
      if (job.attemptsStarted >= UNKNOWN_PASSES) throw new UnrecoverableError(why);
      ctx.logger.warn(
        { job: job.data.key, id: job.id, worker: deps.workerName },
        'unknown job left to another worker',
      );
      await job.moveToDelayed(Date.now() + UNKNOWN_RETRY_MS, token);
      throw new DelayedError();
    }

    const due = spec.notBefore?.(ctx);
    if (due !== undefined && due > ctx.clock.now()) {
      // Queued early (wall time and a scaled clock drift apart, or the window was lengthened):
      // back to delayed until the clock reaches it, without counting as an attempt.
      await job.moveToDelayed(Date.now() + wallMs(ctx.clock, due - ctx.clock.now()), token);
      throw new DelayedError();
    }

    const startedAt = ctx.clock.now();
    // Informational under BullMQ (Redis decides who runs what): shows the job running in /health.
    if (spec.schedule) store.claim(spec.key, startedAt);
    const id = job.id ?? spec.key;
    deps.running.set(id, spec.key);
    let summary: string | undefined;
    let failure: unknown;
    try {
      const abort = signal ? AbortSignal.any([deps.stopping, signal]) : deps.stopping;
      // A recovery that failed keeps the marker, so the next mutating job tries it again.
      let recovered = !spec.mutates;
      try {
        if (spec.mutates) {
          await enterMutation(deps, `${deps.workerName} ${id}`);
          recovered = true;
        }
        summary = await spec.run({ ...ctx, abort });
      } catch (err) {
        failure = err;
      } finally {
        if (spec.mutates && recovered) await deps.connection.del(deps.markerKey);
      }
      record(deps, store, spec, job, { startedAt, summary, failure });
      if (spec.mutates)
        await deps
          .afterMutation()
          .catch((err: unknown) =>
            ctx.logger.warn({ job: spec.key, error: errorMessage(err) }, 'could not queue validations'),
          );
    } finally {
      // Last: a stop waits for this, then closes the store the lines above write to.
      deps.running.delete(id);
    }

    if (failure !== undefined) {
      const error = errorMessage(failure);
      if (failure instanceof KaizenError && !failure.retryable) throw new UnrecoverableError(error);
      throw failure instanceof Error ? failure : new Error(error);
    }
    return summary ?? '';
  };
}

/** The outcome into the job's `scheduled_jobs` row, the log and onJobDone, as the embedded scheduler does. */
function record(
  deps: ProcessorDeps,
  store: JobStore,
  spec: Runnable,
  job: Job<KaizenJobData, string>,
  run: { startedAt: number; summary: string | undefined; failure: unknown },
): void {
  const { ctx } = deps;
  const { startedAt, summary, failure } = run;
  const end = ctx.clock.now();
  const ok = failure === undefined;
  const error = ok ? undefined : errorMessage(failure);
  if (spec.schedule)
    store.finish(spec.key, end, {
      ok,
      ...(error ? { error } : {}),
      nextRunAt: nextRunAfter(spec.schedule, startedAt, end, ok),
    });
  if (ok) ctx.logger.debug({ job: spec.key, id: job.id, ms: end - startedAt, summary }, 'job done');
  else
    ctx.logger.warn(
      { job: spec.key, id: job.id, attempt: job.attemptsMade + 1, ms: end - startedAt, error },
      'job failed',
    );
  deps.onJobDone?.({
    key: spec.key,
    kind: spec.kind,
    ok,
    startedAt,
    durationMs: end - startedAt,
    ...(summary !== undefined ? { summary } : {}),
    ...(error !== undefined ? { error } : {}),
  });
}

/**
 * Mark a mutating job as in progress. Only one runs at a time (the mutate queue's global
 * concurrency is 1), so a marker already there means the one before did not finish: its worker was
 * killed, or stopped without waiting. Its apply or revert may be half done; the intents in the
 * store say how far it got, and `recoverInterrupted` finishes or undoes it before anything else
 * mutates. The target leases make that safe while other processes run: a target whose holder
 * still lives is left to it, never recovered twice.
 */
async function enterMutation(deps: ProcessorDeps, me: string): Promise<void> {
  const previous = await deps.connection.getset(deps.markerKey, me);
  if (previous === null) return;
  deps.ctx.logger.warn(
    { interrupted: previous },
    'a mutating job was interrupted; recovering its apply first',
  );
  const report = await recoverInterrupted(deps.ctx);
  if (report.recovered.length)
    deps.ctx.logger.warn(
      { recovered: report.recovered.map((r) => `${r.intervention.id} ${r.outcome}`) },
      'interrupted applies recovered',
    );
  // Another live process holds those targets (the daemon recovering them at its start, say): it
  // finishes them; this job's own work finds them busy and waits for a later run.
  for (const busy of report.busy)
    deps.ctx.logger.warn({ target: busy.target, holder: busy.message }, 'target busy: left to its holder');
}
