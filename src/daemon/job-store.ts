import type { Db } from '../store/db.js';

export interface JobRow {
  key: string;
  kind: string;
  target: string | null;
  nextRunAt: number;
  lastRunAt: number | null;
  lastStatus: 'ok' | 'failed' | 'interrupted' | null;
  lastError: string | null;
  runningSince: number | null;
}

interface Raw {
  key: string;
  kind: string;
  target: string | null;
  next_run_at: number;
  last_run_at: number | null;
  last_status: JobRow['lastStatus'];
  last_error: string | null;
  running_since: number | null;
}

const toRow = (r: Raw): JobRow => ({
  key: r.key,
  kind: r.kind,
  target: r.target,
  nextRunAt: r.next_run_at,
  lastRunAt: r.last_run_at,
  lastStatus: r.last_status,
  lastError: r.last_error,
  runningSince: r.running_since,
});

/**
 * The scheduler's memory: one row per job with its next run time, in SQLite, so a restart neither
 * loses nor doubles a run. A job is claimed by setting `running_since` (only if unset), and
 * released with its outcome and next run time in one statement.
 */
export class JobStore {
  constructor(private readonly db: Db) {}

  list(): JobRow[] {
    return (this.db.prepare('SELECT * FROM scheduled_jobs ORDER BY next_run_at, key').all() as Raw[]).map(
      toRow,
    );
  }

  get(key: string): JobRow | undefined {
    const r = this.db.prepare('SELECT * FROM scheduled_jobs WHERE key = ?').get(key) as Raw | undefined;
    return r ? toRow(r) : undefined;
  }

  /**
   * Make the rows match the configured jobs: add new ones at `firstRun(key)`, keep the schedule of
   * existing ones (a restart must not move a nightly job), drop jobs no longer configured.
   */
  sync(jobs: readonly { key: string; kind: string; target?: string; firstRun: number }[]): void {
    this.db.transaction(() => {
      const insert = this.db.prepare(
        'INSERT OR IGNORE INTO scheduled_jobs (key, kind, target, next_run_at) VALUES (?, ?, ?, ?)',
      );
      for (const j of jobs) insert.run(j.key, j.kind, j.target ?? null, j.firstRun);
      const keep = new Set(jobs.map((j) => j.key));
      const del = this.db.prepare('DELETE FROM scheduled_jobs WHERE key = ?');
      for (const r of this.list()) if (!keep.has(r.key)) del.run(r.key);
    })();
  }

  /**
   * Jobs a crash or kill left marked as running: mark them interrupted and due now, so each runs
   * once more (jobs are idempotent or checkpointed) rather than never. Returns their keys.
   */
  releaseInterrupted(now: number): string[] {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare('SELECT key FROM scheduled_jobs WHERE running_since IS NOT NULL')
        .all() as {
        key: string;
      }[];
      this.db
        .prepare(
          `UPDATE scheduled_jobs SET running_since = NULL, last_status = 'interrupted',
             last_error = 'the process stopped while it ran', next_run_at = MIN(next_run_at, ?)
           WHERE running_since IS NOT NULL`,
        )
        .run(now);
      return rows.map((r) => r.key);
    })();
  }

  /** Due jobs not running, earliest first. */
  due(now: number): JobRow[] {
    return (
      this.db
        .prepare(
          'SELECT * FROM scheduled_jobs WHERE next_run_at <= ? AND running_since IS NULL ORDER BY next_run_at, key',
        )
        .all(now) as Raw[]
    ).map(toRow);
  }

  /** The earliest next run after `now` of a job not running, if any. */
  nextDueAfter(now: number): number | undefined {
    const t = this.db
      .prepare('SELECT MIN(next_run_at) FROM scheduled_jobs WHERE running_since IS NULL AND next_run_at > ?')
      .pluck()
      .get(now) as number | null;
    return t ?? undefined;
  }

  /** Claim a job; false when another runner already has it. */
  claim(key: string, now: number): boolean {
    return (
      this.db
        .prepare('UPDATE scheduled_jobs SET running_since = ? WHERE key = ? AND running_since IS NULL')
        .run(now, key).changes === 1
    );
  }

  finish(key: string, now: number, outcome: { ok: boolean; error?: string; nextRunAt: number }): void {
    this.db
      .prepare(
        `UPDATE scheduled_jobs SET running_since = NULL, last_run_at = ?, last_status = ?, last_error = ?, next_run_at = ?
         WHERE key = ?`,
      )
      .run(now, outcome.ok ? 'ok' : 'failed', outcome.error ?? null, outcome.nextRunAt, key);
  }

  /** Ask for a job to run at once (an alert, a person): moves its next run earlier, never later. */
  runSoon(key: string, at: number): void {
    this.db.prepare('UPDATE scheduled_jobs SET next_run_at = MIN(next_run_at, ?) WHERE key = ?').run(at, key);
  }
}
