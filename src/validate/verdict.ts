import { z } from 'zod';
import type { Prediction } from '../propose/proposal.js';
import { hodgesLehmann, mannWhitneyU, median } from './stats.js';

/*
 * The verdict on one applied change: did the predicted signal move as predicted?
 *
 * `judge` compares the signal's values in a baseline window before the apply with the values in
 * the validation window after it. Rules, first match wins:
 *
 *  1. alert_crossing → reverted. Any guarded signal crossed its alert threshold during the window
 *     (the caller lists the crossings). Safety beats statistics: this holds even when the prediction
 *     came true, and even with too few points for a test.
 *  2. insufficient_samples → inconclusive. Either side has fewer than `minPoints` values (default
 *     50). Never a silent pass: the reason names both counts.
 *  3. The test. Mann–Whitney U on after against baseline, two-sided, normal approximation with tie
 *     and continuity correction; the Hodges–Lehmann shift (after − baseline) with its two-sided
 *     interval at `confidence`. A change is significant when p(two-sided) < 1 − confidence AND the
 *     interval excludes 0; its direction is the sign of the interval. Two-sided on purpose: the
 *     interval inverts the same test, a harm is detected as readily as a win, and it is what
 *     Kayenta's judge does (98 % confidence). Both the two-sided p and the one-sided p in the
 *     predicted direction are reported.
 *  4. opposite_effect → reverted. Significant, in the direction opposite to the prediction
 *     (whether or not that direction is "better": the change did something it did not claim).
 *  5. Significant in the predicted direction: the effect must also be large enough. It counts when
 *     the median moved in the predicted direction by at least `tolerance` × the predicted magnitude,
 *     in the prediction's own terms: a relative prediction compares the relative change of the
 *     median ((after − baseline) / |baseline|), an absolute one the difference of the medians. So
 *     a predicted 40 % fall with tolerance 0.25 needs a fall of at least 10 %. Scaling by the
 *     prediction is deliberate: the prediction is the claim under test, an effect under a quarter
 *     of what was claimed is not the claimed effect, and a small predicted gain should not need a
 *     25 % move to count. (Kayenta's `tolerance` is a different check: its MannWhitneyClassifier
 *     asks the interval to clear ±tolerance × |HL estimate|, a bound on precision, not on size.)
 *     Up to 1e-9 relative rounding; tolerance 0 accepts any significant effect in the predicted
 *     direction.
 *     - predicted_effect → validated when it counts;
 *     - below_tolerance → no_effect when it does not;
 *     - zero_baseline → inconclusive for a relative prediction whose baseline median is 0 (no
 *       relative change can be measured; an absolute prediction would have been judged).
 *  6. not_significant → no_effect. Everything else. That includes p < 1 − confidence with an
 *     interval that reaches 0, which heavily tied data produce (a counter that is mostly 0 and
 *     falls to always 0: the distributions differ, but the median and the shift do not move); the
 *     reason then names the interval. Predict such signals as a rate over a longer window.
 *
 * `relativeChange` is (after median − baseline median) / |baseline median|, which is
 * after / baseline − 1 for a positive baseline and keeps the sign of the movement for a negative
 * one; null when the baseline median is 0. `actual` describes how the median moved, in the
 * prediction's terms; `shift` is the Hodges–Lehmann estimate and interval.
 */

export const DEFAULT_MIN_POINTS = 50;

/** Relative slack on the tolerance comparison, so a boundary case is not decided by rounding. */
const ROUNDING_SLACK = 1e-9;

export const AlertCrossing = z.strictObject({
  signal: z.string(),
  value: z.number(),
  /** As the caller describes it, e.g. "> 0.05". */
  threshold: z.string(),
  /** When, in milliseconds since the Unix epoch. */
  t: z.number(),
});
export type AlertCrossing = z.infer<typeof AlertCrossing>;

export interface JudgeInput {
  /** Values of the predicted signal before the apply. */
  baseline: readonly number[];
  /** Values of the predicted signal in the validation window. */
  after: readonly number[];
  prediction: Prediction;
  signalDirection: 'higher_is_better' | 'lower_is_better';
  /** Confidence level of the test and interval, e.g. 0.98. */
  confidence: number;
  /** Fraction of the predicted magnitude an effect must reach to count, e.g. 0.25. */
  tolerance: number;
  /** Points each side needs (default 50). */
  minPoints?: number;
  /** Guarded signals that crossed their alert threshold during the window. */
  alertCrossings: readonly AlertCrossing[];
  /** The signal's unit, for the reason of an absolute prediction (e.g. "ms"). */
  unit?: string;
}

const Direction = z.enum(['up', 'down']);

const SampleSummary = z.strictObject({
  n: z.number().int().nonnegative(),
  /** null when there are no values. */
  median: z.number().nullable(),
});

const PValue = z.strictObject({
  /** One-sided, for a change in the predicted direction. */
  predicted: z.number().min(0).max(1),
  twoSided: z.number().min(0).max(1),
});

const Shift = z.strictObject({
  /** Hodges–Lehmann estimate of after − baseline, in the signal's unit. */
  estimate: z.number(),
  lower: z.number(),
  upper: z.number(),
});

const Actual = z.strictObject({
  /** How far the median moved, in the prediction's terms (fraction or unit); null if not measurable. */
  magnitude: z.number().nonnegative().nullable(),
  direction: z.enum(['up', 'down', 'none']),
  /** Whether that movement is good for the signal; null when it did not move. */
  better: z.boolean().nullable(),
});

const common = {
  reason: z.string().min(1),
  signal: z.string(),
  baseline: SampleSummary,
  after: SampleSummary,
  points: z.strictObject({ baseline: z.number().int().nonnegative(), after: z.number().int().nonnegative() }),
  predicted: z.strictObject({
    direction: Direction,
    magnitude: z.number().positive(),
    relative: z.boolean(),
  }),
  criteria: z.strictObject({
    confidence: z.number(),
    tolerance: z.number(),
    minPoints: z.number().int().positive(),
  }),
  alertCrossings: z.array(AlertCrossing),
};

const measured = {
  pValue: PValue,
  shift: Shift,
  relativeChange: z.number().nullable(),
  actual: Actual,
};

/** Without enough points there is no test: these are null. */
const maybeMeasured = {
  pValue: PValue.nullable(),
  shift: Shift.nullable(),
  relativeChange: z.number().nullable(),
  actual: Actual.nullable(),
};

export const Verdict = z.discriminatedUnion('outcome', [
  z.strictObject({
    outcome: z.literal('validated'),
    rule: z.literal('predicted_effect'),
    ...common,
    ...measured,
  }),
  z.strictObject({
    outcome: z.literal('no_effect'),
    rule: z.enum(['not_significant', 'below_tolerance']),
    ...common,
    ...measured,
  }),
  z.strictObject({
    outcome: z.literal('reverted'),
    rule: z.enum(['alert_crossing', 'opposite_effect']),
    ...common,
    ...maybeMeasured,
  }),
  z.strictObject({
    outcome: z.literal('inconclusive'),
    rule: z.enum(['insufficient_samples', 'zero_baseline']),
    ...common,
    ...maybeMeasured,
  }),
]);
export type Verdict = z.infer<typeof Verdict>;
export type Outcome = Verdict['outcome'];

interface Measurement {
  pValue: z.infer<typeof PValue>;
  shift: z.infer<typeof Shift>;
  relativeChange: number | null;
  actual: z.infer<typeof Actual>;
  /** Direction of a significant change, null when not significant. */
  significant: 'up' | 'down' | null;
  baselineMedian: number;
  afterMedian: number;
}

/** Judge one validation window. Pure; throws a RangeError for malformed input (see the rules above). */
export function judge(input: JudgeInput): Verdict {
  const { baseline, after, prediction, confidence, tolerance } = input;
  const minPoints = input.minPoints ?? DEFAULT_MIN_POINTS;
  checkInput(input, minPoints);

  const enough = baseline.length >= minPoints && after.length >= minPoints;
  const m = enough ? measure(input) : null;
  const shared = {
    signal: prediction.signal,
    baseline: { n: baseline.length, median: m?.baselineMedian ?? medianOrNull(baseline) },
    after: { n: after.length, median: m?.afterMedian ?? medianOrNull(after) },
    points: { baseline: baseline.length, after: after.length },
    predicted: {
      direction: prediction.direction,
      magnitude: prediction.magnitude,
      relative: prediction.relative,
    },
    criteria: { confidence, tolerance, minPoints },
    alertCrossings: input.alertCrossings.map((c) => ({ ...c })),
  };
  const stats = m
    ? { pValue: m.pValue, shift: m.shift, relativeChange: m.relativeChange, actual: m.actual }
    : { pValue: null, shift: null, relativeChange: null, actual: null };

  // 1. An alert crossing reverts, whatever the statistics say.
  const [first, ...more] = input.alertCrossings;
  if (first) {
    const extra =
      more.length > 0 ? ` and ${more.length} more alert crossing${more.length > 1 ? 's' : ''}` : '';
    const crossing =
      `${first.signal} crossed its alert threshold (${first.threshold}) with ${num(first.value)} ` +
      `at ${isoTime(first.t)}${extra}`;
    const reason = m ? `${crossing}; meanwhile ${describe(input, m)}` : crossing;
    return { outcome: 'reverted', rule: 'alert_crossing', reason, ...shared, ...stats };
  }

  // 2. Too few points: no test.
  if (!m) {
    const reason =
      `insufficient samples: ${baseline.length} baseline and ${after.length} after points, ` +
      `need ${minPoints} each`;
    return { outcome: 'inconclusive', rule: 'insufficient_samples', reason, ...shared, ...stats };
  }

  const measuredStats = {
    pValue: m.pValue,
    shift: m.shift,
    relativeChange: m.relativeChange,
    actual: m.actual,
  };
  const said = describe(input, m);
  const predictedText = describePrediction(input);

  // 4. A significant change against the prediction.
  if (m.significant !== null && m.significant !== prediction.direction) {
    const reason = `${said}; predicted ${predictedText}, so it moved the wrong way`;
    return { outcome: 'reverted', rule: 'opposite_effect', reason, ...shared, ...stats };
  }

  // 6. Nothing significant.
  if (m.significant === null) {
    const why =
      m.pValue.twoSided < 1 - confidence
        ? // Heavily tied data (a counter that is mostly 0) can differ in distribution without a shift.
          `, but the ${level(confidence)} % interval of the shift (${num(m.shift.lower)} to ${num(m.shift.upper)}) includes 0`
        : `, not significant at ${level(confidence)} % confidence`;
    const reason = `${said}${why}; predicted ${predictedText}`;
    return { outcome: 'no_effect', rule: 'not_significant', reason, ...shared, ...measuredStats };
  }

  // 5. Significant in the predicted direction: large enough?
  const sign = prediction.direction === 'up' ? 1 : -1;
  const moved = m.afterMedian - m.baselineMedian;
  const effect = prediction.relative
    ? m.relativeChange === null
      ? null
      : sign * m.relativeChange
    : sign * moved;
  if (effect === null) {
    const reason =
      `${said}; predicted ${predictedText}, but a relative change cannot be measured ` +
      `from a baseline median of 0`;
    return { outcome: 'inconclusive', rule: 'zero_baseline', reason, ...shared, ...stats };
  }
  const needed = tolerance * prediction.magnitude;
  if (effect >= needed * (1 - ROUNDING_SLACK)) {
    const reason = `${said}; predicted ${predictedText}`;
    return { outcome: 'validated', rule: 'predicted_effect', reason, ...shared, ...measuredStats };
  }
  const neededText = prediction.relative
    ? `a ${percent(needed)} % ${noun(prediction.direction)}`
    : `a ${noun(prediction.direction)} of ${num(needed)}${unitSuffix(input)}`;
  const reason =
    `${said}; predicted ${predictedText}, and less than ${neededText} counts as no effect ` +
    `(tolerance ${tolerance})`;
  return { outcome: 'no_effect', rule: 'below_tolerance', reason, ...shared, ...measuredStats };
}

function measure(input: JudgeInput): Measurement {
  const { baseline, after, prediction, confidence } = input;
  // x = after, y = baseline: "greater" means the signal went up.
  const mw = mannWhitneyU(after, baseline);
  const hl = hodgesLehmann(baseline, after, confidence);
  const baselineMedian = median(baseline);
  const afterMedian = median(after);
  const moved = afterMedian - baselineMedian;
  const relativeChange = baselineMedian === 0 ? null : moved / Math.abs(baselineMedian);

  const excludesZero = hl.lower > 0 || hl.upper < 0;
  const significant = mw.pTwoSided < 1 - confidence && excludesZero ? (hl.lower > 0 ? 'up' : 'down') : null;

  const direction = moved > 0 ? 'up' : moved < 0 ? 'down' : 'none';
  const better =
    direction === 'none' ? null : (direction === 'up') === (input.signalDirection === 'higher_is_better');
  const magnitude = prediction.relative
    ? relativeChange === null
      ? null
      : Math.abs(relativeChange)
    : Math.abs(moved);
  return {
    pValue: { predicted: prediction.direction === 'up' ? mw.pGreater : mw.pLess, twoSided: mw.pTwoSided },
    shift: { estimate: hl.shift, lower: hl.lower, upper: hl.upper },
    relativeChange,
    actual: { magnitude, direction, better },
    significant,
    baselineMedian,
    afterMedian,
  };
}

/** "error_rate fell 41 % (median 0.081 → 0.048), p = 0.0003 with 96 and 118 points" */
function describe(input: JudgeInput, m: Measurement): string {
  const { signal, relative } = input.prediction;
  const moved = m.afterMedian - m.baselineMedian;
  const medians = `(median ${num(m.baselineMedian)} → ${num(m.afterMedian)})`;
  let movement: string;
  if (moved === 0) movement = `${signal} held at median ${num(m.baselineMedian)}`;
  else if (relative && m.relativeChange !== null) {
    movement = `${signal} ${moved > 0 ? 'rose' : 'fell'} ${percent(Math.abs(m.relativeChange))} % ${medians}`;
  } else {
    movement = `${signal} ${moved > 0 ? 'rose' : 'fell'} by ${num(Math.abs(moved))}${unitSuffix(input)} ${medians}`;
  }
  const p = m.pValue.twoSided < 0.0001 ? 'p < 0.0001' : `p = ${Number(m.pValue.twoSided.toPrecision(2))}`;
  return `${movement}, ${p} with ${input.baseline.length} and ${input.after.length} points`;
}

/** "a 30 % fall", "a rise of 20 ms" */
function describePrediction(input: JudgeInput): string {
  const { direction, magnitude, relative } = input.prediction;
  return relative
    ? `a ${percent(magnitude)} % ${noun(direction)}`
    : `a ${noun(direction)} of ${num(magnitude)}${unitSuffix(input)}`;
}

const noun = (direction: 'up' | 'down') => (direction === 'up' ? 'rise' : 'fall');

const unitSuffix = (input: JudgeInput) => (input.unit ? ` ${input.unit}` : '');

/** A fraction as a percentage for people: 0.4074 → "41", 0.075 → "7.5", 0.004 → "0.4". */
function percent(fraction: number): string {
  const p = fraction * 100;
  if (p >= 10) return String(Math.round(p));
  if (p >= 1) return String(Number(p.toFixed(1)));
  return String(Number(p.toPrecision(2)));
}

/** A confidence level as a percentage: 0.98 → "98", 0.995 → "99.5". */
const level = (confidence: number) => String(Number((confidence * 100).toPrecision(6)));

/** Three significant digits, whole numbers from 1000 up: 0.0810 → "0.081", 1234.5 → "1235". */
function num(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

function isoTime(t: number): string {
  return new Date(t).toISOString().replace(/\.000Z$/, 'Z');
}

function medianOrNull(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : median(xs);
}

function checkInput(input: JudgeInput, minPoints: number): void {
  if (!(input.confidence > 0 && input.confidence < 1)) {
    throw new RangeError(`judge: confidence must be between 0 and 1, got ${String(input.confidence)}`);
  }
  if (!(input.tolerance >= 0 && Number.isFinite(input.tolerance))) {
    throw new RangeError(`judge: tolerance must be a finite number ≥ 0, got ${String(input.tolerance)}`);
  }
  if (!(Number.isInteger(minPoints) && minPoints >= 1)) {
    throw new RangeError(`judge: minPoints must be a whole number ≥ 1, got ${String(minPoints)}`);
  }
  if (!(input.prediction.magnitude > 0 && Number.isFinite(input.prediction.magnitude))) {
    throw new RangeError(
      `judge: the predicted magnitude must be a finite number > 0, got ${String(input.prediction.magnitude)}`,
    );
  }
  for (const [name, values] of [
    ['baseline', input.baseline],
    ['after', input.after],
  ] as const) {
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new RangeError(`judge: ${name}[${bad}] is ${String(values[bad])}; values must be finite numbers`);
    }
  }
  for (const c of input.alertCrossings) {
    if (!Number.isFinite(c.t)) throw new RangeError(`judge: alert crossing of ${c.signal} has no valid time`);
  }
}
