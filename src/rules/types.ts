// What an audit rule is. Rules are entries in src/rules/<domain>.ts: metadata (reviewed like
// documentation) plus one small predicate over the Snapshot.
import type { Snapshot } from '../snapshot/index.js';
import type { LinkSpec, PlanChange, Workload } from '../plan/types.js';

export const SEVERITIES = ['info', 'warn', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type Confidence = 'high' | 'medium' | 'low';

export const RULE_DOMAINS = ['tcp', 'buffers', 'backlog', 'conntrack', 'ports', 'routing', 'nic', 'queues', 'latency'] as const;
export type RuleDomain = (typeof RULE_DOMAINS)[number];

/** What a rule needs before it can say anything; missing → the rule is skipped with the reason. */
export type Need = 'conntrack' | 'link' | 'ethtool' | 'init-netns';

export interface Evidence {
  /** sysctl key, counter reference (netstat.TcpExt.ListenOverflows) or a derived quantity. */
  what: string;
  value: number | string | null;
  /** Per-second rate over the audit interval, when two samples exist. */
  rate_per_s?: number | null;
  note?: string;
}

/** A counter as rules see it: the total since boot and, with two samples, a per-second rate. */
export interface CounterReading {
  total: number | null;
  rate: number | null;
  delta: number | null;
}

export interface RuleContext {
  snap: Snapshot;
  prev: Snapshot | null;
  interval_s: number | null;
  workload: Workload;
  link: LinkSpec | null;
  sysctl(key: string): string | undefined;
  int(key: string): number | null;
  vec(key: string): number[] | null;
  counter(ref: string): CounterReading;
  /** Evidence line for a sysctl key with its current value. */
  knob(key: string, note?: string): Evidence;
  /** Evidence line for a counter reference with total and rate. */
  evidence(ref: string, note?: string): Evidence;
}

export interface Hit {
  /** What the finding is about when a rule can fire several times (a link, a key). */
  subject?: string;
  message: string;
  evidence: Evidence[];
  changes?: PlanChange[];
  /** Extra commands that are not plan changes (e.g. application advice, modprobe). */
  commands?: string[];
  confidence: Confidence;
  /** Overrides the rule's severity for this hit (e.g. since-boot only → info). */
  severity?: Severity;
}

export interface Rule {
  id: string;
  domain: RuleDomain;
  title: string;
  severity: Severity;
  /** When a finding's severity differs from `severity`/`workloads` (a hit raises or lowers it):
   *  required for every rule whose check sets Hit.severity, shown by `rules explain`. */
  severity_note?: string;
  /** Per-workload severity, or 'skip' where the rule does not apply. */
  workloads?: Partial<Record<Workload, Severity | 'skip'>>;
  needs?: Need[];
  /** Lowest kernel version the rule makes sense on (e.g. '4.9' for BBR). */
  min_kernel?: string;
  /** Two or three sentences: why this matters. */
  why: string;
  sources: string[];
  /** What can go wrong when applying the fix. */
  risk: string;
  check(ctx: RuleContext): Hit | Hit[] | null;
}

export interface Finding {
  id: string;
  domain: RuleDomain;
  title: string;
  severity: Severity;
  subject: string | null;
  message: string;
  evidence: Evidence[];
  why: string;
  sources: string[];
  fix: { changes: PlanChange[]; commands: string[] };
  risk: string;
  confidence: Confidence;
}
