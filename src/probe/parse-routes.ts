// Routes and policy rules as `ip -j route show` / `ip -j -N rule show` print them (iproute2 6.1),
// typed, and turned into the canonical value strings the `route` and `rule` plan-change kinds
// read and write. Pure: the probe, the multihomed planner and the apply stage's reader share it.
//
// A route's identity is (family, table, destination, metric) — what `ip route replace` matches
// on (tos is not modelled: nettune neither reads nor writes routes with a tos). Its value is the
// rest as `ip route` arguments in one fixed order, every field explicit (proto boot, scope
// global), so `write(read())` restores it exactly. A rule's identity is (family, priority); its
// value is every rule at that priority, each canonical, sorted, joined by " ; ".
// Fields this module does not model make the value `unmodeled`: the apply stage refuses to
// replace such a route or rule rather than restore it incompletely later.
import { isIP } from 'node:net';
import { z } from 'zod';

export type Family = 'inet' | 'inet6';

const str = z.string();
const num = z.number();
export const ipRouteSchema = z
  .object({
    type: str.optional(),
    dst: str,
    gateway: str.optional(),
    dev: str.optional(),
    protocol: str.optional(),
    scope: str.optional(),
    prefsrc: str.optional(),
    metric: num.optional(),
    table: z.union([str, num]).optional(),
    flags: z.array(str).optional(),
    pref: str.optional(),
    family: str.optional(),
    nexthops: z.array(z.object({ gateway: str.optional(), dev: str.optional(), weight: num.optional(), flags: z.array(str).optional() }).passthrough()).optional(),
  })
  .passthrough();
export type IpRoute = z.infer<typeof ipRouteSchema>;

export const ipRuleSchema = z
  .object({
    priority: num,
    src: str.optional(),
    srclen: num.optional(),
    dst: str.optional(),
    dstlen: num.optional(),
    not: z.null().optional(),
    tos: str.optional(),
    fwmark: str.optional(),
    fwmask: str.optional(),
    iif: str.optional(),
    oif: str.optional(),
    table: z.union([str, num]).optional(),
    action: str.optional(),
    suppress_prefixlength: num.optional(),
    family: str.optional(),
  })
  .passthrough();
export type IpRule = z.infer<typeof ipRuleSchema>;

const ROUTE_KEYS = new Set(['type', 'dst', 'gateway', 'dev', 'protocol', 'scope', 'prefsrc', 'metric', 'table', 'flags', 'pref', 'family', 'nexthops']);
const RULE_KEYS = new Set(['priority', 'src', 'srclen', 'dst', 'dstlen', 'not', 'tos', 'fwmark', 'fwmask', 'iif', 'oif', 'table', 'action', 'suppress_prefixlength', 'family', 'protocol', 'iif_detached', 'oif_detached']);
/** Route flags that are state, not configuration (the kernel sets them). */
const STATE_FLAGS = new Set(['linkdown', 'dead', 'offload', 'trap', 'offload_failed', 'rt_offload', 'rt_trap', 'rt_offload_failed']);

export const TABLE_IDS: Readonly<Record<string, number>> = { unspec: 0, default: 253, main: 254, local: 255 };
/** Tables the kernel or iproute2 own; nettune never writes routes into these. */
export const RESERVED_TABLES = new Set([0, 253, 254, 255]);
/** Rule priorities of the kernel's own three rules (local, main, default). */
export const RESERVED_PRIORITIES = new Set([0, 32766, 32767]);

export const familyOfAddress = (a: string): Family | null => (isIP(a) === 4 ? 'inet' : isIP(a) === 6 ? 'inet6' : null);
export const defaultMetric = (f: Family): number => (f === 'inet' ? 0 : 1024);
const hostLen = (f: Family): number => (f === 'inet' ? 32 : 128);

/** A table as a number ("100", 100, "main" → 254); null for a name from rt_tables we cannot map. */
export function tableId(t: string | number | undefined): number | null {
  if (t === undefined) return 254; // ip prints no table for main
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(t)) return Number(t);
  return TABLE_IDS[t] ?? null;
}

// ---- addresses and prefixes -------------------------------------------------------------------

function v4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}
function v6ToBig(a: string): bigint {
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4?.[1]) {
    const n = v4ToBig(v4[1]);
    s = `${s.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}
const toBig = (a: string, f: Family): bigint => (f === 'inet' ? v4ToBig(a) : v6ToBig(a));
function fromBig(n: bigint, f: Family): string {
  if (f === 'inet') return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  const g = [...Array(8).keys()].map((i) => ((n >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // the longest run of two or more zero groups becomes "::" (RFC 5952)
  let best = -1;
  let len = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > len && j - i >= 2) [best, len] = [i, j - i];
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + len).join(':')}`;
}

/** Canonical text of an address (IPv6 per RFC 5952); null when it is not one. */
export function canonicalAddress(a: string): string | null {
  const f = familyOfAddress(a);
  return f ? fromBig(toBig(a, f), f) : null;
}

export interface Prefix {
  family: Family;
  /** The network address (host bits cleared). */
  network: string;
  len: number;
}

/** "198.18.0.2/30" → {network 198.18.0.0, len 30}; "default" is 0.0.0.0/0 (or ::/0 with family
 *  inet6); a bare address is a host prefix. Null when not a prefix. */
export function parsePrefix(text: string, family: Family = 'inet'): Prefix | null {
  if (text === 'default') return { family, network: family === 'inet' ? '0.0.0.0' : '::', len: 0 };
  const [addr = '', len, extra] = text.split('/');
  if (extra !== undefined) return null;
  const f = familyOfAddress(addr);
  if (!f) return null;
  const max = hostLen(f);
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return null;
  const l = len === undefined ? max : Number(len);
  if (l > max) return null;
  const mask = l === 0 ? 0n : ((1n << BigInt(l)) - 1n) << BigInt(max - l);
  return { family: f, network: fromBig(toBig(addr, f) & mask, f), len: l };
}

export const prefixText = (p: Prefix): string => `${p.network}/${p.len}`;

/** fe80::/10: on every IPv6 link, so a gateway there needs no prefix of its own (RFC 4291 §2.5.6). */
export const LINK_LOCAL6: Prefix = { family: 'inet6', network: 'fe80::', len: 10 };

/** Whether an address lies inside a prefix (same family). */
export function prefixContains(p: Prefix, addr: string): boolean {
  const q = parsePrefix(`${addr}/${p.len}`);
  return q !== null && q.family === p.family && q.network === p.network;
}

/** The address part of "ADDR/LEN" with the host bits kept, or null. */
export const addressOf = (text: string): string | null => {
  const a = text.split('/')[0] ?? '';
  return familyOfAddress(a) ? canonicalAddress(a) : null;
};

// ---- canonical values --------------------------------------------------------------------------

export interface Canonical {
  value: string;
  /** Fields present that nettune does not model (the value would not restore them). */
  unmodeled: string[];
}

const extraKeys = (o: Record<string, unknown>, known: Set<string>): string[] => Object.keys(o).filter((k) => !known.has(k));

/** The identity of a route as ip printed it: its destination as a canonical prefix. */
export const routeDst = (r: IpRoute, family: Family): string | null => {
  const p = parsePrefix(r.dst, family);
  return p ? prefixText(p) : null;
};

/** A route's value: `[TYPE] [via GW] [dev DEV] proto P scope S [src A] [onlink] [pref P] [nexthop via GW dev DEV weight W …]`. */
export function canonicalRoute(r: IpRoute): Canonical {
  const unmodeled = extraKeys(r, ROUTE_KEYS);
  const out: string[] = [];
  if (r.type && r.type !== 'unicast') out.push(r.type);
  const flags = (r.flags ?? []).filter((f) => !STATE_FLAGS.has(f));
  if (!r.nexthops) {
    if (r.gateway) out.push('via', canonicalAddress(r.gateway) ?? r.gateway);
    if (r.dev) out.push('dev', r.dev);
  }
  out.push('proto', r.protocol ?? 'boot', 'scope', r.scope ?? 'global');
  if (r.prefsrc) out.push('src', canonicalAddress(r.prefsrc) ?? r.prefsrc);
  for (const f of flags) {
    if (f === 'onlink') out.push('onlink');
    else unmodeled.push(`flag ${f}`);
  }
  if (r.pref) out.push('pref', r.pref);
  // nexthop groups last: `ip route` reads everything after the first `nexthop` as hops
  for (const h of r.nexthops ?? []) {
    unmodeled.push(...extraKeys(h, new Set(['gateway', 'dev', 'weight', 'flags'])).map((k) => `nexthop ${k}`));
    out.push('nexthop', ...(h.gateway ? ['via', canonicalAddress(h.gateway) ?? h.gateway] : []), ...(h.dev ? ['dev', h.dev] : []), 'weight', String(h.weight ?? 1));
    for (const f of (h.flags ?? []).filter((x) => !STATE_FLAGS.has(x))) unmodeled.push(`nexthop flag ${f}`);
  }
  return { value: out.join(' '), unmodeled };
}

const withLen = (addr: string, len: number | undefined, family: Family): string => `${canonicalAddress(addr) ?? addr}/${len ?? hostLen(family)}`;

/** One rule's value (ip -N: tables as numbers): `[not] from P [to P] [tos T] [fwmark M[/K]] [iif I] [oif O] lookup N|ACTION [suppress_prefixlength N]`. */
/** FR_ACT_* (include/uapi/linux/fib_rules.h) as `ip -N rule` prints them, by name. */
const RULE_ACTIONS: Readonly<Record<string, string>> = { '6': 'blackhole', '7': 'unreachable', '8': 'prohibit' };

export function canonicalRule(r: IpRule, family: Family): Canonical {
  const unmodeled = extraKeys(r, RULE_KEYS);
  const out: string[] = [];
  if ('not' in r) out.push('not');
  out.push('from', !r.src || r.src === 'all' ? 'all' : withLen(r.src, r.srclen, family));
  if (r.dst && r.dst !== 'all') out.push('to', withLen(r.dst, r.dstlen, family));
  if (r.tos) out.push('tos', r.tos);
  if (r.fwmark) out.push('fwmark', r.fwmask ? `${r.fwmark}/${r.fwmask}` : r.fwmark);
  if (r.iif) out.push('iif', r.iif);
  if (r.oif) out.push('oif', r.oif);
  if (r.table !== undefined) {
    const t = tableId(r.table);
    out.push('lookup', t === null ? String(r.table) : String(t));
  } else if (r.action) out.push(RULE_ACTIONS[r.action] ?? r.action); // -N prints the action as a number
  if (r.suppress_prefixlength !== undefined && r.suppress_prefixlength >= 0) out.push('suppress_prefixlength', String(r.suppress_prefixlength));
  return { value: out.join(' '), unmodeled };
}

/** All rules at one priority as one value (sorted, " ; "-joined), null when there are none. */
export function rulesValue(rules: readonly Canonical[]): string | null {
  return rules.length ? rules.map((r) => r.value).sort().join(' ; ') : null;
}

// ---- reading a Snapshot's routes and rules -----------------------------------------------------

export interface RouteEntry {
  family: Family;
  table: number | null;
  table_name: string;
  dst: string;
  metric: number;
  value: Canonical;
}

export interface RuleEntry {
  family: Family;
  priority: number;
  value: Canonical;
  /** The table it looks up (a number; null for a name we cannot map, or an action rule). */
  lookup: number | null;
}

const famOf = (x: { family?: string }): Family => (x.family === 'inet6' ? 'inet6' : 'inet');

/** The Snapshot's `routes` (ip -j route show table all, both families, with `family` added). */
export function parseRoutes(json: readonly unknown[]): { routes: RouteEntry[]; problems: string[] } {
  const routes: RouteEntry[] = [];
  const problems: string[] = [];
  for (const [i, raw] of json.entries()) {
    const r = ipRouteSchema.safeParse(raw);
    if (!r.success) {
      problems.push(`routes[${i}]: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`.trim());
      continue;
    }
    const family = famOf(r.data);
    const dst = routeDst(r.data, family);
    if (!dst) continue; // multicast "ff00::/8" etc. parse; anything else is not a prefix we model
    routes.push({ family, table: tableId(r.data.table), table_name: String(r.data.table ?? 'main'), dst, metric: r.data.metric ?? defaultMetric(family), value: canonicalRoute(r.data) });
  }
  return { routes, problems };
}

/** The Snapshot's `rules` (ip -j rule show, both families, with `family` added). Tables may be
 *  names (the probe does not use -N): main/local/default map, other names give lookup null. */
export function parseRules(json: readonly unknown[]): { rules: RuleEntry[]; problems: string[] } {
  const rules: RuleEntry[] = [];
  const problems: string[] = [];
  for (const [i, raw] of json.entries()) {
    const r = ipRuleSchema.safeParse(raw);
    if (!r.success) {
      problems.push(`rules[${i}]: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`.trim());
      continue;
    }
    const family = famOf(r.data);
    rules.push({ family, priority: r.data.priority, value: canonicalRule(r.data, family), lookup: r.data.table === undefined ? null : tableId(r.data.table) });
  }
  return { rules, problems };
}
