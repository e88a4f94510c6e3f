import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

/** The bundled demo target (works from src/ under tsx and from dist/ alike: both sit two levels down). */
export const DEMO_TARGET_SOURCE = fileURLToPath(new URL('../../examples/demo-target', import.meta.url));

const GIT_IDENTITY = [
  '-c',
  'user.name=kaizen demo',
  '-c',
  'user.email=kaizen-demo@localhost',
  '-c',
  'commit.gpgsign=false',
];

/**
 * Copy the demo target into `dir/target` and make it a git repository with one commit on main;
 * `config` keys are set in its config.json before that commit.
 */
export function makeScratchTarget(dir: string, config: Record<string, unknown> = {}): string {
  const target = path.join(dir, 'target');
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new UsageError(`${target} already exists and is not empty; pass an empty or new --dir`);
  }
  mkdirSync(target, { recursive: true });
  cpSync(DEMO_TARGET_SOURCE, target, {
    recursive: true,
    filter: (src) =>
      !/[/\\](run|logs|node_modules)([/\\]|$)/.test(
        path.relative(DEMO_TARGET_SOURCE, src) ? `/${path.relative(DEMO_TARGET_SOURCE, src)}` : '',
      ),
  });
  const configFile = path.join(target, 'config.json');
  const current = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...current, ...config }, null, 2) + '\n');
  const git = (...args: string[]) =>
    execFileSync('git', [...GIT_IDENTITY, ...args], { cwd: target, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'demo target: initial import');
  return target;
}
