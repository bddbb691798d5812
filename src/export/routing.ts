// Routes and policy rules in the export formats: what each format can do with them. shell writes
// them with ip; systemd and ansible carry the systemd-networkd drop-in apply's --persist writes
// (src/apply/kind-route-persist.ts); sysctl.d, tuned and Kubernetes cannot hold them and say so.
import { parseRouteValue, parseRulesValue, ROUTE_ABSENT, routingLabel, routingTarget } from '../plan/multihomed-kinds.js';
import type { RoutingExportChange } from './describe.js';

/** One shell line (or two, for rules) that makes the route or the rules at a priority hold. */
export function routingShell(c: RoutingExportChange, q: (s: string) => string): string {
  const label = q(routingLabel(routingTarget(c)));
  const fam = c.family === 'inet' ? '-4' : '-6';
  if (c.kind === 'route') {
    const id = [c.dst, 'table', String(c.table), 'metric', String(c.metric)];
    if (c.to === ROUTE_ABSENT) return `nt_ip ${label} ip ${fam} route del ${id.map(q).join(' ')}`;
    const v = parseRouteValue(c.to, c.family);
    const typed = ['blackhole', 'unreachable', 'prohibit', 'throw'].includes(v.tokens[0] ?? '');
    const args = [...(typed ? [v.tokens[0] as string] : []), ...id, ...(typed ? v.tokens.slice(1) : v.tokens)];
    return `nt_ip ${label} ip ${fam} route replace ${args.map(q).join(' ')}`;
  }
  const clear = `nt_rule_clear ${fam} ${q(String(c.priority))}`;
  if (c.to === ROUTE_ABSENT) return clear;
  return [clear, ...parseRulesValue(c.to, c.family).map((r) => `nt_ip ${label} ip ${fam} rule add ${[...r.tokens, 'priority', String(c.priority)].map(q).join(' ')}`)].join('\n');
}

/** The note a format that cannot hold routes or rules gives for each. */
export function routingNotes(changes: readonly RoutingExportChange[], format: string, instead: string): string[] {
  return changes.map((c) => `${routingLabel(routingTarget(c))} = ${c.to}: ${format} cannot hold routes or policy rules (${instead})`);
}
