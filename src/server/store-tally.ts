import type { Db } from '../store/db.js';

/*
 * What the store gained since the last scrape, read cheaply enough to run on every one.
 *
 * Transitions, events and model calls live in append-only tables with increasing integer ids, and
 * SQLite has one writer at a time, so "rows with an id above the last one seen" is exact: each row
 * is counted once, and a counter built from them equals the store's total (it survives restarts).
 *
 * Raw samples are deleted after retention, so they cannot be totalled that way; they are counted
 * from when the tally started, by time, per signal, along the (signal_id, t) primary key.
 */

export interface TransitionCount {
  target: string;
  from: string | null;
  to: string;
  /** `kaizen`, or `person` for anyone else. */
  by: 'kaizen' | 'person';
  n: number;
}

export interface LlmCallRow {
  task: string;
  provider: string;
  model: string;
  outcome: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
}

export class AppendOnlyTally {
  private transitionsSeen = 0;
  private eventsSeen = 0;
  private llmCallsSeen = 0;

  constructor(private readonly db: Db) {}

  /** The id of the newest transition seen: it changes whenever any intervention changes state. */
  get transitionsVersion(): number {
    return this.transitionsSeen;
  }

  newTransitions(): TransitionCount[] {
    return this.grouped(
      'intervention_transitions',
      'transitionsSeen',
      (from, to) =>
        this.db
          .prepare(
            `SELECT tg.name AS target, tr.from_state AS "from", tr.to_state AS "to",
             CASE WHEN tr.actor = 'kaizen' THEN 'kaizen' ELSE 'person' END AS by, COUNT(*) AS n
           FROM intervention_transitions tr
           JOIN interventions i ON i.id = tr.intervention_id JOIN targets tg ON tg.id = i.target_id
           WHERE tr.id > ? AND tr.id <= ? GROUP BY 1, 2, 3, 4`,
          )
          .all(from, to) as TransitionCount[],
    );
  }

  newEvents(): { kind: string; n: number }[] {
    return this.grouped(
      'events',
      'eventsSeen',
      (from, to) =>
        this.db
          .prepare('SELECT kind, COUNT(*) AS n FROM events WHERE id > ? AND id <= ? GROUP BY kind')
          .all(from, to) as { kind: string; n: number }[],
    );
  }

  /** One row per call: the latency histogram needs each value. Calls are few (a handful an hour). */
  newLlmCalls(): LlmCallRow[] {
    return this.grouped(
      'llm_calls',
      'llmCallsSeen',
      (from, to) =>
        this.db
          .prepare(
            `SELECT task, provider, model, outcome, input_tokens AS inputTokens, output_tokens AS outputTokens,
             latency_ms AS latencyMs FROM llm_calls WHERE id > ? AND id <= ? ORDER BY id`,
          )
          .all(from, to) as LlmCallRow[],
    );
  }

  /** Rows in (seen, newest]; the upper bound is read first so rows written meanwhile wait for the next call. */
  private grouped<T>(
    table: 'intervention_transitions' | 'events' | 'llm_calls',
    cursor: 'transitionsSeen' | 'eventsSeen' | 'llmCallsSeen',
    read: (from: number, to: number) => T[],
  ): T[] {
    const newest = (this.db.prepare(`SELECT MAX(id) FROM ${table}`).pluck().get() as number | null) ?? 0;
    if (newest <= this[cursor]) return [];
    const rows = read(this[cursor], newest);
    this[cursor] = newest;
    return rows;
  }
}

export interface SampleCount {
  signalId: number;
  target: string;
  signal: string;
  values: number;
  errors: number;
}

/**
 * Samples recorded since `startedAt`, per signal. A sample's time is when it was taken, and it
 * reaches the store a little later (after its source answered or timed out), so counts older than
 * `settleMs` are folded into a running total and only the recent tail is counted afresh each time.
 * Retention never reaches the tail, so the totals only grow.
 */
export class SampleTally {
  private settledUntil: number;
  private readonly settled = new Map<number, { values: number; errors: number }>();

  constructor(
    private readonly db: Db,
    startedAt: number,
    private readonly settleMs = 15 * 60_000,
  ) {
    this.settledUntil = startedAt;
  }

  counts(now: number): SampleCount[] {
    const signals = this.db
      .prepare(
        `SELECT s.id AS signalId, t.name AS target, s.name AS signal FROM signals s
         JOIN targets t ON t.id = s.target_id ORDER BY s.id`,
      )
      .all() as { signalId: number; target: string; signal: string }[];
    const range = this.db.prepare(
      `SELECT COUNT(value) AS "values", COUNT(error) AS errors FROM samples WHERE signal_id = ? AND t > ? AND t <= ?`,
    );
    const settleTo = now - this.settleMs;
    const settling = settleTo > this.settledUntil;
    const out: SampleCount[] = [];
    for (const s of signals) {
      const settled = this.settled.get(s.signalId) ?? { values: 0, errors: 0 };
      if (settling) {
        const add = range.get(s.signalId, this.settledUntil, settleTo) as { values: number; errors: number };
        settled.values += add.values;
        settled.errors += add.errors;
        this.settled.set(s.signalId, settled);
      }
      const from = settling ? settleTo : this.settledUntil;
      const tail = range.get(s.signalId, from, Number.MAX_SAFE_INTEGER) as { values: number; errors: number };
      out.push({ ...s, values: settled.values + tail.values, errors: settled.errors + tail.errors });
    }
    if (settling) this.settledUntil = settleTo;
    return out;
  }
}
