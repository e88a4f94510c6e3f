import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { KaizenError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Db } from '../store/db.js';
import type { Store } from '../store/index.js';
import type { Lease } from '../store/leases.js';
import { stillRunning, thisProcess } from '../util/process-identity.js';
import { formatLocal } from '../util/time.js';

/*
 * One lease per target, in the store: whatever applies, reverts or recovers on a target (the CLI,
 * the HTTP API, the embedded scheduler's jobs, a BullMQ worker, the daemon's start) holds it for
 * the whole of that work. A second process finds the target busy and says who holds it; it never
 * works on the repository at the same time, and never "recovers" an apply that is still running.
 *
 * Whether a holder still lives:
 * - on this host: its process still runs (its pid answers, with the start time it had when it took
 *   the lease, so a pid the system gave to a later process does not count);
 * - on another host: its lease has not expired. The holder renews it every LEASE_HEARTBEAT_MS
 *   (the world's clock, Clock.world) while it holds it.
 * A lease whose holder is gone is taken over, and the take-over is recorded (`lease_taken_over`).
 *
 * Inside one process a lease is re-entrant along one chain of calls (AsyncLocalStorage): an
 * approve that applies, or a recovery that applies and reverts, holds one lease, not several;
 * two independent calls in one process exclude each other like two processes do.
 */

/** A holder on another host that has not renewed its lease for this long is gone. */
export const LEASE_TTL_MS = 60_000;
/** How often a holder renews its lease. */
export const LEASE_HEARTBEAT_MS = 15_000;

export interface LeaseDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: { timeZone: string };
}

/** What the holder does, told to whoever finds the target busy. */
export interface LeaseActivity {
  /** e.g. `applying K0004`, `reverting K0004`, `recovering interrupted work`. */
  doing: string;
  interventionId?: string;
  /** The person it acts for. */
  actor?: string;
}

/** The target's lease is held by a live process: nothing was done; try again when it is done. */
export class TargetBusyError extends KaizenError {
  readonly target: string;
  readonly holder: Lease;

  constructor(target: string, holder: Lease, timeZone: string) {
    super(
      'TARGET_BUSY',
      `target ${target} is busy: ${describeLease(holder, timeZone)}; nothing was changed: try again when it is done`,
      { retryable: true },
    );
    this.target = target;
    this.holder = holder;
  }
}

/** `kaizen (pid 4242 on web-1) is applying K0004 for ana since 2026-01-05 12:00 UTC` */
export function describeLease(lease: Lease, timeZone: string): string {
  return `kaizen (pid ${lease.pid} on ${lease.host}) is ${lease.doing}${lease.actor ? ` for ${lease.actor}` : ''} since ${formatLocal(lease.acquiredAt, timeZone)}`;
}

/** Whether the holder of `lease` is gone, judged at `worldNow` (Clock.world). */
export function leaseHolderGone(lease: Lease, worldNow: number): boolean {
  if (lease.host === thisProcess().host) return !stillRunning({ pid: lease.pid, start: lease.pidStart });
  return lease.expiresAt <= worldNow;
}

/** The target's lease when a live holder has it. */
export function liveLease(deps: Pick<LeaseDeps, 'store' | 'clock'>, target: string): Lease | undefined {
  const lease = deps.store.leases.get(target);
  return lease && !leaseHolderGone(lease, deps.clock.world.now()) ? lease : undefined;
}

interface Holding {
  db: Db;
  target: string;
  owner: string;
}

const held = new AsyncLocalStorage<readonly Holding[]>();

/**
 * Run `fn` holding the target's lease: taken at once or not at all (a live holder makes this throw
 * TargetBusyError before `fn` runs), renewed while `fn` runs, given up when it ends, however it
 * ends. Called again inside `fn` for the same target, it only says what the holder does now.
 */
export async function withTargetLease<T>(
  deps: LeaseDeps,
  target: string,
  activity: LeaseActivity,
  fn: () => Promise<T>,
): Promise<T> {
  const { store, clock } = deps;
  const mine = held.getStore()?.find((h) => h.db === store.db && h.target === target);
  if (mine) {
    store.leases.describe(target, mine.owner, activity);
    return fn();
  }
  const me = thisProcess();
  const owner = randomUUID();
  const world = clock.world.now();
  const taken = store.leases.acquire(
    target,
    {
      owner,
      pid: me.pid,
      pidStart: me.start,
      host: me.host,
      doing: activity.doing,
      interventionId: activity.interventionId ?? null,
      actor: activity.actor ?? null,
      acquiredAt: clock.now(),
      heartbeatAt: world,
      expiresAt: world + LEASE_TTL_MS,
    },
    (holder) => leaseHolderGone(holder, world),
  );
  if (!taken.acquired) throw new TargetBusyError(target, taken.holder, deps.config.timeZone);
  if (taken.replaced) {
    const gone = taken.replaced;
    deps.logger.warn(
      { target, pid: gone.pid, host: gone.host, doing: gone.doing },
      'took over the lease of a kaizen process that is gone',
    );
    store.events.append(clock.now(), {
      kind: 'lease_taken_over',
      target,
      ...(gone.interventionId ? { interventionId: gone.interventionId } : {}),
      data: { pid: gone.pid, host: gone.host, doing: gone.doing, since: gone.acquiredAt },
    });
  }
  const stop = new AbortController();
  const beating = heartbeat(deps, target, owner, stop.signal);
  try {
    return await held.run([...(held.getStore() ?? []), { db: store.db, target, owner }], fn);
  } finally {
    stop.abort();
    await beating;
    store.leases.release(target, owner);
  }
}

async function heartbeat(deps: LeaseDeps, target: string, owner: string, signal: AbortSignal): Promise<void> {
  const world = deps.clock.world;
  for (;;) {
    try {
      await world.sleep(LEASE_HEARTBEAT_MS, signal);
    } catch {
      return; // released
    }
    try {
      const now = world.now();
      if (!deps.store.leases.renew(target, owner, now, now + LEASE_TTL_MS)) {
        // Only a holder on another host whose heartbeats stopped reaching the store can lose it.
        deps.logger.error({ target }, 'the target lease was taken over while this process held it');
        return;
      }
    } catch (err) {
      deps.logger.warn(
        { target, error: err instanceof Error ? err.message : String(err) },
        'could not renew the target lease',
      );
    }
  }
}
