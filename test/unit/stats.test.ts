import { describe, expect, it } from 'vitest';
import {
  bootstrapRatioCI,
  checkClaim,
  compareArms,
  DEFAULT_SEED,
  ecdf,
  mean,
  median,
  mulberry32,
  order,
  percentiles,
  quantile,
  stddev,
  verdict,
} from '../../src/lab/stats.js';

describe('quantiles (type 7, as R)', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5])).toBe(5);
  });

  it('matches R quantile(type = 7) on small arrays', () => {
    // R: quantile(c(1, 2, 3, 4), c(0, .25, .9, 1)) → 1, 1.75, 3.7, 4
    //   h = (n − 1)p: .25 → h = 0.75 → 1 + 0.75·(2 − 1) = 1.75; .9 → h = 2.7 → 3 + 0.7·(4 − 3) = 3.7
    expect(quantile([1, 2, 3, 4], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12);
    expect(quantile([1, 2, 3, 4], 0.9)).toBeCloseTo(3.7, 12);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    // R: quantile(c(7, 1, 3, 10, 5), c(.1, .75, .95)) → 1.8, 7, 9.4
    //   sorted 1 3 5 7 10; .1 → h = 0.4 → 1 + 0.4·2 = 1.8; .75 → h = 3 → 7; .95 → h = 3.8 → 7 + 0.8·3 = 9.4
    expect(quantile([7, 1, 3, 10, 5], 0.1)).toBeCloseTo(1.8, 12);
    expect(quantile([7, 1, 3, 10, 5], 0.75)).toBe(7);
    expect(quantile([7, 1, 3, 10, 5], 0.95)).toBeCloseTo(9.4, 12);
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it('percentiles → record keyed p50 … p99.9', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    // R: quantile(1:100, c(.5, .9, .99, .999)) → 50.5, 90.1, 99.01, 99.901  (h = 99p; 1 + h)
    const p = percentiles(xs, [50, 90, 99, 99.9]);
    expect(Object.keys(p)).toEqual(['p50', 'p90', 'p99', 'p99.9']);
    expect(p.p50).toBeCloseTo(50.5, 10);
    expect(p.p90).toBeCloseTo(90.1, 10);
    expect(p.p99).toBeCloseTo(99.01, 10);
    expect(p['p99.9']).toBeCloseTo(99.901, 10);
    expect(Object.keys(percentiles([1, 2, 3]))).toEqual(['p50', 'p90', 'p99', 'p99.9']);
  });

  it('rejects empty samples and bad probabilities', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
    expect(() => mean([])).toThrow(RangeError);
  });

  it('mean and sample standard deviation', () => {
    // R: mean(c(2,4,4,4,5,5,7,9)) = 5; sd(...) = sqrt(32/7) = 2.13809
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    expect(stddev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(stddev([42])).toBe(0);
  });
});

describe('PRNG', () => {
  it('is reproducible and in [0, 1)', () => {
    const r1 = mulberry32(123);
    const r2 = mulberry32(123);
    const xs = Array.from({ length: 1000 }, () => r1());
    expect(Array.from({ length: 1000 }, () => r2())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mean(xs)).toBeGreaterThan(0.45);
    expect(mean(xs)).toBeLessThan(0.55);
    expect(mulberry32()()).toBe(mulberry32(DEFAULT_SEED)());
  });
});

// 20 throughput-like samples around 100 with some spread
const A = Array.from({ length: 20 }, (_, i) => 100 + (((i * 37) % 11) - 5) * 0.8);

describe('bootstrapRatioCI', () => {
  it('identical samples: ratio 1, a narrow interval containing 1', () => {
    const ci = bootstrapRatioCI(A, [...A], { iterations: 4000 });
    expect(ci.ratio).toBe(1);
    expect(ci.low).not.toBeNull();
    expect(ci.low!).toBeLessThanOrEqual(1);
    expect(ci.high!).toBeGreaterThanOrEqual(1);
    expect(ci.high! - ci.low!).toBeLessThan(0.1);
    expect(verdict(ci, { higherIsBetter: true })).toBe('no detectable difference');
  });

  it('b = 2·a: ratio 2, interval around 2 that excludes 1', () => {
    const ci = bootstrapRatioCI(A, A.map((x) => 2 * x), { iterations: 4000 });
    expect(ci.ratio).toBe(2);
    expect(ci.low!).toBeGreaterThan(1.85);
    expect(ci.high!).toBeLessThan(2.15);
    expect(ci.low!).toBeLessThanOrEqual(2);
    expect(ci.high!).toBeGreaterThanOrEqual(2);
    expect(verdict(ci, { higherIsBetter: true })).toBe('better');
    expect(verdict(ci, { higherIsBetter: false })).toBe('worse');
  });

  it('is reproducible with the same seed, and the seed matters', () => {
    const b = A.map((x, i) => x * 1.05 + (i % 3));
    const opts = { iterations: 2000, seed: 7, statistic: mean };
    expect(bootstrapRatioCI(A, b, opts)).toEqual(bootstrapRatioCI(A, b, opts));
    expect(bootstrapRatioCI(A, b, { iterations: 2000 })).toEqual(bootstrapRatioCI(A, b, { iterations: 2000 }));
    expect(bootstrapRatioCI(A, b, { ...opts, seed: 8 })).not.toEqual(bootstrapRatioCI(A, b, opts));
  });

  it('a wider confidence gives a wider interval', () => {
    const b = A.map((x, i) => x + (i % 4));
    const c90 = bootstrapRatioCI(A, b, { confidence: 0.9, statistic: mean });
    const c99 = bootstrapRatioCI(A, b, { confidence: 0.99, statistic: mean });
    expect(c99.low!).toBeLessThan(c90.low!);
    expect(c99.high!).toBeGreaterThan(c90.high!);
  });

  it('statistic(A) = 0: no ratio, no interval, and a reason', () => {
    const ci = bootstrapRatioCI([0, 0, 0], [1, 2, 3]);
    expect(ci.ratio).toBeNull();
    expect(ci.low).toBeNull();
    expect(ci.high).toBeNull();
    expect(ci.reason).toMatch(/statistic of A is 0/);
    expect(verdict(ci, { higherIsBetter: true })).toBe('no detectable difference');
  });

  it('statistic(A*) = 0 in some resamples: ratio kept, interval null with a reason', () => {
    const ci = bootstrapRatioCI([0, 0, 1, 1, 1], [1, 1, 1, 1, 1], { iterations: 1000 });
    expect(ci.ratio).toBe(1);
    expect(ci.low).toBeNull();
    expect(ci.reason).toMatch(/resamples/);
  });

  it('empty or non-finite samples give a reason, not a throw', () => {
    expect(bootstrapRatioCI([], [1]).reason).toMatch(/no samples for A/);
    expect(bootstrapRatioCI([1, NaN], [1]).reason).toMatch(/non-finite/);
  });
});

describe('verdict', () => {
  const hi = { higherIsBetter: true };
  const lo = { higherIsBetter: false };
  it('higher is better', () => {
    expect(verdict([1.05, 1.1], hi)).toBe('better');
    expect(verdict([0.9, 0.95], hi)).toBe('worse');
    expect(verdict([0.99, 1.1], hi)).toBe('no detectable difference');
    // excludes 1 but not the 2 % band: too small to call
    expect(verdict([1.01, 1.03], hi)).toBe('no detectable difference');
    expect(verdict([1.01, 1.03], { ...hi, minEffect: 0 })).toBe('better');
  });
  it('lower is better', () => {
    expect(verdict([0.7, 0.8], lo)).toBe('better');
    expect(verdict([1.2, 1.4], lo)).toBe('worse');
    expect(verdict([0.97, 1.01], lo)).toBe('no detectable difference');
    expect(verdict({ low: 0.5, high: 0.97 }, lo)).toBe('better');
  });
  it('no interval → no detectable difference', () => {
    expect(verdict(null, hi)).toBe('no detectable difference');
    expect(verdict({ low: null, high: null }, lo)).toBe('no detectable difference');
  });
});

describe('order', () => {
  it('ABAB by default', () => {
    expect(order(3)).toEqual(['A', 'B', 'A', 'B', 'A', 'B']);
    expect(order(0)).toEqual([]);
  });
  it('ABBA blocks', () => {
    expect(order(4, 'abba')).toEqual(['A', 'B', 'B', 'A', 'A', 'B', 'B', 'A']);
    expect(order(3, 'abba')).toEqual(['A', 'B', 'B', 'A', 'A', 'B']);
  });
  it('rejects bad counts', () => {
    expect(() => order(-1)).toThrow(RangeError);
    expect(() => order(1.5)).toThrow(RangeError);
  });
});

describe('ecdf', () => {
  it('sorted steps, ties merged, last p = 1', () => {
    expect(ecdf([3, 1, 2, 2])).toEqual([
      { x: 1, p: 0.25 },
      { x: 2, p: 0.75 },
      { x: 3, p: 1 },
    ]);
    expect(ecdf([])).toEqual([]);
    expect(ecdf([NaN, 5])).toEqual([{ x: 5, p: 1 }]);
  });
});

describe('honest comparisons (compareArms, checkClaim)', () => {
  const hi = { higherIsBetter: true };
  const lo = { higherIsBetter: false };
  it('below 3 runs per arm: no interval, a verdict from the observed ranges, labelled so', () => {
    const one = compareArms([100], [150], hi);
    expect(one.ci95).toBeNull();
    expect(one.basis).toBe('ranges');
    expect(one.verdict).toBe('better');
    expect(one.explanation).toContain('too few runs for an interval');
    expect(one.explanation).toContain('minimum effect 2 %');
    // overlapping ranges: nothing is claimed even though the medians differ by 10 %
    const two = compareArms([100, 120], [110, 130], hi);
    expect(two.ratio).toBeCloseTo(120 / 110, 12);
    expect(two.verdict).toBe('no detectable difference');
    // every B run beyond every A run, but by less than the minimum effect: no verdict
    expect(compareArms([100, 100.5], [101.5, 102], hi).verdict).toBe('no detectable difference');
    expect(compareArms([100, 100.5], [101.5, 102], { ...hi, minEffect: 0 }).verdict).toBe('better');
    expect(compareArms([10, 11], [5, 6], lo).verdict).toBe('better');
    expect(compareArms([10, 11], [5, 6], hi).verdict).toBe('worse');
  });
  it('3 or more runs: the bootstrap interval and the verdict rule', () => {
    const c = compareArms([100, 101, 99, 100], [120, 119, 121, 120], hi);
    expect(c.basis).toBe('interval');
    expect(c.ci95).not.toBeNull();
    expect(c.verdict).toBe('better');
    expect(c.min_effect).toBe(0.02);
  });
  it('a censored arm gives a bound, not a ratio with an interval', () => {
    // keepalive: A cut off at its 20 s limit every time (the true value is 7875 s), B ≈ 11.14 s
    const c = compareArms([20, 20], [11.14, 11.2], { ...lo, censoredA: 2 });
    expect(c.basis).toBe('bound');
    expect(c.ci95).toBeNull();
    expect(c.bound).toEqual({ op: '≤', value: expect.closeTo(0.5585, 3) as number });
    expect(c.verdict).toBe('better');
    // B cut off, lower is better: B/A ≥ r can never show B better
    const d = compareArms([11, 11], [20, 20], { ...lo, censoredB: 2 });
    expect(d.bound?.op).toBe('≥');
    expect(d.verdict).toBe('worse');
    expect(compareArms([20], [20], { ...lo, censoredA: 1, censoredB: 1 }).ratio).toBeNull();
  });
  it('judges the result against the claim: a contrary point estimate is said', () => {
    // sack-loss: the claim says SACK off (B) is worse; B/A = 1.03 within noise
    const c = compareArms([100, 104, 96, 100], [103, 99, 107, 103], hi);
    expect(c.verdict).toBe('no detectable difference');
    const k = checkClaim(c, 'b-worse', true);
    expect(k.outcome).toBe('not supported');
    expect(k.text).toContain('points the other way');
    expect(checkClaim(compareArms([100, 101, 99], [80, 81, 79], hi), 'b-worse', true).outcome).toBe('supported');
    expect(checkClaim(compareArms([100, 101, 99], [120, 121, 119], hi), 'b-worse', true).outcome).toBe('contradicted');
    expect(checkClaim(compareArms([100, 101, 99], [101, 100, 100], hi), 'b-not-better', true).outcome).toBe('supported');
    expect(checkClaim(compareArms([100, 101, 99], [120, 121, 119], hi), 'b-not-better', true).outcome).toBe('contradicted');
    const ranges = checkClaim(compareArms([100], [150], hi), 'b-better', true, 'C');
    expect(ranges.text).toContain('C/A 1.5');
    expect(ranges.text).toContain('observed ranges');
  });
});
