// The MPTCP planner: from the Snapshot's links and addresses and a stated intent — which
// interfaces carry paths (`plan --mptcp-paths IF,IF[,…]`) and which end this host is
// (`--mptcp-role client|server`) — the changes the in-kernel path manager needs:
//   - net.mptcp.enabled=1, and the in-kernel path manager (net.mptcp.path_manager=kernel, or
//     pm_type=0 on kernels before 6.15) where another is selected;
//   - one endpoint per address of each path after the first (the first path carries the initial
//     subflow: an endpoint there adds nothing): `subflow` on a client (it opens a subflow from that
//     address to the server), `signal` on a server (it announces the address with ADD_ADDR so the
//     client joins it); each bound to its device (`dev IF`), so the subflow leaves by that path
//     without source routing (ip-mptcp(8));
//   - limits sufficient for them, never lowering a live one (kernel maximum 8).
// Why an explicit list and not a guessed "multipath" workload: which interfaces are disjoint
// paths (and which are management or storage networks that must stay out) is the operator's
// knowledge, not the Snapshot's; the role decides subflow vs signal. Both are stated once.
import { validateMptcp } from '../apply/kind-mptcp.js';
import type { Snapshot } from '../snapshot/index.js';
import { usageError } from '../sys/errors.js';
import { IFNAME } from '../sys/names.js';
import { canonicalAddress, endpointsFromRows, endpointValue, limitsFromRow, limitsValue, MPTCP_LIMIT_MAX } from './mptcp-change.js';
import type { PlanChange } from './types.js';

export const MPTCP_ROLES = ['client', 'server'] as const;
export type MptcpRole = (typeof MPTCP_ROLES)[number];

export interface MptcpIntent {
  paths: string[];
  role: MptcpRole;
}

export interface MptcpPlan {
  changes: { change: PlanChange; reason: string }[];
  notes: string[];
}

/** Parses --mptcp-paths (comma-separated interface names, at least two, each once). */
export function parseMptcpPaths(text: string): string[] {
  const paths = text.split(',').map((s) => s.trim()).filter(Boolean);
  const shown = JSON.stringify(text); // quoted: a newline in the argument stays inside the one-line message
  for (const p of paths) if (!IFNAME.test(p)) throw usageError(`--mptcp-paths ${shown}: ${JSON.stringify(p)} is not an interface name`);
  if (paths.length < 2) throw usageError(`--mptcp-paths ${shown}: name at least two interfaces (IF,IF), the first carrying the initial subflow`);
  if (new Set(paths).size !== paths.length) throw usageError(`--mptcp-paths ${shown}: an interface is named twice`);
  return paths;
}

export function planMptcp(snap: Snapshot, intent: MptcpIntent): MptcpPlan {
  const out: MptcpPlan = { changes: [], notes: [] };
  if (!('net.mptcp.enabled' in snap.sysctl)) throw usageError('--mptcp-paths: this kernel has no MPTCP (no net.mptcp.enabled in the Snapshot)');
  const addrs = intent.paths.map((name) => {
    const link = snap.links.find((l) => l.name === name);
    if (!link) throw usageError(`--mptcp-paths: no interface ${JSON.stringify(name)} in the Snapshot (${snap.links.map((l) => l.name).join(', ')})`);
    // loopback reaches no peer: a path through it carries no subflow to another host
    if (link.link_type === 'loopback' || link.flags.includes('LOOPBACK')) throw usageError(`--mptcp-paths: ${name} is the loopback device, not a path to a peer`);
    // global unicast addresses only: link-local ones cannot reach the peer's other path
    const a = link.addresses.filter((x) => (x.family === 'inet' || x.family === 'inet6') && !/^fe80:/i.test(x.local)).map((x) => canonicalAddress(x.local)).filter((x): x is string => x !== null);
    if (!a.length) throw usageError(`--mptcp-paths: ${name} has no IPv4 or global IPv6 address`);
    if (link.state.toUpperCase() === 'DOWN') out.notes.push(`${name} is down: its endpoints take effect once it is up`);
    return { name, addrs: a };
  });
  if (snap.sysctl['net.mptcp.enabled'] !== '1')
    out.changes.push({ change: { kind: 'sysctl', key: 'net.mptcp.enabled', from: snap.sysctl['net.mptcp.enabled'] ?? null, to: '1' }, reason: 'MPTCP sockets (IPPROTO_MPTCP) are refused while net.mptcp.enabled is 0' });
  const pm = snap.sysctl['net.mptcp.path_manager'];
  if (pm !== undefined && pm !== 'kernel') out.changes.push({ change: { kind: 'sysctl', key: 'net.mptcp.path_manager', from: pm, to: 'kernel' }, reason: `endpoints and limits drive the in-kernel path manager; "${pm}" ignores them` });
  else if (pm === undefined && snap.sysctl['net.mptcp.pm_type'] !== undefined && snap.sysctl['net.mptcp.pm_type'] !== '0')
    out.changes.push({ change: { kind: 'sysctl', key: 'net.mptcp.pm_type', from: snap.sysctl['net.mptcp.pm_type'] ?? null, to: '0' }, reason: 'endpoints and limits drive the in-kernel path manager (pm_type 0); the userspace one ignores them' });

  const live = endpointsFromRows(snap.mptcp.endpoints);
  const flag = intent.role === 'client' ? 'subflow' : 'signal';
  const [primary, ...extra] = addrs;
  out.notes.push(`${primary?.name ?? ''} carries the initial subflow (the address the connection starts from${intent.role === 'server' ? ' or is accepted on' : ''}); no endpoint is needed there`);
  let endpoints = 0;
  for (const p of extra)
    for (const address of p.addrs) {
      endpoints++;
      const current = live.find((e) => e.address === address);
      // keep a live endpoint's other flags (backup, fullmesh): the operator set them
      const keep = (current?.flags ?? []).filter((f) => f === 'backup' || (f === 'fullmesh' && flag === 'subflow'));
      const to = [flag, ...keep, 'dev', p.name].join(' ');
      out.changes.push({
        change: { kind: 'mptcp', object: 'endpoint', address, from: current ? endpointValue(current) : null, to },
        reason:
          intent.role === 'client'
            ? `a second path: the client opens an extra subflow from ${address} (${p.name}) to the server`
            : `a second path: the server announces ${address} (${p.name}) with ADD_ADDR so the client opens a subflow to it`,
      });
    }
  // A client opens one subflow per own endpoint plus one per address the server announces (and
  // accepts that many ADD_ADDRs); a server accepts a join per address it announces plus one per
  // extra address of the client. Without the peer's Snapshot, the peer is taken to have as many
  // extra paths as this host.
  const needSubflows = endpoints * 2;
  const needAccept = intent.role === 'client' ? endpoints : 0;
  const current = limitsFromRow(snap.mptcp.limits) ?? { subflows: 2, add_addr_accepted: 0 }; // kernel defaults (net/mptcp/pm_kernel.c)
  const want = { subflows: Math.min(MPTCP_LIMIT_MAX, Math.max(current.subflows, needSubflows)), add_addr_accepted: Math.min(MPTCP_LIMIT_MAX, Math.max(current.add_addr_accepted, needAccept)) };
  if (needSubflows > MPTCP_LIMIT_MAX) out.notes.push(`${needSubflows} subflows would be needed; the kernel allows at most ${MPTCP_LIMIT_MAX} per connection`);
  if (limitsValue(want) !== limitsValue(current))
    out.changes.push({
      change: { kind: 'mptcp', object: 'limits', address: null, from: limitsFromRow(snap.mptcp.limits) ? limitsValue(current) : null, to: limitsValue(want) },
      reason:
        intent.role === 'client'
          ? `${endpoints} own endpoint${endpoints === 1 ? '' : 's'} and as many addresses the server may announce: ${needSubflows} extra subflows, ${needAccept} ADD_ADDR accepted (the live limits would refuse them: MPTcpExt counters show it)`
          : `${endpoints} announced address${endpoints === 1 ? '' : 'es'} plus as many joins from the client's extra paths: ${needSubflows} extra subflows per connection`,
    });
  else out.notes.push(`the live limits (${limitsValue(current)}) already allow these paths`);
  // complete each endpoint/limits change as apply will (the endpoint's id; already-set ones dropped)
  out.changes = out.changes.flatMap((c) => {
    if (c.change.kind !== 'mptcp') return [c];
    const v = validateMptcp(c.change, snap);
    if ('change' in v) return [{ ...c, change: v.change }];
    out.notes.push('skip' in v ? `${c.change.object === 'limits' ? 'mptcp limits' : `mptcp endpoint ${c.change.address ?? ''}`}: ${v.skip}` : v.error);
    return [];
  });
  return out;
}
