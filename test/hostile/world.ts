import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { SimulatedClock } from '../../src/clock.js';
import { compose, type Runtime } from '../../src/compose.js';
import { loadConfig } from '../../src/config/load.js';
import type { GuardOutcome } from '../../src/guard/types.js';
import { silentLogger } from '../../src/logger.js';
import { submitProposal, type SubmitResult } from '../../src/loop/submit.js';
import type { Intervention } from '../../src/store/interventions.js';
import { GIT_ENV, git } from '../helpers/git.js';
import { FIXTURE_FILES, targetFixture } from '../helpers/target.js';
import { tempDir } from '../helpers/temp.js';

/*
 * Worlds for the hostile corpus. Each is a real git repository with a bare remote, inside a folder
 * (`root`) that also holds what a hostile path would reach if containment failed: `outside/` (the
 * target of the repo's escaping symbolic links), kaizen/ (its config) and, for `../x`, root itself.
 * Everything under root is what the byte-identity test hashes.
 *
 * - main: kaizen's config in root/kaizen/ (outside the repo), its data folder beside root.
 * - blocked-kinds: as main, with a guard policy that blocks `write`.
 * - self: kaizen's config (kaizen.yaml), data folder (data/) and guard policy (ops/guard-policy.yaml)
 *   all inside the repo.
 * - self-lax: as self, but the policy drops every blocked path except .git/**, and the data folder is
 *   the default .kaizen/: kaizen's own files must stay protected anyway.
 * - git-config: as main, with a .git/config that includes tracked files (conf/git.inc, which names
 *   tools/ship.sh in an alias and includes conf/nested.inc; conf/release.inc on a condition), a hooks
 *   folder in the work tree (githooks/), a .gitattributes, a runbook whose script is in the repo
 *   (ops/restart.sh), and a canary that covers config.json only.
 * - live*: test/helpers/target.ts's targetFixture (deploy script and real health server), for the
 *   cases that need real applies and rollbacks first.
 */

export type StaticWorldKind = 'main' | 'blocked-kinds' | 'self' | 'self-lax' | 'git-config';
export type LiveWorldKind = 'live' | 'live-budget';
export type WorldKind = StaticWorldKind | LiveWorldKind;

export interface World {
  kind: WorldKind;
  /** The folder around the repo (real path). */
  root: string;
  repo: string;
  /** The repo's bare remote (origin). */
  remote: string;
  /** A folder beside the repo that the escaping links point into. */
  outside: string;
  /** kaizen's own store when it lives under root (self worlds): the one thing a refusal must write. */
  ownData?: string;
  rt: Runtime;
  clock: SimulatedClock;
  submit(proposal: unknown): Promise<SubmitResult>;
  git(...args: string[]): string;
  close(): void;
}

export const OUTSIDE_SECRET = 'outside the repository: never to be changed\n';
export const DANGLING_TARGET = '/nonexistent/kaizen-hostile-target';

/** Files the hostile repo holds beside the fixture's own (config.json, app/settings.yaml, src/app.js, deploy.js). */
const HOSTILE_FILES: Record<string, string | Buffer> = {
  'dup.txt': 'needle\nhay\nneedle\n',
  'notes.txt': 'cacheSize: 0\n',
  'broken.yaml': 'worker: [unclosed\n  threads: 2\n',
  'pools.yaml': 'pools:\n  - size: 1\n',
  // Nine levels of nine aliases each: 9^9 strings if anything expanded it.
  'bomb.yaml':
    'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n' +
    [...'bcdefghi']
      .map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]\n`)
      .join('') +
    'worker:\n  threads: 2\n',
  'somedir/keep.txt': 'keep\n',
  'db/migrations/0001.sql': 'CREATE TABLE t (id int);\n',
  '.gitlab-ci.yml': 'test:\n  script: npm test\n',
  Dockerfile: 'FROM node:20\nCOPY . .\n',
  '.github/workflows/ci.yml':
    'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n',
  'blob.bin': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x0a]),
  'latin1.txt': Buffer.from('caf\xe9 cr\xe8me\n', 'latin1'),
  'test/app.test.js':
    "import { greeting } from '../src/app.js';\nif (greeting !== 'hello') throw new Error('greeting');\n",
  'src/checks.js':
    '// Refuses a request without a tenant, an oversized body, or a bad signature.\n' +
    "export function check(req) {\n  if (!req.tenant) throw new Error('no tenant');\n" +
    "  if (req.body.length > 1e6) throw new Error('too large');\n" +
    "  if (!verify(req.signature)) throw new Error('bad signature');\n  return true;\n}\n",
};

/** What the git-config world adds: work-tree files git reads, through its .git/config. */
const GIT_CONFIG_FILES: Record<string, string> = {
  'conf/git.inc': '[alias]\n\tship = !./tools/ship.sh\n[include]\n\tpath = nested.inc\n',
  'conf/nested.inc': '[core]\n\tautocrlf = false\n',
  'tools/ship.sh': '#!/bin/sh\necho shipping\n',
  'githooks/README': 'hooks live here\n',
  '.gitattributes': '*.png binary\n',
  'ops/restart.sh': '#!/bin/sh\nexit 0\n',
};

const SIGNALS = [
  {
    name: 'latency_ms',
    source: { kind: 'file-age', path: 'latency.lock', ifMissing: 'zero' },
    unit: 'ms',
    direction: 'lower_is_better',
  },
  {
    name: 'error_rate',
    source: { kind: 'file-age', path: 'errors.lock', ifMissing: 'zero' },
    unit: 'ratio',
    direction: 'lower_is_better',
  },
];

function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
}

/** A fresh world of this kind, removed after the current test. */
export async function buildWorld(kind: WorldKind): Promise<World> {
  return kind === 'live' || kind === 'live-budget'
    ? liveWorld(kind)
    : staticWorld(kind, fs.realpathSync(tempDir('kaizen-hostile-')));
}

/*
 * A static world is built once per kind as a template (git init, commits, push) and copied.
 * Everything in a template refers to its neighbours by relative paths (links, the remote, the
 * config), so a copy is self-contained. Creating files is slow on some machines, so the stateless
 * cases share one copy per kind (sharedWorld); the byte-identity test makes its own (buildWorld).
 */
const templates = new Map<StaticWorldKind, string>();
const shared = new Map<StaticWorldKind, { world: World; base: string }>();

/** The world of this kind that the stateless cases share; removed by disposeWorlds. */
export function sharedWorld(kind: StaticWorldKind): World {
  let s = shared.get(kind);
  if (!s) {
    const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `kaizen-hostile-shared-${kind}-`)));
    s = { world: staticWorld(kind, base), base };
    shared.set(kind, s);
  }
  return s.world;
}

/** Close the shared worlds and remove them and the templates (call from afterAll). */
export function disposeWorlds(): void {
  for (const { world, base } of shared.values()) {
    world.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
  shared.clear();
  for (const dir of templates.values()) fs.rmSync(dir, { recursive: true, force: true });
  templates.clear();
}

function template(kind: StaticWorldKind): string {
  const made = templates.get(kind);
  if (made) return made;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `kaizen-hostile-template-${kind}-`));
  templates.set(kind, base);
  const root = path.join(base, 'root');
  const repo = path.join(root, 'repo');
  const remote = path.join(root, 'remote.git');
  const outside = path.join(root, 'outside');
  const self = kind === 'self' || kind === 'self-lax';
  const dataName = kind === 'self-lax' ? '.kaizen' : 'data';

  writeFiles(outside, { 'secret.txt': OUTSIDE_SECRET, 'settings.yaml': 'worker:\n  threads: 2\n' });

  fs.mkdirSync(repo, { recursive: true });
  // --template= : no sample hooks, so a copy has fewer files to make.
  git(repo, 'init', '-q', '--template=', '-b', 'main');
  git(repo, 'config', 'gc.auto', '0');
  git(repo, 'config', 'commit.gpgsign', 'false');
  writeFiles(repo, {
    ...FIXTURE_FILES,
    ...HOSTILE_FILES,
    ...(kind === 'git-config' ? GIT_CONFIG_FILES : {}),
  });
  fs.symlinkSync('../outside/secret.txt', path.join(repo, 'escape'));
  fs.symlinkSync('../outside', path.join(repo, 'linkdir'));
  fs.symlinkSync('/etc/passwd', path.join(repo, 'etc-passwd'));
  fs.symlinkSync(DANGLING_TARGET, path.join(repo, 'dangling'));
  fs.symlinkSync('config.json', path.join(repo, 'alias.json'));

  if (self) {
    const policy = kind === 'self-lax' ? { blockedPaths: ['.git/**'] } : { dedupWindow: '2h' };
    writeFiles(repo, {
      '.gitignore': `deployed.json\n${dataName}/\n`,
      'ops/guard-policy.yaml': stringify(policy),
      'kaizen.yaml': stringify(config('.', dataName, 'ops/guard-policy.yaml')),
    });
  } else {
    // The data folder is base/data, beside root: nothing under root may change.
    const policy =
      kind === 'blocked-kinds'
        ? { blockedKinds: ['write'] }
        : kind === 'git-config'
          ? { canaryAreas: [{ area: 'cache', paths: ['config.json'] }] }
          : {};
    const runbooks =
      kind === 'git-config'
        ? { restart: { command: ['sh', 'ops/restart.sh'], inverse: [process.execPath, '-e', ''] } }
        : undefined;
    writeFiles(path.join(root, 'kaizen'), {
      'policy.yaml': stringify(policy),
      'kaizen.yaml': stringify(config('../repo', '../../data', 'policy.yaml', runbooks)),
    });
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  if (kind === 'git-config') {
    git(repo, 'config', 'include.path', '../conf/git.inc');
    git(repo, 'config', 'includeIf.onbranch:release.path', '../conf/release.inc');
    git(repo, 'config', 'core.hooksPath', 'githooks');
  }

  // A nested repository (an embedded clone, say): not part of the target, so never changed.
  writeFiles(path.join(repo, 'vendor/lib'), { 'index.js': 'module.exports = 1;\n' });
  git(path.join(repo, 'vendor/lib'), 'init', '-q', '--template=');
  writeFiles(path.join(repo, '.git/info'), { exclude: '/vendor/\n' });

  execFileSync('git', ['init', '-q', '--bare', '--template=', '-b', 'main', remote], { env: GIT_ENV });
  git(repo, 'remote', 'add', 'origin', '../remote.git');
  git(repo, 'push', '-q', 'origin', 'main');
  return base;
}

function staticWorld(kind: StaticWorldKind, base: string): World {
  execFileSync('cp', ['-a', `${template(kind)}/.`, base]);
  const root = path.join(base, 'root');
  const repo = path.join(root, 'repo');
  const self = kind === 'self' || kind === 'self-lax';
  // The copy has new inodes: let git refresh its index's stat cache now, before anything is
  // hashed, so a later `git status` has nothing to rewrite.
  git(repo, 'update-index', '-q', '--really-refresh');

  const configPath = self ? path.join(repo, 'kaizen.yaml') : path.join(root, 'kaizen', 'kaizen.yaml');
  const config = loadConfig(configPath);
  const clock = new SimulatedClock();
  const rt = compose(config, { clock, logger: silentLogger() });
  return {
    kind,
    root,
    repo,
    remote: path.join(root, 'remote.git'),
    outside: path.join(root, 'outside'),
    ...(self ? { ownData: config.dataDir } : {}),
    rt,
    clock,
    submit: (proposal) =>
      submitProposal(rt, { target: 'app', proposal, origin: 'hostile-test', actor: 'test' }),
    git: (...args) => git(repo, ...args),
    close: () => rt.close(),
  };
}

function config(
  repo: string,
  dataDir: string,
  policy: string,
  runbooks?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    dataDir,
    guard: { policy },
    target: {
      name: 'app',
      repo,
      branch: 'main',
      remote: 'origin',
      deploy: { command: [process.execPath, 'deploy.js'], timeout: '30s', stabilisation: '0s' },
      // Allow-listed, and harmless should anything ever run it.
      runbooks: runbooks ?? {
        restart: { command: [process.execPath, '-e', ''], inverse: [process.execPath, '-e', ''] },
      },
    },
    signals: SIGNALS,
  };
}

/** targetFixture, for cases that need real applies (budget, concurrency, freeze, a rolled-back twin). */
async function liveWorld(kind: LiveWorldKind): Promise<World> {
  const policyDir = tempDir('kaizen-hostile-policy-');
  const policyFile = path.join(policyDir, 'policy.yaml');
  // live-budget: room for more than a day's budget of concurrent applies.
  fs.writeFileSync(policyFile, stringify(kind === 'live-budget' ? { maxConcurrent: 10 } : {}));
  const fx = await targetFixture({ config: { guard: { policy: policyFile } } });
  const clock = new SimulatedClock();
  const rt = fx.runtime(clock);
  return {
    kind,
    root: fs.realpathSync(fx.dir),
    repo: fx.repo,
    remote: fx.remote,
    outside: fx.dir,
    rt,
    clock,
    submit: (proposal) =>
      submitProposal(rt, { target: 'app', proposal, origin: 'hostile-test', actor: 'test' }),
    git: fx.git,
    close: () => rt.close(),
  };
}

/** The stored intervention's guard outcome. */
export function storedGuard(iv: Intervention): GuardOutcome {
  return iv.guard as GuardOutcome;
}

/**
 * Every entry under `dir`, not following links: a file by mode and content hash, a link by its
 * target, a folder by its mode (so a new empty folder counts as a change too). `skip` holds
 * absolute paths left out, with everything under them.
 */
export function snapshot(dir: string, skip: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: string) => {
    for (const name of fs.readdirSync(abs).sort()) {
      const p = path.join(abs, name);
      if (skip.includes(p)) continue;
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(rel, `link -> ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(rel, `dir ${mode}`);
        walk(p);
      } else if (st.isFile())
        out.set(rel, `file ${mode} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
      else out.set(rel, `other ${mode}`);
    }
  };
  walk(dir);
  return out;
}

/** The entries that differ between two snapshots, one line each. */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const diff: string[] = [];
  for (const [p, v] of before) {
    if (!after.has(p)) diff.push(`removed ${p}`);
    else if (after.get(p) !== v) diff.push(`changed ${p}: ${v} -> ${after.get(p)}`);
  }
  for (const p of after.keys()) if (!before.has(p)) diff.push(`added ${p}: ${after.get(p)}`);
  return diff;
}
