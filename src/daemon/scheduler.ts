import { errorMessage } from '../observe/sources/support.js';
import { JobStore } from './job-store.js';
import { firstRun, jobsAbortController, nextRunAfter, type JobContext, type JobSpec } from './jobs.js';

/** The longest the loop sleeps without looking at the table (a job may have been asked to run soon). */
const IDLE_MAX_MS = 60_000;
/** Late runs in a row that make an interval job "behind" (see noteLateness). */
const LATE_RUNS_BEHIND = 3;

export interface JobDone {
  key: string;
  kind: string;
  ok: boolean;
  startedAt: number;
  durationMs: number;
  summary?: string;
  error?: string;
}

export interface SchedulerOptions {
  /** Jobs running at once (default 4); jobs that commit to a repo run one at a time regardless. */
  maxConcurrent?: number;
  onJobDone?: (done: JobDone) => void;
}

/**
 * The embedded scheduler: runs each job when its next-run time (kept in SQLite) comes, on the
 * runtime's clock. A restart picks up the same table: nothing lost, nothing doubled; a nightly job
 * missed while kaizen was down is due, and runs once.
 */
export class EmbeddedScheduler {
  private readonly jobs: Map<string, JobSpec>;
  private readonly store: JobStore;
  private readonly running = new Map<string, Promise<void>>();
  private readonly stopController = jobsAbortController();
  private wake = new AbortController();
  private stopping = false;
  /** Callers of runExclusive holding the repos: mutating jobs wait for them. */
  private exclusiveHolds = 0;
  private loop: Promise<void> | undefined;
  /** Interval jobs running a whole interval or more behind, said once until they catch up. */
  private readonly behind = new Set<string>();
  private readonly lateRuns = new Map<string, number>();

  constructor(
    private readonly ctx: Omit<JobContext, 'abort'>,
    jobs: readonly JobSpec[],
    private readonly options: SchedulerOptions = {},
  ) {
    this.jobs = new Map(jobs.map((j) => [j.key, j]));
    this.store = new JobStore(ctx.store.db);
  }

  /** Start the loop (returns at once); `stop` ends it. */
  start(): void {
    const now = this.ctx.clock.now();
    this.store.sync(
      [...this.jobs.values()].map((j) => ({
        key: j.key,
        kind: j.kind,
        ...(j.target ? { target: j.target } : {}),
        firstRun: firstRun(j.schedule, now),
      })),
    );
    this.loop = this.run();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Keys of the jobs running now. */
  runningJobs(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Run `fn` (a person's approve or revert through the API) when no job that changes a repo runs,
   * and hold such jobs back until it is done: the same one-at-a-time rule as between jobs.
   */
  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.exclusiveHolds++;
    try {
      for (let busy = this.mutatingRunning(); busy.length > 0; busy = this.mutatingRunning())
        await Promise.allSettled(busy);
      return await fn();
    } finally {
      this.exclusiveHolds--;
      this.wake.abort();
    }
  }

  private mutatingRunning(): Promise<void>[] {
    return [...this.running].filter(([k]) => this.jobs.get(k)?.mutates).map(([, p]) => p);
  }

  /** Ask for a job to run as soon as a slot is free (a person, an alert). */
  runSoon(key: string): void {
    this.store.runSoon(key, this.ctx.clock.now());
    this.wake.abort();
  }

  /**
   * Stop taking jobs, give running ones `graceMs` to finish, then abort them. A job still running
   * after that stays marked as running; the next start runs it again. The grace is world time
   * (Clock.world): under a time scale the work still takes real time.
   */
  async stop(graceMs: number): Promise<{ finished: boolean; abandoned: string[] }> {
    this.stopping = true;
    this.wake.abort();
    await this.loop;
    const all = Promise.allSettled([...this.running.values()]).then(() => true);
    const grace = new AbortController();
    const timedOut = this.ctx.clock.world.sleep(graceMs, grace.signal).then(
      () => false,
      () => false,
    );
    let finished = await Promise.race([all, timedOut]);
    if (!finished) {
      this.stopController.abort(new Error('kaizen is shutting down'));
      // An aborted job gets a moment to checkpoint and return.
      finished = await Promise.race([all, new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
    }
    grace.abort();
    return { finished, abandoned: finished ? [] : this.runningJobs() };
  }

  private async run(): Promise<void> {
    const { clock } = this.ctx;
    while (!this.stopping) {
      const now = clock.now();
      this.launchDue(now);
      // Whatever was due by `now` and still waits is held by a running job (one mutating job at a
      // time, or the concurrency limit): a finishing job wakes the loop, so never spin on it. Sleep
      // until the next job falls due, which may be the heartbeat while the others wait.
      const next = this.store.nextDueAfter(now);
      const waitMs =
        next === undefined ? IDLE_MAX_MS : Math.min(IDLE_MAX_MS, Math.max(0, next - clock.now()));
      await clock.sleep(waitMs, this.wake.signal).catch(() => undefined);
      if (this.wake.signal.aborted) this.wake = new AbortController();
    }
  }

  private launchDue(now: number): void {
    const max = this.options.maxConcurrent ?? 4;
    let limited = [...this.running.keys()].filter((k) => !this.jobs.get(k)?.outsideLimit).length;
    for (const row of this.store.due(now)) {
      const spec = this.jobs.get(row.key);
      if (!spec) continue;
      if (!spec.outsideLimit && limited >= max) continue;
      if (spec.mutates && (this.exclusiveHolds > 0 || this.mutatingRunning().length > 0)) continue;
      if (!this.store.claim(spec.key, now)) continue;
      const p = this.execute(spec, row.nextRunAt).finally(() => {
        this.running.delete(spec.key);
        this.wake.abort();
      });
      this.running.set(spec.key, p);
      if (!spec.outsideLimit) limited++;
    }
  }

  /**
   * An interval job that ends a whole interval after it was due (it started late, ran long, or
   * both) has missed a run. Once is a busy moment (a deploy holding the repos); three runs in a row
   * mean the machine, or a `--time-scale` too high for it, asks for more than it can do. Said once,
   * and again on recovery, so an operator knows the sampling did not keep up instead of reading
   * thin data as calm.
   */
  private noteLateness(spec: JobSpec, dueAt: number, end: number): void {
    if (!('everyMs' in spec.schedule)) return;
    const everyMs = spec.schedule.everyMs;
    const lateMs = end - dueAt;
    if (lateMs <= everyMs) {
      this.lateRuns.delete(spec.key);
      if (lateMs < everyMs / 2 && this.behind.delete(spec.key))
        this.ctx.logger.info({ job: spec.key }, `${spec.key} keeps up again`);
      return;
    }
    const late = (this.lateRuns.get(spec.key) ?? 0) + 1;
    this.lateRuns.set(spec.key, late);
    if (late >= LATE_RUNS_BEHIND && !this.behind.has(spec.key)) {
      this.behind.add(spec.key);
      this.ctx.logger.warn(
        { job: spec.key, lateMs, everyMs },
        `${spec.key} cannot keep up: ${late} runs in a row, due every ${everyMs} ms (clock time), ended a whole interval late (the last by ${lateMs} ms); lengthen its interval or lower --time-scale`,
      );
    }
  }

  /** Interval jobs that are behind their schedule now (see noteLateness). */
  jobsBehind(): string[] {
    return [...this.behind];
  }

  private async execute(spec: JobSpec, dueAt: number): Promise<void> {
    const { clock, logger } = this.ctx;
    const startedAt = clock.now();
    let summary: string | undefined;
    let error: string | undefined;
    try {
      summary = await spec.run({ ...this.ctx, abort: this.stopController.signal });
    } catch (err) {
      error = errorMessage(err);
    }
    const end = clock.now();
    this.noteLateness(spec, dueAt, end);
    const ok = error === undefined;
    const nextRunAt = nextRunAfter(spec.schedule, startedAt, end, ok);
    this.store.finish(spec.key, end, { ok, ...(error ? { error } : {}), nextRunAt });
    if (ok) logger.debug({ job: spec.key, ms: end - startedAt, summary }, 'job done');
    else logger.warn({ job: spec.key, ms: end - startedAt, error }, 'job failed');
    this.options.onJobDone?.({
      key: spec.key,
      kind: spec.kind,
      ok,
      startedAt,
      durationMs: end - startedAt,
      ...(summary !== undefined ? { summary } : {}),
      ...(error !== undefined ? { error } : {}),
    });
  }
}
