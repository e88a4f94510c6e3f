/*
 * Rank statistics for the validation verdict: the Mann–Whitney U test (normal approximation with
 * tie and continuity correction, as R's `wilcox.test(x, y, exact = FALSE, correct = TRUE)`), the
 * Hodges–Lehmann shift estimate with its distribution-free confidence interval, and the normal
 * distribution they rest on. Pure functions, no dependencies.
 *
 * Why hand-written: no small npm package does tie-corrected Mann–Whitney *and* the Hodges–Lehmann
 * interval (simple-statistics' wilcoxonRankSum returns the rank sum only and its normal CDF is a
 * table; jStat has neither; @stdlib is large and has no Hodges–Lehmann interval either). The
 * normal CDF and quantile are the published rational approximations R itself uses, accurate to
 * about 16 significant digits, so p-values stay accurate in the far tails (1e-17, not 0).
 */

export interface MannWhitneyResult {
  /** U for x: #{x_i > y_j} + ½·#{x_i = y_j}, i.e. R's W. It runs from 0 to n·m. */
  u: number;
  /** Standard deviation of U under "no difference", tie-corrected (0 when every value is the same). */
  sigma: number;
  /** Standardised, tie- and continuity-corrected statistic of the two-sided test (positive: x larger). */
  z: number;
  /** Two-sided p-value. */
  pTwoSided: number;
  /** One-sided p-value for "x tends to be larger than y" (R's alternative = "greater"). */
  pGreater: number;
  /** One-sided p-value for "x tends to be smaller than y" (R's alternative = "less"). */
  pLess: number;
}

export interface HodgesLehmannResult {
  /** Median of all n·m differences y_j − x_i (after minus baseline). */
  shift: number;
  /** Lower end of the confidence interval for the shift. */
  lower: number;
  /** Upper end of the confidence interval for the shift. */
  upper: number;
}

/**
 * Mann–Whitney U test of x against y (x is the first sample: `pGreater` is small when x is larger).
 *
 * Normal approximation with the tie correction of the variance,
 *   σ² = n·m/12 · ((N + 1) − Σ(t³ − t) / (N·(N − 1))),  N = n + m, t = size of each tie group,
 * and a continuity correction of ½ towards the mean n·m/2 (Hollander & Wolfe, Nonparametric
 * Statistical Methods, 3rd ed. 2014, §4.1; identical to R's wilcox.test with exact = FALSE,
 * correct = TRUE). When every value is the same (σ = 0) there is no evidence either way: z = 0 and
 * all three p-values are 1.
 *
 * O((n + m)·log(n + m)) time, O(n + m) memory. Throws a RangeError for an empty sample or a value
 * that is not a finite number.
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const xs = sortedCopy(x, 'mannWhitneyU', 'x');
  const ys = sortedCopy(y, 'mannWhitneyU', 'y');
  const { u, sigma } = rankSum(xs, ys);
  const n = xs.length;
  const m = ys.length;
  if (sigma === 0) return { u, sigma, z: 0, pTwoSided: 1, pGreater: 1, pLess: 1 };
  const d = u - (n * m) / 2;
  const z = (d - Math.sign(d) * 0.5) / sigma;
  return {
    u,
    sigma,
    z,
    pTwoSided: Math.min(1, 2 * Math.min(normalCdf(z), normalCdf(-z))),
    pGreater: normalCdf(-(d - 0.5) / sigma),
    pLess: normalCdf((d + 0.5) / sigma),
  };
}

/**
 * Hodges–Lehmann estimate of the shift from x (baseline) to y (after) and its two-sided
 * confidence interval at `confidence` (e.g. 0.98).
 *
 * The estimate is the median of the n·m differences D = y_j − x_i. The interval is the set of
 * shifts Δ that the Mann–Whitney test above does not reject at level α = 1 − confidence when
 * applied to x and y − Δ (Hollander & Wolfe §4.3; Bauer 1972, JASA 67:687). Between two
 * consecutive distinct differences, U(Δ) is constant and x and y − Δ share no value, so only the
 * ties within each sample enter σ; inverting the continuity-corrected normal approximation there
 * gives order statistics of the sorted differences:
 *   lower = D₍ₖ₎,  upper = D₍ₙₘ₊₁₋ₖ₎,  k = ⌊n·m/2 − z₁₋α/₂·σ − ½⌋ + 1.
 * This is the normal-approximation counterpart of R's exact interval (`diffs[qwilcox(α/2, n, m)]`)
 * and the same set R's exact = FALSE interval searches with `uniroot`: R's ends agree with these
 * to its 1e-4 tolerance, ties or not. When the samples are too small for the requested
 * confidence (k < 1) the interval is the whole range of differences, as in R.
 *
 * Complexity: the differences are never materialised. Each order statistic is found by a
 * randomised selection over the implicitly sorted n × m matrix of differences (selection in
 * X + Y: Johnson & Mizoguchi 1978, SIAM J. Comput. 7:147; Monahan 1984, ACM TOMS Algorithm 616,
 * does the same for the one-sample estimate): every round picks a random remaining difference as a
 * pivot, counts the differences below it with one merge-like walk over the two sorted samples in
 * O(n + m), and discards the side that cannot hold the wanted rank. Expected O(log(n·m)) rounds,
 * so O((n + m)·log(n + m) + (n + m)·log(n·m)) time overall and O(n + m) memory: 2 × 2000 points
 * (4 M differences) take a few milliseconds where sorting all differences takes half a second,
 * and the result is exactly the element that sort would give.
 */
export function hodgesLehmann(
  x: readonly number[],
  y: readonly number[],
  confidence: number,
): HodgesLehmannResult {
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`hodgesLehmann: confidence must be between 0 and 1, got ${String(confidence)}`);
  }
  const xs = sortedCopy(x, 'hodgesLehmann', 'x');
  const ys = sortedCopy(y, 'hodgesLehmann', 'y');
  const nm = xs.length * ys.length;
  const rng = mulberry32(0x5eed);
  const at = (k: number) => selectDifference(xs, ys, k, rng);

  const shift = nm % 2 === 1 ? at((nm + 1) / 2) : (at(nm / 2) + at(nm / 2 + 1)) / 2;
  const sigma = shiftedSigma(xs, ys);
  const zq = normalQuantile(1 - (1 - confidence) / 2);
  const k = Math.max(1, Math.floor(nm / 2 - zq * sigma - 0.5) + 1);
  return { shift, lower: at(k), upper: at(nm + 1 - k) };
}

/** Median of the values (the mean of the middle two for an even count). Throws a RangeError when empty. */
export function median(xs: readonly number[]): number {
  const s = sortedCopy(xs, 'median', 'the sample');
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/*
 * Standard normal CDF: W. J. Cody, "Rational Chebyshev approximations for the error function",
 * Math. Comp. 23 (1969) 631–637, in the form of Cody's SPECFUN (ACM TOMS Algorithm 715, 1993)
 * that R's pnorm uses. Three ranges: |z| ≤ 0.67449, |z| ≤ √32, and beyond; in the outer two the
 * tail is exp(−z²/2)·R(|z|) with z² split as in ANORM to keep full precision. Relative error about
 * 1e-16 in both tails; Φ(z) underflows to 0 below z ≈ −37.5.
 *
 * The coefficients are quoted with their published digits (more than a double holds, hence the
 * lint exception); each literal rounds to the nearest double.
 */
/* eslint-disable no-loss-of-precision */
const CODY_A = [2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582, 18154.981253343561249];
const CODY_A4 = 0.065682337918207449113;
const CODY_B = [47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956];
const CODY_C = [
  0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979, 597.27027639480026226,
  2494.5375852903726711, 6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218,
];
const CODY_C8 = 1.0765576773720192317e-8;
const CODY_D = [
  22.266688044328115691, 235.38790178262499861, 1519.377599407554805, 6485.558298266760755,
  18615.571640885098091, 34900.952721145977266, 38912.003286093271411, 19685.429676859990727,
];
const CODY_P = [
  0.21589853405795699, 0.1274011611602473639, 0.022235277870649807, 0.001421619193227893466,
  2.9112874951168792e-5,
];
const CODY_P5 = 0.02307344176494017303;
const CODY_Q = [
  1.28426009614491121, 0.468238212480865118, 0.0659881378689285515, 0.00378239633202758244,
  7.29751555083966205e-5,
];
const INV_SQRT_2PI = 0.398942280401432677939946059934;

/* Wichura's AS 241 (PPND16) coefficients, highest power first, for the three ranges of p. */
const AS241_CENTRAL_NUM = [
  2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457,
  13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608,
];
const AS241_CENTRAL_DEN = [
  5226.495278852854561, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867,
  5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1,
];
const AS241_NEAR_NUM = [
  7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177, 1.27045825245236838258,
  3.64784832476320460504, 5.7694972214606914055, 4.6303378461565452959, 1.42343711074968357734,
];
const AS241_NEAR_DEN = [
  1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966, 0.14810397642748007459,
  0.68976733498510000455, 1.6763848301838038494, 2.05319162663775882187, 1,
];
const AS241_FAR_NUM = [
  2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386, 0.026532189526576123093,
  0.29656057182850489123, 1.7848265399172913358, 5.4637849111641143699, 6.6579046435011037772,
];
const AS241_FAR_DEN = [
  2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4,
  0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1,
];
/* eslint-enable no-loss-of-precision */

/** P(Z ≤ z) for a standard normal Z. Use `normalCdf(-z)` for the upper tail: it keeps full precision. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const y = Math.abs(z);
  if (y <= 0.67448975) {
    let num = 0;
    let den = 0;
    if (y > Number.EPSILON / 2) {
      const zsq = z * z;
      num = CODY_A4 * zsq;
      den = zsq;
      for (let i = 0; i < 3; i++) {
        num = (num + CODY_A[i]!) * zsq;
        den = (den + CODY_B[i]!) * zsq;
      }
    }
    return 0.5 + (z * (num + CODY_A[3]!)) / (den + CODY_B[3]!);
  }
  // Upper tail P(Z > |z|) = exp(−z²/2)·R(|z|), then reflected for z > 0.
  let ratio: number;
  if (y <= Math.sqrt(32)) {
    let num = CODY_C8 * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + CODY_C[i]!) * y;
      den = (den + CODY_D[i]!) * y;
    }
    ratio = (num + CODY_C[7]!) / (den + CODY_D[7]!);
  } else if (y < 37.5193) {
    const inv = 1 / (z * z);
    let num = CODY_P5 * inv;
    let den = inv;
    for (let i = 0; i < 4; i++) {
      num = (num + CODY_P[i]!) * inv;
      den = (den + CODY_Q[i]!) * inv;
    }
    ratio = (INV_SQRT_2PI - (inv * (num + CODY_P[4]!)) / (den + CODY_Q[4]!)) / y;
  } else {
    return z > 0 ? 1 : 0;
  }
  // exp(−y²/2) as exp(−h²/2)·exp(−(y − h)(y + h)/2) with h = y rounded down to 1/16: no cancellation.
  const h = Math.trunc(y * 16) / 16;
  const tail = Math.exp(-h * h * 0.5) * Math.exp(-(y - h) * (y + h) * 0.5) * ratio;
  return z > 0 ? 1 - tail : tail;
}

/**
 * Standard normal quantile Φ⁻¹(p): M. J. Wichura, "Algorithm AS 241: The percentage points of the
 * normal distribution", Applied Statistics 37 (1988) 477–484 (PPND16, about 1e-16 relative
 * accuracy; also what R's qnorm uses). p = 0 and p = 1 give ∓Infinity; outside [0, 1] is a RangeError.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`normalQuantile: p must be between 0 and 1, got ${String(p)}`);
  }
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * horner(AS241_CENTRAL_NUM, r)) / horner(AS241_CENTRAL_DEN, r);
  }
  // r = √(−log min(p, 1 − p)); 5 splits at min(p, 1 − p) = exp(−25) ≈ 1.4e-11.
  const r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  const value =
    r <= 5
      ? horner(AS241_NEAR_NUM, r - 1.6) / horner(AS241_NEAR_DEN, r - 1.6)
      : horner(AS241_FAR_NUM, r - 5) / horner(AS241_FAR_DEN, r - 5);
  return q < 0 ? -value : value;
}

/** Σ c[i]·x^(len−1−i), coefficients highest power first. */
function horner(c: readonly number[], x: number): number {
  let acc = 0;
  for (const ci of c) acc = acc * x + ci;
  return acc;
}

/**
 * The k-th smallest (1-based) of the n·m differences b[j] − a[i] of two ascending arrays, without
 * materialising them. Exported for tests; see `hodgesLehmann` for the algorithm and its cost.
 * `random` returns numbers in [0, 1); it only affects the running time, never the result.
 */
export function selectDifference(
  a: Float64Array,
  b: Float64Array,
  k: number,
  random: () => number = mulberry32(0x5eed),
): number {
  const n = a.length;
  const m = b.length;
  if (!Number.isInteger(k) || k < 1 || k > n * m) {
    throw new RangeError(`selectDifference: rank ${k} is outside 1..${n * m}`);
  }
  // Row i holds b[0] − a[i] ≤ b[1] − a[i] ≤ …; rows decrease with i. Floating-point subtraction is
  // monotone, so the computed differences keep both orders. Columns lo[i] ≤ j < hi[i] of row i are
  // still candidates; every candidate round removes at least the pivot, and no entry equal to the
  // answer is ever removed, so the loop ends with the pivot equal to the answer.
  const lo = new Int32Array(n);
  const hi = new Int32Array(n).fill(m);
  const below = new Int32Array(n);
  const upTo = new Int32Array(n);
  for (;;) {
    let candidates = 0;
    for (let i = 0; i < n; i++) candidates += hi[i]! - lo[i]!;
    let r = Math.min(candidates - 1, Math.floor(random() * candidates));
    let row = 0;
    while (r >= hi[row]! - lo[row]!) {
      r -= hi[row]! - lo[row]!;
      row++;
    }
    const pivot = b[lo[row]! + r]! - a[row]!;

    // #{j : b[j] − a[i] < pivot} and #{… ≤ pivot} grow with i: two pointers walk b once.
    let less = 0;
    let lessOrEqual = 0;
    let jl = 0;
    let je = 0;
    for (let i = 0; i < n; i++) {
      const ai = a[i]!;
      while (jl < m && b[jl]! - ai < pivot) jl++;
      if (je < jl) je = jl;
      while (je < m && b[je]! - ai <= pivot) je++;
      below[i] = jl;
      upTo[i] = je;
      less += jl;
      lessOrEqual += je;
    }
    if (k <= less) {
      for (let i = 0; i < n; i++) if (below[i]! < hi[i]!) hi[i] = below[i]!;
    } else if (k > lessOrEqual) {
      for (let i = 0; i < n; i++) if (upTo[i]! > lo[i]!) lo[i] = upTo[i]!;
    } else {
      return pivot;
    }
  }
}

/** U for xs and the tie-corrected standard deviation of U under H0, from two ascending samples. */
function rankSum(xs: Float64Array, ys: Float64Array): { u: number; sigma: number } {
  const n = xs.length;
  const m = ys.length;
  const total = n + m;
  let i = 0;
  let j = 0;
  let rank = 0; // ranks given so far
  let rankSumX = 0;
  let ties = 0; // Σ (t³ − t)
  let groups = 0;
  while (i < n || j < m) {
    const v = j >= m || (i < n && xs[i]! <= ys[j]!) ? xs[i]! : ys[j]!;
    let cx = 0;
    let cy = 0;
    while (i < n && xs[i] === v) {
      i++;
      cx++;
    }
    while (j < m && ys[j] === v) {
      j++;
      cy++;
    }
    const t = cx + cy;
    rankSumX += cx * (rank + (t + 1) / 2); // the group shares ranks rank+1 … rank+t
    ties += t * t * t - t;
    rank += t;
    groups++;
  }
  const u = rankSumX - (n * (n + 1)) / 2;
  // All values tied (a single group) is the only way the variance vanishes; test it exactly.
  if (groups === 1) return { u, sigma: 0 };
  const variance = ((n * m) / 12) * (total + 1 - ties / (total * (total - 1)));
  return { u, sigma: Math.sqrt(variance) };
}

/** σ of U for x against y − Δ at a Δ that is not one of the differences: only within-sample ties. */
function shiftedSigma(xs: Float64Array, ys: Float64Array): number {
  const n = xs.length;
  const m = ys.length;
  const total = n + m;
  const ties = tieSum(xs) + tieSum(ys);
  return Math.sqrt(((n * m) / 12) * (total + 1 - ties / (total * (total - 1))));
}

/** Σ (t³ − t) over the groups of equal values of an ascending array. */
function tieSum(sorted: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    const t = j - i;
    sum += t * t * t - t;
    i = j;
  }
  return sum;
}

function sortedCopy(values: readonly number[], fn: string, what: string): Float64Array {
  if (values.length === 0) {
    throw new RangeError(`${fn}: ${what} is empty; every sample needs at least one value`);
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      throw new RangeError(`${fn}: ${what}[${i}] is ${String(v)}; values must be finite numbers`);
    }
    out[i] = v;
  }
  return out.sort();
}

/** A small seeded PRNG (Tommy Ettinger's mulberry32): pivots are reproducible from run to run. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
