import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import type { Store } from '../../src/store/index.js';
import type { Lease } from '../../src/store/leases.js';
import { processStart, thisProcess } from '../../src/util/process-identity.js';

/*
 * Another kaizen process holding a target's lease, as the store sees it: a real process on this
 * host (a child that only waits), whose pid and start time the lease row carries.
 */

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A live process that does nothing until killed. */
export async function idleProcess(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return child as ChildProcess & { pid: number };
}

/** Wait until `child` is gone (its pid no longer answers). */
export async function killed(child: ChildProcess): Promise<void> {
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await gone;
}

/** Write a lease row for `target` as a holder with these details would have. */
export function holdLease(
  store: Store,
  target: string,
  holder: Partial<Lease> & { pid: number; acquiredAt: number; heartbeatAt: number },
): Lease {
  const lease: Lease = {
    target,
    owner: `test-${holder.pid}`,
    pidStart: processStart(holder.pid),
    host: thisProcess().host,
    doing: 'applying K0001',
    interventionId: 'K0001',
    actor: null,
    expiresAt: holder.heartbeatAt + 60_000,
    ...holder,
  };
  store.leases.acquire(target, lease, () => true);
  return lease;
}
