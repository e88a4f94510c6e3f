import type { z } from 'zod';
import type { Db } from '../store/db.js';

/*
 * The notifier's and the drift scan's own tables (migration 0005): the outbox, the deliveries, and
 * small JSON state values. They live here rather than in src/store because nothing else reads them.
 */

export interface OutboxRow {
  id: number;
  eventId: number;
  createdAt: number;
  /** The notification as JSON; parsed (and checked) by the caller. */
  message: string;
}

export interface DeliveryRow {
  status: 'sent' | 'failed';
  attempts: number;
  at: number;
  detail: string | null;
}

export class NotifyStore {
  constructor(private readonly db: Db) {}

  /** Run `fn` in one IMMEDIATE transaction: two processes never plan the same event. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** A JSON state value, checked against `schema`; undefined when absent or no longer in that shape. */
  get<T>(key: string, schema: z.ZodType<T>): T | undefined {
    const text = this.db.prepare('SELECT value FROM notify_state WHERE key = ?').pluck().get(key) as
      string | undefined;
    if (text === undefined) return undefined;
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  }

  set(key: string, value: unknown, now: number): void {
    this.db
      .prepare(
        `INSERT INTO notify_state (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(key, JSON.stringify(value), now);
  }

  delete(key: string): void {
    this.db.prepare('DELETE FROM notify_state WHERE key = ?').run(key);
  }

  /** Keys starting with `prefix`, with their raw values. */
  keys(prefix: string): string[] {
    return this.db
      .prepare("SELECT key FROM notify_state WHERE key LIKE ? ESCAPE '\\' ORDER BY key")
      .pluck()
      .all(`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) as string[];
  }

  enqueue(eventId: number, message: unknown, now: number): number {
    const info = this.db
      .prepare('INSERT INTO notify_outbox (event_id, created_at, message) VALUES (?, ?, ?)')
      .run(eventId, now, JSON.stringify(message));
    return Number(info.lastInsertRowid);
  }

  /** Notifications not yet sent to (or given up on by) every webhook, oldest first. */
  pending(limit: number): OutboxRow[] {
    return this.db
      .prepare(
        `SELECT id, event_id AS eventId, created_at AS createdAt, message FROM notify_outbox
         WHERE done_at IS NULL ORDER BY id LIMIT ?`,
      )
      .all(limit) as OutboxRow[];
  }

  markDone(outboxId: number, at: number): void {
    this.db.prepare('UPDATE notify_outbox SET done_at = ? WHERE id = ?').run(at, outboxId);
  }

  delivery(outboxId: number, webhook: string): DeliveryRow | undefined {
    return this.db
      .prepare(
        'SELECT status, attempts, at, detail FROM notify_deliveries WHERE outbox_id = ? AND webhook = ?',
      )
      .get(outboxId, webhook) as DeliveryRow | undefined;
  }

  recordDelivery(
    outboxId: number,
    webhook: string,
    row: { status: 'sent' | 'failed'; attempts: number; at: number; detail?: string },
  ): void {
    this.db
      .prepare(
        `INSERT INTO notify_deliveries (outbox_id, webhook, status, attempts, at, detail) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (outbox_id, webhook) DO NOTHING`,
      )
      .run(outboxId, webhook, row.status, row.attempts, row.at, row.detail ?? null);
  }
}
