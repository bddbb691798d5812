// The MPTCP plan-change kind: in-kernel path-manager endpoints and limits, set over netlink with
// `ip mptcp` (net.mptcp.enabled and the path manager are sysctls and stay sysctl changes).
//
// Value model (the transaction's: a target reads into a string or null = absent, and is written
// from one): an endpoint's target is its address; its value is what `ip mptcp endpoint show`
// prints after the address, in iproute2's order — `[port P] id N [signal] [subflow] [backup]
// [fullmesh] [dev IF]` — so `ip mptcp endpoint add ADDR VALUE` re-creates it exactly and
// write(read()) restores it. Limits are one target, `subflows N add_addr_accepted M`, the
// arguments of `ip mptcp limits set`. Pure functions only: src/apply/kind-mptcp.ts runs `ip`.
import { isIP } from 'node:net';
import { z } from 'zod';
import { ROUTE_ABSENT } from './multihomed-kinds.js';

export const mptcpChangeSchema = z.object({
  kind: z.literal('mptcp'),
  object: z.enum(['endpoint', 'limits']),
  /** The endpoint's address (canonical: IPv6 compressed, lower case); null for limits. */
  address: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string(),
});
export type MptcpChange = z.infer<typeof mptcpChangeSchema>;

export const mptcpTargetSchema = z.object({ kind: z.literal('mptcp'), object: z.enum(['endpoint', 'limits']), address: z.string().nullable() });
export type MptcpTarget = z.infer<typeof mptcpTargetSchema>;

/** An endpoint's wanted value that removes it (the removable kinds' one spelling, as for a route
 *  or rule: src/plan/multihomed-kinds.ts ROUTE_ABSENT). */
export const ENDPOINT_ABSENT = ROUTE_ABSENT;

/** The flags iproute2 6.1 sets and prints, in the kernel's bit order (include/uapi/linux/mptcp.h:
 *  MPTCP_PM_ADDR_FLAG_SIGNAL 1, SUBFLOW 2, BACKUP 4, FULLMESH 8, IMPLICIT 16). `implicit` is set
 *  by the kernel itself (an endpoint it created for a subflow), never by `ip mptcp endpoint add`. */
export const ENDPOINT_FLAGS = ['signal', 'subflow', 'backup', 'fullmesh', 'implicit'] as const;
export type EndpointFlag = (typeof ENDPOINT_FLAGS)[number];
/** The flags a user may give to `endpoint add` (ip-mptcp(8) FLAG). */
export const SETTABLE_FLAGS: readonly EndpointFlag[] = ['signal', 'subflow', 'backup', 'fullmesh'];
/** The flags `ip mptcp endpoint change` can switch in place (ip-mptcp(8) CHANGE-OPT). */
export const CHANGEABLE_FLAGS: readonly EndpointFlag[] = ['backup', 'fullmesh'];

/** The kernel's ceiling for both limits: MPTCP_PM_ADDR_MAX (net/mptcp/protocol.h, 8); the kernel
 *  refuses more with "limit greater than maximum (8)" (checked with iproute2 6.1 on 6.18). */
export const MPTCP_LIMIT_MAX = 8;
/** Endpoint ids are a u8; 0 is the initial subflow's address (net/mptcp/pm_netlink.c). */
export const MPTCP_ID_MAX = 255;

export interface Endpoint {
  address: string;
  id: number;
  port: number | null;
  flags: EndpointFlag[];
  dev: string | null;
}

export interface Limits {
  subflows: number;
  add_addr_accepted: number;
}

/** An address as iproute2 prints it (IPv4 dotted quad; IPv6 compressed, lower case), or null. */
export function canonicalAddress(text: string): string | null {
  const t = text.trim();
  if (isIP(t) === 4) return t;
  if (isIP(t) !== 6) return null;
  try {
    return new URL(`http://[${t}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
}

const sortFlags = (flags: Iterable<EndpointFlag>): EndpointFlag[] => {
  const set = new Set(flags);
  return ENDPOINT_FLAGS.filter((f) => set.has(f));
};

/** The value string of an endpoint (everything `ip mptcp endpoint show` prints after the address). */
export function endpointValue(e: Omit<Endpoint, 'address'>): string {
  return [...(e.port !== null ? ['port', String(e.port)] : []), 'id', String(e.id), ...sortFlags(e.flags), ...(e.dev !== null ? ['dev', e.dev] : [])].join(' ');
}

/** Reads a value string back; a string (the problem) when it is not one nettune writes. */
export function parseEndpointValue(value: string): Omit<Endpoint, 'address'> | string {
  const w = value.trim().split(/\s+/);
  const out: Omit<Endpoint, 'address'> = { id: 0, port: null, flags: [], dev: null };
  let id: number | null = null;
  for (let i = 0; i < w.length; i++) {
    const k = w[i] ?? '';
    if (k === 'id' || k === 'port') {
      const v = w[++i] ?? '';
      if (!/^\d{1,5}$/.test(v)) return `${k} needs a number, not ${JSON.stringify(v)}`;
      if (k === 'id') id = Number(v);
      else out.port = Number(v);
    } else if (k === 'dev') {
      const v = w[++i];
      if (v === undefined) return 'dev needs an interface name';
      out.dev = v;
    } else if ((ENDPOINT_FLAGS as readonly string[]).includes(k)) out.flags.push(k as EndpointFlag);
    else return `unknown word ${JSON.stringify(k)}`;
  }
  if (id === null) return 'no id';
  out.id = id;
  out.flags = sortFlags(out.flags);
  return out;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);

/** One row of `ip -j mptcp endpoint show` (iproute2 6.1: {address, id, port?, FLAG: true…, dev?}). */
export function endpointFromRow(row: unknown): Endpoint | null {
  if (typeof row !== 'object' || row === null) return null;
  const r = row as Record<string, unknown>;
  const address = typeof r.address === 'string' ? canonicalAddress(r.address) : null;
  const id = num(r.id);
  if (address === null || id === null) return null;
  return {
    address,
    id,
    port: num(r.port),
    flags: ENDPOINT_FLAGS.filter((f) => r[f] === true),
    dev: typeof r.dev === 'string' ? r.dev : null,
  };
}

export const endpointsFromRows = (rows: readonly unknown[]): Endpoint[] => rows.map(endpointFromRow).filter((e): e is Endpoint => e !== null);

/** `ip -j mptcp limits show`: iproute2 6.1 prints text (`add_addr_accepted 0 subflows 2`) even
 *  with -j, newer versions an object; the probe keeps either as one record. */
export function limitsFromRow(row: unknown): Limits | null {
  if (typeof row !== 'object' || row === null) return null;
  const r = row as Record<string, unknown>;
  const subflows = num(r.subflows);
  const add = num(r.add_addr_accepted);
  return subflows === null || add === null ? null : { subflows, add_addr_accepted: add };
}

export const limitsValue = (l: Limits): string => `subflows ${l.subflows} add_addr_accepted ${l.add_addr_accepted}`;

export function parseLimitsValue(value: string): Limits | string {
  const m = /^subflows (\d{1,3}) add_addr_accepted (\d{1,3})$/.exec(value.trim().replace(/\s+/g, ' '));
  return m ? { subflows: Number(m[1]), add_addr_accepted: Number(m[2]) } : `expected "subflows N add_addr_accepted M", not ${JSON.stringify(value)}`;
}

/** Problems with flags as ip-mptcp(8) and the kernel state them, or null. */
export function flagsProblem(flags: readonly EndpointFlag[], port: number | null): string | null {
  if (flags.includes('implicit')) return 'implicit is set by the kernel, not by ip mptcp endpoint add';
  // ip-mptcp(8): "fullmesh … can not be used with the signal flag"; the kernel says
  // "flags mustn't have both signal and fullmesh" (net/mptcp/pm_netlink.c).
  if (flags.includes('signal') && flags.includes('fullmesh')) return 'signal and fullmesh cannot be combined (ip-mptcp(8): fullmesh is for subflow endpoints)';
  // ip-mptcp(8): port "is only valid with the signal flag"; the kernel: "flags must have signal when using port".
  if (port !== null && !flags.includes('signal')) return 'a port is only valid on a signal endpoint';
  return null;
}

/** The `ip mptcp …` arguments that set a target (after `ip [-n NS]`). */
export function mptcpArgs(t: MptcpTarget, value: string): string[] {
  return t.object === 'limits' ? ['mptcp', 'limits', 'set', ...value.trim().split(/\s+/)] : ['mptcp', 'endpoint', 'add', t.address ?? '', ...value.trim().split(/\s+/)];
}

export const mptcpLabel = (t: MptcpTarget): string => (t.object === 'limits' ? 'mptcp limits' : `mptcp endpoint ${t.address ?? '?'}`);

/** The command a user would type. */
export function mptcpCommand(c: MptcpChange, netns: string | null): string {
  const ip = `ip ${netns ? `-n ${netns} ` : ''}`;
  if (c.object === 'endpoint' && c.to === ENDPOINT_ABSENT) {
    // ip mptcp endpoint delete takes the id (id 0 is the initial subflow's address, not an endpoint)
    const was = c.from === null ? null : parseEndpointValue(c.from);
    return `${ip}mptcp endpoint delete id ${was === null || typeof was === 'string' ? `<the id ip mptcp endpoint show gives ${c.address ?? '?'}>` : was.id}`;
  }
  return `${ip}${mptcpArgs({ kind: 'mptcp', object: c.object, address: c.address }, c.to).join(' ')}`;
}

/** A target's value as the Snapshot holds it (the probe's `ip -j mptcp` rows); undefined when the
 *  Snapshot has no MPTCP section to say (limits unreadable). */
export function mptcpLiveValue(snap: { mptcp: { endpoints: unknown[]; limits: unknown } }, t: MptcpTarget): string | null | undefined {
  if (t.object === 'limits') {
    const l = limitsFromRow(snap.mptcp.limits);
    return l ? limitsValue(l) : undefined;
  }
  const e = endpointsFromRows(snap.mptcp.endpoints).find((x) => x.address === t.address);
  return e ? endpointValue(e) : null;
}
