import { clockFromEnv, type Clock } from './clock.js';
import type { KaizenConfig, TargetConfig } from './config/schema.js';
import { NotFoundError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { openStore, type Store } from './store/index.js';

/** Everything a command or job needs, built once and handed down. */
export interface Runtime {
  config: KaizenConfig;
  clock: Clock;
  store: Store;
  logger: Logger;
  close(): void;
}

export interface ComposeOptions {
  /** Default: the system clock, or the one KAIZEN_CLOCK_START starts (see clockFromEnv). */
  clock?: Clock;
  logger?: Logger;
}

export function compose(config: KaizenConfig, options: ComposeOptions = {}): Runtime {
  const clock = options.clock ?? clockFromEnv(process.env);
  const logger = options.logger ?? createLogger('warn');
  const store = openStore(config.dataDir, { now: clock.now() });
  return { config, clock, store, logger, close: () => store.close() };
}

/** The targets a command acts on: one by name, or all of them. */
export function selectTargets(config: KaizenConfig, name?: string): TargetConfig[] {
  if (name === undefined) return config.targets;
  const found = config.targets.find((t) => t.name === name);
  if (!found) {
    throw new NotFoundError(
      `no target named "${name}" in ${config.configPath}; targets: ${config.targets.map((t) => t.name).join(', ')}`,
    );
  }
  return [found];
}
