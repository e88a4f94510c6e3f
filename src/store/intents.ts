import type { Db } from './db.js';

export interface Intent {
  step: string;
  startedAt: number;
  finishedAt: number | null;
  data: Record<string, unknown>;
}

/**
 * Write-ahead intents for apply: `begin` is written before a side effect and `finish` after it.
 * After a crash, a begun but unfinished step is exactly where the process died.
 */
export class IntentStore {
  constructor(private readonly db: Db) {}

  begin(interventionId: string, step: string, at: number, data: Record<string, unknown> = {}): void {
    this.db
      .prepare(
        `INSERT INTO apply_intents (intervention_id, step, started_at, data) VALUES (?, ?, ?, ?)
         ON CONFLICT (intervention_id, step) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL,
           data = json_patch(apply_intents.data, excluded.data)`,
      )
      .run(interventionId, step, at, JSON.stringify(data));
  }

  finish(interventionId: string, step: string, at: number, data: Record<string, unknown> = {}): void {
    this.db
      .prepare(
        `UPDATE apply_intents SET finished_at = ?, data = json_patch(data, ?) WHERE intervention_id = ? AND step = ?`,
      )
      .run(at, JSON.stringify(data), interventionId, step);
  }

  /** Interventions with `step` begun and not finished: where a crash stopped that step. */
  unfinished(step: string): string[] {
    return this.db
      .prepare(
        `SELECT intervention_id FROM apply_intents WHERE step = ? AND finished_at IS NULL ORDER BY started_at, rowid`,
      )
      .pluck()
      .all(step) as string[];
  }

  get(interventionId: string, step: string): Intent | undefined {
    return this.list(interventionId).find((i) => i.step === step);
  }

  list(interventionId: string): Intent[] {
    const rows = this.db
      .prepare(
        `SELECT step, started_at AS startedAt, finished_at AS finishedAt, data FROM apply_intents
         WHERE intervention_id = ? ORDER BY started_at, rowid`,
      )
      .all(interventionId) as (Omit<Intent, 'data'> & { data: string })[];
    return rows.map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }
}
