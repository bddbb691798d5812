// The one units module, below every stage: parsing what users type (link rates in tc syntax,
// durations, percentages) and displaying sizes, rates and durations. Bad input throws a usage
// error (exit 2) naming the flag.
import { usageError } from '../sys/errors.js';

const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  // tc also accepts bytes per second: bps = bytes/s (not bits)
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** "10gbit", "1Gbit/s", "100mbit", "2.5gbit", "125mbps" (bytes/s, as tc reads it) → bits per second. */
export function parseRate(text: string, flag = '--link'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?(?:\/s)?\s*$/i.exec(text);
  const unit = (m?.[2] ?? 'bit').toLowerCase();
  const mult = RATE_UNITS[unit];
  if (!m || mult === undefined) throw usageError(`${flag} ${JSON.stringify(text)}: not a rate`, 'use tc units: 100mbit, 1gbit, 10gbit, 25gbit (bits/s)');
  const v = Number(m[1]) * mult;
  if (!(v > 0)) throw usageError(`${flag} ${JSON.stringify(text)}: the rate must be positive`);
  return v;
}

const DURATION_UNITS: Record<string, number> = { us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, min: 60, h: 3600, d: 86400 };

/** "10ms", "5s", "1.5s", "2m", "90" (seconds) → seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|min|m|h|d)?\s*$/i.exec(text);
  const mult = DURATION_UNITS[(m?.[2] ?? 's').toLowerCase()];
  if (!m || mult === undefined) throw usageError(`${flag} ${JSON.stringify(text)}: not a duration`, 'e.g. 500us, 10ms, 5s, 2m');
  return Number(m[1]) * mult;
}

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
