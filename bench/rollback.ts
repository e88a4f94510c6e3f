import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { undoCommit, type ApplyLog } from '../src/apply/apply-intervention.js';
import { createGit } from '../src/apply/git.js';
import { SystemClock } from '../src/clock.js';
import { compose } from '../src/compose.js';
import { loadConfig } from '../src/config/load.js';
import { DEMO_TARGET_SOURCE } from '../src/demo/scratch.js';
import { silentLogger } from '../src/logger.js';
import { submitProposal } from '../src/loop/submit.js';
import { figure, fmt } from './figures.js';

const GIT = ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'commit.gpgsign=false'];
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', [...GIT, ...args], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();

function repoWithCommit(dir: string): string {
  const repo = path.join(dir, 'repo');
  execFileSync('mkdir', ['-p', repo]);
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(repo, 'config.json'), '{ "cacheSize": 0 }\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'init');
  return repo;
}

function commitChange(repo: string, i: number): string {
  writeFileSync(path.join(repo, 'config.json'), `{ "cacheSize": ${i} }\n`);
  git(repo, 'commit', '-q', '-am', `change ${i}\n\nKaizen-Intervention: K${String(i).padStart(4, '0')}`);
  return git(repo, 'rev-parse', 'HEAD');
}

/** Failed probe → revert commit made and redeploy started, vs a bare `git revert` of the same kind of commit. */
async function revertPath(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizen-bench-rb-'));
  const repo = repoWithCommit(dir);
  const configPath = path.join(dir, 'kaizen.yaml');
  // deploy `true`: the redeploy is started and returns at once, so the figure is kaizen's own path.
  writeFileSync(
    configPath,
    stringify({
      dataDir: 'data',
      target: { name: 'app', repo, deploy: { command: ['true'], stabilisation: '0s' } },
      signals: [],
    }),
  );
  const rt = compose(loadConfig(configPath), { clock: new SystemClock(), logger: silentLogger() });
  const target = rt.config.targets[0]!;
  rt.store.catalog.sync(target, rt.clock.now());
  const handle = createGit(repo);
  const runs = 15;
  const kaizen: number[] = [];
  const bare: number[] = [];
  for (let i = 1; i <= runs; i++) {
    // kaizen: an intervention whose commit failed its probe.
    const created = rt.store.interventions.create(
      {
        target: 'app',
        proposal: {
          title: `change ${i}`,
          area: 'cache',
          kind: 'config_set',
          changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: i }],
          hypothesis: 'h',
          prediction: { signal: 'x', direction: 'down', magnitude: 0.1, relative: true },
          risk: 'low',
          rollback: 'git revert',
          citesLessons: [],
          arguesAgainst: [],
        },
        fingerprint: `f${i}`,
        origin: 'bench',
        baseSha: git(repo, 'rev-parse', 'HEAD'),
        actor: 'bench',
        reason: 'bench',
      },
      rt.clock.now(),
    );
    const sha = commitChange(repo, i);
    rt.store.interventions.patch(created.id, { commitSha: sha }, rt.clock.now());
    const iv = rt.store.interventions.get(created.id);
    const t0 = performance.now();
    await undoCommit(rt, iv, { ...target, health: undefined }, handle, 'health check failed', 'rollback', {
      paths: ['config.json'],
      headAtCommit: true,
    });
    kaizen.push(performance.now() - t0);

    const sha2 = commitChange(repo, 1000 + i);
    const t1 = performance.now();
    git(repo, 'revert', '--no-edit', sha2);
    bare.push(performance.now() - t1);
  }
  rt.close();
  rmSync(dir, { recursive: true, force: true });
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  figure('failed probe → revert commit + redeploy started (ms, median)', fmt(med(kaizen), 1));
  figure('bare git revert of the same kind of commit (ms, median)', fmt(med(bare), 1));
  figure('ratio kaizen / bare git revert', fmt(med(kaizen) / med(bare), 2), '≤ 2');
}

/** End to end: a broken deploy of the demo target → healthy again, stabilisation 0. */
async function demoTarget(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizen-bench-demo-'));
  const repo = path.join(dir, 'target');
  cpSync(DEMO_TARGET_SOURCE, repo, { recursive: true });
  rmSync(path.join(repo, 'run'), { recursive: true, force: true });
  rmSync(path.join(repo, 'logs'), { recursive: true, force: true });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'init');
  execFileSync(process.execPath, ['deploy.mjs'], {
    cwd: repo,
    env: { ...process.env, PORT: '0' },
    stdio: 'ignore',
  });
  const port = execFileSync('cat', [path.join(repo, 'run', 'port')])
    .toString()
    .trim();
  const configPath = path.join(dir, 'kaizen.yaml');
  writeFileSync(
    configPath,
    stringify({
      dataDir: 'data',
      target: {
        name: 'demo',
        repo,
        deploy: { command: [process.execPath, 'deploy.mjs'], timeout: '30s', stabilisation: '0s' },
        health: {
          url: `http://127.0.0.1:${port}/health`,
          expectJson: { status: 'ok' },
          attempts: 3,
          interval: '100ms',
          timeout: '1s',
        },
      },
      signals: [
        {
          name: 'latency',
          source: { kind: 'http-json', url: `http://127.0.0.1:${port}/health`, path: 'latency_ms.p50' },
          unit: 'ms',
          direction: 'lower_is_better',
        },
      ],
      guard: { policy: path.join(dir, 'policy.yaml') },
    }),
  );
  writeFileSync(path.join(dir, 'policy.yaml'), 'dailyBudget: 1000\ndedupWindow: 1ms\n');
  const rt = compose(loadConfig(configPath), { clock: new SystemClock(), logger: silentLogger() });
  const times: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await submitProposal(rt, {
      target: 'demo',
      proposal: {
        title: `break it ${i}`,
        area: `latency${i}`,
        kind: 'config_set',
        changes: [{ kind: 'config_set', path: 'config.json', key: 'latencyMs', value: `fast${i}` }],
        hypothesis: 'a broken config',
        prediction: { signal: 'latency', direction: 'down', magnitude: 0.5 },
        risk: 'low',
        rollback: 'git revert',
      },
      origin: 'bench',
      actor: 'bench',
    });
    totals.push(performance.now() - t0);
    const rb = (r.intervention.applyLog as ApplyLog).rollback!;
    if (r.intervention.state !== 'rolled_back')
      throw new Error(`expected a rollback, got ${r.intervention.state}`);
    times.push(rb.finishedAt! - rb.detectedAt);
  }
  rt.close();
  execFileSync(process.execPath, ['stop.mjs'], { cwd: repo, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  figure(
    'demo target: broken deploy detected → healthy again (ms, median of 5)',
    fmt(med(times), 0),
    '≤ 3000',
  );
  figure('demo target: whole apply incl. failed deploy and rollback (ms)', fmt(med(totals), 0));
}

export async function run(): Promise<void> {
  await revertPath();
  await demoTarget();
}
