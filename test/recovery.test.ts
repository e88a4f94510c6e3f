import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { applyIntervention } from '../src/apply/apply-intervention.js';
import { LEASE_TTL_MS, TargetBusyError, withTargetLease } from '../src/apply/lease.js';
import { ORPHAN_REASON, recoverInterrupted } from '../src/apply/recover.js';
import { SimulatedClock, SystemClock, type Clock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { runDoctor } from '../src/loop/doctor.js';
import { fingerprint, Proposal } from '../src/propose/proposal.js';
import { submitProposal } from '../src/loop/submit.js';
import { healthSnapshot } from '../src/server/snapshot.js';
import { thisProcess } from '../src/util/process-identity.js';
import { formatLocal } from '../src/util/time.js';
import { runKaizen, type ChildResult } from './crash/child.js';
import { runCliAt } from './helpers/cli.js';
import { holdLease, idleProcess, killed } from './helpers/lease.js';
import { proposal, targetFixture, type FixtureOptions, type TargetFixture } from './helpers/target.js';
import { spawnKaizen } from './helpers/cli.js';

/*
 * Recovery must never destroy what a person did, never run twice, and never leave anything
 * undecided: every apply ends in a final state, one lease per target keeps two processes apart,
 * and a submit records its proposal and verdict at once. Real repositories, real processes.
 */

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const rt of runtimes.splice(0)) rt.close();
});

function open(fx: TargetFixture, clock: Clock = new SimulatedClock()): Runtime {
  const rt = fx.runtime(clock);
  runtimes.push(rt);
  return rt;
}

const submit = (rt: Runtime, overrides: Record<string, unknown> = {}, options: { apply?: boolean } = {}) =>
  submitProposal(
    rt,
    { target: 'app', proposal: proposal(overrides), origin: 'test', actor: 'tester' },
    options,
  );

const eventsOf = (rt: Runtime, kind: string) => rt.store.events.list({ kind, limit: 1000 });
const lastReason = (rt: Runtime, id: string) => rt.store.interventions.history(id).at(-1)!.reason;
const remoteHead = (fx: TargetFixture) => fx.git('ls-remote', 'origin', 'main').split('\t')[0];
const describeRun = (r: ChildResult) => `code ${r.code} signal ${r.signal}\n${r.out}\n${r.err}`;

/** A change that makes the deployed service answer 503: its health check fails and it is rolled back. */
const BREAK_HEALTH = {
  title: 'Break health',
  area: 'health',
  changes: [{ kind: 'config_set', path: 'config.json', key: 'healthy', value: false }],
};

/** A guard policy under which a medium-risk change in area cache waits for a person, and approving applies it. */
function approvablePolicy(fx: TargetFixture): string {
  const file = path.join(fx.dir, 'policy.yaml');
  writeFileSync(
    file,
    stringify({ approvalFrom: 'medium', canaryAreas: [{ area: 'cache', paths: ['config.json'] }] }),
  );
  return file;
}

/** Change the fixture's kaizen.yaml: `edit` gets its target section. */
function editTarget(fx: TargetFixture, edit: (target: Record<string, unknown>) => void): void {
  const config = parse(readFileSync(fx.configPath, 'utf8')) as { target: Record<string, unknown> };
  edit(config.target);
  writeFileSync(fx.configPath, stringify(config));
}

/** The target's deploy becomes this shell script, run in the repo. */
function deployWith(fx: TargetFixture, script: string): void {
  editTarget(fx, (t) => ((t.deploy as Record<string, unknown>).command = ['sh', '-c', script]));
}

async function fixtureWithPolicy(options: FixtureOptions = {}): Promise<TargetFixture> {
  const fx = await targetFixture(options);
  const policy = approvablePolicy(fx);
  editTarget(fx, (t) => (t.guardPolicy = policy));
  return fx;
}

const WAITS = {
  title: 'Bigger cache',
  risk: 'medium',
  changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 500 }],
};

describe('every failed apply ends in a final state', () => {
  it('a commit a hook refuses: the file is put back and unstaged, the intervention fails with the hook’s words, and the next apply works', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    const hook = path.join(fx.repo, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\necho "commits are frozen for the audit" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const head = fx.git('rev-parse', 'HEAD');
    const original = fx.read('config.json');

    const { intervention: iv, apply } = await submit(rt);

    expect(apply?.outcome).toBe('failed');
    expect(iv.state).toBe('failed');
    expect(lastReason(rt, iv.id)).toMatch(
      /^unexpected error: .*commits are frozen for the audit.*; restored 1 file\(s\), nothing was committed$/s,
    );
    expect(fx.read('config.json')).toBe(original);
    expect(fx.git('status', '--porcelain'), 'nothing staged, nothing changed').toBe('');
    expect(fx.git('rev-parse', 'HEAD')).toBe(head);
    expect(rt.store.interventions.list({ states: ['applying', 'proposed'] })).toEqual([]);
    expect(fx.deploys()).toBe(0);

    writeFileSync(hook, '#!/bin/sh\nexit 0\n');
    const next = await submit(rt, {
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 300 }],
    });
    expect(next.intervention.state).toBe('applied');
    expect((await recoverInterrupted(rt)).recovered).toEqual([]);
    expect((await runDoctor(rt)).problems).toEqual([]);
  });

  it('a write to a git-ignored file (let through by an older guard): git add refuses, the file is removed again, and nothing is stuck', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    // Recorded as a guard that did not know about ignored files would have passed it.
    const p = Proposal.parse(
      proposal({
        title: 'Write a debug log',
        kind: 'write',
        changes: [{ kind: 'write', path: 'debug.log', content: 'verbose\n' }],
      }),
    );
    rt.store.catalog.sync(rt.config.targets[0]!, rt.clock.now());
    const created = rt.store.interventions.create(
      {
        target: 'app',
        proposal: p,
        fingerprint: fingerprint(p),
        origin: 'test',
        baseSha: fx.git('rev-parse', 'HEAD'),
        actor: 'tester',
        reason: 'proposed by test',
      },
      rt.clock.now(),
    );
    rt.store.interventions.transition(
      created.id,
      'applying',
      rt.clock.now(),
      'kaizen',
      'every guard check passed',
    );

    const result = await applyIntervention(rt, created.id);

    expect(result.outcome).toBe('failed');
    expect(lastReason(rt, created.id)).toMatch(
      /^unexpected error: .*ignored.*; restored 1 file\(s\), nothing was committed$/s,
    );
    expect(existsSync(path.join(fx.repo, 'debug.log'))).toBe(false);
    expect(fx.git('status', '--porcelain', '--ignored')).not.toContain('debug.log');
    expect(rt.store.interventions.get(created.id).state).toBe('failed');
    expect(await recoverInterrupted(rt)).toEqual({ recovered: [], orphans: [], pushes: [], busy: [] });
    expect((await submit(rt)).intervention.state).toBe('applied');
  });

  it('an unreachable remote while undoing: rolled back, the push left pending and shown; recover pushes it when the remote is back', async () => {
    const fx = await targetFixture();
    const away = `${fx.remote}.away`;
    const once = path.join(fx.dir, 'moved-once');
    // The first deploy (the change's) works, then the remote disappears: the revert cannot be pushed.
    deployWith(
      fx,
      `"${process.execPath}" deploy.js && if [ ! -e "${once}" ]; then touch "${once}"; mv "${fx.remote}" "${away}"; fi`,
    );
    const clock = new SimulatedClock();
    const rt = open(fx, clock);

    const { intervention: iv, apply } = await submit(rt, BREAK_HEALTH);

    expect(apply?.outcome).toBe('rolled_back');
    expect(iv.state).toBe('rolled_back');
    expect(lastReason(rt, iv.id)).toMatch(
      /^health check failed: .*; the remote still has the change: kaizen recover pushes the revert when the remote takes it$/,
    );
    expect(fx.git('rev-parse', 'HEAD')).toBe(iv.revertSha);
    expect(JSON.parse(fx.read('config.json'))).toMatchObject({ healthy: true });
    expect(rt.store.interventions.list({ states: ['applying'] })).toEqual([]);
    const pending = `app: the revert ${iv.revertSha!.slice(0, 7)} of ${iv.id} is not on origin/main yet (`;
    const doctor = await runDoctor(rt);
    expect(doctor.problems).toEqual([]);
    expect(doctor.notes.map((n) => n.note)).toEqual([
      expect.stringMatching(/^app: a person is needed for K0001 since .*: the revert could not be pushed/),
      expect.stringContaining(pending),
    ]);
    const health = healthSnapshot(rt, { env: {}, startedAt: clock.now() });
    expect(health.status).toBe('attention');
    expect(health.attention).toEqual(expect.arrayContaining([expect.stringContaining(pending)]));

    const still = await recoverInterrupted(rt);
    expect(still.pushes).toEqual([
      {
        interventionId: iv.id,
        outcome: 'still-pending',
        detail: expect.stringMatching(/^origin\/main does not answer yet: /),
      },
    ]);

    renameSync(away, fx.remote);
    expect(remoteHead(fx), 'the remote still has the change').toBe(iv.commitSha);
    const back = await recoverInterrupted(rt);

    expect(back.pushes).toEqual([
      {
        interventionId: iv.id,
        outcome: 'pushed',
        detail: `pushed the revert ${iv.revertSha!.slice(0, 7)} to origin/main`,
      },
    ]);
    expect(remoteHead(fx)).toBe(iv.revertSha);
    expect(eventsOf(rt, 'revert_pushed').map((e) => e.interventionId)).toEqual([iv.id]);
    expect((await runDoctor(rt)).notes).toEqual([]);
    expect(healthSnapshot(rt, { env: {}, startedAt: clock.now() }).attention.join('\n')).not.toContain(iv.id);
    expect(fx.deploys(), 'the change, then its revert: two deploys').toBe(2);
  });
});

describe('submitting is atomic', () => {
  it('a YAML alias bomb in the target file is rejected with the guard’s error, exit 10, and nothing stays proposed', async () => {
    const fx = await targetFixture();
    const bomb =
      'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n' +
      [...'bcdefghi']
        .map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]\n`)
        .join('') +
      'worker:\n  threads: 2\n';
    fx.write('app/bomb.yaml', bomb);
    fx.git('add', 'app/bomb.yaml');
    fx.git('commit', '-q', '-m', 'a file the guard cannot read');
    const file = path.join(fx.dir, 'bomb.json');
    writeFileSync(
      file,
      JSON.stringify(
        proposal({
          title: 'More threads',
          changes: [{ kind: 'config_set', path: 'app/bomb.yaml', key: 'worker.threads', value: 4 }],
        }),
      ),
    );
    const clock = new SimulatedClock();

    const r = await runCliAt(clock, 'propose', '--file', file, '--config', fx.configPath, '--by', 'ana');

    expect(r.code, r.err).toBe(10);
    expect(r.err).toBe('');
    expect(r.out).toContain(
      'applies: config_set of app/bomb.yaml: the file cannot be read as config: Excessive alias count indicates a resource exhaustion attack',
    );
    const rt = open(fx, clock);
    const [iv] = rt.store.interventions.list();
    expect(iv?.state).toBe('rejected');
    expect(rt.store.interventions.history(iv!.id).map((h) => h.to)).toEqual(['proposed', 'rejected']);
    expect(fx.read('app/bomb.yaml')).toBe(bomb);
    expect((await runDoctor(rt)).problems).toEqual([]);
  });

  it('a proposal an older kaizen left in proposed: doctor and /health name it until recover rejects it', async () => {
    const fx = await targetFixture();
    const clock = new SimulatedClock();
    const rt = open(fx, clock);
    const p = Proposal.parse(proposal());
    rt.store.catalog.sync(rt.config.targets[0]!, clock.now());
    const orphan = rt.store.interventions.create(
      {
        target: 'app',
        proposal: p,
        fingerprint: fingerprint(p),
        origin: 'rules',
        baseSha: fx.git('rev-parse', 'HEAD'),
        actor: 'kaizen',
        reason: 'proposed by rules',
      },
      clock.now(),
    );

    const doctor = await runCliAt(clock, 'doctor', '--config', fx.configPath);
    const health = healthSnapshot(rt, { env: {}, startedAt: clock.now() });
    const recovered = await runCliAt(clock, 'recover', '--config', fx.configPath);

    expect(doctor.code).toBe(15);
    expect(doctor.out).toContain(
      `orphan: ${orphan.id} is still proposed: kaizen stopped before guarding it; run "kaizen recover" to reject it`,
    );
    expect(health.attention).toContain(
      `app: ${orphan.id} was proposed but never guarded (kaizen stopped before guarding it): kaizen recover rejects it`,
    );
    expect(recovered).toEqual({
      code: 0,
      out: `${orphan.id} rejected: ${orphan.id} was never guarded (kaizen stopped before guarding it)\n`,
      err: '',
    });
    expect(rt.store.interventions.get(orphan.id).state).toBe('rejected');
    expect(lastReason(rt, orphan.id)).toBe(ORPHAN_REASON);
    expect((await runCliAt(clock, 'doctor', '--config', fx.configPath)).code).toBe(0);
    expect(healthSnapshot(rt, { env: {}, startedAt: clock.now() }).attention).toEqual([]);
  });
});

describe('one lease per target', () => {
  it('a live holder makes recover and approve exit 75 naming it; doctor calls it work in progress; once it is gone its lease is taken over', async () => {
    const fx = await fixtureWithPolicy();
    const clock = new SimulatedClock();
    const rt = open(fx, clock);
    const waiting = (await submit(rt, WAITS)).intervention;
    expect(waiting.state).toBe('backlog');
    const pending = (await submit(rt, {}, { apply: false })).intervention;
    expect(pending.state).toBe('applying');
    const holder = await idleProcess();
    const since = clock.now();
    holdLease(rt.store, 'app', {
      pid: holder.pid,
      acquiredAt: since,
      heartbeatAt: clock.world.now(),
      doing: `applying ${pending.id}`,
      interventionId: pending.id,
    });
    const busy = `kaizen: target app is busy: kaizen (pid ${holder.pid} on ${thisProcess().host}) is applying ${pending.id} since ${formatLocal(since, 'UTC')}; nothing was changed: try again when it is done\n`;

    const recover = await runCliAt(clock, 'recover', '--config', fx.configPath);
    const approve = await runCliAt(clock, 'approve', waiting.id, '--by', 'ana', '--config', fx.configPath);
    const doctor = await runCliAt(clock, 'doctor', '--config', fx.configPath);

    expect(recover).toEqual({ code: 75, out: '', err: busy });
    expect(approve).toEqual({ code: 75, out: '', err: busy });
    expect(rt.store.interventions.get(pending.id).state).toBe('applying');
    expect(rt.store.interventions.get(waiting.id).state).toBe('backlog');
    expect(eventsOf(rt, 'approved')).toEqual([]);
    expect(doctor.code, doctor.out).toBe(0);
    expect(doctor.out).toBe(
      `doctor: all invariants hold over 2 intervention(s)\nnote: app: kaizen (pid ${holder.pid} on ${thisProcess().host}) is applying ${pending.id} since ${formatLocal(since, 'UTC')}\n`,
    );

    await killed(holder);
    const after = await runCliAt(clock, 'recover', '--config', fx.configPath);

    expect(after).toEqual({ code: 0, out: `${pending.id} recovered: applied\n`, err: '' });
    expect(eventsOf(rt, 'lease_taken_over').map((e) => e.data)).toEqual([
      { pid: holder.pid, host: thisProcess().host, doing: `applying ${pending.id}`, since },
    ]);
    expect(rt.store.leases.list()).toEqual([]);
  });

  it('a pid the system gave to a later process, or a holder on another host past its expiry, is gone; an unexpired one there is not', async () => {
    const fx = await targetFixture();
    const clock = new SimulatedClock();
    const rt = open(fx, clock);
    const other = await idleProcess();
    const run = () => withTargetLease(rt, 'app', { doing: 'testing' }, async () => 'ran');

    holdLease(rt.store, 'app', {
      pid: other.pid,
      pidStart: 'a start time that is not this process’s',
      acquiredAt: clock.now(),
      heartbeatAt: clock.world.now(),
    });
    expect(await run(), 'same pid, another start time: a later process').toBe('ran');

    holdLease(rt.store, 'app', {
      pid: 999_999,
      host: 'web-2.elsewhere',
      acquiredAt: clock.now(),
      heartbeatAt: clock.world.now(),
    });
    await expect(run()).rejects.toThrow(
      `target app is busy: kaizen (pid 999999 on web-2.elsewhere) is applying K0001 since ${formatLocal(clock.now(), 'UTC')}`,
    );
    await clock.advance(LEASE_TTL_MS);
    expect(await run(), 'no heartbeat for a whole TTL').toBe('ran');
    expect(
      eventsOf(rt, 'lease_taken_over')
        .map((e) => e.data.host)
        .reverse(),
    ).toEqual([thisProcess().host, 'web-2.elsewhere']);
  });

  it('is re-entrant along one chain of calls, exclusive between two in one process, and renewed while held', async () => {
    const fx = await targetFixture();
    const clock = new SimulatedClock();
    const rt = open(fx, clock);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let nested = '';

    const first = withTargetLease(rt, 'app', { doing: 'first' }, async () => {
      nested = await withTargetLease(
        rt,
        'app',
        { doing: 'first, nested', interventionId: 'K0009' },
        async () => 'nested ran',
      );
      await gate;
    });
    await new Promise((r) => setImmediate(r));
    const second = withTargetLease(rt, 'app', { doing: 'second' }, async () => 'second ran');

    await expect(second).rejects.toBeInstanceOf(TargetBusyError);
    await expect(second).rejects.toMatchObject({
      code: 'TARGET_BUSY',
      holder: { doing: 'first, nested', interventionId: 'K0009' },
    });
    expect(nested).toBe('nested ran');
    const before = rt.store.leases.get('app')!;
    await clock.advance(15_000);
    expect(rt.store.leases.get('app')).toMatchObject({
      heartbeatAt: before.heartbeatAt + 15_000,
      expiresAt: before.heartbeatAt + 15_000 + LEASE_TTL_MS,
    });
    release();
    await first;
    expect(rt.store.leases.list(), 'given up').toEqual([]);
    expect(clock.pending, 'no heartbeat left waiting').toBe(0);
  });
});

describe('two real kaizen processes on one target', () => {
  /** A fixture whose deploy waits at a gate file, so a test can act while an apply is mid-deploy. */
  async function gatedFixture() {
    const fx = await fixtureWithPolicy();
    const started = path.join(fx.dir, 'deploy-started');
    const gate = path.join(fx.dir, 'gate');
    deployWith(
      fx,
      `echo $$ > "${started}"; while [ ! -e "${gate}" ]; do sleep 0.05; done; exec "${process.execPath}" deploy.js`,
    );
    const file = path.join(fx.dir, 'proposal.json');
    writeFileSync(file, JSON.stringify(proposal()));
    return { fx, started, gate, file };
  }

  async function until(what: string, ok: () => boolean): Promise<void> {
    for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!ok()) throw new Error(`timed out waiting for ${what}`);
  }

  it('while one applies (mid-deploy), a second recover exits 75 naming it and touches nothing; the apply then ends with one deploy', async () => {
    const { fx, started, gate, file } = await gatedFixture();
    const applying = spawnKaizen(['propose', '--file', file, '--config', fx.configPath, '--by', 'ana'], {
      clock: 'system',
    });
    const exited = new Promise<number | null>((r) => applying.on('exit', (code) => r(code)));
    await until('the deploy to start', () => existsSync(started));

    const recover = await runKaizen(['recover', '--config', fx.configPath]);
    const doctor = await runKaizen(['doctor', '--config', fx.configPath]);

    expect(recover.code, describeRun(recover)).toBe(75);
    expect(recover.err).toMatch(
      new RegExp(
        `^kaizen: target app is busy: kaizen \\(pid ${applying.pid} on ${thisProcess().host.replaceAll('.', '\\.')}\\) is applying K0001 for ana since .*; nothing was changed: try again when it is done\\n$`,
      ),
    );
    expect(doctor.code, describeRun(doctor)).toBe(0);
    expect(doctor.out).toContain(
      `note: app: kaizen (pid ${applying.pid} on ${thisProcess().host}) is applying K0001`,
    );
    expect(fx.deploys()).toBe(0);

    writeFileSync(gate, '');
    expect(await exited).toBe(0);
    const rt = open(fx, new SystemClock());
    expect(rt.store.interventions.get('K0001').state).toBe('applied');
    expect(fx.deploys()).toBe(1);
    expect(rt.store.leases.list()).toEqual([]);
  });

  it('a holder killed mid-deploy (SIGKILL): the next recover takes its lease over and finishes the apply, with one deploy', async () => {
    const { fx, started, gate, file } = await gatedFixture();
    const applying = spawnKaizen(['propose', '--file', file, '--config', fx.configPath, '--by', 'ana'], {
      clock: 'system',
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => applying.on('exit', (_c, signal) => r(signal)));
    await until(
      'the deploy to start',
      () => existsSync(started) && readFileSync(started, 'utf8').trim() !== '',
    );
    const deployPid = Number(readFileSync(started, 'utf8').trim());

    applying.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    process.kill(-deployPid, 'SIGKILL'); // the deploy's own process group, waiting at the gate
    writeFileSync(gate, '');
    const recover = await runKaizen(['recover', '--config', fx.configPath]);

    expect(recover.code, describeRun(recover)).toBe(0);
    expect(recover.out).toBe('K0001 recovered: applied\n');
    expect(fx.deploys()).toBe(1);
    const rt = open(fx, new SystemClock());
    expect(eventsOf(rt, 'lease_taken_over').map((e) => e.data.pid)).toEqual([applying.pid]);
    expect(rt.store.leases.list()).toEqual([]);
  });

  it('20 people approve one item at once: one apply, one approved event, and 19 exit 13 naming who approved it', async () => {
    const fx = await fixtureWithPolicy();
    const rt = open(fx, new SystemClock());
    const { intervention: iv } = await submit(rt, WAITS);
    expect(iv.state).toBe('backlog');

    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runKaizen(['approve', iv.id, '--by', `person${i}`, '--config', fx.configPath], {
          timeoutMs: 120_000,
        }),
      ),
    );

    const winners = runs.filter((r) => r.code === 0);
    const losers = runs.filter((r) => r.code !== 0);
    expect(winners, runs.map(describeRun).join('\n---\n')).toHaveLength(1);
    const approved = eventsOf(rt, 'approved');
    expect(approved).toHaveLength(1);
    const winner = String(approved[0]!.data.by);
    expect(winners[0]!.out).toContain(iv.id);
    expect(losers.map((r) => r.code)).toEqual(Array(19).fill(13));
    for (const r of losers)
      expect(r.err).toMatch(
        new RegExp(
          `^kaizen: ${iv.id} (is already being applied \\(approved by ${winner} at .*\\)|was already approved by ${winner} at .* and is applied now; only backlog items can be approved)\\n$`,
        ),
      );
    expect(rt.store.interventions.get(iv.id).state).toBe('applied');
    expect(rt.store.interventions.history(iv.id).filter((h) => h.to === 'applying')).toHaveLength(1);
    expect(fx.deploys()).toBe(1);
    expect(fx.git('rev-list', '--count', '--grep', `Kaizen-Intervention: ${iv.id}`, 'HEAD')).toBe('1');
    expect((await runDoctor(rt)).problems).toEqual([]);
  }, 180_000);
});
