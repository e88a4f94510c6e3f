import { z } from 'zod';
import type { Db } from './db.js';

/** Who holds a target's lease, and what it does. */
export const Lease = z.object({
  target: z.string(),
  owner: z.string(),
  pid: z.number(),
  pidStart: z.string().nullable(),
  host: z.string(),
  doing: z.string(),
  interventionId: z.string().nullable(),
  actor: z.string().nullable(),
  acquiredAt: z.number(),
  heartbeatAt: z.number(),
  expiresAt: z.number(),
});
export type Lease = z.infer<typeof Lease>;

export type LeaseClaim = Omit<Lease, 'target'>;

export type AcquireResult =
  | { acquired: true; /** The lease of a holder that was gone, replaced by this one. */ replaced?: Lease }
  | { acquired: false; holder: Lease };

const SELECT = `SELECT target, owner, pid, pid_start AS pidStart, host, doing, intervention_id AS interventionId,
  actor, acquired_at AS acquiredAt, heartbeat_at AS heartbeatAt, expires_at AS expiresAt FROM target_leases`;

/**
 * The target leases (table `target_leases`). Only SQL lives here: whether a holder is still alive
 * is decided by the caller (apply/lease.ts), inside the same transaction as the take-over.
 */
export class LeaseStore {
  constructor(private readonly db: Db) {}

  /**
   * Take the target's lease for `claim.owner`, in one IMMEDIATE transaction: free, already this
   * owner's, or held by a holder `gone` says is gone (whose lease is then replaced and returned).
   */
  acquire(target: string, claim: LeaseClaim, gone: (holder: Lease) => boolean): AcquireResult {
    const run = this.db.transaction((): AcquireResult => {
      const holder = this.get(target);
      if (holder && holder.owner !== claim.owner && !gone(holder)) return { acquired: false, holder };
      this.db
        .prepare(
          `INSERT INTO target_leases (target, owner, pid, pid_start, host, doing, intervention_id, actor, acquired_at, heartbeat_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (target) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, pid_start = excluded.pid_start,
             host = excluded.host, doing = excluded.doing, intervention_id = excluded.intervention_id, actor = excluded.actor,
             acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`,
        )
        .run(
          target,
          claim.owner,
          claim.pid,
          claim.pidStart,
          claim.host,
          claim.doing,
          claim.interventionId,
          claim.actor,
          claim.acquiredAt,
          claim.heartbeatAt,
          claim.expiresAt,
        );
      return holder && holder.owner !== claim.owner
        ? { acquired: true, replaced: holder }
        : { acquired: true };
    });
    return run.immediate();
  }

  /** Say what the holder does now (a submit that became an apply); false when `owner` no longer holds it. */
  describe(target: string, owner: string, what: { doing: string; interventionId?: string }): boolean {
    const info = this.db
      .prepare(
        'UPDATE target_leases SET doing = ?, intervention_id = COALESCE(?, intervention_id) WHERE target = ? AND owner = ?',
      )
      .run(what.doing, what.interventionId ?? null, target, owner);
    return info.changes === 1;
  }

  /** The heartbeat: false when `owner` no longer holds the lease (it was taken over). */
  renew(target: string, owner: string, heartbeatAt: number, expiresAt: number): boolean {
    const info = this.db
      .prepare('UPDATE target_leases SET heartbeat_at = ?, expires_at = ? WHERE target = ? AND owner = ?')
      .run(heartbeatAt, expiresAt, target, owner);
    return info.changes === 1;
  }

  /** Give the lease up; a lease someone else took over meanwhile is left alone. */
  release(target: string, owner: string): void {
    this.db.prepare('DELETE FROM target_leases WHERE target = ? AND owner = ?').run(target, owner);
  }

  get(target: string): Lease | undefined {
    const row = this.db.prepare(`${SELECT} WHERE target = ?`).get(target);
    return row === undefined ? undefined : Lease.parse(row);
  }

  list(): Lease[] {
    return (this.db.prepare(`${SELECT} ORDER BY target`).all() as unknown[]).map((r) => Lease.parse(r));
  }
}
