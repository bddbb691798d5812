// Small helpers rules share: counter signals with the since-boot caveat, BDP, formatting.
import type { Evidence, RuleContext, Severity } from './types.js';
import type { PlanChange } from '../plan/types.js';

export interface CounterSignal {
  /** Something happened: a positive rate over the interval, or (without one) a positive total. */
  seen: boolean;
  /** Seen during the audit interval (not only at some time since boot). */
  now: boolean;
  /** Sum of the rates of the refs, per second (null without two samples). */
  rate: number | null;
  total: number;
  evidence: Evidence[];
}

/** Reads counters for a rule. Counters only grow since boot, so a total alone is weak evidence:
 *  rules fire on a rate when two samples exist, and otherwise at most with `info` (see `sinceBoot`). */
export function counterSignal(ctx: RuleContext, refs: readonly string[]): CounterSignal {
  let rate: number | null = null;
  let total = 0;
  const evidence: Evidence[] = [];
  for (const ref of refs) {
    const c = ctx.counter(ref);
    total += c.total ?? 0;
    if (c.rate !== null) rate = (rate ?? 0) + c.rate;
    evidence.push(ctx.evidence(ref));
  }
  const now = rate !== null && rate > 0;
  return { seen: now || (rate === null && total > 0), now, rate, total, evidence };
}

/** Severity for a counter finding: the rule's own when seen now, info when only since boot. */
export const sinceBoot = (sig: CounterSignal, severity: Severity): Severity => (sig.now ? severity : 'info');

export const SINCE_BOOT_NOTE = 'counted since boot; run `nettune audit --interval 10s` to see whether it is still happening';

export const sysctlChange = (ctx: RuleContext, key: string, to: string): PlanChange => ({ kind: 'sysctl', key, from: ctx.sysctl(key) ?? null, to });

/** Replaces one field of a vector sysctl ("4096 131072 6291456", index 2 → new max). */
export function vectorWith(values: readonly number[], index: number, value: number): string {
  return values.map((v, i) => (i === index ? value : v)).join(' ');
}

const MIB = 1024 * 1024;
export const mib = (bytes: number): string => (bytes >= MIB ? `${(bytes / MIB).toFixed(bytes % MIB === 0 ? 0 : 1)} MiB` : `${Math.round(bytes / 1024)} KiB`);

/** Rounds up to a power of two (buffer sizes are easier to read and compare that way). */
export const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
