import { z } from 'zod';
import type { Db } from './db.js';

export interface NewEvent {
  kind: string;
  target?: string;
  interventionId?: string;
  data?: Record<string, unknown>;
}

export const EventRow = z.object({
  id: z.number(),
  t: z.number(),
  kind: z.string(),
  target: z.string().nullable(),
  interventionId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type EventRow = z.infer<typeof EventRow>;

/** The append-only event log: every autonomous action and why. */
export class EventLog {
  constructor(private readonly db: Db) {}

  append(t: number, event: NewEvent): number {
    const info = this.db
      .prepare('INSERT INTO events (t, kind, target, intervention_id, data) VALUES (?, ?, ?, ?, ?)')
      .run(
        t,
        event.kind,
        event.target ?? null,
        event.interventionId ?? null,
        JSON.stringify(event.data ?? {}),
      );
    return Number(info.lastInsertRowid);
  }

  list(filter: { since?: number; kind?: string; limit?: number } = {}): EventRow[] {
    const rows = this.db
      .prepare(
        `SELECT id, t, kind, target, intervention_id AS interventionId, data FROM events
         WHERE t >= ? AND (? IS NULL OR kind = ?) ORDER BY id DESC LIMIT ?`,
      )
      .all(filter.since ?? 0, filter.kind ?? null, filter.kind ?? null, filter.limit ?? 100) as Record<
      string,
      unknown
    >[];
    return rows.map((r) => EventRow.parse({ ...r, data: JSON.parse(r.data as string) }));
  }

  /** Events with an id above `afterId`, oldest first: a cursor for readers that must see each event once. */
  after(afterId: number, limit = 1000): EventRow[] {
    const rows = this.db
      .prepare(
        `SELECT id, t, kind, target, intervention_id AS interventionId, data FROM events
         WHERE id > ? ORDER BY id LIMIT ?`,
      )
      .all(afterId, limit) as Record<string, unknown>[];
    return rows.map((r) => EventRow.parse({ ...r, data: JSON.parse(r.data as string) }));
  }

  /**
   * The newest event of one of `kinds` for `target`; with `flag`, only one whose data holds `true`
   * at that JSON path (e.g. `$.healthyAfter`).
   */
  newest(target: string, kinds: readonly string[], flag?: string): EventRow | undefined {
    if (kinds.length === 0) return undefined;
    const row = this.db
      .prepare(
        `SELECT id, t, kind, target, intervention_id AS interventionId, data FROM events
         WHERE target = ? AND kind IN (${kinds.map(() => '?').join(', ')})
           AND (? IS NULL OR json_extract(data, ?) = 1)
         ORDER BY id DESC LIMIT 1`,
      )
      .get(target, ...kinds, flag ?? null, flag ?? null) as Record<string, unknown> | undefined;
    return row ? EventRow.parse({ ...row, data: JSON.parse(row.data as string) }) : undefined;
  }

  /** The highest id of the events before time `before` (all events when not given); 0 when there are none. */
  lastId(before?: number): number {
    const id = this.db
      .prepare('SELECT MAX(id) FROM events WHERE (? IS NULL OR t < ?)')
      .pluck()
      .get(before ?? null, before ?? null) as number | null;
    return id ?? 0;
  }
}
