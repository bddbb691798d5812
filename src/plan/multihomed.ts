// The multihomed intent (`plan --workload multihomed --iface IF=ADDR/PREFIX,gw=GW …`): source-based
// routing so that replies leave by the interface the request came in on. Per source address one
// routing table (its connected prefix and a default route via that interface's gateway) and one
// `ip rule from ADDR lookup TABLE`; reverse-path filtering loosened where strict mode would drop
// traffic this host legitimately receives; ARP answered per interface where two interfaces share
// a subnet. Table ids and rule priorities are chosen free of what the Snapshot's routes and
// rules already use. Kernel facts: Documentation/networking/ip-sysctl.rst (rp_filter, arp_filter,
// arp_ignore, arp_announce), net/ipv4/fib_frontend.c (fib_validate_source), RFC 3704 §2.
import { z } from 'zod';
import { confKey } from '../rules/routing.js';
import type { Snapshot } from '../snapshot/index.js';
import { usageError } from '../sys/errors.js';
import { canonicalAddress, type Family, familyOfAddress, LINK_LOCAL6, parsePrefix, parseRoutes, parseRules, prefixContains, prefixText, RESERVED_PRIORITIES, RESERVED_TABLES } from '../probe/parse-routes.js';
import { parseRouteValue, parseRulesValue, ROUTE_IFNAME, routingLabel } from './multihomed-kinds.js';
import type { IntentResult, Proposal } from './intents.js';
import type { PlanChange } from './types.js';

export interface IfaceSpec {
  name: string;
  family: Family;
  addr: string;
  prefix: number;
  gw: string;
}

export const ifaceText = (i: IfaceSpec): string => `${i.name}=${i.addr}/${i.prefix},gw=${i.gw}`;

const v4 = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const v4Text = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** For an IPv4 address inside a /0–/30: whether it is the subnet's network or broadcast address. */
function ipv4Edge(addr: string, len: number): { what: string; hosts: string } | null {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(addr) || len > 30) return null;
  const size = 2 ** (32 - len);
  const net = v4(addr) - (v4(addr) % size);
  const hosts = `${v4Text(net + 1)}–${v4Text(net + size - 2)}`;
  if (v4(addr) === net) return { what: 'network', hosts };
  if (v4(addr) === net + size - 1) return { what: 'broadcast', hosts };
  return null;
}

const ifaceFlag = z.string().transform((s, ctx): IfaceSpec => {
  const fail = (m: string): never => {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `--iface ${s}: ${m}` });
    return z.NEVER;
  };
  const m = /^([^=,]+)=([^,]+),gw=([^,]+)$/.exec(s);
  if (!m) return fail('expected IF=ADDR/PREFIX,gw=GATEWAY (e.g. eth1=198.18.0.6/30,gw=198.18.0.5)');
  const [, name = '', cidr = '', gwText = ''] = m;
  if (!ROUTE_IFNAME.test(name)) return fail(`${JSON.stringify(name)} is not an interface name nettune routes for (letters, digits, _ . @ -; at most 15)`);
  const [addrText = '', len] = cidr.split('/');
  const family = familyOfAddress(addrText);
  if (!family || len === undefined || !/^\d{1,3}$/.test(len)) return fail(`${cidr}: expected ADDR/PREFIX`);
  const p = parsePrefix(cidr);
  if (!p) return fail(`${cidr}: the prefix length is out of range`);
  if (familyOfAddress(gwText) !== family) return fail(`gw ${gwText}: not an ${family === 'inet' ? 'IPv4' : 'IPv6'} address like ${addrText}`);
  const addr = canonicalAddress(addrText) as string;
  // An interface address keeps its host bits (that is what ip addr takes); the table's connected
  // route is its network. The network and broadcast addresses of an IPv4 subnet are not hosts.
  const edge = ipv4Edge(addr, p.len);
  if (edge) return fail(`${cidr}: ${addr} is the ${edge.what} address of ${prefixText(p)}, not an interface address (hosts there are ${edge.hosts})`);
  const gw = canonicalAddress(gwText) as string;
  if (gw === addr) return fail('the gateway is the interface\'s own address');
  // an IPv6 router is usually known by its link-local address (router advertisements come from
  // it, RFC 4861 §6.1.2); fe80::/10 is on every IPv6 link, so it needs no prefix of its own
  if (!prefixContains(p, gw) && !(family === 'inet6' && prefixContains(LINK_LOCAL6, gw)))
    return fail(`gw ${gw} is not inside ${prefixText(p)}${family === 'inet6' ? ' nor link-local (fe80::/10)' : ''}: the gateway must be on the interface's link`);
  const gwEdge = ipv4Edge(gw, p.len);
  if (gwEdge) return fail(`gw ${gw} is the ${gwEdge.what} address of ${prefixText(p)}, not a host (hosts there are ${gwEdge.hosts})`);
  return { name, family, addr, prefix: p.len, gw };
});

/** The repeated --iface flags, validated together (exit 2 on any problem, before anything runs). */
export function parseIfaces(flags: readonly string[]): IfaceSpec[] {
  const out: IfaceSpec[] = [];
  for (const f of flags) {
    const r = ifaceFlag.safeParse(f);
    if (!r.success) throw usageError(r.error.issues[0]?.message ?? `--iface ${f}: invalid`);
    out.push(r.data);
  }
  const dup = (key: (i: IfaceSpec) => string, what: string): void => {
    const seen = new Set<string>();
    for (const i of out) {
      if (seen.has(key(i))) throw usageError(`--iface: ${what} ${key(i)} is given twice`);
      seen.add(key(i));
    }
  };
  dup((i) => `${i.name}/${i.family}`, 'interface');
  dup((i) => i.addr, 'address');
  return out;
}

/** Fails (exit 2) when an interface is not in the Snapshot or does not hold its address. */
export function checkIfacesIn(snap: Snapshot, ifaces: readonly IfaceSpec[]): void {
  const problems: string[] = [];
  for (const i of ifaces) {
    const link = snap.links.find((l) => l.name === i.name);
    if (!link) problems.push(`${i.name}: no such interface${snap.netns.name ? ` in ${snap.netns.name}` : ''}`);
    else if (!link.addresses.some((a) => canonicalAddress(a.local) === i.addr && a.prefixlen === i.prefix))
      problems.push(`${i.name} does not hold ${i.addr}/${i.prefix} (it has ${link.addresses.map((a) => `${a.local}/${a.prefixlen}`).join(', ') || 'no address'}): the table's src and the rule would name an address the host does not have`);
  }
  if (problems.length) throw usageError(`--workload multihomed: ${problems.join('; ')}`);
}

const FIRST_TABLE = 100;
const FIRST_PRIORITY = 1000;
const SYSCTL_DOC = 'Documentation/networking/ip-sysctl.rst';

const sysctl = (snap: Snapshot, key: string, to: string, reason: string): Proposal => ({ change: { kind: 'sysctl', key, from: snap.sysctl[key] ?? null, to }, reason });

/** The source-routing changes for these interfaces (routes first, then rules, then sysctls, so a
 *  rule never points at a table that is not complete yet). */
export function proposeMultihomed(snap: Snapshot, ifaces: readonly IfaceSpec[]): IntentResult {
  const out: IntentResult = { proposals: [], skipped: [], notes: [] };
  const routes = parseRoutes(snap.routes).routes;
  const rules = parseRules(snap.rules).rules;
  const usedTables = new Set<number>([...RESERVED_TABLES, ...routes.flatMap((r) => (r.table === null ? [] : [r.table])), ...rules.flatMap((r) => (r.lookup === null ? [] : [r.lookup]))]);
  const named = [...new Set(routes.filter((r) => r.table === null).map((r) => r.table_name))];
  if (named.length) out.notes.push(`tables known only by name (${named.join(', ')}, /etc/iproute2/rt_tables) may hold numbers nettune cannot see; check that the chosen ones are free: ip route show table N`);
  const usedPrio = (f: Family): Set<number> => new Set([...RESERVED_PRIORITIES, ...rules.filter((r) => r.family === f).map((r) => r.priority)]);
  const prios = { inet: usedPrio('inet'), inet6: usedPrio('inet6') };
  const routeProps: Proposal[] = [];
  const ruleProps: Proposal[] = [];
  const sysctlProps: Proposal[] = [];

  for (const i of ifaces) {
    const host = `${i.addr}/${i.family === 'inet' ? 32 : 128}`;
    const want = parseRulesValue(`from ${host} lookup 1`, i.family)[0]?.text.replace(/ lookup 1$/, '');
    // an earlier run of this plan: the same source already has its own rule and table
    const existing = rules.find((r) => r.family === i.family && r.lookup !== null && r.value.value === `${want} lookup ${r.lookup}` && rules.filter((x) => x.family === i.family && x.priority === r.priority).length === 1);
    let table: number;
    let prio: number;
    if (existing && existing.lookup !== null) {
      table = existing.lookup;
      prio = existing.priority;
      out.notes.push(`${i.name}: reusing table ${table} and rule priority ${prio}, which already select the table for ${i.addr}`);
    } else {
      table = FIRST_TABLE;
      while (usedTables.has(table)) table++;
      prio = FIRST_PRIORITY;
      while (prios[i.family].has(prio)) prio++;
    }
    usedTables.add(table);
    prios[i.family].add(prio);
    const pfx = parsePrefix(`${i.addr}/${i.prefix}`) as NonNullable<ReturnType<typeof parsePrefix>>;
    const metric = i.family === 'inet' ? 0 : 1024;
    const route = (dst: string, value: string, reason: string): void => {
      const to = parseRouteValue(value, i.family).text;
      const now = routes.find((r) => r.family === i.family && r.table === table && r.dst === dst && r.metric === metric);
      const label = routingLabel({ kind: 'route', family: i.family, table, dst, metric });
      if (now?.value.value === to) out.skipped.push({ key: label, reason: `already ${to}` });
      else routeProps.push({ change: { kind: 'route', family: i.family, table, dst, metric, from: now?.value.value ?? null, to } satisfies PlanChange, reason });
    };
    route(prefixText(pfx), `dev ${i.name} proto static src ${i.addr}`, `table ${table} is ${i.name}'s (for traffic from ${i.addr}): its connected prefix ${prefixText(pfx)}, so neighbours on that link are reached directly on ${i.name} once the rule sends ${i.addr}'s traffic here; src ${i.addr} keeps the source address`);
    route(i.family === 'inet' ? '0.0.0.0/0' : '::/0', `via ${i.gw} dev ${i.name} proto static`, `table ${table}: everything else from ${i.addr} leaves by ${i.name} through its own gateway ${i.gw}, so replies to requests that came in on ${i.name} go back out ${i.name} (the main table's default would send them out whichever uplink it names, where the upstream's source check or NAT drops them)`);
    const ruleTo = `from ${host} lookup ${table}`;
    const nowRules = rules.filter((r) => r.family === i.family && r.priority === prio).map((r) => r.value.value);
    if (nowRules.length === 1 && nowRules[0] === parseRulesValue(ruleTo, i.family)[0]?.text) out.skipped.push({ key: routingLabel({ kind: 'rule', family: i.family, priority: prio }), reason: `already ${nowRules[0]}` });
    else
      ruleProps.push({
        change: { kind: 'rule', family: i.family, priority: prio, from: null, to: ruleTo },
        reason: `packets with source ${i.addr} (replies on connections made to ${i.addr}, and clients bound to it) look up table ${table}; priority ${prio} comes before the main table's rule (32766), and neither ${prio} nor table ${table} is used in the Snapshot's rules and routes`,
      });

    if (i.family !== 'inet') continue; // IPv6 has no rp_filter or ARP (NDP is per interface already)
    const allKey = 'net.ipv4.conf.all.rp_filter';
    const ifKey = confKey(i.name, 'rp_filter');
    const all = Number(snap.sysctl[allKey] ?? 0);
    const own = snap.sysctl[ifKey];
    if (own === undefined) {
      out.skipped.push({ key: ifKey, reason: 'not in the Snapshot (the interface has no conf entry)' });
      continue;
    }
    const eff = Math.max(all, Number(own));
    if (eff !== 1) out.skipped.push({ key: ifKey, reason: `the rp_filter in force on ${i.name} is already ${eff} (${eff === 2 ? 'loose' : 'off'}): max(conf.all ${all}, conf.${i.name} ${own})` });
    else
      sysctlProps.push(
        sysctl(
          snap,
          ifKey,
          '2',
          `the reverse-path filter in force on ${i.name} is max(conf.all.rp_filter ${all}, conf.${i.name}.rp_filter ${own}) = 1, strict (${SYSCTL_DOC}): a packet that arrives on ${i.name} is dropped unless the route back to its source leaves by ${i.name}. The rule above makes that true for packets addressed to ${i.addr} (the check looks up the route with the packet's destination as source, fib_validate_source), but a multihomed host also receives, on ${i.name}, packets for its other addresses when the upstream routes asymmetrically (RFC 3704 §2.4): strict mode drops those. Loose (2) only asks that the source be routable at all. conf.${i.name}=2 makes the maximum 2 whatever conf.all says`,
        ),
      );
  }

  // two interfaces on one subnet: without per-interface ARP each answers for both addresses
  const v4 = ifaces.filter((i) => i.family === 'inet');
  const shared = v4.filter((i) => v4.some((j) => j !== i && (prefixContains(parsePrefix(`${j.addr}/${j.prefix}`) as NonNullable<ReturnType<typeof parsePrefix>>, i.addr) || prefixContains(parsePrefix(`${i.addr}/${i.prefix}`) as NonNullable<ReturnType<typeof parsePrefix>>, j.addr))));
  for (const i of shared) {
    const others = shared.filter((j) => j !== i).map((j) => `${j.name} (${j.addr})`).join(', ');
    const knob = (name: string, want: number, rule: 'max' | 'or', why: string): void => {
      const key = confKey(i.name, name);
      const all = Number(snap.sysctl[`net.ipv4.conf.all.${name}`] ?? 0);
      const own = snap.sysctl[key];
      if (own === undefined) return void out.skipped.push({ key, reason: 'not in the Snapshot' });
      const eff = rule === 'max' ? Math.max(all, Number(own)) : all || Number(own) ? 1 : 0;
      if (eff >= want) return void out.skipped.push({ key, reason: `already ${eff} in force on ${i.name} (${rule === 'max' ? 'max' : 'OR'} of conf.all ${all} and conf.${i.name} ${own})` });
      sysctlProps.push(sysctl(snap, key, String(want), `${i.name} shares its subnet with ${others}. ${why} In force: the ${rule === 'max' ? 'maximum' : 'OR'} of conf.all and conf.${i.name} (${SYSCTL_DOC})`));
    };
    knob('arp_filter', 1, 'or', `Linux answers ARP for any local address on any interface (the weak host model), so a neighbour may learn ${i.name}'s MAC for another interface's address and send that traffic in the wrong way ("ARP flux"); arp_filter=1 answers only when the kernel would route the reply to the asker out of ${i.name} — with the source rules, by the table of the address asked for.`);
    knob('arp_ignore', 1, 'max', `arp_ignore=1 answers only for addresses configured on ${i.name} itself.`);
    knob('arp_announce', 2, 'max', `arp_announce=2 puts ${i.name}'s own address, never another interface's, in the ARP requests it sends.`);
  }
  out.proposals.push(...routeProps, ...ruleProps, ...sysctlProps);
  if (ifaces.length === 1) out.notes.push('one --iface: its traffic gets its own table; the others keep using the main table');
  return out;
}
