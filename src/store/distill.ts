import type { Db } from './db.js';

export interface DistillRun {
  id: number;
  startedAt: number;
  since: number;
  until: number;
  mode: string;
  finishedAt: number | null;
  summary: unknown;
}

interface RunRow {
  id: number;
  started_at: number;
  since: number;
  until: number;
  mode: string;
  finished_at: number | null;
  summary: string | null;
}

const toRun = (r: RunRow): DistillRun => ({
  id: r.id,
  startedAt: r.started_at,
  since: r.since,
  until: r.until,
  mode: r.mode,
  finishedAt: r.finished_at,
  summary: r.summary === null ? null : (JSON.parse(r.summary) as unknown),
});

/**
 * The distiller's checkpoints: one row per run, one per step done. A run without `finished_at`
 * was interrupted; the next run resumes it, so a crash neither loses nor repeats work.
 */
export class DistillLog {
  constructor(private readonly db: Db) {}

  /** What this store salts distilled lesson ids with (empty for a store that distilled before salts existed). */
  idSalt(): string {
    return this.db.prepare('SELECT salt FROM distill_salt').pluck().get() as string;
  }

  /** The run left unfinished by a crash, if any. */
  unfinished(): DistillRun | undefined {
    const row = this.db
      .prepare('SELECT * FROM distill_runs WHERE finished_at IS NULL ORDER BY id LIMIT 1')
      .get() as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  /** The last finished run: its `until` is where the next run starts. */
  lastFinished(): DistillRun | undefined {
    const row = this.db
      .prepare(
        'SELECT * FROM distill_runs WHERE finished_at IS NOT NULL ORDER BY until DESC, id DESC LIMIT 1',
      )
      .get() as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  list(limit = 100): DistillRun[] {
    return (
      this.db.prepare('SELECT * FROM distill_runs ORDER BY id DESC LIMIT ?').all(limit) as RunRow[]
    ).map(toRun);
  }

  start(run: { startedAt: number; since: number; until: number; mode: string }): DistillRun {
    const info = this.db
      .prepare('INSERT INTO distill_runs (started_at, since, until, mode) VALUES (?, ?, ?, ?)')
      .run(run.startedAt, run.since, run.until, run.mode);
    return { id: Number(info.lastInsertRowid), ...run, finishedAt: null, summary: null };
  }

  /** What a step recorded when it was done, or undefined when it has not been done in this run. */
  stepResult(runId: number, step: string): unknown {
    const row = this.db
      .prepare('SELECT result FROM distill_steps WHERE run_id = ? AND step = ?')
      .get(runId, step) as { result: string } | undefined;
    return row ? (JSON.parse(row.result) as unknown) : undefined;
  }

  markStep(runId: number, step: string, at: number, result: unknown = {}): void {
    this.db
      .prepare('INSERT OR REPLACE INTO distill_steps (run_id, step, done_at, result) VALUES (?, ?, ?, ?)')
      .run(runId, step, at, JSON.stringify(result));
  }

  finish(runId: number, at: number, summary: unknown): void {
    this.db
      .prepare('UPDATE distill_runs SET finished_at = ?, summary = ? WHERE id = ?')
      .run(at, JSON.stringify(summary), runId);
  }
}
