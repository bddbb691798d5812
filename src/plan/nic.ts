// The NIC planner: receive/transmit steering and interrupt work for each NIC, from the Snapshot
// and the workload. RSS queue count (-L), indirection (-X), flow hashing (-N rx-flow-hash), RPS/XPS
// masks and RFS tables (the audit rules' own proposals, reused), rings (-G), coalescing presets
// (-C) and offloads (-K, the audit rule's). Every proposal respects what the device reports; what
// it cannot do is skipped with the reason. Knowledge is the table below; the mechanism applies it.
//
// Sources: Documentation/networking/scaling.rst (RSS: one queue per CPU; RPS redundant with a
// queue per CPU; RFS: rps_sock_flow_entries 32768 and rps_flow_cnt = entries / queues), ethtool(8)
// (-L, -X equal, -N rx-flow-hash letters, -G, -C adaptive-rx/rx-usecs, -K), the ethtool_rxfh
// indirection reset on channel changes (a table nobody configured follows the queue count).
import { FLOW_TYPES, flowHashLetters, indirFromTable, indirText, rxRings } from '../apply/kind-nic.js';
import { editDistance } from '../catalog/index.js';
import { buildContext } from '../rules/engine.js';
import { nicRules, PARAVIRT_DRIVERS } from '../rules/nic.js';
import type { Link, Snapshot } from '../snapshot/schema.js';
import { usageError } from '../sys/errors.js';
import type { Intent, IntentResult, PlanParams, Proposal } from './intents.js';
import type { PlanChange, Workload } from './types.js';

interface NicPreset {
  /** Raise RSS queues to min(CPUs, device max). */
  queues: boolean;
  /** Rings: raise rx and tx to the device maximum (bursts absorbed; more memory, more queueing). */
  ringsToMax: boolean;
  /** Coalescing preset. */
  coalesce: 'latency' | 'throughput' | null;
  /** Take the offload rule's proposals (TSO/GSO/GRO/checksums on where the device can). */
  offloads: boolean;
  /** RFS: steer flows to the CPU where their reader runs. */
  rfs: boolean;
}

export const NIC_PRESETS: Readonly<Record<Workload, NicPreset>> = {
  latency: { queues: true, ringsToMax: false, coalesce: 'latency', offloads: false, rfs: true },
  throughput: { queues: true, ringsToMax: true, coalesce: 'throughput', offloads: true, rfs: true },
  connections: { queues: true, ringsToMax: false, coalesce: null, offloads: true, rfs: true },
  balanced: { queues: true, ringsToMax: false, coalesce: null, offloads: true, rfs: false },
  /** multihomed is about routing (src/plan/multihomed.ts): the NIC intent does not run for it. */
  multihomed: { queues: false, ringsToMax: false, coalesce: null, offloads: false, rfs: false },
};

/** Latency preset: a fixed small timer. Bounds the wait of a lone packet to this many µs while
 *  still batching at high packet rates (0 would mean one interrupt per packet). Same value as the
 *  audit's fix for long timers (nic.coalesce-extremes), so plan and audit agree. */
export const LATENCY_RX_USECS = 8;
/** scaling.rst, RFS "Suggested Configuration": 32768 for a moderately loaded server. */
export const RFS_ENTRIES = 32768;
/** Flow hash for TCP: addresses and both ports, so flows between the same two hosts spread. */
export const TCP_HASH = 'sdfn';

const SCALING = 'scaling.rst';

const eth = (device: string, group: Extract<PlanChange, { kind: 'ethtool' }>['group'], setting: string, from: string | null, to: string): PlanChange => ({ kind: 'ethtool', device, group, setting, from, to });

/** Fails (exit 2, before planning) when `--nic` names a device the Snapshot does not have: the
 *  message lists the devices it has and the closest names. */
export function checkNicIn(snap: Snapshot, nic: readonly string[]): void {
  const names = snap.links.map((l) => l.name);
  const missing = nic.filter((d) => !names.includes(d));
  if (!missing.length) return;
  const close = (d: string): string[] => names.filter((n) => editDistance(d, n, 2) <= Math.max(1, Math.min(2, Math.floor(d.length / 3))));
  const hints = [...new Set(missing.flatMap(close))];
  const where = snap.netns.name ? ` in ${snap.netns.name}` : '';
  const mean = hints.length ? `did you mean ${hints.join(' or ')}? ` : '';
  throw usageError(`--nic: no device ${missing.join(', ')}${where} (${mean}the Snapshot has ${names.join(', ') || 'no devices'})`);
}

/** The devices the planner tunes: --nic names them, else every physical device ethtool answered for. */
function devices(snap: Snapshot, p: PlanParams, out: IntentResult): Link[] {
  if (p.nic?.length) {
    const found: Link[] = [];
    for (const name of p.nic) {
      const l = snap.links.find((x) => x.name === name);
      if (!l) out.skipped.push({ key: `nic:${name}`, reason: 'no such device in the Snapshot' });
      else if (!l.ethtool) out.skipped.push({ key: `nic:${name}`, reason: 'ethtool reported nothing for it' });
      else found.push(l);
    }
    return found;
  }
  return snap.links.filter((l) => l.physical && l.ethtool && l.name !== 'lo');
}

/** RSS queues: combined channels where the device has them, else rx (and tx) channels (veth). */
function queues(l: Link, cpus: number, out: IntentResult): { rings: number } {
  const ch = l.ethtool?.channels;
  const rings = rxRings(l);
  if (!ch) {
    out.skipped.push({ key: `ethtool:${l.name}:channels`, reason: 'the device reports no channels (ethtool -l not supported)' });
    return { rings };
  }
  const settings = (ch.max.combined ?? 0) > 0 ? ['combined'] : (ch.max.rx ?? 0) > 0 ? ['rx', 'tx'] : [];
  if (!settings.length) out.skipped.push({ key: `ethtool:${l.name}:channels`, reason: 'no adjustable rx or combined channels' });
  let after = rings;
  for (const s of settings) {
    const max = ch.max[s] ?? 0;
    const cur = ch.current[s] ?? 0;
    const other = s === 'combined' ? (ch.current.rx ?? 0) : s === 'rx' ? (ch.current.combined ?? 0) : (ch.current.combined ?? 0);
    const target = Math.min(max, cpus) - other;
    const key = `ethtool:${l.name}:channels:${s}`;
    if (target <= cur) {
      out.skipped.push({ key, reason: `already ${cur}${other ? ` (+${other})` : ''} of max ${max} with ${cpus} CPUs: nettune does not lower queue counts` });
      continue;
    }
    out.proposals.push({
      change: eth(l.name, 'channels', s, String(cur), String(target)),
      reason: `RSS: one ${s === 'tx' ? 'transmit' : 'receive'} queue per CPU (${cpus} online, device max ${max}) so ${s === 'tx' ? 'senders do not share queue locks' : 'receive interrupts and protocol work spread over the CPUs'} (${SCALING}, RSS); changing channels resets the device briefly on many drivers`,
    });
    if (s !== 'tx') after = target + other;
  }
  return { rings: after };
}

/** Indirection: after the queue count, the table must cover every queue. A table nobody configured
 *  follows the queue count by itself; a configured one that uses fewer queues gets `equal N`. */
function indirection(l: Link, rings: number, out: IntentResult): void {
  const key = `ethtool:${l.name}:indirection:table`;
  const table = l.ethtool?.rss?.indirection;
  if (!table) return void out.skipped.push({ key, reason: 'no RSS indirection table reported (ethtool -x not supported or one RX queue)' });
  const spec = indirFromTable(table, rxRings(l));
  if (!spec) return void out.skipped.push({ key, reason: 'the table is not one ethtool -X can rebuild (not default, equal or weight): left alone so it stays restorable' });
  const used = new Set(table).size;
  if (spec.mode === 'default' && rings === rxRings(l)) return void out.skipped.push({ key, reason: `the driver's default table already spreads over all ${rings} queues` });
  if (spec.mode === 'default')
    return void out.skipped.push({ key, reason: `the driver's default table (nobody configured it) is rebuilt for ${rings} queues when the channel count changes` });
  if (used >= rings) return void out.skipped.push({ key, reason: `${indirText(spec)} already uses all ${rings} queues` });
  out.proposals.push({
    change: eth(l.name, 'indirection', 'table', indirText(spec), `equal ${rings}`),
    reason: `the RSS indirection table (${indirText(spec)}) sends flows to ${used} of the ${rings} receive queues: equal ${rings} spreads them over all (${SCALING}, RSS Configuration)`,
  });
}

/** Flow hashing: TCP on addresses and ports; UDP only when asked (fragments). */
function flowHash(l: Link, p: PlanParams, out: IntentResult): void {
  const fh = l.ethtool?.flow_hash;
  for (const ft of FLOW_TYPES) {
    const udp = ft.startsWith('udp');
    if (!ft.startsWith('tcp') && !udp) continue;
    const key = `ethtool:${l.name}:flow-hash:${ft}`;
    const fields = fh?.[ft];
    if (!fields) {
      out.skipped.push({ key, reason: `the device does not report rx-flow-hash ${ft} (not supported, or one RX queue: no RSS)` });
      continue;
    }
    const now = flowHashLetters(fields);
    if (now === null) {
      out.skipped.push({ key, reason: `hashes on ${fields.length ? fields.join(', ') : 'nothing (None)'}, which ethtool -N cannot write back: left alone so it stays restorable` });
      continue;
    }
    if (now === TCP_HASH) {
      out.skipped.push({ key, reason: `already ${TCP_HASH}` });
      continue;
    }
    if (udp && !p.udp_flow_hash) {
      out.skipped.push({ key, reason: `hashed on ${now}; add --udp-flow-hash when many UDP flows share two hosts (QUIC, DNS, tunnels): ports in the hash spread them, but fragmented datagrams then split (only the first fragment has ports)` });
      continue;
    }
    out.proposals.push({
      change: eth(l.name, 'flow-hash', ft, now, TCP_HASH),
      reason: udp
        ? `${ft} hashed on ${now}: with the ports (sdfn) UDP flows between the same two hosts spread over the queues. Caveat: only the first fragment of a fragmented datagram carries the ports, so fragments of one datagram hash to different queues (reordering, reassembly across CPUs); use it only for traffic that is not fragmented`
        : `${ft} hashed on ${now}: all connections between the same two hosts land on one queue; with the ports (sdfn) they spread over the queues (ethtool(8) rx-flow-hash)`,
    });
  }
}

function rings(l: Link, preset: NicPreset, out: IntentResult): void {
  const r = l.ethtool?.rings;
  if (!r) return void out.skipped.push({ key: `ethtool:${l.name}:rings`, reason: 'no rings in the Snapshot (ethtool -g not supported; virtual devices are not asked)' });
  for (const s of ['rx', 'tx']) {
    const key = `ethtool:${l.name}:rings:${s}`;
    const max = r.max[s];
    const cur = r.current[s];
    if (max === null || max === undefined || cur === null || cur === undefined) out.skipped.push({ key, reason: 'not adjustable on this device' });
    else if (!preset.ringsToMax) out.skipped.push({ key, reason: `${cur} of max ${max} kept: a larger ring holds more packets in flight (queueing delay); raised for the throughput workload` });
    else if (cur >= max) out.skipped.push({ key, reason: `already the maximum ${max}` });
    else
      out.proposals.push({
        change: eth(l.name, 'rings', s, String(cur), String(max)),
        reason: `throughput: the ${s.toUpperCase()} ring to the device maximum (${cur} → ${max}) absorbs longer bursts before the NIC drops (ethtool(8) -G); costs memory and resets the device briefly on many drivers`,
      });
  }
}

function coalesce(l: Link, preset: NicPreset, out: IntentResult): void {
  const key = `ethtool:${l.name}:coalesce`;
  if (!preset.coalesce) return void out.skipped.push({ key, reason: 'left to the driver for this workload' });
  const c = l.ethtool?.coalesce;
  if (!c) return void out.skipped.push({ key, reason: 'no coalescing in the Snapshot (ethtool -c not supported; virtual devices are not asked)' });
  if (PARAVIRT_DRIVERS.has(l.driver ?? '')) return void out.skipped.push({ key, reason: `${l.driver}: interrupt moderation is negotiated with the hypervisor` });
  const adaptive = c['adaptive-rx'];
  const usecs = c['rx-usecs'];
  if (preset.coalesce === 'throughput') {
    if (typeof adaptive !== 'boolean') return void out.skipped.push({ key: `${key}:adaptive-rx`, reason: 'the driver has no adaptive moderation' });
    if (adaptive) return void out.skipped.push({ key: `${key}:adaptive-rx`, reason: 'already on' });
    out.proposals.push({ change: eth(l.name, 'coalesce', 'adaptive-rx', 'off', 'on'), reason: 'throughput preset: adaptive RX moderation lets the driver lengthen the interrupt delay as the packet rate grows (fewer interrupts per byte) and shorten it when idle (ethtool(8) -C adaptive-rx)' });
    const atx = c['adaptive-tx'];
    if (atx === false) out.proposals.push({ change: eth(l.name, 'coalesce', 'adaptive-tx', 'off', 'on'), reason: 'throughput preset: adaptive TX moderation, for the same reason on completions' });
    return;
  }
  if (adaptive === true)
    out.proposals.push({ change: eth(l.name, 'coalesce', 'adaptive-rx', 'on', 'off'), reason: `latency preset: adaptive moderation lengthens the delay under load exactly when requests queue; a fixed ${LATENCY_RX_USECS} µs timer bounds it` });
  if (typeof usecs !== 'number') return void out.skipped.push({ key: `${key}:rx-usecs`, reason: 'the device has no rx-usecs' });
  if (usecs <= LATENCY_RX_USECS && adaptive !== true) return void out.skipped.push({ key: `${key}:rx-usecs`, reason: `already ${usecs} µs (≤ ${LATENCY_RX_USECS})` });
  if (usecs !== LATENCY_RX_USECS)
    out.proposals.push({ change: eth(l.name, 'coalesce', 'rx-usecs', String(usecs), String(LATENCY_RX_USECS)), reason: `latency preset: a lone packet waits at most ${LATENCY_RX_USECS} µs for its interrupt (was ${usecs} µs); more interrupts at high packet rates` });
}

/** RFS: the global socket flow table and each receive queue's share of it. */
function rfs(snap: Snapshot, ls: readonly Link[], out: IntentResult): void {
  const key = 'net.core.rps_sock_flow_entries';
  const cur = Number(snap.sysctl[key] ?? NaN);
  if (Number.isNaN(cur)) return void out.skipped.push({ key, reason: snap.netns.init === false ? 'global knob: set RFS in the initial namespace' : 'not on this kernel (CONFIG_RPS off?)' });
  const entries = Math.max(cur, RFS_ENTRIES);
  if (cur < RFS_ENTRIES)
    out.proposals.push({ change: { kind: 'sysctl', key, from: String(cur), to: String(RFS_ENTRIES) }, reason: `RFS: a global table of ${RFS_ENTRIES} socket flows lets the kernel steer each flow to the CPU its reader last ran on (cache locality); ${SCALING} suggests ${RFS_ENTRIES} for a moderately loaded server` });
  for (const l of ls) {
    const per = Math.max(1, Math.ceil(entries / Math.max(1, l.rx_queues)));
    for (let q = 0; q < l.rx_queues; q++)
      out.proposals.push({
        change: { kind: 'sysfs', path: `/sys/class/net/${l.name}/queues/rx-${q}/rps_flow_cnt`, from: null, to: String(per) },
        reason: `RFS: queue rx-${q}'s flow table, rps_sock_flow_entries / ${l.rx_queues} queue${l.rx_queues === 1 ? '' : 's'} = ${per} (${SCALING}, RFS Configuration; the kernel rounds it up to a power of two)`,
      });
  }
}

/** The audit rules' own proposals (RPS for single-queue devices, XPS maps, offloads) for the
 *  planned devices, whatever their severity; named devices count as NICs for the rules. */
function ruleProposals(snap: Snapshot, ls: readonly Link[], workload: Workload, ids: readonly string[]): Proposal[] {
  const names = new Set(ls.map((l) => l.name));
  const view: Snapshot = { ...snap, links: snap.links.filter((l) => names.has(l.name)).map((l) => ({ ...l, physical: true })) };
  const ctx = buildContext({ snap: view, workload });
  const out: Proposal[] = [];
  for (const rule of nicRules.filter((r) => ids.includes(r.id))) {
    const hits = rule.check(ctx) ?? [];
    for (const hit of Array.isArray(hits) ? hits : [hits]) for (const change of hit.changes ?? []) out.push({ change, reason: `${hit.message} (rule ${rule.id})` });
  }
  return out;
}

export const nicIntent: Intent = {
  name: 'nic',
  workloads: ['latency', 'throughput', 'connections', 'balanced'],
  considers: `per NIC (physical, or --nic DEV): RSS queues (-L) to min(CPUs, max), indirection (-X equal N) where a configured table leaves queues out, rx-flow-hash ${TCP_HASH} for TCP (UDP with --udp-flow-hash), RPS/XPS (the audit rules), RFS tables, rings to max (throughput), coalescing presets (latency: adaptive off, ${LATENCY_RX_USECS} µs; throughput: adaptive on), offloads (the audit rule)`,
  propose(snap, p) {
    const out: IntentResult = { proposals: [], skipped: [], notes: [] };
    const preset = NIC_PRESETS[p.workload];
    const ls = devices(snap, p, out);
    if (!ls.length) return out;
    for (const l of ls) {
      const { rings: after } = preset.queues ? queues(l, snap.cpus.online, out) : { rings: rxRings(l) };
      indirection(l, after, out);
      flowHash(l, p, out);
      rings(l, preset, out);
      coalesce(l, preset, out);
    }
    out.proposals.push(...ruleProposals(snap, ls, p.workload, ['nic.rps-unset-single-queue', 'nic.xps-unset', ...(preset.offloads ? ['nic.offloads-off'] : [])]));
    if (preset.rfs && snap.cpus.online > 1) rfs(snap, ls, out);
    out.notes.push(
      `NIC settings (${ls.map((l) => l.name).join(', ')}) are persisted by \`apply --persist\` in the systemd unit nettune-nic.service next to the sysctl.d file (enable it to run at boot); \`export --format systemd\` also writes networkd .link files for rings, channels, coalescing and offloads — flow hashing and the indirection table have no .link setting and stay in the unit`,
    );
    return out;
  },
};
