import path from 'node:path';
import type { Runtime } from '../compose.js';
import { KaizenError } from '../errors.js';
import { recoverInterrupted } from '../apply/recover.js';
import type { CircuitBreaker } from '../propose/breaker.js';
import { selectProvider } from '../propose/providers/index.js';
import { createMetrics, directActions, startServer, type RunningServer } from '../server/index.js';
import { takePidLock } from '../util/pid-lock.js';
import { JobStore } from './job-store.js';
import { coreJobs, type JobContribution, type JobSpec } from './jobs.js';
import type { BullmqBackend } from './bullmq/backend.js';
import { resolveRedis } from './bullmq/redis-target.js';
import { EmbeddedScheduler, type JobDone } from './scheduler.js';

export const LOCK_FILE = 'kaizen.lock';

export interface DaemonOptions {
  env?: NodeJS.ProcessEnv;
  /** Aborting it stops the daemon like SIGTERM does (tests; `kaizen run` wires the signals to it). */
  signal: AbortSignal;
  /** Jobs beyond the core stages (notifications, drift, the weekly review). */
  contributions?: readonly JobContribution[];
  maxConcurrent?: number;
  /** How long (world time, see Clock.world) running jobs get to finish on shutdown before they are aborted. */
  shutdownGraceMs?: number;
  /** How often (clock time) the heartbeat job runs (default 30 s): proof the scheduler is alive. */
  heartbeatMs?: number;
  /** Called by every heartbeat, from inside the scheduler (the systemd watchdog ping). */
  onHeartbeat?: () => void | Promise<void>;
  /** Told when the daemon is up, and at every job end (metrics, watchdog). */
  onReady?: (daemon: RunningDaemon) => void | Promise<void>;
  onJobDone?: (done: JobDone) => void;
  /** How a person chooses the server's port, named when it is taken (default `server.port`). */
  portSetting?: string;
}

export interface RunningDaemon {
  /** The embedded scheduler, or the BullMQ backend when Redis is configured. */
  scheduler: EmbeddedScheduler | BullmqBackend;
  /** The HTTP server (health, metrics, API, dashboard) when `server.enabled`. */
  server?: RunningServer;
  jobs: readonly JobSpec[];
  breakers: Map<string, CircuitBreaker>;
  startedAt: number;
  provider: string;
}

export interface DaemonExit {
  /** Jobs that were still running when the grace period ended (they run again on the next start). */
  abandoned: string[];
  recovered: number;
  interrupted: string[];
}

/**
 * `kaizen run`: one process per data folder (a pid lock that frees itself when its holder dies),
 * interrupted applies finished or undone first, then every job on its schedule until `signal`
 * aborts; running jobs get `shutdownGraceMs` to finish.
 */
export async function runDaemon(rt: Runtime, options: DaemonOptions): Promise<DaemonExit> {
  const lockFile = path.join(rt.config.dataDir, LOCK_FILE);
  const release = takePidLock(
    lockFile,
    (pid) =>
      new KaizenError(
        'USAGE',
        `another kaizen is already running on ${rt.config.dataDir} (pid ${pid}, lock ${lockFile}): stop it first, or point this one at another dataDir`,
      ),
  );
  try {
    const env = options.env ?? process.env;
    // Said once at start (and shown by `kaizen status`): which proposer, and why.
    const provider = selectProvider(rt.config.proposer, env).why;
    rt.logger.info({ provider }, 'proposer');
    // Every target whose lease a live process holds (a worker, a CLI mid-apply) is left to it: a
    // busy target is not a reason to stop, and its holder finishes its own work.
    const recovered = await recoverInterrupted(rt);
    for (const busy of recovered.busy)
      rt.logger.warn(
        { target: busy.target, holder: busy.message },
        'target busy at start: left to its holder',
      );
    const interrupted = new JobStore(rt.store.db).releaseInterrupted(rt.clock.now());
    if (interrupted.length)
      rt.logger.warn({ jobs: interrupted }, 'jobs interrupted by the last stop run again');

    const heartbeat: JobSpec = {
      key: 'heartbeat',
      kind: 'heartbeat',
      schedule: { everyMs: options.heartbeatMs ?? 30_000 },
      mutates: false,
      // A busy daemon is not a hung one: the watchdog ping never waits for a free slot.
      outsideLimit: true,
      run: async () => {
        await options.onHeartbeat?.();
        return 'alive';
      },
    };
    const jobs = [
      heartbeat,
      ...coreJobs(rt.config),
      ...(options.contributions ?? []).flatMap((c) => c(rt.config)),
    ];
    const breakers = new Map<string, CircuitBreaker>();
    const metrics = rt.config.server.enabled ? createMetrics(rt, { breakers }) : undefined;
    const onJobDone = (done: JobDone) => {
      metrics?.recordJob(done.kind, done.ok ? 'ok' : 'failed', done.durationMs);
      options.onJobDone?.(done);
    };
    // KAIZEN_REDIS_URL or redis.url: the same jobs on BullMQ queues that `kaizen worker`s share.
    const redis = resolveRedis(rt.config, env);
    const scheduler = redis
      ? new (await import('./bullmq/backend.js')).BullmqBackend({ ...rt, breakers, env }, jobs, {
          redis,
          schedule: true,
          onJobDone,
        })
      : new EmbeddedScheduler({ ...rt, breakers, env }, jobs, {
          ...(options.maxConcurrent ? { maxConcurrent: options.maxConcurrent } : {}),
          onJobDone,
        });
    const server = metrics
      ? await startServer(rt, {
          breakers,
          metrics,
          env,
          ...(options.portSetting ? { portSetting: options.portSetting } : {}),
          scheduler: { state: () => (scheduler.isStopping ? 'stopping' : 'running') },
          // A person's approve or revert waits for, and holds back, jobs that change a repo.
          actions: directActions(rt, (fn) => scheduler.runExclusive(fn)),
        })
      : undefined;
    if (server) rt.logger.info({ url: server.url }, 'serving');
    const startedAt = rt.clock.now();
    rt.store.events.append(startedAt, {
      kind: 'daemon_started',
      data: { pid: process.pid, jobs: jobs.length },
    });
    if (!(scheduler instanceof EmbeddedScheduler)) {
      // Redis must answer before kaizen says it is ready; if it does not, say why and stop.
      await scheduler.start().catch(async (err: unknown) => {
        await server?.close();
        throw err;
      });
    }
    rt.logger.info({ backend: redis ? `bullmq at ${redis.where}` : 'embedded' }, 'scheduler');
    // Ready (systemd's READY=1) before the first job, so the first watchdog ping follows it.
    await options.onReady?.({
      scheduler,
      jobs,
      breakers,
      startedAt,
      provider,
      ...(server ? { server } : {}),
    });
    if (scheduler instanceof EmbeddedScheduler) scheduler.start();

    if (!options.signal.aborted)
      await new Promise<void>((resolve) =>
        options.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    await server?.close();
    const stopped = await scheduler.stop(options.shutdownGraceMs ?? 30_000);
    rt.store.events.append(rt.clock.now(), {
      kind: 'daemon_stopped',
      data: { pid: process.pid, abandoned: stopped.abandoned },
    });
    return { abandoned: stopped.abandoned, recovered: recovered.recovered.length, interrupted };
  } finally {
    release();
  }
}
