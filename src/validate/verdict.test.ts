import { describe, expect, it } from 'vitest';
import type { Prediction } from '../propose/proposal.js';
import { type JudgeInput, Verdict, judge } from './verdict.js';

/** mulberry32: a small seeded PRNG, so every generated window is the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * n normally distributed values (Box–Muller) with standard deviation `sd`, moved so that their
 * median is exactly `center` (to rounding): the medians in the reasons are then known in advance.
 */
function series(n: number, center: number, sd: number, seed: number): number[] {
  const random = prng(seed);
  const raw = Array.from({ length: n }, () => {
    const u = 1 - random();
    return sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  });
  const sorted = [...raw].sort((a, b) => a - b);
  const mid = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return raw.map((v) => v - mid + center);
}

const fall30: Prediction = { signal: 'error_rate', direction: 'down', magnitude: 0.3, relative: true };

function input(over: Partial<JudgeInput>): JudgeInput {
  return {
    baseline: series(96, 0.081, 0.01, 1),
    after: series(118, 0.048, 0.01, 2),
    prediction: fall30,
    signalDirection: 'lower_is_better',
    confidence: 0.98,
    tolerance: 0.25,
    alertCrossings: [],
    ...over,
  };
}

/** judge, and check that what it returns is a valid Verdict. */
function run(over: Partial<JudgeInput>): Verdict {
  const v = judge(input(over));
  expect(Verdict.parse(v)).toEqual(v);
  return v;
}

describe('judge', () => {
  it('validates a real drop predicted as a drop', () => {
    const v = run({});
    expect(v.outcome).toBe('validated');
    expect(v.rule).toBe('predicted_effect');
    expect(v.reason).toBe(
      'error_rate fell 41 % (median 0.081 → 0.048), p < 0.0001 with 96 and 118 points; predicted a 30 % fall',
    );
    expect(v.baseline).toEqual({ n: 96, median: expect.closeTo(0.081, 12) });
    expect(v.after).toEqual({ n: 118, median: expect.closeTo(0.048, 12) });
    expect(v.points).toEqual({ baseline: 96, after: 118 });
    expect(v.relativeChange).toBeCloseTo(0.048 / 0.081 - 1, 12);
    expect(v.actual).toEqual({
      magnitude: expect.closeTo(1 - 0.048 / 0.081, 12),
      direction: 'down',
      better: true,
    });
    expect(v.predicted).toEqual({ direction: 'down', magnitude: 0.3, relative: true });
    expect(v.pValue!.predicted).toBeLessThan(1e-10);
    expect(v.pValue!.twoSided).toBeLessThan(1e-10);
    expect(v.shift!.upper).toBeLessThan(0);
    expect(v.shift!.estimate).toBeCloseTo(-0.033, 2);
  });

  it('reverts a drop when a rise was predicted', () => {
    const v = run({
      prediction: { signal: 'throughput', direction: 'up', magnitude: 0.2, relative: true },
      signalDirection: 'higher_is_better',
      baseline: series(80, 120, 10, 3),
      after: series(80, 100, 10, 4),
    });
    expect(v.outcome).toBe('reverted');
    expect(v.rule).toBe('opposite_effect');
    expect(v.reason).toBe(
      'throughput fell 17 % (median 120 → 100), p < 0.0001 with 80 and 80 points; ' +
        'predicted a 20 % rise, so it moved the wrong way',
    );
    expect(v.actual).toEqual({ magnitude: expect.closeTo(1 / 6, 12), direction: 'down', better: false });
    // One-sided in the predicted direction (up): no evidence at all.
    expect(v.pValue!.predicted).toBeGreaterThan(0.999);
  });

  it('finds no effect in noise', () => {
    for (let seed = 10; seed < 20; seed += 2) {
      const v = run({ baseline: series(100, 0.08, 0.01, seed), after: series(100, 0.08, 0.01, seed + 1) });
      expect(v.outcome).toBe('no_effect');
      expect(v.rule).toBe('not_significant');
      expect(v.pValue!.twoSided).toBeGreaterThanOrEqual(0.02);
      expect(v.shift!.lower).toBeLessThanOrEqual(0);
      expect(v.shift!.upper).toBeGreaterThanOrEqual(0);
    }
    const v = run({ baseline: series(100, 0.08, 0.01, 10), after: series(100, 0.079, 0.01, 11) });
    expect(v.reason).toBe(
      'error_rate fell 1.3 % (median 0.08 → 0.079), p = 0.98 with 100 and 100 points, ' +
        'not significant at 98 % confidence; predicted a 30 % fall',
    );
  });

  it('counts a tiny significant effect below the tolerance as no effect', () => {
    const v = run({ baseline: series(500, 100, 1, 5), after: series(500, 99, 1, 6), unit: 'ms' });
    expect(v.pValue!.twoSided).toBeLessThan(0.02);
    expect(v.shift!.upper).toBeLessThan(0);
    expect(v.outcome).toBe('no_effect');
    expect(v.rule).toBe('below_tolerance');
    expect(v.reason).toBe(
      'error_rate fell 1 % (median 100 → 99), p < 0.0001 with 500 and 500 points; ' +
        'predicted a 30 % fall, and less than a 7.5 % fall counts as no effect (tolerance 0.25)',
    );
  });

  it('needs exactly tolerance × the predicted magnitude (a 40 % fall needs a 10 % fall)', () => {
    const fall40: Prediction = { signal: 'p95_ms', direction: 'down', magnitude: 0.4, relative: true };
    const baseline = series(200, 100, 1, 7);
    const at = run({ prediction: fall40, baseline, after: series(200, 90, 1, 8) });
    expect(at.relativeChange).toBeCloseTo(-0.1, 12);
    expect(at.outcome).toBe('validated');
    const under = run({ prediction: fall40, baseline, after: series(200, 90.1, 1, 8) });
    expect(under.pValue!.twoSided).toBeLessThan(1e-10);
    expect(under.outcome).toBe('no_effect');
    expect(under.rule).toBe('below_tolerance');
    // Tolerance 0: any significant effect in the predicted direction counts.
    expect(run({ prediction: fall40, baseline, after: series(200, 99.5, 1, 8), tolerance: 0 }).outcome).toBe(
      'validated',
    );
  });

  it('judges an absolute prediction in the signal unit', () => {
    const fall20ms: Prediction = { signal: 'p95_ms', direction: 'down', magnitude: 20, relative: false };
    const baseline = series(60, 250, 8, 21);
    const v = run({ prediction: fall20ms, baseline, after: series(60, 220, 8, 22), unit: 'ms' });
    expect(v.outcome).toBe('validated');
    expect(v.actual).toEqual({ magnitude: expect.closeTo(30, 9), direction: 'down', better: true });
    expect(v.reason).toBe(
      'p95_ms fell by 30 ms (median 250 → 220), p < 0.0001 with 60 and 60 points; predicted a fall of 20 ms',
    );
    // 4 ms is significant but under 0.25 × 20 ms = 5 ms.
    const small = run({ prediction: fall20ms, baseline, after: series(60, 246, 1, 22), unit: 'ms' });
    expect(small.pValue!.twoSided).toBeLessThan(0.02);
    expect(small.rule).toBe('below_tolerance');
    expect(small.reason).toContain('less than a fall of 5 ms counts as no effect');
  });

  it('uses the confidence level as the significance boundary', () => {
    // A moderate effect whose two-sided p lies between 0.005 and 0.02.
    const baseline = series(60, 10, 1, 31);
    const after = series(60, 10.5, 1, 32);
    const at98 = run({ baseline, after, prediction: { ...fall30, direction: 'up', magnitude: 0.01 } });
    expect(at98.pValue!.twoSided).toBeGreaterThan(0.005);
    expect(at98.pValue!.twoSided).toBeLessThan(0.02);
    expect(at98.outcome).toBe('validated');
    const at995 = run({
      baseline,
      after,
      prediction: { ...fall30, direction: 'up', magnitude: 0.01 },
      confidence: 0.995,
    });
    expect(at995.outcome).toBe('no_effect');
    expect(at995.rule).toBe('not_significant');
    expect(at995.reason).toContain(', not significant at 99.5 % confidence;');
  });

  it('is inconclusive below minPoints on either side, with the exact counts', () => {
    const v = run({ baseline: series(49, 0.081, 0.01, 1), after: series(60, 0.048, 0.01, 2) });
    expect(v.outcome).toBe('inconclusive');
    expect(v.rule).toBe('insufficient_samples');
    expect(v.reason).toBe('insufficient samples: 49 baseline and 60 after points, need 50 each');
    expect(v.pValue).toBeNull();
    expect(v.shift).toBeNull();
    expect(v.actual).toBeNull();
    expect(v.baseline.n).toBe(49);
    expect(v.baseline.median).toBeCloseTo(0.081, 12);

    expect(run({ baseline: series(50, 0.081, 0.01, 1), after: series(50, 0.048, 0.01, 2) }).outcome).toBe(
      'validated',
    );
    expect(run({ after: series(49, 0.048, 0.01, 2) }).reason).toBe(
      'insufficient samples: 96 baseline and 49 after points, need 50 each',
    );
    expect(run({ baseline: [], after: [], minPoints: 10 }).reason).toBe(
      'insufficient samples: 0 baseline and 0 after points, need 10 each',
    );
    expect(run({ baseline: [], after: [] }).baseline).toEqual({ n: 0, median: null });
  });

  it('reverts on an alert crossing even when the prediction held', () => {
    const crossing = {
      signal: 'queue_depth',
      value: 1250,
      threshold: '> 1000',
      t: Date.UTC(2026, 0, 5, 12, 3),
    };
    const v = run({ alertCrossings: [crossing] });
    expect(v.outcome).toBe('reverted');
    expect(v.rule).toBe('alert_crossing');
    expect(v.reason).toBe(
      'queue_depth crossed its alert threshold (> 1000) with 1250 at 2026-01-05T12:03:00Z; meanwhile ' +
        'error_rate fell 41 % (median 0.081 → 0.048), p < 0.0001 with 96 and 118 points',
    );
    expect(v.alertCrossings).toEqual([crossing]);
    expect(v.actual?.direction).toBe('down');

    const two = run({
      alertCrossings: [crossing, { ...crossing, signal: 'rss_mb', value: 900, threshold: '> 800' }],
    });
    expect(two.reason).toMatch(/^queue_depth crossed .* and 1 more alert crossing; meanwhile /);

    // Too few points to test: still reverted, without statistics.
    const early = run({
      baseline: series(12, 0.081, 0.01, 1),
      after: series(5, 0.048, 0.01, 2),
      alertCrossings: [crossing],
    });
    expect(early.outcome).toBe('reverted');
    expect(early.reason).toBe(
      'queue_depth crossed its alert threshold (> 1000) with 1250 at 2026-01-05T12:03:00Z',
    );
    expect(early.pValue).toBeNull();
  });

  it('is inconclusive for a relative prediction from a baseline median of 0', () => {
    const random = prng(41);
    // A signal that is 0 most of the time before, and clearly higher after.
    const baseline = Array.from({ length: 100 }, (_, i) => (i % 5 < 3 ? 0 : 1 + Math.floor(random() * 3)));
    const after = Array.from({ length: 100 }, () => 2 + Math.floor(random() * 5));
    const rise = { signal: 'cache_hits', direction: 'up', magnitude: 0.3, relative: true } as const;
    const v = run({ baseline, after, prediction: rise, signalDirection: 'higher_is_better' });
    expect(v.shift!.lower).toBeGreaterThan(0);
    expect(v.outcome).toBe('inconclusive');
    expect(v.rule).toBe('zero_baseline');
    expect(v.relativeChange).toBeNull();
    expect(v.actual).toEqual({ magnitude: null, direction: 'up', better: true });
    expect(v.reason).toBe(
      'cache_hits rose by 4 (median 0 → 4), p < 0.0001 with 100 and 100 points; predicted a 30 % rise, ' +
        'but a relative change cannot be measured from a baseline median of 0',
    );
    // The same data against an absolute prediction is judged.
    const abs = run({ baseline, after, prediction: { ...rise, magnitude: 2, relative: false } });
    expect(abs.outcome).toBe('validated');
  });

  it('finds no shift when a mostly-zero counter falls to zero (a limitation of the shift model)', () => {
    const random = prng(43);
    const baseline = Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 1 + Math.floor(random() * 3) : 0));
    const after = Array.from({ length: 100 }, () => 0);
    const v = run({ baseline, after, prediction: { ...fall30, signal: 'errors' } });
    // The rank test sees the difference, but two thirds of the pairwise differences are 0, so the
    // shift and its whole interval are 0: there is no shift to validate.
    expect(v.pValue!.twoSided).toBeLessThan(0.0001);
    expect(v.shift).toEqual({ estimate: 0, lower: 0, upper: 0 });
    expect(v.outcome).toBe('no_effect');
    expect(v.rule).toBe('not_significant');
    expect(v.reason).toBe(
      'errors held at median 0, p < 0.0001 with 100 and 100 points, but the 98 % interval of the shift ' +
        '(0 to 0) includes 0; predicted a 30 % fall',
    );
  });

  it('reports relative change against |baseline| for a negative baseline', () => {
    const v = run({
      prediction: { signal: 'drift', direction: 'up', magnitude: 0.3, relative: true },
      signalDirection: 'higher_is_better',
      baseline: series(60, -10, 0.5, 51),
      after: series(60, -5, 0.5, 52),
    });
    expect(v.relativeChange).toBeCloseTo(0.5, 12);
    expect(v.outcome).toBe('validated');
    expect(v.reason).toBe(
      'drift rose 50 % (median -10 → -5), p < 0.0001 with 60 and 60 points; predicted a 30 % rise',
    );
  });

  it('returns p = 1 and no effect when every value is the same', () => {
    const flat = Array.from({ length: 60 }, () => 3);
    const v = run({ baseline: flat, after: flat });
    expect(v.outcome).toBe('no_effect');
    expect(v.pValue).toEqual({ predicted: 1, twoSided: 1 });
    expect(v.shift).toEqual({ estimate: 0, lower: 0, upper: 0 });
    expect(v.actual).toEqual({ magnitude: 0, direction: 'none', better: null });
  });

  it('refuses malformed input', () => {
    expect(() => judge(input({ baseline: [1, NaN] }))).toThrow(
      'judge: baseline[1] is NaN; values must be finite numbers',
    );
    expect(() => judge(input({ confidence: 1 }))).toThrow(RangeError);
    expect(() => judge(input({ tolerance: -0.1 }))).toThrow(RangeError);
    expect(() => judge(input({ minPoints: 0 }))).toThrow(RangeError);
  });
});
