import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { distill } from '../src/learn/distill/run.js';
import { loadLessons } from '../src/learn/lesson-files.js';
import type { State } from '../src/loop/states.js';
import { proposeCycle } from '../src/propose/cycle.js';
import { fingerprint, Proposal } from '../src/propose/proposal.js';
import { runCliAt, spawnCli } from './helpers/cli.js';
import { reply, startFakeLlm, type FakeLlm } from './helpers/fake-llm.js';
import { proposal, targetFixture } from './helpers/target.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const runtimes: Runtime[] = [];
const llms: FakeLlm[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) rt.close();
  for (const l of llms.splice(0)) await l.close();
});

async function scene(config: Record<string, unknown> = {}) {
  const fx = await targetFixture({ config: { lessonsDir: 'lessons', ...config } });
  const clock = new SimulatedClock('2026-11-02T12:00:00Z');
  const rt = fx.runtime(clock);
  runtimes.push(rt);
  rt.store.catalog.sync(rt.config.targets[0]!, clock.now());

  /** An intervention that ran its course to `end`, each step an hour apart, through the real state machine. */
  const finish = async (
    end: State,
    overrides: Record<string, unknown> = {},
    magnitude = 0.4,
  ): Promise<string> => {
    const p = Proposal.parse(proposal(overrides));
    const s = rt.store.interventions;
    const iv = s.create(
      {
        target: 'app',
        proposal: p,
        fingerprint: fingerprint(p),
        origin: 'rules',
        baseSha: null,
        actor: 'kaizen',
        reason: 'test',
      },
      clock.now(),
    );
    s.transition(iv.id, 'applying', clock.now(), 'kaizen', 'guard passed', {
      guard: {
        decision: 'pass',
        checks: [
          { check: 'path', decision: 'pass', reason: 'ok' },
          { check: 'kind', decision: 'pass', reason: 'ok' },
        ],
      },
    });
    await clock.advance(HOUR);
    if (end === 'rolled_back') {
      s.transition(iv.id, 'rolled_back', clock.now(), 'kaizen', 'health failed', {
        applyLog: {
          rollback: {
            reason: 'health probe failed 3 times: GET /health → 500 {"ok":false}',
            detectedAt: clock.now(),
          },
        },
      });
      return iv.id;
    }
    s.transition(iv.id, 'applied', clock.now(), 'kaizen', 'healthy', {
      appliedAt: clock.now(),
      windowMs: HOUR,
    });
    await clock.advance(HOUR);
    s.transition(iv.id, end as State, clock.now(), 'kaizen', `validation: ${end}`, {
      verdict: {
        outcome: end,
        reason: `the median moved ${end === 'validated' ? 'as predicted' : 'too little'}`,
        actual: { magnitude: end === 'validated' ? magnitude : 0.01, direction: 'down', better: true },
        pValue: { predicted: 0.001, twoSided: 0.002 },
        baseline: { median: 42 },
      },
    });
    return iv.id;
  };
  return { fx, rt, clock, finish };
}

const lessonFiles = (rt: Runtime) =>
  readdirSync(rt.config.lessonsDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
const readLesson = (rt: Runtime, id: string) =>
  parse(readFileSync(path.join(rt.config.lessonsDir, `${id}.yaml`), 'utf8')) as Record<string, unknown>;

describe('the distiller without a model', () => {
  it('turns weeks of outcomes into lessons with evidence, retires falsified ones, and the next proposer context carries them', async () => {
    const s = await scene();
    const env = {};

    // Week 1: the cache change validates.
    const k1 = await s.finish('validated');
    await s.clock.advance(DAY);
    const w1 = await distill({ ...s.rt, env });
    expect(w1.mode).toBe('rules');
    expect(w1.reviewed).toEqual([{ intervention: k1, state: 'validated' }]);
    expect(w1.created).toHaveLength(1);
    const worked = w1.created[0]!;
    expect(readLesson(s.rt, worked)).toMatchObject({
      id: worked,
      scope: 'cache',
      source: 'distilled',
      status: 'active',
      evidence: [k1],
      signals: ['latency_ms'],
      areas: ['cache'],
      created_at: '2026-11-03',
      prefer: `Enable the cache (a config_set change to config.json), as ${k1} did`,
    });
    expect(String(readLesson(s.rt, worked).because)).toContain(
      'Validated: latency_ms went down by 40 % against a predicted 30 % (p = 0.0020).',
    );

    // The same night again: nothing new finished, nothing written twice.
    const again = await distill({ ...s.rt, env });
    expect(again.reviewed).toEqual([]);
    expect(lessonFiles(s.rt)).toEqual([`${worked}.yaml`]);

    // Week 2: three runbook changes in area workers fail, and a config change breaks health.
    await s.clock.advance(6 * DAY);
    const workers = {
      area: 'workers',
      kind: 'runbook',
      changes: [{ kind: 'runbook', action: 'restart_workers' }],
      prediction: { signal: 'queue_depth', direction: 'down', magnitude: 0.5 },
    };
    const fails = [
      await s.finish('no_effect', { ...workers, title: 'Restart the workers' }),
      await s.finish('reverted', { ...workers, title: 'Restart the workers again' }),
      await s.finish('no_effect', { ...workers, title: 'Restart the workers once more' }),
    ];
    const broke = await s.finish('rolled_back', {
      title: 'Shrink the pool',
      area: 'pool',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'pool', value: 'small' }],
    });
    await s.clock.advance(DAY);
    const w2 = await distill({ ...s.rt, env });
    expect(w2.reviewed.map((r) => r.intervention)).toEqual([...fails, broke]);
    expect(w2.created).toHaveLength(2);
    const avoid = loadLessons(s.rt.config).lessons.find((l) => l.scope === 'workers')!;
    expect(avoid).toMatchObject({
      when: 'a runbook change is proposed in area workers of app',
      evidence: fails,
      because: `in area workers, runbook changes were undone 3 times (2 no_effect, 1 reverted): ${fails[0]} no_effect, ${fails[1]} reverted, ${fails[2]} no_effect`,
    });
    const escaped = loadLessons(s.rt.config).lessons.find((l) => l.scope === 'pool')!;
    expect(escaped.because).toBe(
      `${broke} ("Shrink the pool") passed every guard check and then failed in production: health probe failed 3 times: GET /health → 500 {"ok":false}`,
    );
    expect(w2.escapedDefects).toEqual([
      expect.objectContaining({ intervention: fails[1], state: 'reverted' }),
      expect.objectContaining({ intervention: broke, state: 'rolled_back', passedChecks: ['path', 'kind'] }),
    ]);

    // Week 3: two changes that followed the cache lesson end without effect: it is falsified.
    await s.clock.advance(6 * DAY);
    const followers = [
      await s.finish('no_effect', {
        title: 'Bigger cache',
        citesLessons: [worked],
        changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 400 }],
      }),
      await s.finish('no_effect', {
        title: 'Even bigger cache',
        citesLessons: [worked],
        changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 800 }],
      }),
    ];
    await s.clock.advance(DAY);
    const w3 = await distill({ ...s.rt, env });
    expect(w3.retired).toEqual([
      {
        id: worked,
        why: `falsified: ${followers[0]} followed it and ended no_effect; ${followers[1]} followed it and ended no_effect`,
      },
    ]);
    expect(readLesson(s.rt, worked)).toMatchObject({ status: 'retired', retired_at: '2026-11-18' });
    expect(s.rt.store.lessons.get(worked)?.lesson.status).toBe('retired');

    // The next proposer context has the active distilled lessons, not the retired one.
    const next = await proposeCycle({ ...s.rt, env }, s.rt.config.targets[0]!, { dryRun: true });
    const lessonsSection = next.prompt!.text.split('## Lessons that match')[1]!.split('\n## ')[0]!;
    expect(lessonsSection).toContain(avoid.id);
    expect(lessonsSection).toContain(escaped.id);
    expect(lessonsSection).not.toContain(worked);
  });

  it('gives the same pattern distilled on two systems two ids, so neither refuses the other’s as taken', async () => {
    const a = await scene();
    const b = await scene();
    await a.finish('validated');
    await b.finish('validated');
    await a.clock.advance(DAY);
    await b.clock.advance(DAY);

    const [fromA] = (await distill({ ...a.rt, env: {} })).created;
    const [fromB] = (await distill({ ...b.rt, env: {} })).created;

    expect(readLesson(a.rt, fromA!).when).toBe(readLesson(b.rt, fromB!).when);
    expect(fromA).toMatch(/^D-[0-9a-f]{8}$/);
    expect(fromB).toMatch(/^D-[0-9a-f]{8}$/);
    expect(fromA).not.toBe(fromB);
  });

  it('kaizen distill prints what it learnt', async () => {
    const s = await scene();
    const k1 = await s.finish('validated');
    const r = await runCliAt(s.clock, 'distill', '-c', s.rt.config.configPath);
    expect(r.err).toBe('');
    expect(r.out).toMatch(
      new RegExp(
        `^distill run 1: 1 intervention\\(s\\) finished so far reviewed \\(rules\\)\\n  new lessons: D-[0-9a-f]{8}\\n$`,
      ),
    );
    expect(r.out).not.toContain(k1); // ids of lessons, not of interventions
    const second = await runCliAt(s.clock, 'distill', '-c', s.rt.config.configPath);
    expect(second.out).toMatch(
      /^distill run 2: 0 intervention\(s\) finished since .* reviewed \(rules\)\n {2}nothing new to learn\n$/,
    );
  });

  it('resumes a run killed halfway: every lesson once, none lost', async () => {
    const s = await scene();
    await s.finish('validated');
    const workers = {
      area: 'workers',
      kind: 'runbook',
      changes: [{ kind: 'runbook', action: 'restart_workers' }],
    };
    for (let i = 0; i < 3; i++) await s.finish('no_effect', { ...workers, title: `Restart ${i}` });
    const c = ['distill', '-c', s.rt.config.configPath];

    const killed = spawnCli(c, { clock: s.clock, env: { KAIZEN_FAULT: 'distill-after-write' } });
    expect(killed.code).toBe(-1); // SIGKILL after the first lesson file
    expect(lessonFiles(s.rt)).toHaveLength(1);

    const resumed = spawnCli(c, { clock: s.clock });
    expect(resumed.err).toBe('');
    expect(resumed.out).toMatch(/^distill run 1 \(resumed after an interrupted run\): 4 intervention\(s\)/);
    expect(lessonFiles(s.rt)).toHaveLength(2);
    const runs = s.rt.store.distill.list();
    expect(runs.map((r) => r.finishedAt !== null)).toEqual([true]);
    const evidence = loadLessons(s.rt.config).lessons.flatMap((l) => l.evidence);
    expect(new Set(evidence).size).toBe(evidence.length);

    const after = spawnCli(c, { clock: s.clock });
    expect(after.out).toMatch(/^distill run 2: 0 intervention/);
    expect(lessonFiles(s.rt)).toHaveLength(2);
  });
});

describe('the distiller with a model', () => {
  it('adds the model’s lessons (with a scan rule) and retirements, keeping kaizen’s ids and only evidence it was shown', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const s = await scene({
      proposer: { provider: 'anthropic', baseUrl: llm.url, models: { distill: 'claude-cheap' } },
    });
    const k1 = await s.finish('rolled_back', { title: 'Shrink the pool', area: 'pool' });
    llm.queue(
      reply.tool(
        {
          lessons: [
            {
              scope: 'pool',
              when: 'a config change sets pool to a word instead of a number',
              prefer: 'keep pool numeric; the server parses it with Number()',
              because: 'the server crashed on "small"; Number("small") is NaN',
              falsifiable: 'true iff no later pool change with a number rolls back',
              evidence: [k1, 'K9999'],
              scan: { pattern: '"pool":\\s*"', files: '**/*.json' },
            },
            {
              scope: 'pool',
              when: 'invented',
              prefer: 'nothing',
              because: 'no evidence',
              falsifiable: 'never',
              evidence: ['K9999'],
            },
          ],
          retirements: [{ id: 'NOPE', why: 'not a lesson' }],
          notes: 'one real lesson',
        },
        { input: 900, output: 200 },
      ),
    );
    const r = await distill({ ...s.rt, env: { ANTHROPIC_API_KEY: 'sk-ant-test' } });
    expect(r.mode).toBe('anthropic:claude-cheap');
    expect((llm.requests[0]!.body as { model: string }).model).toBe('claude-cheap');
    expect(JSON.stringify(llm.requests[0]!.body)).toContain('Why the guard let the undone ones through');
    const modelLesson = loadLessons(s.rt.config).lessons.find((l) => l.scan)!;
    expect(modelLesson).toMatchObject({
      source: 'distilled',
      evidence: [k1],
      scan: { pattern: '"pool":\\s*"', files: '**/*.json' },
    });
    expect(modelLesson.id).toMatch(/^D-[0-9a-f]{8}$/);
    expect(r.notes).toEqual([
      'model lesson "nothing" cites no intervention it was shown: dropped',
      'model: one real lesson',
      'model proposed retiring NOPE, which is not an active lesson: ignored',
    ]);
    const usage = s.rt.store.usage.perDay(0, () => 'day');
    expect(usage).toEqual([
      expect.objectContaining({ provider: 'anthropic', model: 'claude-cheap', calls: 1 }),
    ]);
  });

  it('refuses a scan rule the linear-time engine cannot run, tells the model why, and keeps the rule it answers with instead (issue 18)', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const s = await scene({
      proposer: { provider: 'anthropic', baseUrl: llm.url, models: { distill: 'claude-cheap' } },
    });
    const k1 = await s.finish('rolled_back', { title: 'Shrink the pool', area: 'pool' });
    const draft = (scan: Record<string, string>) => ({
      lessons: [
        {
          scope: 'pool',
          when: 'a client calls the pool service without a timeout',
          prefer: 'give every call to the pool service a timeout',
          because: 'a silent pool service blocked every worker',
          falsifiable: 'true iff no worker blocks on the pool service for more than 2 x the timeout',
          evidence: [k1],
          scan,
        },
      ],
      retirements: [],
    });
    llm.queue(
      reply.tool(draft({ pattern: 'pool\\.get\\((?!.*timeout)', files: '**/*.py' })),
      reply.tool(draft({ pattern: 'pool\\.get\\(', unless: '\\btimeout\\b', files: '**/*.py' })),
    );

    await distill({ ...s.rt, env: { ANTHROPIC_API_KEY: 'sk-ant-test' } });

    expect(llm.requests).toHaveLength(2);
    expect(JSON.stringify(llm.requests[1]!.body)).toContain(
      `lessons[0].scan.pattern: the pattern uses a lookahead \\"(?!\\" at character 12, which kaizen's linear-time regex engine (RE2) does not support`,
    );
    const written = loadLessons(s.rt.config).lessons.filter((l) => l.source === 'distilled' && l.scan);
    expect(written.map((l) => l.scan)).toEqual([
      { pattern: 'pool\\.get\\(', unless: '\\btimeout\\b', files: '**/*.py' },
    ]);
  });

  it('keeps the deterministic lessons when the model answers invalidly twice, and says so', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const s = await scene({ proposer: { provider: 'anthropic', baseUrl: llm.url } });
    await s.finish('validated');
    llm.queue(reply.tool({ lessons: 'none' }), reply.tool({ lessons: 'still none' }));
    const r = await distill({ ...s.rt, env: { ANTHROPIC_API_KEY: 'sk-ant-test' } });
    expect(r.created).toHaveLength(1);
    expect(r.notes[0]).toMatch(/^the model could not distill \(.*\); the deterministic lessons stand alone$/);
  });
});
