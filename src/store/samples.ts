import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

export const HOUR_MS = 3_600_000;

/** One stored sample: a value, or the error that kept it from being a value. */
export type Sample =
  { t: number; value: number; error?: undefined } | { t: number; value?: undefined; error: string };

export interface NewSample {
  signalId: number;
  t: number;
  value?: number;
  error?: string;
}

export interface HourlyRollup {
  hour: number;
  n: number;
  errors: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  median: number | null;
}

/** Raw samples and their hourly rollups. */
export class SampleStore {
  private readonly insertStmt;
  private readonly rangeStmt;
  /** Prepared statements by SQL: the digest runs these per signal, and compiling costs more than running. */
  private readonly statements = new Map<string, Statement>();
  private cached(sql: string, raw = false): Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = raw ? this.db.prepare(sql).raw() : this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  constructor(private readonly db: Db) {
    // A second sample in the same millisecond replaces the first rather than failing the batch.
    this.insertStmt = db.prepare(
      `INSERT INTO samples (signal_id, t, value, error) VALUES (?, ?, ?, ?)
       ON CONFLICT (signal_id, t) DO UPDATE SET value = excluded.value, error = excluded.error`,
    );
    this.rangeStmt = db
      .prepare('SELECT t, value, error FROM samples WHERE signal_id = ? AND t >= ? AND t <= ? ORDER BY t')
      .raw();
  }

  /** Write a batch in one transaction. A non-finite value is stored as an error, never as a number. */
  insert(samples: readonly NewSample[]): void {
    const run = this.db.transaction((batch: readonly NewSample[]) => {
      for (const s of batch) {
        if (s.error !== undefined || s.value === undefined || !Number.isFinite(s.value)) {
          const error = s.error ?? `not a finite number: ${String(s.value)}`;
          this.insertStmt.run(s.signalId, s.t, null, error);
        } else {
          this.insertStmt.run(s.signalId, s.t, s.value, null);
        }
      }
    });
    run(samples);
  }

  /** Samples of one signal with from ≤ t ≤ to, oldest first. */
  range(signalId: number, from: number, to: number): Sample[] {
    const rows = this.rangeStmt.all(signalId, from, to) as [number, number | null, string | null][];
    return rows.map(([t, value, error]) => (error !== null ? { t, error } : { t, value: value as number }));
  }

  /** The newest `limit` samples at or before `to`, newest first. */
  latest(signalId: number, to: number, limit: number): Sample[] {
    const rows = this.cached(
      'SELECT t, value, error FROM samples WHERE signal_id = ? AND t <= ? ORDER BY t DESC LIMIT ?',
      true,
    ).all(signalId, to, limit) as [number, number | null, string | null][];
    return rows.map(([t, value, error]) => (error !== null ? { t, error } : { t, value: value as number }));
  }

  /** Values (errors skipped) with from ≤ t < to, oldest first. */
  values(signalId: number, from: number, to: number): { t: number; value: number }[] {
    return this.cached(
      'SELECT t, value FROM samples WHERE signal_id = ? AND t >= ? AND t < ? AND value IS NOT NULL ORDER BY t',
    ).all(signalId, from, to) as { t: number; value: number }[];
  }

  /** The newest `limit` values before `before`, oldest first. */
  valuesBefore(signalId: number, before: number, limit: number): { t: number; value: number }[] {
    const rows = this.cached(
      'SELECT t, value FROM samples WHERE signal_id = ? AND t < ? AND value IS NOT NULL ORDER BY t DESC LIMIT ?',
    ).all(signalId, before, limit) as { t: number; value: number }[];
    return rows.reverse();
  }

  hourly(signalId: number, from: number, to: number): HourlyRollup[] {
    return this.cached(
      'SELECT hour, n, errors, sum, min, max, median FROM samples_hourly WHERE signal_id = ? AND hour >= ? AND hour < ? ORDER BY hour',
    ).all(signalId, from, to) as HourlyRollup[];
  }

  /** Raw samples are rolled up to here (exclusive); undefined when nothing is rolled up yet. */
  rolledUntil(signalId: number): number | undefined {
    const row = this.cached('SELECT rolled_until FROM rollup_state WHERE signal_id = ?')
      .pluck()
      .get(signalId);
    return row as number | undefined;
  }

  /**
   * Roll up every complete hour not yet rolled up, for every signal. Idempotent: an hour is
   * written once and the watermark moves in the same transaction, so a crash repeats nothing.
   * Returns how many hourly rows were written.
   */
  rollup(now: number): number {
    const untilHour = Math.floor(now / HOUR_MS) * HOUR_MS;
    const signals = this.db.prepare('SELECT id FROM signals').pluck().all() as number[];
    const firstT = this.db.prepare('SELECT MIN(t) FROM samples WHERE signal_id = ?').pluck();
    const values = this.db
      .prepare(
        'SELECT value FROM samples WHERE signal_id = ? AND t >= ? AND t < ? AND value IS NOT NULL ORDER BY value',
      )
      .pluck();
    const errors = this.db
      .prepare('SELECT COUNT(*) FROM samples WHERE signal_id = ? AND t >= ? AND t < ? AND error IS NOT NULL')
      .pluck();
    const nextT = this.db.prepare('SELECT MIN(t) FROM samples WHERE signal_id = ? AND t >= ?').pluck();
    const write = this.db.prepare(
      `INSERT INTO samples_hourly (signal_id, hour, n, errors, sum, min, max, median) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (signal_id, hour) DO NOTHING`,
    );
    const mark = this.db.prepare(
      `INSERT INTO rollup_state (signal_id, rolled_until) VALUES (?, ?)
       ON CONFLICT (signal_id) DO UPDATE SET rolled_until = excluded.rolled_until`,
    );
    let written = 0;
    for (const id of signals) {
      const step = this.db.transaction(() => {
        let from = this.rolledUntil(id);
        if (from === undefined) {
          const first = firstT.get(id) as number | null;
          if (first === null) return;
          from = Math.floor(first / HOUR_MS) * HOUR_MS;
        }
        let hour = from;
        while (hour < untilHour) {
          const vs = values.all(id, hour, hour + HOUR_MS) as number[];
          const errs = errors.get(id, hour, hour + HOUR_MS) as number;
          if (vs.length > 0 || errs > 0) {
            const sum = vs.reduce((a, b) => a + b, 0);
            write.run(
              id,
              hour,
              vs.length,
              errs,
              vs.length ? sum : null,
              vs[0] ?? null,
              vs.at(-1) ?? null,
              medianOfSorted(vs),
            );
            written++;
            hour += HOUR_MS;
          } else {
            // Skip a gap in one step instead of walking empty hours one by one.
            const next = nextT.get(id, hour) as number | null;
            hour = next === null ? untilHour : Math.max(hour + HOUR_MS, Math.floor(next / HOUR_MS) * HOUR_MS);
            hour = Math.min(hour, untilHour);
          }
        }
        if (hour > from || this.rolledUntil(id) === undefined) mark.run(id, Math.max(hour, from));
      });
      step();
    }
    return written;
  }

  /**
   * Delete raw samples older than `rawBefore` (only hours already rolled up) and rollups older
   * than `rollupBefore`, at most `batch` rows per statement so the writer never holds the lock long.
   * Returns the rows deleted.
   */
  prune(rawBefore: number, rollupBefore: number, batch: number): { raw: number; hourly: number } {
    const signals = this.db.prepare('SELECT id FROM signals').pluck().all() as number[];
    const delRaw = this.db.prepare(
      `DELETE FROM samples WHERE signal_id = ? AND t IN
         (SELECT t FROM samples WHERE signal_id = ? AND t < ? ORDER BY t LIMIT ?)`,
    );
    const delHourly = this.db.prepare(
      `DELETE FROM samples_hourly WHERE signal_id = ? AND hour IN
         (SELECT hour FROM samples_hourly WHERE signal_id = ? AND hour < ? ORDER BY hour LIMIT ?)`,
    );
    let raw = 0;
    let hourly = 0;
    for (const id of signals) {
      const limit = Math.min(rawBefore, this.rolledUntil(id) ?? Number.NEGATIVE_INFINITY);
      if (Number.isFinite(limit)) {
        for (;;) {
          const { changes } = delRaw.run(id, id, limit, batch);
          raw += changes;
          if (changes < batch) break;
        }
      }
      for (;;) {
        const { changes } = delHourly.run(id, id, rollupBefore, batch);
        hourly += changes;
        if (changes < batch) break;
      }
    }
    return { raw, hourly };
  }
}

export function medianOfSorted(sorted: readonly number[]): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const mid = n >> 1;
  return n % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
