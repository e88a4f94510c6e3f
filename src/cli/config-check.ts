import { loadConfig, resolveConfigPath } from '../config/load.js';
import { printJson, type Io } from './io.js';

export async function run(opts: { config?: string; json?: boolean }, io: Io): Promise<void> {
  const config = loadConfig(resolveConfigPath(opts.config));
  if (opts.json) return printJson(io, config);
  const signals = config.targets.reduce((n, t) => n + t.signals.length, 0);
  io.out(`${config.configPath} is valid`);
  for (const t of config.targets) {
    io.out(
      `  target ${t.name}: repo ${t.repoPath} (branch ${t.branch}${t.remote ? `, remote ${t.remote}` : ''}), ${t.signals.length} signal(s)`,
    );
  }
  io.out(`  ${signals} signal(s) in all; data in ${config.dataDir}; time zone ${config.timeZone}`);
}
