// Workload intents: what each workload asks of the kernel, computed from the Snapshot and the
// stated link — not static values. Each intent proposes changes with a reason, or says why not.
import type { MptcpIntent } from './mptcp.js';
import { findEntry } from '../catalog/index.js';
import { planConntrack } from './conntrack.js';
import type { ConntrackFigure } from './schema.js';
import { KEEPALIVE_AGGRESSIVE_S, KEEPALIVE_SLOW_S } from '../rules/tcp.js';
import { BDP_BUFFER_FACTOR, bufferForBdp, LOSSY_BUFFER_FACTOR, MAX_SOCKET_BUFFER } from '../rules/buffers.js';
import type { Snapshot } from '../snapshot/index.js';
import { nicIntent } from './nic.js';
import { usageError } from '../sys/errors.js';
import { formatMs, formatRate, formatSeconds } from '../units/index.js';
import type { LinkSpec, PlanChange, Workload } from './types.js';
import { type IfaceSpec, proposeMultihomed } from './multihomed.js';

export interface PlanParams {
  workload: Workload;
  link: LinkSpec | null;
  /** Expected concurrent connections (--conns), for conntrack and port sizing. */
  conns: number | null;
  /** New connections per second (--conn-rate): the TIME_WAIT backlog by Little's law. */
  conn_rate?: number | null;
  /** New UDP flows per second (--udp-rate): their backlog at nf_conntrack_udp_timeout. */
  udp_rate?: number | null;
  /** Target time to declare a silent peer dead (--dead-peer), seconds. */
  dead_peer_s: number | null;
  /** NICs the NIC planner tunes (--nic); default: every physical device ethtool answered for. */
  nic?: readonly string[] | null;
  /** Hash UDP flows on ports too (--udp-flow-hash), with the fragmentation caveat. */
  udp_flow_hash?: boolean;
  /** --mptcp-paths / --mptcp-role: MPTCP endpoints and limits for these paths (src/plan/mptcp.ts). */
  mptcp?: MptcpIntent | null;
  /** --iface for the multihomed workload (src/plan/multihomed.ts). */
  ifaces?: IfaceSpec[] | null;
}

/** One proposal from an intent: a target value for a key (or another change), with its reason. */
export interface Proposal {
  change: PlanChange;
  reason: string;
}

export interface Skip {
  key: string;
  reason: string;
}

export interface IntentResult {
  proposals: Proposal[];
  skipped: Skip[];
  notes: string[];
  /** The conntrack table's memory, before → after (the connections intent). */
  conntrack?: ConntrackFigure;
}

export interface Intent {
  name: string;
  workloads: readonly Workload[];
  /** What it considers, for `nettune profiles`. */
  considers: string;
  propose(snap: Snapshot, p: PlanParams): IntentResult;
}

// Receive/send buffers must hold about twice the BDP: the kernel charges skb truesize (headers,
// slack) against the buffer, so roughly half of it can be advertised as window (tcp_adv_win_scale=1
// before 6.6; since 6.6 the ratio is measured per flow and is close to one half for 1500-byte
// MTUs). The size is computed once, by the audit rule's bufferForBdp, for both.
export { BDP_BUFFER_FACTOR, LOSSY_BUFFER_FACTOR, MAX_SOCKET_BUFFER } from '../rules/buffers.js';

const MIB = 1024 * 1024;
const fmtMiB = (b: number): string => `${Math.round((b / MIB) * 10) / 10} MiB`;

const INT = /^-?\d+$/;
const intOf = (snap: Snapshot, key: string): number | null => {
  const v = snap.sysctl[key];
  return v !== undefined && INT.test(v) ? Number(v) : null;
};
const vecOf = (snap: Snapshot, key: string): number[] | null => {
  const v = snap.sysctl[key];
  if (v === undefined) return null;
  const parts = v.split(' ');
  return parts.every((x) => INT.test(x)) ? parts.map(Number) : null;
};

const set = (snap: Snapshot, key: string, to: string, reason: string): Proposal => ({
  change: { kind: 'sysctl', key, from: snap.sysctl[key] ?? null, to },
  reason,
});

/** Raise-only proposal for an integer knob: never lowers what the kernel already allows. */
function atLeast(snap: Snapshot, key: string, target: number, reason: string, out: IntentResult): void {
  const cur = intOf(snap, key);
  if (cur === null) out.skipped.push({ key, reason: 'not present on this kernel/namespace' });
  else if (cur >= target) out.skipped.push({ key, reason: `already ${cur} (≥ ${target})` });
  else out.proposals.push(set(snap, key, String(target), reason));
}

const empty = (): IntentResult => ({ proposals: [], skipped: [], notes: [] });

const buffers: Intent = {
  name: 'buffers',
  workloads: ['throughput', 'balanced', 'latency', 'connections'],
  considers: `tcp_rmem/tcp_wmem max ≥ ${BDP_BUFFER_FACTOR} × BDP, ${LOSSY_BUFFER_FACTOR} × BDP with --loss (needs --link and --rtt), core rmem_max/wmem_max for SO_RCVBUF/SO_SNDBUF applications, tcp_mem against RAM`,
  propose(snap, p) {
    const out = empty();
    if (!p.link) {
      out.skipped.push({ key: 'net.ipv4.tcp_rmem', reason: 'no --link/--rtt: the BDP is unknown, buffers left as they are' });
      return out;
    }
    const bdp = p.link.bdp_bytes;
    // A lossy path needs room for the data behind each hole too (LOSSY_BUFFER_FACTOR, measured).
    const lossy = (p.link.loss_pct ?? 0) > 0;
    const factor = lossy ? LOSSY_BUFFER_FACTOR : BDP_BUFFER_FACTOR;
    const { target, capped } = bufferForBdp(bdp, factor);
    const why = lossy ? ` (${p.link.loss_pct} % loss: the receiver holds out-of-order data behind each hole and the sender keeps it for retransmission)` : '';
    if (capped) out.notes.push(`${factor} × BDP is ${fmtMiB(factor * bdp)}; buffers are capped at ${fmtMiB(MAX_SOCKET_BUFFER)} per socket — use parallel streams for the rest`);
    for (const key of ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']) {
      const v = vecOf(snap, key);
      if (!v || v.length !== 3) {
        out.skipped.push({ key, reason: 'not present or not three integers' });
        continue;
      }
      const max = v[2] ?? 0;
      if (max >= target) out.skipped.push({ key, reason: `max ${fmtMiB(max)} already ≥ ${factor} × BDP (${fmtMiB(factor * bdp)})` });
      else
        out.proposals.push(
          set(snap, key, `${v[0]} ${v[1]} ${target}`, `BDP ${fmtMiB(bdp)} (${formatRate(p.link.rate_bps)} × ${formatMs(p.link.rtt_s)}); max ${fmtMiB(max)} < ${factor} × BDP${why}, raised to ${fmtMiB(target)} (autotuning limit; min and default kept)`),
        );
    }
    for (const key of ['net.core.rmem_max', 'net.core.wmem_max']) {
      if (snap.netns.init === false) {
        out.skipped.push({ key, reason: 'global knob: set it in the initial namespace (read-only here)' });
        continue;
      }
      atLeast(snap, key, target, `applications that set ${key.endsWith('rmem_max') ? 'SO_RCVBUF' : 'SO_SNDBUF'} themselves are capped here (autotuning is not); ${fmtMiB(target)} lets them use a ${factor} × BDP buffer`, out);
    }
    const mem = vecOf(snap, 'net.ipv4.tcp_mem');
    if (mem && mem.length === 3) {
      const highBytes = (mem[2] ?? 0) * snap.memory.page_size;
      const streams = Math.floor(highBytes / target);
      out.notes.push(`tcp_mem high = ${fmtMiB(highBytes)} (${Math.round((highBytes / snap.memory.total_bytes) * 100)} % of RAM, in pages × ${snap.memory.page_size}): room for about ${streams} streams with full ${fmtMiB(target)} buffers at once`);
      if (streams < 4) out.notes.push('tcp_mem is small for buffers this size; raise it only if RAM allows (it is in pages, not bytes)');
    }
    return out;
  },
};

const congestion: Intent = {
  name: 'congestion-control',
  workloads: ['throughput', 'balanced'],
  considers: 'bbr for long or lossy paths when tcp_available_congestion_control offers it; explains when it does not',
  propose(snap, p) {
    const out = empty();
    const cc = snap.congestion_control;
    const longOrLossy = p.link ? p.link.rtt_s >= 0.02 || (p.link.loss_pct ?? 0) > 0 : p.workload === 'throughput';
    if (!longOrLossy) {
      out.skipped.push({ key: 'net.ipv4.tcp_congestion_control', reason: 'short, loss-free path: the current algorithm is fine' });
      return out;
    }
    if (cc.current === 'bbr') out.skipped.push({ key: 'net.ipv4.tcp_congestion_control', reason: 'already bbr' });
    else if (!cc.available.includes('bbr'))
      out.skipped.push({ key: 'net.ipv4.tcp_congestion_control', reason: `bbr is not available (available: ${cc.available.join(' ')}); modprobe tcp_bbr where the kernel ships it` });
    else if (snap.netns.init === false && !cc.allowed.includes('bbr'))
      out.skipped.push({ key: 'net.ipv4.tcp_congestion_control', reason: 'bbr is not in tcp_allowed_congestion_control, which a child namespace cannot change' });
    else
      out.proposals.push(
        set(snap, 'net.ipv4.tcp_congestion_control', 'bbr', `${p.link ? `${formatMs(p.link.rtt_s)} RTT${p.link.loss_pct ? `, ${p.link.loss_pct} % loss` : ''}` : 'throughput workload'}: loss-based ${cc.current ?? 'cubic'} backs off on every loss, bbr paces to the measured bottleneck`),
      );
    out.notes.push('default_qdisc is left alone: /proc does not show whether sch_fq or sch_fq_codel exist in this kernel; where they do, add --set net.core.default_qdisc=fq');
    return out;
  },
};

const latency: Intent = {
  name: 'latency',
  workloads: ['latency'],
  considers: 'busy_read/busy_poll, tcp_notsent_lowat, tcp_slow_start_after_idle, TCP Fast Open (with its caveat)',
  propose(snap) {
    const out = empty();
    for (const key of ['net.core.busy_read', 'net.core.busy_poll']) {
      if (snap.netns.init === false) out.skipped.push({ key, reason: 'global knob: set it in the initial namespace' });
      else atLeast(snap, key, 50, 'busy polling for 50 µs avoids interrupt-and-wake-up latency on sockets with data due; costs CPU; needs driver NAPI support', out);
    }
    const lowat = intOf(snap, 'net.ipv4.tcp_notsent_lowat');
    if (lowat !== null && lowat > 16384) out.proposals.push(set(snap, 'net.ipv4.tcp_notsent_lowat', '16384', 'keep unsent data in the socket small so a new message is not queued behind older bulk data'));
    else out.skipped.push({ key: 'net.ipv4.tcp_notsent_lowat', reason: lowat === null ? 'not present' : `already ${lowat}` });
    if (intOf(snap, 'net.ipv4.tcp_slow_start_after_idle') === 1)
      out.proposals.push(set(snap, 'net.ipv4.tcp_slow_start_after_idle', '0', 'long-lived connections keep their congestion window across idle gaps instead of slow-starting every burst'));
    else out.skipped.push({ key: 'net.ipv4.tcp_slow_start_after_idle', reason: 'already 0' });
    const tfo = intOf(snap, 'net.ipv4.tcp_fastopen');
    if (tfo !== null && (tfo & 3) !== 3)
      out.proposals.push(set(snap, 'net.ipv4.tcp_fastopen', String(tfo | 3), 'client and server Fast Open save one RTT on repeat connections; only listeners that set TCP_FASTOPEN use it, and only idempotent requests should (SYN data can be replayed)'));
    else out.skipped.push({ key: 'net.ipv4.tcp_fastopen', reason: tfo === null ? 'not present' : 'client and server already on' });
    return out;
  },
};

/** --dead-peer targets keepalive alone can meet without tripping the audit: the first probe no
 *  sooner than tcp.keepalive-aggressive accepts (60 s idle) plus 3 probes, and no later than
 *  tcp.keepalive-slow accepts (30 min). */
export const DEAD_PEER_MIN_S = KEEPALIVE_AGGRESSIVE_S + 3;
export const DEAD_PEER_MAX_S = KEEPALIVE_SLOW_S;

/** Refuses a dead-peer target outside [DEAD_PEER_MIN_S, DEAD_PEER_MAX_S], saying why (exit 2). */
export function checkDeadPeer(seconds: number, flag = '--dead-peer'): number {
  if (seconds < DEAD_PEER_MIN_S)
    throw usageError(`${flag} ${seconds} s: keepalive needs at least ${DEAD_PEER_MIN_S} s (${KEEPALIVE_AGGRESSIVE_S} s idle before the first probe, then 3 probes)`, 'for faster failure detection use TCP_USER_TIMEOUT or application heartbeats');
  if (seconds > DEAD_PEER_MAX_S) throw usageError(`${flag} ${seconds} s: at most ${DEAD_PEER_MAX_S} s (${formatSeconds(DEAD_PEER_MAX_S)}); longer is what the kernel default (7875 s) already does`);
  return seconds;
}

/** Keepalive triple for a target dead-peer time: time + intvl × probes = target, 3 probes, half
 *  the budget idle before the first probe but never less than KEEPALIVE_AGGRESSIVE_S. */
export function keepaliveFor(deadPeerS: number): { time: number; intvl: number; probes: number } {
  const probes = 3;
  const time = Math.min(Math.max(KEEPALIVE_AGGRESSIVE_S, Math.round(deadPeerS / 2)), Math.max(1, deadPeerS - probes));
  const intvl = Math.max(1, Math.floor((deadPeerS - time) / probes));
  return { time: deadPeerS - intvl * probes, intvl, probes };
}


const connections: Intent = {
  name: 'connections',
  workloads: ['connections'],
  considers: 'somaxconn, tcp_max_syn_backlog, netdev_max_backlog (from softnet drops), ip_local_port_range, tcp_tw_reuse, conntrack max/buckets (from --conns, the TIME_WAIT backlog of --conn-rate, the slab size and RAM) with the memory a full table costs, and per-protocol timeouts (established, TIME_WAIT by Little\'s law; never below RFC 5382/4787/5508 floors on forwarding or NAT hosts), keepalive (from --dead-peer)',
  propose(snap, p) {
    const out = empty();
    const overflows = snap.counters.netstat.TcpExt?.ListenOverflows ?? 0;
    const backlog = overflows > 0 ? 65535 : 16384;
    atLeast(snap, 'net.core.somaxconn', backlog, `caps every listen() backlog; ${overflows > 0 ? `${overflows} listen overflows since boot` : 'room for connect bursts'} (the application must also pass a large backlog)`, out);
    atLeast(snap, 'net.ipv4.tcp_max_syn_backlog', backlog, 'half-open connections per listener when SYN cookies are off', out);
    const dropped = snap.counters.softnet.reduce((n, r) => n + r.dropped, 0);
    const nmb = intOf(snap, 'net.core.netdev_max_backlog');
    if (snap.netns.init === false) out.skipped.push({ key: 'net.core.netdev_max_backlog', reason: 'global knob: set it in the initial namespace' });
    else if (dropped > 0 && nmb !== null) atLeast(snap, 'net.core.netdev_max_backlog', Math.max(nmb * 2, 16384), `${dropped} packets dropped at the per-CPU input backlog since boot`, out);
    else out.skipped.push({ key: 'net.core.netdev_max_backlog', reason: 'no softnet drops seen' });
    const range = vecOf(snap, 'net.ipv4.ip_local_port_range');
    const tw = snap.counters.sockstat.TCP?.tw ?? 0;
    if (range && range.length === 2) {
      const size = (range[1] ?? 0) - (range[0] ?? 0) + 1;
      const need = Math.max(p.conns ?? 0, tw * 2);
      if (need > size * 0.5 && (range[0] !== 1024 || range[1] !== 65535))
        out.proposals.push(
          set(snap, 'net.ipv4.ip_local_port_range', '1024 65535', `${size} ephemeral ports: too few if a good part of ${need} connections (or TIME-WAIT sockets) go out to one destination address and port, as from a proxy; list services listening in the range in ip_local_reserved_ports`),
        );
      else out.skipped.push({ key: 'net.ipv4.ip_local_port_range', reason: `${size} ports are enough for ${need}` });
    }
    if (intOf(snap, 'net.ipv4.tcp_timestamps') === 0) out.skipped.push({ key: 'net.ipv4.tcp_tw_reuse', reason: 'needs tcp_timestamps=1' });
    else if (intOf(snap, 'net.ipv4.tcp_tw_reuse') !== 1)
      out.proposals.push(set(snap, 'net.ipv4.tcp_tw_reuse', '1', 'outgoing connections may reuse TIME-WAIT ports when timestamps prove the new segments are newer (safe; unlike the removed tcp_tw_recycle)'));
    else out.skipped.push({ key: 'net.ipv4.tcp_tw_reuse', reason: 'already 1' });

    if (p.dead_peer_s !== null) {
      const ka = keepaliveFor(p.dead_peer_s);
      for (const [key, v] of [
        ['net.ipv4.tcp_keepalive_time', ka.time],
        ['net.ipv4.tcp_keepalive_intvl', ka.intvl],
        ['net.ipv4.tcp_keepalive_probes', ka.probes],
      ] as const) {
        if (intOf(snap, key) === v) out.skipped.push({ key, reason: `already ${v}` });
        else out.proposals.push(set(snap, key, String(v), `dead peer declared after ${ka.time} + ${ka.intvl} × ${ka.probes} = ${ka.time + ka.intvl * ka.probes} s (target ${p.dead_peer_s} s) on SO_KEEPALIVE sockets`));
      }
    } else out.skipped.push({ key: 'net.ipv4.tcp_keepalive_time', reason: 'no --dead-peer target given' });

    const ct = planConntrack(snap, p, (key) => findEntry(key)?.default ?? null);
    out.proposals.push(...ct.proposals);
    out.skipped.push(...ct.skipped);
    out.notes.push(...ct.notes);
    if (ct.figure) out.conntrack = ct.figure;
    return out;
  },
};

const multihomed: Intent = {
  name: 'multihomed',
  workloads: ['multihomed'],
  considers: 'per --iface source address: its own routing table (connected prefix, default via its gateway) and an ip rule from ADDR; rp_filter loose where strict; arp_filter/arp_ignore/arp_announce where two interfaces share a subnet',
  propose: (snap, p) => proposeMultihomed(snap, p.ifaces ?? []),
};

export const INTENTS: readonly Intent[] = [buffers, congestion, latency, connections, nicIntent, multihomed];
