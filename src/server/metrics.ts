import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Runtime } from '../compose.js';
import { loadPolicy } from '../guard/policy.js';
import { crosses } from '../observe/alert.js';
import type { BreakerState } from '../propose/breaker.js';
import { readJobs } from './jobs.js';
import type { BreakerMap } from './snapshot.js';
import { AppendOnlyTally, SampleTally } from './store-tally.js';
import { frozenAreas, targetBudget } from './target-state.js';

export interface MetricsOptions {
  /** The daemon's circuit breakers, exposed as kaizen_breaker_state (default: none). */
  breakers?: BreakerMap;
  /** Also expose Node's process metrics (process_*, nodejs_*) (default true). */
  processMetrics?: boolean;
}

/** kaizen's Prometheus metrics: what the daemon feeds live, plus what is read from the store at scrape. */
export interface KaizenMetrics {
  /** The registry /metrics renders; the daemon may register more metrics on it. */
  registry: Registry;
  /** Job run times, fed by the scheduler: `recordJob` is the short way. Labels: kind, outcome. */
  jobDuration: Histogram<'kind' | 'outcome'>;
  /** HTTP requests the server answered, by route pattern, method and status. */
  httpRequests: Counter<'route' | 'method' | 'status'>;
  /** Record one finished job run (its duration measured on the runtime's clock). */
  recordJob(kind: string, outcome: 'ok' | 'failed', durationMs: number): void;
  /** Read what changed in the store, then render the exposition text. */
  scrape(): Promise<string>;
  /** The Content-Type of `scrape()`'s text. */
  readonly contentType: string;
}

type Deps = Pick<Runtime, 'config' | 'store' | 'clock'>;

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half_open', 'open'];
/** Jobs run from milliseconds (a cheap observe) to many minutes (an apply with a slow deploy). */
const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const LLM_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

/**
 * Create kaizen's metrics on a registry of their own (never prom-client's global one, so several
 * runtimes in one process, as in tests, do not collide).
 *
 * Counters over append-only tables (proposals, applies, rollbacks, verdicts, events, model calls)
 * equal the store's totals; samples are counted from when the metrics were created (raw samples
 * are pruned after retention). Gauges describe now.
 */
export function createMetrics(rt: Deps, options: MetricsOptions = {}): KaizenMetrics {
  const registry = new Registry();
  const registers = [registry];
  // The event-loop delay histogram samples on a timer: prom-client's default of 10 ms wakes an
  // idle daemon 100 times a second (about 1 % of a core here); once a second still shows a
  // blocked loop.
  if (options.processMetrics !== false)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });

  const samples = new Counter({
    name: 'kaizen_samples_total',
    help: 'Samples recorded since kaizen started, by target, signal and result (value or error)',
    labelNames: ['target', 'signal', 'result'] as const,
    registers,
  });
  const signalValue = new Gauge({
    name: 'kaizen_signal_value',
    help: 'Newest value of each signal',
    labelNames: ['target', 'signal'] as const,
    registers,
  });
  const signalTime = new Gauge({
    name: 'kaizen_signal_value_timestamp_seconds',
    help: 'When the newest value of each signal was sampled (Unix time)',
    labelNames: ['target', 'signal'] as const,
    registers,
  });
  const signalAlerting = new Gauge({
    name: 'kaizen_signal_alerting',
    help: 'Whether the newest value of a signal with an alert threshold crosses it (1) or not (0)',
    labelNames: ['target', 'signal'] as const,
    registers,
  });
  const proposals = new Counter({
    name: 'kaizen_proposals_total',
    help: "Proposals by the guard's first decision: passed (applying), deferred (backlog) or rejected",
    labelNames: ['target', 'outcome'] as const,
    registers,
  });
  const interventions = new Gauge({
    name: 'kaizen_interventions',
    help: 'Interventions by current state',
    labelNames: ['target', 'state'] as const,
    registers,
  });
  const guardChecks = new Gauge({
    name: 'kaizen_guard_check_results',
    help: "Guard check results in each intervention's latest guard run, by check and decision",
    labelNames: ['check', 'decision'] as const,
    registers,
  });
  const applies = new Counter({
    name: 'kaizen_applies_total',
    help: 'Finished applies by outcome: applied (healthy), rolled_back (health failed) or failed',
    labelNames: ['target', 'outcome'] as const,
    registers,
  });
  const rollbacks = new Counter({
    name: 'kaizen_rollbacks_total',
    help: 'Changes undone: rolled_back (health failed after the apply) or reverted (by validation or a person)',
    labelNames: ['target', 'state', 'by'] as const,
    registers,
  });
  const verdicts = new Counter({
    name: 'kaizen_validation_verdicts_total',
    help: 'Validation verdicts: validated, no_effect, reverted or inconclusive',
    labelNames: ['target', 'verdict'] as const,
    registers,
  });
  const events = new Counter({
    name: 'kaizen_events_total',
    help: 'Events in the audit log by kind',
    labelNames: ['kind'] as const,
    registers,
  });
  const llmCalls = new Counter({
    name: 'kaizen_llm_calls_total',
    help: 'Model calls by task, provider, model and outcome (ok, invalid, error)',
    labelNames: ['task', 'provider', 'model', 'outcome'] as const,
    registers,
  });
  const llmTokens = new Counter({
    name: 'kaizen_llm_tokens_total',
    help: 'Model tokens by task, provider, model and direction (input, output)',
    labelNames: ['task', 'provider', 'model', 'direction'] as const,
    registers,
  });
  const llmLatency = new Histogram({
    name: 'kaizen_llm_latency_seconds',
    help: 'Model call latency',
    labelNames: ['task', 'provider', 'model'] as const,
    buckets: LLM_BUCKETS,
    registers,
  });
  const jobDuration = new Histogram({
    name: 'kaizen_job_duration_seconds',
    help: 'Scheduled job run time by kind and outcome (ok, failed)',
    labelNames: ['kind', 'outcome'] as const,
    buckets: JOB_BUCKETS,
    registers,
  });
  const jobLastRun = new Gauge({
    name: 'kaizen_job_last_run_timestamp_seconds',
    help: 'When each scheduled job last finished (Unix time)',
    labelNames: ['job', 'kind'] as const,
    registers,
  });
  const jobFailing = new Gauge({
    name: 'kaizen_job_failing',
    help: 'Whether the last run of each scheduled job failed or was interrupted (1) or not (0)',
    labelNames: ['job', 'kind'] as const,
    registers,
  });
  const breakerState = new Gauge({
    name: 'kaizen_breaker_state',
    help: 'Circuit breaker state: 1 for the current state (closed, half_open, open), 0 for the others',
    labelNames: ['breaker', 'state'] as const,
    registers,
  });
  const appliesLeft = new Gauge({
    name: 'kaizen_apply_budget_remaining',
    help: "Applies left in today's budget (guard policy dailyBudget)",
    labelNames: ['target'] as const,
    registers,
  });
  const tokensLeft = new Gauge({
    name: 'kaizen_llm_token_budget_remaining',
    help: "Model tokens left in today's budget (proposer.dailyTokens)",
    labelNames: ['target'] as const,
    registers,
  });
  const frozen = new Gauge({
    name: 'kaizen_frozen_areas',
    help: 'Areas frozen after consecutive rollbacks',
    labelNames: ['target'] as const,
    registers,
  });
  const httpRequests = new Counter({
    name: 'kaizen_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });

  const tally = new AppendOnlyTally(rt.store.db);
  const sampleTally = new SampleTally(rt.store.db, rt.clock.now());
  const samplesSeen = new Map<string, number>();
  let interventionsVersion = -1;

  const PROPOSAL_OUTCOME: Record<string, string> = {
    applying: 'passed',
    backlog: 'deferred',
    rejected: 'rejected',
  };
  const APPLY_OUTCOMES = new Set(['applied', 'rolled_back', 'failed']);
  const VERDICTS = new Set(['validated', 'no_effect', 'reverted', 'inconclusive']);

  function countSamples(now: number): void {
    for (const c of sampleTally.counts(now)) {
      for (const [result, total] of [
        ['value', c.values],
        ['error', c.errors],
      ] as const) {
        const key = `${c.signalId}:${result}`;
        const delta = total - (samplesSeen.get(key) ?? 0);
        // inc(0) makes the series exist from the first scrape, so a rate over it starts at 0.
        if (delta >= 0) samples.inc({ target: c.target, signal: c.signal, result }, delta);
        samplesSeen.set(key, total);
      }
    }
  }

  function countTransitions(): void {
    for (const t of tally.newTransitions()) {
      if (t.from === 'proposed' && PROPOSAL_OUTCOME[t.to])
        proposals.inc({ target: t.target, outcome: PROPOSAL_OUTCOME[t.to] }, t.n);
      if (t.from === 'applying' && APPLY_OUTCOMES.has(t.to))
        applies.inc({ target: t.target, outcome: t.to }, t.n);
      if (t.to === 'rolled_back' || t.to === 'reverted')
        rollbacks.inc({ target: t.target, state: t.to, by: t.by }, t.n);
      if (t.from === 'applied' && VERDICTS.has(t.to)) verdicts.inc({ target: t.target, verdict: t.to }, t.n);
    }
    // Current states and the guard's latest results change only with a transition (the guard
    // outcome is written with one), so they are re-read only when a new transition appeared.
    if (tally.transitionsVersion === interventionsVersion) return;
    interventionsVersion = tally.transitionsVersion;
    interventions.reset();
    const byState = rt.store.db
      .prepare(
        `SELECT t.name AS target, i.state, COUNT(*) AS n FROM interventions i
         JOIN targets t ON t.id = i.target_id GROUP BY 1, 2`,
      )
      .all() as { target: string; state: string; n: number }[];
    for (const r of byState) interventions.set({ target: r.target, state: r.state }, r.n);
    guardChecks.reset();
    const checks = rt.store.db
      .prepare(
        `SELECT json_extract(c.value, '$.check') AS "check", json_extract(c.value, '$.decision') AS decision,
           COUNT(*) AS n
         FROM interventions i, json_each(i.guard, '$.checks') c
         WHERE i.guard IS NOT NULL GROUP BY 1, 2`,
      )
      .all() as { check: string | null; decision: string | null; n: number }[];
    for (const r of checks)
      if (r.check !== null && r.decision !== null)
        guardChecks.set({ check: r.check, decision: r.decision }, r.n);
  }

  function countModelCalls(): void {
    for (const c of tally.newLlmCalls()) {
      const labels = { task: c.task, provider: c.provider, model: c.model };
      llmCalls.inc({ ...labels, outcome: c.outcome });
      llmTokens.inc({ ...labels, direction: 'input' }, c.inputTokens);
      llmTokens.inc({ ...labels, direction: 'output' }, c.outputTokens);
      llmLatency.observe(labels, c.latencyMs / 1000);
    }
    for (const e of tally.newEvents()) events.inc({ kind: e.kind }, e.n);
  }

  function describeSignals(): void {
    signalValue.reset();
    signalTime.reset();
    signalAlerting.reset();
    const last = rt.store.db.prepare(
      'SELECT t, value FROM samples WHERE signal_id = ? AND value IS NOT NULL ORDER BY t DESC LIMIT 1',
    );
    for (const target of rt.config.targets) {
      const rows = rt.store.catalog.signalsOf(target.name);
      for (const signal of target.signals) {
        const row = rows.get(signal.name);
        const sample = row ? (last.get(row.id) as { t: number; value: number } | undefined) : undefined;
        if (!sample) continue;
        const labels = { target: target.name, signal: signal.name };
        signalValue.set(labels, sample.value);
        signalTime.set(labels, sample.t / 1000);
        if (signal.alert) signalAlerting.set(labels, crosses(sample.value, signal.alert) ? 1 : 0);
      }
    }
  }

  function describeState(now: number): void {
    jobLastRun.reset();
    jobFailing.reset();
    for (const j of readJobs(rt.store.db)) {
      const labels = { job: j.key, kind: j.kind };
      if (j.lastRunAt !== null) jobLastRun.set(labels, j.lastRunAt / 1000);
      jobFailing.set(labels, j.lastStatus === 'failed' || j.lastStatus === 'interrupted' ? 1 : 0);
    }
    breakerState.reset();
    for (const [name, b] of options.breakers ?? []) {
      const current = b.snapshot().state;
      for (const state of BREAKER_STATES)
        breakerState.set({ breaker: name, state }, state === current ? 1 : 0);
    }
    appliesLeft.reset();
    tokensLeft.reset();
    frozen.reset();
    for (const target of rt.config.targets) {
      let policy;
      try {
        policy = loadPolicy(rt.config, target);
      } catch {
        continue; // /health says what is wrong with the policy; the metrics leave the series out
      }
      const budget = targetBudget(rt, target, policy, now);
      appliesLeft.set({ target: target.name }, budget.applies.left);
      tokensLeft.set({ target: target.name }, budget.tokens.left);
      frozen.set({ target: target.name }, frozenAreas(rt, target, policy, now).length);
    }
  }

  return {
    registry,
    jobDuration,
    httpRequests,
    recordJob(kind, outcome, durationMs) {
      jobDuration.observe({ kind, outcome }, Math.max(0, durationMs) / 1000);
    },
    async scrape() {
      const now = rt.clock.now();
      countSamples(now);
      countTransitions();
      countModelCalls();
      describeSignals();
      describeState(now);
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}
