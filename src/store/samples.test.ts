import { describe, expect, it } from 'vitest';
import { signal, writeConfig } from '../../test/helpers/config.js';
import { openStore, type Store } from './index.js';
import { HOUR_MS } from './samples.js';

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const MIN = 60_000;
const DAY = 24 * HOUR_MS;

function storeWith(names: string[]): { store: Store; ids: number[] } {
  const config = writeConfig({ signals: names.map((n) => signal(n)) });
  const store = openStore(config.dataDir, { now: T0 });
  const rows = store.catalog.sync(config.targets[0]!, T0);
  return { store, ids: names.map((n) => rows.get(n)!.id) };
}

/** One sample every 5 minutes from `from` for `ms`, value = f(t). */
function fill(store: Store, id: number, from: number, ms: number, f: (t: number) => number) {
  const batch = [];
  for (let t = from; t < from + ms; t += 5 * MIN) batch.push({ signalId: id, t, value: f(t) });
  store.samples.insert(batch);
}

describe('SampleStore', () => {
  it('stores values and errors apart, and never stores a non-finite number as a value', () => {
    const { store, ids } = storeWith(['a']);
    const id = ids[0]!;

    store.samples.insert([
      { signalId: id, t: T0, value: 1.5 },
      { signalId: id, t: T0 + 1, error: 'GET http://x/ failed: connection refused' },
      { signalId: id, t: T0 + 2, value: Number.NaN },
      { signalId: id, t: T0 + 3, value: Infinity },
    ]);

    expect(store.samples.range(id, T0, T0 + 10)).toEqual([
      { t: T0, value: 1.5 },
      { t: T0 + 1, error: 'GET http://x/ failed: connection refused' },
      { t: T0 + 2, error: 'not a finite number: NaN' },
      { t: T0 + 3, error: 'not a finite number: Infinity' },
    ]);
    store.close();
  });

  it('rolls up each completed hour once, with exact count, sum, min, max, median and errors', () => {
    const { store, ids } = storeWith(['a']);
    const id = ids[0]!;
    fill(store, id, T0, 2 * HOUR_MS + 10 * MIN, (t) => (t - T0) / MIN); // values 0,5,10,...
    store.samples.insert([{ signalId: id, t: T0 + 7 * MIN, error: 'timed out after 5000 ms' }]);

    const written = store.samples.rollup(T0 + 2 * HOUR_MS + 10 * MIN);
    const again = store.samples.rollup(T0 + 2 * HOUR_MS + 10 * MIN);

    expect(written).toBe(2);
    expect(again).toBe(0);
    expect(store.samples.hourly(id, T0, T0 + 3 * HOUR_MS)).toEqual([
      { hour: T0, n: 12, errors: 1, sum: 330, min: 0, max: 55, median: 27.5 },
      { hour: T0 + HOUR_MS, n: 12, errors: 0, sum: 1050, min: 60, max: 115, median: 87.5 },
    ]);
    expect(store.samples.rolledUntil(id)).toBe(T0 + 2 * HOUR_MS);
    store.close();
  });

  it('skips gaps without writing empty hours', () => {
    const { store, ids } = storeWith(['a']);
    const id = ids[0]!;
    store.samples.insert([
      { signalId: id, t: T0, value: 1 },
      { signalId: id, t: T0 + 30 * DAY, value: 2 },
    ]);

    const written = store.samples.rollup(T0 + 30 * DAY + 2 * HOUR_MS);

    expect(written).toBe(2);
    expect(store.samples.hourly(id, 0, Infinity).map((h) => h.hour)).toEqual([T0, T0 + 30 * DAY]);
    store.close();
  });

  it('keeps raw samples for the retention time, then only rollups, deleting in bounded batches', () => {
    const { store, ids } = storeWith(['a', 'b']);
    for (const id of ids) fill(store, id, T0, 20 * DAY, () => 7);
    const now = T0 + 20 * DAY;
    store.samples.rollup(now);

    const pruned = store.samples.prune(now - 14 * DAY, now - 365 * DAY, 100);

    const perSignalPerDay = 24 * 12;
    expect(pruned).toEqual({ raw: 2 * 6 * perSignalPerDay, hourly: 0 });
    for (const id of ids) {
      const raw = store.samples.range(id, 0, now);
      expect(raw[0]!.t).toBe(now - 14 * DAY);
      expect(raw).toHaveLength(14 * perSignalPerDay);
      expect(store.samples.hourly(id, 0, now)).toHaveLength(20 * 24);
    }
    store.close();
  });

  it('never prunes raw samples that are not rolled up yet', () => {
    const { store, ids } = storeWith(['a']);
    fill(store, ids[0]!, T0, 20 * DAY, () => 1);

    const pruned = store.samples.prune(T0 + 6 * DAY, 0, 1000);

    expect(pruned.raw).toBe(0);
    store.close();
  });

  it('expires rollups after their own retention', () => {
    const { store, ids } = storeWith(['a']);
    const id = ids[0]!;
    for (let d = 0; d < 400; d += 10) store.samples.insert([{ signalId: id, t: T0 + d * DAY, value: d }]);
    const now = T0 + 400 * DAY;
    store.samples.rollup(now);

    const pruned = store.samples.prune(now - 14 * DAY, now - 365 * DAY, 7);

    expect(pruned.hourly).toBe(4); // days 0, 10, 20, 30 are older than a year
    expect(store.samples.hourly(id, 0, now)[0]!.hour).toBe(T0 + 40 * DAY);
    store.close();
  });
});
