import type { Db } from './db.js';

/** What each signal's source keeps between samples, as JSON. */
export class SourceStateStore {
  constructor(private readonly db: Db) {}

  get(signalId: number): unknown {
    const text = this.db
      .prepare('SELECT state FROM source_state WHERE signal_id = ?')
      .pluck()
      .get(signalId) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  set(signalId: number, state: unknown, now: number): void {
    this.db
      .prepare(
        `INSERT INTO source_state (signal_id, state, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (signal_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      )
      .run(signalId, JSON.stringify(state), now);
  }
}
