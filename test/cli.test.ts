import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli, spawnCli } from './helpers/cli.js';
import { gitRepo } from './helpers/git.js';
import { tempDir } from './helpers/temp.js';

const COMMANDS = ['init', 'config', 'observe', 'status', 'signals', 'demo'];

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A real HTTP server answering JSON whose `load` value the test sets. */
async function jsonServer(body: () => unknown): Promise<string> {
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body()));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function configFile(dir: string, url: string, extra: Record<string, unknown>[] = []): string {
  const file = path.join(dir, 'kaizen.yaml');
  writeFileSync(
    file,
    stringify({
      dataDir: 'data',
      target: { name: 'shop', repo: '.' },
      signals: [
        {
          name: 'load',
          source: { kind: 'http-json', url: `${url}/health`, path: 'stats.load' },
          unit: 'jobs',
          direction: 'lower_is_better',
          alert: { above: 10 },
        },
        ...extra,
      ],
    }),
  );
  return file;
}

describe('kaizen --help', () => {
  it('lists every command with one line each', async () => {
    const r = await runCli('--help');

    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.out).toMatch(new RegExp(`^  ${c}\\b.*\\S`, 'm'));
  });

  it.each([['init'], ['config', 'check'], ['observe'], ['status'], ['signals'], ['demo']])(
    '%s has its own --help',
    async (...cmd) => {
      const r = await runCli(...cmd, '--help');

      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: kaizen ${cmd.join(' ')}`);
    },
  );

  it('refuses an unknown command with a pointer to --help', async () => {
    const r = await runCli('obsrve');

    expect(r.code).toBe(64);
    expect(r.err).toContain("unknown command 'obsrve'");
    expect(r.err).toContain('(Did you mean observe?)');
  });
});

describe('kaizen init', () => {
  it('writes a starter config that config check accepts', async () => {
    const repo = gitRepo();
    const config = path.join(tempDir(), 'kaizen.yaml');

    const init = await runCli('init', '--repo', repo, '--config', config);
    const check = await runCli('config', 'check', '--config', config);

    expect(init.code).toBe(0);
    expect(init.out).toContain('for target "kaizen_repo_');
    expect(readFileSync(config, 'utf8')).toContain('branch: main');
    expect(check.code).toBe(0);
    expect(check.out).toContain(`${config} is valid`);
  });

  it('refuses to overwrite an existing config without --force', async () => {
    const repo = gitRepo();
    const config = path.join(tempDir(), 'kaizen.yaml');
    writeFileSync(config, 'mine\n');

    const r = await runCli('init', '--repo', repo, '--config', config);

    expect(r.code).toBe(78);
    expect(r.err).toBe(
      `kaizen: ${config} already exists; pass --force to overwrite it, or --config to write elsewhere\n`,
    );
    expect(readFileSync(config, 'utf8')).toBe('mine\n');
  });

  it('refuses a folder that is not a git repository', async () => {
    const dir = tempDir();

    const r = await runCli('init', '--repo', dir, '--config', path.join(dir, 'kaizen.yaml'));

    expect(r.code).toBe(64);
    expect(r.err).toContain(
      `--repo ${dir} is not a git repository: kaizen lands every change as a git commit there; run "git init" in it first`,
    );
    expect(existsSync(path.join(dir, 'kaizen.yaml'))).toBe(false);
  });
});

describe('kaizen config check', () => {
  it('prints every problem with file and line and exits 78', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'kaizen.yaml');
    writeFileSync(
      file,
      'target:\n  name: shop\n  repo: .\nsignals:\n  - name: x\n    source: { kind: file-age, path: a }\n    unit: s\n    direction: up\n',
    );

    const r = await runCli('config', 'check', '--config', file);

    expect(r.code).toBe(78);
    expect(r.err).toBe(
      `kaizen: ${file}:8 signals[0].direction: expected "higher_is_better" or "lower_is_better", got "up"\n`,
    );
  });

  it('says how to start when there is no config', async () => {
    const missing = path.join(tempDir(), 'nope.yaml');

    const r = await runCli('config', 'check', '--config', missing);

    expect(r.code).toBe(78);
    expect(r.err).toBe(
      `kaizen: no config file at ${missing}: run "kaizen init" to write a starter config, or pass --config FILE\n`,
    );
  });
});

describe('observe, status and signals', () => {
  it('samples a live endpoint, stores it, and shows it in status and in the series', async () => {
    let load = 3;
    const url = await jsonServer(() => ({ stats: { load } }));
    const config = configFile(tempDir(), url);

    const first = await runCli('observe', '--config', config, '--json');
    load = 12;
    await new Promise((r) => setTimeout(r, 5)); // distinct sample times
    await runCli('observe', '--config', config);
    const status = await runCli('status', '--config', config, '--json');
    const series = await runCli('signals', 'load', '--config', config, '--json');
    const table = await runCli('status', '--config', config);

    expect(JSON.parse(first.out)).toMatchObject([{ target: 'shop', signal: 'load', value: 3, unit: 'jobs' }]);
    const digest = JSON.parse(status.out)[0].signals[0];
    expect(digest.last.value).toBe(12);
    expect(digest.alert.state).toBe('alert');
    expect(JSON.parse(series.out).points.map((p: { value: number }) => p.value)).toEqual([3, 12]);
    expect(table.out).toMatch(/shop\s+load\s+12\s+jobs\s+\S+\s+\S+\s+ALERT > 10 for/);
    expect(table.out.split('\n')[0]).toMatch(/^proposer: (auto|provider): /);
  });

  it('stores a failed sample as an error and shows it, never as a number', async () => {
    const url = await jsonServer(() => ({ stats: {} }));
    const config = configFile(tempDir(), url);

    const r = await runCli('observe', '--config', config, '--json');
    const series = await runCli('signals', 'load', '--config', config, '--json');

    const [outcome] = JSON.parse(r.out);
    expect(outcome.value).toBeUndefined();
    expect(outcome.error).toMatch(/load/);
    expect(JSON.parse(series.out).points).toEqual([
      expect.objectContaining({ value: null, error: outcome.error }),
    ]);
  });

  it('explains an unknown signal, an ambiguous --since and an unknown target', async () => {
    const url = await jsonServer(() => ({}));
    const config = configFile(tempDir(), url);

    const unknown = await runCli('signals', 'lod', '--config', config);
    const since = await runCli('signals', 'load', '--since', 'yesterday', '--config', config);
    const target = await runCli('status', '--target', 'nope', '--config', config);

    expect(unknown.code).toBe(66);
    expect(unknown.err).toBe('kaizen: no signal "lod"; known signals: shop/load\n');
    expect(since.code).toBe(64);
    expect(since.err).toBe('kaizen: --since "yesterday": expected a duration such as 30m, 24h or 7d\n');
    expect(target.code).toBe(66);
    expect(target.err).toBe(`kaizen: no target named "nope" in ${config}; targets: shop\n`);
  });
});

describe('the built binary', () => {
  it('runs as a real process and maps a config error to exit code 78', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'kaizen.yaml'), 'target: { name: shop }\n');

    const help = spawnCli(['--help'], { clock: 'system' });
    const bad = spawnCli(['config', 'check'], { clock: 'system', cwd: dir });

    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: kaizen');
    expect(bad.code).toBe(78);
    expect(bad.err).toBe('kaizen: kaizen.yaml:1 target.repo: is required (expected a string)\n');
  });
});
