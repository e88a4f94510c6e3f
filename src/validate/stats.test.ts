import { describe, expect, it } from 'vitest';
import { hodgesLehmann, mannWhitneyU, median, normalCdf, normalQuantile, selectDifference } from './stats.js';

/*
 * Reference values come from R 4.2.2 (Debian r-base-core 4.2.2.20221110-2); the call that produced
 * each one is written next to it. R's wilcox.test(x, y) tests x against y, so its W is our `u` for
 * x; its shift estimate is x − y, so our hodgesLehmann(baseline, after) matches wilcox.test(after,
 * baseline, conf.int = TRUE).
 */

/** mulberry32: a small seeded PRNG, so every "random" case is the same on every run. */
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

/** Hollander & Wolfe (1973) p. 69, the example of R's ?wilcox.test: permeability of membranes. */
const HW_X = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
const HW_Y = [1.15, 0.88, 0.9, 0.74, 1.21];

/** The other ?wilcox.test example: airquality$Ozone in May and in August, NAs dropped (many ties). */
const OZONE_MAY = [
  41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37,
];
const OZONE_AUG = [
  39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84, 85,
];

/** A small hand-made case where almost every value is tied. */
const TIED_A = [1, 2, 2, 3, 3, 3, 4, 5];
const TIED_B = [3, 4, 4, 5, 5, 6, 7, 7, 8];

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('mannWhitneyU against R', () => {
  it('matches the Hollander & Wolfe example (no ties)', () => {
    const r = mannWhitneyU(HW_X, HW_Y);
    expect(r.u).toBe(35); // wilcox.test(x, y, exact = FALSE)$statistic → W = 35
    expect(r.pTwoSided).toBeCloseTo(0.24462360512698336, 14); // wilcox.test(x, y, exact = FALSE)$p.value
    expect(r.pGreater).toBeCloseTo(0.12231180256349168, 14); // … alternative = "greater"
    expect(r.pLess).toBeCloseTo(0.90077534820399385, 14); // … alternative = "less"
    // By hand: σ² = n·m·(N + 1)/12 = 10·5·16/12, z = (35 − 25 − ½)/σ.
    expect(r.sigma).toBeCloseTo(Math.sqrt(200 / 3), 12);
    expect(r.z).toBeCloseTo(9.5 / Math.sqrt(200 / 3), 12);
  });

  it('matches the airquality example (ties)', () => {
    const r = mannWhitneyU(OZONE_MAY, OZONE_AUG);
    // wilcox.test(Ozone ~ Month, data = airquality, subset = Month %in% c(5, 8))
    //   → W = 127.5, p-value = 0.0001208 (printed in ?wilcox.test)
    expect(r.u).toBe(127.5);
    expect(r.pTwoSided).toBeCloseTo(0.00012080783076877442, 17);
    expect(r.pLess).toBeCloseTo(6.0403915384387211e-5, 17); // … alternative = "less"
    expect(r.pGreater).toBeCloseTo(0.9999439498752809, 14); // … alternative = "greater"
  });

  it('matches a heavily tied small case', () => {
    const r = mannWhitneyU(TIED_A, TIED_B);
    // wilcox.test(c(1,2,2,3,3,3,4,5), c(3,4,4,5,5,6,7,7,8), exact = FALSE, alternative = …)
    expect(r.u).toBe(7.5);
    expect(r.pTwoSided).toBeCloseTo(0.0063731338380858754, 16);
    expect(r.pGreater).toBeCloseTo(0.9976386658073535, 14);
    expect(r.pLess).toBeCloseTo(0.0031865669190429377, 16);
  });

  it('keeps full precision for completely separated samples of 50', () => {
    const low = mannWhitneyU(range(1, 50), range(101, 150));
    expect(low.u).toBe(0);
    // wilcox.test(1:50, 101:150, exact = FALSE)$p.value = 7.0660719303889642e-18
    expect(low.pTwoSided).toBeLessThan(1e-15);
    expect(low.pTwoSided / 7.0660719303889642e-18).toBeCloseTo(1, 12);
    expect(low.pGreater).toBeCloseTo(1, 15);

    const high = mannWhitneyU(range(101, 150), range(1, 50));
    expect(high.u).toBe(2500);
    // wilcox.test(101:150, 1:50, exact = FALSE, alternative = "greater")$p.value = 3.5330359651944821e-18
    expect(high.pGreater / 3.5330359651944821e-18).toBeCloseTo(1, 12);
    // By hand: σ² = 50·50·101/12, z = −(1250 − ½)/σ.
    expect(high.pLess).toBeCloseTo(1, 15);
    expect(low.z).toBeCloseTo(-1249.5 / Math.sqrt((2500 * 101) / 12), 12);
  });
});

describe('mannWhitneyU, exact cases', () => {
  it('gives p = 1 for identical samples', () => {
    const xs = [3, 1, 4, 1, 5, 9, 2, 6];
    const r = mannWhitneyU(xs, [...xs].reverse());
    expect(r.u).toBe(32);
    expect(r.z).toBe(0);
    expect(r.pTwoSided).toBe(1);
  });

  it('gives z = 0 and p = 1 when every value is tied (zero variance)', () => {
    const r = mannWhitneyU([7, 7, 7], [7, 7, 7, 7]);
    expect(r).toEqual({ u: 6, sigma: 0, z: 0, pTwoSided: 1, pGreater: 1, pLess: 1 });
  });

  it('is antisymmetric in its arguments', () => {
    const a = mannWhitneyU(OZONE_MAY, OZONE_AUG);
    const b = mannWhitneyU(OZONE_AUG, OZONE_MAY);
    expect(a.u + b.u).toBe(OZONE_MAY.length * OZONE_AUG.length);
    expect(b.z).toBeCloseTo(-a.z, 14);
    expect(b.pTwoSided).toBeCloseTo(a.pTwoSided, 17);
    expect(b.pGreater).toBeCloseTo(a.pLess, 17);
  });

  it("has the tie-corrected variance of U's exact permutation distribution", () => {
    // Enumerate every way to split the pooled values of TIED_A ∪ TIED_B into groups of 8 and 9
    // (C(17, 8) = 24 310 splits), with mid-ranks: the mean and variance of U over all splits are
    // exactly n·m/2 and σ², and the exact tail is close to the normal approximation.
    const pooled = [...TIED_A, ...TIED_B];
    const n = TIED_A.length;
    const m = TIED_B.length;
    const sorted = [...pooled].sort((p, q) => p - q);
    const midRank = new Map<number, number>();
    for (const v of new Set(sorted)) {
      const first = sorted.indexOf(v) + 1;
      const last = sorted.lastIndexOf(v) + 1;
      midRank.set(v, (first + last) / 2);
    }
    const ranks = pooled.map((v) => midRank.get(v)!);
    const observed = mannWhitneyU(TIED_A, TIED_B);
    const us: number[] = [];
    const choose = (start: number, left: number, sum: number) => {
      if (left === 0) {
        us.push(sum - (n * (n + 1)) / 2);
        return;
      }
      for (let i = start; i <= ranks.length - left; i++) choose(i + 1, left - 1, sum + ranks[i]!);
    };
    choose(0, n, 0);
    expect(us.length).toBe(24310);
    const mean = us.reduce((s, u) => s + u, 0) / us.length;
    const variance = us.reduce((s, u) => s + (u - mean) ** 2, 0) / us.length;
    expect(mean).toBeCloseTo((n * m) / 2, 10);
    expect(Math.sqrt(variance)).toBeCloseTo(observed.sigma, 10);
    const exactLess = us.filter((u) => u <= observed.u).length / us.length;
    expect(Math.abs(observed.pLess - exactLess)).toBeLessThan(0.002);
  });

  it('approximates the exact p-value of a small untied case', () => {
    // Without ties and with n = m = 7 the exact null distribution of U has 3432 equally likely
    // splits of the ranks 1..14; the continuity-corrected normal tail is within 0.005 of it.
    const x = [1.1, 2.3, 2.9, 4.4, 5.0, 6.2, 7.7];
    const y = [3.1, 5.5, 6.9, 8.0, 8.8, 9.4, 10.2];
    const observed = mannWhitneyU(x, y);
    let atMost = 0;
    let total = 0;
    const choose = (start: number, left: number, sum: number) => {
      if (left === 0) {
        total++;
        if (sum - 28 <= observed.u) atMost++;
        return;
      }
      for (let r = start; r <= 14 - left + 1; r++) choose(r + 1, left - 1, sum + r);
    };
    choose(1, 7, 0);
    expect(total).toBe(3432);
    expect(observed.u).toBe(7);
    expect(Math.abs(observed.pLess - atMost / total)).toBeLessThan(0.005);
  });

  it('refuses empty or non-finite samples with a RangeError', () => {
    expect(() => mannWhitneyU([], [1])).toThrow(RangeError);
    expect(() => mannWhitneyU([], [1])).toThrow(
      'mannWhitneyU: x is empty; every sample needs at least one value',
    );
    expect(() => mannWhitneyU([1], [])).toThrow('mannWhitneyU: y is empty');
    expect(() => mannWhitneyU([1, NaN], [2])).toThrow(
      'mannWhitneyU: x[1] is NaN; values must be finite numbers',
    );
    expect(() => mannWhitneyU([1], [Infinity])).toThrow(RangeError);
  });
});

describe('hodgesLehmann', () => {
  it('matches R on the Hollander & Wolfe example', () => {
    // baseline = y, after = x: R's shift x − y.
    const h95 = hodgesLehmann(HW_Y, HW_X, 0.95);
    // wilcox.test(x, y, conf.int = TRUE, exact = TRUE)$estimate = 0.305 (= median(outer(x, y, "-")))
    expect(h95.shift).toBeCloseTo(0.305, 14);
    // wilcox.test(x, y, conf.int = TRUE, conf.level = 0.95, exact = FALSE)$conf.int
    //   = [-0.15001483719908448, 0.75994276532229388] (uniroot, tol 1e-4); exact = TRUE gives [-0.15, 0.76]
    expect(h95.lower).toBeCloseTo(-0.15, 14);
    expect(h95.upper).toBeCloseTo(0.76, 14);
    const h98 = hodgesLehmann(HW_Y, HW_X, 0.98);
    // … conf.level = 0.98, exact = FALSE → [-0.31999721322183022, 0.98994618206203366]
    expect(Math.abs(h98.lower - -0.31999721322183022)).toBeLessThan(1e-4);
    expect(Math.abs(h98.upper - 0.98994618206203366)).toBeLessThan(1e-4);
  });

  it('matches R with ties (airquality and the tied case)', () => {
    const oz = hodgesLehmann(OZONE_MAY, OZONE_AUG, 0.98);
    // median(outer(aug, may, "-")) = 32
    expect(oz.shift).toBe(32);
    // wilcox.test(aug, may, conf.int = TRUE, conf.level = 0.98, exact = FALSE)$conf.int
    //   = [11.999961412557276, 55.000051902312727]
    expect(oz).toEqual({ shift: 32, lower: 12, upper: 55 });

    const tied = hodgesLehmann(TIED_A, TIED_B, 0.95);
    // median(outer(b, a, "-")) = 2.5; wilcox.test(b, a, conf.int = TRUE, exact = FALSE)$conf.int
    //   = [0.99996836364148955, 4.00005950669824450]
    expect(tied).toEqual({ shift: 2.5, lower: 1, upper: 4 });
  });

  it('finds an exact shift of 5 and an interval around it', () => {
    const random = prng(7);
    const x = Array.from({ length: 60 }, () => random() * 10);
    const y = x.map((v) => v + 5);
    const h = hodgesLehmann(x, y, 0.98);
    expect(h.shift).toBeCloseTo(5, 12);
    expect(h.lower).toBeLessThanOrEqual(5);
    expect(h.upper).toBeGreaterThanOrEqual(5);
    expect(h.lower).toBeLessThan(h.upper);
  });

  it('gives the median and order statistics of all pairwise differences (brute force)', () => {
    const random = prng(2024);
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(random() * 40);
      const m = 1 + Math.floor(random() * 40);
      const tied = trial % 3 === 0;
      const draw = () => (tied ? Math.floor(random() * 6) : (random() - 0.3) * 100);
      const x = Array.from({ length: n }, draw);
      const y = Array.from({ length: m }, draw);
      const diffs: number[] = [];
      for (const yj of y) for (const xi of x) diffs.push(yj - xi);
      diffs.sort((p, q) => p - q);
      const nm = n * m;
      const bruteMedian = nm % 2 === 1 ? diffs[(nm - 1) / 2]! : (diffs[nm / 2 - 1]! + diffs[nm / 2]!) / 2;
      const h = hodgesLehmann(x, y, 0.9);
      expect(h.shift).toBe(bruteMedian);
      expect(diffs).toContain(h.lower);
      expect(diffs).toContain(h.upper);
      expect(h.lower).toBeLessThanOrEqual(h.shift);
      expect(h.upper).toBeGreaterThanOrEqual(h.shift);

      const a = Float64Array.from(x).sort();
      const b = Float64Array.from(y).sort();
      for (const k of [1, nm, 1 + Math.floor(random() * nm)]) {
        expect(selectDifference(a, b, k)).toBe(diffs[k - 1]);
      }
    }
  });

  it('agrees with all four million pairwise differences at 2 × 2000 points', () => {
    const random = prng(99);
    const x = Array.from({ length: 2000 }, () => random() * 100);
    const y = Array.from({ length: 2000 }, () => random() * 100 + 3);
    const diffs = new Float64Array(x.length * y.length);
    let i = 0;
    for (const yj of y) for (const xi of x) diffs[i++] = yj - xi;
    diffs.sort();
    const h = hodgesLehmann(x, y, 0.98);
    expect(h.shift).toBe((diffs[diffs.length / 2 - 1]! + diffs[diffs.length / 2]!) / 2);
    expect(diffs.indexOf(h.lower)).toBeGreaterThanOrEqual(0);
    expect(diffs.indexOf(h.upper)).toBeGreaterThanOrEqual(0);
    expect(h.lower).toBeGreaterThan(0);
    expect(h.shift).toBeGreaterThan(h.lower);
    expect(h.upper).toBeGreaterThan(h.shift);
  });

  it('returns the whole range when the samples are too small for the confidence', () => {
    expect(hodgesLehmann([1, 2], [3, 5], 0.98)).toEqual({ shift: 2.5, lower: 1, upper: 4 });
  });

  it('refuses bad input', () => {
    expect(() => hodgesLehmann([1], [2], 1)).toThrow(
      'hodgesLehmann: confidence must be between 0 and 1, got 1',
    );
    expect(() => hodgesLehmann([], [2], 0.9)).toThrow('hodgesLehmann: x is empty');
    expect(() => selectDifference(new Float64Array([1]), new Float64Array([2]), 2)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('takes the middle value or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([-0.5])).toBe(-0.5);
    expect(() => median([])).toThrow('median: the sample is empty');
  });
});

describe('normal distribution against R', () => {
  it('normalCdf matches pnorm to about 1e-16 relative, tails included', () => {
    const cases: [number, number][] = [
      [0, 0.5],
      [-1, 0.15865525393145705], // pnorm(-1)
      [1.96, 0.97500210485177963], // pnorm(1.96)
      [-1.96, 0.024997895148220428], // pnorm(-1.96)
      [0.3, 0.6179114221889527], // pnorm(0.3)
      [-3, 0.0013498980316300946], // pnorm(-3)
      [-5.6, 1.071759025831093e-8], // pnorm(-5.6)
      [-8.61, 3.6530288027492513e-18], // pnorm(-8.61)
      [-10, 7.619853024160527e-24], // pnorm(-10)
      [-37.5, 4.605353009581955e-308], // pnorm(-37.5)
      [-40, 0], // pnorm(-40)
      [40, 1], // pnorm(40)
    ];
    for (const [z, p] of cases) {
      const got = normalCdf(z);
      if (p === 0) expect(got).toBe(0);
      else expect(Math.abs(got - p) / p).toBeLessThan(1e-15);
    }
    expect(normalCdf(NaN)).toBeNaN();
  });

  it('normalQuantile matches qnorm', () => {
    const cases: [number, number][] = [
      [0.5, 0],
      [0.975, 1.9599639845400536], // qnorm(0.975)
      [0.99, 2.3263478740408408], // qnorm(0.99)
      [0.3, -0.5244005127080407], // qnorm(0.3)
      [0.075, -1.4395314709384557], // qnorm(0.075)
      [1e-5, -4.2648907939228256], // qnorm(1e-5)
      [1e-20, -9.262340089798405], // qnorm(1e-20)
      [1e-300, -37.0470962993612], // qnorm(1e-300)
    ];
    for (const [p, z] of cases) expect(normalQuantile(p)).toBeCloseTo(z, 14);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(() => normalQuantile(1.5)).toThrow('normalQuantile: p must be between 0 and 1, got 1.5');
    expect(() => normalQuantile(NaN)).toThrow(RangeError);
  });

  it('normalQuantile inverts normalCdf', () => {
    for (const p of [1e-12, 0.001, 0.02, 0.25, 0.6, 0.9, 0.999]) {
      expect(normalCdf(normalQuantile(p)) / p).toBeCloseTo(1, 13);
    }
  });
});
