// Routes and policy rules at boot: pure renderers of the three files nettune persists them in,
// chosen per interface by what manages it (src/probe/net-managers.ts):
//   systemd-networkd → a drop-in /etc/systemd/network/NAME.network.d/90-nettune.conf with one
//     [Route] / [RoutingPolicyRule] section per route / rule (systemd.network(5), systemd 252);
//   ifupdown → /etc/network/if-up.d/nettune-routes and if-down.d/nettune-routes, run by run-parts
//     with $IFACE/$MODE/$ADDRFAM set (interfaces(5)); they act on $IFACE's routes and rules only;
//   NetworkManager or nothing → nettune-route.service, a oneshot unit of ip commands.
// Each entry is also kept in the file as one `# nettune-entry {json}` comment (the target and its
// canonical value), so a later transaction merges with what earlier ones persisted exactly, and
// the export formats render the same text from a plan. Values are the canonical text of
// src/plan/multihomed-kinds.ts (already validated); anything these files cannot express throws.
import { z } from 'zod';
import {
  parseRouteValue,
  parseRulesValue,
  ROUTE_ABSENT,
  ROUTE_IFNAME,
  routeTargetSchema,
  routingLabel,
  ruleTargetSchema,
  type RoutingTarget,
} from '../plan/multihomed-kinds.js';
import { validNetns } from '../sys/names.js';
import { shQuote } from '../sys/sh-quote.js';
import { VERSION } from '../version.js';
import { oneLine, renderOneshotUnit } from './persist.js';
import { renderExec } from './systemd-exec.js';

/** One persisted route, or the rules at one priority. */
export interface RoutingEntry {
  target: RoutingTarget;
  /** Canonical value (never 'absent': an absent route is not persisted). */
  value: string;
  /** The interface it belongs to (its drop-in or hook case), null when none. */
  iface: string | null;
  /** Namespace for the unit's `ip -n NS` (networkd and ifupdown configure the initial one only). */
  netns: string | null;
  comment: string;
}

/** What the file header names (an export passes its plan's transaction, 0 when none). */
export interface RoutingHeader {
  tx: number;
  at: string;
}

export const ROUTE_UNIT_NAME = 'nettune-route.service';
export const NETWORKD_DROPIN_NAME = '90-nettune.conf';
export const IFUPDOWN_HOOK_NAME = 'nettune-routes';
const IP = '/usr/sbin/ip';
const ENTRY_MARK = '# nettune-entry ';

/** A route's or rule priority's identity: a later entry with the same id replaces it. */
export const entryId = (e: { target: RoutingTarget; netns: string | null }): string => `${e.netns ?? ''} ${routingLabel(e.target)}`;

const fam = (t: RoutingTarget): string => (t.family === 'inet' ? '-4' : '-6');
const TYPED = new Set(['blackhole', 'unreachable', 'prohibit', 'throw']);

function checkEntry(e: RoutingEntry): void {
  if (e.value === ROUTE_ABSENT) throw new Error(`${routingLabel(e.target)}: an absent route or rule is not persisted`);
  if (e.iface !== null && !ROUTE_IFNAME.test(e.iface)) throw new Error(`refusing to persist for the interface ${JSON.stringify(e.iface)}`);
  if (e.netns !== null) validNetns(e.netns);
}

// ---- ip argument vectors (the hook and the unit run exactly these) ----------------------------

/** The ip arguments (without the program) that make the entry hold: `route replace` for a route,
 *  one `rule add` per rule at the priority. */
export function routingAddArgs(e: RoutingEntry): string[][] {
  checkEntry(e);
  const ns = e.netns ? ['-n', e.netns] : [];
  const t = e.target;
  if (t.kind === 'route') {
    const v = parseRouteValue(e.value, t.family);
    const [first, ...rest] = v.tokens;
    const typed = first !== undefined && TYPED.has(first);
    return [[...ns, fam(t), 'route', 'replace', ...(typed ? [first] : []), t.dst, 'table', String(t.table), 'metric', String(t.metric), ...(typed ? rest : v.tokens)]];
  }
  return parseRulesValue(e.value, t.family).map((r) => [...ns, fam(t), 'rule', 'add', ...r.tokens, 'priority', String(t.priority)]);
}

/** The ip arguments that remove what routingAddArgs made (rules first is the caller's order). */
export function routingDelArgs(e: RoutingEntry): string[][] {
  checkEntry(e);
  const ns = e.netns ? ['-n', e.netns] : [];
  const t = e.target;
  if (t.kind === 'route') {
    const first = parseRouteValue(e.value, t.family).tokens[0];
    return [[...ns, fam(t), 'route', 'del', ...(first !== undefined && TYPED.has(first) ? [first] : []), t.dst, 'table', String(t.table), 'metric', String(t.metric)]];
  }
  return parseRulesValue(e.value, t.family).map((r) => [...ns, fam(t), 'rule', 'del', ...r.tokens, 'priority', String(t.priority)]);
}

/** Routes before rules (a rule's table should hold its routes when traffic starts to match it). */
const bootOrder = (entries: readonly RoutingEntry[]): RoutingEntry[] => [...entries.filter((e) => e.target.kind === 'route'), ...entries.filter((e) => e.target.kind === 'rule')];

// ---- entries kept in the files -------------------------------------------------------------

const entrySchema = z.object({
  target: z.union([routeTargetSchema, ruleTargetSchema]),
  value: z.string(),
  iface: z.string().nullable(),
  netns: z.string().nullable(),
});

const entryLine = (e: RoutingEntry): string => `${ENTRY_MARK}${JSON.stringify({ target: e.target, value: e.value, iface: e.iface, netns: e.netns })}`;

/** The entries a file nettune wrote holds (each with the comment line above it); lines that do
 *  not parse or validate are returned as dropped. */
export function parseRoutingEntries(text: string | null): { entries: RoutingEntry[]; dropped: string[] } {
  const out: { entries: RoutingEntry[]; dropped: string[] } = { entries: [], dropped: [] };
  const seen = new Set<string>();
  let comment = '';
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim();
    if (!line.startsWith(ENTRY_MARK)) {
      if (/^#\s/.test(line) && !line.startsWith('# nettune:')) comment = line.replace(/^#\s/, '');
      continue;
    }
    try {
      const e: RoutingEntry = { ...entrySchema.parse(JSON.parse(line.slice(ENTRY_MARK.length))), comment };
      routingAddArgs(e); // the value still parses and the names are still valid
      if (!seen.has(entryId(e))) out.entries.push(e); // one entry per file even when repeated (hook cases)
      seen.add(entryId(e));
    } catch {
      out.dropped.push(line);
    }
    comment = '';
  }
  return out;
}

/** Earlier entries not replaced now, then the new ones; `removed` ids (routes set absent) go. */
export function mergeEntries(previous: readonly RoutingEntry[], now: readonly RoutingEntry[], removed: ReadonlySet<string> = new Set()): RoutingEntry[] {
  const ids = new Set([...now.map(entryId), ...removed]);
  return [...previous.filter((e) => !ids.has(entryId(e))), ...now];
}

/** A comment line's text: one line, no trailing backslash (systemd reads that as a continuation). */
const note = (c: string): string => oneLine(c).replace(/\\+$/, '');

const header = (h: RoutingHeader, about: readonly string[], comment = '#'): string[] => [
  `${comment} nettune: written by nettune ${VERSION}, transaction ${h.tx}, ${h.at}.`,
  ...about.map((a) => `${comment} ${a}`),
  `${comment} Undo with: nettune rollback ${h.tx}`,
];

// ---- systemd-networkd drop-in ----------------------------------------------------------------

/** Route protocol names networkd's Protocol= takes as words; the rest of iproute2's rt_protos
 *  (/etc/iproute2/rt_protos) are written as their numbers. */
const NETWORKD_PROTOCOLS = new Set(['kernel', 'boot', 'static', 'ra', 'dhcp']);
const RT_PROTOS: Readonly<Record<string, number>> = {
  unspec: 0, redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10, zebra: 11, bird: 12, dnrouted: 13, xorp: 14, ntk: 15, dhcp: 16, keepalived: 18, babel: 42, openr: 99, bgp: 186, isis: 187, ospf: 188, rip: 189, eigrp: 192,
};
const SCOPE_NUMBERS: Readonly<Record<string, string>> = { '0': 'global', '200': 'site', '253': 'link', '254': 'host', '255': 'nowhere' };

function networkdProtocol(p: string): string {
  if (NETWORKD_PROTOCOLS.has(p)) return p;
  if (/^\d{1,3}$/.test(p) && Number(p) <= 255) return p;
  const n = RT_PROTOS[p];
  if (n === undefined) throw new Error(`proto ${p}: systemd-networkd's Protocol= takes kernel, boot, static, ra, dhcp or a number, and ${p} is not in iproute2's rt_protos`);
  return String(n);
}

/** The [Route] section of one route (dev must be the drop-in's interface). */
export function networkdRouteSection(t: Extract<RoutingTarget, { kind: 'route' }>, value: string, iface: string): string[] {
  const v = parseRouteValue(value, t.family);
  const w = [...v.tokens];
  const type = w[0] !== undefined && TYPED.has(w[0]) ? (w.shift() as string) : null;
  const lines = ['[Route]', `Destination=${t.dst}`];
  if (type) lines.push(`Type=${type}`);
  const hops: string[] = [];
  while (w.length) {
    const k = w.shift() as string;
    if (k === 'onlink') {
      lines.push('GatewayOnLink=yes');
      continue;
    }
    if (k === 'nexthop') {
      const hop: Record<string, string> = {};
      while (w.length && w[0] !== 'nexthop') hop[w.shift() as string] = w.shift() ?? '';
      if (!hop.via) throw new Error(`${routingLabel(t)}: a nexthop without a gateway; systemd-networkd's MultiPathRoute= needs one`);
      hops.push(`MultiPathRoute=${hop.via}${hop.dev ? `@${hop.dev}` : ''} ${hop.weight ?? '1'}`);
      continue;
    }
    const x = w.shift() ?? '';
    if (k === 'via') lines.push(`Gateway=${x}`);
    else if (k === 'dev') {
      if (x !== iface) throw new Error(`${routingLabel(t)}: dev ${x} is not ${iface}, whose .network file the drop-in extends`);
    } else if (k === 'proto') lines.push(`Protocol=${networkdProtocol(x)}`);
    else if (k === 'scope') {
      const scope = SCOPE_NUMBERS[x] ?? x;
      if (/^\d+$/.test(scope)) throw new Error(`${routingLabel(t)}: scope ${x} has no name systemd-networkd's Scope= takes`);
      if (t.family === 'inet') lines.push(`Scope=${scope}`); // "The value is not used for IPv6"
    } else if (k === 'src') lines.push(`PreferredSource=${x}`);
    else if (k === 'pref') lines.push(`IPv6Preference=${x}`);
    else throw new Error(`${routingLabel(t)}: ${k} has no systemd-networkd [Route] setting`);
  }
  lines.push(...hops, `Table=${t.table}`, `Metric=${t.metric}`);
  return lines;
}

/** The [RoutingPolicyRule] sections of the rules at one priority. */
export function networkdRuleSections(t: Extract<RoutingTarget, { kind: 'rule' }>, value: string): string[][] {
  return parseRulesValue(value, t.family).map((r) => {
    const w = [...r.tokens];
    const lines = ['[RoutingPolicyRule]'];
    while (w.length) {
      const k = w.shift() as string;
      if (k === 'not') {
        lines.push('InvertRule=yes');
        continue;
      }
      if (k === 'blackhole' || k === 'unreachable' || k === 'prohibit') {
        lines.push(`Type=${k}`);
        continue;
      }
      const x = w.shift() ?? '';
      if (k === 'from') {
        if (x !== 'all') lines.push(`From=${x}`);
      } else if (k === 'to') lines.push(`To=${x}`);
      else if (k === 'tos') lines.push(`TypeOfService=${Number(x)}`);
      else if (k === 'fwmark') lines.push(`FirewallMark=${x.split('/').map((n) => String(Number(n))).join('/')}`);
      else if (k === 'iif') lines.push(`IncomingInterface=${x}`);
      else if (k === 'oif') lines.push(`OutgoingInterface=${x}`);
      else if (k === 'lookup') lines.push(`Table=${x}`);
      else if (k === 'suppress_prefixlength') lines.push(`SuppressPrefixLength=${x}`);
      else throw new Error(`${routingLabel(t)}: ${k} has no systemd-networkd [RoutingPolicyRule] setting`);
    }
    // explicit: networkd otherwise guesses the family from From=/To= and takes ipv4 without them
    lines.push(`Priority=${t.priority}`, `Family=${t.family === 'inet' ? 'ipv4' : 'ipv6'}`);
    return lines;
  });
}

/** The drop-in for one .network file: every entry's sections (routes first), each after its
 *  comment and its entry line. */
export function renderNetworkdDropin(networkFile: string, iface: string, entries: readonly RoutingEntry[], h: RoutingHeader): string {
  const lines = header(h, [
    `systemd-networkd merges this drop-in into ${oneLine(networkFile)} for ${iface} (systemd.network(5));`,
    'it takes effect on `networkctl reload` or at boot. nettune rewrites it: put your own settings in another file here.',
  ]);
  for (const e of bootOrder(entries)) {
    checkEntry(e);
    if (e.netns !== null) throw new Error(`${routingLabel(e.target)}: networkd configures the initial namespace, not ${e.netns}`);
    const sections = e.target.kind === 'route' ? [networkdRouteSection(e.target, e.value, iface)] : networkdRuleSections(e.target, e.value);
    lines.push('', `# ${note(e.comment)}`, entryLine(e));
    sections.forEach((s, i) => lines.push(...(i ? [''] : []), ...s));
  }
  return `${lines.join('\n')}\n`;
}

// ---- ifupdown hooks --------------------------------------------------------------------------

const shArgs = (args: readonly string[]): string => args.map((a) => (/^[A-Za-z0-9_.:/@=+-]+$/.test(a) ? a : shQuote(a))).join(' ');

/** /etc/network/if-up.d/nettune-routes ('up') or if-down.d/nettune-routes ('down'): run-parts runs
 *  it for every interface ifupdown brings up or down; it acts on $IFACE's entries only, on the
 *  stanza's address family ($ADDRFAM; both when unset or meta). Up: `ip route replace` and
 *  `ip rule add` taking "File exists" (that very rule is there: the kernel compares every field)
 *  as done, so a second run changes nothing. Down: the same routes and rules deleted, "not there"
 *  taken as done. A failure is printed and makes the exit status 1; the other commands still run. */
export function renderIfupdownHook(entries: readonly RoutingEntry[], phase: 'up' | 'down', h: RoutingHeader): string {
  const byIface = new Map<string, RoutingEntry[]>();
  for (const e of entries) {
    checkEntry(e);
    if (e.iface === null) throw new Error(`${routingLabel(e.target)}: an ifupdown hook entry needs an interface`);
    if (e.netns !== null) throw new Error(`${routingLabel(e.target)}: ifupdown configures the initial namespace, not ${e.netns}`);
    byIface.set(e.iface, [...(byIface.get(e.iface) ?? []), e]);
  }
  const up = phase === 'up';
  const lines = [
    '#!/bin/sh',
    ...header(h, [
      `ifupdown runs this with run-parts ${up ? 'after it brought an interface up' : 'before it takes an interface down'} (interfaces(5)): $IFACE names`,
      `the interface, $MODE is ${up ? 'start' : 'stop'}, $ADDRFAM the stanza's family. It ${up ? 'makes' : 'removes'} only the routes and rules nettune persisted for $IFACE;`,
      up ? 'running it again changes nothing (ip route replace; an ip rule that is there already is left as it is).' : 'a route or rule that is gone already is fine.',
      `The matching ${up ? 'if-down.d' : 'if-up.d'}/${IFUPDOWN_HOOK_NAME} ${up ? 'removes' : 'makes'} them. nettune rewrites this file.`,
    ]),
    'export LC_ALL=C',
    `[ "\${MODE:-}" = ${up ? 'start' : 'stop'} ] || exit 0`,
    'rc=0',
    '# the family of the stanza ifupdown is processing (both when run by hand or for --all)',
    'fam() { [ -z "${ADDRFAM:-}" ] || [ "$ADDRFAM" = meta ] || [ "$ADDRFAM" = "$1" ]; }',
    `nt_ip() {`,
    `\tout=$(${IP} "$@" 2>&1) && return 0`,
    up
      ? "\tcase $out in *'File exists'*) return 0 ;; esac"
      : "\tcase $out in *'No such file or directory'* | *'No such process'* | *'Cannot find device'*) return 0 ;; esac",
    `\techo "${IFUPDOWN_HOOK_NAME}: ip $*: $out" >&2`,
    '\trc=1',
    '}',
    'case "${IFACE:-}" in',
  ];
  for (const [iface, list] of byIface) {
    lines.push(`${shQuote(iface)})`);
    const ordered = up ? bootOrder(list) : bootOrder(list).reverse();
    for (const e of ordered) {
      lines.push(`\t# ${note(e.comment)}`, `\t${entryLine(e)}`);
      const argvs = up ? routingAddArgs(e) : routingDelArgs(e);
      for (const a of argvs) lines.push(`\tfam ${e.target.family} && nt_ip ${shArgs(a)}`);
    }
    lines.push('\t;;');
  }
  lines.push('esac', 'exit $rc', '');
  return lines.join('\n');
}

// ---- the oneshot unit (NetworkManager or no manager, and namespaces) ---------------------------

/** nettune-route.service: ExecStart makes every entry (routes first; each rule deleted first with
 *  a `-` prefix, so a restart does not add it twice), ExecStop removes them (failures ignored). */
export function renderRouteUnit(entries: readonly RoutingEntry[], h: RoutingHeader): string {
  const ordered = bootOrder(entries);
  const start: string[] = [];
  for (const e of ordered) {
    start.push(`# ${note(e.comment)}`, entryLine(e));
    if (e.target.kind === 'rule') for (const a of routingDelArgs(e)) start.push(`ExecStart=-${renderExec([IP, ...a])}`);
    for (const a of routingAddArgs(e)) start.push(`ExecStart=${renderExec([IP, ...a])}`);
  }
  const stop = [...ordered].reverse().flatMap((e) => routingDelArgs(e).map((a) => `ExecStop=-${renderExec([IP, ...a])}`));
  return renderOneshotUnit(
    h.tx,
    h.at,
    [
      '# Routes and policy rules (kernel memory only, lost at reboot) for interfaces no systemd-networkd or ifupdown',
      '# configuration of this host manages. nettune does not enable this unit; to run it at boot:',
      `#   systemctl enable ${ROUTE_UNIT_NAME}`,
      '# It runs once after network-online.target: a route of an interface that goes down and up later is not re-made.',
    ],
    ['Description=nettune routes and policy rules (ip route / ip rule)', 'After=network-online.target', 'Wants=network-online.target'],
    [...start, ...stop],
  );
}
