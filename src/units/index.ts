// The one units module, below every stage: parsing what users type (link rates in tc syntax,
// durations, percentages) and displaying sizes, rates and durations. Bad input throws a usage
// error (exit 2) naming the flag.
import { usageError } from '../sys/errors.js';

/** tc's rate units (iproute2 tc/tc_util.c get_rate, matched case-insensitively): SI and IEC
 *  prefixes, "bit" for bits and "bps" for BYTES per second. */
const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
  // tc also accepts bytes per second: bps = bytes/s (not bits)
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 1024,
  mibps: 8 * 1024 ** 2,
  gibps: 8 * 1024 ** 3,
  tibps: 8 * 1024 ** 4,
};

const RATE_HINT = 'use tc units: 100mbit, 1gbit, 10gbit, 25gbit (bits/s), 1gibit (IEC), or 125mbps (bytes/s)';

/** "10gbit", "1Gbit/s", "100mbit", "2.5gbit", "1gibit", "125mbps" (bytes/s, as tc reads it) →
 *  bits per second. A bare number is refused: tc reads it as bytes per second, most people mean
 *  bits. */
export function parseRate(text: string, flag = '--link'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?(?:\/s)?\s*$/i.exec(text);
  if (m && m[2] === undefined) throw usageError(`${flag} ${JSON.stringify(text)}: a rate needs a unit (tc would read a bare number as bytes per second)`, RATE_HINT);
  const mult = RATE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || mult === undefined) throw usageError(`${flag} ${JSON.stringify(text)}: not a rate`, RATE_HINT);
  const v = Number(m[1]) * mult;
  if (!(v > 0)) throw usageError(`${flag} ${JSON.stringify(text)}: the rate must be positive`);
  return v;
}

const DURATION_UNITS: Record<string, number> = { us: 1e-6, usec: 1e-6, µs: 1e-6, ms: 1e-3, msec: 1e-3, s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 };

/** "500us", "10ms", "5s", "1.5s", "2m", "1h" → seconds. A bare number is refused (0 aside), naming
 *  the units: tc reads a bare time as microseconds, sysctl and most tools as seconds. Flags whose
 *  tool convention is plain seconds (iperf3 -t/-O for bench durations) pass `bareSeconds`. */
export function parseDuration(text: string, flag: string, opts: { bareSeconds?: boolean } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|usec|µs|ms|msec|sec|s|min|m|h|d)?\s*$/i.exec(text);
  if (m && m[2] === undefined && Number(m[1]) !== 0 && !opts.bareSeconds)
    throw usageError(`${flag} ${JSON.stringify(text)}: a duration needs a unit: us, ms, s, m, h or d (tc would read a bare number as microseconds)`, `e.g. ${flag} ${m[1]}ms or ${flag} ${m[1]}s`);
  const mult = DURATION_UNITS[(m?.[2] ?? 's').toLowerCase()];
  if (!m || mult === undefined) throw usageError(`${flag} ${JSON.stringify(text)}: not a duration`, 'e.g. 500us, 10ms, 5s, 2m');
  return Number(m[1]) * mult;
}

/** A number for display: at most `digits` significant digits, no float noise
 *  (0.009999999999999998 → 0.01, 12.500000001 → 12.5). */
export function round(n: number, digits = 4): number {
  if (!Number.isFinite(n) || n === 0) return n;
  return Number(n.toPrecision(digits));
}

/** Seconds as milliseconds for display: 0.01 → "10 ms", 0.00001 → "0.01 ms". */
export const formatMs = (seconds: number): string => `${round(seconds * 1000)} ms`;

/** "0.5%", "1", "0.01" is NOT a fraction: the number is a percentage. */
export function parsePercent(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const v = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(v) || v < 0 || v > 100) throw usageError(`${flag} ${JSON.stringify(text)}: a percentage from 0 to 100`);
  return v;
}

/** Bandwidth-delay product in bytes: rate (bit/s) × RTT (s) / 8. 10 Gbit/s × 10 ms = 12.5 MB. */
export const bdpBytes = (rateBps: number, rttSec: number): number => (rateBps * rttSec) / 8;

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 33554432 → "32 MiB"; keeps one decimal when it matters. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '?';
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < IEC.length - 1) {
    v /= 1024;
    i++;
  }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${s} ${IEC[i]}`;
}

/** 12500000000 → "12.5 Gbit/s" (SI, as link rates are quoted). */
export function formatRate(bitsPerSecond: number): string {
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let v = bitsPerSecond;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))} ${units[i]}`;
}

/** 7875 → "2h 11m 15s". */
export function formatSeconds(total: number): string {
  if (!Number.isFinite(total)) return '?';
  const parts: string[] = [];
  let s = Math.round(total);
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join(' ');
}

/** An exact count with its digits grouped in threes: 1048576 → "1 048 576" (SI style, a space). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const [int, frac] = String(Math.abs(n)).split('.');
  return `${n < 0 ? '-' : ''}${(int ?? '').replace(/\B(?=(\d{3})+(?!\d))/g, ' ')}${frac ? `.${frac}` : ''}`;
}

const SI = ['', 'k', 'M', 'G', 'T', 'P'] as const;

/** A count or rate in a narrow column: 0 → "0", 0.25 → "0.25", 999 → "999", 1234 → "1.23k",
 *  12_345_678 → "12.3M" (SI, three significant digits). null → "–" (no value this interval). */
export function formatSI(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n === 0) return '0';
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 999.5 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0 && Math.abs(v) >= 10) return String(Math.round(v));
  return `${Number(v.toPrecision(3))}${SI[i]}`;
}
