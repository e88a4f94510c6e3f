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
  /** The version signed into the envelope (0 for an unversioned one), when known. */
  version?: number;
}

export const ExchangeEntry = z.object({
  id: z.number(),
  lessonId: z.string(),
  direction: ExchangeDirection,
  at: z.number(),
  peer: z.string().nullable(),
  digest: z.string(),
  detail: z.string().nullable(),
  version: z.number().int().nullable(),
});
export type ExchangeEntry = z.infer<typeof ExchangeEntry>;

/** The newest signed version of one lesson seen from one key (table lesson_versions_seen). */
export const SeenVersion = z.object({
  signer: z.string(),
  lessonId: z.string(),
  version: z.number().int().nonnegative(),
  digest: z.string(),
  at: z.number(),
});
export type SeenVersion = z.infer<typeof SeenVersion>;

export interface ExchangeFilter {
  lessonId?: string;
  direction?: ExchangeDirection;
  peer?: string;
  limit?: number;
}

const COLUMNS = 'id, lesson_id AS lessonId, direction, at, peer, digest, detail, version';

/**
 * The exchange ledger (table lesson_exchange): every lesson signed into the outbox, imported from a
 * peer, or refused, with the digest of its signed content and the version signed with it. Export
 * asks it what was already sent and which version comes next; sync asks it what was already taken
 * in, and (lesson_versions_seen) the newest version each signer's signature vouched for, below
 * which anything is a replay.
 */
export class LessonExchangeLog {
  constructor(private readonly db: Db) {}

  record(entry: NewExchangeEntry): number {
    const info = this.db
      .prepare(
        'INSERT INTO lesson_exchange (lesson_id, direction, at, peer, digest, detail, version) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        entry.lessonId,
        ExchangeDirection.parse(entry.direction),
        entry.at,
        entry.peer ?? null,
        entry.digest,
        entry.detail ?? null,
        entry.version ?? null,
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

  /**
   * The newest version of a lesson this system has signed itself with key `signer` (0 when none,
   * or only unversioned ones).
   */
  lastExportedVersion(lessonId: string, signer: string): number {
    const v = this.db
      .prepare(
        `SELECT MAX(version) FROM lesson_exchange WHERE lesson_id = ? AND direction = 'exported' AND peer = ?`,
      )
      .pluck()
      .get(lessonId, signer);
    return typeof v === 'number' ? v : 0;
  }

  /** The newest version of a lesson whose signature by `signer` verified here, if any. */
  seen(signer: string, lessonId: string): SeenVersion | undefined {
    const row = this.db
      .prepare(
        'SELECT signer, lesson_id AS lessonId, version, digest, at FROM lesson_versions_seen WHERE signer = ? AND lesson_id = ?',
      )
      .get(signer, lessonId);
    return row === undefined ? undefined : SeenVersion.parse(row);
  }

  /**
   * Remember a version whose signature verified, when it is newer than the one remembered (an
   * unversioned envelope, version 0, replaces only another version 0).
   */
  markSeen(entry: SeenVersion): void {
    this.db
      .prepare(
        `INSERT INTO lesson_versions_seen (signer, lesson_id, version, digest, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (signer, lesson_id) DO UPDATE SET version = excluded.version, digest = excluded.digest, at = excluded.at
         WHERE excluded.version > lesson_versions_seen.version
            OR (excluded.version = 0 AND lesson_versions_seen.version = 0 AND excluded.digest <> lesson_versions_seen.digest)`,
      )
      .run(entry.signer, entry.lessonId, entry.version, entry.digest, entry.at);
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
