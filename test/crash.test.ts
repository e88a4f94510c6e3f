import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT_POINTS } from '../src/apply/fault.js';
import { openStore } from '../src/store/index.js';
import type { Intent } from '../src/store/intents.js';
import type { Intervention } from '../src/store/interventions.js';
import { runKaizen, type ChildResult } from './crash/child.js';
import { runCli } from './helpers/cli.js';
import { FIXTURE_FILES, proposal, targetFixture, type TargetFixture } from './helpers/target.js';

/*
 * Real crash tests: the built CLI runs as a child process that SIGKILLs itself at a fault point
 * (KAIZEN_FAULT), then a fresh `kaizen recover` must finish or undo the apply. Each test then
 * checks the repo, the remote, the store and the live health endpoint, runs `kaizen doctor`, and
 * checks that a second recover changes nothing.
 */

type Point = (typeof FAULT_POINTS)[number];
type End = 'failed' | 'applied' | 'rolled_back' | 'reverted';

const ROLLBACK_POINTS: readonly Point[] = [
  'revert-made',
  'after-revert',
  'after-revert-push',
  'after-redeploy',
];
/** Points at which the forward commit is not yet in the repo when the process dies. */
const BEFORE_COMMIT: readonly Point[] = ['after-lockdown', 'after-write'];

const GOOD = proposal();
const BAD = proposal({
  title: 'Break the health check',
  area: 'health',
  changes: [{ kind: 'config_set', path: 'config.json', key: 'healthy', value: false }],
});

/**
 * How recovery ends. A crash after the files were written but before the commit is undone (files
 * restored, `failed`). A crash at after-lockdown has done nothing yet — lockdown only reads, and no
 * intent is written before it — so recovery simply runs the apply (lockdown again, then write,
 * commit, push, deploy, probe): one commit, `applied`.
 */
const endFor = (point: Point): End =>
  ROLLBACK_POINTS.includes(point) ? 'rolled_back' : point === 'after-write' ? 'failed' : 'applied';

const TABLE = FAULT_POINTS.map((point) => ({
  point,
  rollback: ROLLBACK_POINTS.includes(point),
  committed: !BEFORE_COMMIT.includes(point),
  end: endFor(point),
}));

function describeRun(r: ChildResult): string {
  return `code ${r.code} signal ${r.signal}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`;
}

function writeProposal(fx: TargetFixture, data: Record<string, unknown>): string {
  const file = path.join(fx.dir, 'proposal.json');
  writeFileSync(file, JSON.stringify(data, null, 2));
  return file;
}

interface StoreView {
  iv: Intervention;
  history: { from: string | null; to: string; reason: string }[];
  intents: Intent[];
  events: number;
}

/** The store's view of the one intervention; opened read-only, only while no child runs. */
function readStore(fx: TargetFixture): StoreView {
  const store = openStore(path.join(fx.dir, 'data'), { readonly: true });
  try {
    const all = store.interventions.list({ limit: 100 });
    expect(all).toHaveLength(1);
    const iv = all[0]!;
    return {
      iv,
      history: store.interventions.history(iv.id).map((h) => ({ from: h.from, to: h.to, reason: h.reason })),
      intents: store.intents.list(iv.id),
      events: store.events.list({ limit: 100_000 }).length,
    };
  } finally {
    store.close();
  }
}

interface Commit {
  sha: string;
  message: string;
}

/** Commits on main after `base`, oldest first. */
function commitsSince(fx: TargetFixture, base: string): Commit[] {
  const out = fx.git('log', '-z', '--reverse', '--format=%H%n%B', `${base}..main`);
  return out
    .split('\0')
    .filter((r) => r.trim() !== '')
    .map((r) => {
      const nl = r.indexOf('\n');
      return { sha: r.slice(0, nl).trim(), message: r.slice(nl + 1) };
    });
}

/** `git log --grep` count of commits carrying a trailer (fixed string). */
function grepCount(fx: TargetFixture, text: string): number {
  const out = fx.git('log', '--format=%H', '--fixed-strings', `--grep=${text}`, 'main');
  return out === '' ? 0 : out.split('\n').length;
}

function forwardCommits(fx: TargetFixture, base: string, id: string): Commit[] {
  return commitsSince(fx, base).filter(
    (c) => c.message.includes(`Kaizen-Intervention: ${id}\n`) && !c.message.includes('Kaizen-Revert-Of:'),
  );
}

function remoteHead(fx: TargetFixture): string {
  return fx.git('ls-remote', 'origin', 'refs/heads/main').split('\t')[0]!;
}

async function health(fx: TargetFixture): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(fx.healthUrl);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Everything a no-op recover must leave exactly as it was. */
function snapshot(fx: TargetFixture) {
  return {
    head: fx.git('rev-parse', 'HEAD'),
    remote: remoteHead(fx),
    status: fx.git('status', '--porcelain'),
    config: fx.read('config.json'),
    store: readStore(fx),
  };
}

async function crash(fx: TargetFixture, args: string[], fault: Point): Promise<void> {
  const r = await runKaizen(args, { fault });
  expect(r.signal, describeRun(r)).toBe('SIGKILL');
  expect(r.code).toBeNull();
  expect(readStore(fx).iv.state, 'the crash left the intervention mid-apply').toBe('applying');
}

/** What the repo, remote, store and deployed target look like right after the kill at `point`. */
async function checkCrashSite(fx: TargetFixture, base: string, point: Point): Promise<void> {
  const { iv } = readStore(fx);
  const breaksHealth = iv.area === BAD.area;
  const forward = forwardCommits(fx, base, iv.id);
  const reverts = commitsSince(fx, base).filter((c) => c.message.includes('Kaizen-Revert-Of:'));
  const remote = remoteHead(fx);
  const probe = await health(fx);
  const site = `at ${point}`;
  /** The forward change is what the target runs: broken health, or the cache enabled. */
  const changeDeployed = () =>
    breaksHealth
      ? expect(probe.status, site).toBe(503)
      : expect(probe, site).toMatchObject({ status: 200, body: { cacheSize: 200 } });
  switch (point) {
    case 'after-lockdown':
      expect(forward, site).toHaveLength(0);
      expect(fx.git('status', '--porcelain'), site).toBe('');
      break;
    case 'after-write':
      expect(forward, site).toHaveLength(0);
      expect(fx.git('status', '--porcelain'), site).toMatch(/config\.json/);
      break;
    case 'commit-made':
      expect(forward, site).toHaveLength(1);
      expect(iv.commitSha, site).toBeNull();
      break;
    case 'after-commit':
      expect(iv.commitSha, site).toBe(forward[0]?.sha);
      expect(remote, site).toBe(base);
      break;
    case 'after-push':
      expect(remote, site).toBe(iv.commitSha);
      expect(probe.body.cacheSize, site).toBe(0); // the initial config is still deployed
      break;
    case 'after-deploy':
    case 'after-health':
      expect(remote, site).toBe(iv.commitSha);
      expect(probe, site).toMatchObject({ status: 200, body: { cacheSize: 200 } });
      break;
    case 'revert-made':
      expect(reverts, site).toHaveLength(1);
      expect(iv.revertSha, site).toBeNull();
      changeDeployed();
      break;
    case 'after-revert':
      expect(iv.revertSha, site).toBe(reverts[0]?.sha);
      expect(remote, site).toBe(iv.commitSha);
      changeDeployed();
      break;
    case 'after-revert-push':
      expect(remote, site).toBe(iv.revertSha);
      changeDeployed();
      break;
    case 'after-redeploy':
      expect(remote, site).toBe(iv.revertSha);
      expect(probe, site).toMatchObject({ status: 200, body: { cacheSize: 0 } });
      break;
  }
}

const proposeArgs = (fx: TargetFixture, file: string) => [
  'propose',
  '--file',
  file,
  '--config',
  fx.configPath,
  '--by',
  'tester',
];

/** The end state after recovery: repo, remote, store, deployed target. */
async function verifyEnd(fx: TargetFixture, base: string, end: End): Promise<Intervention> {
  const { iv, history } = readStore(fx);
  const commits = commitsSince(fx, base);
  const forward = forwardCommits(fx, base, iv.id);
  const reverts = commits.filter((c) => c.message.includes('Kaizen-Revert-Of:'));
  const head = fx.git('rev-parse', 'HEAD');

  expect(iv.state).toBe(end);
  expect(history.at(-1)!.to).toBe(end);
  expect(fx.git('status', '--porcelain'), 'the work tree is clean').toBe('');
  expect(fx.git('branch', '--show-current')).toBe('main');
  expect(remoteHead(fx), 'the remote is where local main is').toBe(head);
  expect(await health(fx)).toMatchObject({ status: 200, body: { status: 'ok' } });
  // The change deployed once, its undo once: never a second deploy of the same step.
  expect(fx.deploys(), 'deploys').toBe(end === 'failed' ? 0 : end === 'applied' ? 1 : 2);

  if (end === 'failed') {
    expect(commits).toEqual([]);
    expect(grepCount(fx, `Kaizen-Intervention: ${iv.id}`)).toBe(0);
    expect(head).toBe(base);
    expect(fx.read('config.json')).toBe(FIXTURE_FILES['config.json']);
    expect(iv.commitSha).toBeNull();
    expect(history.at(-1)!.reason).toMatch(/interrupted before its commit/);
  } else if (end === 'applied') {
    expect(commits).toHaveLength(1);
    expect(forward).toHaveLength(1);
    expect(grepCount(fx, `Kaizen-Intervention: ${iv.id}`)).toBe(1);
    expect(grepCount(fx, 'Kaizen-Revert-Of:')).toBe(0);
    expect(iv.commitSha).toBe(forward[0]!.sha);
    expect(head).toBe(iv.commitSha);
    expect(JSON.parse(fx.read('config.json'))).toMatchObject({ cacheSize: 200, healthy: true });
    expect((await health(fx)).body.cacheSize).toBe(200);
  } else {
    // rolled_back (by the apply) or reverted (by a person): the forward commit, then its revert.
    expect(commits).toHaveLength(2);
    expect(forward).toHaveLength(1);
    expect(reverts).toHaveLength(1);
    expect(commits.map((c) => c.sha)).toEqual([forward[0]!.sha, reverts[0]!.sha]);
    // The revert carries the intervention's trailer too: one forward commit plus one revert.
    expect(grepCount(fx, `Kaizen-Intervention: ${iv.id}`)).toBe(2);
    expect(grepCount(fx, `Kaizen-Revert-Of: ${forward[0]!.sha}`)).toBe(1);
    expect(grepCount(fx, 'Kaizen-Revert-Of:')).toBe(1);
    expect(iv.commitSha).toBe(forward[0]!.sha);
    expect(iv.revertSha).toBe(reverts[0]!.sha);
    expect(head).toBe(iv.revertSha);
    expect(fx.read('config.json')).toBe(FIXTURE_FILES['config.json']);
  }
  return iv;
}

/** doctor passes, and a second recover recovers nothing and changes nothing. */
async function verifySettled(fx: TargetFixture): Promise<void> {
  const doctor = await runKaizen(['doctor', '--config', fx.configPath]);
  expect(doctor.code, describeRun(doctor)).toBe(0);
  expect(doctor.out).toMatch(/all invariants hold over 1 intervention/);

  const before = snapshot(fx);
  const again = await runKaizen(['recover', '--config', fx.configPath]);
  expect(again.code, describeRun(again)).toBe(0);
  expect(again.out).toMatch(/nothing to recover/);
  expect(snapshot(fx)).toEqual(before);
}

describe('crash at every fault point, then recover', () => {
  it.each(TABLE)('killed at $point, recover ends $end', async ({ point, rollback, committed, end }) => {
    const fx = await targetFixture();
    const base = fx.git('rev-parse', 'HEAD');
    const file = writeProposal(fx, rollback ? BAD : GOOD);

    await crash(fx, proposeArgs(fx, file), point);
    const { iv: crashed } = readStore(fx);
    expect(
      forwardCommits(fx, base, crashed.id),
      committed ? 'the commit landed before the kill' : 'no commit yet',
    ).toHaveLength(committed ? 1 : 0);
    await checkCrashSite(fx, base, point);

    const recovered = await runKaizen(['recover', '--config', fx.configPath]);
    expect(recovered.code, describeRun(recovered)).toBe(0);
    expect(recovered.out).toContain(`${crashed.id} recovered: ${end}`);

    await verifyEnd(fx, base, end);
    await verifySettled(fx);
  });
});

describe('a second crash during recovery', () => {
  it.each([
    { first: 'commit-made', second: 'after-push', proposal: GOOD, end: 'applied' },
    { first: 'revert-made', second: 'after-revert-push', proposal: BAD, end: 'rolled_back' },
  ] as { first: Point; second: Point; proposal: Record<string, unknown>; end: End }[])(
    'killed at $first, then at $second while recovering: still one commit, ends $end',
    async ({ first, second, proposal: data, end }) => {
      const fx = await targetFixture();
      const base = fx.git('rev-parse', 'HEAD');
      const file = writeProposal(fx, data);

      await crash(fx, proposeArgs(fx, file), first);
      await crash(fx, ['recover', '--config', fx.configPath], second);
      await checkCrashSite(fx, base, second);
      const { iv } = readStore(fx);
      expect(forwardCommits(fx, base, iv.id)).toHaveLength(1);

      const recovered = await runKaizen(['recover', '--config', fx.configPath]);
      expect(recovered.code, describeRun(recovered)).toBe(0);
      expect(recovered.out).toContain(`${iv.id} recovered: ${end}`);

      await verifyEnd(fx, base, end);
      await verifySettled(fx);
    },
  );
});

describe('a crash while a person reverts an applied intervention', () => {
  it.each(['revert-made', 'after-revert-push'] as Point[])(
    'killed at %s during kaizen revert: recover finishes the revert',
    async (point) => {
      const fx = await targetFixture();
      const base = fx.git('rev-parse', 'HEAD');
      const applied = await runKaizen(proposeArgs(fx, writeProposal(fx, GOOD)));
      expect(applied.code, describeRun(applied)).toBe(0);
      const { iv } = readStore(fx);
      expect(iv.state).toBe('applied');

      const reverting = await runKaizen(
        [
          'revert',
          iv.id,
          '--why',
          'the cache hides stale prices',
          '--by',
          'tester',
          '--config',
          fx.configPath,
        ],
        { fault: point },
      );
      expect(reverting.signal, describeRun(reverting)).toBe('SIGKILL');
      expect(readStore(fx).iv.state, 'still applied: the revert was cut short').toBe('applied');
      await checkCrashSite(fx, base, point);

      const recovered = await runKaizen(['recover', '--config', fx.configPath]);
      expect(recovered.code, describeRun(recovered)).toBe(0);
      expect(recovered.out).toContain(`${iv.id} recovered: reverted`);

      await verifyEnd(fx, base, 'reverted');
      const { history } = readStore(fx);
      expect(history.at(-1)).toMatchObject({
        from: 'applied',
        to: 'reverted',
        reason: 'the cache hides stale prices',
      });
      expect((await health(fx)).body.cacheSize, 'the original config is deployed again').toBe(0);
      await verifySettled(fx);
    },
  );

  it('killed at revert-made during kaizen revert, then a person edits the reverted file: recover stops, touches nothing, escalates', async () => {
    const fx = await targetFixture();
    const applied = await runKaizen(proposeArgs(fx, writeProposal(fx, GOOD)));
    expect(applied.code, describeRun(applied)).toBe(0);
    const { iv } = readStore(fx);
    const reverting = await runKaizen(
      ['revert', iv.id, '--why', 'stale prices', '--by', 'tester', '--config', fx.configPath],
      { fault: 'revert-made' },
    );
    expect(reverting.signal, describeRun(reverting)).toBe('SIGKILL');
    const mine = fx.read('config.json').replace('"deployFails": false', `"deployFails": false, ${OWNER}`);
    fx.write('config.json', mine);

    const recovered = await runKaizen(['recover', '--config', fx.configPath]);

    expect(recovered.code, describeRun(recovered)).toBe(0);
    expect(recovered.out).toMatch(
      new RegExp(
        `^${iv.id} not recovered: the revert of ${iv.id} stopped: kaizen made the revert [0-9a-f]{7}, but the repository changed after that: config\\.json: it has uncommitted changes since kaizen committed it\\. kaizen touched nothing; the revert is neither pushed nor deployed: push it, then deploy, or run kaizen revert ${iv.id} again once the repository is as kaizen left it\n$`,
      ),
    );
    expect(fx.read('config.json'), 'the person’s edit').toBe(mine);
    const after = readStore(fx);
    expect(after.iv.state, 'still applied: the revert did not finish').toBe('applied');
    expect(remoteHead(fx), 'the revert was not pushed').toBe(iv.commitSha);
    expect(fx.deploys(), 'the change once; no redeploy').toBe(1);
    const doctor = await runKaizen(['doctor', '--config', fx.configPath]);
    expect(doctor.code, describeRun(doctor)).toBe(0);
    expect(doctor.out).toContain(`note: app: a person is needed for ${iv.id}`);
    expect((await runKaizen(['recover', '--config', fx.configPath])).out).toBe(
      'nothing to recover: no apply was interrupted\n',
    );
  });
});

/*
 * The crash matrix with a person in it: after the kill, and before any recovery, a person works
 * in the repository. Recovery may only undo what is still exactly kaizen's, and only while HEAD is
 * where kaizen left it; otherwise it touches nothing, ends `failed` naming the files, and
 * escalates. In every cell: the person's work is intact, no step was deployed twice, nothing is
 * left in applying or proposed, doctor passes, and a second recover finds nothing to do.
 */

type Person = 'edit-touched' | 'edit-other' | 'commit-all' | 'new-commit';

/** What the person did, and how to tell it is still there. */
interface PersonsWork {
  /** Files as the person left them. */
  files: Record<string, string>;
  /** The person's commit, if they made one. */
  commit?: string;
}

const OWNER = '"owner": "ana"';
const GREETING = "export const greeting = 'hello, ana';\nexport const retries = 3;\n";

function personWorks(fx: TargetFixture, person: Person): PersonsWork {
  switch (person) {
    case 'edit-touched': {
      // The file kaizen's change touches, edited on top of whatever it holds now.
      const text = fx.read('config.json').replace('"deployFails": false', `"deployFails": false, ${OWNER}`);
      fx.write('config.json', text);
      return { files: { 'config.json': text } };
    }
    case 'edit-other':
      fx.write('src/app.js', GREETING);
      return { files: { 'src/app.js': GREETING } };
    case 'commit-all': {
      fx.write('src/app.js', GREETING);
      const config = fx.read('config.json');
      fx.git('commit', '-q', '-a', '-m', 'ana: a warmer greeting');
      return {
        files: { 'src/app.js': GREETING, 'config.json': config },
        commit: fx.git('rev-parse', 'HEAD'),
      };
    }
    case 'new-commit':
      fx.write('NOTES.md', 'ana was here\n');
      fx.git('add', 'NOTES.md');
      fx.git('commit', '-q', '-m', 'ana: notes');
      return { files: { 'NOTES.md': 'ana was here\n' }, commit: fx.git('rev-parse', 'HEAD') };
  }
}

/**
 * How recovery ends with the person's work in the way. `stop`: recovery stopped on drift and
 * escalated; `refused`: the apply's lockdown refused (nothing of kaizen's was there yet).
 */
function personEnd(point: Point, person: Person): { end: End; how: 'ok' | 'stop' | 'refused' } {
  const movedHead = person === 'commit-all' || person === 'new-commit';
  const rollback = ROLLBACK_POINTS.includes(point);
  if (point === 'after-lockdown') return { end: 'failed', how: 'refused' };
  // Only a probe is left: nothing to touch, nothing to stop for.
  if (point === 'after-deploy' || point === 'after-health') return { end: 'applied', how: 'ok' };
  if (point === 'after-redeploy') return { end: 'rolled_back', how: 'ok' };
  if (movedHead || person === 'edit-touched') return { end: 'failed', how: 'stop' };
  // A person's edit of another file: kaizen's own bytes and HEAD are as it left them.
  return { end: point === 'after-write' ? 'failed' : rollback ? 'rolled_back' : 'applied', how: 'ok' };
}

const PERSONS: readonly Person[] = ['edit-touched', 'edit-other', 'commit-all', 'new-commit'];
const MATRIX = FAULT_POINTS.flatMap((point) =>
  PERSONS.map((person) => ({ point, person, ...personEnd(point, person) })),
);

/** `kaizen <args>` in this process (the crash itself is always a real child process); logs kept quiet. */
async function kaizenHere(...args: string[]) {
  const level = process.env.KAIZEN_LOG_LEVEL;
  process.env.KAIZEN_LOG_LEVEL = 'silent';
  try {
    return await runCli(...args);
  } finally {
    if (level === undefined) delete process.env.KAIZEN_LOG_LEVEL;
    else process.env.KAIZEN_LOG_LEVEL = level;
  }
}

describe('crash at every fault point, a person works in the repository, then recover', () => {
  it.each(MATRIX)(
    'killed at $point, then $person: recover ends $end ($how)',
    async ({ point, person, end, how }) => {
      const fx = await targetFixture();
      const base = fx.git('rev-parse', 'HEAD');
      const rollback = ROLLBACK_POINTS.includes(point);
      await crash(fx, proposeArgs(fx, writeProposal(fx, rollback ? BAD : GOOD)), point);
      const deployedBefore = fx.deploys();
      const work = personWorks(fx, person);

      const recovered = await kaizenHere('recover', '--config', fx.configPath);

      const { iv, history } = readStore(fx);
      expect(recovered.code, recovered.err).toBe(0);
      expect(recovered.out).toContain(`${iv.id} recovered: ${end}`);
      expect(iv.state).toBe(end);
      expect(history.at(-1)!.to).toBe(end);

      // The person's work is there, byte for byte, and so is their commit.
      for (const [rel, text] of Object.entries(work.files))
        expect(fx.read(rel), `${rel} as the person left it`).toBe(text);
      if (work.commit) expect(fx.git('merge-base', '--is-ancestor', work.commit, 'HEAD')).toBe('');
      if (person === 'commit-all')
        expect(fx.git('diff', 'HEAD', '--', 'src/app.js'), 'nothing of their commit undone').toBe('');

      // Deploys: the forward one once (if it got that far), the rollback's once; never a step twice.
      const expectedDeploys = end === 'applied' ? 1 : end === 'rolled_back' ? 2 : rollback ? 1 : 0;
      expect(fx.deploys(), `deploys (${deployedBefore} before the recover)`).toBe(expectedDeploys);

      const store = openStore(path.join(fx.dir, 'data'), { readonly: true });
      try {
        const escalations = store.events.list({ kind: 'escalation', limit: 100 });
        if (how === 'stop') {
          expect(escalations.map((e) => e.data.cause)).toEqual(['drift']);
          const drift = store.events.list({ kind: 'drift', limit: 100 });
          expect(drift).toHaveLength(1);
          const reason = history.at(-1)!.reason;
          expect(reason).toContain('kaizen touched nothing');
          if (person === 'edit-touched') {
            expect(drift[0]!.data.files).toEqual([{ path: 'config.json', why: expect.any(String) }]);
            expect(reason).toMatch(/config\.json: /);
          } else {
            expect(reason).toMatch(/HEAD moved from [0-9a-f]{7} .*to [0-9a-f]{7}/);
          }
        } else {
          expect(escalations).toEqual([]);
          if (how === 'refused') expect(history.at(-1)!.reason).toMatch(/^drift: /);
        }
      } finally {
        store.close();
      }

      // Final: nothing applying or proposed, doctor passes (naming an escalation as a note), and a
      // second recover finds nothing and changes nothing.
      const doctor = await kaizenHere('doctor', '--config', fx.configPath);
      expect(doctor.code, doctor.out).toBe(0);
      expect(doctor.out).toMatch(/^doctor: all invariants hold over 1 intervention/);
      if (how === 'stop') expect(doctor.out).toContain(`note: app: a person is needed for ${iv.id}`);
      const before = snapshot(fx);
      const again = await kaizenHere('recover', '--config', fx.configPath);
      expect(again).toEqual({ code: 0, out: 'nothing to recover: no apply was interrupted\n', err: '' });
      expect(snapshot(fx)).toEqual(before);
      expect(fx.git('stash', 'list'), 'nothing stashed').toBe('');
      void base;
    },
  );
});
