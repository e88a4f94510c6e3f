import { z } from 'zod';
import type { Db } from './db.js';

/** What happened to one signed lesson: sent by this system, taken in from a peer, or refused. */
export const ExchangeDirection = z.enum(['exported', 'imported', 'refused']);
export type ExchangeDirection = z.infer<typeof ExchangeDirection>;

export interface NewExchangeEntry {
  lessonId: string;
  direction: ExchangeDirection;
  at: number;
  /** Fingerprint of the signing key (this system's own for `exported`). */
  peer?: string;
  /** sha256 (hex) of the signed bytes; of the file as found when it could not be read as signed. */
  digest: string;
  /** For people: why it was refused, where it was written. */
  detail?: string;
}

export const ExchangeEntry = z.object({
  id: z.number(),
  lessonId: z.string(),
  direction: ExchangeDirection,
  at: z.number(),
  peer: z.string().nullable(),
  digest: z.string(),
  detail: z.string().nullable(),
});
export type ExchangeEntry = z.infer<typeof ExchangeEntry>;

export interface ExchangeFilter {
  lessonId?: string;
  direction?: ExchangeDirection;
  peer?: string;
  limit?: number;
}

const COLUMNS = 'id, lesson_id AS lessonId, direction, at, peer, digest, detail';

/**
 * The exchange ledger (table lesson_exchange): every lesson signed into the outbox, imported from a
 * peer, or refused, with the digest of the signed bytes. Export asks it what was already sent;
 * sync asks it what was already taken in (and which older versions a replay would bring back).
 */
export class LessonExchangeLog {
  constructor(private readonly db: Db) {}

  record(entry: NewExchangeEntry): number {
    const info = this.db
      .prepare(
        'INSERT INTO lesson_exchange (lesson_id, direction, at, peer, digest, detail) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        entry.lessonId,
        ExchangeDirection.parse(entry.direction),
        entry.at,
        entry.peer ?? null,
        entry.digest,
        entry.detail ?? null,
      );
    return Number(info.lastInsertRowid);
  }

  /** Whether this lesson went `direction` with this digest (from or to `peer`, when given). */
  has(lessonId: string, direction: ExchangeDirection, digest: string, peer?: string): boolean {
    return (
      this.db
        .prepare(
          `SELECT 1 FROM lesson_exchange WHERE lesson_id = ? AND direction = ? AND digest = ?
           AND (? IS NULL OR peer = ?) LIMIT 1`,
        )
        .get(lessonId, direction, digest, peer ?? null, peer ?? null) !== undefined
    );
  }

  /** The newest entry for a lesson in one direction (from or to `peer`, when given). */
  latest(lessonId: string, direction: ExchangeDirection, peer?: string): ExchangeEntry | undefined {
    return this.list({ lessonId, direction, ...(peer === undefined ? {} : { peer }), limit: 1 })[0];
  }

  /** Newest first. */
  list(filter: ExchangeFilter = {}): ExchangeEntry[] {
    const rows = this.db
      .prepare(
        `SELECT ${COLUMNS} FROM lesson_exchange
         WHERE (? IS NULL OR lesson_id = ?) AND (? IS NULL OR direction = ?) AND (? IS NULL OR peer = ?)
         ORDER BY id DESC LIMIT ?`,
      )
      .all(
        filter.lessonId ?? null,
        filter.lessonId ?? null,
        filter.direction ?? null,
        filter.direction ?? null,
        filter.peer ?? null,
        filter.peer ?? null,
        filter.limit ?? 1000,
      );
    return rows.map((r) => ExchangeEntry.parse(r));
  }
}
