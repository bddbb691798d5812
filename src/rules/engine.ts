// The rule evaluator: builds the context rules read, decides applicability, runs each rule and
// turns hits into findings with evidence, fix and risk. Rules themselves are data-like entries.
import { describeDefault, isKernelDefault, kernelDefault } from '../catalog/defaults.js';
import { changeCommand, type LinkSpec, type Workload } from '../plan/types.js';
import { resolveCounter, type Snapshot } from '../snapshot/index.js';
import type { CounterReading, Evidence, Finding, Need, Rule, RuleContext, Severity } from './types.js';
import { SEVERITIES } from './types.js';
import { counterDelta, isGaugeRef } from './delta.js';

export { isGaugeRef };

export interface AuditInput {
  snap: Snapshot;
  prev?: Snapshot | null;
  workload?: Workload;
  link?: LinkSpec | null;
  /** The exact time between `prev` and `snap` in seconds, when the caller measured it (the
   *  monitor's sampler, on a monotonic clock); otherwise it comes from the two `taken_at`. */
  interval_s?: number;
  /** kernel_defaults entries already worked out for this configuration (sysctl values, kernel,
   *  memory): a caller that audits the same configuration again and again (the exporter, per
   *  scrape, until its next refresh) passes one map and the audit fills it. */
  defaults?: Map<string, KernelDefaultEntry | null>;
}

export type KernelDefaultEntry = { default: string; differs: boolean | null };

export interface SkippedRule {
  id: string;
  reason: string;
}

export interface AuditResult {
  findings: Finding[];
  summary: Record<Severity, number>;
  evaluated: number;
  skipped: SkippedRule[];
  workload: Workload;
  link: LinkSpec | null;
  interval_s: number | null;
  /** The two samples come from different boots (boot_id differs): counters restarted in between,
   *  so no rates; findings are judged on totals since the (new) boot. */
  rebooted_between_samples: boolean;
  /** Rule errors are bugs; they are reported, never hidden, and never stop the audit. */
  rule_errors: { id: string; message: string }[];
  /** For each sysctl key the findings cite: this kernel's default on this host (catalog/defaults)
   *  and whether the Snapshot's value differs from it (null: not known). */
  kernel_defaults: Record<string, KernelDefaultEntry>;
}

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

/** Parses a kernel release such as "6.18.44-fc-v782" into comparable numbers. */
export function kernelVersion(release: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
}

export function kernelAtLeast(release: string, min: string): boolean {
  const a = kernelVersion(release);
  const b = kernelVersion(min);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

const INT = /^-?\d+$/;

/** Both samples carry a boot id and they differ: the host rebooted in between. */
export const rebootedBetween = (prev: Snapshot, snap: Snapshot): boolean => prev.boot_id !== undefined && snap.boot_id !== undefined && prev.boot_id !== snap.boot_id;

export function buildContext(input: AuditInput): RuleContext {
  const { snap } = input;
  // Samples from different boots have no common counter base: judge them like a single sample.
  const prev = input.prev && !rebootedBetween(input.prev, snap) ? input.prev : null;
  const interval = prev ? (input.interval_s ?? (Date.parse(snap.taken_at) - Date.parse(prev.taken_at)) / 1000) : null;
  const intervalS = interval !== null && interval > 0 ? interval : null;
  const sysctl = (key: string): string | undefined => snap.sysctl[key];
  const int = (key: string): number | null => {
    const v = snap.sysctl[key];
    return v !== undefined && INT.test(v) ? Number(v) : null;
  };
  const vec = (key: string): number[] | null => {
    const v = snap.sysctl[key];
    if (v === undefined) return null;
    const parts = v.split(' ');
    return parts.every((p) => INT.test(p)) ? parts.map(Number) : null;
  };
  const counter = (ref: string): CounterReading => {
    const total = resolveCounter(snap, ref);
    if (!prev || intervalS === null || total === null || isGaugeRef(ref)) return { total, rate: null, delta: null };
    const d = counterDelta(resolveCounter(prev, ref), total, intervalS); // null on a reset (reboot, ns change)
    return d ? { total, ...d } : { total, rate: null, delta: null };
  };
  return {
    snap,
    prev,
    interval_s: intervalS,
    workload: input.workload ?? 'balanced',
    link: input.link ?? null,
    sysctl,
    int,
    vec,
    counter,
    knob: (key, note) => ({ what: key, value: snap.sysctl[key] ?? null, ...(note ? { note } : {}) }),
    evidence: (ref, note) => {
      const c = counter(ref);
      return { what: ref, value: c.total, rate_per_s: c.rate, ...(note ? { note } : {}) };
    },
  };
}

function missingNeed(need: Need, ctx: RuleContext): string | null {
  switch (need) {
    case 'conntrack':
      return ctx.snap.conntrack ? null : 'conntrack is not loaded';
    case 'link':
      return ctx.link ? null : 'needs --link RATE --rtt DUR';
    case 'ethtool':
      return ctx.snap.links.some((l) => l.ethtool) ? null : 'no ethtool data in the snapshot';
    case 'init-netns':
      return ctx.snap.netns.init === false ? 'global knobs are only visible in the initial namespace' : null;
  }
}

export function evaluate(rules: readonly Rule[], input: AuditInput): AuditResult {
  const ctx = buildContext(input);
  const findings: Finding[] = [];
  const skipped: SkippedRule[] = [];
  const ruleErrors: { id: string; message: string }[] = [];
  let evaluated = 0;
  for (const rule of rules) {
    const wl = rule.workloads?.[ctx.workload];
    if (wl === 'skip') {
      skipped.push({ id: rule.id, reason: `not relevant for workload ${ctx.workload}` });
      continue;
    }
    if (rule.min_kernel && !kernelAtLeast(ctx.snap.kernel.release, rule.min_kernel)) {
      skipped.push({ id: rule.id, reason: `needs kernel ≥ ${rule.min_kernel}` });
      continue;
    }
    const missing = (rule.needs ?? []).map((n) => missingNeed(n, ctx)).find((r) => r !== null);
    if (missing) {
      skipped.push({ id: rule.id, reason: missing });
      continue;
    }
    evaluated++;
    let hits;
    try {
      hits = rule.check(ctx);
    } catch (err) {
      ruleErrors.push({ id: rule.id, message: err instanceof Error ? err.message : String(err) });
      continue;
    }
    for (const hit of hits === null ? [] : Array.isArray(hits) ? hits : [hits]) {
      const changes = hit.changes ?? [];
      findings.push({
        id: rule.id,
        domain: rule.domain,
        title: rule.title,
        severity: hit.severity ?? wl ?? rule.severity,
        subject: hit.subject ?? null,
        message: hit.message,
        evidence: hit.evidence,
        why: rule.why,
        sources: rule.sources,
        fix: { changes, commands: [...changes.map((c) => changeCommand(c, ctx.snap.netns.name)), ...(hit.commands ?? [])] },
        risk: rule.risk,
        confidence: hit.confidence,
      });
    }
  }
  findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.id.localeCompare(b.id));
  const summary: Record<Severity, number> = { info: 0, warn: 0, critical: 0 };
  for (const f of findings) summary[f.severity]++;
  const rebooted = input.prev ? rebootedBetween(input.prev, input.snap) : false;
  const kernelDefaults: AuditResult['kernel_defaults'] = {};
  for (const e of findings.flatMap((f) => f.evidence)) {
    if (!(e.what in input.snap.sysctl) || e.what in kernelDefaults) continue;
    let entry = input.defaults?.get(e.what);
    if (entry === undefined) {
      const d = kernelDefault(e.what, input.snap);
      const is = d ? isKernelDefault(d, input.snap.sysctl[e.what] ?? '') : null;
      entry = d ? { default: describeDefault(d), differs: is === null ? null : !is } : null;
      input.defaults?.set(e.what, entry);
    }
    if (entry) kernelDefaults[e.what] = entry;
  }
  return { findings, summary, evaluated, skipped, workload: ctx.workload, link: ctx.link, interval_s: ctx.interval_s, rebooted_between_samples: rebooted, rule_errors: ruleErrors, kernel_defaults: kernelDefaults };
}

/** Formats an evidence line: "netstat.TcpExt.ListenOverflows = 1523 (4.2/s)". With `defaults`
 *  (AuditResult.kernel_defaults) a knob that differs from this kernel's default says what it is. */
export function formatEvidence(e: Evidence, defaults?: AuditResult['kernel_defaults']): string {
  const rate = e.rate_per_s !== undefined && e.rate_per_s !== null ? ` (${formatRate(e.rate_per_s)}/s over the interval)` : '';
  const d = defaults?.[e.what];
  return `${e.what} = ${e.value ?? '?'}${d?.differs ? ` (default here: ${d.default})` : ''}${rate}${e.note ? ` — ${e.note}` : ''}`;
}

const formatRate = (r: number): string => (r === 0 ? '0' : r >= 100 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toPrecision(2));
