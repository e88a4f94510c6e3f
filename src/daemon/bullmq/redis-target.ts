import type { KaizenConfig } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';

/*
 * Which Redis, if any: kept apart from the driver so that a daemon on the embedded scheduler
 * decides this without loading BullMQ and ioredis (some 50 MB it would never use).
 */

/** Where the queues live, and which setting said so. */
export interface RedisTarget {
  url: string;
  /** `KAIZEN_REDIS_URL` wins over `redis.url` in the config. */
  from: 'KAIZEN_REDIS_URL' | 'redis.url';
  /** host:port, for messages and logs: never the user or password. */
  where: string;
}

/**
 * The Redis the jobs run on, or undefined for the embedded scheduler. The environment variable is
 * read here, where the backend is chosen, so the config file can stay free of a password.
 */
export function resolveRedis(
  config: Pick<KaizenConfig, 'redis'>,
  env: NodeJS.ProcessEnv,
): RedisTarget | undefined {
  const fromEnv = env.KAIZEN_REDIS_URL?.trim();
  if (fromEnv) {
    if (!isRedisUrl(fromEnv))
      // Not echoed: a malformed URL may still hold a password.
      throw new ConfigError(
        'CONFIG_INVALID',
        'KAIZEN_REDIS_URL: expected a Redis URL such as redis://127.0.0.1:6379/0 (or rediss:// for TLS)',
      );
    return { url: fromEnv, from: 'KAIZEN_REDIS_URL', where: describeRedis(fromEnv) };
  }
  const url = config.redis.url;
  return url ? { url, from: 'redis.url', where: describeRedis(url) } : undefined;
}

function isRedisUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** `host:port` of a Redis URL (port 6379 when none is written). */
export function describeRedis(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '6379'}`;
}
