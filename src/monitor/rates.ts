// Rates between two counter samples: every delta goes through the rule engine's counterDelta
// (src/rules/delta.ts) over the exact elapsed time of the sampler's monotonic clock, so a counter
// that went down (a wrap, a reset, a re-created device) has no rate for that interval (null),
// never a negative one. Things present in only one sample (a CPU that went offline, a new
// device, a device re-created under the same name) have no rates either.
import { counterDelta, isGaugeRef } from '../rules/delta.js';
import type { SoftnetRow } from '../snapshot/schema.js';
import type { CounterSample } from './sampler.js';

/** Per-second rate, or null where there is none for this interval. */
export type Rate = number | null;

export const SOFTNET_COUNTERS = ['processed', 'dropped', 'time_squeeze', 'received_rps', 'flow_limit_count'] as const;
export type SoftnetCounter = (typeof SOFTNET_COUNTERS)[number];

export const QDISC_COUNTERS = ['bytes', 'packets', 'drops', 'overlimits', 'requeues'] as const;

export interface QdiscRates {
  dev: string;
  kind: string;
  handle: string;
  root: boolean;
  rates: Record<(typeof QDISC_COUNTERS)[number], Rate>;
  /** Levels now (bytes and packets queued). */
  backlog: number;
  qlen: number;
}

export interface Rates {
  /** Seconds between the two samples on the monotonic clock. */
  interval_s: number;
  from_seq: number;
  to_seq: number;
  taken_at: string;
  /** Every counter of snmp, snmp6 and netstat by its Snapshot reference
   *  (`snmp.Tcp.OutSegs`, `netstat.TcpExt.ListenOverflows`); gauges are left out. */
  counters: Record<string, Rate>;
  /** One entry per CPU of the newer sample, matched to the older one by CPU number. */
  softnet: ({ cpu: number } & Record<SoftnetCounter, Rate>)[];
  /** /proc/net/stat/nf_conntrack columns summed over CPUs (`entries` is a level: left out). */
  conntrack: Record<string, Rate> | null;
  /** Per device: its statistics' rates; null when the device is new or was re-created. */
  links: Record<string, Record<string, Rate> | null>;
  qdiscs: QdiscRates[];
}

const GROUPED = ['snmp', 'snmp6', 'netstat'] as const;

function groupRates(source: string, before: Record<string, Record<string, number>>, after: Record<string, Record<string, number>>, dt: number, out: Record<string, Rate>): void {
  for (const [group, fields] of Object.entries(after)) {
    for (const [field, v] of Object.entries(fields)) {
      const ref = `${source}.${group}.${field}`;
      if (isGaugeRef(ref)) continue;
      out[ref] = counterDelta(before[group]?.[field], v, dt)?.rate ?? null;
    }
  }
}

function softnetRates(before: readonly SoftnetRow[], after: readonly SoftnetRow[], dt: number): Rates['softnet'] {
  const prev = new Map(before.map((r) => [r.cpu, r]));
  return after.map((r) => {
    const p = prev.get(r.cpu);
    const row = { cpu: r.cpu } as { cpu: number } & Record<SoftnetCounter, Rate>;
    for (const f of SOFTNET_COUNTERS) row[f] = counterDelta(p?.[f], r[f], dt)?.rate ?? null;
    return row;
  });
}

const columnSum = (rows: readonly Record<string, number>[], col: string): number | null => {
  if (rows.length === 0 || !rows.every((r) => col in r)) return null;
  return rows.reduce((s, r) => s + (r[col] ?? 0), 0);
};

function conntrackRates(before: CounterSample['conntrack'], after: CounterSample['conntrack'], dt: number): Rates['conntrack'] {
  if (!after) return null;
  const out: Record<string, Rate> = {};
  const cols = Object.keys(after.stats[0] ?? {}).filter((c) => c !== 'entries');
  // A CPU row more or less between the samples changes the sum without any event: no rate then.
  const sameCpus = before !== null && before.stats.length === after.stats.length;
  for (const c of cols) out[c] = sameCpus ? (counterDelta(columnSum(before.stats, c), columnSum(after.stats, c), dt)?.rate ?? null) : null;
  return out;
}

function linkRates(before: CounterSample['links'], after: CounterSample['links'], dt: number): Rates['links'] {
  const out: Rates['links'] = {};
  for (const [dev, l] of Object.entries(after)) {
    const p = before[dev];
    if (!p || p.ifindex !== l.ifindex) {
      out[dev] = null;
      continue;
    }
    const r: Record<string, Rate> = {};
    for (const [f, v] of Object.entries(l.statistics)) r[f] = counterDelta(p.statistics[f], v, dt)?.rate ?? null;
    out[dev] = r;
  }
  return out;
}

function qdiscRates(before: CounterSample['qdiscs'], after: CounterSample['qdiscs'], dt: number): QdiscRates[] {
  const key = (q: { dev: string; handle: string; parent: string | null }): string => `${q.dev}\0${q.handle}\0${q.parent ?? ''}`;
  const prev = new Map(before.map((q) => [key(q), q]));
  return after.map((q) => {
    const p = prev.get(key(q));
    const sameQdisc = p !== undefined && p.kind === q.kind;
    const rates = {} as QdiscRates['rates'];
    for (const f of QDISC_COUNTERS) rates[f] = sameQdisc ? (counterDelta(p[f], q[f], dt)?.rate ?? null) : null;
    return { dev: q.dev, kind: q.kind, handle: q.handle, root: q.root, rates, backlog: q.backlog, qlen: q.qlen };
  });
}

/** Rates from `before` to `after`; undefined when they cannot be compared (same or reversed
 *  order, another namespace, another boot). */
export function computeRates(before: CounterSample, after: CounterSample): Rates | undefined {
  const dt = (after.mono_ms - before.mono_ms) / 1000;
  if (!(dt > 0) || before.netns_inode !== after.netns_inode || before.boot_id !== after.boot_id) return undefined;
  const counters: Record<string, Rate> = {};
  for (const source of GROUPED) groupRates(source, before.counters[source], after.counters[source], dt, counters);
  return {
    interval_s: dt,
    from_seq: before.seq,
    to_seq: after.seq,
    taken_at: after.taken_at,
    counters,
    softnet: softnetRates(before.counters.softnet, after.counters.softnet, dt),
    conntrack: conntrackRates(before.conntrack, after.conntrack, dt),
    links: linkRates(before.links, after.links, dt),
    qdiscs: qdiscRates(before.qdiscs, after.qdiscs, dt),
  };
}

/** Sum of rates that are all known; null when any is unknown (no partial sums passed as whole). */
export function sumRates(rates: readonly Rate[]): Rate {
  let s = 0;
  for (const r of rates) {
    if (r === null) return null;
    s += r;
  }
  return s;
}
