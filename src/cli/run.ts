import { clockFromEnv } from '../clock.js';
import { compose } from '../compose.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { runDaemon } from '../daemon/daemon.js';
import { sdNotifier } from '../daemon/sd-notify.js';
import { UsageError } from '../errors.js';
import { createLogger } from '../logger.js';
import { formatLocal } from '../util/time.js';
import type { Io } from './io.js';

export async function run(
  opts: { config?: string; timeScale?: string; grace?: string },
  io: Io,
): Promise<void> {
  const scale = opts.timeScale === undefined ? 1 : Number(opts.timeScale);
  if (!Number.isFinite(scale) || scale < 1 || scale > 100_000)
    throw new UsageError(
      `--time-scale ${JSON.stringify(opts.timeScale)}: expected a number from 1 to 100000`,
    );
  const config = loadConfig(resolveConfigPath(opts.config));
  const clock = clockFromEnv(process.env, scale);
  const rt = compose(config, { clock, logger: createLogger('info') });
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => {
    signals++;
    if (signals === 1) {
      io.err(`kaizen: ${name}: stopping (running jobs get 30 s to finish; send it again to stop at once)`);
      void systemd?.stopping();
      stop.abort();
    } else {
      io.err(`kaizen: ${name} again: stopping now; interrupted jobs run again on the next start`);
      process.exit(130);
    }
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const systemd = sdNotifier();
  try {
    const exit = await runDaemon(rt, {
      signal: stop.signal,
      // The heartbeat job pings systemd's watchdog: pings stop when the scheduler stops working.
      ...(systemd?.watchdogIntervalMs
        ? {
            heartbeatMs: Math.min(30_000, systemd.watchdogIntervalMs * scale),
            onHeartbeat: () => systemd.watchdog(),
          }
        : {}),
      onReady: async (d) => {
        await systemd?.ready(`${d.jobs.length} jobs`);
        io.err(
          `kaizen: running ${d.jobs.length} job(s) for ${config.targets.map((t) => t.name).join(', ')} from ${config.configPath}` +
            (scale === 1
              ? ''
              : ` on a clock ${scale}× faster than real time (now ${formatLocal(clock.now(), config.timeZone)})`),
        );
        io.err(`kaizen: ${d.provider}`);
      },
    });
    io.err(
      exit.abandoned.length
        ? `kaizen: stopped; ${exit.abandoned.join(', ')} did not finish in time and will run again on the next start`
        : 'kaizen: stopped cleanly',
    );
  } finally {
    systemd?.close();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    rt.close();
  }
}
