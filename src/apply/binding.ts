// A plan is bound to where it was made: the host (hostname and machine id), the namespace, and
// the values its changes start `from`. `apply PLAN.json` compares them with the live ones before
// the lock and refuses on any difference unless --force (then the transaction reads and journals
// the live before-values as always).
import type { Plan } from '../plan/schema.js';
import type { PlanChange } from '../plan/types.js';

export interface BindingDifference {
  /** "hostname", "machine_id", "netns", or the target of a change (a sysctl key, "ethtool …", a sysfs path). */
  key: string;
  /** What the plan recorded. */
  plan: string | null;
  /** What the live system has now. */
  live: string | null;
}

export interface BindingCheck {
  differences: BindingDifference[];
  /** What could not be checked and why (a plan made by an older nettune has no machine id). */
  notes: string[];
}

export interface LiveHost {
  hostname: string;
  machine_id: string | null;
  netns: string | null;
}

export interface LiveChange {
  label: string;
  kind: PlanChange['kind'];
  from: string | null;
  to: string;
  /** The value now (read just before the check); null when the target does not exist. */
  live: string | null;
}

const words = (v: string): string => v.trim().replace(/\s+/g, ' ');
/** CPU masks are equal whatever their width and grouping: "0" = "00" = "00000000,00000000". */
const mask = (v: string): string => words(v).replace(/,/g, '').replace(/^0+(?=.)/, '').toLowerCase();

function sameValue(kind: LiveChange['kind'], a: string, b: string): boolean {
  if (kind === 'sysfs' && /^[0-9a-fA-F,]+$/.test(a) && /^[0-9a-fA-F,]+$/.test(b)) return mask(a) === mask(b);
  return words(a) === words(b);
}

export function checkBinding(host: Plan['host'], live: LiveHost, changes: readonly LiveChange[]): BindingCheck {
  const out: BindingCheck = { differences: [], notes: [] };
  if (host.hostname !== live.hostname) out.differences.push({ key: 'hostname', plan: host.hostname, live: live.hostname });
  if (host.machine_id === undefined) out.notes.push('the plan was made by an older nettune and records no machine id: the host is checked by hostname only');
  else if (host.machine_id === null || live.machine_id === null)
    out.notes.push(`no machine id ${host.machine_id === null ? 'where the plan was made' : 'on this host'} (empty /etc/machine-id): the host is checked by hostname only`);
  else if (host.machine_id !== live.machine_id) out.differences.push({ key: 'machine_id', plan: host.machine_id, live: live.machine_id });
  if (host.netns !== live.netns) out.differences.push({ key: 'netns', plan: host.netns, live: live.netns });
  for (const c of changes) {
    if (c.from === null) continue; // the plan made no claim about the value before
    if (c.live !== null && (sameValue(c.kind, c.live, c.from) || sameValue(c.kind, c.live, c.to))) continue; // as planned, or already applied
    out.differences.push({ key: c.label, plan: c.from, live: c.live });
  }
  return out;
}

/** The differences as table lines for the one-line-per-problem error message. */
export function renderDifferences(d: readonly BindingDifference[]): string[] {
  const show = (v: string | null, missing: string): string => (v === null ? missing : JSON.stringify(v));
  return d.map((x) => `${x.key}: plan has ${show(x.plan, '(none: the initial namespace)')}, live is ${show(x.live, x.key === 'netns' ? '(none: the initial namespace)' : '(missing)')}`);
}
