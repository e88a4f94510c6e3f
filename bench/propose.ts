import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { getEncoding } from 'js-tiktoken';
import { stringify } from 'yaml';
import { SimulatedClock } from '../src/clock.js';
import { compose, type Runtime } from '../src/compose.js';
import { loadConfig } from '../src/config/load.js';
import type { TargetConfig } from '../src/config/schema.js';
import type { GuardOutcome } from '../src/guard/types.js';
import { silentLogger } from '../src/logger.js';
import { buildDigest } from '../src/observe/digest.js';
import { Lesson, type LessonInput } from '../src/propose/context/lesson.js';
import { estimateTokens } from '../src/propose/context/tokens.js';
import { buildProposerInput } from '../src/propose/cycle.js';
import { fingerprint, Proposal, type ProposalInput } from '../src/propose/proposal.js';
import { HOUR_MS } from '../src/store/samples.js';
import { Verdict } from '../src/validate/verdict.js';
import { figure, fmt, medianMs } from './figures.js';

/*
 * The proposer's input for a target with a long history: a year of 5-minute samples for 100
 * signals (as retention keeps them: 14 d raw + hourly rollups), 10 000 past interventions in the
 * store, 5 000 lessons. Measured: the whole buildProposerInput path (digest, interventions, frozen
 * areas, budget, repo files, context under the token budget, prompt render); baseline in the same
 * run: buildDigest alone.
 */

const DAY = 24 * HOUR_MS;
const FIVE_MIN = 300_000;
const MINUTE = 60_000;
const SIGNALS = 100;
const LESSONS = 5_000;
const INTERVENTIONS = 10_000;
const TARGET = 'shop';
const NOW = Date.UTC(2026, 10, 1, 15, 0, 0);

const AREAS = ['cache', 'db', 'queue', 'http', 'worker', 'search', 'auth', 'storage', 'scheduler', 'ingest'];
/** Areas and signals that exist somewhere else (lessons about them must not match). */
const FOREIGN_AREAS = ['billing', 'payments', 'mailer', 'cdn', 'reports', 'warehouse', 'ml', 'frontend'];
const METRICS: { name: string; unit: string; direction: 'lower_is_better' | 'higher_is_better' }[] = [
  { name: 'p95_ms', unit: 'ms', direction: 'lower_is_better' },
  { name: 'error_rate', unit: 'ratio', direction: 'lower_is_better' },
  { name: 'rss_mib', unit: 'MiB', direction: 'lower_is_better' },
  { name: 'throughput', unit: 'req/s', direction: 'higher_is_better' },
  { name: 'backlog', unit: 'count', direction: 'lower_is_better' },
  { name: 'cpu_pct', unit: '%', direction: 'lower_is_better' },
  { name: 'gc_pause_ms', unit: 'ms', direction: 'lower_is_better' },
  { name: 'hit_ratio', unit: 'ratio', direction: 'higher_is_better' },
  { name: 'pool_wait_ms', unit: 'ms', direction: 'lower_is_better' },
  { name: 'restarts', unit: 'count', direction: 'lower_is_better' },
];
const signalName = (i: number) => `${AREAS[Math.floor(i / 10)]!}_${METRICS[i % 10]!.name}`;

/** Deterministic pseudo-random numbers (mulberry32), so every run builds the same data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = random(20261101);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const round = (n: number, d = 3) => Number(n.toFixed(d));
const sha = () => Array.from({ length: 40 }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
const kid = (n: number) => `K${String(n).padStart(4, '0')}`;

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString();

/** A target repo of ~150 tracked files: code, per-area YAML and JSON configs, deploy files. */
function makeRepo(dir: string): number {
  const repo = path.join(dir, 'repo');
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    writeFileSync(path.join(repo, rel), text);
  };
  for (const area of AREAS) {
    for (const mod of ['index', 'client', 'pool', 'metrics', 'handlers']) {
      write(
        `src/${area}/${mod}.ts`,
        `// ${area} ${mod}\nexport const ${mod} = { area: '${area}' };\n`.repeat(20),
      );
      write(`test/${area}/${mod}.test.ts`, `import { ${mod} } from '../../src/${area}/${mod}';\n`);
    }
    write(
      `config/${area}.yaml`,
      stringify({
        [area]: {
          enabled: true,
          pool: { size: int(4, 64), max_idle: int(1, 8), acquire_timeout_ms: int(100, 5000) },
          cache: { ttl_s: int(30, 3600), max_entries: int(1_000, 500_000) },
          retry: { attempts: int(1, 5), backoff_ms: [100, 400, 1600] },
          interval_ms: int(100, 60_000),
          log_level: pick(['info', 'warn', 'debug']),
        },
      }),
    );
    write(
      `config/${area}.json`,
      JSON.stringify(
        { workers: int(1, 32), batch_size: int(10, 5000), queue_depth: int(100, 100_000), gc: 'auto' },
        null,
        2,
      ),
    );
  }
  for (const f of ['Dockerfile', 'README.md', 'docs/architecture.md', 'docs/runbook.md', 'deploy/run.sh'])
    write(f, `# ${f}\n\nSee the docs.\n`);
  write('deploy/compose.yaml', stringify({ services: { app: { image: 'shop:latest', mem_limit: '2g' } } }));
  write('package.json', JSON.stringify({ name: 'shop', version: '3.4.1', type: 'module' }, null, 2));
  write('tsconfig.json', JSON.stringify({ compilerOptions: { strict: true } }, null, 2));
  write('.env', 'DATABASE_URL=postgres://shop:hunter2@db/shop\n');
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  return git(repo, 'ls-files').split('\n').filter(Boolean).length;
}

function writeConfig(dir: string, repo: string): string {
  const signals = Array.from({ length: SIGNALS }, (_, i) => {
    const m = METRICS[i % 10]!;
    return {
      name: signalName(i),
      description: `${m.name.replace(/_/g, ' ')} of the ${AREAS[Math.floor(i / 10)]} component, as the service reports it`,
      source: { kind: 'file-age', path: `probe/${signalName(i)}`, ifMissing: 'zero' },
      unit: m.unit,
      direction: m.direction,
      area: AREAS[Math.floor(i / 10)],
      // A third of the signals have a threshold; a few of them sit in alert at the end.
      ...(i % 3 === 0 ? { alert: { above: i % 9 === 0 ? 45 : 64 } } : {}),
    };
  });
  const file = path.join(dir, 'kaizen.yaml');
  writeFileSync(
    file,
    stringify({ dataDir: 'data', timeZone: 'UTC', target: { name: TARGET, repo }, signals }),
  );
  return file;
}

/** A year of 5-minute samples as retention leaves them: hourly rollups older than 14 days, raw after. */
function fillSamples(rt: Runtime, target: TargetConfig): { raw: number; hourly: number } {
  const { store } = rt;
  const ids = [...store.catalog.sync(target, NOW - 366 * DAY).values()].map((r) => r.id);
  const start = NOW - 365 * DAY;
  const rawFrom = NOW - 14 * DAY;
  const insertHourly = store.db.prepare(
    'INSERT INTO samples_hourly (signal_id, hour, n, errors, sum, min, max, median) VALUES (?, ?, 12, 0, ?, ?, ?, ?)',
  );
  const setRolled = store.db.prepare(
    'INSERT OR REPLACE INTO rollup_state (signal_id, rolled_until) VALUES (?, ?)',
  );
  const value = (id: number, t: number) => 50 + 10 * Math.sin(t / (6 * HOUR_MS) + id) + (t % 7);
  store.db.transaction(() => {
    for (const id of ids) {
      for (let h = start; h < rawFrom; h += HOUR_MS) {
        const v = value(id, h);
        insertHourly.run(id, h, v * 12, v - 3, v + 3, v);
      }
      setRolled.run(id, rawFrom);
    }
  })();
  for (const id of ids) {
    const batch = [];
    for (let t = rawFrom; t < NOW; t += FIVE_MIN) batch.push({ signalId: id, t, value: value(id, t) });
    store.samples.insert(batch);
  }
  store.samples.rollup(NOW);
  return {
    raw: store.db.prepare('SELECT COUNT(*) FROM samples').pluck().get() as number,
    hourly: store.db.prepare('SELECT COUNT(*) FROM samples_hourly').pluck().get() as number,
  };
}

// ---- lessons ----------------------------------------------------------------------------------

const WHEN = [
  (s: string, a: string) =>
    `${s} stays above its alert threshold for more than 30 minutes while the ${a} pool is saturated and requests queue behind it`,
  (s: string, a: string) =>
    `the ${a} component restarts more than twice an hour and ${s} climbs within minutes of each restart, usually after a deploy`,
  (s: string, a: string) =>
    `traffic doubles during the evening peak and ${s} rises faster than throughput in ${a}, with no change in error rate`,
  (s: string, a: string) =>
    `a config change to ${a} shortened a timeout or interval and ${s} started drifting up over the next day`,
  (s: string, a: string) =>
    `${s} shows a sawtooth pattern with a period of about an hour, matching the ${a} cache expiry cycle`,
];
const PREFER = [
  (a: string) =>
    `raise the ${a} pool size in small steps (at most 50 % at a time) before touching timeouts; keep acquire_timeout_ms as it is`,
  (a: string) =>
    `lengthen the ${a} cache TTL and cap max_entries instead of adding workers; more workers only move the contention`,
  (a: string) =>
    `batch writes in ${a} (batch_size 200 to 500) rather than lowering interval_ms, and watch the backlog for a day`,
  (a: string) =>
    `restart the ${a} workers through the runbook action first; a code change is the second step, not the first`,
  (a: string) =>
    `lower the ${a} log level to warn; debug logging cost more CPU than the feature it was meant to diagnose`,
];
const BECAUSE = [
  (s: string) =>
    `three earlier attempts that changed timeouts first made ${s} worse: shorter timeouts turned slow requests into retries, and the retries doubled the load on an already saturated pool`,
  (s: string) =>
    `the bottleneck has been lock contention every time it was measured, not CPU; adding capacity upstream of the lock moved ${s} by less than the noise of a normal day`,
  (s: string) =>
    `${s} follows the cache hit ratio closely (correlation above 0.8 over the last quarter), so anything that keeps entries warm helps more than anything that speeds up a miss`,
  (s: string) =>
    `the memory growth comes from a per-request buffer that is only released on restart; until the leak is fixed, a restart is the cheapest and safest relief for ${s}`,
];
const FALSIFIABLE = [
  (s: string) =>
    `${s} falls by at least 15 % within the validation window after the change; if it does not, or if the error rate rises, the lesson is wrong here`,
  (s: string) =>
    `after the change ${s} no longer crosses its threshold during the evening peak for three days in a row`,
  (s: string) =>
    `the 24 h median of ${s} moves in the predicted direction by more than a quarter of the predicted magnitude`,
];
const CALIBRATED = [
  'a 4-core VM with 8 GiB of memory, Postgres 15 on the same host, about 300 requests per second at peak',
  'the production cluster of three nodes behind the load balancer, traffic of a normal weekday',
  'the staging environment with replayed production traffic at half speed',
];

function makeLessons(): Lesson[] {
  const targetSignals = Array.from({ length: SIGNALS }, (_, i) => signalName(i));
  const foreignSignals = FOREIGN_AREAS.flatMap((a) => METRICS.map((m) => `${a}_${m.name}`));
  const lessons: Lesson[] = [];
  for (let i = 0; i < LESSONS; i++) {
    const x = rnd();
    // Scope: 8 % everywhere, 4 % the target, 25 % one of its areas, 20 % one of its signals, the
    // rest about other systems (these never match unless their signals or areas do).
    const scope =
      x < 0.08
        ? pick(['*', 'all', 'global'])
        : x < 0.12
          ? TARGET
          : x < 0.37
            ? pick(AREAS)
            : x < 0.57
              ? pick(targetSignals)
              : pick([...FOREIGN_AREAS, ...foreignSignals.slice(0, 20), 'warehouse-api', 'ledger']);
    const area = AREAS.includes(scope) ? scope : pick(rnd() < 0.5 ? AREAS : FOREIGN_AREAS);
    const signal = targetSignals.includes(scope) ? scope : `${area}_${pick(METRICS).name}`;
    const input: LessonInput = {
      id: `L${String(i + 1).padStart(4, '0')}`,
      scope,
      when: pick(WHEN)(signal, area),
      prefer: pick(PREFER)(area),
      because: pick(BECAUSE)(signal),
      falsifiable: pick(FALSIFIABLE)(signal),
      ...(rnd() < 0.6 ? { calibrated_for: pick(CALIBRATED) } : {}),
      ...(rnd() < 0.1 ? { retired_when: `the ${area} component is replaced by the managed service` } : {}),
      source: pick(['human', 'distilled', 'distilled', 'imported'] as const),
      evidence: Array.from({ length: int(0, 3) }, () => kid(int(1, INTERVENTIONS))),
      status: rnd() < 0.1 ? 'retired' : 'active',
      created_at: new Date(NOW - int(1, 400) * DAY).toISOString().slice(0, 10),
      ...(rnd() < 0.3
        ? { signals: [signal, ...(rnd() < 0.3 ? [pick(rnd() < 0.5 ? targetSignals : foreignSignals)] : [])] }
        : {}),
      ...(rnd() < 0.25 ? { areas: [area] } : {}),
      ...(rnd() < 0.05
        ? { scan: { pattern: 'acquire_timeout_ms:\\s*\\d{1,2}$', files: `config/${area}.yaml` } }
        : {}),
    };
    lessons.push(Lesson.parse(input));
  }
  return lessons;
}

// ---- interventions ----------------------------------------------------------------------------

type Outcome = 'rejected' | 'validated' | 'no_effect' | 'reverted' | 'rolled_back';

function outcomeFor(k: number): Outcome {
  // The last three interventions of the queue area were undone: that area is frozen now.
  if (k >= INTERVENTIONS - 3) return k % 2 === 0 ? 'rolled_back' : 'reverted';
  const x = rnd();
  return x < 0.25
    ? 'rejected'
    : x < 0.55
      ? 'validated'
      : x < 0.75
        ? 'no_effect'
        : x < 0.87
          ? 'reverted'
          : 'rolled_back';
}

function makeProposal(k: number): Proposal {
  // The queue area's last three are the newest of the target; none of it comes just before them,
  // so they are also its three most recently finished (what the freeze looks at).
  const area =
    k >= INTERVENTIONS - 3
      ? 'queue'
      : k >= INTERVENTIONS - 10
        ? pick(AREAS.filter((a) => a !== 'queue'))
        : pick(AREAS);
  const m = METRICS[int(0, 9)]!;
  const signal = `${area}_${m.name}`;
  const kindRoll = rnd();
  const kind = kindRoll < 0.7 ? 'config_set' : kindRoll < 0.92 ? 'edit' : 'runbook';
  const better = m.direction === 'lower_is_better' ? 'down' : 'up';
  const changes: ProposalInput['changes'] =
    kind === 'config_set'
      ? [
          {
            kind,
            path: `config/${area}.yaml`,
            key: pick([
              `${area}.pool.size`,
              `${area}.cache.ttl_s`,
              `${area}.interval_ms`,
              `${area}.retry.attempts`,
            ]),
            value: int(2, 5000),
          },
        ]
      : kind === 'edit'
        ? [
            {
              kind,
              path: `src/${area}/${pick(['pool', 'client', 'handlers'])}.ts`,
              search: `export const pool = { area: '${area}' };`,
              replace: `export const pool = { area: '${area}', size: ${int(4, 64)} };`,
            },
          ]
        : [{ kind, action: pick(['restart_workers', 'flush_cache', 'rotate_logs']), params: {} }];
  return Proposal.parse({
    title: `${kind === 'runbook' ? 'Run' : 'Tune'} ${area}: ${pick(['raise the pool size', 'lengthen the cache TTL', 'batch the writes', 'restart the workers', 'lower the retry count'])} to bring ${signal} ${better}`,
    area,
    kind,
    changes,
    hypothesis: `${signal} has been ${better === 'down' ? 'rising' : 'falling'} for ${int(2, 9)} days while traffic stayed flat; the ${area} pool is saturated at peak and requests wait for a connection. Giving the pool more room should bring ${signal} back ${better} without raising the error rate.`,
    prediction: { signal, direction: better, magnitude: round(0.05 + rnd() * 0.35, 2), relative: true },
    risk: pick(['low', 'low', 'medium', 'high'] as const),
    validationWindow: '6h',
    rollback: 'git revert of the change commit, then redeploy',
    citesLessons: rnd() < 0.4 ? [`L${String(int(1, LESSONS)).padStart(4, '0')}`] : [],
    arguesAgainst:
      rnd() < 0.1
        ? [
            {
              lesson: `L${String(int(1, LESSONS)).padStart(4, '0')}`,
              why: 'the pool is not the bottleneck here: CPU is',
            },
          ]
        : [],
    trigger: rnd() < 0.5 ? `alert on ${signal}` : 'scheduled propose cycle',
  });
}

function guardOf(p: Proposal, decision: 'pass' | 'reject'): GuardOutcome {
  const risk = {
    declared: p.risk,
    floor: p.risk,
    effective: p.risk,
    reasons: [
      `${p.changes.length} change(s) to ${p.kind === 'runbook' ? 'a runbook action' : 'config or code'}`,
    ],
  };
  const ids = [
    'kind',
    'path',
    'dedup',
    'repeat',
    'applies',
    'freeze',
    'concurrency',
    'rollback',
    'budget',
    'canary',
    'approval',
  ];
  const rejectAt = decision === 'reject' ? int(2, ids.length - 1) : ids.length;
  const checks = ids.slice(0, Math.min(rejectAt + 1, ids.length)).map((check, i) =>
    i === rejectAt
      ? {
          check,
          decision: 'reject' as const,
          reason: `the same change failed within the last 30 days (${kid(int(1, INTERVENTIONS))})`,
        }
      : { check, decision: 'pass' as const, reason: 'ok' },
  );
  return decision === 'reject'
    ? { decision, reasons: [`${checks.at(-1)!.check}: ${checks.at(-1)!.reason}`], risk, checks }
    : { decision, risk, checks };
}

function verdictOf(outcome: 'validated' | 'no_effect' | 'reverted', p: Proposal, at: number): Verdict {
  const pred = p.prediction;
  const sign = (d: 'up' | 'down') => (d === 'up' ? 1 : -1);
  const baselineMedian = round(20 + rnd() * 200, 2);
  let rule: string;
  let rel: number;
  let alertCrossings: Verdict['alertCrossings'] = [];
  if (outcome === 'validated') {
    rule = 'predicted_effect';
    rel = sign(pred.direction) * pred.magnitude * (0.4 + rnd());
  } else if (outcome === 'no_effect') {
    rule = rnd() < 0.7 ? 'not_significant' : 'below_tolerance';
    rel = rule === 'below_tolerance' ? sign(pred.direction) * pred.magnitude * 0.15 : (rnd() - 0.5) * 0.02;
  } else {
    rule = rnd() < 0.6 ? 'opposite_effect' : 'alert_crossing';
    rel = -sign(pred.direction) * (0.05 + rnd() * 0.3);
    if (rule === 'alert_crossing')
      alertCrossings = [
        { signal: `${p.area}_error_rate`, value: 0.07, threshold: '> 0.05', t: at - 5 * MINUTE },
      ];
  }
  const after = round(baselineMedian * (1 + rel), 2);
  const moved = rule === 'not_significant' ? 'none' : rel > 0 ? 'up' : 'down';
  const better = moved === 'none' ? null : moved === pred.direction;
  const shift = round(after - baselineMedian, 3);
  const v = {
    outcome,
    rule,
    reason:
      rule === 'not_significant'
        ? `${pred.signal} did not move significantly (p = 0.41 two-sided; median ${baselineMedian} → ${after}); predicted ${pred.direction} ${round(pred.magnitude * 100, 1)} %`
        : rule === 'alert_crossing'
          ? `${p.area}_error_rate crossed its alert threshold (> 0.05) during the validation window: reverted whatever the prediction`
          : `${pred.signal} moved ${moved} ${round(Math.abs(rel) * 100, 1)} % (median ${baselineMedian} → ${after}, p < 0.001 two-sided); predicted ${pred.direction} ${round(pred.magnitude * 100, 1)} %`,
    signal: pred.signal,
    baseline: { n: 288, median: baselineMedian },
    after: { n: 72, median: after },
    points: { baseline: 288, after: 72 },
    predicted: { direction: pred.direction, magnitude: pred.magnitude, relative: pred.relative },
    criteria: { confidence: 0.98, tolerance: 0.25, minPoints: 50 },
    alertCrossings,
    pValue: {
      predicted: rule === 'not_significant' ? 0.2 : 0.0004,
      twoSided: rule === 'not_significant' ? 0.41 : 0.0008,
    },
    shift: {
      estimate: shift,
      lower: round(shift - Math.abs(shift) * 0.3 - 0.5, 3),
      upper: round(shift + Math.abs(shift) * 0.3 + 0.5, 3),
    },
    relativeChange: round(rel, 4),
    actual: { magnitude: moved === 'none' ? null : round(Math.abs(rel), 4), direction: moved, better },
  };
  return Verdict.parse(v);
}

/** 10 000 interventions through InterventionStore.create / transition, as the loop moves them. */
function fillInterventions(rt: Runtime): { interventions: number; transitions: number; byState: string } {
  const iv = rt.store.interventions;
  const start = NOW - 365 * DAY;
  // One every ~52 minutes over the year; each is judged 6 h after its apply, before now.
  const step = (365 * DAY - 8 * HOUR_MS) / INTERVENTIONS;
  const deploy = (at: number) => ({
    deploy: {
      ok: true,
      exitCode: 0,
      signal: null,
      timedOut: false,
      aborted: false,
      output: 'deployed shop 3.4.1\n',
      durationMs: 41_000,
    },
    health: { healthy: true, attempts: [{ at, ok: true, status: 200, latencyMs: 18 }] },
  });
  rt.store.db.transaction(() => {
    for (let k = 0; k < INTERVENTIONS; k++) {
      const t = start + Math.floor((k + 0.5) * step);
      const outcome = outcomeFor(k);
      const proposal = makeProposal(k);
      const created = iv.create(
        {
          target: TARGET,
          proposal,
          fingerprint: fingerprint(proposal),
          origin: pick(['rules', 'anthropic:claude-sonnet-4-5', 'openai:gpt-4.1-mini', 'alice']),
          baseSha: sha(),
          actor: 'kaizen',
          reason: 'proposed',
        },
        t,
      );
      const id = created.id;
      if (outcome === 'rejected') {
        const guard = guardOf(proposal, 'reject');
        const reason = guard.decision === 'reject' ? guard.reasons.join('; ') : '';
        iv.transition(id, 'rejected', t + 1000, 'kaizen', reason, {
          guard,
          risk: guard.risk.effective,
        });
        continue;
      }
      const guard = guardOf(proposal, 'pass');
      iv.transition(id, 'applying', t + 1000, 'kaizen', 'every guard check passed', {
        guard,
        risk: guard.risk.effective,
        waitingReason: null,
      });
      const commitSha = sha();
      iv.patch(id, { preApplySha: sha(), commitSha }, t + 5000);
      if (outcome === 'rolled_back') {
        const reason = 'health check failed: status 503, expected 200';
        iv.transition(id, 'rolled_back', t + 3 * MINUTE, 'kaizen', reason, {
          revertSha: sha(),
          applyLog: {
            ...deploy(t + 2 * MINUTE),
            rollback: { reason, detectedAt: t + 2 * MINUTE, revertSha: sha(), finishedAt: t + 3 * MINUTE },
          },
        });
        continue;
      }
      iv.transition(
        id,
        'applied',
        t + 2 * MINUTE,
        'kaizen',
        `committed ${commitSha.slice(0, 7)} and healthy`,
        {
          appliedAt: t + 2 * MINUTE,
          windowMs: 6 * HOUR_MS,
          applyLog: deploy(t + 2 * MINUTE),
        },
      );
      const at = t + 2 * MINUTE + 6 * HOUR_MS;
      if (outcome === 'reverted' && rnd() < 0.3) {
        // Reverted by a person: no verdict.
        iv.transition(id, 'reverted', t + 2 * HOUR_MS, 'alice', 'made checkout flaky', { revertSha: sha() });
        continue;
      }
      const verdict = verdictOf(outcome, proposal, at);
      iv.transition(id, outcome, at, 'kaizen', verdict.reason, {
        verdict,
        ...(outcome === 'reverted' ? { revertSha: sha() } : {}),
      });
    }
  })();
  const count = (sql: string) => rt.store.db.prepare(sql).pluck().get() as number;
  const byState = (
    rt.store.db
      .prepare('SELECT state, COUNT(*) AS n FROM interventions GROUP BY state ORDER BY n DESC')
      .all() as { state: string; n: number }[]
  )
    .map((r) => `${r.state} ${r.n}`)
    .join(', ');
  return {
    interventions: count('SELECT COUNT(*) FROM interventions'),
    transitions: count('SELECT COUNT(*) FROM intervention_transitions'),
    byState,
  };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizen-bench-propose-'));
  const t0 = performance.now();
  const files = makeRepo(dir);
  const config = loadConfig(writeConfig(dir, path.join(dir, 'repo')));
  const clock = new SimulatedClock(NOW);
  const rt = compose(config, { clock, logger: silentLogger() });
  const target = config.targets[0]!;
  const samples = fillSamples(rt, target);
  const t1 = performance.now();
  const stored = fillInterventions(rt);
  const t2 = performance.now();
  const lessons = makeLessons();
  const t3 = performance.now();

  const input = () => buildProposerInput(rt, target, { lessons });
  const digest = () => buildDigest(rt, target, { staleAfterMs: 3 * config.schedule.observeMs });
  const full = await medianMs(5, input);
  const digestOnly = await medianMs(5, digest);
  const out = input();

  figure(
    'setup: signals × raw-equivalent 5-min samples (1 y)',
    `${SIGNALS} × ${fmt((365 * DAY) / FIVE_MIN, 0)}`,
  );
  figure(
    'setup: sample rows kept (raw 14 d + hourly 1 y)',
    `${fmt(samples.raw, 0)} + ${fmt(samples.hourly, 0)}`,
  );
  figure(
    'setup: interventions + transitions rows',
    `${fmt(stored.interventions, 0)} + ${fmt(stored.transitions, 0)}`,
  );
  console.log(`setup: interventions by state: ${stored.byState}`);
  figure(
    'setup: lessons (active / retired)',
    `${fmt(lessons.filter((l) => l.status === 'active').length, 0)} / ${fmt(lessons.filter((l) => l.status === 'retired').length, 0)}`,
  );
  figure('setup: tracked repo files', fmt(files, 0));
  figure(
    'setup: samples / interventions / lessons generated in (s)',
    `${fmt((t1 - t0) / 1000)} / ${fmt((t2 - t1) / 1000)} / ${fmt((t3 - t2) / 1000)}`,
  );

  figure('buildDigest alone, 100 signals (ms, median of 5) [baseline]', fmt(digestOnly, 1));
  figure('buildProposerInput, 5 000 lessons (ms, median of 5)', fmt(full, 1), '≤ 200');
  figure('  of which beyond the digest (ms)', fmt(full - digestOnly, 1));
  figure('ratio full path / digest alone', fmt(full / digestOnly, 2));

  const contextBudget = Math.max(
    500,
    config.proposer.contextTokens - Math.ceil(out.prompt.system.length / 4) - 200,
  );
  const promptTokens = estimateTokens(out.prompt.system) + estimateTokens(out.text);
  figure(
    'context tokens / context budget',
    `${fmt(out.context.tokens, 0)} / ${fmt(contextBudget, 0)}`,
    '≤ budget',
  );
  figure(
    'whole prompt tokens (system + user) / proposer.contextTokens',
    `${fmt(promptTokens, 0)} / ${fmt(config.proposer.contextTokens, 0)}`,
    '≤ budget',
  );
  figure('prompt characters (system + user)', fmt(out.prompt.system.length + out.text.length, 0));
  for (const s of out.context.sections) {
    figure(
      `  section ${s.name}: tokens; items kept / left out`,
      `${fmt(s.tokens, 0)}; ${fmt(s.items, 0)} / ${fmt(s.trimmed, 0)}`,
    );
  }
  tokenEstimateError({ 'system prompt': out.prompt.system, 'user prompt (the context)': out.text });
  rt.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * How far estimateTokens lands from real tokenizers on the prompts this bench built. Claude's
 * tokenizer is not published; OpenAI's o200k_base and cl100k_base are, so they stand in for it.
 * A ratio above 1 is an over-count: the budget keeps headroom.
 */
function tokenEstimateError(texts: Record<string, string>): void {
  const encodings = { o200k_base: getEncoding('o200k_base'), cl100k_base: getEncoding('cl100k_base') };
  for (const [name, text] of Object.entries(texts)) {
    const estimate = estimateTokens(text);
    const real = Object.entries(encodings).map(([enc, e]) => `${enc} ${fmt(e.encode(text).length, 0)}`);
    const ratios = Object.values(encodings).map((e) => fmt(estimate / e.encode(text).length, 2));
    figure(`token estimate vs real tokenizers, ${name}`, `${fmt(estimate, 0)} vs ${real.join(', ')}`);
    figure(`  ratio estimate / real (o200k, cl100k)`, ratios.join(', '));
  }
}
