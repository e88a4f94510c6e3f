import { writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SimulatedClock } from '../src/clock.js';
import { compose, type Runtime } from '../src/compose.js';
import { loadConfig } from '../src/config/load.js';
import { runDaemon, type RunningDaemon } from '../src/daemon/daemon.js';
import type { JobDone } from '../src/daemon/scheduler.js';
import { silentLogger } from '../src/logger.js';
import { runDoctor } from '../src/loop/doctor.js';
import { submitProposal } from '../src/loop/submit.js';
import { startFakeLlm, type FakeLlm } from './helpers/fake-llm.js';
import { proposal, targetFixture, type TargetFixture } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';

/*
 * One simulated week of the real daemon: 3 targets, 50 signals, faults injected (a target down
 * for hours, a signal that always errors, a model that always fails, a broken deploy every day).
 * At the end: doctor finds nothing wrong, no job was lost or run twice, and the heap is flat.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const STEP = 15 * MIN;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const cacheRule = {
  name: 'cache_off',
  when: { signal: 'latency_ms', condition: 'below', value: 1, for: '30m' },
  cooldown: '1d',
  propose: {
    title: 'Turn the cache on: {{signal}} at {{value}} for {{held}}',
    area: 'cache',
    kind: 'config_set',
    changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
    hypothesis: 'The cache is off.',
    prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.3 },
    risk: 'low',
    rollback: 'git revert',
  },
};

function targetConfig(fx: TargetFixture, name: string, signals: number) {
  const http = (i: number, p: string) => ({
    name: i === 0 ? 'latency_ms' : `s${i}`,
    source: { kind: 'http-json', url: fx.healthUrl, path: p },
    unit: 'ms',
    direction: 'lower_is_better',
  });
  return {
    name,
    repo: fx.repo,
    branch: 'main',
    remote: 'origin',
    deploy: { command: [process.execPath, 'deploy.js'], timeout: '30s', stabilisation: '0s' },
    health: { url: fx.healthUrl, expectJson: { status: 'ok' }, attempts: 2, interval: '0s', timeout: '2s' },
    rules: [cacheRule],
    signals: [
      ...Array.from({ length: signals - 1 }, (_, i) => http(i, 'cacheSize')),
      // Always an error: the path is not in the answer.
      http(signals - 1, 'no.such.value'),
    ],
  };
}

describe('soak: one simulated week of the daemon', () => {
  it('keeps every invariant through a week of faults', async () => {
    const llm: FakeLlm = await startFakeLlm(); // nothing queued: every call fails at once
    cleanups.push(() => llm.close());
    const fixtures = await Promise.all([0, 1, 2].map(() => targetFixture()));
    const dir = tempDir('kaizen-soak-');
    const configPath = path.join(dir, 'kaizen.yaml');
    writeFileSync(
      configPath,
      stringify({
        dataDir: 'data',
        schedule: { observe: '15m', propose: '1h', distill: '0 3 * * *', metaReview: '0 6 * * 1' },
        proposer: { provider: 'anthropic', baseUrl: llm.url },
        validation: { window: '1h', denseInterval: '5m' },
        server: { enabled: false },
        targets: fixtures.map((fx, i) => targetConfig(fx, `t${i}`, i === 0 ? 18 : 16)),
      }),
    );
    const clock = new SimulatedClock('2026-11-02T01:00:00Z'); // a Monday
    const rt: Runtime = compose(loadConfig(configPath), { clock, logger: silentLogger() });
    cleanups.push(() => rt.close());
    expect(rt.config.targets.flatMap((t) => t.signals)).toHaveLength(50);

    // Counted, not kept: a week of job records would itself grow the heap this test measures.
    const runCounts = new Map<string, number>();
    const failures: string[] = [];
    const stop = new AbortController();
    let ready!: (d: RunningDaemon) => void;
    const up = new Promise<RunningDaemon>((r) => (ready = r));
    const exited = runDaemon(rt, {
      env: { ANTHROPIC_API_KEY: 'sk-ant-soak' },
      signal: stop.signal,
      shutdownGraceMs: 0,
      onReady: (d) => ready(d),
      onJobDone: (j: JobDone) => {
        runCounts.set(j.key, (runCounts.get(j.key) ?? 0) + 1);
        if (!j.ok) failures.push(`${j.key}: ${j.error}`);
      },
    });
    cleanups.push(async () => {
      stop.abort();
      await exited.catch(() => undefined);
    });
    const daemon = await up;
    const settle = async () => {
      for (let i = 0; i < 6000; i++) {
        if (daemon.scheduler.runningJobs().length === 0 && clock.pending > 0) return;
        await new Promise((r) => setTimeout(r, 2));
      }
      throw new Error(`stuck: ${daemon.scheduler.runningJobs().join(', ')}`);
    };
    await settle();

    const heap: number[] = [];
    const start = clock.now();
    for (let day = 0; day < 7; day++) {
      // A broken deploy a day, on each target in turn, while no job runs.
      const fx = fixtures[day % 3]!;
      await submitProposal(rt, {
        target: `t${day % 3}`,
        proposal: proposal({
          title: `Day ${day}: a config the deploy refuses`,
          area: `release_${day}`,
          // A new release number each day: the same change again would be refused as a repeat.
          changes: [
            { kind: 'config_set', path: 'config.json', key: 'deployFails', value: true },
            { kind: 'config_set', path: 'config.json', key: 'release', value: day },
          ],
        }),
        origin: 'soak',
        actor: 'kaizen',
      });
      expect(JSON.parse(fx.read('config.json')).deployFails).toBe(false); // rolled back
      // Target t1 is down for six hours on day 2: its health and signals answer 503.
      if (day === 2) fixtures[1]!.failNextProbes(6 * 4 * 20);
      for (let t = 0; t < DAY; t += STEP) {
        await clock.advance(STEP);
        await settle();
      }
      gc();
      heap.push(process.memoryUsage().heapUsed);
    }
    expect(clock.now() - start).toBe(7 * DAY);
    stop.abort();
    const exit = await exited;
    expect(exit.abandoned).toEqual([]);

    // No job lost or doubled: interval jobs ran once per interval, calendar jobs once per day/week.
    const runs = (key: string) => runCounts.get(key) ?? 0;
    for (const t of ['t0', 't1', 't2']) {
      expect(runs(`observe:${t}`)).toBe(7 * 24 * 4 + 1);
      expect(runs(`propose:${t}`)).toBe(7 * 24 * 4 + 1);
    }
    expect(runs('distill')).toBe(7);
    expect(runs('review')).toBe(1);
    expect(failures).toEqual([]);

    // The faults happened and were handled.
    const states = rt.store.db
      .prepare('SELECT state, COUNT(*) AS n FROM interventions GROUP BY state')
      .all() as { state: string; n: number }[];
    const count = (s: string) => states.find((x) => x.state === s)?.n ?? 0;
    expect(count('rolled_back')).toBe(7);
    const errors = rt.store.db
      .prepare('SELECT COUNT(*) FROM samples WHERE error IS NOT NULL')
      .pluck()
      .get() as number;
    expect(errors).toBeGreaterThan(7 * 24 * 4); // the always-failing signal, and t1's six hours down
    const failedCalls = rt.store.db
      .prepare("SELECT COUNT(*) FROM llm_calls WHERE outcome = 'error'")
      .pluck()
      .get() as number;
    expect(failedCalls).toBeGreaterThan(0);
    expect(rt.store.distill.list()).toHaveLength(7);

    const doctor = await runDoctor(rt);
    expect(doctor.problems).toEqual([]);

    // Memory: the heap after a full GC is flat from day 2 to day 7 (within 16 MB).
    expect(heap[6]! - heap[1]!).toBeLessThan(16 * 1024 * 1024);
  }, 600_000);
});
