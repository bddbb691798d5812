// plan: from a Snapshot, a workload and a link to a list of changes, each with its reason. Intents
// compute targets; audit findings at warn or above contribute their fixes; nothing is proposed
// that would not change anything or that this kernel/namespace cannot take.
import { findEntry, validateSysctlValue } from '../catalog/index.js';
import { evaluate, severityRank } from '../rules/engine.js';
import { allRules } from '../rules/index.js';
import type { Snapshot } from '../snapshot/index.js';
import { INTENTS, type PlanParams } from './intents.js';
import { PLAN_SCHEMA, type Plan, type PlannedChange } from './schema.js';
import { planMptcp } from './mptcp.js';
import { routingSetKey, routingTarget } from './multihomed-kinds.js';
import { ifaceText } from './multihomed.js';

export { INTENTS, keepaliveFor, checkDeadPeer, DEAD_PEER_MIN_S, DEAD_PEER_MAX_S, BDP_BUFFER_FACTOR, type PlanParams } from './intents.js';

const changeKey = (c: PlannedChange): string =>
  c.kind === 'route' || c.kind === 'rule' ? routingSetKey(routingTarget(c)) : c.kind === 'sysctl' ? c.key : c.kind === 'ethtool' ? `ethtool:${c.device}:${c.group}:${c.setting}` : c.kind === 'nft' ? `nft:${c.family}:${c.table}` : c.kind === 'mptcp' ? `mptcp:${c.object}:${c.address ?? ''}` : `sysfs:${c.path}`;

export function buildPlan(snap: Snapshot, params: PlanParams, now = new Date()): Plan {
  const changes: PlannedChange[] = [];
  const skipped: Plan['skipped'] = [];
  const notes: string[] = [];
  const taken = new Set<string>();
  let conntrack: Plan['conntrack'];

  const accept = (c: PlannedChange): void => {
    const key = changeKey(c);
    if (taken.has(key)) return;
    if (c.kind === 'sysctl') {
      const entry = findEntry(c.key);
      if (!(c.key in snap.sysctl)) return void skipped.push({ key: c.key, reason: 'not present on this kernel/namespace', source: c.source });
      if (entry?.scope === 'global' && snap.netns.init === false)
        return void skipped.push({ key: c.key, reason: 'global knob: only the initial namespace can set it', source: c.source });
      const check = validateSysctlValue({ key: c.key, entry }, c.to, { sysctl: snap.sysctl, netnsInit: snap.netns.init, congestion: snap.congestion_control, cpus: snap.cpus.online });
      if (!check.ok) return void skipped.push({ key: c.key, reason: `proposed value rejected: ${check.problem}`, source: c.source });
      if (snap.sysctl[c.key] === c.to) return void skipped.push({ key: c.key, reason: `already ${c.to}`, source: c.source });
    }
    taken.add(key);
    changes.push(c);
  };

  for (const intent of INTENTS) {
    if (!intent.workloads.includes(params.workload)) continue;
    const r = intent.propose(snap, params);
    for (const p of r.proposals) accept({ ...p.change, reason: p.reason, source: `intent:${intent.name}` });
    for (const s of r.skipped) skipped.push({ ...s, source: `intent:${intent.name}` });
    notes.push(...r.notes);
    if (r.conntrack) conntrack = r.conntrack;
  }

  if (params.mptcp) {
    const r = planMptcp(snap, params.mptcp);
    for (const p of r.changes) accept({ ...p.change, reason: p.reason, source: 'intent:mptcp-paths' });
    notes.push(...r.notes.map((n) => `mptcp: ${n}`));
  }

  const audit = evaluate(allRules, { snap, workload: params.workload, link: params.link });
  for (const f of audit.findings) {
    if (severityRank(f.severity) < severityRank('warn')) continue;
    for (const c of f.fix.changes) accept({ ...c, reason: `${f.title}: ${f.message}`, source: `rule:${f.id}` });
  }

  // An intent may have passed over a key that an audit fix then changed: the change stands, the
  // "considered, not changed" line for it would contradict it.
  const changed = new Set(changes.map((c) => (c.kind === 'sysctl' ? c.key : changeKey(c))));
  return {
    ...emptyPlan(snap, now),
    workload: params.workload,
    link: params.link,
    params: { conns: params.conns, ...(params.conn_rate ? { conn_rate_per_s: params.conn_rate } : {}), ...(params.udp_rate ? { udp_rate_per_s: params.udp_rate } : {}), dead_peer_s: params.dead_peer_s, ...(params.nic?.length ? { nic: params.nic.join(',') } : {}), ...(params.udp_flow_hash ? { udp_flow_hash: 'on' } : {}), ...(params.ifaces?.length ? { ifaces: params.ifaces.map(ifaceText).join(' ') } : {}) },
    changes,
    skipped: skipped.filter((x) => !changed.has(x.key)),
    notes,
    ...(conntrack ? { conntrack: afterAccepted(conntrack, changes) } : {}),
  };
}

/** The figure's "after" as the plan stands: a max or bucket proposal the checks refused (a
 *  global knob in a child namespace, a value the validator rejected) leaves the table as it is. */
function afterAccepted(f: NonNullable<Plan['conntrack']>, changes: readonly PlannedChange[]): NonNullable<Plan['conntrack']> {
  const planned = (key: string): boolean => changes.some((c) => c.kind === 'sysctl' && c.key === key);
  const max = planned('net.netfilter.nf_conntrack_max') ? f.after.max : f.before.max;
  const buckets = planned('net.netfilter.nf_conntrack_buckets') ? f.after.buckets : f.before.buckets;
  if (max === f.after.max && buckets === f.after.buckets) return f;
  return { ...f, after: { max, buckets, bytes_full: max === null || buckets === null ? null : max * f.entry_bytes + buckets * f.bucket_bytes } };
}

/** A plan bound to the Snapshot's host with nothing in it yet (no workload). */
export function emptyPlan(snap: Snapshot, now = new Date()): Plan {
  return {
    schema: PLAN_SCHEMA,
    created_at: now.toISOString(),
    host: { hostname: snap.hostname, machine_id: snap.machine_id ?? null, kernel: snap.kernel.release, netns: snap.netns.name, snapshot_taken_at: snap.taken_at },
    workload: null,
    link: null,
    params: {},
    changes: [],
    skipped: [],
    notes: [],
  };
}
