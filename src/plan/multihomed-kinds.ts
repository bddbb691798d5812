// The `route` and `rule` plan-change kinds: their zod shapes (plan changes and journal targets),
// the grammar of their values (what `--set` and a plan file may say), and how they are named.
// The value model is the transaction's: a target reads into a canonical string (null = absent)
// and is written from one; 'absent' as a wanted value removes it. See src/probe/parse-routes.ts
// for the canonical text and src/apply/kind-route.ts for reading and writing it.
import { z } from 'zod';
import { canonicalAddress, defaultMetric, type Family, familyOfAddress, parsePrefix, type Prefix, prefixText, TABLE_IDS } from '../probe/parse-routes.js';

/** Wanted value that removes the route, or every rule at the priority. */
export const ROUTE_ABSENT = 'absent';

/** Interface names in routes and rules: a conservative subset of what the kernel allows, since
 *  they also land in networkd files and ifupdown's post-up lines (no shell metacharacters). */
export const ROUTE_IFNAME = /^[A-Za-z0-9_.@-]{1,15}$/;

const family = z.enum(['inet', 'inet6']);
const table = z.number().int().min(1).max(4294967295);
const metric = z.number().int().min(0).max(4294967295);
const priority = z.number().int().min(0).max(4294967295);

export const routeTargetSchema = z.object({ kind: z.literal('route'), family, table, dst: z.string(), metric });
export const ruleTargetSchema = z.object({ kind: z.literal('rule'), family, priority });
export type RouteTarget = z.infer<typeof routeTargetSchema>;
export type RuleTarget = z.infer<typeof ruleTargetSchema>;
export type RoutingTarget = RouteTarget | RuleTarget;

const value = { from: z.string().nullable(), to: z.string() };
export const routeChangeSchema = routeTargetSchema.extend(value);
export const ruleChangeSchema = ruleTargetSchema.extend(value);
export type RouteChange = z.infer<typeof routeChangeSchema>;
export type RuleChange = z.infer<typeof ruleChangeSchema>;
export type RoutingChange = RouteChange | RuleChange;

export const routingTarget = (c: RoutingChange): RoutingTarget =>
  c.kind === 'route' ? { kind: 'route', family: c.family, table: c.table, dst: c.dst, metric: c.metric } : { kind: 'rule', family: c.family, priority: c.priority };

/** "route 100 default" / "route 100 198.18.0.0/30 metric 5" / "rule 1000" (inet6: "route6", "rule6"). */
export function routingLabel(t: RoutingTarget): string {
  const six = t.family === 'inet6' ? '6' : '';
  if (t.kind === 'rule') return `rule${six} ${t.priority}`;
  const dst = t.dst === '0.0.0.0/0' || t.dst === '::/0' ? 'default' : t.dst;
  const dflt = t.family === 'inet' ? 0 : 1024;
  return `route${six} table ${t.table} ${dst}${t.metric !== dflt ? ` metric ${t.metric}` : ''}`;
}

/** The `--set` target spelling (apply --set, experiment set: arms). */
export function routingSetKey(t: RoutingTarget): string {
  const six = t.family === 'inet6' ? '6' : '';
  if (t.kind === 'rule') return `rule${six}:${t.priority}`;
  const dst = t.dst === '0.0.0.0/0' || t.dst === '::/0' ? 'default' : t.dst;
  return `route${six}:${t.table}:${dst}`;
}

// ---- value grammar ----------------------------------------------------------------------------

const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw']);
const SCOPES = new Set(['global', 'site', 'link', 'host', 'nowhere']);
const ACTIONS = new Set(['blackhole', 'unreachable', 'prohibit']);
const NUM = /^\d{1,10}$/;
/** iproute2's built-in protocol names (lib/rt_names.c; /etc/iproute2/rt_protos adds others: give those by number). */
const RT_PROTOS = new Set(['unspec', 'redirect', 'kernel', 'boot', 'static', 'gated', 'ra', 'mrt', 'zebra', 'bird', 'dnrouted', 'xorp', 'ntk', 'dhcp', 'keepalived', 'babel', 'openr', 'bgp', 'isis', 'ospf', 'rip', 'eigrp']);

/** The word after field `k` (taken off `w`); throws when the value is missing. */
function nextValue(w: string[], k: string): string {
  const x = w.shift();
  if (x === undefined) throw new Error(`${k} needs a value`);
  return x;
}

const addrOf = (a: string | undefined, f: Family, what: string): string => {
  if (a === undefined) throw new Error(`${what} needs an address`);
  if (familyOfAddress(a) !== f) throw new Error(`${what} ${a}: not an ${f === 'inet' ? 'IPv4' : 'IPv6'} address`);
  return canonicalAddress(a) as string;
};
const devOf = (d: string | undefined): string => {
  if (d === undefined || !ROUTE_IFNAME.test(d)) throw new Error(`dev ${d ?? ''}: not an interface name nettune writes routes for (letters, digits, _ . @ -; at most 15)`);
  return d;
};

export interface RouteValue {
  /** Canonical text (the order `ip route` takes its arguments). */
  text: string;
  tokens: string[];
  dev: string | null;
  /** Every device the route uses (its dev, or each nexthop's). */
  devs: string[];
  via: string | null;
  src: string | null;
  /** A `metric N` given in the value (moved into the target by --set). */
  metric: number | null;
  /** The gateways: the route's via/dev, or each nexthop's. */
  hops: { via: string | null; dev: string | null }[];
  onlink: boolean;
  /** The scope as written (canonical text). */
  scope: string;
}

/** Parses a route value (`via GW dev IF [proto P] [scope S] [src A] [onlink] [pref P]`, a leading
 *  type, or `nexthop …` groups) into the canonical text; throws with the first problem. Defaults
 *  are made explicit as `ip route` fills them: proto boot; scope link for a device route without
 *  a gateway, global otherwise. */
export function parseRouteValue(text: string, f: Family): RouteValue {
  const w = text.trim().split(/\s+/).filter(Boolean);
  if (!w.length) throw new Error('empty route');
  let type: string | null = null;
  if (ROUTE_TYPES.has(w[0] as string)) type = w.shift() as string;
  let via: string | null = null;
  let dev: string | null = null;
  let proto: string | null = null;
  let scope: string | null = null;
  let src: string | null = null;
  let onlink = false;
  let pref: string | null = null;
  let metric: number | null = null;
  const hops: string[][] = [];
  const seen = new Set<string>();
  while (w.length) {
    const k = w.shift() as string;
    // a field given twice is refused, not last-wins (ip takes the last; the user meant one of them)
    if (k !== 'nexthop' && seen.has(k)) throw new Error(`${k} given twice`);
    seen.add(k);
    const v = (): string => nextValue(w, k);
    if (k === 'via') via = addrOf(v(), f, 'via');
    else if (k === 'dev') dev = devOf(v());
    else if (k === 'proto') {
      proto = v();
      if (!(/^\d{1,3}$/.test(proto) ? Number(proto) <= 255 : RT_PROTOS.has(proto))) throw new Error(`proto ${proto}: a number 0–255 or one of iproute2's names (${[...RT_PROTOS].join(', ')})`);
    } else if (k === 'scope') {
      scope = v();
      if (!SCOPES.has(scope) && !(/^\d{1,3}$/.test(scope) && Number(scope) <= 255)) throw new Error(`scope ${scope}: global, site, link, host, nowhere or 0–255`);
      // the kernel keeps no scope on an IPv6 route: it ignores rtm_scope and reports every one as
      // global (net/ipv6/route.c, rt6_fill_node), so `scope link` would read back as global
      if (f === 'inet6' && scope !== 'global') throw new Error(`scope ${scope}: IPv6 routes have no scope (the kernel keeps and reports every one as global)`);
    } else if (k === 'src') src = addrOf(v(), f, 'src');
    else if (k === 'onlink') onlink = true;
    else if (k === 'pref') {
      pref = v();
      if (f !== 'inet6' || !['low', 'medium', 'high'].includes(pref)) throw new Error(`pref ${pref}: low, medium or high, IPv6 only`);
    } else if (k === 'metric') {
      const m = v();
      if (!NUM.test(m)) throw new Error(`metric ${m}: a number`);
      metric = Number(m);
    } else if (k === 'nexthop') {
      const hop: string[] = ['nexthop'];
      let weight = '1';
      while (w.length && w[0] !== 'nexthop') {
        const hk = w.shift() as string;
        const hv = w.shift();
        if (hk === 'via') hop.push('via', addrOf(hv, f, 'nexthop via'));
        else if (hk === 'dev') hop.push('dev', devOf(hv));
        else if (hk === 'weight' && hv !== undefined && /^\d{1,3}$/.test(hv) && Number(hv) >= 1 && Number(hv) <= 256) weight = hv;
        else throw new Error(`nexthop ${hk} ${hv ?? ''}: expected via ADDR, dev IF or weight 1-256`);
      }
      hops.push([...hop, 'weight', weight]);
    } else if (k === 'table') throw new Error('table belongs in the target (route:TABLE:DST), not in the value');
    else throw new Error(`${k}: not a route field nettune writes (via, dev, proto, scope, src, onlink, pref, metric, nexthop)`);
  }
  if (hops.length && (via || dev)) throw new Error('give either via/dev or nexthop groups, not both');
  if (!type || type === 'unicast') {
    if (!dev && !hops.length) throw new Error('a unicast route needs dev IF (or nexthop groups)');
  } else if (via || dev || hops.length) throw new Error(`a ${type} route has no gateway or device`);
  const scopeOut = scope ?? (f === 'inet6' || (type && type !== 'unicast') ? 'global' : via || hops.length ? 'global' : 'link');
  const tokens = [
    ...(type && type !== 'unicast' ? [type] : []),
    ...(via ? ['via', via] : []),
    ...(dev ? ['dev', dev] : []),
    'proto',
    proto ?? 'boot',
    'scope',
    scopeOut,
    ...(src ? ['src', src] : []),
    ...(onlink ? ['onlink'] : []),
    ...(pref ? ['pref', pref] : f === 'inet6' ? ['pref', 'medium'] : []),
    ...hops.flat(),
  ];
  const after = (h: readonly string[], k: string): string | null => (h.includes(k) ? (h[h.indexOf(k) + 1] ?? null) : null);
  return {
    text: tokens.join(' '),
    tokens,
    dev,
    devs: dev ? [dev] : hops.flatMap((h) => h.filter((_, i) => h[i - 1] === 'dev')),
    via,
    src,
    metric,
    hops: hops.length ? hops.map((h) => ({ via: after(h, 'via'), dev: after(h, 'dev') })) : [{ via, dev }],
    onlink,
    scope: scopeOut,
  };
}

export interface RuleValue {
  tokens: string[];
  text: string;
  lookup: number | null;
  from: string | null;
  iif: string | null;
}

/** A prefix a route's destination or a rule's selector names, or the problem: not a prefix of the
 *  family, or host bits set below its length (198.18.5.7/24). iproute2 on 6.18 refuses those for
 *  an IPv4 route (the kernel's fib_table_insert: "Invalid prefix for given prefix length"); for an
 *  IPv6 route the kernel masks them silently, and for a rule it keeps them and matches by the mask;
 *  either way what is written is not what was meant to be read, so nettune refuses them and names
 *  the network. A bare address is the host prefix; `default` the whole family. */
export function selectorPrefix(text: string, f: Family, what: string): Prefix | string {
  const p = parsePrefix(text, f);
  if (!p || p.family !== f) return `${what} ${text}: not an ${f === 'inet' ? 'IPv4' : 'IPv6'} prefix${f === 'inet' && text.includes(':') ? ' (IPv6 goes in route6:/rule6:)' : ''}`;
  const addr = text === 'default' ? p.network : canonicalAddress(text.split('/')[0] ?? '');
  if (addr !== p.network)
    return `${what} ${text}: host bits set below /${p.len}; did you mean ${prefixText(p)}? (${
      what === 'route' && f === 'inet' ? 'the kernel refuses it: "Invalid prefix for given prefix length"' : what === 'route' ? 'the kernel would silently mask them' : 'ip rule keeps them and matches by the mask only'
    })`;
  return p;
}

const prefixOf = (p: string | undefined, f: Family, what: string): string => {
  if (p === 'all') return 'all';
  const x = selectorPrefix(p ?? '', f, what);
  if (typeof x === 'string') throw new Error(x);
  return prefixText(x);
};
const hex = (v: string, what: string): string => {
  if (!/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(v) || Number(v) > 0xffffffff) throw new Error(`${what} ${v}: a 32-bit number`);
  return `0x${Number(v).toString(16)}`;
};

/** Parses one rule (`[not] from P [to P] [tos T] [fwmark M[/K]] [iif I] [oif O] lookup N|ACTION
 *  [suppress_prefixlength N]`, `table` accepted for `lookup`) into canonical text. */
export function parseRuleValue(text: string, f: Family): RuleValue {
  const w = text.trim().split(/\s+/).filter(Boolean);
  let not = false;
  let from = 'all';
  let to: string | null = null;
  let tos: string | null = null;
  let fwmark: string | null = null;
  let iif: string | null = null;
  let oif: string | null = null;
  let lookup: number | null = null;
  let action: string | null = null;
  let suppress: string | null = null;
  const seen = new Set<string>();
  while (w.length) {
    const k = w.shift() as string;
    const field = k === 'table' ? 'lookup' : k === 'dsfield' ? 'tos' : ACTIONS.has(k) ? 'action' : k;
    if (seen.has(field)) throw new Error(`${k} given twice`);
    seen.add(field);
    const v = (): string => nextValue(w, k);
    if (k === 'not') not = true;
    else if (k === 'from') from = prefixOf(v(), f, 'from');
    else if (k === 'to') to = prefixOf(v(), f, 'to');
    else if (k === 'tos' || k === 'dsfield') tos = hex(v(), 'tos');
    else if (k === 'fwmark') {
      const [m = '', mask] = v().split('/');
      fwmark = mask === undefined ? hex(m, 'fwmark') : `${hex(m, 'fwmark')}/${hex(mask, 'fwmark mask')}`;
    } else if (k === 'iif') iif = devOf(v());
    else if (k === 'oif') oif = devOf(v());
    else if (k === 'lookup' || k === 'table') {
      const t = v();
      const id = NUM.test(t) ? Number(t) : TABLE_IDS[t];
      if (id === undefined || id < 1 || id > 4294967295) throw new Error(`lookup ${t}: a table number (or main, local, default)`);
      lookup = id;
    } else if (ACTIONS.has(k)) action = k;
    else if (k === 'suppress_prefixlength') {
      const n = v();
      if (!/^\d{1,3}$/.test(n)) throw new Error(`suppress_prefixlength ${n}: a number`);
      suppress = n;
    } else if (k === 'priority' || k === 'pref' || k === 'preference') throw new Error('the priority belongs in the target (rule:PRIORITY), not in the value');
    else throw new Error(`${k}: not a rule field nettune writes (not, from, to, tos, fwmark, iif, oif, lookup, blackhole, unreachable, prohibit, suppress_prefixlength)`);
  }
  if ((lookup === null) === (action === null)) throw new Error('a rule needs exactly one of lookup TABLE or an action (blackhole, unreachable, prohibit)');
  const tokens = [
    ...(not ? ['not'] : []),
    'from',
    from,
    ...(to && to !== 'all' ? ['to', to] : []),
    ...(tos ? ['tos', tos] : []),
    ...(fwmark ? ['fwmark', fwmark] : []),
    ...(iif ? ['iif', iif] : []),
    ...(oif ? ['oif', oif] : []),
    ...(lookup !== null ? ['lookup', String(lookup)] : [action as string]),
    ...(suppress !== null ? ['suppress_prefixlength', suppress] : []),
  ];
  return { tokens, text: tokens.join(' '), lookup, from: from === 'all' ? null : from, iif };
}

/** Several rules at one priority, " ; "-separated, canonical and sorted (as read back). */
export function parseRulesValue(text: string, f: Family): RuleValue[] {
  const parts = text.split(';').map((s) => s.trim());
  if (parts.some((p) => !p)) throw new Error('empty rule between ";"');
  return parts.map((p) => parseRuleValue(p, f)).sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}

export const rulesText = (rules: readonly RuleValue[]): string => rules.map((r) => r.text).join(' ; ');

/** Canonical value of a wanted `to` (ROUTE_ABSENT stays as is); throws with the problem. */
export function canonicalWanted(c: RoutingChange): string {
  if (c.to === ROUTE_ABSENT) return ROUTE_ABSENT;
  return c.kind === 'route' ? parseRouteValue(c.to, c.family).text : rulesText(parseRulesValue(c.to, c.family));
}

/** `--set` for these kinds: route[6]:TABLE:DST=VALUE (DST a prefix or `default`; `metric N` in
 *  VALUE moves into the target) and rule[6]:PRIORITY=RULE[ ; RULE…]; VALUE `absent` removes. */
export function parseRoutingSet(left: string, value: string, arg: string): RoutingChange | string | null {
  const m = /^(route|rule)(6?):(.*)$/.exec(left);
  if (!m) return null;
  // a control character is refused, not taken as a blank
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) return `--set ${JSON.stringify(arg)}: a control character in the value`;
  const f: Family = m[2] === '6' ? 'inet6' : 'inet';
  const rest = m[3] as string;
  if (m[1] === 'rule') {
    if (!/^\d{1,10}$/.test(rest)) return `--set ${arg}: expected rule${m[2]}:PRIORITY=RULE (e.g. rule:1000=from 198.18.0.2 lookup 100)`;
    return { kind: 'rule', family: f, priority: Number(rest), from: null, to: value };
  }
  const colon = rest.indexOf(':');
  const t = rest.slice(0, colon);
  const dstText = rest.slice(colon + 1);
  const tid = /^\d{1,10}$/.test(t) ? Number(t) : TABLE_IDS[t];
  if (tid !== undefined && tid > 4294967295) return `--set ${arg}: table ${t} is above 4294967295 (a table id is 32 bits)`;
  if (colon <= 0 || tid === undefined || !dstText) return `--set ${arg}: expected route${m[2]}:TABLE:DST=VALUE (e.g. route:100:default=via 198.18.0.1 dev eth1)`;
  const p = selectorPrefix(dstText, f, 'route');
  if (typeof p === 'string') return `--set ${arg}: ${p}`;
  let metricN = f === 'inet' ? 0 : 1024;
  let to = value;
  if (value !== ROUTE_ABSENT) {
    try {
      const r = parseRouteValue(value, f);
      if (r.metric !== null) metricN = r.metric;
      to = r.text;
    } catch (err) {
      return `--set ${arg}: ${(err as Error).message}`;
    }
  }
  return { kind: 'route', family: f, table: tid, dst: prefixText(p), metric: metricN, from: null, to };
}

/** The command a user would type for the change. */
export function routingCommand(c: RoutingChange, netns: string | null = null): string {
  const n = netns ? `ip -n ${netns}` : 'ip';
  const f = c.family === 'inet6' ? ' -6' : '';
  if (c.kind === 'route') {
    const dst = c.dst === '0.0.0.0/0' || c.dst === '::/0' ? 'default' : c.dst;
    const metric = c.metric !== defaultMetric(c.family) ? ` metric ${c.metric}` : '';
    if (c.to === ROUTE_ABSENT) return `${n}${f} route del ${dst} table ${c.table}${metric}`;
    const v = parseRouteValue(c.to, c.family);
    const typed = ['blackhole', 'unreachable', 'prohibit', 'throw'].includes(v.tokens[0] ?? '');
    return `${n}${f} route replace ${typed ? `${v.tokens[0]} ` : ''}${dst} table ${c.table}${metric} ${(typed ? v.tokens.slice(1) : v.tokens).join(' ')}`.trimEnd();
  }
  if (c.to === ROUTE_ABSENT) return `${n}${f} rule del priority ${c.priority}`;
  return parseRulesValue(c.to, c.family)
    .map((r) => `${n}${f} rule add ${r.text} priority ${c.priority}`)
    .join(' && ');
}

