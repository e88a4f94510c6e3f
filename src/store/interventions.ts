import { z } from 'zod';
import { IllegalTransitionError, STATES, canTransition, type State } from '../loop/states.js';
import { Proposal } from '../propose/proposal.js';
import { NotFoundError } from '../errors.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

export const Actor = z.string().min(1).max(100);

export const Transition = z.object({
  from: z.enum(STATES).nullable(),
  to: z.enum(STATES),
  at: z.number(),
  actor: z.string(),
  reason: z.string(),
});
export type Transition = z.infer<typeof Transition>;

/** An intervention as read back from the store, JSON columns parsed and checked. */
export const Intervention = z.object({
  id: z.string(),
  target: z.string(),
  area: z.string(),
  kind: z.string(),
  state: z.enum(STATES),
  risk: z.string(),
  fingerprint: z.string(),
  proposal: Proposal,
  origin: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
  baseSha: z.string().nullable(),
  preApplySha: z.string().nullable(),
  commitSha: z.string().nullable(),
  revertSha: z.string().nullable(),
  appliedAt: z.number().nullable(),
  windowMs: z.number().nullable(),
  guard: z.unknown().nullable(),
  applyLog: z.unknown().nullable(),
  verdict: z.unknown().nullable(),
  waitingReason: z.string().nullable(),
});
export type Intervention = z.infer<typeof Intervention>;

/** Columns a transition may set together with the state change. */
export interface InterventionPatch {
  risk?: string;
  baseSha?: string | null;
  preApplySha?: string | null;
  commitSha?: string | null;
  revertSha?: string | null;
  appliedAt?: number | null;
  windowMs?: number | null;
  guard?: unknown;
  applyLog?: unknown;
  verdict?: unknown;
  waitingReason?: string | null;
}

const COLUMNS: Record<keyof InterventionPatch, { column: string; json?: boolean }> = {
  risk: { column: 'risk' },
  baseSha: { column: 'base_sha' },
  preApplySha: { column: 'pre_apply_sha' },
  commitSha: { column: 'commit_sha' },
  revertSha: { column: 'revert_sha' },
  appliedAt: { column: 'applied_at' },
  windowMs: { column: 'window_ms' },
  guard: { column: 'guard', json: true },
  applyLog: { column: 'apply_log', json: true },
  verdict: { column: 'verdict', json: true },
  waitingReason: { column: 'waiting_reason' },
};

const SELECT = `SELECT i.id, t.name AS target, i.area, i.kind, i.state, i.risk, i.fingerprint, i.proposal, i.origin,
  i.created_at AS createdAt, i.updated_at AS updatedAt, i.base_sha AS baseSha, i.pre_apply_sha AS preApplySha,
  i.commit_sha AS commitSha, i.revert_sha AS revertSha, i.applied_at AS appliedAt, i.window_ms AS windowMs,
  i.guard, i.apply_log AS applyLog, i.verdict, i.waiting_reason AS waitingReason
  FROM interventions i JOIN targets t ON t.id = i.target_id`;

export interface NewIntervention {
  target: string;
  proposal: Proposal;
  fingerprint: string;
  origin: string;
  baseSha: string | null;
  actor: string;
  reason: string;
}

/**
 * Interventions and their history. Every state change goes through `transition`, which checks it
 * against the state machine and records who, when and why in the same transaction.
 */
export class InterventionStore {
  constructor(private readonly db: Db) {}

  /** Prepared statements by SQL: compiling one costs more than running it on the hot paths. */
  private readonly statements = new Map<string, Statement>();
  private cached(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  create(input: NewIntervention, now: number): Intervention {
    const run = this.db.transaction(() => {
      const targetId = this.db.prepare('SELECT id FROM targets WHERE name = ?').pluck().get(input.target) as
        number | undefined;
      if (targetId === undefined) throw new NotFoundError(`no target named "${input.target}" in the store`);
      const last = this.db
        .prepare("SELECT MAX(CAST(SUBSTR(id, 2) AS INTEGER)) FROM interventions WHERE id LIKE 'K%'")
        .pluck()
        .get() as number | null;
      const id = `K${String((last ?? 0) + 1).padStart(4, '0')}`;
      const p = input.proposal;
      this.db
        .prepare(
          `INSERT INTO interventions (id, target_id, area, kind, state, risk, fingerprint, proposal, origin, base_sha, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'proposed', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          targetId,
          p.area,
          p.kind,
          p.risk,
          input.fingerprint,
          JSON.stringify(p),
          input.origin,
          input.baseSha,
          now,
          now,
        );
      this.recordTransition(id, null, 'proposed', now, input.actor, input.reason);
      return id;
    });
    // IMMEDIATE: two processes creating at once must not compute the same id.
    return this.get(run.immediate());
  }

  get(id: string): Intervention {
    const row = this.cached(`${SELECT} WHERE i.id = ?`).get(id) as Record<string, unknown> | undefined;
    if (!row)
      throw new NotFoundError(`no intervention ${id}; "kaizen backlog" and "kaizen status" list them`);
    return parseRow(row);
  }

  find(id: string): Intervention | undefined {
    const row = this.cached(`${SELECT} WHERE i.id = ?`).get(id) as Record<string, unknown> | undefined;
    return row ? parseRow(row) : undefined;
  }

  list(
    filter: {
      target?: string;
      states?: readonly State[];
      area?: string;
      since?: number;
      limit?: number;
    } = {},
  ): Intervention[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.target !== undefined) {
      where.push('t.name = ?');
      params.push(filter.target);
    }
    if (filter.states !== undefined) {
      where.push(`i.state IN (${filter.states.map(() => '?').join(', ') || "''"})`);
      params.push(...filter.states);
    }
    if (filter.area !== undefined) {
      where.push('i.area = ?');
      params.push(filter.area);
    }
    if (filter.since !== undefined) {
      where.push('i.created_at >= ?');
      params.push(filter.since);
    }
    const sql = `${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY i.created_at DESC, i.id DESC LIMIT ?`;
    return (this.cached(sql).all(...params, filter.limit ?? 1000) as Record<string, unknown>[]).map(parseRow);
  }

  /**
   * Move an intervention to `to`, refusing a transition the state machine does not allow, and
   * record it. `expectFrom` guards against a concurrent change between read and write.
   */
  transition(
    id: string,
    to: State,
    at: number,
    actor: string,
    reason: string,
    patch: InterventionPatch = {},
    expectFrom?: State,
  ): Intervention {
    const run = this.db.transaction(() => {
      const current = this.db.prepare('SELECT state FROM interventions WHERE id = ?').pluck().get(id) as
        State | undefined;
      if (current === undefined) throw new NotFoundError(`no intervention ${id}`);
      if ((expectFrom !== undefined && current !== expectFrom) || !canTransition(current, to)) {
        throw new IllegalTransitionError(id, current, to, expectFrom);
      }
      this.applyPatch(id, { ...patch }, at, to);
      this.recordTransition(id, current, to, at, actor, reason);
    });
    run.immediate();
    return this.get(id);
  }

  /** Set columns without a state change (e.g. recording the commit SHA inside the applying state). */
  patch(id: string, patch: InterventionPatch, at: number): void {
    this.applyPatch(id, patch, at);
  }

  history(id: string): Transition[] {
    return (
      this.db
        .prepare(
          `SELECT from_state AS "from", to_state AS "to", at, actor, reason FROM intervention_transitions
           WHERE intervention_id = ? ORDER BY id`,
        )
        .all(id) as unknown[]
    ).map((r) => Transition.parse(r));
  }

  /**
   * Every transition of every intervention recorded after the one numbered `afterSeq` (0: from
   * the start), oldest first: a reader that keeps the last `seq` it saw reads each once.
   */
  transitionsAfter(afterSeq: number): (Transition & { seq: number; interventionId: string })[] {
    return (
      this.cached(
        `SELECT id AS seq, intervention_id AS interventionId, from_state AS "from", to_state AS "to", at, actor, reason
         FROM intervention_transitions WHERE id > ? ORDER BY id`,
      ).all(afterSeq) as (Transition & { seq: number; interventionId: string })[]
    ).map((r) => ({ ...Transition.parse(r), seq: r.seq, interventionId: r.interventionId }));
  }

  /** When the intervention last entered `state`, if it ever did. */
  enteredAt(id: string, state: State): number | undefined {
    const at = this.db
      .prepare('SELECT MAX(at) FROM intervention_transitions WHERE intervention_id = ? AND to_state = ?')
      .pluck()
      .get(id, state) as number | null;
    return at ?? undefined;
  }

  /** The last `limit` of an area's interventions in `states`, by last change, newest first: id and state only. */
  latestInArea(
    target: string,
    area: string,
    states: readonly State[],
    limit: number,
  ): { id: string; state: State; updatedAt: number }[] {
    return this.cached(
      `SELECT i.id, i.state, i.updated_at AS updatedAt FROM interventions i JOIN targets t ON t.id = i.target_id
         WHERE t.name = ? AND i.area = ? AND i.state IN (${states.map(() => '?').join(', ') || "''"})
         ORDER BY i.updated_at DESC, i.id DESC LIMIT ?`,
    ).all(target, area, ...states, limit) as { id: string; state: State; updatedAt: number }[];
  }

  /**
   * Interventions that reached one of `states` in (since, until], with when: the distiller's and
   * the report's view of "finished this period". Oldest first; ties by id.
   */
  enteredBetween(
    states: readonly State[],
    since: number,
    until: number,
  ): { intervention: Intervention; state: State; at: number }[] {
    const rows = this.db
      .prepare(
        `SELECT tr.intervention_id AS id, tr.to_state AS state, MIN(tr.at) AS at FROM intervention_transitions tr
         WHERE tr.to_state IN (${states.map(() => '?').join(', ') || "''"}) AND tr.at > ? AND tr.at <= ?
         GROUP BY tr.intervention_id, tr.to_state ORDER BY at, id`,
      )
      .all(...states, since, until) as { id: string; state: State; at: number }[];
    return rows.map((r) => ({ intervention: this.get(r.id), state: r.state, at: r.at }));
  }

  /** How many of the target's interventions entered `applying` at or after `since`. */
  countAppliesSince(target: string, since: number): number {
    return this.db
      .prepare(
        `SELECT COUNT(DISTINCT tr.intervention_id) FROM intervention_transitions tr
         JOIN interventions i ON i.id = tr.intervention_id JOIN targets t ON t.id = i.target_id
         WHERE t.name = ? AND tr.to_state = 'applying' AND tr.at >= ?`,
      )
      .pluck()
      .get(target, since) as number;
  }

  private applyPatch(id: string, patch: InterventionPatch, at: number, state?: State): void {
    const sets = ['updated_at = ?'];
    const params: unknown[] = [at];
    if (state !== undefined) {
      sets.push('state = ?');
      params.push(state);
    }
    for (const [key, value] of Object.entries(patch) as [keyof InterventionPatch, unknown][]) {
      if (value === undefined) continue;
      const col = COLUMNS[key];
      sets.push(`${col.column} = ?`);
      params.push(col.json && value !== null ? JSON.stringify(value) : value);
    }
    this.db.prepare(`UPDATE interventions SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
  }

  private recordTransition(
    id: string,
    from: State | null,
    to: State,
    at: number,
    actor: string,
    reason: string,
  ): void {
    this.db
      .prepare(
        'INSERT INTO intervention_transitions (intervention_id, from_state, to_state, at, actor, reason) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(id, from, to, at, actor, reason);
  }
}

/**
 * A row as stored. The proposal was validated by the full schema before it was stored, and is kept
 * as that parsed output; parsing it again costs about a millisecond a row (the proposer's context
 * reads fifty), so only its shape is checked here.
 */
const StoredIntervention = Intervention.extend({
  proposal: z.custom<Proposal>((v) => typeof v === 'object' && v !== null && 'changes' in v, {
    message: 'the stored proposal is not an object',
  }),
});

function parseRow(row: Record<string, unknown>): Intervention {
  const json = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : null);
  return StoredIntervention.parse({
    ...row,
    proposal: json(row.proposal),
    guard: json(row.guard),
    applyLog: json(row.applyLog),
    verdict: json(row.verdict),
  });
}
