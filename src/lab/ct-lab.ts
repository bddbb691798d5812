// The router of the conntrack experiments (conntrack-full, notrack-crr): a stateful nftables
// forward ruleset in the lab's router namespace, so conntrack is really in use there, and the two
// benchmarks that run through it with the router's counters recorded per run.
//
// Why the table limit is an nft `ct count` rule and not nf_conntrack_max: each network namespace
// has its own conntrack count, but nf_conntrack_max is one global limit, read-only (0444) in every
// namespace except the initial one (net/netfilter/nf_conntrack_standalone.c,
// nf_conntrack_standalone_init_sysctl: "Don't allow non-init_net ns to alter global sysctls";
// measured here on 6.18: -r--r--r-- in a child namespace). A per-namespace nf_conntrack_max is
// only proposed ([RFC nf-next 01/11] "netfilter: netns nf_conntrack: per-netns
// net.netfilter.nf_conntrack_max sysctl", netfilter-devel, November 2025). Filling the router's
// table to the global maximum is possible (the count is per namespace) but costs one entry per
// nf_conntrack_max flow host-wide, and a flood of short UDP flows then does not block new
// connects anyway: their entries are not ASSURED, so early_drop evicts one per new connection
// (measured here: 262 143 entries, early_drop 17 857, drop 0, 5 of 5 TCP connects completed). The
// lab's limit — `ct state new ct count over N drop` — behaves like a full table whose entries
// cannot be early-dropped (ASSURED ones: established TCP, UDP streams): a new flow that finds N
// entries of the router's own table in use is dropped before its entry is confirmed, and the
// rule's counter counts each drop, as the kernel's `drop` statistic does for a full table.
import { z } from 'zod';
import { openSampler, type Sampler } from '../monitor/sampler.js';
import { environmentError } from '../sys/errors.js';
import { sleep } from '../sys/process.js';
import { run } from '../sys/run.js';
import { checkTarget, tool } from './bench-util.js';
import { rrBench } from './bench.js';

export { LAB_TABLE, routerRuleset };
import { startFlood, startListener, stop, type Proc } from './ct-flood.js';
import { LAB_TABLE, routerRuleset } from './ct-rules.js';
import type { LabState } from './lab.js';

const nft = async (ns: string, args: string[], input?: string): Promise<string> => {
  const r = await run(tool('ip'), ['netns', 'exec', ns, tool('nft'), ...args], { timeoutMs: 20_000, ...(input !== undefined ? { input } : {}) });
  if (!r.ok) throw environmentError(`nft ${args.join(' ')} in ${ns}: ${r.stderr.trim().split('\n')[0] || r.error || 'failed'}`);
  return r.stdout;
};

/** Creates or replaces the lab table in one nft transaction (a fresh `ct count` list each run)
 *  and empties the router's own conntrack table, so no run inherits the previous one's entries. */
export async function resetRouter(ns: string, limit: number | null): Promise<void> {
  await nft(ns, ['-f', '-'], `table inet ${LAB_TABLE}\ndelete table inet ${LAB_TABLE}\n${routerRuleset(limit)}`);
  const r = await run(tool('ip'), ['netns', 'exec', ns, tool('conntrack'), '-F'], { timeoutMs: 20_000 });
  // conntrack -F on an empty table exits 0; a failure here would leave old entries counted.
  if (!r.ok) throw environmentError(`conntrack -F in ${ns}: ${r.stderr.trim().split('\n')[0] || r.error || 'failed'}`);
}

const nftCounters = z.object({ nftables: z.array(z.record(z.string(), z.unknown())) });
const counterObj = z.object({ name: z.string(), packets: z.number() });

/** Packets each named counter of the lab table has counted. */
export async function labCounters(ns: string): Promise<Record<string, number>> {
  const doc = nftCounters.safeParse(JSON.parse(await nft(ns, ['-j', 'list', 'table', 'inet', LAB_TABLE])));
  if (!doc.success) throw environmentError(`nft -j list table inet ${LAB_TABLE}: unexpected output`);
  const out: Record<string, number> = {};
  for (const o of doc.data.nftables) {
    const c = counterObj.safeParse(o.counter);
    if (c.success) out[c.data.name] = c.data.packets;
  }
  return out;
}

/** The router's conntrack statistics (summed over CPUs) and its own table size, from the
 *  monitor's counter reader (/proc/net/stat/nf_conntrack of the namespace). */
async function ctReading(s: Sampler): Promise<{ entries: number; stat: Record<string, number> }> {
  const r = await s.sample();
  const rows = r.conntrack?.stats ?? [];
  const stat: Record<string, number> = {};
  for (const row of rows) for (const [k, v] of Object.entries(row)) if (k !== 'entries') stat[k] = (stat[k] ?? 0) + v;
  return { entries: r.conntrack?.count ?? rows[0]?.entries ?? 0, stat };
}

/** The router's reading once the fill has landed: the flood's last datagrams may still sit in the
 *  veth queues when its sender reports them sent, so the count is read again (every 50 ms, at
 *  most 2 s) until it reaches the limit or stops moving. */
async function settledReading(s: Sampler, limit: number): Promise<{ entries: number; stat: Record<string, number> }> {
  let r = await ctReading(s);
  for (let i = 0; i < 40 && r.entries < limit; i++) {
    await sleep(50);
    const next = await ctReading(s);
    const still = next.entries === r.entries;
    r = next;
    if (still) break;
  }
  return r;
}

const KERNEL_STATS = ['drop', 'early_drop', 'insert_failed', 'invalid'] as const;
const statDelta = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(KERNEL_STATS.map((k) => [`kernel_${k}`, (b[k] ?? 0) - (a[k] ?? 0)]));

export interface CtLab {
  clientNs: string;
  routerNs: string;
  serverNs: string;
  target: string;
}

/** The conntrack benchmarks' view of a lab: they need its router. */
export function ctLab(lab: LabState): CtLab {
  if (!lab.namespaces.router) throw environmentError(`lab ${lab.name} has no router (the conntrack experiments run on the router topology)`);
  return { clientNs: lab.namespaces.client, routerNs: lab.namespaces.router, serverNs: lab.namespaces.server, target: lab.server_addrs[0] ?? '198.18.0.6' };
}

export interface CtBenchResult {
  value: number;
  latencies?: number[];
  /** What the router and the generators counted in this run. */
  counters: Record<string, number>;
}

export interface CtFullOptions {
  limit: number;
  fill: number;
  rate: number;
  udp_port: number;
  tcp_port: number;
  connects: number;
  connect_timeout_ms: number;
  duration_s: number;
}

/** conntrack-full: the flood fills the router's table (its first `fill` flows), then `connects`
 *  concurrent TCP connects go through the router while the flood goes on at `rate`. The value is
 *  the share of connects that failed, in per cent. */
export async function ctFullBench(lab: CtLab, o: CtFullOptions, self: { node: string; script: string }): Promise<CtBenchResult> {
  checkTarget(lab.target);
  await resetRouter(lab.routerNs, o.limit);
  const procs: (Proc | null)[] = [];
  let sampler: Sampler | null = null;
  let flood: ReturnType<typeof startFlood> | null = null;
  try {
    procs.push(await startListener('udp-responder', lab.serverNs, o.udp_port, o.duration_s + 30, self));
    procs.push(await startListener('tcp-acceptor', lab.serverNs, o.tcp_port, o.duration_s + 30, self));
    sampler = await openSampler({ netns: lab.routerNs, probeAtOpen: false, ring: 4 });
    const before = await ctReading(sampler);
    // The fill, then the rate for the rest of the run: the flood's whole count is bounded by both.
    const flows = Math.min(40_000, o.fill + Math.ceil(o.rate * o.duration_s));
    flood = startFlood({ ns: lab.clientNs, target: lab.target, port: o.udp_port, flows, fill: o.fill, rate: o.rate, max_s: o.duration_s });
    const filled = await flood.filled;
    if (!filled) throw environmentError('the UDP flood ended before it had sent its first flows');
    const full = await settledReading(sampler, o.limit);
    const args = [self.script, '__connect-burst', JSON.stringify({ host: lab.target, port: o.tcp_port, count: o.connects, timeout_ms: o.connect_timeout_ms })];
    const r = await run(tool('ip'), ['netns', 'exec', lab.clientNs, self.node, ...args], { timeoutMs: o.connect_timeout_ms + 30_000 });
    if (!r.ok) throw environmentError(`connect burst failed: ${r.stderr.slice(0, 300)}`);
    const burst = JSON.parse(r.stdout) as { connected: number; failed: number };
    const f = await flood.done();
    flood = null;
    const after = await ctReading(sampler);
    const nftc = await labCounters(lab.routerNs);
    const failedPct = (100 * burst.failed) / o.connects;
    return {
      value: failedPct,
      counters: {
        connects_attempted: o.connects,
        connects_completed: burst.connected,
        connect_success_pct: 100 - failedPct,
        flood_flows_sent: f.sent,
        router_entries_after_fill: full.entries,
        router_entries_at_end: after.entries,
        limit_drops: nftc.ct_limit_drop ?? 0,
        new_flows_admitted: nftc.ct_new ?? 0,
        untracked_packets: nftc.ct_untracked ?? 0,
        ...statDelta(before.stat, after.stat),
      },
    };
  } finally {
    await flood?.kill();
    sampler?.close();
    for (const p of procs) await stop(p);
  }
}

export interface CtCrrOptions {
  /** The service ports: run k uses port + (k mod ports). */
  port: number;
  ports: number;
  duration_s: number;
  connections: number;
  size: number;
}

/** notrack-crr: connect-request-response through the stateful router (nettune's crr generator on
 *  a fixed service port, so the planner's NOTRACK rules can name it). Value: connections/s. */
let crrRuns = 0;

export async function ctCrrBench(lab: CtLab, o: CtCrrOptions, self: { node: string; script: string }): Promise<CtBenchResult> {
  checkTarget(lab.target);
  await resetRouter(lab.routerNs, null);
  const sampler = await openSampler({ netns: lab.routerNs, probeAtOpen: false, ring: 4 });
  try {
    const before = await ctReading(sampler);
    // A new server port each run: one client address connecting to one fixed address:port runs out
    // of source ports once TIME_WAIT (60 s) holds the ~28 000 of ip_local_port_range — measured
    // here at the default size: the 5th run had no connection at all, and each run was slower than
    // the one before (connect's port search walks the TIME_WAIT entries).
    const port = o.port + (crrRuns++ % o.ports);
    const r = await rrBench({ clientNs: lab.clientNs, serverNs: lab.serverNs, target: lab.target, port, mode: 'crr', duration_s: o.duration_s, connections: o.connections, size: o.size, max_transactions: 2_000_000 }, self);
    const after = await ctReading(sampler);
    const nftc = await labCounters(lab.routerNs);
    if (r.transactions === 0) throw environmentError(`no connection completed through the router (${r.errors} errors; the router dropped ${nftc.ct_invalid ?? 0} invalid packets)`);
    return {
      value: r.tps,
      latencies: r.latencies_ms,
      counters: {
        service_port: port,
        transactions: r.transactions,
        errors: r.errors,
        new_flows_admitted: nftc.ct_new ?? 0,
        untracked_packets: nftc.ct_untracked ?? 0,
        invalid_dropped: nftc.ct_invalid ?? 0,
        router_entries_at_end: after.entries,
        ...statDelta(before.stat, after.stat),
      },
    };
  } finally {
    sampler.close();
  }
}
