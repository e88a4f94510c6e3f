import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach } from 'vitest';
import { stringify } from 'yaml';
import { SimulatedClock, type Clock } from '../../src/clock.js';
import { compose, type Runtime } from '../../src/compose.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import { GIT_ENV, git, gitRepo } from './git.js';
import { tempDir } from './temp.js';

/**
 * A real target for apply tests: a git repo with a bare remote, a deploy script, and a health
 * server (real HTTP on 127.0.0.1) whose answer follows the repo's config.json as deployed:
 * `"healthy": false` makes /health answer 503, `"deployFails": true` makes deploy.js exit 1.
 *
 * Files: config.json, app/settings.yaml (with comments), src/app.js, deploy.js.
 */
export interface TargetFixture {
  dir: string;
  repo: string;
  remote: string;
  configPath: string;
  healthUrl: string;
  /** How many /health requests the server has answered. */
  probes(): number;
  /** Make the next `n` probes fail regardless of config (simulates a slow start). */
  failNextProbes(n: number): void;
  runtime(clock?: Clock): Runtime;
  /** Write a file in the repo (not committed). */
  write(rel: string, content: string): void;
  read(rel: string): string;
  git(...args: string[]): string;
  /** Deploys run since the fixture was made (its own first deploy not counted): one per line of deploys.log. */
  deploys(): number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

export const FIXTURE_FILES: Record<string, string> = {
  'config.json': JSON.stringify({ cacheSize: 0, healthy: true, deployFails: false }, null, 2) + '\n',
  'app/settings.yaml':
    '# settings of the app\nworker:\n  # how often the worker polls, in ms\n  interval_ms: 1000 # keep above 100\n  threads: 2\n',
  'src/app.js': "export const greeting = 'hello';\nexport const retries = 3;\n",
  // The deploy "ships" config.json by copying it to deployed.json (ignored by git), which the
  // health server reads, and appends one line per deploy to deploys.log (ignored too): tests count
  // deploys there.
  'deploy.js':
    "const fs = require('fs');\nconst c = JSON.parse(fs.readFileSync('config.json', 'utf8'));\n" +
    "fs.appendFileSync('deploys.log', JSON.stringify(c) + '\\n');\n" +
    "if (c.deployFails) { console.error('deploy: refusing: deployFails is set'); process.exit(1); }\n" +
    "fs.writeFileSync('deployed.json', JSON.stringify(c));\nconsole.log('deploy: shipped config ' + JSON.stringify(c));\n",
  '.gitignore': 'deployed.json\n*.log\n',
  'package.json': '{ "type": "commonjs" }\n',
};

export interface FixtureOptions {
  /** Extra top-level config keys (merged). */
  config?: Record<string, unknown>;
  /** Extra target keys (merged). */
  target?: Record<string, unknown>;
  signals?: Record<string, unknown>[];
  remote?: boolean;
}

export async function targetFixture(options: FixtureOptions = {}): Promise<TargetFixture> {
  const dir = tempDir('kaizen-target-');
  const repo = gitRepo(FIXTURE_FILES);
  const remote = path.join(dir, 'remote.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote], { env: GIT_ENV });
  if (options.remote !== false) {
    git(repo, 'remote', 'add', 'origin', remote);
    git(repo, 'push', '-q', 'origin', 'main');
  }
  execFileSync(process.execPath, ['deploy.js'], { cwd: repo, stdio: 'ignore' });

  let probes = 0;
  let failNext = 0;
  const server = createServer((req, res) => {
    probes++;
    let body: { status: string; cacheSize?: number } = { status: 'ok' };
    let status = 200;
    try {
      const deployed = JSON.parse(readFileSync(path.join(repo, 'deployed.json'), 'utf8')) as {
        healthy?: boolean;
        cacheSize?: number;
      };
      if (deployed.healthy === false) [status, body] = [503, { status: 'down' }];
      else body.cacheSize = deployed.cacheSize;
    } catch {
      [status, body] = [503, { status: 'not deployed' }];
    }
    if (failNext > 0) {
      failNext--;
      [status, body] = [503, { status: 'starting' }];
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const healthUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;

  const configPath = path.join(dir, 'kaizen.yaml');
  writeFileSync(
    configPath,
    stringify({
      dataDir: 'data',
      target: {
        name: 'app',
        repo,
        branch: 'main',
        ...(options.remote !== false ? { remote: 'origin' } : {}),
        deploy: { command: [process.execPath, 'deploy.js'], timeout: '30s', stabilisation: '0s' },
        health: { url: healthUrl, expectJson: { status: 'ok' }, attempts: 3, interval: '0s', timeout: '2s' },
        ...options.target,
      },
      signals: options.signals ?? [
        {
          name: 'latency_ms',
          source: { kind: 'http-json', url: healthUrl, path: 'cacheSize' },
          unit: 'ms',
          direction: 'lower_is_better',
        },
        {
          name: 'error_rate',
          source: { kind: 'file-age', path: 'deployed.json' },
          unit: 'ratio',
          direction: 'lower_is_better',
          alert: { above: 0.5 },
        },
      ],
      ...options.config,
    }),
  );

  return {
    dir,
    repo,
    remote,
    configPath,
    healthUrl,
    probes: () => probes,
    failNextProbes: (n) => void (failNext = n),
    runtime: (clock = new SimulatedClock()) =>
      compose(loadConfig(configPath), { clock, logger: silentLogger() }),
    write: (rel, content) => writeFileSync(path.join(repo, rel), content),
    read: (rel) => readFileSync(path.join(repo, rel), 'utf8'),
    git: (...args) => git(repo, ...args),
    deploys: () =>
      readFileSync(path.join(repo, 'deploys.log'), 'utf8').split('\n').filter(Boolean).length - 1,
  };
}

/** A valid low-risk proposal against the fixture; override any field. */
export function proposal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: 'Enable the cache',
    area: 'cache',
    kind: 'config_set',
    changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
    hypothesis: 'Every request misses the empty cache; 200 entries hold the hot keys.',
    prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.3 },
    risk: 'low',
    rollback: 'git revert of the commit',
    ...overrides,
  };
}
