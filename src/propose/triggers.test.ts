import { describe, expect, it } from 'vitest';
import { signal, writeConfig } from '../../test/helpers/config.js';
import { SimulatedClock } from '../clock.js';
import { openStore } from '../store/index.js';
import { proposeDue, PROPOSE_CYCLE_EVENT, recordCycle } from './triggers.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const SEC = 1000;
const MIN = 60_000;
const HOUR = 60 * MIN;

function setup(signals: Record<string, unknown>[], overrides: Record<string, unknown> = {}) {
  const config = writeConfig({ signals, ...overrides });
  const target = config.targets[0]!;
  const clock = new SimulatedClock(T0);
  const store = openStore(config.dataDir, { now: T0 });
  const ids = store.catalog.sync(target, T0);
  const put = (name: string, t: number, v: number) =>
    store.samples.insert([{ signalId: ids.get(name)!.id, t, value: v }]);
  const deps = { store, clock, config };
  const due = () => proposeDue(deps, target);
  const at = async (t: number) => {
    await clock.set(t);
    return due();
  };
  return { store, clock, config, target, put, deps, due, at };
}

/** Samples every 5 minutes at `value(t)` for from ≤ t ≤ to. */
function series(
  put: (name: string, t: number, v: number) => void,
  name: string,
  from: number,
  to: number,
  value: (t: number) => number,
) {
  for (let t = from; t <= to; t += 5 * MIN) put(name, t, value(t));
}

describe('proposeDue: schedule', () => {
  it('is due with no cycle yet, then exactly proposeMs after the last cycle', async () => {
    const s = setup([]);
    expect(s.due()).toEqual({ due: true, kind: 'schedule', reason: 'schedule: no cycle yet' });
    recordCycle(s.deps, s.target, s.due());

    expect(await s.at(T0 + 12 * MIN)).toEqual({
      due: false,
      reason: 'not due: last cycle 12m ago, next at 2026-01-05 13:00 UTC',
    });
    expect((await s.at(T0 + HOUR - 1)).due).toBe(false);
    expect(await s.at(T0 + HOUR)).toEqual({
      due: true,
      kind: 'schedule',
      reason: 'schedule: last cycle 1h ago',
    });
    expect(await s.at(T0 + HOUR + 2 * MIN)).toEqual({
      due: true,
      kind: 'schedule',
      reason: 'schedule: last cycle 1h2m ago',
    });
    s.store.close();
  });

  it('follows schedule.propose and counts a manual cycle', async () => {
    const s = setup([], { schedule: { propose: '30m' } });
    recordCycle(s.deps, s.target, 'manual');
    expect((await s.at(T0 + 29 * MIN)).due).toBe(false);
    expect(await s.at(T0 + 30 * MIN)).toEqual({
      due: true,
      kind: 'schedule',
      reason: 'schedule: last cycle 30m ago',
    });
    s.store.close();
  });

  it('records each cycle as a propose_cycle event of its target', async () => {
    const s = setup([]);
    const decision = s.due();
    recordCycle(s.deps, s.target, decision);
    await s.clock.advance(MIN);
    recordCycle(s.deps, s.target, 'manual');
    recordCycle(s.deps, { name: 'other' }, 'schedule');
    const events = s.store.events.list({ kind: PROPOSE_CYCLE_EVENT });
    expect(events.map((e) => [e.t, e.target, e.data])).toEqual([
      [T0 + MIN, 'other', { trigger: 'schedule' }],
      [T0 + MIN, 'app', { trigger: 'manual' }],
      [T0, 'app', { trigger: 'schedule', reason: 'schedule: no cycle yet' }],
    ]);
    // Another target's cycle does not count for this one.
    expect((await s.at(T0 + HOUR)).due).toBe(false);
    expect((await s.at(T0 + HOUR + MIN)).due).toBe(true);
    s.store.close();
  });
});

describe('proposeDue: alert', () => {
  const errorRate = signal('error_rate', { unit: 'ratio', alert: { above: 0.05 } });

  it('is due at once when a signal enters alert, and not again once a cycle has seen it', async () => {
    const s = setup([errorRate]);
    s.put('error_rate', T0, 0.01);
    recordCycle(s.deps, s.target, 'schedule');
    s.put('error_rate', T0 + 5 * MIN, 0.09);

    expect(await s.at(T0 + 5 * MIN + 40 * SEC)).toEqual({
      due: true,
      kind: 'alert',
      reason: 'alert: error_rate entered alert (> 0.05) 40s ago',
      alerts: ['error_rate'],
    });
    recordCycle(s.deps, s.target, s.due());
    expect(s.store.events.list({ kind: PROPOSE_CYCLE_EVENT })[0]!.data).toEqual({
      trigger: 'alert',
      reason: 'alert: error_rate entered alert (> 0.05) 40s ago',
      alerts: ['error_rate'],
    });

    // Still in the same alert run: the cycle has seen it.
    s.put('error_rate', T0 + 10 * MIN, 0.1);
    expect(await s.at(T0 + 10 * MIN)).toEqual({
      due: false,
      reason: 'not due: last cycle 4m ago, next at 2026-01-05 13:05 UTC',
    });
    s.store.close();
  });

  it('holds a second alert back for alertDebounce after an alert cycle, then lets it through', async () => {
    const s = setup([errorRate]);
    s.put('error_rate', T0, 0.01);
    recordCycle(s.deps, s.target, 'schedule');
    s.put('error_rate', T0 + 5 * MIN, 0.09);
    await s.clock.set(T0 + 5 * MIN + 40 * SEC);
    recordCycle(s.deps, s.target, s.due()); // the alert cycle, at 12:05:40

    // It flaps: back to ok, then into alert again.
    s.put('error_rate', T0 + 7 * MIN, 0.01);
    s.put('error_rate', T0 + 8 * MIN, 0.2);
    expect(await s.at(T0 + 8 * MIN)).toEqual({
      due: false,
      reason:
        'not due: last cycle 2m ago, next at 2026-01-05 13:05 UTC; held back by the 5m debounce until 2026-01-05 12:10 UTC: alert: error_rate entered alert (> 0.05) 0s ago',
    });
    expect((await s.at(T0 + 10 * MIN + 40 * SEC - 1)).due).toBe(false);
    expect(await s.at(T0 + 10 * MIN + 40 * SEC)).toEqual({
      due: true,
      kind: 'alert',
      reason: 'alert: error_rate entered alert (> 0.05) 2m ago',
      alerts: ['error_rate'],
    });
    s.store.close();
  });

  it('drops a flap that is over by the time the debounce ends', async () => {
    const s = setup([errorRate]);
    s.put('error_rate', T0, 0.09);
    await s.clock.set(T0);
    recordCycle(s.deps, s.target, s.due());
    s.put('error_rate', T0 + MIN, 0.01);
    s.put('error_rate', T0 + 2 * MIN, 0.09);
    expect((await s.at(T0 + 2 * MIN)).due).toBe(false);
    s.put('error_rate', T0 + 3 * MIN, 0.01);
    expect(await s.at(T0 + 5 * MIN)).toEqual({
      due: false,
      reason: 'not due: last cycle 5m ago, next at 2026-01-05 13:00 UTC',
    });
    s.store.close();
  });

  it('does not debounce an alert after a scheduled cycle, and a scheduled cycle sees an alert', async () => {
    const s = setup([errorRate]);
    s.put('error_rate', T0, 0.01);
    recordCycle(s.deps, s.target, 'schedule');
    s.put('error_rate', T0 + MIN, 0.09);
    expect((await s.at(T0 + MIN)).kind).toBe('alert');
    recordCycle(s.deps, s.target, 'schedule'); // a cycle after the alert began has seen it
    expect((await s.at(T0 + 2 * MIN)).due).toBe(false);
    s.store.close();
  });

  it('lists every signal that entered alert', async () => {
    const s = setup([
      errorRate,
      signal('latency_ms', { unit: 'ms', alert: { above: 500 } }),
      signal('free_mb', { unit: 'MiB', direction: 'higher_is_better', alert: { below: 100 } }),
    ]);
    s.put('error_rate', T0, 0.2);
    s.put('latency_ms', T0 + 30 * SEC, 900);
    s.put('free_mb', T0, 500);
    expect(await s.at(T0 + 2 * MIN)).toEqual({
      due: true,
      kind: 'alert',
      reason: 'alert: error_rate entered alert (> 0.05) 2m ago, latency_ms entered alert (> 500) 1m ago',
      alerts: ['error_rate', 'latency_ms'],
    });
    s.store.close();
  });
});

describe('proposeDue: stall', () => {
  const jobs = signal('jobs_per_s', { unit: 'count', direction: 'higher_is_better', role: 'productivity' });
  // Keep the schedule out of the way.
  const quiet = { schedule: { propose: '24h' } };

  /** Busy (varying) for an hour before T0, stuck at 0 from T0 until `to`. */
  function stuckFromT0(put: (name: string, t: number, v: number) => void, name: string, to: number) {
    series(put, name, T0 - HOUR, T0 - 5 * MIN, (t) => 3 + ((t / (5 * MIN)) % 4));
    series(put, name, T0, to, () => 0);
  }

  it('is not due after 1h59m flat, due after 2h01m', async () => {
    const s = setup([jobs], quiet);
    recordCycle(s.deps, s.target, 'manual');
    stuckFromT0(s.put, 'jobs_per_s', T0 + 3 * HOUR);
    expect(await s.at(T0 + HOUR + 59 * MIN)).toEqual({
      due: false,
      reason: 'not due: last cycle 1h59m ago, next at 2026-01-06 12:00 UTC',
    });
    expect((await s.at(T0 + 2 * HOUR - 1)).due).toBe(false);
    expect(await s.at(T0 + 2 * HOUR + MIN)).toEqual({
      due: true,
      kind: 'stall',
      reason: 'stall: jobs_per_s flat at 0 for 2h1m',
      stalls: ['jobs_per_s'],
    });
    expect((await s.at(T0 + 2 * HOUR + 10 * MIN)).reason).toBe('stall: jobs_per_s flat at 0 for 2h10m');
    s.store.close();
  });

  it('counts a stall from the first sample when there is nothing older', async () => {
    const s = setup([jobs], quiet);
    recordCycle(s.deps, s.target, 'manual');
    series(s.put, 'jobs_per_s', T0, T0 + 3 * HOUR, () => 42);
    expect((await s.at(T0 + HOUR + 59 * MIN)).due).toBe(false);
    expect((await s.at(T0 + 2 * HOUR)).reason).toBe('stall: jobs_per_s flat at 42 for 2h');
    s.store.close();
  });

  it('does not re-trigger within stallAfter of a stall cycle, and does after', async () => {
    const s = setup([jobs], quiet);
    recordCycle(s.deps, s.target, 'manual');
    stuckFromT0(s.put, 'jobs_per_s', T0 + 6 * HOUR);
    await s.clock.set(T0 + 2 * HOUR + MIN);
    recordCycle(s.deps, s.target, s.due());
    expect(s.store.events.list({ kind: PROPOSE_CYCLE_EVENT })[0]!.data).toEqual({
      trigger: 'stall',
      reason: 'stall: jobs_per_s flat at 0 for 2h1m',
      stalls: ['jobs_per_s'],
    });

    expect(await s.at(T0 + 2 * HOUR + 10 * MIN)).toEqual({
      due: false,
      reason: 'not due: last cycle 9m ago, next at 2026-01-06 14:01 UTC',
    });
    expect((await s.at(T0 + 4 * HOUR)).due).toBe(false);
    expect(await s.at(T0 + 4 * HOUR + MIN)).toEqual({
      due: true,
      kind: 'stall',
      reason: 'stall: jobs_per_s flat at 0 for 4h1m',
      stalls: ['jobs_per_s'],
    });
    s.store.close();
  });

  it('ignores a flat signal whose role is not productivity', async () => {
    const s = setup([signal('queue_depth', { unit: 'count' })], quiet);
    recordCycle(s.deps, s.target, 'manual');
    stuckFromT0(s.put, 'queue_depth', T0 + 3 * HOUR);
    expect((await s.at(T0 + 3 * HOUR)).due).toBe(false);
    s.store.close();
  });

  it('needs movement within 1 % of the median, and enough samples', async () => {
    const s = setup(
      [
        jobs,
        signal('wobbly', { role: 'productivity' }),
        signal('steady', { role: 'productivity' }),
        signal('sparse', { role: 'productivity' }),
      ],
      quiet,
    );
    recordCycle(s.deps, s.target, 'manual');
    series(s.put, 'wobbly', T0, T0 + 3 * HOUR, (t) => (t % (10 * MIN) === 0 ? 100 : 102));
    series(s.put, 'steady', T0, T0 + 3 * HOUR, (t) => (t % (10 * MIN) === 0 ? 100 : 100.9));
    // Two values in the last 2 h, and values spanning less than 80 % of it.
    s.put('sparse', T0, 5);
    s.put('sparse', T0 + 2 * HOUR, 5);
    s.put('sparse', T0 + 2 * HOUR + 30 * MIN, 5);
    s.put('sparse', T0 + 3 * HOUR, 5);
    expect(await s.at(T0 + 3 * HOUR)).toEqual({
      due: true,
      kind: 'stall',
      reason: 'stall: steady flat at 100 for 3h',
      stalls: ['steady'],
    });
    s.store.close();
  });

  it('is debounced after an alert cycle, and a combined cycle records both', async () => {
    const s = setup([jobs, signal('error_rate', { unit: 'ratio', alert: { above: 0.05 } })], quiet);
    recordCycle(s.deps, s.target, 'manual');
    stuckFromT0(s.put, 'jobs_per_s', T0 + 3 * HOUR);
    s.put('error_rate', T0 + HOUR + 58 * MIN, 0.5);
    await s.clock.set(T0 + HOUR + 58 * MIN);
    recordCycle(s.deps, s.target, s.due()); // alert cycle at 13:58

    expect(await s.at(T0 + 2 * HOUR + MIN)).toEqual({
      due: false,
      reason:
        'not due: last cycle 3m ago, next at 2026-01-06 13:58 UTC; held back by the 5m debounce until 2026-01-05 14:03 UTC: stall: jobs_per_s flat at 0 for 2h1m',
    });
    expect((await s.at(T0 + 2 * HOUR + 3 * MIN)).kind).toBe('stall');

    // Both at once: one cycle, kind alert, both recorded.
    const t = setup([jobs, signal('error_rate', { unit: 'ratio', alert: { above: 0.05 } })], quiet);
    recordCycle(t.deps, t.target, 'manual');
    stuckFromT0(t.put, 'jobs_per_s', T0 + 3 * HOUR);
    t.put('error_rate', T0 + 2 * HOUR + 10 * MIN, 0.5);
    const both = await t.at(T0 + 2 * HOUR + 10 * MIN);
    expect(both).toEqual({
      due: true,
      kind: 'alert',
      reason: 'alert: error_rate entered alert (> 0.05) 0s ago; stall: jobs_per_s flat at 0 for 2h10m',
      alerts: ['error_rate'],
      stalls: ['jobs_per_s'],
    });
    recordCycle(t.deps, t.target, both);
    expect((await t.at(T0 + 2 * HOUR + 20 * MIN)).due).toBe(false);
    s.store.close();
    t.store.close();
  });

  it('lets a scheduled cycle take held-back triggers along', async () => {
    const s = setup([jobs], { schedule: { propose: '1m' } });
    stuckFromT0(s.put, 'jobs_per_s', T0 + 3 * HOUR);
    await s.clock.set(T0 + HOUR + 58 * MIN);
    recordCycle(s.deps, s.target, 'alert'); // a triggered cycle: the debounce runs until 14:03
    const scheduled = await s.at(T0 + 2 * HOUR + MIN);
    expect(scheduled).toEqual({
      due: true,
      kind: 'schedule',
      reason: 'schedule: last cycle 3m ago; also stall: jobs_per_s flat at 0 for 2h1m',
      stalls: ['jobs_per_s'],
    });
    recordCycle(s.deps, s.target, scheduled);
    // The scheduled cycle named the stall: it does not trigger on its own after the debounce.
    expect(await s.at(T0 + 2 * HOUR + 4 * MIN)).toEqual({
      due: true,
      kind: 'schedule',
      reason: 'schedule: last cycle 3m ago',
    });
    s.store.close();
  });
});
