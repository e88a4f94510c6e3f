import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { proposeCycle } from '../src/propose/cycle.js';
import { startFakeLlm, reply, type FakeLlm } from './helpers/fake-llm.js';
import { runCliAt } from './helpers/cli.js';
import { proposal, targetFixture } from './helpers/target.js';

const MIN = 60_000;
const FAKE_KEY = 'sk-ant-api03-PLANTEDSECRETplantedsecret0123456789abcdefXYZ';

const runtimes: Runtime[] = [];
const llms: FakeLlm[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) rt.close();
  for (const l of llms.splice(0)) await l.close();
});

/** A rule on the fixture's latency_ms signal (which reads cacheSize: 0 until the cache is on). */
const cacheRule = {
  name: 'cache_off',
  when: { signal: 'latency_ms', condition: 'below', value: 1, for: '2m' },
  propose: {
    title: 'Turn the cache on: {{signal}} at {{value}} for {{held}}',
    area: 'cache',
    kind: 'config_set',
    changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
    hypothesis: 'The cache is off ({{signal}} = {{value}}).',
    prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.3 },
    risk: 'low',
    rollback: 'git revert',
  },
};

async function scene(config: Record<string, unknown> = {}, target: Record<string, unknown> = {}) {
  const fx = await targetFixture({ config, target: { rules: [cacheRule], ...target } });
  const clock = new SimulatedClock();
  const rt = fx.runtime(clock);
  runtimes.push(rt);
  const t = rt.config.targets[0]!;
  const ids = rt.store.catalog.sync(t, clock.now());
  const latency = ids.get('latency_ms')!.id;
  rt.store.samples.insert(
    Array.from({ length: 5 }, (_, i) => ({
      signalId: latency,
      t: clock.now() - 4 * MIN + i * MIN,
      value: 0,
    })),
  );
  return { fx, rt, clock, target: t };
}

describe('a Propose cycle with the offline rules', () => {
  it('fires the rule, puts its proposal through the guard and applies it; the cooldown holds it back next time', async () => {
    const s = await scene();

    const first = await proposeCycle({ ...s.rt, env: {} }, s.target);
    await s.clock.advance(MIN);
    const second = await proposeCycle({ ...s.rt, env: {} }, s.target);

    expect(first.provider.id).toBe('rules');
    expect(first.provider.why).toMatch(/^auto: neither ANTHROPIC_API_KEY nor OPENAI_API_KEY is set/);
    expect(first.submitted.map((r) => r.intervention.state)).toEqual(['applied']);
    expect(first.submitted[0]!.intervention.origin).toBe('rules');
    expect(JSON.parse(s.fx.read('config.json')).cacheSize).toBe(200);
    expect(second.submitted).toEqual([]);
  });
});

describe('a Propose cycle with a model', () => {
  it('sends the context through the SDK, applies a valid proposal, records usage, and never sends a planted key', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const s = await scene({
      proposer: {
        provider: 'anthropic',
        baseUrl: llm.url,
        model: 'claude-shared',
        models: { propose: 'claude-test', distill: 'claude-cheap' },
      },
    });
    s.fx.write('notes.yaml', `# ops notes\napi_key: ${FAKE_KEY}\n`);
    s.fx.git('add', 'notes.yaml');
    s.fx.git('commit', '-qm', 'notes');
    s.fx.git('push', '-q', 'origin', 'main');
    llm.queue(
      reply.tool(
        { proposals: [proposal({ title: 'Model: enable the cache' })], notes: 'one idea' },
        { input: 1200, output: 300 },
      ),
    );

    const r = await proposeCycle({ ...s.rt, env: { ANTHROPIC_API_KEY: 'sk-ant-test-key' } }, s.target);

    expect(r.provider).toMatchObject({ id: 'anthropic', model: 'claude-test' });
    expect(
      r.submitted.map((x) => [x.intervention.proposal.title, x.intervention.state, x.intervention.origin]),
    ).toEqual([['Model: enable the cache', 'applied', 'anthropic:claude-test']]);
    expect((llm.requests[0]!.body as { model: string }).model).toBe('claude-test');
    const body = JSON.stringify(llm.requests[0]!.body);
    expect(body).toContain('notes.yaml');
    expect(body).not.toContain(FAKE_KEY);
    expect(s.rt.store.usage.tokensSince('app', 0)).toBe(1500);
  });

  it('falls back to the offline rules when the model answers invalidly twice, keeping the raw answers', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const s = await scene({ proposer: { provider: 'anthropic', baseUrl: llm.url } });
    llm.queue(reply.malformed(), reply.malformed());

    const r = await proposeCycle({ ...s.rt, env: { ANTHROPIC_API_KEY: 'k' } }, s.target);

    expect(r.note).toMatch(/^the model's answer was invalid twice/);
    expect(r.submitted.map((x) => x.intervention.origin)).toEqual(['rules']);
    const raws = s.rt.store.db.prepare("SELECT raw FROM llm_calls WHERE outcome = 'invalid'").pluck().all();
    expect(raws).toHaveLength(2);
  });

  it('pauses the model when the day’s token budget is spent, says so, and lets the rules propose', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const s = await scene({ proposer: { provider: 'anthropic', baseUrl: llm.url, dailyTokens: 1000 } });
    s.rt.store.usage.record({
      t: s.clock.now(),
      target: 'app',
      task: 'proposer',
      provider: 'anthropic',
      model: 'm',
      promptVersion: 'proposer.v1',
      inputTokens: 900,
      outputTokens: 200,
      latencyMs: 1,
      outcome: 'ok',
    });

    const r = await proposeCycle({ ...s.rt, env: { ANTHROPIC_API_KEY: 'k' } }, s.target);

    expect(r.note).toBe(
      'daily token budget spent (1100 of 1000): proposing with the model pauses until tomorrow; the offline rules still run',
    );
    expect(llm.requests).toHaveLength(0);
    expect(s.rt.store.events.list({ kind: 'budget_exhausted' })).toHaveLength(1);
    expect(r.submitted.map((x) => x.intervention.origin)).toEqual(['rules']);
  });
});

describe('kaizen propose --dry-run', () => {
  it('prints the size of each context section and the prompt, and calls nothing', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const s = await scene({ proposer: { provider: 'anthropic', baseUrl: llm.url } });

    const r = await runCliAt(s.clock, 'propose', '--dry-run', '--config', s.fx.configPath);

    expect(r.code).toBe(0);
    expect(r.out).toMatch(/SECTION\s+TOKENS\s+ITEMS\s+LEFT OUT/);
    expect(r.out).toContain('--- prompt (nothing was sent) ---');
    expect(r.out).toContain('# Context for target app');
    expect(llm.requests).toHaveLength(0);
    expect(s.rt.store.interventions.list()).toEqual([]);
  });
});

describe('lessons in a Propose cycle', () => {
  const lessonYaml = (id: string, extra: string) =>
    `id: ${id}\nscope: cache\nwhen: latency rises while the cache is off\nprefer: size the cache to the hot keys\nbecause: misses pay the backend twice\nfalsifiable: true iff p50 falls within 10 minutes\nsource: human\nstatus: active\ncreated_at: 2026-01-01\n${extra}`;

  it('reads the lessons folder (skipping a malformed file with its path), runs their scans, and shows the hits to the model', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const dir = (await import('node:fs')).mkdtempSync(
      (await import('node:os')).tmpdir() + '/kaizen-lessons-',
    );
    const fs = await import('node:fs');
    fs.writeFileSync(
      `${dir}/L0001.yaml`,
      lessonYaml('L0001', 'scan: { pattern: "cacheSize", files: "*.json" }\n'),
    );
    fs.writeFileSync(`${dir}/broken.yaml`, 'id: [not, a, lesson\n');
    const s = await scene({ lessonsDir: dir, proposer: { provider: 'anthropic', baseUrl: llm.url } });
    llm.queue(reply.tool({ proposals: [proposal({ citesLessons: ['L0001'] })] }));

    const { loadLessons } = await import('../src/learn/lesson-files.js');
    const loaded = loadLessons(s.rt.config);
    const r = await proposeCycle({ ...s.rt, env: { ANTHROPIC_API_KEY: 'k' } }, s.target);

    // The folder's own lessons (the shipped seed lessons are read as well; a local L0001 replaces the shipped one).
    expect(loaded.files.filter((f) => f.origin === 'local').map((f) => f.lesson.id)).toEqual(['L0001']);
    expect(loaded.problems).toEqual([
      { file: `${dir}/broken.yaml`, problem: expect.stringMatching(/^not valid YAML: /) },
    ]);
    const body = JSON.stringify(llm.requests[0]!.body);
    expect(body).toContain('L0001');
    expect(body).toContain('config.json');
    expect(r.submitted.map((x) => x.intervention.state)).toEqual(['applied']);
    const origin = s.rt.store.events.list({ kind: 'proposal_origin' })[0]!;
    expect(origin.data).toMatchObject({ provider: 'anthropic', promptVersion: 'proposer.v1' });
  });

  it('refuses a proposal that ignores a lesson on its area', async () => {
    const fs = await import('node:fs');
    const dir = fs.mkdtempSync((await import('node:os')).tmpdir() + '/kaizen-lessons-');
    fs.writeFileSync(`${dir}/L0002.yaml`, lessonYaml('L0002', 'areas: [cache]\n'));
    const s = await scene({ lessonsDir: dir });

    const r = await proposeCycle({ ...s.rt, env: {} }, s.target);

    expect(r.submitted.map((x) => x.intervention.state)).toEqual(['rejected']);
    expect((r.submitted[0]!.guard as { reasons: string[] }).reasons[0]).toBe(
      'lessons: ignores L0002 (size the cache to the hot keys): follow a lesson and cite it (citesLessons), or argue against it (arguesAgainst) with why',
    );
  });
});
