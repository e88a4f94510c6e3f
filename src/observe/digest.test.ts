import { describe, expect, it } from 'vitest';
import { signal, writeConfig } from '../../test/helpers/config.js';
import { SimulatedClock } from '../clock.js';
import { openStore } from '../store/index.js';
import { HOUR_MS } from '../store/samples.js';
import { buildDigest } from './digest.js';

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const MIN = 60_000;

function setup(signals: Record<string, unknown>[]) {
  const config = writeConfig({ signals });
  const target = config.targets[0]!;
  const clock = new SimulatedClock(T0);
  const store = openStore(config.dataDir, { now: T0 });
  const ids = store.catalog.sync(target, T0);
  const put = (name: string, t: number, v: number | string) =>
    store.samples.insert([
      { signalId: ids.get(name)!.id, t, ...(typeof v === 'string' ? { error: v } : { value: v }) },
    ]);
  return { store, clock, target, put };
}

describe('buildDigest', () => {
  it('summarises last value, windows and trend from stored samples', async () => {
    const { store, clock, target, put } = setup([signal('latency_ms', { unit: 'ms' })]);
    // 48 h of 5-minute samples rising by 1 ms per hour from 100.
    for (let t = T0; t < T0 + 48 * HOUR_MS; t += 5 * MIN) put('latency_ms', t, 100 + (t - T0) / HOUR_MS);
    await clock.set(T0 + 48 * HOUR_MS - 5 * MIN + 30_000);
    store.samples.rollup(clock.now());

    const d = buildDigest({ store, clock }, target).signals[0]!;

    expect(d.last).toEqual({ value: 100 + 47 + 55 / 60, t: T0 + 48 * HOUR_MS - 5 * MIN, ageMs: 30_000 });
    expect(d.windows['1h'].n).toBe(12);
    expect(d.windows['1h'].min).toBeCloseTo(147, 6);
    expect(d.windows['1h'].max).toBeCloseTo(147 + 55 / 60, 6);
    expect(d.windows['24h'].n).toBe(288);
    expect(d.windows['7d'].n).toBe(576);
    expect(d.windows['7d'].min).toBe(100);
    expect(d.windows['7d'].mean).toBeCloseTo(100 + (47 + 55 / 60) / 2, 6);
    expect(d.trendPerHour).toBeCloseTo(1, 6);
    expect(d.stale).toBe(false);
    expect(d.errorStreak).toBe(0);
    expect(d.alert.state).toBe('no_threshold');
    store.close();
  });

  it('derives alert state and how long it has held from samples', async () => {
    const { store, clock, target, put } = setup([
      signal('error_rate', { unit: 'ratio', alert: { above: 0.05 } }),
    ]);
    const values = [0.01, 0.02, 0.09, 0.01, 0.07, 0.08, 0.2];
    values.forEach((v, i) => put('error_rate', T0 + i * 5 * MIN, v));
    await clock.set(T0 + 6 * 5 * MIN);

    const d = buildDigest({ store, clock }, target).signals[0]!;

    // The run began at the 5th sample (0.07), after the last ok value (0.01).
    expect(d.alert).toEqual({
      state: 'alert',
      threshold: '> 0.05',
      since: T0 + 4 * 5 * MIN,
      heldMs: 2 * 5 * MIN,
    });
    store.close();
  });

  it('reports how long an ok state has held, and unknown when there is no value', async () => {
    const { store, clock, target, put } = setup([
      signal('free_mb', { unit: 'MiB', direction: 'higher_is_better', alert: { below: 100 } }),
      signal('never', { alert: { above: 1 } }),
    ]);
    put('free_mb', T0, 50);
    put('free_mb', T0 + 5 * MIN, 500);
    put('free_mb', T0 + 10 * MIN, 600);
    await clock.set(T0 + 10 * MIN);

    const [free, never] = buildDigest({ store, clock }, target).signals;

    expect(free!.alert).toEqual({ state: 'ok', threshold: '< 100', since: T0 + 5 * MIN, heldMs: 5 * MIN });
    expect(never!.alert).toEqual({ state: 'unknown', threshold: '> 1' });
    expect(never!.last).toBeNull();
    expect(never!.stale).toBe(true);
    store.close();
  });

  it('counts an error streak since the last value and keeps the newest message; errors never become values', async () => {
    const { store, clock, target, put } = setup([signal('up')]);
    put('up', T0, 1);
    put('up', T0 + 5 * MIN, 'GET http://127.0.0.1:9/health failed: connection refused (ECONNREFUSED)');
    put('up', T0 + 10 * MIN, 'timed out after 5000 ms');
    await clock.set(T0 + 30 * MIN);

    const d = buildDigest({ store, clock }, target, { staleAfterMs: 15 * MIN }).signals[0]!;

    expect(d.errorStreak).toBe(2);
    expect(d.lastError).toEqual({ message: 'timed out after 5000 ms', t: T0 + 10 * MIN });
    expect(d.last).toEqual({ value: 1, t: T0, ageMs: 30 * MIN });
    expect(d.stale).toBe(true);
    expect(d.windows['24h'].n).toBe(1);
    store.close();
  });

  it('uses hourly rollups for the week once raw samples are pruned', async () => {
    const { store, clock, target, put } = setup([signal('rss_mb', { unit: 'MiB' })]);
    for (let t = T0; t < T0 + 10 * 24 * HOUR_MS; t += 5 * MIN)
      put('rss_mb', t, t < T0 + 5 * 24 * HOUR_MS ? 100 : 300);
    await clock.set(T0 + 10 * 24 * HOUR_MS);
    store.samples.rollup(clock.now());
    store.samples.prune(clock.now() - 2 * 24 * HOUR_MS, 0, 5000);

    const d = buildDigest({ store, clock }, target).signals[0]!;

    expect(d.windows['7d'].n).toBe(7 * 288);
    expect(d.windows['7d'].min).toBe(100);
    expect(d.windows['7d'].max).toBe(300);
    expect(d.windows['7d'].mean).toBeCloseTo((2 * 100 + 5 * 300) / 7, 6);
    expect(d.windows['7d'].median).toBe(300);
    store.close();
  });
});
