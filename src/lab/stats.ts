// Statistics for A/B experiments: quantiles, a seeded bootstrap for the B/A ratio, the verdict rule,
// run-order helpers and the empirical CDF used by the latency plots. Pure functions, no I/O.

/** A statistic of one sample (median, mean, a quantile…). */
export type Statistic = (xs: readonly number[]) => number;

function sortedCopy(xs: readonly number[]): Float64Array {
  // Float64Array sorts numerically (no comparator) and is much faster than Array#sort for numbers.
  return Float64Array.from(xs).sort();
}

function quantileSorted(s: ArrayLike<number>, p: number): number {
  const n = s.length;
  if (n === 0) throw new RangeError('quantile of an empty sample');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile probability ${p} is outside [0, 1]`);
  // Hyndman & Fan type 7 (R's default, NumPy's 'linear'): h = (n − 1)·p, interpolate between the
  // order statistics either side of h.
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const xl = s[lo] as number;
  const xh = s[hi] as number;
  return xl + (h - lo) * (xh - xl);
}

/** Sample quantile, type 7 (as R's `quantile()` and NumPy's default). p in [0, 1]. Throws on an empty sample. */
export function quantile(xs: readonly number[], p: number): number {
  return quantileSorted(sortedCopy(xs), p);
}

/** Median (type-7 quantile at 0.5: the mean of the two middle values for an even count). */
export const median: Statistic = (xs) => quantile(xs, 0.5);

/** Arithmetic mean. Throws on an empty sample. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('mean of an empty sample');
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Sample standard deviation (n − 1 denominator, as R's `sd()`); 0 for a single value. */
export function stddev(xs: readonly number[]): number {
  const m = mean(xs);
  if (xs.length < 2) return 0;
  let ss = 0;
  for (const x of xs) ss += (x - m) ** 2;
  return Math.sqrt(ss / (xs.length - 1));
}

/** Percentile key as used in reports: 50 → "p50", 99.9 → "p99.9". */
export const percentileKey = (pct: number): string => `p${pct}`;

/**
 * Several percentiles at once (percent, not fraction), type-7 interpolation:
 * percentiles(xs, [50, 99.9]) → { p50: …, "p99.9": … }. Sorts once.
 */
export function percentiles(xs: readonly number[], pcts: readonly number[] = [50, 90, 99, 99.9]): Record<string, number> {
  const s = sortedCopy(xs);
  const out: Record<string, number> = {};
  for (const pct of pcts) out[percentileKey(pct)] = quantileSorted(s, pct / 100);
  return out;
}

/** Fixed default seed: reports are reproducible unless the caller asks otherwise. */
export const DEFAULT_SEED = 0x6e657474; // "nett"

/**
 * mulberry32: a small, fast 32-bit PRNG with good enough statistical quality for resampling.
 * Returns a function yielding floats in [0, 1). The same seed always gives the same sequence.
 */
export function mulberry32(seed: number = DEFAULT_SEED): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapOptions {
  /** Number of bootstrap resamples (default 10 000). */
  iterations?: number;
  /** Confidence level of the interval (default 0.95). */
  confidence?: number;
  /** PRNG seed (default DEFAULT_SEED): the same inputs and seed give the same interval. */
  seed?: number;
  /** Statistic compared between the arms (default median). */
  statistic?: Statistic;
}

export interface RatioCI {
  /** statistic(b) / statistic(a); null when it cannot be computed (see reason). */
  ratio: number | null;
  /** Lower and upper bounds of the percentile-bootstrap interval; null when unavailable (see reason). */
  low: number | null;
  high: number | null;
  iterations: number;
  confidence: number;
  /** Why ratio or the interval is null. */
  reason?: string;
}

/**
 * Percentile-bootstrap confidence interval for statistic(b) / statistic(a).
 *
 * a and b are resampled independently with replacement (each resample has the size of its
 * sample), the ratio statistic(b*) / statistic(a*) is computed for every resample, and the
 * interval is the (α/2, 1 − α/2) type-7 quantiles of those ratios, α = 1 − confidence.
 *
 * A ratio needs a non-zero denominator: when statistic(a) is 0 the ratio and interval are null;
 * when statistic(a*) is 0 in some resample (a sample with zeros in it) the point ratio is kept
 * but the interval is null, since it would be unbounded. `reason` says which.
 */
export function bootstrapRatioCI(a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): RatioCI {
  const iterations = Math.floor(opts.iterations ?? 10_000);
  const confidence = opts.confidence ?? 0.95;
  const statistic = opts.statistic ?? median;
  if (!(iterations >= 1)) throw new RangeError(`bootstrap iterations must be ≥ 1, got ${opts.iterations}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const base = { iterations, confidence };
  const none = (reason: string, ratio: number | null = null): RatioCI => ({ ratio, low: null, high: null, ...base, reason });

  if (a.length === 0 || b.length === 0) return none(`no samples for ${a.length === 0 ? 'A' : 'B'}`);
  if (![...a, ...b].every(Number.isFinite)) return none('samples contain non-finite values');

  const sa = statistic(a);
  const sb = statistic(b);
  if (sa === 0) return none('the statistic of A is 0, so the ratio B/A is undefined');
  const ratio = sb / sa;

  const rand = mulberry32(opts.seed ?? DEFAULT_SEED);
  const ra: number[] = new Array<number>(a.length);
  const rb: number[] = new Array<number>(b.length);
  const ratios = new Float64Array(iterations);
  let zeroDenominators = 0;
  for (let i = 0; i < iterations; i++) {
    for (let j = 0; j < a.length; j++) ra[j] = a[Math.floor(rand() * a.length)] as number;
    for (let j = 0; j < b.length; j++) rb[j] = b[Math.floor(rand() * b.length)] as number;
    const den = statistic(ra);
    if (den === 0) {
      zeroDenominators++;
      continue;
    }
    ratios[i] = statistic(rb) / den;
  }
  if (zeroDenominators > 0)
    return none(`the statistic of A was 0 in ${zeroDenominators} of ${iterations} resamples, so the interval is unbounded`, ratio);

  ratios.sort();
  const alpha = 1 - confidence;
  return { ratio, low: quantileSorted(ratios, alpha / 2), high: quantileSorted(ratios, 1 - alpha / 2), ...base };
}

export type Verdict = 'better' | 'worse' | 'no detectable difference';

export interface VerdictOptions {
  /** True for throughput-like metrics, false for latency-like ones. */
  higherIsBetter: boolean;
  /** Smallest relative change worth reporting (default 0.02 = 2 %). */
  minEffect?: number;
}

/**
 * The verdict rule. The interval is for the ratio B/A (B the candidate, A the baseline):
 *
 * - higher is better: **better** when the whole interval lies above 1 + minEffect (low > 1 + minEffect),
 *   **worse** when it lies below 1 − minEffect (high < 1 − minEffect);
 * - lower is better: **better** when high < 1 − minEffect, **worse** when low > 1 + minEffect;
 * - anything else — the interval touches or straddles the ±minEffect band around 1, or there is
 *   no interval — is **no detectable difference**.
 *
 * So a verdict needs both statistical evidence (the interval excludes 1) and a practically
 * relevant size (it also excludes changes smaller than minEffect).
 */
export function verdict(
  ci: { low: number | null; high: number | null } | readonly [number, number] | null,
  opts: VerdictOptions,
): Verdict {
  if (ci === null) return 'no detectable difference';
  const [low, high] = 'low' in ci ? [ci.low, ci.high] : [ci[0], ci[1]];
  if (low === null || high === null || !Number.isFinite(low) || !Number.isFinite(high)) return 'no detectable difference';
  const minEffect = opts.minEffect ?? 0.02;
  const above = low > 1 + minEffect;
  const below = high < 1 - minEffect;
  if (opts.higherIsBetter) return above ? 'better' : below ? 'worse' : 'no detectable difference';
  return below ? 'better' : above ? 'worse' : 'no detectable difference';
}

/** Fewer runs than this per arm: no interval is claimed, the verdict rests on the observed ranges. */
export const MIN_RUNS_FOR_INTERVAL = 3;

/** The default minimum effect: smaller relative changes are never called better or worse. */
export const DEFAULT_MIN_EFFECT = 0.02;

export interface Comparison {
  /** statistic(B) / statistic(A) as recorded (censored runs counted at the limit). */
  ratio: number | null;
  /** Bootstrap 95 % interval of the ratio; null below MIN_RUNS_FOR_INTERVAL runs, or when censored. */
  ci95: [number, number] | null;
  /** What the verdict rests on: the bootstrap interval, the observed ranges (too few runs), a
   *  bound (an arm was cut off at its limit), or nothing (no ratio). */
  basis: 'interval' | 'ranges' | 'bound' | 'none';
  /** With basis 'bound': the true ratio is ≤ (or ≥) value. */
  bound: { op: '≤' | '≥'; value: number } | null;
  verdict: Verdict;
  min_effect: number;
  /** One sentence saying what the verdict is based on, for the report. */
  explanation: string;
}

export interface CompareOptions extends VerdictOptions {
  /** How many runs of each arm hit the time limit (their recorded value is a lower bound). */
  censoredA?: number;
  censoredB?: number;
  /** Bootstrap seed and iterations (defaults as bootstrapRatioCI). */
  seed?: number;
  iterations?: number;
}

const pct = (x: number): string => `${Number((x * 100).toPrecision(3))} %`;
const num = (x: number): string => String(Number(x.toPrecision(3)));

/**
 * Compares arm B with arm A (the first arm) honestly:
 *
 * - one arm cut off at its limit (censored: its true value is at least the recorded one): the
 *   ratio is only a bound — A censored → B/A ≤ recorded ratio, B censored → B/A ≥ it; no interval.
 *   The verdict uses the bound: it can say better/worse only in the direction the bound allows.
 * - fewer than MIN_RUNS_FOR_INTERVAL runs in an arm: no interval ("too few runs for an interval");
 *   the verdict compares the observed ranges — better only when every B run beats every A run by
 *   more than the minimum effect (worse symmetrically).
 * - otherwise: the percentile-bootstrap interval of the median ratio and the verdict() rule.
 */
export function compareArms(a: readonly number[], b: readonly number[], o: CompareOptions): Comparison {
  const minEffect = o.minEffect ?? DEFAULT_MIN_EFFECT;
  const hi = o.higherIsBetter;
  const base = { min_effect: minEffect, ci95: null, bound: null };
  if (!a.length || !b.length) return { ...base, ratio: null, basis: 'none', verdict: 'no detectable difference', explanation: `no runs of ${a.length ? 'B' : 'A'}` };
  const ma = median(a);
  const mb = median(b);
  const ratio = ma === 0 ? null : mb / ma;
  const effect = `minimum effect ${pct(minEffect)}`;
  const ca = o.censoredA ?? 0;
  const cb = o.censoredB ?? 0;
  if (ca || cb) {
    if (ratio === null) return { ...base, ratio, basis: 'none', verdict: 'no detectable difference', explanation: 'the median of A is 0, so there is no ratio' };
    if (ca && cb)
      return { ...base, ratio: null, basis: 'none', verdict: 'no detectable difference', explanation: `both arms reached the time limit (A ${ca}×, B ${cb}×): neither value is known, so there is no ratio and no verdict` };
    const op = ca ? '≤' : '≥';
    // A's true value is larger than recorded → the true B/A is smaller (≤), and vice versa.
    const improves = hi ? op === '≥' : op === '≤';
    const beyond = hi ? ratio > 1 + minEffect : ratio < 1 - minEffect;
    const worseBeyond = hi ? ratio < 1 - minEffect : ratio > 1 + minEffect;
    const v: Verdict = improves && beyond ? 'better' : !improves && worseBeyond ? 'worse' : 'no detectable difference';
    const who = ca ? `A reached the time limit in ${ca} of ${a.length} runs` : `B reached the time limit in ${cb} of ${b.length} runs`;
    return {
      ...base,
      ratio,
      bound: { op, value: ratio },
      basis: 'bound',
      verdict: v,
      explanation: `${who}, so its true value is at least the limit: B/A ${op} ${num(ratio)} is a bound, not an estimate, and no interval is given (${effect})`,
    };
  }
  if (a.length < MIN_RUNS_FOR_INTERVAL || b.length < MIN_RUNS_FOR_INTERVAL) {
    const [aLo, aHi, bLo, bHi] = [Math.min(...a), Math.max(...a), Math.min(...b), Math.max(...b)];
    // B beats A everywhere: for higher-is-better every B run exceeds every A run by the minimum effect.
    const bAbove = bLo > aHi * (1 + minEffect);
    const bBelow = bHi < aLo * (1 - minEffect);
    const v: Verdict = hi ? (bAbove ? 'better' : bBelow ? 'worse' : 'no detectable difference') : bBelow ? 'better' : bAbove ? 'worse' : 'no detectable difference';
    return {
      ...base,
      ratio,
      basis: 'ranges',
      verdict: v,
      explanation: `too few runs for an interval (${a.length} and ${b.length}; an interval needs ${MIN_RUNS_FOR_INTERVAL} per arm): the verdict compares the observed ranges only — it says better or worse only when every run of B is beyond every run of A by more than the ${effect}`,
    };
  }
  const ci = bootstrapRatioCI(a, b, { statistic: median, ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.iterations !== undefined ? { iterations: o.iterations } : {}) });
  const ci95: [number, number] | null = ci.low !== null && ci.high !== null ? [ci.low, ci.high] : null;
  if (!ci95) return { ...base, ratio: ci.ratio, basis: 'none', verdict: 'no detectable difference', explanation: `no interval: ${ci.reason ?? 'unknown'}` };
  return {
    ...base,
    ratio: ci.ratio,
    ci95,
    basis: 'interval',
    verdict: verdict(ci95, { higherIsBetter: hi, minEffect }),
    explanation: `percentile bootstrap of the median ratio, 95 % interval; better or worse only when the whole interval lies beyond the ${effect} around 1`,
  };
}

/** What an experiment's claim says about B relative to A. */
export type ClaimDirection = 'b-better' | 'b-worse' | 'b-not-better';

export interface ClaimCheck {
  /** contradicted: measurably the other way · not supported: the point estimate goes the other way,
   *  within noise · not shown: the claimed way, within noise · supported: measurably as claimed. */
  outcome: 'supported' | 'contradicted' | 'not supported' | 'not shown';
  text: string;
}

/** Judges a comparison against the experiment's claim: a point estimate that goes against the
 *  claim is said so, not hidden behind "no detectable difference". */
export function checkClaim(c: Comparison, expect: ClaimDirection, higherIsBetter: boolean, arm = 'B'): ClaimCheck {
  const r = c.ratio;
  const est = r === null ? null : higherIsBetter ? (r > 1 ? 'better' : r < 1 ? 'worse' : 'equal') : r < 1 ? 'better' : r > 1 ? 'worse' : 'equal';
  const basis = c.basis === 'ranges' ? ', observed ranges only: too few runs for an interval' : c.basis === 'bound' ? ', a bound' : '';
  const who = arm === 'B' ? 'B' : `B (here ${arm})`;
  const how = c.basis === 'ranges' ? 'by the observed ranges' : c.basis === 'bound' ? 'by the bound' : 'measurably';
  const shown = r === null ? 'no ratio' : `${arm}/A ${c.bound ? `${c.bound.op} ` : ''}${num(r)}${basis}`;
  if (expect === 'b-not-better') {
    if (c.verdict === 'better') return { outcome: 'contradicted', text: `the claim says ${who} is not better, but ${arm} is ${how} better (${shown})` };
    if (c.verdict === 'worse') return { outcome: 'supported', text: `${arm} is not better; it is ${how} worse (${shown})` };
    return { outcome: 'supported', text: `no detectable difference beyond the minimum effect (${shown}), as the claim says` };
  }
  const want = expect === 'b-better' ? 'better' : 'worse';
  const other = want === 'better' ? 'worse' : 'better';
  if (c.verdict === want) return { outcome: 'supported', text: `${arm} is ${want}, as the claim says (${shown})` };
  if (c.verdict === other) return { outcome: 'contradicted', text: `the claim says ${who} is ${want}, but it is ${how} ${other} (${shown})` };
  if (est === other)
    return { outcome: 'not supported', text: `the claim says ${who} is ${want}, but the point estimate points the other way (${shown}, ${arm} ${other}); the difference is within what this run can detect` };
  if (est === null || est === 'equal') return { outcome: 'not shown', text: `the claim says ${who} is ${want}; this run shows no difference (${shown})` };
  return { outcome: 'not shown', text: `the claim says ${who} is ${want}; the point estimate agrees (${shown}) but the difference is not detectable at this sample size` };
}

export type Arm = 'A' | 'B';

/**
 * Run order for `reps` repetitions of each arm (2·reps runs in all).
 *
 * Runs are interleaved rather than run as AAAA…BBBB… because machine noise (other tenants, CPU
 * frequency, thermal state, background jobs) and slow drift (caches warming, buffers filling,
 * a link's neighbours getting busier) then hit both arms alike instead of masquerading as an effect.
 *
 * - 'abab' (default): A B A B … — simple; B always runs right after A, so a steady drift still
 *   biases B by half a slot.
 * - 'abba': A B B A A B B A … — every block of four is symmetric in time, which cancels a linear
 *   drift and any "second run of a pair" effect.
 */
export function order(reps: number, scheme: 'abab' | 'abba' = 'abab'): Arm[] {
  if (!Number.isInteger(reps) || reps < 0) throw new RangeError(`reps must be a non-negative integer, got ${reps}`);
  const out: Arm[] = [];
  for (let i = 0; i < reps; i++) {
    if (scheme === 'abba' && i % 2 === 1) out.push('B', 'A');
    else out.push('A', 'B');
  }
  return out;
}

export interface CdfPoint {
  x: number;
  /** Fraction of the sample ≤ x. */
  p: number;
}

/**
 * Empirical CDF as sorted step points: one point per distinct value x with p = fraction of the
 * sample ≤ x (so the last point has p = 1). Non-finite values are ignored.
 */
export function ecdf(xs: readonly number[]): CdfPoint[] {
  const s = sortedCopy(xs.filter(Number.isFinite));
  const n = s.length;
  const out: CdfPoint[] = [];
  for (let i = 0; i < n; i++) {
    const x = s[i] as number;
    if (i + 1 < n && s[i + 1] === x) continue; // ties: keep the last, highest p
    out.push({ x, p: (i + 1) / n });
  }
  return out;
}
