import { describe, expect, it } from 'vitest';
import { signal, writeConfig } from '../../../test/helpers/config.js';
import { SimulatedClock } from '../../clock.js';
import { openStore } from '../../store/index.js';
import { fingerprint, Proposal } from '../proposal.js';
import { DEMO_RULES, cacheRule, workerHangRule } from './demo-rules.js';
import { lessonKey, rulesProvider, type LessonLike } from './provider.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const SEC = 1000;
const MIN = 60 * SEC;

/** The demo's signals that the demo rules watch, with the demo rules in the target's config. */
function setup(rules: unknown[] = [...DEMO_RULES]) {
  const config = writeConfig({
    target: { name: 'demo', repo: '.', rules },
    signals: ['latency_p50_ms', 'worker_lock_age_s', 'error_rate', 'jobs_per_s'].map((n) => signal(n)),
  });
  const target = config.targets[0]!;
  const clock = new SimulatedClock(T0);
  const store = openStore(config.dataDir, { now: T0 });
  const ids = store.catalog.sync(target, T0);
  /** A value every `step` ms from `from` to `to` inclusive. */
  const fill = (name: string, from: number, to: number, step: number, v: number) => {
    for (let t = from; t <= to; t += step)
      store.samples.insert([{ signalId: ids.get(name)!.id, t, value: v }]);
  };
  return { store, target, clock, fill };
}

const lessonAction = (over: Record<string, unknown> = {}) => ({
  when: { signal: 'jobs_per_s', condition: 'flat', for: '10m' },
  propose: {
    title: 'Restart the worker: {{signal}} flat for {{held}}',
    area: 'worker',
    kind: 'config_set',
    changes: [{ kind: 'config_set', path: 'config.json', key: 'worker.enabled', value: true }],
    hypothesis: 'L7 says a flat job rate means a stuck worker',
    prediction: { signal: 'jobs_per_s', direction: 'up', magnitude: 0.5 },
    risk: 'low',
    ...over,
  },
});

describe('rulesProvider', () => {
  it('proposes from the demo rules as the demo target misbehaves', async () => {
    const { store, target, clock, fill } = setup();
    // Latency doubled (no cache) for the last 6 s, sampled every second; the worker lock 45 s old
    // for 2 minutes; the error rate above 0.05 for only 1 minute (its rule needs 2).
    fill('latency_p50_ms', T0 - 6 * SEC, T0, SEC, 40);
    fill('worker_lock_age_s', T0 - 2 * MIN, T0, 5 * SEC, 45);
    fill('error_rate', T0 - MIN, T0, 5 * SEC, 0.08);
    await clock.set(T0);

    const out = rulesProvider.propose({ store, target, now: clock.now() });

    expect(out.fired.map((f) => f.key)).toEqual(['latency_cache', 'worker_hang']);
    expect(out.proposals.map((p) => p.changes)).toEqual([
      [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
      [{ kind: 'config_set', path: 'config.json', key: 'worker.hang', value: false }],
    ]);
    expect(out.proposals[0]!.title).toBe('Enable the response cache: latency_p50_ms at 40 ms for 6s');
    expect(out.proposals[1]!.title).toBe('Unstick the worker: its lock is 45 s old');
    for (const p of out.proposals) {
      const parsed = Proposal.parse(p);
      expect(parsed.risk).toBe('low');
      expect(parsed.rollback).toBe('git revert');
      expect(parsed.citesLessons).toEqual([]);
    }
    expect(out.notes).toEqual([
      `rule error_rate_fault: error_rate not enough samples: 13 value(s) spanning 1m of the 2m window (need 3, spanning 80 %)`,
      'rule latency_cache: fired: latency_p50_ms above 30 for 5s (value 40, held 6s)',
      'rule worker_hang: fired: worker_lock_age_s above 30 for 1m (value 45, held 2m)',
    ]);

    // Two minutes of errors later, the demo-only error rule fires too.
    fill('error_rate', T0 - 2 * MIN, T0 - MIN, 5 * SEC, 0.08);
    const later = rulesProvider.propose({ store, target, now: T0 });
    expect(later.fired.map((f) => f.key)).toEqual(['error_rate_fault', 'latency_cache', 'worker_hang']);
    expect(later.proposals[0]!.changes).toEqual([
      { kind: 'config_set', path: 'config.json', key: 'errorRate', value: 0 },
    ]);
    store.close();
  });

  it('adds active lesson actions after the rules, in id order, citing their lesson', () => {
    const { store, target, fill } = setup([cacheRule]);
    fill('latency_p50_ms', T0 - 6 * SEC, T0, SEC, 40);
    fill('jobs_per_s', T0 - 10 * MIN, T0, 30 * SEC, 0);
    const lessons: LessonLike[] = [
      { id: 'L9', status: 'active', action: lessonAction({ area: 'worker_b', title: 'b: {{held}}' }) },
      { id: 'L7', status: 'active', action: lessonAction() },
      { id: 'L3', status: 'retired', action: lessonAction({ title: 'retired' }) },
      { id: 'L1', status: 'active' },
    ];

    const out = rulesProvider.propose({ store, target, now: T0, lessons });

    expect(out.fired.map((f) => f.key)).toEqual(['latency_cache', 'lesson:L7']);
    const fromLesson = Proposal.parse(out.proposals[1]);
    expect(fromLesson.citesLessons).toEqual(['L7']);
    expect(fromLesson.title).toBe('Restart the worker: jobs_per_s flat for 10m');
    expect(fromLesson.trigger).toBe('lesson L7: jobs_per_s flat within 1 % for 10m (value 0, held 10m)');
    // L9 proposes the same change as L7 (another title and area, same fingerprint): once is enough.
    expect(out.notes).toContain('lesson L9: not proposed: the same change as lesson L7');
    expect(out.notes.some((n) => n.includes('L3') || n.includes('L1'))).toBe(false);
    store.close();
  });

  it('cites a lesson learnt from the very change a rule proposes again, and no other', () => {
    const { store, target, fill } = setup([cacheRule]);
    fill('latency_p50_ms', T0 - 6 * SEC, T0, SEC, 40);
    const first = rulesProvider.propose({ store, target, now: T0 }).proposals[0]!;
    const p = Proposal.parse(first);
    const iv = store.interventions.create(
      {
        target: 'demo',
        proposal: p,
        fingerprint: fingerprint(p),
        origin: 'rules',
        baseSha: null,
        actor: 'kaizen',
        reason: 't',
      },
      T0,
    );
    const other = Proposal.parse({
      ...first,
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 50 }],
    });
    const iv2 = store.interventions.create(
      {
        target: 'demo',
        proposal: other,
        fingerprint: fingerprint(other),
        origin: 'rules',
        baseSha: null,
        actor: 'kaizen',
        reason: 't',
      },
      T0,
    );
    const lessons: LessonLike[] = [
      { id: 'D-learnt', status: 'active', evidence: [iv.id] },
      { id: 'D-other', status: 'active', evidence: [iv2.id] },
      { id: 'D-old', status: 'retired', evidence: [iv.id] },
    ];
    const out = rulesProvider.propose({ store, target, now: T0, lessons });
    expect(out.proposals.map((x) => x.citesLessons)).toEqual([['D-learnt']]);
    store.close();
  });

  it('refuses an invalid lesson action with a note, and keeps going', () => {
    const { store, target, fill } = setup([]);
    fill('jobs_per_s', T0 - 10 * MIN, T0, 30 * SEC, 0);
    const lessons: LessonLike[] = [
      { id: 'L2', status: 'active', action: lessonAction({ area: 'Not An Area' }) },
      { id: 'L3', status: 'active', action: { when: { signal: 'jobs_per_s', condition: 'rising' } } },
      { id: 'L4', status: 'active', action: lessonAction() },
    ];
    const out = rulesProvider.propose({ store, target, now: T0, lessons });
    expect(out.fired.map((f) => f.key)).toEqual(['lesson:L4']);
    expect(out.notes.slice(0, 2)).toEqual([
      'lesson L2: action is invalid: propose.area: expected an area name of lower-case letters, digits, "_" or "-"',
      'lesson L3: action is invalid: when.condition: Invalid option: expected one of "above"|"below"|"flat"',
    ]);
    store.close();
  });

  it('keeps lesson actions quiet for 6 h after they fired, keyed lesson:<id>', () => {
    const { store, target, fill } = setup([]);
    fill('jobs_per_s', T0 - 10 * MIN, T0, 30 * SEC, 0);
    const lessons: LessonLike[] = [{ id: 'L4', status: 'active', action: lessonAction() }];
    const quiet = rulesProvider.propose({
      store,
      target,
      now: T0,
      lessons,
      lastFired: new Map([[lessonKey('L4'), T0 - 5 * 60 * MIN]]),
    });
    expect(quiet.proposals).toEqual([]);
    const again = rulesProvider.propose({
      store,
      target,
      now: T0,
      lessons,
      lastFired: new Map([[lessonKey('L4'), T0 - 6 * 60 * MIN]]),
    });
    expect(again.proposals).toHaveLength(1);
    store.close();
  });

  it('gives the same answer for the same store and time, whatever the order of rules and lessons', () => {
    const { store, target, fill } = setup([workerHangRule, cacheRule]);
    fill('latency_p50_ms', T0 - 6 * SEC, T0, SEC, 40);
    fill('worker_lock_age_s', T0 - 2 * MIN, T0, 5 * SEC, 45);
    fill('jobs_per_s', T0 - 10 * MIN, T0, 30 * SEC, 0);
    const lessons: LessonLike[] = [
      { id: 'B', status: 'active', action: lessonAction({ area: 'b' }) },
      {
        id: 'A',
        status: 'active',
        action: lessonAction({
          changes: [{ kind: 'config_set', path: 'config.json', key: 'worker.intervalMs', value: 500 }],
        }),
      },
    ];
    const one = rulesProvider.propose({ store, target, now: T0, lessons });
    const two = rulesProvider.propose({
      store,
      target,
      now: T0,
      lessons: [...lessons].reverse(),
      rules: [...target.rules].reverse(),
    });
    expect(two).toEqual(one);
    expect(one.fired.map((f) => f.key)).toEqual(['latency_cache', 'worker_hang', 'lesson:A', 'lesson:B']);
    store.close();
  });
});
