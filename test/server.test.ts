import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CircuitBreaker } from '../src/propose/breaker.js';
import { parsePrometheusText, type PromSample } from '../src/observe/sources/prometheus-text.js';
import { createMetrics } from '../src/server/index.js';
import { startOfDay } from '../src/util/time.js';
import { HOUR, TOKEN, scene, type Scene } from './server-scene.js';

const MIN = 60_000;

/** Record samples of a fixture signal at the clock's time plus `offsets` (ms). */
function sample(s: Scene, signal: string, points: { at: number; value?: number; error?: string }[]): void {
  const id = s.rt.store.catalog.signalsOf('app').get(signal)!.id;
  s.rt.store.samples.insert(points.map((p) => ({ signalId: id, t: p.at, value: p.value, error: p.error })));
}

function llmCall(
  s: Scene,
  tokens: { input: number; output: number },
  latencyMs: number,
  outcome = 'ok',
): void {
  s.rt.store.usage.record({
    t: s.clock.now(),
    target: 'app',
    task: 'proposer',
    provider: 'anthropic',
    model: 'claude-test',
    promptVersion: 'proposer.v1',
    inputTokens: tokens.input,
    outputTokens: tokens.output,
    latencyMs,
    outcome: outcome as 'ok' | 'invalid' | 'error',
  });
}

/** A real breaker on the scene's clock, opened by two failed calls. */
async function openBreaker(s: Scene): Promise<CircuitBreaker> {
  const b = new CircuitBreaker({
    failureThreshold: 2,
    windowMs: 10 * MIN,
    cooldownMs: 5 * MIN,
    clock: s.clock,
  });
  for (let i = 0; i < 2; i++)
    await b.run(() => Promise.reject(new Error('provider down'))).catch(() => undefined);
  return b;
}

/** A job row as the scheduler keeps it. */
function job(
  s: Scene,
  row: { key: string; kind: string; next: number; last?: number; status?: string; error?: string },
) {
  s.rt.store.db
    .prepare(
      `INSERT INTO scheduled_jobs (key, kind, target, next_run_at, last_run_at, last_status, last_error)
       VALUES (?, ?, 'app', ?, ?, ?, ?)`,
    )
    .run(row.key, row.kind, row.next, row.last ?? null, row.status ?? null, row.error ?? null);
}

/** The one sample of `name` whose labels include `labels`; fails when there is not exactly one. */
function metric(samples: PromSample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${name} ${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!.value;
}

const sql = (s: Scene, query: string, ...params: unknown[]) =>
  s.rt.store.db
    .prepare(query)
    .pluck()
    .get(...params) as number;

describe('GET /health', () => {
  it('is one snapshot of jobs, active interventions, frozen areas, budget, breakers, last samples and alerts, agreeing with the store', async () => {
    const breakers = new Map<string, CircuitBreaker>();
    const s = await scene({ server: { breakers, scheduler: { state: () => 'running' } } });
    for (const n of [1, 2, 3]) await s.finish('rolled_back', { area: 'db', title: `Tune the pool #${n}` });
    const live = await s.finish('applied', { title: 'Enable the cache' });
    await s.finish('validated', { area: 'queue', title: 'Drain faster' });
    llmCall(s, { input: 1000, output: 234 }, 1500);
    breakers.set('anthropic', await openBreaker(s));
    breakers.set(
      'openai',
      new CircuitBreaker({ failureThreshold: 5, windowMs: MIN, cooldownMs: MIN, clock: s.clock }),
    );
    const now = s.clock.now();
    job(s, { key: 'observe:app', kind: 'observe', next: now + MIN, last: now - 4 * MIN, status: 'ok' });
    job(s, {
      key: 'propose:app',
      kind: 'propose',
      next: now + HOUR,
      last: now - MIN,
      status: 'failed',
      error: 'git failed: index.lock exists',
    });
    job(s, { key: 'distill', kind: 'distill', next: now - 20 * MIN });
    sample(s, 'latency_ms', [
      { at: now - 2 * MIN, value: 41 },
      { at: now - MIN, value: 42 },
    ]);
    sample(s, 'error_rate', [
      { at: now - 10 * MIN, value: 0.2 },
      { at: now - 5 * MIN, value: 0.7 },
      { at: now - MIN, value: 0.9 },
    ]);

    const res = await s.call('GET', '/health');

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const h = res.json;
    expect(h.status).toBe('attention');
    expect(h.at).toBe(now);
    expect(h.kaizen).toMatchObject({ version: '0.1.0', pid: process.pid, shadow: false, timeZone: 'UTC' });
    expect(h.kaizen.uptimeMs).toBe(now - h.kaizen.startedAt);
    expect(h.kaizen.proposer).toEqual({
      id: 'rules',
      why: 'auto: neither ANTHROPIC_API_KEY nor OPENAI_API_KEY is set and no baseUrl, using the deterministic rules',
    });
    expect(h.scheduler.state).toBe('running');
    expect(h.scheduler.jobs).toEqual([
      expect.objectContaining({ key: 'distill', lastRunAt: null, lastStatus: null, overdueMs: 20 * MIN }),
      expect.objectContaining({
        key: 'observe:app',
        lastRunAt: now - 4 * MIN,
        lastStatus: 'ok',
        overdueMs: null,
      }),
      expect.objectContaining({
        key: 'propose:app',
        lastStatus: 'failed',
        lastError: 'git failed: index.lock exists',
      }),
    ]);
    expect(h.breakers).toEqual([
      {
        name: 'anthropic',
        state: 'open',
        failuresInWindow: 2,
        openedAt: now,
        openUntil: now + 5 * MIN,
      },
      { name: 'openai', state: 'closed', failuresInWindow: 0, openedAt: null, openUntil: null },
    ]);
    expect(h.alerts).toEqual([
      {
        target: 'app',
        signal: 'error_rate',
        threshold: '> 0.5',
        value: 0.9,
        since: now - 5 * MIN,
        heldMs: 5 * MIN,
      },
    ]);
    const [app] = h.targets;
    expect(app.name).toBe('app');
    expect(app.activeInterventions).toEqual([
      expect.objectContaining({ id: live, state: 'applied', area: 'cache', title: 'Enable the cache' }),
    ]);
    expect(app.backlog).toBe(0);
    expect(app.frozenAreas).toEqual([
      expect.objectContaining({ area: 'db', interventions: ['K0003', 'K0002', 'K0001'] }),
    ]);
    const dayStart = startOfDay(now, 'UTC');
    expect(app.budget).toEqual({
      dayStart,
      applies: {
        used: s.rt.store.interventions.countAppliesSince('app', dayStart),
        limit: 5,
        left: 5 - s.rt.store.interventions.countAppliesSince('app', dayStart),
      },
      tokens: { used: 1234, limit: 200_000, left: 200_000 - 1234 },
    });
    expect(app.signals).toEqual([
      expect.objectContaining({
        name: 'latency_ms',
        last: { value: 42, t: now - MIN, ageMs: MIN },
        stale: false,
        alert: { state: 'no_threshold' },
      }),
      expect.objectContaining({
        name: 'error_rate',
        last: { value: 0.9, t: now - MIN, ageMs: MIN },
        alert: { state: 'alert', threshold: '> 0.5', since: now - 5 * MIN, heldMs: 5 * MIN },
      }),
    ]);
    expect(h.attention).toEqual([
      'job distill is overdue by 20m',
      'job propose:app failed at 2026-11-02 17:59 UTC: git failed: index.lock exists',
      'circuit breaker anthropic is open until 2026-11-02 18:05 UTC: the offline rules propose meanwhile',
      'app/error_rate is alerting: 0.9 ratio (> 0.5) for 5m',
      'app: area db is frozen until 2026-11-03 15:00 UTC after 3 rollbacks in a row (K0003, K0002, K0001)',
    ]);
  });

  it('says ok when nothing needs a person, and reports no scheduler when none runs in this process', async () => {
    const s = await scene();

    const res = await s.call('GET', '/health');

    expect(res.json).toMatchObject({
      status: 'ok',
      attention: [],
      scheduler: { state: null, jobs: [] },
      breakers: [],
      alerts: [],
    });
    expect(res.json.targets[0].signals.map((x: { last: unknown }) => x.last)).toEqual([null, null]);
  });

  it('still answers when the guard policy cannot be read, and says why', async () => {
    const s = await scene();
    s.rt.config.targets[0]!.guardPolicy = path.join(s.fx.dir, 'gone.yaml');

    const res = await s.call('GET', '/health');

    expect(res.status).toBe(200);
    expect(res.json.targets[0].budget).toBeNull();
    expect(res.json.attention).toEqual([
      `app: the guard policy cannot be read: guard policy file ${path.join(s.fx.dir, 'gone.yaml')} does not exist; fix guard.policy (or guardPolicy) in the config`,
    ]);
  });
});

describe('GET /metrics', () => {
  it('is Prometheus text whose counters match the store, and only grow by what the store gained', async () => {
    const breakers = new Map<string, CircuitBreaker>();
    const s = await scene({ server: { breakers } });
    const start = s.clock.now();
    await s.finish('validated');
    await s.finish('rolled_back', { area: 'db' });
    await s.finish('reverted', { area: 'queue' });
    await s.finish('no_effect', { area: 'pool' });
    s.rt.store.events.append(s.clock.now(), { kind: 'escalation', target: 'app', data: {} });
    llmCall(s, { input: 1000, output: 200 }, 1500);
    llmCall(s, { input: 500, output: 0 }, 45_000, 'error');
    sample(s, 'latency_ms', [
      { at: start + MIN, value: 40 },
      { at: start + 2 * MIN, value: 41 },
      { at: start + 3 * MIN, error: 'connection refused' },
    ]);
    breakers.set('anthropic', await openBreaker(s));
    // Taken before the metrics existed: not counted.
    sample(s, 'error_rate', [{ at: start - MIN, value: 0.1 }]);

    const res = await s.call('GET', '/metrics');

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const doc = parsePrometheusText(res.text);
    expect(doc.problems).toEqual([]);
    expect(res.text).toContain('# TYPE kaizen_samples_total counter');
    expect(res.text).toContain('# TYPE kaizen_llm_latency_seconds histogram');
    // Node's process metrics too, the event-loop delay among them (sampled once a second).
    expect(res.text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(res.text).toContain('# TYPE nodejs_eventloop_lag_p99_seconds gauge');
    const m = (name: string, labels: Record<string, string> = {}) => metric(doc.samples, name, labels);
    const app = { target: 'app' };
    expect(m('kaizen_samples_total', { ...app, signal: 'latency_ms', result: 'value' })).toBe(2);
    expect(m('kaizen_samples_total', { ...app, signal: 'latency_ms', result: 'error' })).toBe(1);
    expect(m('kaizen_samples_total', { ...app, signal: 'error_rate', result: 'value' })).toBe(0);
    expect(m('kaizen_signal_value', { ...app, signal: 'latency_ms' })).toBe(41);
    expect(m('kaizen_signal_value_timestamp_seconds', { ...app, signal: 'latency_ms' })).toBe(
      (start + 2 * MIN) / 1000,
    );
    expect(m('kaizen_signal_alerting', { ...app, signal: 'error_rate' })).toBe(0);
    // Proposals by the guard's first decision, finished applies, rollbacks and verdicts: each
    // equals a count over the transitions table.
    const moved = (from: string, to: string) =>
      sql(s, 'SELECT COUNT(*) FROM intervention_transitions WHERE from_state = ? AND to_state = ?', from, to);
    expect(m('kaizen_proposals_total', { ...app, outcome: 'passed' })).toBe(moved('proposed', 'applying'));
    expect(m('kaizen_proposals_total', { ...app, outcome: 'passed' })).toBe(4);
    expect(m('kaizen_applies_total', { ...app, outcome: 'applied' })).toBe(moved('applying', 'applied'));
    expect(m('kaizen_applies_total', { ...app, outcome: 'rolled_back' })).toBe(1);
    expect(m('kaizen_rollbacks_total', { ...app, state: 'rolled_back', by: 'kaizen' })).toBe(1);
    expect(m('kaizen_rollbacks_total', { ...app, state: 'reverted', by: 'person' })).toBe(1);
    expect(m('kaizen_validation_verdicts_total', { ...app, verdict: 'validated' })).toBe(1);
    expect(m('kaizen_validation_verdicts_total', { ...app, verdict: 'no_effect' })).toBe(1);
    expect(m('kaizen_validation_verdicts_total', { ...app, verdict: 'reverted' })).toBe(1);
    for (const state of ['validated', 'rolled_back', 'reverted', 'no_effect'])
      expect(m('kaizen_interventions', { ...app, state })).toBe(
        sql(s, 'SELECT COUNT(*) FROM interventions WHERE state = ?', state),
      );
    expect(m('kaizen_guard_check_results', { check: 'path', decision: 'pass' })).toBe(4);
    expect(m('kaizen_guard_check_results', { check: 'budget', decision: 'pass' })).toBe(4);
    expect(m('kaizen_events_total', { kind: 'escalation' })).toBe(1);
    const llm = { task: 'proposer', provider: 'anthropic', model: 'claude-test' };
    expect(m('kaizen_llm_calls_total', { ...llm, outcome: 'ok' })).toBe(1);
    expect(m('kaizen_llm_calls_total', { ...llm, outcome: 'error' })).toBe(1);
    expect(m('kaizen_llm_tokens_total', { ...llm, direction: 'input' })).toBe(
      sql(s, 'SELECT SUM(input_tokens) FROM llm_calls'),
    );
    expect(m('kaizen_llm_tokens_total', { ...llm, direction: 'output' })).toBe(200);
    expect(m('kaizen_llm_latency_seconds_count', llm)).toBe(2);
    expect(m('kaizen_llm_latency_seconds_sum', llm)).toBe(46.5);
    expect(m('kaizen_llm_latency_seconds_bucket', { ...llm, le: '2' })).toBe(1);
    expect(m('kaizen_llm_latency_seconds_bucket', { ...llm, le: '60' })).toBe(2);
    expect(m('kaizen_breaker_state', { breaker: 'anthropic', state: 'open' })).toBe(1);
    expect(m('kaizen_breaker_state', { breaker: 'anthropic', state: 'closed' })).toBe(0);
    // Four entered applying today: one apply of the daily five is left.
    expect(m('kaizen_apply_budget_remaining', app)).toBe(
      5 - s.rt.store.interventions.countAppliesSince('app', startOfDay(s.clock.now(), 'UTC')),
    );
    expect(m('kaizen_apply_budget_remaining', app)).toBe(1);
    expect(m('kaizen_llm_token_budget_remaining', app)).toBe(200_000 - 1700);
    expect(m('kaizen_frozen_areas', app)).toBe(0);
    expect(doc.samples.some((x) => x.name === 'process_resident_memory_bytes')).toBe(true);

    // A second scrape adds exactly what happened since, including a sample taken before the first
    // scrape that reached the store only after it (its source was slow).
    const firstScrape = s.clock.now();
    sample(s, 'latency_ms', [{ at: firstScrape - 5 * MIN, value: 38 }]);
    await s.finish('validated', { area: 'disk' });
    await s.clock.advance(HOUR);
    sample(s, 'latency_ms', [{ at: s.clock.now() - MIN, value: 39 }]);
    llmCall(s, { input: 10, output: 5 }, 300);

    const again = parsePrometheusText((await s.call('GET', '/metrics')).text).samples;

    expect(metric(again, 'kaizen_samples_total', { ...app, signal: 'latency_ms', result: 'value' })).toBe(4);
    expect(metric(again, 'kaizen_samples_total', { ...app, signal: 'latency_ms', result: 'error' })).toBe(1);
    expect(metric(again, 'kaizen_proposals_total', { ...app, outcome: 'passed' })).toBe(5);
    expect(metric(again, 'kaizen_validation_verdicts_total', { ...app, verdict: 'validated' })).toBe(2);
    expect(metric(again, 'kaizen_interventions', { ...app, state: 'validated' })).toBe(2);
    expect(metric(again, 'kaizen_llm_tokens_total', { ...llm, direction: 'input' })).toBe(1510);
    expect(
      metric(again, 'kaizen_http_requests_total', { route: '/metrics', method: 'GET', status: '200' }),
    ).toBe(1);
  });

  it('exposes the job durations the daemon records, on metrics the daemon passes in', async () => {
    const { runtimeScene } = await import('./server-scene.js');
    const base = await runtimeScene();
    const metrics = createMetrics(base.rt, { processMetrics: false });
    metrics.recordJob('observe', 'ok', 120);
    metrics.recordJob('observe', 'ok', 80);
    metrics.recordJob('apply', 'failed', 95_000);

    const doc = parsePrometheusText(await metrics.scrape());

    const m = (name: string, labels: Record<string, string>) => metric(doc.samples, name, labels);
    expect(m('kaizen_job_duration_seconds_count', { kind: 'observe', outcome: 'ok' })).toBe(2);
    expect(m('kaizen_job_duration_seconds_sum', { kind: 'observe', outcome: 'ok' })).toBeCloseTo(0.2);
    expect(m('kaizen_job_duration_seconds_bucket', { kind: 'apply', outcome: 'failed', le: '60' })).toBe(0);
    expect(m('kaizen_job_duration_seconds_bucket', { kind: 'apply', outcome: 'failed', le: '120' })).toBe(1);
    expect(doc.samples.some((x) => x.name.startsWith('process_'))).toBe(false);
  });
});

describe('the JSON API: reads', () => {
  it('lists interventions filtered by state, target and limit, newest first', async () => {
    const s = await scene();
    const a = await s.finish('validated');
    const b = await s.finish('rolled_back', { area: 'db' });
    const c = await s.finish('applied', { area: 'queue', title: 'Drain faster' });

    const all = await s.call('GET', '/api/interventions');
    const some = await s.call('GET', '/api/interventions?state=validated,applied&target=app');
    const one = await s.call('GET', '/api/interventions?limit=1');

    expect(all.status).toBe(200);
    expect(all.json.interventions.map((i: { id: string }) => i.id)).toEqual([c, b, a]);
    expect(all.json.interventions[2]).toEqual({
      id: a,
      target: 'app',
      area: 'cache',
      kind: 'config_set',
      state: 'validated',
      risk: 'low',
      title: 'Enable the cache',
      origin: 'rules',
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
      appliedAt: expect.any(Number),
      commitSha: null,
      revertSha: null,
      waitingReason: null,
      verdict: 'validated',
    });
    expect(some.json.interventions.map((i: { id: string }) => i.id)).toEqual([c, a]);
    expect(one.json.interventions.map((i: { id: string }) => i.id)).toEqual([c]);
  });

  it('shows one intervention with its history, events and decision chain, including the lessons it taught', async () => {
    const s = await scene();
    const id = await s.finish('validated', {
      citesLessons: ['L0001'],
      trigger: 'latency_ms above 30 for 10m',
    });
    s.rt.store.events.append(s.clock.now(), {
      kind: 'verdict_validated',
      target: 'app',
      interventionId: id,
      data: {},
    });
    mkdirSync(s.rt.config.lessonsDir, { recursive: true });
    writeFileSync(
      path.join(s.rt.config.lessonsDir, 'L9001.yaml'),
      stringify({
        id: 'L9001',
        scope: 'cache',
        when: 'latency is high and the cache is empty',
        prefer: 'enable the cache',
        because: 'every request misses',
        falsifiable: 'true iff latency falls by 30 %',
        source: 'distilled',
        evidence: [id],
        status: 'active',
        created_at: '2026-11-02',
      }),
    );
    await s.call('GET', '/api/lessons'); // indexes the lesson files

    const res = await s.call('GET', `/api/interventions/${id}`);

    expect(res.status).toBe(200);
    expect(res.json.intervention).toMatchObject({
      id,
      state: 'validated',
      proposal: { title: 'Enable the cache' },
    });
    expect(res.json.history.map((h: { to: string }) => h.to)).toEqual([
      'proposed',
      'applying',
      'applied',
      'validated',
    ]);
    expect(res.json.events.map((e: { kind: string }) => e.kind)).toEqual(['verdict_validated']);
    expect(res.json.chain).toEqual({
      trigger: 'latency_ms above 30 for 10m',
      diagnosis: 'Every request misses the empty cache; 200 entries hold the hot keys.',
      action: {
        title: 'Enable the cache',
        kind: 'config_set',
        area: 'cache',
        changes: 1,
        guard: 'pass',
        commitSha: null,
        revertSha: null,
      },
      prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.3, relative: true },
      outcome: { state: 'validated', verdict: 'validated', reason: 'the median moved (validated)' },
      lessons: { cited: ['L0001'], arguedAgainst: [], learned: ['L9001'] },
    });
  });

  it('lists the backlog with when each item expires, and expires nothing by reading', async () => {
    const s = await scene();
    const { submitProposal } = await import('../src/loop/submit.js');
    const { proposal } = await import('./helpers/target.js');
    const r = await submitProposal(s.rt, {
      target: 'app',
      proposal: proposal({ title: 'Bigger cache', risk: 'medium' }),
      origin: 'a person',
      actor: 'ana',
    });
    const waitingSince = s.clock.now();

    const fresh = await s.call('GET', '/api/backlog');
    await s.clock.advance(15 * 24 * HOUR);
    const lapsed = await s.call('GET', '/api/backlog?target=app');

    expect(fresh.json.items).toEqual([
      {
        id: r.intervention.id,
        target: 'app',
        area: 'cache',
        title: 'Bigger cache',
        risk: 'medium',
        waitingSince,
        expiresAt: waitingSince + 14 * 24 * HOUR,
        expired: false,
        why: expect.stringContaining('blocked on missing canary'),
      },
    ]);
    expect(lapsed.json.items[0].expired).toBe(true);
    expect(s.rt.store.interventions.get(r.intervention.id).state).toBe('backlog');
  });

  it('lists lessons by status and scope, and shows one with the interventions that cited it', async () => {
    const s = await scene();
    const id = await s.finish('validated', { citesLessons: ['L0001'] });

    const active = await s.call('GET', '/api/lessons?status=active');
    const scoped = await s.call('GET', '/api/lessons?scope=supervision');
    const one = await s.call('GET', '/api/lessons/L0001');

    expect(active.status).toBe(200);
    expect(active.json.problems).toEqual([]);
    expect(active.json.lessons.length).toBeGreaterThanOrEqual(10);
    expect(active.json.lessons.every((l: { status: string }) => l.status === 'active')).toBe(true);
    expect(scoped.json.lessons.map((l: { id: string }) => l.id)).toContain('L0001');
    expect(scoped.json.lessons.every((l: { scope: string }) => l.scope === 'supervision')).toBe(true);
    expect(one.json).toMatchObject({
      id: 'L0001',
      origin: 'shipped',
      citations: [{ intervention: id, state: 'validated', how: 'cited' }],
    });
  });

  it('gives the digest of every signal, and one signal as a series', async () => {
    const s = await scene();
    const now = s.clock.now();
    sample(s, 'latency_ms', [
      { at: now - 3 * HOUR, value: 50 },
      { at: now - 30 * MIN, value: 44 },
      { at: now - 10 * MIN, error: 'connection refused' },
    ]);

    const digest = await s.call('GET', '/api/signals');
    const series = await s.call('GET', '/api/signals/app/latency_ms?since=1h');
    const day = await s.call('GET', '/api/signals/app/latency_ms');

    expect(digest.json.targets).toHaveLength(1);
    expect(digest.json.targets[0].signals[0]).toMatchObject({
      target: 'app',
      name: 'latency_ms',
      last: { value: 44, t: now - 30 * MIN },
      errorStreak: 1,
      windows: { '24h': { n: 2 } },
    });
    expect(series.json).toEqual({
      target: 'app',
      signal: 'latency_ms',
      unit: 'ms',
      since: now - HOUR,
      points: [
        { t: now - 30 * MIN, value: 44, error: null },
        { t: now - 10 * MIN, value: null, error: 'connection refused' },
      ],
    });
    expect(day.json.points).toHaveLength(3);
  });
});

describe('the token on reads', () => {
  it('needs none on loopback, but checks one that is sent', async () => {
    const s = await scene();

    const open = await s.call('GET', '/api/interventions');
    const right = await s.call('GET', '/api/interventions', { token: TOKEN });
    const wrong = await s.call('GET', '/api/interventions', { token: 'not-the-token-at-all' });

    expect([open.status, right.status, wrong.status]).toEqual([200, 200, 401]);
    expect(wrong.json.error).toEqual({
      code: 'unauthorized',
      message: 'the bearer token is not the one in KAIZEN_TOKEN; nothing was changed',
    });
  });
});
