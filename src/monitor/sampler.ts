// The monitor's sampler: one long-running reader of the kernel's counters that `top`, the
// Prometheus exporter and the dashboard share (DESIGN.md "Monitor").
//
//   const s = await openSampler({ netns: 'blue', ring: 120 }); // probes once: s.base()
//   await s.sample(); await sleep(1000); await s.sample();
//   s.rates();            // Rates over the last interval (src/monitor/rates.ts), or undefined
//   s.ring.toArray();     // the last `ring` CounterSamples, oldest first
//   toSnapshot(s.base()!, s.ring.latest()!)  // a Snapshot the audit rule engine can judge
//   await s.snapshot();   // re-read the full host (sysctl tree, links, ethtool) on demand
//   s.close();            // stops the helper process
//
// A CounterSample holds /proc/net/{snmp,snmp6,netstat,sockstat,sockstat6,softnet_stat},
// /proc/net/stat/nf_conntrack (+ the conntrack count and max), every device's
// /sys/class/net/DEV/statistics/* with its ifindex, and the qdiscs' counters, with the exact time
// of the read on the monotonic clock (`mono_ms`) and the wall clock (`taken_at`). The files are
// read by the probe's counter reader (src/probe/counters.ts, the probe's own parsers); `ss -s`'s
// summary is sockstat plus snmp Tcp.CurrEstab, so nothing is spawned per sample; the files stay
// open between samples and are read again from offset 0 (src/probe/kept-files.ts). One helper
// process is started once (src/monitor/sampler-holder.ts): `tc -s -j -batch -` answers the qdisc
// query each sample and, for --netns, is the process inside the namespace whose /proc/PID/net
// the reader reads. The sysctl tree and ethtool are read by a full probe at open and again only
// when snapshot() is called.
import { readFileSync } from 'node:fs';
import { probe } from '../probe/index.js';
import { type CounterReadings, OWN_ROOTS, readCounters, rootsOf } from '../probe/counters.js';
import { keptFiles } from '../probe/kept-files.js';
import { NETNS_DIR, probeInNetns } from '../probe/netns.js';
import type { Snapshot } from '../snapshot/schema.js';
import { environmentError } from '../sys/errors.js';
import { computeRates, type Rates } from './rates.js';
import { createRing, type Ring } from './ring.js';
import { type Holder, netnsInode, type QdiscCounters, startHolder } from './sampler-holder.js';

export const SAMPLE_SCHEMA = 'nettune.sample/1';

export interface CounterSample extends CounterReadings {
  schema: typeof SAMPLE_SCHEMA;
  /** 1, 2, 3 … per sampler. */
  seq: number;
  /** performance.now() in the middle of the read: milliseconds on the monotonic clock (never
   *  jumps with the wall clock); rates use the difference of two of these. */
  mono_ms: number;
  /** Wall-clock time of the same moment (ISO 8601). */
  taken_at: string;
  /** How long reading the counter files took, ms. */
  read_ms: number;
  netns: string | null;
  netns_inode: number | null;
  boot_id: string | null;
  qdiscs: QdiscCounters[];
}

export interface SamplerOptions {
  /** A namespace from `ip netns` (checked: exit 2 when unknown); null/absent: where we run. */
  netns?: string | null;
  /** How many samples the ring keeps (default 300). */
  ring?: number;
  /** Read the full Snapshot (sysctl, links, ethtool) at open (default true). */
  probeAtOpen?: boolean;
  /** Ask tc for the qdiscs' counters each sample (default true; --netns always runs the helper). */
  qdiscs?: boolean;
}

export interface Sampler {
  readonly netns: string | null;
  readonly ring: Ring<CounterSample>;
  /** Reads every counter now, keeps the sample in the ring and returns it. */
  sample(): Promise<CounterSample>;
  /** Rates between the newest sample `back` places back and the one before it. */
  rates(back?: number): Rates | undefined;
  /** The last full Snapshot (from open or snapshot()); null before the first. */
  base(): Snapshot | null;
  /** A full probe now (sysctl tree, links, ethtool, routes); becomes base(). */
  snapshot(): Promise<Snapshot>;
  close(): void;
}

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** A dead helper is started again at most this often (a tc that dies at once is not respawned in a loop). */
export const RESTART_EVERY_MS = 5000;

export async function openSampler(opts: SamplerOptions = {}): Promise<Sampler> {
  const netns = opts.netns ?? null;
  const ring = createRing<CounterSample>(opts.ring ?? 300);
  let holder: Holder | null = netns !== null || opts.qdiscs !== false ? await startHolder(netns) : null;
  let roots = netns !== null && holder ? rootsOf(holder.pid) : OWN_ROOTS;
  // The namespace opened: a helper that dies (killed, OOM) is started again in it, never in
  // another namespace that took its name meanwhile.
  const nsInode0 = netns !== null ? netnsInode(`${NETNS_DIR}/${netns}`) : null;
  let lastRestart = -Infinity;
  let reviving: Promise<void> | null = null;
  let closed = false;
  const revive = (): Promise<void> =>
    (reviving ??= (async () => {
      if (performance.now() - lastRestart < RESTART_EVERY_MS) return;
      if (netns !== null && netnsInode(`${NETNS_DIR}/${netns}`) !== nsInode0) return;
      lastRestart = performance.now();
      try {
        const h = await startHolder(netns);
        if (closed) return h.close(); // closed while it started: no helper outlives the sampler
        holder = h;
        if (netns !== null) roots = rootsOf(h.pid);
      } catch {
        // still dead: the sample says so below, the next attempt is RESTART_EVERY_MS later
      }
    })().finally(() => {
      reviving = null;
    }));
  const bootId = readBootId();
  // The counter files stay open between samples (src/probe/kept-files.ts): one pread each.
  const files = keptFiles();
  let seq = 0;
  let base: Snapshot | null = null;

  const snapshot = async (): Promise<Snapshot> => {
    base = netns !== null ? await probeInNetns(netns) : await probe({ netnsName: null });
    return base;
  };

  const sample = async (): Promise<CounterSample> => {
    if (holder && !holder.alive()) await revive();
    if (netns !== null && holder && !holder.alive()) throw environmentError(`network namespace ${netns}: the sampler's helper process inside it exited (was the namespace deleted?)`);
    // tc answers in its own process while this one reads the files.
    const qd = holder && opts.qdiscs !== false ? holder.qdiscs() : null;
    const t0 = performance.now();
    const wall = Date.now();
    const readings = readCounters(roots, files);
    files.sweep();
    const t1 = performance.now();
    const nsInode = netnsInode(`${roots.proc}/ns/net`);
    const q = qd ? await qd : { data: [], error: null };
    if (q.error) readings.errors.push({ section: 'qdiscs', source: 'tc -s -j qdisc show', message: q.error });
    const s: CounterSample = {
      schema: SAMPLE_SCHEMA,
      seq: ++seq,
      mono_ms: (t0 + t1) / 2,
      taken_at: new Date(wall + (t1 - t0) / 2).toISOString(),
      read_ms: t1 - t0,
      netns,
      netns_inode: nsInode,
      boot_id: bootId,
      ...readings,
      qdiscs: q.data,
    };
    ring.push(s);
    return s;
  };

  const sampler: Sampler = {
    netns,
    ring,
    sample,
    rates: (back = 0) => {
      const after = ring.latest(back);
      const before = ring.latest(back + 1);
      return after && before ? computeRates(before, after) : undefined;
    },
    base: () => base,
    snapshot,
    close: () => {
      closed = true;
      files.close();
      holder?.close();
    },
  };
  if (opts.probeAtOpen !== false) {
    try {
      await snapshot();
    } catch (err) {
      sampler.close();
      throw err;
    }
  }
  return sampler;
}

/** The Snapshot `base` with the counters of `s`: what the audit rule engine judges (two of these
 *  and the exact interval give it rates). Links keep base's facts with s's statistics (a device
 *  re-created in between shows counters that went down: the engine's reset rule gives no rate);
 *  devices that appeared after base was taken are not in it (take a new snapshot() for them). */
export function toSnapshot(base: Snapshot, s: CounterSample): Snapshot {
  return {
    ...base,
    taken_at: s.taken_at,
    counters: s.counters,
    conntrack: base.conntrack && s.conntrack ? { ...base.conntrack, count: s.conntrack.count, max: s.conntrack.max ?? base.conntrack.max, stats: s.conntrack.stats } : base.conntrack,
    links: base.links.map((l) => {
      const now = s.links[l.name];
      return now ? { ...l, statistics: now.statistics } : l;
    }),
    errors: s.errors,
  };
}
