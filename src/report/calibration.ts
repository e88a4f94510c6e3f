import { Verdict } from '../validate/verdict.js';

/*
 * Calibration: how the magnitude an intervention predicted compares with what the validator
 * measured. Both are in the prediction's own terms (a fraction of the baseline median for a
 * relative prediction, the signal's unit for an absolute one), so one dimensionless measure can
 * pool them:
 *
 *   realised = signed actual / predicted, where the actual counts negative when the median moved
 *              against the predicted direction (1 = exactly as claimed, 0 = nothing, < 0 = wrong way)
 *   error    = |realised − 1|, the miss as a fraction of the claim (0 = perfect; 1 = missed by the
 *              whole claim, e.g. "30 % faster" and nothing happened)
 *
 * A mean error that rises week over week is calibration drift; a mean realised below 1 is a
 * proposer that promises more than it delivers.
 */

export interface CalibrationPoint {
  interventionId: string;
  /** When the verdict was given (the intervention left `applied`). */
  t: number;
  signal: string;
  relative: boolean;
  predicted: number;
  /** Signed, in the prediction's terms (negative: the median moved the other way). */
  actual: number;
  realised: number;
  error: number;
  outcome: Verdict['outcome'];
}

/** The calibration point of a stored verdict, or undefined when it measured no magnitude. */
export function calibrationPoint(
  interventionId: string,
  t: number,
  stored: unknown,
): CalibrationPoint | undefined {
  const parsed = Verdict.safeParse(stored);
  if (!parsed.success) return undefined;
  const v = parsed.data;
  if (v.actual === null || v.actual.magnitude === null) return undefined;
  const sign = v.actual.direction === 'none' ? 0 : v.actual.direction === v.predicted.direction ? 1 : -1;
  const actual = sign * v.actual.magnitude;
  const realised = actual / v.predicted.magnitude;
  return {
    interventionId,
    t,
    signal: v.signal,
    relative: v.predicted.relative,
    predicted: v.predicted.magnitude,
    actual,
    realised,
    error: Math.abs(realised - 1),
    outcome: v.outcome,
  };
}

export interface CalibrationSummary {
  n: number;
  /** Mean error; null without points. */
  meanError: number | null;
  /** Mean realised fraction of the claim; null without points. */
  meanRealised: number | null;
}

export function summarise(points: readonly CalibrationPoint[]): CalibrationSummary {
  if (points.length === 0) return { n: 0, meanError: null, meanRealised: null };
  const mean = (f: (p: CalibrationPoint) => number) => points.reduce((s, p) => s + f(p), 0) / points.length;
  return { n: points.length, meanError: mean((p) => p.error), meanRealised: mean((p) => p.realised) };
}
