import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../src/guard/checks/index.js';
import { stringify } from 'yaml';
import { runCli, type CliResult } from './helpers/cli.js';
import { proposal, targetFixture, type TargetFixture } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';

/*
 * The safety commands through the real CLI entry point, in-process (the fixture's health server
 * must keep answering while a command deploys and probes).
 */

/** Every check of the registry, in the order the gate runs them. */
const GUARD_CHECKS = CHECKS.map((c) => c.id);

/** Run a command against the fixture's config as the person "tester". */
function kaizen(fx: TargetFixture, ...args: string[]): Promise<CliResult> {
  return runCli(...args, '--config', fx.configPath);
}

/** Write a proposal file (JSON or YAML by extension) next to the fixture. */
function proposalFile(fx: TargetFixture, name: string, overrides: Record<string, unknown> = {}): string {
  const file = path.join(fx.dir, name);
  const data = proposal(overrides);
  writeFileSync(file, name.endsWith('.json') ? JSON.stringify(data, null, 2) : stringify(data));
  return file;
}

const sha7 = (fx: TargetFixture, rev = 'HEAD') => fx.git('rev-parse', '--short=7', rev);

/** A medium-risk change: medium as proposed. Without a canary for its area it waits. */
const medium = {
  title: 'Bigger cache',
  area: 'cache',
  risk: 'medium',
  changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 500 }],
};

describe('kaizen propose --file', () => {
  it('applies a JSON and a YAML proposal and prints each with its commit', async () => {
    const fx = await targetFixture();

    const json = await kaizen(fx, 'propose', '--file', proposalFile(fx, 'cache.json'), '--by', 'tester');
    const jsonCommit = sha7(fx);
    const yaml = await kaizen(
      fx,
      'propose',
      '--file',
      proposalFile(fx, 'threads.yaml', {
        title: 'More worker threads',
        area: 'worker',
        changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'worker.threads', value: 4 }],
      }),
      '--by',
      'tester',
    );

    expect(json).toEqual({
      code: 0,
      out:
        'K0001 Enable the cache\n' +
        '  guard: pass (risk low; claimed low)\n' +
        `  applied: commit ${jsonCommit}; validation window 1h\n` +
        '  state: applied   (kaizen show K0001)\n',
      err: '',
    });
    expect(yaml.code).toBe(0);
    expect(yaml.out).toContain('K0002 More worker threads');
    expect(yaml.out).toContain(`  applied: commit ${sha7(fx)}; validation window 1h`);
    expect(fx.read('app/settings.yaml')).toContain('threads: 4');
    expect(fx.read('app/settings.yaml')).toContain('# how often the worker polls, in ms');
    expect(fx.git('log', '--format=%s', '-3').split('\n')).toEqual([
      'kaizen: More worker threads',
      'kaizen: Enable the cache',
      'initial',
    ]);
  });

  it('refuses a file that is missing, not JSON, or not a valid proposal, and says what is wrong', async () => {
    const fx = await targetFixture();
    const missing = path.join(fx.dir, 'nope.json');
    const notJson = path.join(fx.dir, 'broken.json');
    writeFileSync(notJson, '{ "title": "half a file"');
    const invalid = path.join(fx.dir, 'invalid.yaml');
    const bad = proposal({
      risk: 'tiny',
      area: 'Cache!',
      prediction: { signal: 'latency_ms', direction: 'sideways', magnitude: 0.3 },
    });
    writeFileSync(invalid, stringify({ ...bad, sneaky: true }));
    const unknownSignal = proposalFile(fx, 'signal.json', {
      prediction: { signal: 'cpu_load', direction: 'down', magnitude: 0.3 },
    });

    const r1 = await kaizen(fx, 'propose', '--file', missing, '--by', 'tester');
    const r2 = await kaizen(fx, 'propose', '--file', notJson, '--by', 'tester');
    const r3 = await kaizen(fx, 'propose', '--file', invalid, '--by', 'tester');
    const r4 = await kaizen(fx, 'propose', '--file', unknownSignal, '--by', 'tester');

    expect(r1).toEqual({ code: 64, out: '', err: `kaizen: --file ${missing}: no such file\n` });
    expect(r2.code).toBe(64);
    expect(r2.err).toMatch(new RegExp(`^kaizen: --file ${notJson}: not valid JSON: .+\\n$`));
    expect(r3).toEqual({
      code: 65,
      out: '',
      err:
        `kaizen: --file ${invalid}: the proposal is invalid: ` +
        'area: expected an area name of lower-case letters, digits, "_" or "-"; ' +
        'prediction.direction: Invalid option: expected one of "up"|"down"; ' +
        'risk: Invalid option: expected one of "low"|"medium"|"high"; ' +
        'unknown field(s) "sneaky"\n',
    });
    expect(r4).toEqual({
      code: 65,
      out: '',
      err: `kaizen: --file ${unknownSignal}: the proposal is invalid: prediction.signal: no signal "cpu_load" in this target (signals: latency_ms, error_rate)\n`,
    });
    // Nothing was recorded and nothing was committed.
    expect((await kaizen(fx, 'backlog', '--json')).out).toBe('[]\n');
    expect(fx.git('log', '--format=%s')).toBe('initial');
  });
});

describe('kaizen backlog', () => {
  it('shows a proposal blocked on a missing canary, and how long it has waited', async () => {
    const fx = await targetFixture();
    const proposed = await kaizen(
      fx,
      'propose',
      '--file',
      proposalFile(fx, 'medium.json', medium),
      '--by',
      'tester',
    );

    const table = await kaizen(fx, 'backlog');
    const json = await kaizen(fx, 'backlog', '--json');

    expect(proposed.code).toBe(11);
    expect(proposed.out).toContain('  guard: defer (risk medium; claimed medium)');
    expect(proposed.out).toContain(
      '    - canary: blocked on missing canary: medium risk (as proposed) and area cache has no canary (canaryAreas)',
    );
    expect(proposed.out).toContain('  state: backlog');
    expect(table.code).toBe(0);
    const [header, row, blank, hint] = table.out.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+TARGET\s+AREA\s+RISK\s+WAITING\s+EXPIRES IN\s+TITLE\s+WHY IT WAITS$/);
    expect(row).toMatch(
      /^K0001\s+app\s+cache\s+medium\s+\d+(\.\d)?(ms|s)\s+(14\.0d|13\.\dd|14d)\s+Bigger cache\s+canary: blocked on missing canary: medium risk \(as proposed\) and area cache has no canary \(canaryAreas\)$/,
    );
    expect(blank).toBe('');
    expect(hint).toBe('approve with "kaizen approve ID", reject with "kaizen reject ID --why ..."');
    const items = JSON.parse(json.out) as { id: string; why: string; waitingSince: number; risk: string }[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id: 'K0001',
      target: 'app',
      area: 'cache',
      risk: 'medium',
      title: 'Bigger cache',
    });
    expect(items[0]!.why).toContain('blocked on missing canary');
    expect(items[0]!.waitingSince).toBeLessThanOrEqual(Date.now());
    expect(fx.git('log', '--format=%s')).toBe('initial');
  });

  it('says so when the backlog is empty', async () => {
    const fx = await targetFixture();

    expect(await kaizen(fx, 'backlog')).toEqual({ code: 0, out: 'the backlog is empty\n', err: '' });
  });
});

describe('kaizen approve and reject', () => {
  it('approving re-guards: a medium change in a canary area applies once a person approves (approvalFrom: medium)', async () => {
    const policy = path.join(tempDir('kaizen-policy-'), 'policy.yaml');
    writeFileSync(
      policy,
      stringify({ approvalFrom: 'medium', canaryAreas: [{ area: 'cache', paths: ['config.json'] }] }),
    );
    const fx = await targetFixture({ target: { guardPolicy: policy } });
    const proposed = await kaizen(
      fx,
      'propose',
      '--file',
      proposalFile(fx, 'medium.json', medium),
      '--by',
      'tester',
    );
    expect(proposed.out).toContain('    - approval: needs approval: medium risk (approvalFrom: medium)');

    const approved = await kaizen(fx, 'approve', 'K0001', '--by', 'tester');
    const again = await kaizen(fx, 'approve', 'K0001', '--by', 'tester');
    const unknown = await kaizen(fx, 'approve', 'K0042', '--by', 'tester');
    const show = await kaizen(fx, 'show', 'K0001');

    expect(approved.code).toBe(0);
    expect(approved.out).toBe(
      'K0001 Bigger cache\n' +
        '  guard: pass (risk medium; claimed medium)\n' +
        `  applied: commit ${sha7(fx)}; validation window 1h\n` +
        '  state: applied   (kaizen show K0001)\n',
    );
    expect(JSON.parse(fx.read('config.json'))).toMatchObject({ cacheSize: 500 });
    expect(again).toEqual({
      code: 13,
      out: '',
      err: expect.stringMatching(
        /^kaizen: K0001 was already approved by tester at \d{4}-\d\d-\d\d \d\d:\d\d UTC and is applied now; only backlog items can be approved\n$/,
      ),
    });
    expect(unknown).toEqual({
      code: 66,
      out: '',
      err: 'kaizen: no intervention K0042; "kaizen backlog" and "kaizen status" list them\n',
    });
    expect(show.out).toMatch(/ pass {3}approval {5}approved by tester$/m);
    expect(show.out).toMatch(/ pass {3}canary {7}medium risk; config.json is behind area cache's canary$/m);
    expect(show.out).toMatch(/proposed {4}→ backlog {6}by kaizen: approval: needs approval/);
    expect(show.out).toMatch(/backlog {5}→ applying {5}by tester: every guard check passed$/m);
    expect(show.out).toMatch(/applying {4}→ applied {6}by kaizen: committed [0-9a-f]{7} and healthy$/m);
    expect(show.out).toMatch(/\nevents\n(.*\n)*.*Z {2}approved\n/);
  });

  it('an approved change that still waits (no canary) stays in the backlog with its reason', async () => {
    const fx = await targetFixture();
    await kaizen(fx, 'propose', '--file', proposalFile(fx, 'medium.json', medium), '--by', 'tester');

    const approved = await kaizen(fx, 'approve', 'K0001', '--by', 'tester');

    expect(approved.code).toBe(11);
    expect(approved.out).toContain('  guard: defer (risk medium; claimed medium)');
    expect(approved.out).toContain('blocked on missing canary');
    expect(approved.out).toContain('  state: backlog');
    expect(fx.git('log', '--format=%s')).toBe('initial');
  });

  it('reject --why records who and why; without --why it is a usage error', async () => {
    const fx = await targetFixture();
    await kaizen(fx, 'propose', '--file', proposalFile(fx, 'medium.json', medium), '--by', 'tester');

    const noWhy = await kaizen(fx, 'reject', 'K0001', '--by', 'tester');
    const blankWhy = await kaizen(fx, 'reject', 'K0001', '--why', '   ', '--by', 'tester');
    const rejected = await kaizen(
      fx,
      'reject',
      'K0001',
      '--why',
      'the cache is being redesigned',
      '--by',
      'tester',
    );
    const twice = await kaizen(fx, 'reject', 'K0001', '--why', 'again', '--by', 'tester');
    const show = await kaizen(fx, 'show', 'K0001');
    const backlog = await kaizen(fx, 'backlog');

    expect(noWhy.code).toBe(64);
    expect(noWhy.err).toContain("error: required option '--why <reason>' not specified");
    expect(blankWhy).toEqual({
      code: 64,
      out: '',
      err: 'kaizen: say why with --why "..." (it is kept with the intervention and read by the distiller)\n',
    });
    expect(rejected).toEqual({
      code: 0,
      out: 'K0001 rejected by tester: the cache is being redesigned\n',
      err: '',
    });
    expect(twice).toEqual({
      code: 13,
      out: '',
      err: 'kaizen: intervention K0001 is rejected; only backlog items can be rejected\n',
    });
    expect(show.out).toContain('state     rejected');
    expect(show.out).toMatch(/backlog {5}→ rejected {5}by tester: the cache is being redesigned$/m);
    expect(backlog.out).toBe('the backlog is empty\n');
  });
});

describe('kaizen revert', () => {
  it('reverts an applied change with a revert commit, pushed, and show lists it', async () => {
    const fx = await targetFixture();
    await kaizen(fx, 'propose', '--file', proposalFile(fx, 'cache.json'), '--by', 'tester');
    const commit = sha7(fx);

    const noWhy = await kaizen(fx, 'revert', 'K0001', '--by', 'tester');
    const reverted = await kaizen(
      fx,
      'revert',
      'K0001',
      '--why',
      'p99 doubled on the dashboard',
      '--by',
      'tester',
    );
    const revert = sha7(fx);
    const twice = await kaizen(fx, 'revert', 'K0001', '--why', 'again', '--by', 'tester');
    const show = await kaizen(fx, 'show', 'K0001');

    expect(noWhy.code).toBe(64);
    expect(noWhy.err).toContain("error: required option '--why <reason>' not specified");
    expect(reverted).toEqual({
      code: 0,
      out: `K0001 reverted by tester: commit ${commit} undone by ${revert}; the target is healthy\n`,
      err: '',
    });
    expect(fx.git('log', '-1', '--format=%B')).toContain('p99 doubled on the dashboard');
    expect(fx.git('ls-remote', 'origin', 'main').slice(0, 7)).toBe(revert);
    expect(JSON.parse(fx.read('config.json'))).toMatchObject({ cacheSize: 0 });
    expect(twice).toEqual({
      code: 13,
      out: '',
      err: 'kaizen: intervention K0001 is reverted; only applied, validated, no_effect or inconclusive interventions can be reverted\n',
    });
    expect(show.out).toContain(`commit ${commit}   revert ${revert}`);
    expect(show.out).toMatch(/applied {5}→ reverted {5}by tester: p99 doubled on the dashboard$/m);
  });
});

describe('kaizen show', () => {
  it('shows the whole decision chain: hypothesis, every guard check, SHAs, deploy output, history with actors', async () => {
    const fx = await targetFixture();
    const base = sha7(fx);
    await kaizen(
      fx,
      'propose',
      '--file',
      proposalFile(fx, 'cache.json', { trigger: 'latency alert' }),
      '--by',
      'tester',
    );
    const commit = sha7(fx);

    const show = await kaizen(fx, 'show', 'K0001');
    const json = await kaizen(fx, 'show', 'K0001', '--json');
    const missing = await kaizen(fx, 'show', 'K0009');

    expect(show.code).toBe(0);
    const out = show.out;
    expect(out).toMatch(/^K0001 {2}Enable the cache\nstate {5}applied\n/);
    expect(out).toContain('origin    tester   trigger: latency alert');
    expect(out).toContain(
      'hypothesis\n  Every request misses the empty cache; 200 entries hold the hot keys.',
    );
    expect(out).toContain('prediction  latency_ms down by 30 %');
    expect(out).toContain('  set config.json cacheSize = 200');
    for (const check of GUARD_CHECKS) expect(out).toMatch(new RegExp(`^  pass {3}${check}\\b`, 'm'));
    expect(out).toContain(`  base ${base}   pre-apply ${base}   commit ${commit}   revert -`);
    expect(out).toContain(
      '  deploy: ok (exit 0) — deploy: shipped config {"cacheSize":200,"healthy":true,"deployFails":false}',
    );
    expect(out).toContain('  health: healthy after 1 probe(s)');
    expect(out).toMatch(/-\s+→ proposed {5}by tester: proposed by tester$/m);
    expect(out).toMatch(/proposed {4}→ applying {5}by kaizen: every guard check passed$/m);
    expect(out).toMatch(/applying {4}→ applied {6}by kaizen: committed [0-9a-f]{7} and healthy$/m);
    expect(out).toMatch(/Z {2}applied$/m);

    const data = JSON.parse(json.out) as {
      id: string;
      state: string;
      commitSha: string;
      preApplySha: string;
      proposal: { hypothesis: string };
      guard: { checks: { check: string }[] };
      applyLog: { deploy: { output: string } };
      history: { to: string; actor: string }[];
      events: { kind: string }[];
    };
    expect(data.id).toBe('K0001');
    expect(data.state).toBe('applied');
    expect(data.commitSha).toBe(fx.git('rev-parse', 'HEAD'));
    expect(data.preApplySha).toBe(fx.git('rev-parse', 'HEAD^'));
    expect(data.proposal.hypothesis).toContain('Every request misses the empty cache');
    expect(data.guard.checks.map((c) => c.check)).toEqual(GUARD_CHECKS);
    expect(data.applyLog.deploy.output).toContain('deploy: shipped config');
    expect(data.history.map((h) => [h.to, h.actor])).toEqual([
      ['proposed', 'tester'],
      ['applying', 'kaizen'],
      ['applied', 'kaizen'],
    ]);
    expect(data.events.map((e) => e.kind)).toEqual(['applied']);
    expect(missing).toEqual({
      code: 66,
      out: '',
      err: 'kaizen: no intervention K0009; "kaizen backlog" and "kaizen status" list them\n',
    });
  });

  it('shows a rollback with the deploy output that caused it', async () => {
    const fx = await targetFixture();
    await kaizen(
      fx,
      'propose',
      '--file',
      proposalFile(fx, 'bad.json', {
        title: 'Refusing deploy',
        area: 'deploy',
        changes: [{ kind: 'config_set', path: 'config.json', key: 'deployFails', value: true }],
      }),
      '--by',
      'tester',
    );

    const show = await kaizen(fx, 'show', 'K0001');

    expect(show.out).toContain('state     rolled_back');
    expect(show.out).toContain('  deploy: FAILED (exit 1) — deploy: refusing: deployFails is set');
    expect(show.out).toContain('  rollback: deploy failed: exit 1: deploy: refusing: deployFails is set');
    expect(show.out).toMatch(/ {4}redeploy: ok — deploy: shipped config/);
    expect(show.out).toContain('    health after: healthy');
    expect(show.out).toContain(`revert ${sha7(fx)}`);
    expect(show.out).toMatch(/Z {2}rolled_back$/m);
  });
});

describe('a session at the CLI ends with doctor clean', () => {
  it('propose, backlog, reject, approve, revert, validate, recover, then doctor finds nothing wrong', async () => {
    const policy = path.join(tempDir('kaizen-policy-'), 'policy.yaml');
    writeFileSync(policy, stringify({ canaryAreas: [{ area: 'worker', paths: ['app/settings.yaml'] }] }));
    const fx = await targetFixture({ target: { guardPolicy: policy } });
    const by = ['--by', 'tester'];

    expect((await kaizen(fx, 'propose', '--file', proposalFile(fx, 'a.json'), ...by)).out).toContain(
      'state: applied',
    );
    expect((await kaizen(fx, 'propose', '--file', proposalFile(fx, 'b.yaml', medium), ...by)).out).toContain(
      'state: backlog',
    );
    expect((await kaizen(fx, 'reject', 'K0002', '--why', 'not now', ...by)).code).toBe(0);
    const worker = {
      ...medium,
      title: 'Threads',
      area: 'worker',
      changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'worker.threads', value: 3 }],
    };
    expect((await kaizen(fx, 'propose', '--file', proposalFile(fx, 'c.json', worker), ...by)).out).toContain(
      'state: applied',
    );
    const bad = {
      title: 'Break',
      area: 'health',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'healthy', value: false }],
    };
    // Two slots are in use (maxConcurrent 2): the third waits, a person reverts one, then approves it.
    expect((await kaizen(fx, 'propose', '--file', proposalFile(fx, 'd.json', bad), ...by)).out).toContain(
      'concurrency: concurrency limit: 2 of 2',
    );
    expect((await kaizen(fx, 'revert', 'K0001', '--why', 'made room', ...by)).code).toBe(0);
    expect((await kaizen(fx, 'approve', 'K0004', ...by)).out).toContain('ROLLED BACK');
    expect(await kaizen(fx, 'validate')).toEqual({
      code: 0,
      out: 'no validation window has ended yet\n',
      err: '',
    });
    expect(await kaizen(fx, 'validate', '--json')).toEqual({ code: 0, out: '[]\n', err: '' });
    expect(await kaizen(fx, 'recover')).toEqual({
      code: 0,
      out: 'nothing to recover: no apply was interrupted\n',
      err: '',
    });

    const doctor = await kaizen(fx, 'doctor');

    expect(doctor).toEqual({ code: 0, out: 'doctor: all invariants hold over 4 intervention(s)\n', err: '' });
    expect(JSON.parse((await kaizen(fx, 'doctor', '--json')).out)).toEqual({
      checked: 4,
      problems: [],
      notes: [],
    });
  });
});

describe('--help', () => {
  it.each(['propose', 'backlog', 'approve', 'reject', 'revert', 'show', 'validate', 'recover', 'doctor'])(
    'kaizen %s --help prints its usage and exits 0',
    async (command) => {
      const r = await runCli(command, '--help');

      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: kaizen ${command} `));
      expect(r.out).toContain('-c, --config <file>');
      expect(r.err).toBe('');
    },
  );
});
