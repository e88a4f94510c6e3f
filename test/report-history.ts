import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimulatedClock } from '../src/clock.js';
import { compose, type Runtime } from '../src/compose.js';
import { areaFreeze } from '../src/guard/freeze.js';
import { loadPolicy } from '../src/guard/policy.js';
import { writeLessonFile } from '../src/learn/lesson-files.js';
import { silentLogger } from '../src/logger.js';
import { Lesson, type LessonInput } from '../src/propose/context/lesson.js';
import { fingerprint, Proposal } from '../src/propose/proposal.js';
import { judge } from '../src/validate/verdict.js';
import { writeConfig } from './helpers/config.js';

/*
 * A realistic store for the weekly report: nine weeks of one target's life, written through the
 * store's own API with a simulated clock, so the report reads exactly what kaizen would have
 * written. The report week is 2026-W47 (16–22 Nov 2026, UTC); "now" is Tuesday of W48.
 *
 * The story:
 *  - five signals sampled every 2 minutes; their levels change when the script says so, with 3 %
 *    seeded noise;
 *  - W40–W44: proposer.v1 on claude-sonnet-4-5, well calibrated (one no effect, one reverted);
 *  - W45–W47: proposer.v2 on the same model promises more than it delivers;
 *  - W47: a p95 incident fixed by a validated change; three rollbacks in area worker that freeze
 *    it (with an escalation) while the queue alerts; disk_free_gb alerts twice with no proposal;
 *    a proposal citing a lesson with a scan rule; two backlog items; lessons created and retired.
 * Every verdict comes from the real judge on the stored samples; the script says what it expects
 * and the fixture fails loudly if the judge disagrees, so the story stays true.
 */

export const REPORT_WEEK = '2026-W47';
export const WEEK_START = Date.UTC(2026, 10, 16);
export const WEEK_END = Date.UTC(2026, 10, 23);
export const NOW = Date.UTC(2026, 10, 24, 9, 0);
const HISTORY_START = Date.UTC(2026, 8, 21); // Monday of W39
const SAMPLE_EVERY = 2 * 60_000;
const WINDOW = 2 * 3_600_000;
const MIN = 60_000;
const HOUR = 3_600_000;

export const SIGNALS = {
  p95_ms: { unit: 'ms', direction: 'lower_is_better', area: 'api', alert: { above: 800 }, base: 400 },
  error_rate: {
    unit: 'ratio',
    direction: 'lower_is_better',
    area: 'api',
    alert: { above: 0.05 },
    base: 0.01,
  },
  queue_depth: {
    unit: 'jobs',
    direction: 'lower_is_better',
    area: 'worker',
    alert: { above: 500 },
    base: 200,
  },
  cache_hit: {
    unit: 'ratio',
    direction: 'higher_is_better',
    area: 'cache',
    alert: { below: 0.6 },
    base: 0.75,
  },
  disk_free_gb: {
    unit: 'GB',
    direction: 'higher_is_better',
    area: 'storage',
    alert: { below: 10 },
    base: 40,
  },
} as const;
type SignalName = keyof typeof SIGNALS;

type Fate = 'validated' | 'no_effect' | 'reverted' | 'rolled_back' | 'failed' | 'rejected' | 'backlog';
type Origin = 'v1' | 'v2' | 'rules' | 'alice';

interface Scripted {
  at: number;
  title: string;
  area: string;
  signal: SignalName;
  direction: 'up' | 'down';
  magnitude: number;
  origin: Origin;
  fate: Fate;
  /** Level of the signal from 3 h before the apply (a degradation the change answers). */
  before?: number;
  /** Level from the apply on. */
  after?: number;
  cites?: string[];
  argues?: { lesson: string; why: string }[];
  reason?: string;
}

const ORIGINS: Record<
  Origin,
  { origin: string; event: Record<string, unknown> | null; usage?: { promptVersion: string } }
> = {
  v1: {
    origin: 'anthropic:claude-sonnet-4-5',
    event: { provider: 'anthropic', model: 'claude-sonnet-4-5', promptVersion: 'proposer.v1' },
    usage: { promptVersion: 'proposer.v1' },
  },
  v2: {
    origin: 'anthropic:claude-sonnet-4-5',
    event: { provider: 'anthropic', model: 'claude-sonnet-4-5', promptVersion: 'proposer.v2' },
    usage: { promptVersion: 'proposer.v2' },
  },
  rules: { origin: 'rules', event: { provider: 'rules', model: null, promptVersion: 'proposer.v1' } },
  alice: { origin: 'alice', event: null },
};

const day = (week: number, weekday: number, hour: number, minute = 0) =>
  Date.UTC(2026, 8, 21) + ((week - 39) * 7 + weekday - 1) * 86_400_000 + hour * HOUR + minute * MIN;

/** The scripted interventions, by proposal time. */
export function script(): Scripted[] {
  const out: Scripted[] = [];
  for (let w = 40; w <= 44; w++) {
    // W42 and W44 answer an alert (p95 above 800 from 3 h before the change): the MTTR trend.
    const incident = w === 42 || w === 44;
    out.push({
      at: day(w, 2, 10),
      title: `Raise the API connection pool (week ${w})`,
      area: 'api',
      signal: 'p95_ms',
      direction: 'down',
      magnitude: incident ? 0.55 : 0.3,
      origin: 'v1',
      fate: 'validated',
      before: incident ? 900 : 590,
      after: 400,
      cites: ['L9001'],
    });
    const second: Scripted =
      w === 42
        ? {
            at: day(w, 4, 14),
            title: 'Batch the worker acknowledgements',
            area: 'worker',
            signal: 'queue_depth',
            direction: 'down',
            magnitude: 0.3,
            origin: 'v1',
            fate: 'no_effect',
          }
        : w === 43
          ? {
              at: day(w, 4, 14),
              title: 'Shorten the cache TTL',
              area: 'cache',
              signal: 'cache_hit',
              direction: 'up',
              magnitude: 0.2,
              origin: 'v1',
              fate: 'reverted',
              after: 0.67,
            }
          : {
              at: day(w, 4, 14),
              title: `Warm the cache at start (week ${w})`,
              area: 'cache',
              signal: 'cache_hit',
              direction: 'up',
              magnitude: 0.1,
              origin: 'v1',
              fate: 'validated',
              before: 0.68,
              after: 0.75,
              cites: ['L9001'],
            };
    out.push(second);
  }
  for (const w of [45, 46]) {
    out.push(
      {
        at: day(w, 2, 10),
        title: `Cache the price lookups (week ${w})`,
        area: 'api',
        signal: 'p95_ms',
        direction: 'down',
        magnitude: 0.5,
        origin: 'v2',
        fate: 'validated',
        before: 480,
        after: 400,
        cites: ['L9002'],
      },
      {
        at: day(w, 4, 14),
        title: `Double the worker threads (week ${w})`,
        area: 'worker',
        signal: 'queue_depth',
        direction: 'down',
        magnitude: 0.4,
        origin: 'v2',
        fate: 'no_effect',
      },
    );
  }
  out.push({
    at: day(46, 4, 12),
    title: 'Restart the scanner nightly',
    area: 'scanner',
    signal: 'p95_ms',
    direction: 'down',
    magnitude: 0.1,
    origin: 'rules',
    fate: 'backlog',
    reason: 'needs approval: runbook restarts need a person (guard approval)',
  });
  // The report week.
  out.push(
    {
      at: day(47, 1, 10, 50),
      title: 'Raise the API connection pool to 64',
      area: 'api',
      signal: 'p95_ms',
      direction: 'down',
      magnitude: 0.5,
      origin: 'v2',
      fate: 'validated',
      after: 400,
      cites: ['L9002'],
      argues: [
        { lesson: 'L9001', why: 'the pool is already at the size L9001 recommends; the load doubled' },
      ],
    },
    {
      at: day(47, 2, 16),
      title: 'Move old uploads to cold storage',
      area: 'storage',
      signal: 'disk_free_gb',
      direction: 'up',
      magnitude: 0.3,
      origin: 'alice',
      fate: 'backlog',
      reason: 'blocked on missing canary: risk medium needs a canary for area storage',
    },
    {
      at: day(47, 3, 9),
      title: 'Turn the cache on',
      area: 'cache',
      signal: 'cache_hit',
      direction: 'up',
      magnitude: 0.2,
      origin: 'rules',
      fate: 'rejected',
      reason: 'dedup: the same change was proposed 40 min ago (K0004)',
    },
    {
      at: day(47, 3, 14),
      title: 'Pre-compute the product pages',
      area: 'cache',
      signal: 'cache_hit',
      direction: 'up',
      magnitude: 0.5,
      origin: 'v2',
      fate: 'no_effect',
      before: 0.7,
      after: 0.72,
    },
    {
      at: day(47, 4, 10),
      // Characters that mean something in HTML and Markdown, as a real title may have them.
      title: 'Retry idempotent writes once while pool_size < 8 & p99 > 2 s',
      area: 'api',
      signal: 'error_rate',
      direction: 'down',
      magnitude: 0.4,
      origin: 'v2',
      fate: 'validated',
      before: 0.0118,
      after: 0.01,
      cites: ['L9003'],
    },
    {
      at: day(47, 5, 10),
      title: 'Lower the worker prefetch',
      area: 'worker',
      signal: 'queue_depth',
      direction: 'down',
      magnitude: 0.3,
      origin: 'v2',
      fate: 'rolled_back',
      reason: 'health check failed: 3 of 3 probes failed; last: HTTP 503',
    },
    {
      at: day(47, 6, 10),
      title: 'Split the worker queue',
      area: 'worker',
      signal: 'queue_depth',
      direction: 'down',
      magnitude: 0.3,
      origin: 'v2',
      fate: 'rolled_back',
      reason: 'deploy failed: exit 1: worker config invalid',
    },
    {
      at: day(47, 7, 8, 30),
      title: 'Scale the worker pool to 8',
      area: 'worker',
      signal: 'queue_depth',
      direction: 'down',
      magnitude: 0.4,
      origin: 'rules',
      fate: 'rolled_back',
      reason: 'health check failed: 2 of 3 probes failed; last: timeout',
    },
  );
  return out.sort((a, b) => a.at - b.at);
}

/** Level changes not caused by an intervention: incidents and the disk filling up. */
function incidents(): { at: number; signal: SignalName; level: number }[] {
  return [
    { at: day(45, 3, 20), signal: 'disk_free_gb', level: 9 },
    { at: day(45, 4, 1), signal: 'disk_free_gb', level: 35 },
    { at: day(47, 1, 9), signal: 'p95_ms', level: 950 }, // fixed by the Monday change
    { at: day(47, 4, 2), signal: 'disk_free_gb', level: 8 },
    { at: day(47, 4, 8), signal: 'disk_free_gb', level: 30 },
    { at: day(47, 6, 1), signal: 'disk_free_gb', level: 7 },
    { at: day(47, 6, 4, 30), signal: 'disk_free_gb', level: 25 },
    { at: day(47, 7, 7), signal: 'queue_depth', level: 700 }, // ends when the last rollback restores the old worker config
    { at: day(47, 7, 8, 50), signal: 'queue_depth', level: 200 },
  ];
}

export const LESSONS: LessonInput[] = [
  {
    id: 'L9001',
    scope: 'api',
    when: 'p95 latency rises with the connection pool saturated',
    prefer: 'raise the pool by half, not double it',
    because: 'the database accepts at most 200 connections',
    falsifiable: 'true iff p95 falls within 30 minutes',
    source: 'human',
    status: 'active',
    created_at: '2026-06-01',
  },
  {
    id: 'L9002',
    scope: 'api',
    when: 'the same lookups dominate the slow requests',
    prefer: 'cache them for a minute',
    because: 'prices change hourly',
    falsifiable: 'true iff p95 falls',
    source: 'distilled',
    evidence: ['K0001'],
    status: 'active',
    created_at: '2026-10-06',
  },
  {
    id: 'L9003',
    scope: 'api',
    when: 'pool_size is set below 8 in config',
    prefer: 'keep pool_size at 8 or more',
    because: 'a small pool makes writes time out under load',
    falsifiable: 'true iff error_rate falls after raising it',
    source: 'distilled',
    status: 'active',
    created_at: '2026-11-17',
    scan: { pattern: 'pool_size:\\s*[1-7]\\b', files: 'config/*.yaml' },
  },
  {
    id: 'L9004',
    scope: 'scanner',
    when: 'scanner RSS exceeds 2x baseline for 10 minutes',
    prefer: 'SIGTERM, wait 60 s, then SIGKILL',
    because: 'an immediate kill leaves shared mmap segments open',
    falsifiable: 'true iff RSS returns to baseline',
    source: 'human',
    status: 'retired',
    created_at: '2026-08-01',
    retired_at: '2026-11-19',
    retired_why: 'the scanner no longer uses mmap',
  },
  {
    id: 'L9005',
    scope: 'storage',
    when: 'disk free space falls under 10 GB',
    prefer: 'move old uploads to cold storage',
    because: 'uploads older than 90 days are rarely read',
    falsifiable: 'true iff free space rises above 20 GB',
    source: 'imported',
    imported_from: 'SHA256:abcdef0123456789',
    status: 'active',
    created_at: '2026-10-20',
  },
  {
    id: 'L9006',
    scope: 'worker',
    when: 'the queue grows while workers idle',
    prefer: 'look for a stuck consumer before adding workers',
    because: 'more workers do not drain a stuck partition',
    falsifiable: 'true iff queue depth falls after restarting the consumer',
    source: 'distilled',
    status: 'active',
    created_at: '2026-11-20',
  },
];

export interface History {
  rt: Runtime;
  /** The folder holding the config, the store and the reports. */
  dir: string;
  /** Close the store and remove the folder. */
  close(): void;
  clock: SimulatedClock;
  /** Intervention id of each scripted item, in script order. */
  ids: string[];
  scripted: Scripted[];
}

/** Seeded noise (mulberry32 → a sum of uniforms ≈ normal), so every run writes the same store. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => (uniform() + uniform() + uniform() + uniform() - 2) / 0.577;
}

/**
 * Build the store in `dir` (default: a new temporary folder). The folder outlives single tests (a
 * suite builds the history once in beforeAll), so `close()` removes it, not the per-test cleanup.
 */
export async function buildHistory(
  options: { dir?: string; config?: Record<string, unknown> } = {},
): Promise<History> {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'kaizen-report-'));
  mkdirSync(dir, { recursive: true });
  const config = writeConfig(
    {
      signals: Object.entries(SIGNALS).map(([name, s]) => ({
        name,
        source: { kind: 'file-age', path: `${name}.lock`, ifMissing: 'zero' },
        unit: s.unit,
        direction: s.direction,
        area: s.area,
        alert: s.alert,
      })),
      ...options.config,
    },
    dir,
  );
  const clock = new SimulatedClock(HISTORY_START);
  const rt = compose(config, { clock, logger: silentLogger() });
  const target = rt.config.targets[0]!;
  const policy = loadPolicy(rt.config, target);
  const rows = rt.store.catalog.sync(target, clock.now());
  mkdirSync(rt.config.lessonsDir, { recursive: true });

  const levels = Object.fromEntries(Object.entries(SIGNALS).map(([n, s]) => [n, s.base])) as Record<
    SignalName,
    number
  >;
  const rand = noise(47);
  let sampledUntil = HISTORY_START;
  const sampleUntil = (t: number) => {
    const batch = [];
    for (; sampledUntil < t; sampledUntil += SAMPLE_EVERY)
      for (const name of Object.keys(SIGNALS) as SignalName[])
        batch.push({
          signalId: rows.get(name)!.id,
          t: sampledUntil,
          value: levels[name] * (1 + 0.03 * rand()),
        });
    rt.store.samples.insert(batch);
  };

  const queue: { at: number; seq: number; run: () => void }[] = [];
  let seq = 0;
  const at = (t: number, run: () => void) => queue.push({ at: t, seq: seq++, run });
  for (const i of incidents()) at(i.at, () => (levels[i.signal] = i.level));
  for (const l of LESSONS) {
    const { retired_at, retired_why: _why, ...active } = l;
    const write = (lesson: LessonInput) => writeLessonFile(rt.config.lessonsDir, Lesson.parse(lesson));
    const created = Date.parse(`${String(l.created_at)}T08:00:00Z`);
    if (created < HISTORY_START) write({ ...active, status: 'active' });
    else at(created, () => write({ ...active, status: 'active' }));
    if (retired_at) at(Date.parse(`${String(retired_at)}T09:00:00Z`), () => write(l));
  }

  const scripted = script();
  const ids: string[] = [];
  scripted.forEach((s, n) => {
    const applying = s.at + 10 * MIN;
    const live = applying + 5 * MIN;
    if (s.before !== undefined) at(live - 3 * HOUR, () => (levels[s.signal] = s.before!));
    at(s.at, () => {
      const proposal = Proposal.parse({
        title: s.title,
        area: s.area,
        kind: 'config_set',
        changes: [{ kind: 'config_set', path: `config/${s.area}.yaml`, key: 'tuning.step', value: n }],
        hypothesis: `${s.signal} should move ${s.direction} by ${s.magnitude * 100} %.`,
        prediction: { signal: s.signal, direction: s.direction, magnitude: s.magnitude },
        risk: s.origin === 'alice' ? 'medium' : 'low',
        rollback: 'git revert of the commit',
        citesLessons: s.cites ?? [],
        arguesAgainst: s.argues ?? [],
      });
      const o = ORIGINS[s.origin];
      const iv = rt.store.interventions.create(
        {
          target: 'app',
          proposal,
          fingerprint: fingerprint(proposal),
          origin: o.origin,
          baseSha: 'a'.repeat(40),
          actor: s.origin === 'alice' ? 'alice' : 'kaizen',
          reason: `proposed by ${o.origin}`,
        },
        clock.now(),
      );
      ids[n] = iv.id;
      if (o.event)
        rt.store.events.append(clock.now(), {
          kind: 'proposal_origin',
          target: 'app',
          interventionId: iv.id,
          data: o.event,
        });
      if (o.usage)
        rt.store.usage.record({
          t: clock.now(),
          target: 'app',
          task: 'proposer',
          provider: 'anthropic',
          model: 'claude-sonnet-4-5',
          promptVersion: o.usage.promptVersion,
          inputTokens: 3000,
          outputTokens: 600,
          latencyMs: 4200,
          outcome: 'ok',
        });
      if (s.fate === 'rejected')
        rt.store.interventions.transition(iv.id, 'rejected', clock.now(), 'kaizen', s.reason!);
      if (s.fate === 'backlog')
        rt.store.interventions.transition(iv.id, 'backlog', clock.now(), 'kaizen', s.reason!, {
          waitingReason: s.reason!,
        });
    });
    if (s.fate === 'rejected' || s.fate === 'backlog') return;
    at(applying, () =>
      rt.store.interventions.transition(
        ids[n]!,
        'applying',
        clock.now(),
        'kaizen',
        'every guard check passed',
      ),
    );
    if (s.fate === 'rolled_back') {
      at(live, () => {
        const id = ids[n]!;
        rt.store.interventions.transition(id, 'rolled_back', clock.now(), 'kaizen', s.reason!, {
          revertSha: 'c'.repeat(40),
        });
        rt.store.events.append(clock.now(), {
          kind: 'rolled_back',
          target: 'app',
          interventionId: id,
          data: { failure: s.reason, healthyAfter: n !== scripted.length - 1 },
        });
        if (n === scripted.length - 1)
          rt.store.events.append(clock.now(), {
            kind: 'escalation',
            target: 'app',
            interventionId: id,
            data: { why: 'the target is still unhealthy after the rollback: a person is needed' },
          });
        // What the apply stage does after a rollback (announceRollback): freeze the area on the third.
        const freeze = areaFreeze(rt.store, 'app', s.area, policy, clock.now());
        if (freeze && freeze.interventions[0] === id)
          rt.store.events.append(clock.now(), {
            kind: 'area_frozen',
            target: 'app',
            interventionId: id,
            data: { ...freeze },
          });
      });
      return;
    }
    at(live, () => {
      if (s.after !== undefined) levels[s.signal] = s.after;
      rt.store.interventions.transition(
        ids[n]!,
        'applied',
        clock.now(),
        'kaizen',
        `committed ${'b'.repeat(7)} and healthy`,
        { appliedAt: clock.now(), windowMs: WINDOW, commitSha: 'b'.repeat(40) },
      );
    });
    at(live + WINDOW, () => {
      const id = ids[n]!;
      const signalId = rows.get(s.signal)!.id;
      const baseline = rt.store.samples.valuesBefore(signalId, applying, 50).map((v) => v.value);
      const after = rt.store.samples.values(signalId, live, live + WINDOW + 1).map((v) => v.value);
      const verdict = judge({
        baseline,
        after,
        prediction: { signal: s.signal, direction: s.direction, magnitude: s.magnitude, relative: true },
        signalDirection: SIGNALS[s.signal].direction,
        confidence: rt.config.validation.confidence,
        tolerance: rt.config.validation.tolerance,
        minPoints: 50,
        alertCrossings: [],
      });
      if (verdict.outcome !== s.fate)
        throw new Error(
          `report history: ${s.title} was judged ${verdict.outcome} (${verdict.reason}), the script expects ${s.fate}`,
        );
      rt.store.interventions.transition(id, verdict.outcome, clock.now(), 'kaizen', verdict.reason, {
        verdict,
        ...(verdict.outcome === 'reverted' ? { revertSha: 'd'.repeat(40) } : {}),
      });
      // A reverted change is undone: the signal goes back to where it was.
      if (verdict.outcome === 'reverted') levels[s.signal] = SIGNALS[s.signal].base;
    });
  });

  // Model calls that are not proposals: one failed call and a spent budget in the report week.
  at(day(47, 5, 3), () => {
    rt.store.usage.record({
      t: clock.now(),
      target: 'app',
      task: 'proposer',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      promptVersion: 'proposer.v2',
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: 0,
      outcome: 'error',
      detail: 'overloaded',
    });
    rt.store.events.append(clock.now(), {
      kind: 'budget_exhausted',
      target: 'app',
      data: { used: 200_000, limit: 200_000 },
    });
  });

  for (const item of queue.sort((a, b) => a.at - b.at || a.seq - b.seq)) {
    sampleUntil(item.at);
    await clock.set(item.at);
    item.run();
  }
  sampleUntil(NOW);
  await clock.set(NOW);
  // What the daemon's housekeeping would have done: roll up complete hours, prune old raw samples.
  rt.store.samples.rollup(NOW);
  rt.store.samples.prune(NOW - rt.config.retention.rawSamplesMs, NOW - rt.config.retention.rollupsMs, 5000);
  return {
    rt,
    dir,
    close: () => {
      rt.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
    clock,
    ids,
    scripted,
  };
}
