import { utimesSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScaledClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { sampleTarget } from '../src/observe/sampler.js';
import { submitProposal } from '../src/loop/submit.js';
import { targetFixture } from './helpers/target.js';

/*
 * Under `--time-scale N` the schedule runs N times faster, but the target does not: a process
 * still takes its time, a file still ages by the second, a deploy still needs its seconds. These
 * run a real target on a clock 10 000 times faster than real time.
 */

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const rt of runtimes.splice(0)) rt.close();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a compressed clock against a real target', () => {
  it('measures the world in real time: a slow command is not timed out, a fresh file is not hours old', async () => {
    const fx = await targetFixture({
      signals: [
        {
          name: 'queue_depth',
          source: { kind: 'command', command: ['sh', '-c', 'sleep 0.3; echo 7'], timeout: '5s' },
          unit: 'jobs',
          direction: 'lower_is_better',
        },
        {
          name: 'deploy_age_s',
          source: { kind: 'file-age', path: 'config.json' },
          unit: 's',
          direction: 'lower_is_better',
        },
      ],
    });
    // Touched now, by this process's clock: under faketime (.ci/run) the kernel would stamp the
    // machine's real time, which is not the time the rest of this world runs on.
    const now = new Date();
    utimesSync(path.join(fx.repo, 'config.json'), now, now);
    const clock = new ScaledClock(10_000);
    const rt = fx.runtime(clock);
    runtimes.push(rt);
    await pause(200); // 200 ms of the world: 2 000 s of the schedule's clock

    const outcomes = await sampleTarget(rt, rt.config.targets[0]!, { concurrency: 2 });

    const by = new Map(outcomes.map((o) => [o.signal, o]));
    expect(by.get('queue_depth')).toMatchObject({ value: 7 });
    expect(by.get('queue_depth')?.error).toBeUndefined();
    expect(by.get('deploy_age_s')?.value).toBeLessThan(60);
    // The sample is stamped on the schedule's clock, which ran ahead.
    expect(by.get('queue_depth')!.t).toBeGreaterThan(Date.now() + 1000_000);
  });

  it('gives a deploy its real timeout and probes a target that takes a moment to come up', async () => {
    const node = JSON.stringify(process.execPath);
    const fx = await targetFixture({
      target: {
        // The deploy takes 300 ms, and the service answers 300 ms after it returns. At 10 000× a
        // compressed deploy timeout (30 s → 3 ms) or probe interval (150 ms → 0.015 ms) would
        // fail this healthy change.
        deploy: {
          command: [
            'sh',
            '-c',
            `sleep 0.3 && rm -f deployed.json && (sleep 0.3; ${node} deploy.js) >/dev/null 2>&1 &`,
          ],
          timeout: '30s',
          stabilisation: '0s',
        },
      },
    });
    const rt = fx.runtime(new ScaledClock(10_000));
    runtimes.push(rt);
    Object.assign(rt.config.targets[0]!.health!, { attempts: 8, intervalMs: 150 });

    const r = await submitProposal(rt, {
      target: 'app',
      proposal: {
        title: 'Give the cache room',
        area: 'cache',
        kind: 'config_set',
        changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 64 }],
        hypothesis: 'A cache of 64 entries holds the hot keys.',
        prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.2, relative: true },
        risk: 'low',
        rollback: 'git revert',
      },
      origin: 'test',
      actor: 'kaizen',
    });

    expect(r.apply?.outcome).toBe('applied');
    expect(r.intervention.state).toBe('applied');
    expect(JSON.parse(fx.read('deployed.json'))).toMatchObject({ cacheSize: 64 });
  });
});
