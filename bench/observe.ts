import { statSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { SimulatedClock, SystemClock } from '../src/clock.js';
import { loadConfig } from '../src/config/load.js';
import type { KaizenConfig } from '../src/config/schema.js';
import { buildDigest } from '../src/observe/digest.js';
import { sampleTarget } from '../src/observe/sampler.js';
import { openStore, type Store } from '../src/store/index.js';
import { HOUR_MS } from '../src/store/samples.js';
import { figure, fmt, medianMs } from './figures.js';

const DAY = 24 * HOUR_MS;
const FIVE_MIN = 300_000;

function scratch(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'kaizen-bench-'));
}

function configWith(
  dir: string,
  signals: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): KaizenConfig {
  const file = path.join(dir, 'kaizen.yaml');
  writeFileSync(
    file,
    stringify({ dataDir: 'data', target: { name: 'bench', repo: '.' }, signals, ...extra }),
  );
  return loadConfig(file);
}

const fileAgeSignals = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    name: `s${i}`,
    source: { kind: 'file-age', path: `s${i}`, ifMissing: 'zero' },
    unit: 'ms',
    direction: 'lower_is_better',
  }));

function openWithSignals(n: number): { dir: string; store: Store; ids: number[]; config: KaizenConfig } {
  const dir = scratch();
  const config = configWith(dir, fileAgeSignals(n));
  const store = openStore(config.dataDir, { now: 0 });
  const rows = store.catalog.sync(config.targets[0]!, 0);
  return { dir, store, config, ids: [...rows.values()].map((r) => r.id) };
}

/** Samples/s through SampleStore.insert vs a bare batched INSERT on the same table. */
async function ingestion(): Promise<void> {
  const signals = 500;
  const ticks = 400; // 200,000 samples per run
  type Writer = (store: Store, ids: number[], t: number) => void;
  const measure = (makeWriter: (store: Store) => Writer) => {
    const { dir, store, ids } = openWithSignals(signals);
    const write = makeWriter(store);
    const start = performance.now();
    for (let k = 0; k < ticks; k++) write(store, ids, k * FIVE_MIN);
    const ms = performance.now() - start;
    store.close();
    rmSync(dir, { recursive: true, force: true });
    return (signals * ticks) / (ms / 1000);
  };
  const viaStore = (): Writer => (store, ids, t) =>
    store.samples.insert(ids.map((id, i) => ({ signalId: id, t, value: i * 0.5 + t / 1e9 })));
  // The baseline: one prepared statement, one transaction per batch, nothing else.
  const raw = (store: Store): Writer => {
    const stmt = store.db.prepare('INSERT INTO samples (signal_id, t, value) VALUES (?, ?, ?)');
    const batch = store.db.transaction((ids: number[], t: number) =>
      ids.forEach((id, i) => stmt.run(id, t, i * 0.5 + t / 1e9)),
    );
    return (_store, ids, t) => batch(ids, t);
  };
  measure(viaStore); // warm-up
  const a = Math.max(...[0, 1, 2].map(() => measure(viaStore)));
  const b = Math.max(...[0, 1, 2].map(() => measure(raw)));
  figure('ingestion via store (samples/s, 500 per batch)', fmt(a, 0));
  figure('ingestion via bare batched INSERT (samples/s)', fmt(b, 0));
  figure('ratio store / bare', fmt(a / b, 2), '≥ 0.5');
}

/** Digest for 100 signals after a year of 5-minute samples, kept as retention dictates. */
async function digest(): Promise<void> {
  const signals = 100;
  const { dir, store, config, ids } = openWithSignals(signals);
  const now = Date.UTC(2026, 10, 1);
  const start = now - 365 * DAY;
  const rawFrom = now - 14 * DAY;
  const insertHourly = store.db.prepare(
    'INSERT INTO samples_hourly (signal_id, hour, n, errors, sum, min, max, median) VALUES (?, ?, 12, 0, ?, ?, ?, ?)',
  );
  const setRolled = store.db.prepare(
    'INSERT OR REPLACE INTO rollup_state (signal_id, rolled_until) VALUES (?, ?)',
  );
  const value = (id: number, t: number) => 50 + 10 * Math.sin(t / (6 * HOUR_MS) + id) + (t % 7);
  const t0 = performance.now();
  // Older than 14 days: only hourly rollups remain (as retention leaves them).
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
    for (let t = rawFrom; t < now; t += FIVE_MIN) batch.push({ signalId: id, t, value: value(id, t) });
    store.samples.insert(batch);
  }
  store.samples.rollup(now);
  const rawRows = store.db.prepare('SELECT COUNT(*) FROM samples').pluck().get() as number;
  const hourlyRows = store.db.prepare('SELECT COUNT(*) FROM samples_hourly').pluck().get() as number;
  const buildMs = performance.now() - t0;
  const clock = new SimulatedClock(now);
  const target = config.targets[0]!;
  const ms = await medianMs(7, () => buildDigest({ store, clock }, target));
  const equivalent = signals * ((365 * DAY) / FIVE_MIN);
  figure('digest data: raw-equivalent 5-min samples', fmt(equivalent, 0));
  figure('digest data: rows kept (raw 14 d + hourly 1 y)', `${fmt(rawRows, 0)} + ${fmt(hourlyRows, 0)}`);
  figure('digest data: generated in (ms)', fmt(buildMs, 0));
  figure('digest build for 100 signals (ms, median of 7)', fmt(ms, 1), '≤ 250');
  store.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Bytes on disk per raw sample, primary key (the only index) included. */
async function bytesPerSample(): Promise<void> {
  const { dir, store, ids } = openWithSignals(100);
  const perSignal = 10_000;
  for (let k = 0; k < perSignal; k += 1000) {
    const batch = [];
    for (const id of ids)
      for (let j = k; j < k + 1000; j++)
        batch.push({ signalId: id, t: 1.7e12 + j * FIVE_MIN, value: 20 + Math.random() * 80 });
    store.samples.insert(batch);
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const empty = openWithSignals(100);
  empty.store.db.pragma('wal_checkpoint(TRUNCATE)');
  const size = statSync(store.file).size;
  const baseSize = statSync(empty.store.file).size;
  const n = ids.length * perSignal;
  figure('bytes per stored sample (file growth / samples)', fmt((size - baseSize) / n, 1), '≤ 64');
  for (const s of [store, empty.store]) s.close();
  for (const d of [dir, empty.dir]) rmSync(d, { recursive: true, force: true });
}

/** One tick sampling 500 http-json signals from a server on 127.0.0.1. */
async function httpTick(): Promise<void> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pipeline: { coordinator_rss_mb: 123.4, path: req.url } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = scratch();
  for (const concurrency of [16, 64]) {
    const config = configWith(
      dir,
      Array.from({ length: 500 }, (_, i) => ({
        name: `s${i}`,
        source: { kind: 'http-json', url: `${url}/m/${i}`, path: 'pipeline.coordinator_rss_mb' },
        unit: 'MiB',
        direction: 'lower_is_better',
      })),
      { observe: { concurrency } },
    );
    const store = openStore(config.dataDir);
    const deps = { store, clock: new SystemClock() };
    let errors = 0;
    const ms = await medianMs(5, async () => {
      const out = await sampleTarget(deps, config.targets[0]!, { concurrency });
      errors += out.filter((o) => o.error !== undefined).length;
    });
    figure(`one tick, 500 http-json signals, concurrency ${concurrency} (ms)`, fmt(ms, 0), '≤ 2000');
    if (errors > 0) figure('  error samples during the runs', String(errors));
    store.close();
  }
  rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((r) => server.close(() => r()));
}

export async function run(): Promise<void> {
  await ingestion();
  await digest();
  await bytesPerSample();
  await httpTick();
}
