// Axes for the SVG charts (svg.ts): round 1-2-5 ticks for linear axes, decades for log axes, tick
// label formatters, and XML escaping. Pure functions.

/** Escape text for XML character data and attribute values. */
export function escapeXml(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // characters XML 1.0 forbids outright
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
  );
}

const clean = (v: number): number => {
  const r = Number(v.toPrecision(12));
  return Object.is(r, -0) ? 0 : r;
};

export interface Ticks {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/**
 * Round tick values for a linear axis: the step is 1, 2 or 5 × 10^k, chosen so that there are at
 * most about `target` intervals, and the domain is widened to whole steps.
 */
export function niceTicks(min: number, max: number, target = 6): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [0, 1];
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= d;
    max += d;
  }
  const raw = (max - min) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = clean((norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag);
  const k0 = Math.floor(min / step + 1e-9);
  const k1 = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let k = k0; k <= k1; k++) ticks.push(clean(k * step));
  return { min: clean(k0 * step), max: clean(k1 * step), step, ticks };
}

/**
 * Ticks for a logarithmic axis: whole decades (every decade up to ~6, then every few), plus 2 and 5
 * within the decade when the range spans at most two decades. min and max must be > 0.
 */
export function logTicks(min: number, max: number): { min: number; max: number; ticks: number[] } {
  if (!(min > 0) || !(max > 0) || !Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [1, 10];
  if (min > max) [min, max] = [max, min];
  const lo = Math.floor(Math.log10(min) + 1e-9);
  let hi = Math.ceil(Math.log10(max) - 1e-9);
  if (hi <= lo) hi = lo + 1;
  const decades = hi - lo;
  const every = Math.ceil(decades / 6);
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) {
    if ((e - lo) % every === 0 || e === hi) ticks.push(clean(10 ** e));
    if (decades <= 2 && e < hi) ticks.push(clean(2 * 10 ** e), clean(5 * 10 ** e));
  }
  ticks.sort((x, y) => x - y);
  return { min: clean(10 ** lo), max: clean(10 ** hi), ticks };
}

export const SI: readonly [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** Formatter for the ticks of a linear axis: the decimals the step needs, SI suffix from 10 000 up. */
export function linearFormatter(ticks: readonly number[], step: number): (v: number) => string {
  const maxAbs = Math.max(0, ...ticks.map(Math.abs));
  let scale = 1;
  let suffix = '';
  if (maxAbs >= 1e4) {
    for (const [s, suf] of SI) {
      if (maxAbs >= s) {
        scale = s;
        suffix = suf;
        break;
      }
    }
  }
  const decimals = Math.min(10, Math.max(0, -Math.floor(Math.log10(step / scale) + 1e-9)));
  return (v) => {
    const t = (v / scale).toFixed(decimals);
    return /^-?0(\.0*)?$/.test(t) ? '0' : t + suffix;
  };
}

/** A compact number: three significant digits, SI suffix from 10 000 up (12 345 678 → "12.3M"). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e4) {
    for (const [s, suf] of SI) if (a >= s) return `${Number((v / s).toPrecision(3))}${suf}`;
  }
  return String(Number(v.toPrecision(3)));
}
