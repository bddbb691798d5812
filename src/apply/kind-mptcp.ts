// The mptcp plan-change kind in the transaction: read, write, validate and persist MPTCP
// endpoints and limits (src/plan/mptcp-change.ts holds the value model). Everything runs through
// `ip [-n NS] mptcp …` with argument arrays; the transaction never knows more than read/write.
//
// Writing an endpoint: absent → `endpoint add ADDR VALUE`; present and differing only in the
// flags `endpoint change` can switch (backup, fullmesh) → `endpoint change id N [no]backup
// [no]fullmesh` (in place: no subflow is torn down); otherwise `endpoint delete id N` and add
// (the kernel cannot change an id, device, port, signal or subflow in place). null or `absent`
// (a plan change removing the endpoint) → delete; rollback re-adds the journaled value, id and all.
import { dirname, join } from 'node:path';
import {
  CHANGEABLE_FLAGS,
  type Endpoint,
  ENDPOINT_ABSENT,
  ENDPOINT_FLAGS,
  MPTCP_ID_MAX,
  MPTCP_LIMIT_MAX,
  type MptcpChange,
  type MptcpTarget,
  SETTABLE_FLAGS,
  canonicalAddress,
  endpointFromRow,
  endpointValue,
  endpointsFromRows,
  flagsProblem,
  limitsFromRow,
  limitsValue,
  mptcpArgs,
  mptcpLabel,
  parseEndpointValue,
  parseLimitsValue,
} from '../plan/mptcp-change.js';
import { parseWordPairs } from '../probe/commands.js';
import type { Snapshot } from '../snapshot/index.js';
import { IFNAME, validIfname, validNetns } from '../sys/names.js';
import { run } from '../sys/run.js';
import { requireTool } from '../sys/tools.js';
import { oneLine, renderOneshotUnit } from './persist.js';
import { parseExec, renderExec } from './systemd-exec.js';

async function ip(netns: string | null, args: string[]): Promise<string> {
  const r = await run(requireTool('ip'), [...(netns ? ['-n', validNetns(netns)] : []), ...args], { timeoutMs: 15_000 });
  if (!r.ok) throw new Error(r.stderr.trim().split('\n')[0] || r.error || `ip ${args.join(' ')} failed`);
  return r.stdout;
}

async function liveEndpoints(netns: string | null): Promise<Endpoint[]> {
  const text = await ip(netns, ['-j', 'mptcp', 'endpoint', 'show']);
  const rows = JSON.parse(text.trim() || '[]') as unknown;
  return Array.isArray(rows) ? endpointsFromRows(rows) : [];
}

/** The live value, or null (endpoint absent; limits on a kernel without MPTCP). */
export async function readMptcp(netns: string | null, t: MptcpTarget): Promise<string | null> {
  if (t.object === 'limits') {
    let text: string;
    try {
      text = await ip(netns, ['-j', 'mptcp', 'limits', 'show']);
    } catch {
      return null;
    }
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      row = parseWordPairs(text)?.[0]; // iproute2 6.1 prints text even with -j
    }
    const l = limitsFromRow(row);
    return l ? limitsValue(l) : null;
  }
  const e = (await liveEndpoints(netns)).find((x) => x.address === t.address);
  return e ? endpointValue(e) : null;
}

export async function writeMptcp(netns: string | null, t: MptcpTarget, value: string | null): Promise<void> {
  if (t.object === 'limits') {
    if (value === null) throw new Error('mptcp limits cannot be removed');
    const l = parseLimitsValue(value);
    if (typeof l === 'string') throw new Error(l);
    await ip(netns, mptcpArgs(t, limitsValue(l)));
    return;
  }
  const cur = (await liveEndpoints(netns)).find((x) => x.address === t.address);
  if (value === null || value === ENDPOINT_ABSENT) {
    if (cur) await ip(netns, ['mptcp', 'endpoint', 'delete', 'id', String(cur.id)]);
    return;
  }
  const want = parseEndpointValue(value);
  if (typeof want === 'string') throw new Error(`mptcp endpoint ${t.address ?? ''}: ${want}`);
  if (cur) {
    if (endpointValue(cur) === endpointValue(want)) return;
    const fixed = (e: Omit<Endpoint, 'address'>): string => endpointValue({ ...e, flags: e.flags.filter((f) => !CHANGEABLE_FLAGS.includes(f)) });
    if (fixed(cur) === fixed(want)) {
      const opts = CHANGEABLE_FLAGS.filter((f) => cur.flags.includes(f) !== want.flags.includes(f)).map((f) => (want.flags.includes(f) ? f : `no${f}`));
      await ip(netns, ['mptcp', 'endpoint', 'change', 'id', String(cur.id), ...opts]);
      return;
    }
    await ip(netns, ['mptcp', 'endpoint', 'delete', 'id', String(cur.id)]);
  }
  await ip(netns, mptcpArgs(t, endpointValue(want)));
}

export type MptcpVerdict = { change: MptcpChange } | { skip: string } | { error: string };

/** Checks one change against the Snapshot before the lock, and completes it: an endpoint gets the
 *  id it will have (its current one, else the lowest free), limits get the value not given. */
export function validateMptcp(c: MptcpChange, snap: Snapshot): MptcpVerdict {
  if (!('net.mptcp.enabled' in snap.sysctl)) return { error: `${c.object === 'limits' ? 'mptcp limits' : `mptcp endpoint ${c.address ?? ''}`}: this kernel has no MPTCP (no net.mptcp.enabled)` };
  const endpoints = endpointsFromRows(snap.mptcp.endpoints);
  if (c.object === 'limits') {
    // `subflows N` alone (from --set) keeps the live add_addr_accepted, and the reverse
    const live = limitsFromRow(snap.mptcp.limits);
    const given = parseWordPairs(c.to)?.[0] as Record<string, unknown> | undefined;
    const keys = Object.keys(given ?? {});
    if (!given || !keys.length || keys.some((k) => k !== 'subflows' && k !== 'add_addr_accepted') || Object.values(given).some((v) => typeof v !== 'number'))
      return { error: `mptcp limits: expected "subflows N add_addr_accepted M", not ${JSON.stringify(c.to)}` };
    const l = limitsFromRow({ ...live, ...given });
    if (!l) return { error: 'mptcp limits: give both subflows and add_addr_accepted (the Snapshot has no live limits)' };
    for (const [k, v] of Object.entries(l)) if (v > MPTCP_LIMIT_MAX) return { error: `mptcp limits: ${k} ${v} is above the kernel's maximum of ${MPTCP_LIMIT_MAX}` };
    const to = limitsValue(l);
    return live && limitsValue(live) === to ? { skip: `already ${to}` } : { change: { ...c, address: null, to } };
  }
  const address = canonicalAddress(c.address ?? '');
  if (address === null) return { error: `mptcp endpoint ${JSON.stringify(c.address)}: not an IPv4 or IPv6 address` };
  const label = `mptcp endpoint ${address}`;
  if (c.to === ENDPOINT_ABSENT) {
    const present = endpoints.find((e) => e.address === address);
    return present ? { change: { ...c, address, to: ENDPOINT_ABSENT } } : { skip: 'already absent' };
  }
  const v = parseEndpointValue(/\bid\b/.test(c.to) ? c.to : `id 0 ${c.to}`);
  if (typeof v === 'string') return { error: `${label}: ${v}` };
  const problem = flagsProblem(v.flags, v.port);
  if (problem) return { error: `${label}: ${problem}` };
  if (v.dev !== null && (!IFNAME.test(v.dev) || !snap.links.some((l) => l.name === v.dev))) return { error: `${label}: no device ${v.dev}` };
  if (v.port !== null && (v.port < 1 || v.port > 65535)) return { error: `${label}: port ${v.port} outside 1–65535` };
  const current = endpoints.find((e) => e.address === address);
  const explicitId = /\bid\b/.test(c.to);
  if (explicitId && (v.id < 1 || v.id > MPTCP_ID_MAX)) return { error: `${label}: id ${v.id} outside 1–${MPTCP_ID_MAX}` };
  if (explicitId) {
    const clash = endpoints.find((e) => e.id === v.id && e.address !== address);
    if (clash) return { error: `${label}: id ${v.id} is taken by ${clash.address}` };
  } else {
    const used = new Set(endpoints.filter((e) => e.address !== address).map((e) => e.id));
    let id = current?.id ?? 1;
    while (used.has(id) && id <= MPTCP_ID_MAX) id++;
    if (id > MPTCP_ID_MAX) return { error: `${label}: no free endpoint id` };
    v.id = id;
  }
  const to = endpointValue(v);
  if (current && endpointValue(current) === to) return { skip: `already ${to}` };
  return { change: { ...c, address, to } };
}

/** An endpoint on an address no interface of the namespace has, or null. The kernel accepts it
 *  (`ip mptcp endpoint add` checks only the grammar) but never uses it: the in-kernel path
 *  manager binds every subflow it opens from an endpoint to the endpoint's address first, and
 *  that bind fails (net/mptcp/subflow.c __mptcp_subflow_connect: kernel_bind; counted as MPTcpExt
 *  MPJoinSynTxBindErr), while a signal endpoint announces an address peers cannot reach. */
export function endpointAddressProblem(c: MptcpChange, snap: Snapshot): string | null {
  if (c.object !== 'endpoint' || c.address === null || c.to === ENDPOINT_ABSENT) return null;
  const six = c.address.includes(':');
  const here = snap.links.flatMap((l) => l.addresses.filter((a) => (a.family === 'inet6') === six).map((a) => ({ address: canonicalAddress(a.local), dev: l.name })));
  if (here.some((a) => a.address === c.address)) return null;
  const list = here.map((a) => `${a.address ?? '?'} (${a.dev})`);
  const where = snap.netns.name ? ` in ${snap.netns.name}` : '';
  return `mptcp endpoint ${c.address}: no interface${where} has this address (${six ? 'IPv6' : 'IPv4'} addresses here: ${list.slice(0, 8).join(', ') || 'none'}${list.length > 8 ? ', …' : ''}); the kernel accepts such an endpoint but it never creates a subflow: each subflow is bound to the endpoint's address and that bind fails (net/mptcp/subflow.c; MPTcpExt MPJoinSynTxBindErr)`;
}

/** The Snapshot's MPTCP rows once a validated change is written (the next change in the same
 *  apply is judged against them): the endpoint's row replaced, or the limits. */
export function mptcpAfter(m: Snapshot['mptcp'], c: MptcpChange): Snapshot['mptcp'] {
  if (c.object === 'limits') {
    const l = parseLimitsValue(c.to);
    return typeof l === 'string' ? m : { ...m, limits: { ...l } };
  }
  const e = parseEndpointValue(c.to);
  const others = m.endpoints.filter((r) => endpointFromRow(r)?.address !== c.address);
  if (typeof e === 'string') return { ...m, endpoints: others };
  const row: Record<string, unknown> = { address: c.address, id: e.id, ...(e.port !== null ? { port: e.port } : {}), ...Object.fromEntries(e.flags.map((f) => [f, true])), ...(e.dev !== null ? { dev: e.dev } : {}) };
  return { ...m, endpoints: [...others, row] };
}

/** Parses `--set mptcp:endpoint=ADDR[,id=N][,dev=IF][,port=P][,flags=F+F…][,FLAG…]`,
 *  `--set mptcp:endpoint=ADDR,absent` (removes it) and
 *  `--set mptcp:limits=subflows=N[,add_addr_accepted=M]` (a limit not given keeps its live value). */
export function parseMptcpSet(left: string, value: string, arg: string): MptcpChange | string {
  const usage = `--set ${arg}: expected mptcp:endpoint=ADDR[,id=N][,dev=IF][,port=P][,flags=${SETTABLE_FLAGS.join('+')}], mptcp:endpoint=ADDR,absent or mptcp:limits=subflows=N[,add_addr_accepted=M]`;
  // a control character is refused, not trimmed away; a setting given twice is refused, not last-wins
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) return `--set ${JSON.stringify(arg)}: a control character in the value`;
  const items = value.split(',').map((s) => s.trim());
  const twice = (k: string): string => `--set ${arg}: ${k} given twice`;
  if (left === 'mptcp:limits') {
    const got: Record<string, number> = {};
    for (const it of items) {
      const m = /^(subflows|add_addr_accepted)=(\d{1,3})$/.exec(it);
      if (!m?.[1]) return `${usage} (not ${JSON.stringify(it)})`;
      if (m[1] in got) return twice(m[1]);
      got[m[1]] = Number(m[2]);
    }
    return { kind: 'mptcp', object: 'limits', address: null, from: null, to: Object.entries(got).map(([k, v]) => `${k} ${v}`).join(' ') };
  }
  if (left !== 'mptcp:endpoint') return usage;
  const [address = '', ...rest] = items;
  // mptcp:endpoint=ADDR,absent removes the endpoint (as route…=absent removes a route)
  if (rest.includes(ENDPOINT_ABSENT)) {
    if (rest.length > 1) return `--set ${arg}: absent stands alone (mptcp:endpoint=ADDR,absent removes the endpoint)`;
    return { kind: 'mptcp', object: 'endpoint', address: canonicalAddress(address) ?? address, from: null, to: ENDPOINT_ABSENT };
  }
  const words: string[] = [];
  const seen = new Set<string>();
  for (const it of rest) {
    const m = /^(id|dev|port|flags)=(.+)$/.exec(it);
    if (!m) {
      if (!(ENDPOINT_FLAGS as readonly string[]).includes(it)) return `--set ${arg}: unknown endpoint setting or flag ${JSON.stringify(it)} (flags: ${SETTABLE_FLAGS.join(', ')})`;
      if (seen.has(it)) return twice(it);
      seen.add(it);
      words.push(it);
    } else if (m[1] === 'flags') {
      if (seen.has('flags')) return twice('flags');
      seen.add('flags');
      for (const f of (m[2] ?? '').split('+')) {
        if (!(SETTABLE_FLAGS as readonly string[]).includes(f)) return `--set ${arg}: unknown flag ${JSON.stringify(f)} (flags: ${SETTABLE_FLAGS.join(', ')})`;
        if (seen.has(f)) return twice(f);
        seen.add(f);
        words.push(f);
      }
    } else {
      if (seen.has(m[1] ?? '')) return twice(m[1] ?? '');
      seen.add(m[1] ?? '');
      words.push(m[1] ?? '', m[2] ?? '');
    }
  }
  return { kind: 'mptcp', object: 'endpoint', address: canonicalAddress(address) ?? address, from: null, to: words.join(' ') };
}

// ---- persistence: a oneshot unit that re-creates the limits and endpoints at boot -------------

/** MPTCP endpoints and limits live in the kernel's memory per namespace: nothing restores them at
 *  boot. nettune writes this unit (next to nettune-nic.service) and never enables it. */
export const MPTCP_UNIT_NAME = 'nettune-mptcp.service';
export const mptcpUnitPath = (persistFile: string): string => join(dirname(dirname(persistFile)), 'systemd', 'system', MPTCP_UNIT_NAME);
const IP = '/usr/sbin/ip';

export interface MptcpLine {
  /** namespace + target: a later line for the same target replaces it. */
  id: string;
  argv: string[];
  comment: string;
  /** limits first, then endpoints: an endpoint beyond a limit would be accepted but unused. */
  order: number;
  /** The endpoint was removed (value `absent`): its earlier line goes, none replaces it. */
  remove?: boolean;
}

/** One boot-time command; throws on anything validation should have refused. */
export function mptcpLine(t: MptcpTarget, value: string, netns: string | null, comment: string): MptcpLine {
  const ns = netns ? ['-n', validNetns(netns)] : [];
  if (t.object === 'limits') {
    const l = parseLimitsValue(value);
    if (typeof l === 'string') throw new Error(`refusing to persist mptcp limits: ${l}`);
    return { id: `${netns ?? ''} limits`, argv: [IP, ...ns, ...mptcpArgs(t, limitsValue(l))], comment: oneLine(comment), order: 0 };
  }
  const address = canonicalAddress(t.address ?? '');
  if (address !== null && value === ENDPOINT_ABSENT) return { id: `${netns ?? ''} endpoint ${address}`, argv: [], comment: oneLine(comment), order: 1, remove: true };
  const e = parseEndpointValue(value);
  if (address === null || typeof e === 'string') throw new Error(`refusing to persist ${mptcpLabel(t)} = ${JSON.stringify(value)}`);
  if (e.dev !== null) validIfname(e.dev);
  return { id: `${netns ?? ''} endpoint ${address}`, argv: [IP, ...ns, ...mptcpArgs({ ...t, address }, endpointValue(e))], comment: oneLine(comment), order: 1 };
}

/** The lines of a unit nettune wrote (others are reported as dropped). */
export function parseMptcpUnit(text: string | null): { lines: MptcpLine[]; dropped: string[] } {
  const out: { lines: MptcpLine[]; dropped: string[] } = { lines: [], dropped: [] };
  let comment = '';
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('# ')) comment = line.slice(2);
    const m = /^ExecStart=(.*)$/.exec(line);
    if (!m) continue;
    const p = parseExec(m[1] ?? '');
    let a = p.errors.length || p.notLiteral.length ? [] : p.argv;
    let netns: string | null = null;
    if (a[0] === IP && a[1] === '-n' && a[2] !== undefined) [netns, a] = [a[2], [IP, ...a.slice(3)]];
    let parsed: MptcpLine | null = null;
    try {
      if (a[0] === IP && a[1] === 'mptcp' && a[2] === 'limits' && a[3] === 'set') parsed = mptcpLine({ kind: 'mptcp', object: 'limits', address: null }, a.slice(4).join(' '), netns, comment);
      else if (a[0] === IP && a[1] === 'mptcp' && a[2] === 'endpoint' && a[3] === 'add' && a[4]) parsed = mptcpLine({ kind: 'mptcp', object: 'endpoint', address: a[4] }, a.slice(5).join(' '), netns, comment);
    } catch {
      parsed = null;
    }
    if (parsed) out.lines.push(parsed);
    else out.dropped.push(line);
    comment = '';
  }
  return out;
}

export function renderMptcpUnit(previous: readonly MptcpLine[], now: readonly MptcpLine[], tx: number, at: string): string {
  const ids = new Set(now.map((l) => l.id));
  const lines = [...previous.filter((l) => !ids.has(l.id)), ...now.filter((l) => !l.remove)].sort((a, b) => a.order - b.order);
  return renderOneshotUnit(
    tx,
    at,
    [
      '# MPTCP limits and endpoints (kernel memory only, lost at reboot). nettune does not enable this unit; to run it at boot:',
      `#   systemctl enable ${MPTCP_UNIT_NAME}`,
      '# net.mptcp.enabled and the path manager are sysctls: they are in the sysctl.d file.',
      '# Do not combine with NetworkManager mptcp-flags or mptcpd managing the same endpoints.',
    ],
    ['Description=nettune MPTCP limits and endpoints (ip mptcp)', 'After=network-online.target systemd-sysctl.service', 'Wants=network-online.target'],
    lines.flatMap((l) => [`# ${oneLine(l.comment)}`, `ExecStart=${renderExec(l.argv)}`]),
  );
}

/** The unit's text after these lines, or null when no line is left (every endpoint removed): a
 *  oneshot unit without ExecStart= is refused by systemd, so the file goes instead. */
export function mptcpUnitText(previous: readonly MptcpLine[], now: readonly MptcpLine[], tx: number, at: string): string | null {
  const ids = new Set(now.map((l) => l.id));
  const left = previous.filter((l) => !ids.has(l.id)).length + now.filter((l) => !l.remove).length;
  return left ? renderMptcpUnit(previous, now, tx, at) : null;
}
