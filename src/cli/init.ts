import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../config/load.js';
import { starterConfig } from '../config/starter.js';
import { ConfigError, UsageError } from '../errors.js';
import type { Io } from './io.js';

export async function run(opts: { repo: string; config: string; force?: boolean }, io: Io): Promise<void> {
  const configPath = path.resolve(opts.config);
  const repo = path.resolve(opts.repo);
  if (!existsSync(repo) || !statSync(repo).isDirectory()) {
    throw new UsageError(`--repo ${opts.repo}: no such folder`);
  }
  const branch = currentBranch(repo);
  if (branch === undefined) {
    throw new UsageError(
      `--repo ${opts.repo} is not a git repository: kaizen lands every change as a git commit there; run "git init" in it first`,
    );
  }
  if (existsSync(configPath) && !opts.force) {
    throw new ConfigError(
      'CONFIG_EXISTS',
      `${opts.config} already exists; pass --force to overwrite it, or --config to write elsewhere`,
    );
  }
  let repoRel = path.relative(path.dirname(configPath), repo) || '.';
  if (!repoRel.startsWith('.') && !path.isAbsolute(repoRel)) repoRel = `./${repoRel}`;
  const name =
    path
      .basename(repo)
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^[^a-z]+/, '') || 'target';
  const text = starterConfig({ name: name.slice(0, 64), repo: repoRel, branch });
  parseConfig(text, configPath); // the starter must be valid; fail here rather than hand the user a broken file
  writeFileSync(configPath, text, { flag: 'w' });
  io.out(`wrote ${opts.config} for target "${name}" (repo ${repoRel}, branch ${branch})`);
  io.out('next: add signals to it, then run "kaizen config check" and "kaizen observe"');
}

function currentBranch(repo: string): string | undefined {
  try {
    const out = execFileSync('git', ['symbolic-ref', '--short', 'HEAD'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.toString().trim() || undefined;
  } catch {
    return undefined;
  }
}
