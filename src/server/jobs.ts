import type { Db } from '../store/db.js';

/** One scheduled job as the scheduler keeps it in `scheduled_jobs` (migration 0001). */
export interface JobState {
  key: string;
  kind: string;
  target: string | null;
  nextRunAt: number;
  lastRunAt: number | null;
  /** ok, failed or interrupted (a crash or kill stopped it), as the scheduler wrote it. */
  lastStatus: string | null;
  lastError: string | null;
  runningSince: number | null;
}

/**
 * The scheduler's jobs, read straight from the table: the server reports them whether the
 * scheduler runs in this process or in another one sharing the store.
 */
export function readJobs(db: Db): JobState[] {
  return db
    .prepare(
      `SELECT key, kind, target, next_run_at AS nextRunAt, last_run_at AS lastRunAt, last_status AS lastStatus,
         last_error AS lastError, running_since AS runningSince
       FROM scheduled_jobs ORDER BY key`,
    )
    .all() as JobState[];
}
