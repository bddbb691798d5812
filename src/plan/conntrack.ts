// Conntrack sizing for the connections workload: nf_conntrack_max and buckets from --conns (and
// the TIME_WAIT backlog --conn-rate adds), the kernel memory a full table costs on this kernel
// (the Snapshot's nf_conntrack slab size, before → after), and the per-protocol timeouts, each
// proposed only where the workload justifies it and never below the RFC floors.
import { CONNTRACK_ENTRY_BYTES_FALLBACK, entryCost, RFC5382_ESTABLISHED_MIN_S, tableBytes } from '../rules/conntrack.js';

export { bucketBytes, CONNTRACK_ENTRY_BYTES_FALLBACK, entryCost, tableBytes } from '../rules/conntrack.js';
import type { Snapshot } from '../snapshot/index.js';
import { formatBytes, formatCount, formatSeconds } from '../units/index.js';
import type { ConntrackFigure } from './schema.js';
import type { IntentResult, PlanParams, Proposal } from './intents.js';

/** Headroom over the expected entries, and the share of RAM a full table may take. */
export const CONNTRACK_HEADROOM = 1.25;
export const CONNTRACK_RAM_SHARE = 0.1;

/** RFC 5382 REQ-5: a NAT's "transitory connection idle-timeout" (a connection opening or closing:
 *  SYN_SENT, SYN_RECV, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT) MUST NOT be less than 4 minutes
 *  (2 × the 2-minute MSL of RFC 793). */
export const RFC5382_TRANSITORY_MIN_S = 240;
/** RFC 4787 REQ-5: a NAT UDP mapping timer MUST NOT expire in less than 2 minutes (REQ-5a allows
 *  less only for a specific well-known destination port, which these knobs are not). */
export const RFC4787_UDP_MIN_S = 120;
/** RFC 5508 REQ-2: an ICMP Query session timer MUST NOT expire in less than 60 seconds. */
export const RFC5508_ICMP_MIN_S = 60;
/** Linux TCP's own TIME_WAIT (include/net/tcp.h TCP_TIMEWAIT_LEN, 60 s: 2 × an MSL of 30 s): on a
 *  host that only tracks its own connections, the conntrack entry need not outlive the socket's. */
export const TCP_TIMEWAIT_LEN_S = 60;
/** A timeout change is proposed for memory only when it frees at least this share of the table. */
export const TIMEOUT_SAVING_MIN_SHARE = 0.1;

const CT = 'net.netfilter.';
const DOC = 'nf_conntrack-sysctl.rst';

const INT = /^\d+$/;
const intOf = (snap: Snapshot, key: string): number | null => {
  const v = snap.sysctl[key];
  return v !== undefined && INT.test(v) ? Number(v) : null;
};
const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
const n = (x: number): string => formatCount(Math.round(x));

/** Whether the host forwards or translates (a NAT gateway, a load balancer, a router): then the
 *  NAT RFCs' floors hold for every timeout; else only its own connections are tracked. */
export function conntrackRole(snap: Snapshot): { middlebox: boolean; why: string } {
  const why: string[] = [];
  if (snap.sysctl['net.ipv4.ip_forward'] === '1') why.push('net.ipv4.ip_forward=1');
  if (snap.sysctl['net.ipv6.conf.all.forwarding'] === '1') why.push('net.ipv6.conf.all.forwarding=1');
  const nat = (snap.nft?.tables ?? []).some((t) => t.chains.some((c) => c.type === 'nat' || c.rules.some((r) => r.nat)));
  if (nat) why.push('nft nat rules');
  return why.length ? { middlebox: true, why: why.join(', ') } : { middlebox: false, why: 'no forwarding and no nft nat rules' };
}

/** The per-protocol timeouts nettune considers, with their RFC floor on a middlebox. */
interface TimeoutSpec {
  key: string;
  /** Floor on a forwarding/NAT host, and the requirement it comes from. */
  floor_s: number;
  rfc: string;
  /** Why it is left alone when nothing else decides (the state or protocol it governs). */
  otherwise: string;
}

const TRANSITORY = `RFC 5382 REQ-5: transitory idle-timeout ≥ 4 min`;
const TIMEOUTS: readonly TimeoutSpec[] = [
  { key: 'tcp_timeout_syn_sent', floor_s: RFC5382_TRANSITORY_MIN_S, rfc: TRANSITORY, otherwise: 'connection attempts that saw only a SYN (scans, dead servers); they are not ASSURED, so early_drop evicts them first when the table fills, and a Linux client retries for 127 s (tcp_syn_retries=6)' },
  { key: 'tcp_timeout_syn_recv', floor_s: RFC5382_TRANSITORY_MIN_S, rfc: TRANSITORY, otherwise: 'half-open handshakes (SYN and SYN-ACK seen); not ASSURED, so evicted first when the table fills' },
  { key: 'tcp_timeout_fin_wait', floor_s: RFC5382_TRANSITORY_MIN_S, rfc: TRANSITORY, otherwise: 'connections after the first FIN; a normal close leaves this state within a round trip, only slow or broken closes stay, and the Snapshot does not count them' },
  { key: 'tcp_timeout_close_wait', floor_s: RFC5382_TRANSITORY_MIN_S, rfc: TRANSITORY, otherwise: 'half-closed connections waiting on their application; shortening breaks those that stay half-closed on purpose, and the Snapshot does not count them' },
  { key: 'udp_timeout', floor_s: RFC4787_UDP_MIN_S, rfc: 'RFC 4787 REQ-5: UDP mapping ≥ 2 min (REQ-5a: less only per well-known port)', otherwise: 'UDP flows that are not (yet) a stream, e.g. one DNS query and its answer' },
  { key: 'udp_timeout_stream', floor_s: RFC4787_UDP_MIN_S, rfc: 'RFC 4787 REQ-5: UDP mapping ≥ 2 min', otherwise: 'UDP streams (traffic both ways, active past 2 s: VPNs, QUIC, VoIP)' },
  { key: 'icmp_timeout', floor_s: RFC5508_ICMP_MIN_S, rfc: 'RFC 5508 REQ-2: ICMP query session ≥ 60 s', otherwise: 'ICMP echo and other queries' },
  { key: 'generic_timeout', floor_s: 0, rfc: 'no RFC floor', otherwise: 'layer-4 protocols without a tracker of their own (e.g. ESP), which the connections workload says nothing about' },
];

const documented = (snap: Snapshot, key: string, dflt: string | null): string => {
  const now = intOf(snap, key);
  return `${now === null ? '?' : `${now} s`} now${dflt !== null ? `, ${DOC} default ${dflt} s` : ''}`;
};

export interface ConntrackPlan extends IntentResult {
  figure: ConntrackFigure | null;
}

/** Conntrack sizing and timeouts for the connections intent. `defaults` gives the documented
 *  default of a key (the catalog), shown next to the live value. */
export function planConntrack(snap: Snapshot, p: PlanParams, defaults: (key: string) => string | null): ConntrackPlan {
  const out: ConntrackPlan = { proposals: [], skipped: [], notes: [], figure: null };
  const ct = snap.conntrack;
  if (!ct) {
    out.skipped.push({ key: `${CT}nf_conntrack_max`, reason: 'conntrack is not loaded' });
    return out;
  }
  const cost = entryCost(snap);
  const role = conntrackRole(snap);
  const set = (key: string, to: number, reason: string): Proposal => ({ change: { kind: 'sysctl', key, from: snap.sysctl[key] ?? null, to: String(to) }, reason });
  const rate = p.conn_rate ?? null;
  const twKey = `${CT}nf_conntrack_tcp_timeout_time_wait`;
  const twNow = intOf(snap, twKey);

  // TIME_WAIT: with a churn rate, Little's law gives its backlog: rate × timeout entries.
  let twAfter = twNow;
  if (twNow === null) out.skipped.push({ key: twKey, reason: 'not present on this kernel/namespace' });
  else if (rate === null) out.skipped.push({ key: twKey, reason: `no --conn-rate: the TIME_WAIT backlog (rate × ${twNow} s) is unknown (${documented(snap, twKey, defaults(twKey))})` });
  else {
    const floor = role.middlebox ? RFC5382_TRANSITORY_MIN_S : TCP_TIMEWAIT_LEN_S;
    const floorWhy = role.middlebox ? `this host forwards or translates (${role.why}): ${TRANSITORY}` : `only this host's own connections are tracked (${role.why}): its sockets keep TIME_WAIT for TCP_TIMEWAIT_LEN = 60 s (2 × an MSL of 30 s), and the entry need not outlive them`;
    const expected = (p.conns ?? 0) + rate * twNow;
    const saved = rate * (twNow - floor);
    const d = Number(defaults(twKey) ?? NaN);
    if (role.middlebox && twNow < d) {
      twAfter = d;
      out.proposals.push(set(twKey, d, `${twNow} s is below the ${DOC} default (${d} s) and ${TRANSITORY}; this host forwards or translates (${role.why}): back to ${d} s (TIME_WAIT then holds ${n(rate)}/s × ${d} s = ${n(rate * d)} entries, ${formatBytes(rate * d * cost.entry_bytes)})`));
    } else if (twNow <= floor) out.skipped.push({ key: twKey, reason: `${twNow} s is already at or below the floor of ${floor} s: ${floorWhy}; TIME_WAIT holds ${n(rate)}/s × ${twNow} s = ${n(rate * twNow)} entries (${formatBytes(rate * twNow * cost.entry_bytes)})` });
    else if (saved < TIMEOUT_SAVING_MIN_SHARE * expected) out.skipped.push({ key: twKey, reason: `lowering ${twNow} → ${floor} s would free ${n(saved)} of ${n(expected)} expected entries (< ${TIMEOUT_SAVING_MIN_SHARE * 100} %): not worth it` });
    else {
      twAfter = floor;
      out.proposals.push(
        set(
          twKey,
          floor,
          `Little's law: TIME_WAIT holds rate × timeout = ${n(rate)}/s × ${twNow} s = ${n(rate * twNow)} entries (${formatBytes(rate * twNow * cost.entry_bytes)}); at ${floor} s ${n(rate)} × ${floor} = ${n(rate * floor)} (${formatBytes(rate * floor * cost.entry_bytes)}), ${n(saved)} entries and ${formatBytes(saved * cost.entry_bytes)} less. Floor ${floor} s: ${floorWhy} (${documented(snap, twKey, defaults(twKey))})`,
        ),
      );
    }
  }

  // UDP flows (--udp-rate): one-shot flows (a DNS query and its answer) never become streams, so
  // each holds an entry for nf_conntrack_udp_timeout after its last packet: rate × timeout.
  const udpKey = `${CT}nf_conntrack_udp_timeout`;
  const udpTimeout = intOf(snap, udpKey);
  const udp =
    p.udp_rate != null && udpTimeout !== null
      ? { rate_per_s: p.udp_rate, timeout_s: udpTimeout, entries: p.udp_rate * udpTimeout, bytes: p.udp_rate * udpTimeout * cost.entry_bytes }
      : null;
  if (udp)
    out.notes.push(
      `UDP flows by Little's law: ${n(udp.rate_per_s)}/s × ${udp.timeout_s} s = ${n(udp.entries)} entries (${formatBytes(udp.bytes)}) while each one-shot flow waits out nf_conntrack_udp_timeout; flows that need neither NAT nor stateful filtering (DNS to a resolver on this host) can skip conntrack: plan --notrack udp:53`,
    );

  // nf_conntrack_max and buckets: the expected entries (established + the TIME_WAIT backlog) + headroom.
  const maxKey = `${CT}nf_conntrack_max`;
  const bucketsKey = `${CT}nf_conntrack_buckets`;
  const before = { max: ct.max, buckets: ct.buckets };
  const after = { ...before };
  const lifetime = p.conns !== null && rate !== null ? p.conns / rate : null;
  if (p.conns === null) out.skipped.push({ key: maxKey, reason: 'no --conns given' });
  else if (snap.netns.init === false) out.skipped.push({ key: maxKey, reason: 'global knob: set it in the initial namespace (read-only in a child namespace)' });
  else {
    const tw = rate !== null && twAfter !== null ? rate * twAfter : 0;
    const expected = p.conns + tw + (udp?.entries ?? 0);
    const wanted = nextPow2(Math.ceil(expected * CONNTRACK_HEADROOM));
    const perEntry = cost.entry_bytes + cost.bucket_bytes; // one bucket per entry
    const capByRam = nextPow2(Math.floor((snap.memory.total_bytes * CONNTRACK_RAM_SHARE) / perEntry)) / 2;
    const target = Math.min(wanted, capByRam);
    if (target < wanted) out.notes.push(`conntrack capped at ${n(target)} entries (≤ ${CONNTRACK_RAM_SHARE * 100} % of RAM at ${cost.entry_bytes} + ${cost.bucket_bytes} B per entry and bucket) instead of ${n(wanted)}`);
    const udpWhy = udp ? ` + UDP ${n(udp.rate_per_s)}/s × ${udp.timeout_s} s (nf_conntrack_udp_timeout) = ${n(udp.entries)}` : '';
    const why =
      rate !== null && twAfter !== null
        ? `Little's law: entries ≈ rate × (lifetime + TIME_WAIT) = ${n(rate)}/s × (${n(lifetime ?? 0)} s + ${twAfter} s) = ${n(p.conns)} established + ${n(tw)} in TIME_WAIT${udpWhy} = ${n(expected)}`
        : udp
          ? `${n(p.conns)} connections${udpWhy} (Little's law: rate × timeout) = ${n(expected)}`
          : `${n(p.conns)} connections`;
    const curMax = ct.max;
    const memo = (m: number, b: number): string => `${formatBytes(tableBytes(m, b, cost))} (${n(m)} × ${cost.entry_bytes} B + ${n(b)} × ${cost.bucket_bytes} B)`;
    if (curMax === null) out.skipped.push({ key: maxKey, reason: 'not readable' });
    else if (curMax >= target) out.skipped.push({ key: maxKey, reason: `already ${n(curMax)} (≥ ${n(target)} for ${why} + ${Math.round((CONNTRACK_HEADROOM - 1) * 100)} %)` });
    else {
      after.max = target;
      const b = Math.max(ct.buckets ?? 0, target);
      out.proposals.push(set(maxKey, target, `${why}, + ${Math.round((CONNTRACK_HEADROOM - 1) * 100)} % headroom → ${n(target)}; kernel memory when full: ${memo(curMax, ct.buckets ?? 0)} now → ${memo(target, b)}, at ${cost.label}`));
    }
    const curB = ct.buckets;
    if (curB === null) out.skipped.push({ key: bucketsKey, reason: 'not readable' });
    else if (curB >= target) out.skipped.push({ key: bucketsKey, reason: `already ${n(curB)} (≥ ${n(target)})` });
    else {
      after.buckets = target;
      out.proposals.push(set(bucketsKey, target, `one bucket per entry keeps chains short (the 5.15+ default ratio; each entry is hashed twice, so a chain averages 2 × max / buckets when full): ${n(curB)} → ${n(target)} buckets cost ${formatBytes(curB * cost.bucket_bytes)} → ${formatBytes(target * cost.bucket_bytes)} (${cost.bucket_bytes} B each: one hlist_nulls_head pointer, nf_conntrack_core.c), allocated at once, not when the table fills`));
    }
  }

  // Established: at least RFC 5382's 2 h 4 min (idle connections without keepalive must not lose
  // their state and NAT mapping while merely quiet); with keepalive the peer is declared dead far
  // sooner anyway. conntrack.established-timeout flags values below that.
  const estKey = `${CT}nf_conntrack_tcp_timeout_established`;
  const est = intOf(snap, estKey);
  const estTarget = p.dead_peer_s !== null ? Math.max(RFC5382_ESTABLISHED_MIN_S, p.dead_peer_s * 4) : 86400;
  if (est !== null && est > estTarget)
    out.proposals.push(set(estKey, estTarget, `idle established entries expire after ${formatSeconds(estTarget)} instead of ${formatSeconds(est)} (${documented(snap, estKey, defaults(estKey))}), so entries of peers that vanished without FIN or RST do not hold the table for days; never below RFC 5382 REQ-5's 2 h 4 min (${RFC5382_ESTABLISHED_MIN_S} s)`));
  else out.skipped.push({ key: estKey, reason: est === null ? 'not present' : `already ${est} s` });

  // The other timeouts: raised to the RFC floor on a forwarding/NAT host where someone set them
  // below both the floor and the documented default; otherwise left, saying what they govern.
  for (const t of TIMEOUTS) {
    const key = `${CT}nf_conntrack_${t.key}`;
    const now = intOf(snap, key);
    const dflt = defaults(key);
    const d = dflt !== null && INT.test(dflt) ? Number(dflt) : null;
    if (now === null) out.skipped.push({ key, reason: 'not present on this kernel/namespace' });
    else if (role.middlebox && now < t.floor_s && d !== null && now < d) {
      const to = Math.min(t.floor_s, d);
      out.proposals.push(set(key, to, `${now} s is below the ${DOC} default (${d} s) and ${t.rfc}; this host forwards or translates (${role.why}), so the flows it governs (${t.otherwise}) would lose their state and mapping sooner than the kernel intends: back to ${to} s`));
    } else {
      const rfc = role.middlebox ? (now < t.floor_s ? `; already below ${t.rfc}, never lowered further` : `; never below ${t.rfc}`) : '';
      out.skipped.push({ key, reason: `${documented(snap, key, dflt)}; it governs ${t.otherwise}${rfc}` });
    }
  }

  out.figure = {
    entry_bytes: cost.entry_bytes,
    entry_source: cost.entry_source,
    bucket_bytes: cost.bucket_bytes,
    before: { ...before, bytes_full: tableBytes(before.max, before.buckets, cost) },
    after: { ...after, bytes_full: tableBytes(after.max, after.buckets, cost) },
    churn:
      rate !== null && twNow !== null && twAfter !== null
        ? {
            conn_rate_per_s: rate,
            lifetime_s: lifetime,
            time_wait_before_s: twNow,
            time_wait_after_s: twAfter,
            time_wait_entries_before: rate * twNow,
            time_wait_entries_after: rate * twAfter,
            time_wait_bytes_before: rate * twNow * cost.entry_bytes,
            time_wait_bytes_after: rate * twAfter * cost.entry_bytes,
          }
        : null,
    ...(udp ? { udp } : {}),
  };
  if (cost.entry_source === 'fallback') out.notes.push(`conntrack memory is an estimate at ~${CONNTRACK_ENTRY_BYTES_FALLBACK} B per entry: the Snapshot has no nf_conntrack slab size (probe as root to read /sys/kernel/slab/nf_conntrack)`);
  out.notes.push('conntrack memory counts the nf_conntrack slab and the hash table; an entry with extensions (NAT, helper, accounting, timestamp, labels, events with a listener) also has one kmalloc block for them, at least 128 B (nf_conntrack_extend.c NF_CT_EXT_PREALLOC), on top');
  return out;
}
