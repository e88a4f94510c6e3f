import { describe, expect, it } from 'vitest';
import { judge } from '../validate/verdict.js';
import { calibrationPoint, summarise } from './calibration.js';
import { episodesOf } from './episodes.js';

/** A verdict from the real judge: baseline around `from`, after around `to`, 60 points each. */
function verdict(from: number, to: number, magnitude: number, direction: 'up' | 'down' = 'down') {
  const jitter = (v: number, i: number) => v * (1 + ((i % 7) - 3) * 0.004);
  return judge({
    baseline: Array.from({ length: 60 }, (_, i) => jitter(from, i)),
    after: Array.from({ length: 60 }, (_, i) => jitter(to, i)),
    prediction: { signal: 'p95_ms', direction, magnitude, relative: true },
    signalDirection: 'lower_is_better',
    confidence: 0.98,
    tolerance: 0.25,
    alertCrossings: [],
  });
}

describe('calibration points', () => {
  it('measures how much of the predicted change happened, signed by direction', () => {
    const asPredicted = calibrationPoint('K1', 1, verdict(100, 70, 0.3))!;
    const half = calibrationPoint('K2', 2, verdict(100, 85, 0.3))!;
    const wrongWay = calibrationPoint('K3', 3, verdict(100, 115, 0.3))!;

    expect(asPredicted).toMatchObject({ outcome: 'validated', predicted: 0.3, relative: true });
    expect(asPredicted.realised).toBeCloseTo(1, 6);
    expect(asPredicted.error).toBeCloseTo(0, 6);
    expect(half.realised).toBeCloseTo(0.5, 6);
    expect(half.error).toBeCloseTo(0.5, 6);
    expect(wrongWay).toMatchObject({ outcome: 'reverted' });
    expect(wrongWay.actual).toBeCloseTo(-0.15, 6);
    expect(wrongWay.error).toBeCloseTo(1.5, 6);
    expect(summarise([asPredicted, half, wrongWay])).toMatchObject({ n: 3 });
    expect(summarise([asPredicted, half, wrongWay]).meanError).toBeCloseTo(2 / 3, 6);
  });

  it('has no point for a verdict that measured nothing, or for anything that is not a verdict', () => {
    const tooFew = judge({
      baseline: [1, 2, 3],
      after: [1, 2, 3],
      prediction: { signal: 'x', direction: 'down', magnitude: 0.3, relative: true },
      signalDirection: 'lower_is_better',
      confidence: 0.98,
      tolerance: 0.25,
      alertCrossings: [],
    });

    expect(tooFew.outcome).toBe('inconclusive');
    expect(calibrationPoint('K1', 1, tooFew)).toBeUndefined();
    expect(calibrationPoint('K1', 1, { outcome: 'validated' })).toBeUndefined();
    expect(calibrationPoint('K1', 1, null)).toBeUndefined();
    expect(summarise([])).toEqual({ n: 0, meanError: null, meanRealised: null });
  });
});

describe('alert episodes', () => {
  const label = { target: 'app', signal: 's', area: null };
  const series = (values: number[]) => values.map((value, i) => ({ t: i * 60_000, value }));

  it('runs from the first crossing sample to the first sample back, like the status digest', () => {
    const episodes = episodesOf(series([1, 9, 12, 3, 2, 11, 15]), { above: 8 }, label);

    expect(episodes).toEqual([
      { ...label, start: 60_000, end: 180_000, worst: 12, samples: 2 },
      { ...label, start: 300_000, end: null, worst: 15, samples: 2 },
    ]);
  });

  it('takes the lowest value as the worst for a lower bound, and sees nothing when nothing crosses', () => {
    expect(episodesOf(series([20, 5, 3, 8, 20]), { below: 10 }, label)).toEqual([
      { ...label, start: 60_000, end: 240_000, worst: 3, samples: 3 },
    ]);
    expect(episodesOf(series([20, 30]), { below: 10 }, label)).toEqual([]);
  });
});
