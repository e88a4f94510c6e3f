import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { applyIntervention, type ApplyLog } from '../src/apply/apply-intervention.js';
import { recoverInterrupted } from '../src/apply/recover.js';
import { SimulatedClock, SystemClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { submitProposal } from '../src/loop/submit.js';
import { git } from './helpers/git.js';
import { proposal, targetFixture, type TargetFixture } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';

const runtimes: Runtime[] = [];
const extraServers: Server[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) rt.close();
  for (const s of extraServers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

function open(fx: TargetFixture, clock: SimulatedClock | SystemClock = new SimulatedClock()): Runtime {
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

const remoteHead = (fx: TargetFixture) => fx.git('ls-remote', 'origin', 'main').split('\t')[0];

/** The reason of the last transition: what `kaizen show` prints for the outcome. */
const lastReason = (rt: Runtime, id: string) => rt.store.interventions.history(id).at(-1)!.reason;

const eventsOf = (rt: Runtime, kind: string) => rt.store.events.list({ kind, limit: 1000 });

/** A change that makes the deployed service answer 503, varied by `n` so dedup lets it through. */
const breaking = (n: number) => ({
  title: `Break health #${n}`,
  area: 'health',
  changes: [
    { kind: 'config_set', path: 'config.json', key: 'healthy', value: false },
    { kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 1000 + n },
  ],
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('apply: the happy path', () => {
  it('makes one commit touching only the changed file, with the why and the trailer, pushed and verified', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    const before = fx.git('rev-parse', 'HEAD');

    const { intervention: iv, apply } = await submit(rt);

    expect(apply?.outcome).toBe('applied');
    expect(iv.state).toBe('applied');
    const sha = iv.commitSha!;
    expect(sha).toBe(fx.git('rev-parse', 'HEAD'));
    expect(iv.preApplySha).toBe(before);
    expect(fx.git('rev-parse', `${sha}^`)).toBe(before);
    expect(fx.git('rev-list', '--count', `${before}..HEAD`)).toBe('1');
    expect(fx.git('show', '--name-only', '--format=', sha)).toBe('config.json');
    const message = fx.git('log', '-1', '--format=%B', sha);
    expect(message).toContain('kaizen: Enable the cache');
    expect(message).toContain('Every request misses the empty cache; 200 entries hold the hot keys.');
    expect(message).toContain('Predicted: latency_ms down by 30 %');
    expect(message).toMatch(new RegExp(`^Kaizen-Intervention: ${iv.id}$`, 'm'));
    expect(remoteHead(fx)).toBe(sha);
    expect(JSON.parse(readFileSync(path.join(fx.repo, 'deployed.json'), 'utf8'))).toMatchObject({
      cacheSize: 200,
    });
    expect((iv.applyLog as ApplyLog).health?.healthy).toBe(true);
    expect(fx.git('status', '--porcelain')).toBe('');
    expect(eventsOf(rt, 'applied').map((e) => e.data.commitSha)).toEqual([sha]);
  });
});

describe('apply: production lockdown', () => {
  it('refuses a dirty work tree: failed with drift naming the file, the modification untouched and not stashed', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    const mine = "export const greeting = 'hello, work in progress';\nexport const retries = 3;\n";
    fx.write('src/app.js', mine);
    const configBefore = fx.read('config.json');
    const head = fx.git('rev-parse', 'HEAD');

    const { intervention: iv, apply } = await submit(rt);

    expect(apply?.outcome).toBe('failed');
    expect(iv.state).toBe('failed');
    expect(lastReason(rt, iv.id)).toBe(
      'drift: the work tree has uncommitted changes (src/app.js); kaizen never stashes or discards them: commit or remove them, then approve again',
    );
    const drift = eventsOf(rt, 'drift');
    expect(drift).toHaveLength(1);
    expect(drift[0]!.interventionId).toBe(iv.id);
    expect(String(drift[0]!.data.drift)).toContain('src/app.js');
    expect(readFileSync(path.join(fx.repo, 'src/app.js'), 'utf8')).toBe(mine);
    expect(fx.read('config.json')).toBe(configBefore);
    expect(fx.git('stash', 'list')).toBe('');
    expect(fx.git('rev-parse', 'HEAD')).toBe(head);
    expect(fx.git('status', '--porcelain')).toBe('M src/app.js');
    expect(iv.commitSha).toBeNull();
  });

  it('refuses when HEAD moved after the proposal was made', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    const { intervention: pending } = await submit(rt, {}, { apply: false });
    expect(pending.state).toBe('applying');
    const base = fx.git('rev-parse', 'HEAD');
    fx.write('src/app.js', "export const greeting = 'hi';\nexport const retries = 3;\n");
    fx.git('commit', '-q', '-am', 'a person commits meanwhile');
    const moved = fx.git('rev-parse', 'HEAD');

    const result = await applyIntervention(rt, pending.id);

    expect(result.outcome).toBe('failed');
    expect(result.intervention.state).toBe('failed');
    expect(lastReason(rt, pending.id)).toBe(
      `drift: HEAD moved from ${base.slice(0, 7)} to ${moved.slice(0, 7)} since the proposal; approving it again re-checks it against the new HEAD`,
    );
    expect(fx.git('rev-parse', 'HEAD')).toBe(moved);
    expect(JSON.parse(fx.read('config.json'))).toMatchObject({ cacheSize: 0 });
    expect(eventsOf(rt, 'drift')).toHaveLength(1);
  });

  it('refuses when the repo is on another branch', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    const { intervention: pending } = await submit(rt, {}, { apply: false });
    fx.git('checkout', '-q', '-b', 'hotfix');

    const result = await applyIntervention(rt, pending.id);

    expect(result.outcome).toBe('failed');
    expect(lastReason(rt, pending.id)).toBe('drift: the repo is on branch hotfix, expected main');
    expect(fx.git('rev-parse', 'hotfix')).toBe(fx.git('rev-parse', 'main'));
    expect(fx.git('status', '--porcelain')).toBe('');
  });
});

describe('apply: rollback on a failed deploy', () => {
  it('reverts, pushes the revert, redeploys and records an incident with the deploy output', async () => {
    const fx = await targetFixture();
    const rt = open(fx, new SystemClock());
    const before = fx.git('rev-parse', 'HEAD');

    const { intervention: iv, apply } = await submit(rt, {
      title: 'Ship a deploy that refuses',
      area: 'deploy',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'deployFails', value: true }],
    });

    expect(apply?.outcome).toBe('rolled_back');
    expect(apply?.outcome === 'rolled_back' && apply.healthyAfter).toBe(true);
    expect(iv.state).toBe('rolled_back');
    const revert = iv.revertSha!;
    expect(revert).toBe(fx.git('rev-parse', 'HEAD'));
    expect(fx.git('rev-parse', `${revert}^`)).toBe(iv.commitSha);
    expect(fx.git('log', '-1', '--format=%B', revert)).toContain(`Kaizen-Revert-Of: ${iv.commitSha}`);
    expect(remoteHead(fx)).toBe(revert);
    expect(fx.read('config.json')).toBe(git(fx.repo, 'show', `${before}:config.json`) + '\n');
    const log = iv.applyLog as ApplyLog;
    expect(log.deploy?.ok).toBe(false);
    expect(log.deploy?.output).toContain('deploy: refusing: deployFails is set');
    expect(log.rollback?.reason).toBe('deploy failed: exit 1: deploy: refusing: deployFails is set');
    expect(log.rollback?.redeploy?.ok).toBe(true);
    expect(log.rollback?.health?.healthy).toBe(true);

    const [incident] = eventsOf(rt, 'rolled_back');
    expect(incident!.interventionId).toBe(iv.id);
    expect(incident!.data).toMatchObject({
      commitSha: iv.commitSha,
      rolledBackTo: before,
      revertSha: revert,
      failure: 'deploy failed: exit 1: deploy: refusing: deployFails is set',
      hypothesis: iv.proposal.hypothesis,
      healthyAfter: true,
    });
    expect(String(incident!.data.deployOutput)).toContain('deploy: refusing: deployFails is set');
    expect(incident!.data.timeToDetectMs).toBeGreaterThan(0);
    expect(incident!.data.timeToRollbackMs).toBeGreaterThan(0);
    expect(eventsOf(rt, 'escalation')).toHaveLength(0);
  });
});

describe('apply: the health boundary (attempts: 3)', () => {
  it('fail, fail, pass is healthy: applied after exactly 3 probes', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    fx.failNextProbes(2);
    const probesBefore = fx.probes();

    const { intervention: iv } = await submit(rt);

    expect(iv.state).toBe('applied');
    expect(fx.probes() - probesBefore).toBe(3);
    expect((iv.applyLog as ApplyLog).health?.attempts.map((a) => a.ok)).toEqual([false, false, true]);
  });

  it('fail, fail, fail is unhealthy: rolled back, and healthy again after the revert', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    fx.failNextProbes(3);
    const probesBefore = fx.probes();

    const { intervention: iv, apply } = await submit(rt);

    expect(iv.state).toBe('rolled_back');
    expect(apply?.outcome === 'rolled_back' && apply.healthyAfter).toBe(true);
    const log = iv.applyLog as ApplyLog;
    expect(log.health?.attempts.map((a) => a.ok)).toEqual([false, false, false]);
    expect(log.rollback?.reason).toBe(
      'health check failed: 3 of 3 probes failed; last: status 503, expected 200; status: "starting", expected "ok"',
    );
    expect(fx.probes() - probesBefore).toBe(4);
    expect(remoteHead(fx)).toBe(iv.revertSha);
  });

  it('a refused connection counts as a failed probe, and still unhealthy after the rollback escalates', async () => {
    const port = await closedPort();
    const fx = await targetFixture({
      target: {
        health: { url: `http://127.0.0.1:${port}/health`, attempts: 2, interval: '0s', timeout: '2s' },
      },
    });
    const rt = open(fx);

    const { intervention: iv, apply } = await submit(rt);

    expect(iv.state).toBe('rolled_back');
    expect(apply?.outcome === 'rolled_back' && apply.healthyAfter).toBe(false);
    const log = iv.applyLog as ApplyLog;
    expect(log.health?.attempts.map((a) => a.failure)).toEqual([
      'connection refused (ECONNREFUSED)',
      'connection refused (ECONNREFUSED)',
    ]);
    expect(log.rollback?.health?.healthy).toBe(false);
    const escalations = eventsOf(rt, 'escalation');
    expect(escalations).toHaveLength(1);
    expect(escalations[0]!.interventionId).toBe(iv.id);
    expect(escalations[0]!.data.why).toBe(
      'the target is still unhealthy after the rollback: a person is needed',
    );
    expect(eventsOf(rt, 'rolled_back')[0]!.data.healthyAfter).toBe(false);
  });

  it('a probe that times out counts as a failed probe', async () => {
    const hanging = createServer(() => {
      /* never answers */
    });
    extraServers.push(hanging);
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/health`;
    const fx = await targetFixture({
      target: { health: { url, attempts: 1, interval: '0s', timeout: '300ms' } },
    });
    const rt = open(fx);

    const { intervention: iv } = await submit(rt);

    expect(iv.state).toBe('rolled_back');
    const log = iv.applyLog as ApplyLog;
    expect(log.health?.attempts.map((a) => a.failure)).toEqual(['timed out after 300 ms']);
    expect(log.rollback?.reason).toBe(
      'health check failed: 1 of 1 probes failed; last: timed out after 300 ms',
    );
    expect(eventsOf(rt, 'escalation')).toHaveLength(1);
  });
});

describe('apply: three consecutive rollbacks freeze the area', () => {
  it('announces area_frozen exactly once, on the third, and the next proposal there waits', async () => {
    const fx = await targetFixture();
    const clock = new SimulatedClock();
    const rt = open(fx, clock);

    const states: string[] = [];
    for (const n of [1, 2, 3]) {
      const { intervention } = await submit(rt, breaking(n));
      states.push(intervention.state);
      await clock.advance(60_000);
    }
    const fourth = await submit(rt, breaking(4));

    expect(states).toEqual(['rolled_back', 'rolled_back', 'rolled_back']);
    const frozen = eventsOf(rt, 'area_frozen');
    expect(frozen).toHaveLength(1);
    expect(frozen[0]!.interventionId).toBe('K0003');
    expect(frozen[0]!.data).toMatchObject({ area: 'health', interventions: ['K0003', 'K0002', 'K0001'] });
    expect(fourth.intervention.state).toBe('backlog');
    expect(fourth.intervention.waitingReason).toMatch(
      /^freeze: area health is frozen until .* after 3 consecutive rollbacks \(K0003, K0002, K0001\)$/,
    );
    expect(eventsOf(rt, 'rolled_back')).toHaveLength(3);
  });
});

describe('apply: a push the remote refuses', () => {
  it('does not end applied, says why, and leaves the remote where it was', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    const hook = path.join(fx.remote, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "pushes are frozen today" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const remoteBefore = remoteHead(fx);

    const { intervention: iv, apply } = await submit(rt);

    expect(apply?.outcome).not.toBe('applied');
    expect(iv.state).toBe('rolled_back');
    expect(lastReason(rt, iv.id)).toMatch(/^push failed: /);
    expect(lastReason(rt, iv.id)).toContain('pre-receive hook declined');
    expect(remoteHead(fx)).toBe(remoteBefore);
    expect(iv.revertSha).toBe(fx.git('rev-parse', 'HEAD'));
    expect(fx.read('config.json')).toBe(git(fx.repo, 'show', `${remoteBefore}:config.json`) + '\n');
    expect(eventsOf(rt, 'applied')).toHaveLength(0);

    // Once the remote takes pushes again, the next change goes through: nothing was left stuck.
    rmSync(hook);
    const next = await submit(rt, {
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 300 }],
    });
    expect(next.intervention.state).toBe('applied');
    expect(remoteHead(fx)).toBe(next.intervention.commitSha);
  });
});

describe('apply: runbooks', () => {
  /** A policy that lets medium-risk runbooks run in area cache (it has a canary). */
  function runbookPolicy(): string {
    const file = path.join(tempDir('kaizen-policy-'), 'policy.yaml');
    writeFileSync(file, stringify({ canaryAreas: [{ area: 'cache', paths: ['config.json'] }] }));
    return file;
  }

  const node = process.execPath;
  const runbookProposal = (action: string) =>
    proposal({
      title: `Run ${action}`,
      kind: 'runbook',
      changes: [{ kind: 'runbook', action }],
      rollback: 'the declared inverse',
    });

  it('runs an allow-listed action without a commit', async () => {
    const fx = await targetFixture({
      target: {
        guardPolicy: runbookPolicy(),
        runbooks: {
          flush_cache: {
            command: [node, '-e', 'require("fs").writeFileSync("flushed","1")'],
            inverse: [node, '-e', 'require("fs").rmSync("flushed")'],
          },
        },
      },
    });
    const rt = open(fx);
    const head = fx.git('rev-parse', 'HEAD');

    const { intervention: iv } = await submitProposal(rt, {
      target: 'app',
      proposal: runbookProposal('flush_cache'),
      origin: 'test',
      actor: 'tester',
    });

    expect(iv.state).toBe('applied');
    expect(readFileSync(path.join(fx.repo, 'flushed'), 'utf8')).toBe('1');
    expect(fx.git('rev-parse', 'HEAD')).toBe(head);
    expect(remoteHead(fx)).toBe(head);
    expect(iv.commitSha).toBeNull();
    expect((iv.applyLog as ApplyLog).runbook?.exitCode).toBe(0);
  });

  it('runs the inverse when the action fails, and ends rolled_back', async () => {
    const fx = await targetFixture({
      target: {
        guardPolicy: runbookPolicy(),
        runbooks: {
          restart_worker: {
            command: [node, '-e', 'console.error("worker: restart refused"); process.exit(3)'],
            inverse: [node, '-e', 'require("fs").writeFileSync("inverse-ran","1")'],
          },
        },
      },
    });
    const rt = open(fx);
    const head = fx.git('rev-parse', 'HEAD');

    const { intervention: iv, apply } = await submitProposal(rt, {
      target: 'app',
      proposal: runbookProposal('restart_worker'),
      origin: 'test',
      actor: 'tester',
    });

    expect(iv.state).toBe('rolled_back');
    expect(apply?.outcome === 'rolled_back' && apply.healthyAfter).toBe(true);
    expect(lastReason(rt, iv.id)).toBe('runbook restart_worker failed (exit 3): worker: restart refused');
    expect(existsSync(path.join(fx.repo, 'inverse-ran'))).toBe(true);
    const log = iv.applyLog as ApplyLog;
    expect(log.rollback?.inverse?.exitCode).toBe(0);
    expect(fx.git('rev-parse', 'HEAD')).toBe(head);
    expect(eventsOf(rt, 'rolled_back')[0]!.data.failure).toBe(
      'runbook restart_worker failed (exit 3): worker: restart refused',
    );
  });
});

describe('apply: a remote that takes the change but refuses the revert', () => {
  it('rolls back the work tree and the deploy, ends rolled_back, and escalates because the remote still has the change', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    // Accept the first push (the change), refuse every later one (the revert).
    const hook = path.join(fx.remote, 'hooks', 'pre-receive');
    const marker = path.join(fx.dir, 'pushed-once');
    writeFileSync(
      hook,
      `#!/bin/sh\nif [ -e "${marker}" ]; then echo "no more pushes" >&2; exit 1; fi\ntouch "${marker}"\n`,
    );
    chmodSync(hook, 0o755);

    const { intervention: iv } = await submit(rt, breaking(1));

    expect(iv.state).toBe('rolled_back');
    expect(remoteHead(fx)).toBe(iv.commitSha);
    expect(fx.git('rev-parse', 'HEAD')).toBe(iv.revertSha);
    const escalation = eventsOf(rt, 'escalation');
    expect(escalation).toHaveLength(1);
    expect(String(escalation[0]!.data.why)).toMatch(
      /^the revert could not be pushed \(.*no more pushes.*\): the remote still has the change; kaizen recover pushes the revert when the remote takes it$/s,
    );
    expect(rt.store.interventions.list({ states: ['applying'] })).toHaveLength(0);

    // Once the remote takes pushes again, recovery pushes the revert that was left pending.
    rmSync(hook);
    const report = await recoverInterrupted(rt);
    expect(report.pushes).toEqual([
      {
        interventionId: iv.id,
        outcome: 'pushed',
        detail: `pushed the revert ${iv.revertSha!.slice(0, 7)} to origin/main`,
      },
    ]);
    expect(remoteHead(fx)).toBe(iv.revertSha);
    expect((await recoverInterrupted(rt)).pushes).toEqual([]);
  });
});

describe('apply: a proposal with its own validation window', () => {
  it('stores the window in milliseconds and reads the intervention back intact', async () => {
    const fx = await targetFixture();
    const rt = open(fx);

    const { intervention: iv } = await submit(rt, { validationWindow: '2h' });

    expect(iv.state).toBe('applied');
    expect(iv.windowMs).toBe(7_200_000);
    expect(rt.store.interventions.get(iv.id).proposal.validationWindow).toBe(7_200_000);
    expect(rt.store.interventions.list()).toHaveLength(1);
  });
});

describe('apply: recovering a crash between kaizen’s own git add and its commit', () => {
  it('restores the file and unstages it, so nobody commits the change without its trailer', async () => {
    const fx = await targetFixture();
    const rt = open(fx);
    const { intervention: iv } = await submit(rt, {}, { apply: false });
    const original = fx.read('config.json');
    const changed = original.replace('"cacheSize": 0', '"cacheSize": 200');
    // What a run that died right after staging leaves behind: its intent, the file written and staged.
    rt.store.intents.begin(iv.id, 'write', rt.clock.now(), {
      edits: [
        { rel: 'config.json', abs: path.join(fx.repo, 'config.json'), before: original, after: changed },
      ],
    });
    fx.write('config.json', changed);
    fx.git('add', 'config.json');

    const {
      recovered: [result],
    } = await recoverInterrupted(rt);

    expect(result?.outcome).toBe('failed');
    expect(fx.read('config.json')).toBe(original);
    expect(fx.git('status', '--porcelain')).toBe('');
    expect(fx.git('log', '--oneline')).toBe(fx.git('log', '--oneline', 'origin/main'));
  });
});
