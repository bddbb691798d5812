// Routes and policy rules in the export formats: the one description of the ip commands that read,
// remove and write each of them (`routingCommands`), which shell, ansible and systemd render in
// their own syntax; sysctl.d, tuned and Kubernetes cannot hold them and say so (`routingNotes`).
// The commands are the apply stage's (src/apply/kind-route.ts; the writes are the persisted
// entries' own, src/apply/persist-routes.ts routingAddArgs): a route is read with
// `ip -j route show table N exact DST metric M` and written with `ip route replace` (idempotent),
// removed with `ip route del` only when present; the rules at a priority are read with
// `ip -j -N rule show priority P`, cleared (one `rule del priority P` per rule there) and added.
import { ROUTE_ABSENT, routingLabel, routingTarget } from '../plan/multihomed-kinds.js';
import { parsePrefix, prefixText } from '../probe/parse-routes.js';
import { type RoutingEntry, routingAddArgs } from '../apply/persist-routes.js';
import type { RoutingExportChange } from './describe.js';

/** Why a route's destination is not the canonical prefix nettune reads back (it is passed to ip as
 *  one word and, in the shell format, split on blanks), or null. */
export function routeDstProblem(c: RoutingExportChange): string | null {
  if (c.kind !== 'route') return null;
  const p = parsePrefix(c.dst, c.family);
  return p && p.family === c.family && prefixText(p) === c.dst ? null : `destination ${JSON.stringify(c.dst)} is not a canonical ${c.family === 'inet' ? 'IPv4' : 'IPv6'} prefix (NETWORK/LEN)`;
}

export interface RoutingCommands {
  /** "route table 100 default", "rule 1000" (as apply and show-tx name it). */
  label: string;
  /** ip arguments that print the live state as JSON: the one route, or every rule at the priority
   *  (`[]` when none; a route in a table that has no route yet: "FIB table does not exist", exit 2). */
  show: string[];
  /** ip arguments that remove the route, or one of the rules at the priority (run once per rule there). */
  remove: string[];
  /** ip arguments that make the wanted state hold once `remove` ran for the rules there (a route's
   *  `replace` needs no removal first); empty: the route or the priority's rules are to be absent. */
  add: string[][];
}

/** The apply stage's persisted entry for a change that is not a removal (src/apply/persist-routes.ts). */
export const routingEntry = (c: RoutingExportChange, netns: string | null): RoutingEntry => ({ target: routingTarget(c), value: c.to, iface: null, netns, comment: `${c.reason} (${c.source})` });

export function routingCommands(c: RoutingExportChange): RoutingCommands {
  const label = routingLabel(routingTarget(c));
  const fam = c.family === 'inet' ? '-4' : '-6';
  const absent = c.to === ROUTE_ABSENT;
  if (c.kind === 'route') {
    const bad = routeDstProblem(c);
    if (bad) throw new Error(`${label}: ${bad}`);
    const id = ['table', String(c.table), 'metric', String(c.metric)];
    const show = ['-j', fam, 'route', 'show', 'table', String(c.table), 'exact', c.dst, 'metric', String(c.metric)];
    const remove = [fam, 'route', 'del', c.dst, ...id];
    return { label, show, remove, add: absent ? [] : routingAddArgs(routingEntry(c, null)) };
  }
  const prio = String(c.priority);
  const show = ['-j', '-N', fam, 'rule', 'show', 'priority', prio];
  const remove = [fam, 'rule', 'del', 'priority', prio];
  return { label, show, remove, add: absent ? [] : routingAddArgs(routingEntry(c, null)) };
}

/** The shell line for a route or the rules at a priority: the prelude's nt_route / nt_rule with
 *  each command as one word of ip arguments (validated tokens: no blank, no pattern character). */
export function routingShell(c: RoutingExportChange, q: (s: string) => string): string {
  const r = routingCommands(c);
  const words = [r.label, r.show.join(' '), r.remove.join(' '), ...r.add.map((a) => a.join(' '))];
  return `${c.kind === 'route' ? 'nt_route' : 'nt_rule'} ${words.map(q).join(' ')}`;
}

/** The note a format that cannot hold routes or rules gives for each. */
export function routingNotes(changes: readonly RoutingExportChange[], format: string, instead: string): string[] {
  return changes.map((c) => `${routingLabel(routingTarget(c))} = ${c.to}: ${format} cannot hold routes or policy rules (${instead})`);
}
