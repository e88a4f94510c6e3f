import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ScaledClock, SystemClock, type Clock } from '../../clock.js';
import { clockScale } from './queues.js';

/*
 * Under `kaizen run --time-scale N` every process must read the same clock, or a worker would
 * stamp samples and judge windows at times of its own. The daemon publishes its clock as a pair
 * of readings (its clock time and the wall time, taken together) and its scale; `kaizen worker`
 * builds a ScaledClock that continues from it. A worker started before the daemon, or a daemon
 * restarted with another scale, needs the workers restarted. A daemon whose clock was started
 * elsewhere in time (KAIZEN_CLOCK_START) is followed the same way at scale 1.
 */

const ClockOrigin = z.strictObject({
  scale: z.number().min(1),
  clockNow: z.number(),
  wallNow: z.number(),
});
export type ClockOrigin = z.infer<typeof ClockOrigin>;

/** Readings this close together are the system clock, not a shifted one. */
const SAME_TIME_MS = 1000;

export const clockKey = (prefix: string) => `${prefix}:clock`;

/** Publish the daemon's clock for the workers. */
export async function publishClock(connection: Redis, prefix: string, clock: Clock): Promise<void> {
  const origin: ClockOrigin = { scale: clockScale(clock), clockNow: clock.now(), wallNow: Date.now() };
  await connection.set(clockKey(prefix), JSON.stringify(origin));
}

/** The clock a worker runs on: the daemon's scaled clock when it published one, else the system clock. */
export async function followClock(connection: Redis, prefix: string): Promise<Clock> {
  const raw = await connection.get(clockKey(prefix));
  let value: unknown;
  try {
    value = raw === null ? undefined : JSON.parse(raw);
  } catch {
    value = undefined; // not ours, or torn: the system clock is the safe reading
  }
  const parsed = ClockOrigin.safeParse(value);
  if (!parsed.success) return new SystemClock();
  const { scale, clockNow, wallNow } = parsed.data;
  // A daemon on the system clock; one started at KAIZEN_CLOCK_START is followed like a scaled one.
  if (scale === 1 && Math.abs(clockNow - wallNow) < SAME_TIME_MS) return new SystemClock();
  return new ScaledClock(scale, clockNow + (Date.now() - wallNow) * scale);
}
