// The `route` and `rule` kinds on the live system: read (ip -j), write (ip, one call per
// command, argument arrays), validate against the Snapshot before the lock, and the command a
// user would type. A route is read with `ip -j route show table N exact DST metric M`; the rules
// at a priority with `ip -j -N rule show priority P` (-N: tables as numbers). Values are the
// canonical text of src/probe/parse-routes.ts, so rollback's write(before) restores exactly: a
// route that did not exist is deleted, a replaced one re-added as it was.
import {
  canonicalWanted,
  parseRouteValue,
  parseRulesValue,
  ROUTE_ABSENT,
  type RouteTarget,
  type RouteValue,
  type RoutingChange,
  type RoutingTarget,
  routingLabel,
  routingTarget,
  type RuleTarget,
  selectorPrefix,
} from '../plan/multihomed-kinds.js';
import { canonicalRoute, canonicalRule, ipRouteSchema, ipRuleSchema, LINK_LOCAL6, parsePrefix, parseRoutes, parseRules, type Prefix, prefixContains, prefixText, RESERVED_PRIORITIES, rulesValue } from '../probe/parse-routes.js';
import type { Snapshot } from '../snapshot/index.js';
import { run } from '../sys/run.js';
import { requireTool } from '../sys/tools.js';

const fam = (f: RoutingTarget['family']): string => (f === 'inet' ? '-4' : '-6');

async function ip(netns: string | null, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const r = await run(requireTool('ip'), [...(netns ? ['-n', netns] : []), ...args], { timeoutMs: 15_000 });
  return { ok: r.ok, stdout: r.stdout, stderr: r.stderr.trim() || r.error || '' };
}

async function ipOrThrow(netns: string | null, args: string[]): Promise<string> {
  const r = await ip(netns, args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.stderr.split('\n')[0]}`);
  return r.stdout;
}

const parseJsonArray = (text: string, what: string): unknown[] => {
  const t = text.trim();
  if (!t) return [];
  const v = JSON.parse(t) as unknown;
  if (!Array.isArray(v)) throw new Error(`${what}: ip printed no JSON array`);
  return v;
};

async function readRoute(netns: string | null, t: RouteTarget): Promise<string | null> {
  const r = await ip(netns, ['-j', fam(t.family), 'route', 'show', 'table', String(t.table), 'exact', t.dst, 'metric', String(t.metric)]);
  if (!r.ok) {
    if (/FIB table does not exist/.test(r.stderr)) return null; // no route in that table yet
    throw new Error(`${routingLabel(t)}: ${r.stderr.split('\n')[0]}`);
  }
  const rows = parseJsonArray(r.stdout, routingLabel(t))
    .map((x) => ipRouteSchema.parse(x))
    // `metric M` in the query makes ip leave the field out of each row (iproute2 prints no field
    // its filter fixed), so a row without one has the asked metric; with one, it must match
    .filter((x) => (x.metric ?? t.metric) === t.metric && !('tos' in x));
  if (!rows.length) return null;
  if (rows.length > 1) throw new Error(`${routingLabel(t)}: ${rows.length} routes match (different types); nettune changes only a single route`);
  const c = canonicalRoute(rows[0] as (typeof rows)[number]);
  if (c.unmodeled.length) throw new Error(`${routingLabel(t)}: has ${c.unmodeled.join(', ')}, which nettune does not model; it would not restore them, so it leaves this route alone`);
  return c.value;
}

async function readRules(netns: string | null, t: RuleTarget): Promise<string | null> {
  const out = await ipOrThrow(netns, ['-j', '-N', fam(t.family), 'rule', 'show', 'priority', String(t.priority)]);
  const rows = parseJsonArray(out, routingLabel(t)).map((x) => ipRuleSchema.parse(x)).filter((x) => x.priority === t.priority);
  const values = rows.map((x) => canonicalRule(x, t.family));
  const unmodeled = values.flatMap((v) => v.unmodeled);
  if (unmodeled.length) throw new Error(`${routingLabel(t)}: a rule there has ${unmodeled.join(', ')}, which nettune does not model; it leaves this priority alone`);
  return rulesValue(values);
}

/** The live value of a route or of the rules at a priority (canonical), null when absent. */
export function readRouting(netns: string | null, t: RoutingTarget): Promise<string | null> {
  return t.kind === 'route' ? readRoute(netns, t) : readRules(netns, t);
}

/** Writes a route (replace) or the rules at a priority (the ones there are deleted, the wanted
 *  ones added); null or 'absent' removes. */
export async function writeRouting(netns: string | null, t: RoutingTarget, value: string | null): Promise<void> {
  const absent = value === null || value === ROUTE_ABSENT;
  if (t.kind === 'route') {
    const id = ['table', String(t.table), 'metric', String(t.metric)];
    if (absent) {
      if ((await readRoute(netns, t)) !== null) await ipOrThrow(netns, [fam(t.family), 'route', 'del', t.dst, ...id]);
      return;
    }
    const v = parseRouteValue(value, t.family);
    const [first, ...rest] = v.tokens;
    const typed = first && ['blackhole', 'unreachable', 'prohibit', 'throw'].includes(first);
    await ipOrThrow(netns, [fam(t.family), 'route', 'replace', ...(typed ? [first] : []), t.dst, ...id, ...(typed ? rest : v.tokens)]);
    return;
  }
  const wanted = absent ? [] : parseRulesValue(value, t.family);
  const prio = String(t.priority);
  const present = await readRules(netns, t);
  const count = present === null ? 0 : present.split(' ; ').length;
  for (let i = 0; i < count; i++) await ipOrThrow(netns, [fam(t.family), 'rule', 'del', 'priority', prio]);
  for (const r of wanted) await ipOrThrow(netns, [fam(t.family), 'rule', 'add', ...r.tokens, 'priority', prio]);
}

/** What the Snapshot says the target holds (the same canonical text as a live read); undefined
 *  when the Snapshot cannot tell (a route or rule it holds in a form nettune does not model). */
export function snapshotRouting(snap: Snapshot, t: RoutingTarget): string | null | undefined {
  if (t.kind === 'route') {
    const hits = parseRoutes(snap.routes).routes.filter((r) => r.family === t.family && r.table === t.table && r.dst === t.dst && r.metric === t.metric);
    if (!hits.length) return null;
    return hits.length === 1 && !hits[0]?.value.unmodeled.length ? hits[0]?.value.value : undefined;
  }
  const hits = parseRules(snap.rules).rules.filter((r) => r.family === t.family && r.priority === t.priority);
  if (hits.some((h) => h.value.unmodeled.length || /lookup [^\d\s]/.test(h.value.value))) return undefined;
  return rulesValue(hits.map((h) => h.value));
}

/** A route validated earlier in the same apply (its connected routes count for later gateways). */
export interface EarlierRoute {
  family: RoutingTarget['family'];
  table: number;
  dst: string;
  to: string;
}

/** The tables the kernel looks a gateway up in: the route's own, then a full lookup through the
 *  rules (approximated by the tables `from all` rules point to: local, main, default and any
 *  other unconditional lookup). */
function gatewayTables(snap: Snapshot, f: RoutingTarget['family'], table: number): Set<number> {
  const out = new Set([table, 253, 254, 255]);
  for (const r of parseRules(snap.rules).rules) if (r.family === f && r.lookup !== null && r.value.value === `from all lookup ${r.lookup}`) out.add(r.lookup);
  return out;
}

/** The prefixes a device reaches without a gateway: the subnets of its addresses, and the device
 *  routes through it (no gateway; IPv4 scope link or host) in the tables the gateway is looked up
 *  in, in the Snapshot and among the routes written earlier in the same apply. */
function onLinkPrefixes(snap: Snapshot, f: RoutingTarget['family'], dev: string | null, tables: ReadonlySet<number>, earlier: readonly EarlierRoute[]): Prefix[] {
  const out: Prefix[] = [];
  for (const l of snap.links)
    if (dev === null || l.name === dev)
      for (const a of l.addresses) {
        const p = a.family === f ? parsePrefix(`${a.local}/${a.prefixlen}`, f) : null;
        if (p) out.push(p);
      }
  const deviceRoute = (family: string, table: number | null, dst: string, value: string): void => {
    if (family !== f || table === null || !tables.has(table)) return;
    try {
      const v = parseRouteValue(value, f);
      const p = parsePrefix(dst, f);
      if (p && v.via === null && v.dev !== null && (dev === null || v.dev === dev) && !ROUTE_KINDS_TYPED.has(v.tokens[0] ?? '') && (f === 'inet6' || v.scope === 'link' || v.scope === 'host')) out.push(p);
    } catch {
      // a route nettune does not model is no evidence either way
    }
  };
  for (const r of parseRoutes(snap.routes).routes) if (!r.value.unmodeled.length) deviceRoute(r.family, r.table, r.dst, r.value.value);
  for (const e of earlier) if (e.to !== ROUTE_ABSENT) deviceRoute(e.family, e.table, e.dst, e.to);
  return out;
}

const ROUTE_KINDS_TYPED = new Set(['blackhole', 'unreachable', 'prohibit', 'throw']);

/** A gateway the kernel would refuse because it is not on the device's link, or null. Without
 *  `onlink`, fib_check_nh (IPv4) looks the gateway up among link-scope routes through that
 *  device and fails with "Nexthop has invalid gateway"; ip6_validate_gw (IPv6) wants a
 *  link-local gateway or a device route to it ("No route to host"). */
function offLinkGateway(v: RouteValue, f: RoutingTarget['family'], table: number, snap: Snapshot, earlier: readonly EarlierRoute[]): string | null {
  if (v.onlink || v.scope !== 'global') return null; // onlink: the user says it is on the link; another scope: the kernel's own lookup
  for (const h of v.hops) {
    if (h.via === null) continue;
    if (f === 'inet6' && prefixContains(LINK_LOCAL6, h.via)) continue; // fe80::/10 is on every link (with a dev)
    const prefixes = onLinkPrefixes(snap, f, h.dev, gatewayTables(snap, f, table), earlier);
    if (prefixes.some((p) => prefixContains(p, h.via as string))) continue;
    const has = [...new Set(prefixes.map(prefixText))];
    const reach = h.dev ? `${h.dev} reaches ${has.join(', ') || 'no prefix'} directly` : 'no device reaches it directly';
    const kernel = f === 'inet' ? 'Nexthop has invalid gateway' : 'No route to host';
    return `gateway ${h.via} is off-link: ${reach}; the kernel would refuse the route ("${kernel}"). Use a gateway inside ${has.length === 1 ? 'that prefix' : has.length ? 'one of those' : "the device's subnet"}, add an address or a device route for its subnet${h.dev ? ` on ${h.dev}` : ''} first (also earlier in the same apply), or add onlink if it really is on that link`;
  }
  return null;
}

const localAddresses = (snap: Snapshot): Set<string> => new Set(snap.links.flatMap((l) => l.addresses.map((a) => a.local)));

/** Checks one route or rule change against the Snapshot before the lock: the value's grammar,
 *  devices and source addresses that exist, no kernel-owned table or priority. Returns the
 *  canonical wanted value, 'skip: REASON' when it would change nothing, or throws the problem. */
export function validateRouting(c: RoutingChange, snap: Snapshot, earlier: readonly EarlierRoute[] = []): { to: string } | { skip: string } {
  const label = routingLabel(routingTarget(c));
  const wanted = (() => {
    try {
      return canonicalWanted(c);
    } catch (err) {
      throw new Error(`${label}: ${(err as Error).message}`);
    }
  })();
  if (c.kind === 'route') {
    // a plan file's destination: the prefix as nettune writes it (network address, canonical spelling)
    const dst = selectorPrefix(c.dst, c.family, 'route');
    if (typeof dst === 'string') throw new Error(dst);
    if (prefixText(dst) !== c.dst) throw new Error(`${label}: write the destination as ${prefixText(dst)} (the canonical form the kernel reads back)`);
    if (c.table === 255) throw new Error(`${label}: the local table is the kernel's own (its addresses); nettune does not write it`);
    // table 0 is RT_TABLE_UNSPEC: `ip route … table 0` reads every table and writes main
    if (c.table === 0) throw new Error(`${label}: table 0 is not a table (unspec: ip reads every table and writes main); give a table by its number or as main`);
    // the kernel stores an IPv6 route given metric 0 at 1024 (IP6_RT_PRIO_USER, net/ipv6/route.c
    // ip6_route_info_create): read back at metric 0 it would be missing, and it would replace a
    // route at 1024 that was never journaled
    if (c.family === 'inet6' && c.metric === 0) throw new Error(`${label}: metric 0 is not an IPv6 route metric (the kernel stores it as 1024); give metric 1024 or leave it out`);
    if (wanted !== ROUTE_ABSENT) {
      const v = parseRouteValue(wanted, c.family);
      for (const d of v.devs) if (!snap.links.some((l) => l.name === d)) throw new Error(`${label}: no device ${d}`);
      if (v.src && !localAddresses(snap).has(v.src)) throw new Error(`${label}: src ${v.src} is not an address of this host (the kernel refuses it)`);
      const gw = offLinkGateway(v, c.family, c.table, snap, earlier);
      if (gw) throw new Error(`${label}: ${gw}`);
    }
  } else {
    if (RESERVED_PRIORITIES.has(c.priority) || c.priority > 32767)
      throw new Error(`${label}: priorities 0, 32766 and 32767 hold the kernel's local/main/default rules; use 1–32765`);
    if (wanted !== ROUTE_ABSENT) for (const r of parseRulesValue(wanted, c.family)) for (const d of [r.iif]) if (d && !snap.links.some((l) => l.name === d)) throw new Error(`${label}: no device ${d}`);
  }
  const now = snapshotRouting(snap, routingTarget(c));
  if (now === undefined && wanted !== ROUTE_ABSENT) throw new Error(`${label}: what is there now is in a form nettune does not model; it leaves it alone`);
  if ((now === null && wanted === ROUTE_ABSENT) || now === wanted) return { skip: `already ${now ?? 'absent'}` };
  return { to: wanted };
}
