import { afterEach, describe, expect, it } from 'vitest';
import { revertIntervention } from '../src/apply/revert.js';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { KaizenError } from '../src/errors.js';
import { denseTick } from '../src/validate/dense.js';
import { submitProposal } from '../src/loop/submit.js';
import {
  dueForValidation,
  validateIntervention,
  watchedSignals,
} from '../src/validate/validate-intervention.js';
import type { Verdict } from '../src/validate/verdict.js';
import { proposal, targetFixture, type TargetFixture } from './helpers/target.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Samples are written by the test, never taken: the source URLs are never fetched. */
const SIGNALS = [
  {
    name: 'latency_ms',
    source: { kind: 'http-json', url: 'http://127.0.0.1:9/stats', path: 'latency' },
    unit: 'ms',
    direction: 'lower_is_better',
  },
  {
    name: 'error_rate',
    source: { kind: 'http-json', url: 'http://127.0.0.1:9/stats', path: 'errors' },
    unit: 'ratio',
    direction: 'lower_is_better',
    alert: { above: 0.5 },
  },
  {
    name: 'queue_depth',
    source: { kind: 'http-json', url: 'http://127.0.0.1:9/stats', path: 'queue' },
    unit: 'count',
    direction: 'lower_is_better',
  },
];

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const rt of runtimes.splice(0)) rt.close();
});

/** Deterministic noise in [-1, 1). */
function noise(seed: number): (i: number) => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  };
}

interface Scene {
  fx: TargetFixture;
  rt: Runtime;
  clock: SimulatedClock;
  id: string;
  appliedAt: number;
  /** 60 samples one minute apart: the hour before the apply, or the hour after it. */
  series(signal: string, when: 'before' | 'after', value: (i: number) => number | { error: string }): void;
  /** Move past the end of the validation window (60 minutes). */
  endWindow(): Promise<void>;
}

async function appliedChange(overrides: Record<string, unknown> = {}): Promise<Scene> {
  const fx = await targetFixture({ signals: SIGNALS });
  const clock = new SimulatedClock();
  const rt = fx.runtime(clock);
  runtimes.push(rt);
  const { intervention } = await submitProposal(rt, {
    target: 'app',
    proposal: proposal(overrides),
    origin: 'test',
    actor: 'tester',
  });
  expect(intervention.state).toBe('applied');
  const appliedAt = intervention.appliedAt!;
  const rows = rt.store.catalog.sync(rt.config.targets[0]!, clock.now());
  return {
    fx,
    rt,
    clock,
    id: intervention.id,
    appliedAt,
    series(signal, when, value) {
      const signalId = rows.get(signal)!.id;
      const start = when === 'before' ? appliedAt - HOUR : appliedAt + 30_000;
      rt.store.samples.insert(
        Array.from({ length: 60 }, (_, i) => {
          const v = value(i);
          return typeof v === 'number'
            ? { signalId, t: start + i * MIN, value: v }
            : { signalId, t: start + i * MIN, error: v.error };
        }),
      );
    },
    endWindow: () => clock.advance(HOUR + MIN),
  };
}

const around = (level: number, spread: number, seed: number) => {
  const n = noise(seed);
  return () => level + spread * n(0);
};

const remoteHead = (fx: TargetFixture) => fx.git('ls-remote', 'origin', 'main').split('\t')[0];

describe('validation verdicts', () => {
  it('validates a real drop predicted as a drop, and keeps predicted and actual magnitude', async () => {
    const s = await appliedChange();
    s.series('latency_ms', 'before', around(100, 10, 1));
    s.series('latency_ms', 'after', around(60, 6, 2));
    await s.endWindow();

    const { intervention, verdict } = await validateIntervention(s.rt, s.id);

    expect(verdict.outcome).toBe('validated');
    expect(intervention.state).toBe('validated');
    const stored = intervention.verdict as Verdict;
    expect(stored.outcome).toBe('validated');
    expect(stored.predicted).toEqual({ direction: 'down', magnitude: 0.3, relative: true });
    expect(stored.actual?.direction).toBe('down');
    expect(stored.actual?.better).toBe(true);
    expect(stored.actual?.magnitude).toBeGreaterThan(0.35);
    expect(stored.actual?.magnitude).toBeLessThan(0.45);
    expect(stored.points).toEqual({ baseline: 60, after: 60 });
    expect(stored.reason).toMatch(
      /^latency_ms fell (3[5-9]|4[0-5]) % \(median .* → .*\), p < 0\.0001 with 60 and 60 points; predicted a 30 % fall$/,
    );
    expect(s.rt.store.interventions.history(s.id).at(-1)).toMatchObject({
      from: 'applied',
      to: 'validated',
      actor: 'kaizen',
    });
    expect(s.rt.store.events.list({ kind: 'verdict_validated' })).toHaveLength(1);
  });

  it('reverts a rise when a drop was predicted: revert commit, remote moved, revertSha recorded', async () => {
    const s = await appliedChange();
    const commitSha = s.rt.store.interventions.get(s.id).commitSha!;
    s.series('latency_ms', 'before', around(100, 10, 3));
    s.series('latency_ms', 'after', around(140, 10, 4));
    await s.endWindow();

    const { intervention, verdict } = await validateIntervention(s.rt, s.id);

    expect(verdict.outcome).toBe('reverted');
    expect(verdict.rule).toBe('opposite_effect');
    expect(verdict.reason).toContain('so it moved the wrong way');
    expect(intervention.state).toBe('reverted');
    const revertSha = intervention.revertSha!;
    expect(revertSha).toBe(s.fx.git('rev-parse', 'HEAD'));
    expect(s.fx.git('rev-parse', `${revertSha}^`)).toBe(commitSha);
    expect(s.fx.git('log', '-1', '--format=%B', revertSha)).toContain(`Kaizen-Revert-Of: ${commitSha}`);
    expect(remoteHead(s.fx)).toBe(revertSha);
    expect(JSON.parse(s.fx.read('config.json'))).toMatchObject({ cacheSize: 0 });
    expect((intervention.verdict as Verdict).outcome).toBe('reverted');
    const [reverted] = s.rt.store.events.list({ kind: 'reverted' });
    expect(reverted!.data).toMatchObject({ by: 'kaizen', commitSha, revertSha, healthyAfter: true });
  });

  it('finds no effect in noise', async () => {
    const s = await appliedChange();
    s.series('latency_ms', 'before', around(100, 10, 5));
    s.series('latency_ms', 'after', around(100, 10, 6));
    await s.endWindow();

    const { intervention, verdict } = await validateIntervention(s.rt, s.id);

    expect(verdict.outcome).toBe('no_effect');
    expect(verdict.rule).toBe('not_significant');
    expect(intervention.state).toBe('no_effect');
    expect(intervention.revertSha).toBeNull();
    expect(s.fx.git('rev-parse', 'HEAD')).toBe(intervention.commitSha);
  });

  it('is inconclusive when the signal errored through the window, naming the counts', async () => {
    const s = await appliedChange();
    s.series('latency_ms', 'before', around(100, 10, 7));
    s.series('latency_ms', 'after', () => ({ error: 'connection refused (ECONNREFUSED)' }));
    await s.endWindow();

    const { intervention, verdict } = await validateIntervention(s.rt, s.id);

    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reason).toBe('insufficient samples: 60 baseline and 0 after points, need 50 each');
    expect(intervention.state).toBe('inconclusive');
    expect(s.fx.git('rev-parse', 'HEAD')).toBe(intervention.commitSha);
  });

  it('reverts when an alert-guarded signal that was fine before crosses during the window, though the prediction held', async () => {
    const s = await appliedChange();
    s.series('latency_ms', 'before', around(100, 10, 8));
    s.series('latency_ms', 'after', around(60, 6, 9));
    s.series('error_rate', 'before', () => 0.1);
    s.series('error_rate', 'after', (i) => (i === 20 ? 0.9 : 0.1));
    await s.endWindow();

    const { intervention, verdict } = await validateIntervention(s.rt, s.id);

    expect(verdict.outcome).toBe('reverted');
    expect(verdict.rule).toBe('alert_crossing');
    const at = new Date(s.appliedAt + 30_000 + 20 * MIN).toISOString().replace(/\.000Z$/, 'Z');
    expect(verdict.reason).toMatch(
      new RegExp(
        `^error_rate crossed its alert threshold \\(> 0\\.5\\) with 0\\.9 at ${at}; meanwhile latency_ms fell (3[5-9]|4[0-5]) %`,
      ),
    );
    expect(verdict.actual?.direction).toBe('down');
    expect(intervention.state).toBe('reverted');
    expect(intervention.revertSha).toBe(s.fx.git('rev-parse', 'HEAD'));
    expect(remoteHead(s.fx)).toBe(intervention.revertSha);
  });

  it('does not revert for a signal that was already alerting before the apply', async () => {
    const s = await appliedChange();
    s.series('latency_ms', 'before', around(100, 10, 10));
    s.series('latency_ms', 'after', around(60, 6, 11));
    s.series('error_rate', 'before', () => 0.9);
    s.series('error_rate', 'after', () => 0.9);
    await s.endWindow();

    const { intervention, verdict } = await validateIntervention(s.rt, s.id);

    expect(verdict.outcome).toBe('validated');
    expect(verdict.alertCrossings).toEqual([]);
    expect(intervention.state).toBe('validated');
    expect(s.fx.git('rev-parse', 'HEAD')).toBe(intervention.commitSha);
  });

  it('refuses to judge before the window has ended', async () => {
    const s = await appliedChange();
    s.series('latency_ms', 'before', around(100, 10, 12));
    await s.clock.advance(30 * MIN);

    const err = await validateIntervention(s.rt, s.id).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(KaizenError);
    expect((err as KaizenError).message).toBe(
      `the validation window of ${s.id} is still open until ${new Date(s.appliedAt + HOUR).toISOString()}`,
    );
    expect(s.rt.store.interventions.get(s.id).state).toBe('applied');
  });

  it('refuses to judge an intervention that is not applied', async () => {
    const s = await appliedChange();
    s.series('latency_ms', 'before', around(100, 10, 13));
    s.series('latency_ms', 'after', around(60, 6, 14));
    await s.endWindow();
    await validateIntervention(s.rt, s.id);

    await expect(validateIntervention(s.rt, s.id)).rejects.toThrow(
      `intervention ${s.id} is validated; only applied interventions are validated`,
    );
  });
});

describe('what is due, and what is watched', () => {
  it('lists a window as due once it has ended, and watches predicted and alert-guarded signals of open windows only', async () => {
    const s = await appliedChange();
    await s.clock.advance(30 * MIN);
    const { intervention: second } = await submitProposal(s.rt, {
      target: 'app',
      proposal: proposal({
        title: 'Two worker threads more',
        area: 'worker',
        changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'worker.threads', value: 4 }],
        prediction: { signal: 'queue_depth', direction: 'down', magnitude: 0.2 },
      }),
      origin: 'test',
      actor: 'tester',
    });
    expect(second.state).toBe('applied');

    expect(dueForValidation(s.rt)).toEqual([]);
    // queue_depth is watched only while an open window predicts it; error_rate always has an alert.
    expect(watchedSignals(s.rt)).toEqual(
      new Map([['app', new Set(['latency_ms', 'error_rate', 'queue_depth'])]]),
    );

    await s.clock.advance(30 * MIN); // K0001's window ends now
    expect(dueForValidation(s.rt).map((iv) => iv.id)).toEqual([s.id]);
    expect(watchedSignals(s.rt).get('app')).toEqual(new Set(['latency_ms', 'error_rate', 'queue_depth']));

    await s.clock.advance(1);
    expect(dueForValidation(s.rt).map((iv) => iv.id)).toEqual([s.id]);
    expect(watchedSignals(s.rt)).toEqual(new Map([['app', new Set(['queue_depth', 'error_rate'])]]));

    await s.clock.advance(30 * MIN);
    expect(
      dueForValidation(s.rt)
        .map((iv) => iv.id)
        .sort(),
    ).toEqual([s.id, second.id]);
    expect(watchedSignals(s.rt)).toEqual(new Map());
  });

  it('stops watching an intervention a person reverted while its window was open', async () => {
    const s = await appliedChange();
    await s.clock.advance(10 * MIN);
    expect(watchedSignals(s.rt).get('app')).toEqual(new Set(['latency_ms', 'error_rate']));

    await revertIntervention(s.rt, s.id, 'tester', 'latency looked worse on the dashboard');
    await s.clock.advance(HOUR);

    expect(s.rt.store.interventions.get(s.id).state).toBe('reverted');
    expect(watchedSignals(s.rt)).toEqual(new Map());
    expect(dueForValidation(s.rt)).toEqual([]);
  });
});

describe('dense sampling while a window is open', () => {
  it('samples only the predicted and alert-guarded signals of open windows, and nothing once they close', async () => {
    const s = await appliedChange();

    const during = await denseTick(s.rt);
    await s.endWindow();
    const after = await denseTick(s.rt);

    expect(during.map((o) => o.signal).sort()).toEqual(['error_rate', 'latency_ms']);
    // The sources point at a port fetch refuses: each sample is an error, never a number.
    expect(during.map((o) => [o.value, o.error])).toEqual([
      [undefined, 'GET http://127.0.0.1:9/stats failed: bad port'],
      [undefined, 'GET http://127.0.0.1:9/stats failed: bad port'],
    ]);
    expect(after).toEqual([]);
  });
});
