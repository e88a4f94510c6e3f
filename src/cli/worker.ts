import { ScaledClock } from '../clock.js';
import { compose } from '../compose.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { BullmqBackend } from '../daemon/bullmq/backend.js';
import { followClock } from '../daemon/bullmq/clock-origin.js';
import { probeRedis } from '../daemon/bullmq/redis.js';
import { resolveRedis } from '../daemon/bullmq/redis-target.js';
import { coreJobs } from '../daemon/jobs.js';
import type { CircuitBreaker } from '../propose/breaker.js';
import { ConfigError, UsageError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { Io } from './io.js';

/** How long (clock time) running jobs get to finish after SIGTERM before they are aborted. */
const GRACE_MS = 30_000;

/**
 * `kaizen worker`: one more process working the BullMQ queues that `kaizen run` fills. It runs the
 * same jobs (built from the same config) but no schedulers, takes no pid lock (any number may run
 * beside the daemon, on the same data folder), and stops gracefully on SIGTERM or SIGINT.
 */
export async function run(opts: { config?: string; concurrency?: string }, io: Io): Promise<void> {
  const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64))
    throw new UsageError(
      `--concurrency ${JSON.stringify(opts.concurrency)}: expected a whole number from 1 to 64`,
    );
  const config = loadConfig(resolveConfigPath(opts.config));
  const env = process.env;
  const redis = resolveRedis(config, env);
  if (!redis)
    throw new ConfigError(
      'CONFIG_INVALID',
      `kaizen worker needs redis.url in the config (${config.configPath}) or KAIZEN_REDIS_URL`,
    );

  // Reachable at all (one clear error, naming host:port), and on whose clock: the daemon's.
  const probe = await probeRedis(redis);
  const clock = await followClock(probe, config.redis.prefix).finally(() => probe.disconnect());
  const rt = compose(config, { clock, logger: createLogger('info') });
  const breakers = new Map<string, CircuitBreaker>();
  const backend = new BullmqBackend({ ...rt, breakers, env }, coreJobs(config), {
    redis,
    schedule: false,
    ...(concurrency !== undefined ? { concurrency } : {}),
  });

  const stop = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => {
    signals++;
    if (signals === 1) {
      io.err(
        `kaizen worker: ${name}: stopping (running jobs get 30 s to finish; send it again to stop at once)`,
      );
      stop.abort();
    } else {
      io.err(`kaizen worker: ${name} again: stopping now; its running jobs go to another worker`);
      process.exit(130);
    }
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  let stopped = false;
  try {
    await backend.start();
    io.err(
      `kaizen worker: ${backend.workerName} working ${backend.queueNames.join(', ')} on Redis ${redis.where} for ${config.targets.map((t) => t.name).join(', ')}` +
        (clock instanceof ScaledClock ? ` on the daemon's clock, ${clock.scale}× faster than real time` : ''),
    );
    if (!stop.signal.aborted)
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    const exit = await backend.stop(GRACE_MS);
    stopped = true;
    io.err(
      exit.abandoned.length
        ? `kaizen worker: stopped; ${exit.abandoned.join(', ')} did not finish in time and will run again on another worker`
        : 'kaizen worker: stopped cleanly',
    );
  } finally {
    // A start that failed half-way must not leave connections holding the process open.
    if (!stopped) await backend.stop(0).catch(() => undefined);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    rt.close();
  }
}
