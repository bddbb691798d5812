// What the fleet commands compute from a collection: the audit of every reachable host folded into
// one rules × hosts matrix, and drift per host against a plan. Both reuse the single-host code
// (rules/engine evaluate, monitor/drift computeDrift); nothing here reads a host.
import type { DriftBaseline, DriftEntry } from '../monitor/drift.js';
import { computeDrift } from '../monitor/drift.js';
import type { LinkSpec, Workload } from '../plan/types.js';
import { evaluate, formatEvidence, severityRank, type AuditResult } from '../rules/engine.js';
import { allRules } from '../rules/index.js';
import type { Evidence, Severity } from '../rules/types.js';
import type { FleetCollection, FleetHost } from './collect.js';

export interface HostState {
  name: string;
  status: FleetHost['status'];
  message: string | null;
}

export const hostStates = (c: FleetCollection): HostState[] => c.hosts.map((h) => ({ name: h.name, status: h.status, message: h.message }));

export interface RuleRow {
  id: string;
  title: string;
  /** the worst severity any host has for it */
  severity: Severity;
  /** host → its worst severity for this rule (hosts not hit are absent) */
  hosts: Record<string, Severity>;
  hits: number;
  /** the host judged worst (highest severity, then the largest first evidence value) and why */
  worst: { host: string; subject: string | null; message: string; evidence: Evidence[]; text: string };
}

export interface FleetAudit {
  audited: string[];
  not_audited: HostState[];
  rules: RuleRow[];
  per_host: Record<string, { summary: AuditResult['summary']; evaluated: number; skipped: number; rule_errors: AuditResult['rule_errors'] }>;
  summary: Record<Severity, number>;
}

const firstNumber = (ev: readonly Evidence[]): number => {
  for (const e of ev) {
    const v = e.rate_per_s ?? e.value;
    if (typeof v === 'number') return v;
  }
  return -Infinity;
};

export function auditFleet(c: FleetCollection, workload: Workload, link: LinkSpec | null): FleetAudit {
  const rows = new Map<string, RuleRow & { rank: [number, number] }>();
  const per_host: FleetAudit['per_host'] = {};
  const audited: string[] = [];
  for (const h of c.hosts) {
    if (!h.snapshot) continue;
    audited.push(h.name);
    const r = evaluate(allRules, { snap: h.snapshot, prev: null, workload, link });
    per_host[h.name] = { summary: r.summary, evaluated: r.evaluated, skipped: r.skipped.length, rule_errors: r.rule_errors };
    for (const f of r.findings) {
      const rank: [number, number] = [severityRank(f.severity), firstNumber(f.evidence)];
      const worst = { host: h.name, subject: f.subject, message: f.message, evidence: f.evidence, text: f.evidence.map((e) => formatEvidence(e, r.kernel_defaults)).join('; ') };
      const row = rows.get(f.id);
      if (!row) {
        rows.set(f.id, { id: f.id, title: f.title, severity: f.severity, hosts: { [h.name]: f.severity }, hits: 1, worst, rank });
        continue;
      }
      const before = row.hosts[h.name];
      if (before === undefined) row.hits++;
      if (before === undefined || severityRank(f.severity) > severityRank(before)) row.hosts[h.name] = f.severity;
      if (severityRank(f.severity) > severityRank(row.severity)) row.severity = f.severity;
      if (rank[0] > row.rank[0] || (rank[0] === row.rank[0] && rank[1] > row.rank[1])) Object.assign(row, { worst, rank });
    }
  }
  const sorted = [...rows.values()]
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || b.hits - a.hits || a.id.localeCompare(b.id))
    .map(({ rank: _rank, ...row }) => row);
  const summary: Record<Severity, number> = { critical: 0, warn: 0, info: 0 };
  for (const row of sorted) for (const s of Object.values(row.hosts)) summary[s]++;
  return { audited, not_audited: hostStates(c).filter((h) => h.status !== 'ok'), rules: sorted, per_host, summary };
}

export interface FleetDriftHost {
  host: string;
  entries: DriftEntry[];
  drifted: number;
  holding: number;
  unknown: number;
}

export interface FleetDrift {
  baseline: DriftBaseline['source'];
  hosts: FleetDriftHost[];
  not_checked: HostState[];
  /** hosts with at least one drifted key */
  drifted_hosts: string[];
}

export function driftFleet(c: FleetCollection, baseline: DriftBaseline): FleetDrift {
  const hosts: FleetDriftHost[] = [];
  for (const h of c.hosts) {
    if (!h.snapshot) continue;
    const d = computeDrift(h.snapshot, baseline);
    hosts.push({ host: h.name, entries: d.entries, drifted: d.drifted, holding: d.holding, unknown: d.unknown });
  }
  return { baseline: baseline.source, hosts, not_checked: hostStates(c).filter((h) => h.status !== 'ok'), drifted_hosts: hosts.filter((h) => h.drifted > 0).map((h) => h.host) };
}
