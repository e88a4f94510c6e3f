import { Redis } from 'ioredis';
import { RedisUnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { RedisTarget } from './redis-target.js';

/** Remove the URL's password from text that came back from the driver, in case it echoes it. */
function scrub(text: string, url: string): string {
  const { password, username } = new URL(url);
  let out = text;
  for (const secret of [password, decodeURIComponent(password)])
    if (secret) out = out.split(secret).join('***');
  if (username) out = out.split(`${username}:`).join('***:');
  return out;
}

const PROBE_TIMEOUT_MS = 5_000;

/**
 * Check that Redis answers, so a wrong URL or a stopped server is one clear error at start rather
 * than a worker that retries in silence. Returns the probe client, connected; the caller quits it.
 */
export async function probeRedis(target: RedisTarget): Promise<Redis> {
  let last: Error | undefined;
  const probe = new Redis(target.url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    // One try: the message below is the answer, not a retry loop.
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  probe.on('error', (err: Error) => (last = err));
  try {
    await probe.connect();
    await probe.ping();
    return probe;
  } catch (err) {
    probe.disconnect();
    const why = scrub((last ?? (err as Error)).message, target.url);
    throw new RedisUnavailableError(
      `cannot reach Redis at ${target.where} (from ${target.from}): ${why}; start redis-server there or fix the URL`,
      { cause: err },
    );
  }
}

/**
 * Logs a lost connection once per outage (a restart of Redis would otherwise log every retry) and
 * its return once.
 */
export class OutageLog {
  private down = false;

  constructor(
    private readonly logger: Logger,
    private readonly target: RedisTarget,
  ) {}

  error(err: Error, source: string): void {
    const error = scrub(err.message, this.target.url);
    if (this.down) return this.logger.debug({ redis: this.target.where, source, error }, 'redis still away');
    this.down = true;
    this.logger.warn({ redis: this.target.where, source, error }, 'redis connection lost; retrying');
  }

  ready(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.info({ redis: this.target.where }, 'redis connection back');
  }
}

/**
 * The long-lived connection BullMQ shares between queues and workers (each worker duplicates it for
 * its blocking reads). It retries with a capped backoff until the process stops: a Redis restart
 * is an outage to ride out, not a reason to exit.
 */
export async function connectRedis(
  target: RedisTarget,
  outage: OutageLog,
  name: string,
  stopping: () => boolean,
): Promise<Redis> {
  const probe = await probeRedis(target);
  probe.disconnect();
  const client = new Redis(target.url, {
    connectionName: name,
    // BullMQ requires null: a command waits for the connection to come back rather than failing.
    maxRetriesPerRequest: null,
    // BullMQ's duplicates (each worker's blocking connection) share this: once kaizen is stopping,
    // no connection retries, so waiting commands fail and a stop during an outage can end.
    retryStrategy: (times) => (stopping() ? null : Math.min(200 * times, 5_000)),
  });
  client.on('error', (err: Error) => outage.error(err, 'connection'));
  client.on('ready', () => outage.ready());
  return client;
}
