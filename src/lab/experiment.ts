// Runs one experiment: lab up → setup → A and B interleaved (ABAB…), each arm's settings applied
// through the apply stage in the lab namespaces → medians, bootstrap 95 % CI of B/A, verdict →
// report. The lab is always torn down, also on failure.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withStateDir } from '../apply/state.js';
import { applyTransaction } from '../apply/transaction.js';
import { validateChanges } from '../apply/validate.js';
import { featureOf } from '../apply/io.js';
import { buildPlan } from '../plan/index.js';
import type { PlanChange } from '../plan/types.js';
import { bdpBytes } from '../units/index.js';
import { probeInNetns } from '../probe/netns.js';
import type { Snapshot } from '../snapshot/index.js';
import { environmentError, usageError } from '../sys/errors.js';
import { backlogBench, keepaliveBench, rrBench, tfoBench, throughput } from './bench.js';
import type { ArmSpec, ExperimentDef, Role } from './experiments.js';
import { labDown, labRoute, labUp, type LabState } from './lab.js';
import type { ArmResult, ExperimentResult } from './report.js';
import { bootstrapRatioCI, median, order, percentiles, verdict } from './stats.js';

export interface RunOptions {
  reps?: number;
  /** Overrides the benchmark duration (seconds) for a quick run. */
  duration_s?: number;
  /** A and B from the command line (--a PLAN, --b PLAN or --set), replacing the built-in arms. */
  a?: Partial<Record<Role, PlanChange[]>>;
  b?: Partial<Record<Role, PlanChange[]>>;
  log: (line: string) => void;
  self: { node: string; script: string };
}

type Changes = Partial<Record<Role, PlanChange[]>>;

const roleNs = (lab: LabState, role: Role): string | null => (role === 'router' ? lab.namespaces.router : lab.namespaces[role]);

/** What a change's target is set to in a Snapshot (the baseline for A). */
function currentValue(snap: Snapshot, c: PlanChange): string | null {
  if (c.kind === 'sysctl') return snap.sysctl[c.key] ?? null;
  if (c.kind === 'ethtool' && c.group === 'features') {
    const f = featureOf(snap.links.find((l) => l.name === c.device)?.ethtool?.features, c.setting);
    return f ? (f.active ? 'on' : 'off') : null;
  }
  return null;
}

async function applyArm(lab: LabState, changes: Changes, label: string, stateDir: string, log: (l: string) => void): Promise<Record<string, string>> {
  const shown: Record<string, string> = {};
  for (const role of ['client', 'server', 'router'] as const) {
    const list = changes[role];
    const ns = roleNs(lab, role);
    if (!list?.length || !ns) continue;
    const snap = await probeInNetns(ns);
    const v = validateChanges(
      list.map((change) => ({ change, reason: `experiment arm ${label}`, source: 'experiment' })),
      snap,
    );
    if (v.errors.length) throw usageError(`arm ${label} on ${role}: ${v.errors.join('; ')}`);
    for (const c of list) shown[`${role}: ${c.kind === 'sysctl' ? c.key : c.kind === 'ethtool' ? `${c.device} ${c.setting}` : c.path}`] = c.to;
    if (!v.changes.length) continue;
    await withStateDir(stateDir, () =>
      applyTransaction({ changes: v.changes, netns: ns, persistFile: null, source: `experiment ${label}`, plan: null, before: null, confirmS: null, log }),
    );
  }
  return shown;
}

interface RepOutcome {
  value: number;
  series?: { t: number; v: number }[];
  latencies?: number[];
  censored?: boolean;
}

async function runBench(def: ExperimentDef, lab: LabState, arm: ArmSpec, o: RunOptions): Promise<RepOutcome> {
  const target = lab.server_addrs[0] ?? '198.18.0.2';
  const b = def.bench;
  const duration = o.duration_s ?? ('duration_s' in b ? b.duration_s : 0);
  switch (b.kind) {
    case 'throughput': {
      const cc = arm.bench?.congestion ?? b.congestion;
      const r = await throughput({
        clientNs: lab.namespaces.client,
        serverNs: lab.namespaces.server,
        target,
        duration_s: duration,
        omit_s: o.duration_s ? Math.min(b.omit_s, Math.floor(duration / 2)) : b.omit_s,
        parallel: b.parallel,
        startServer: true,
        ...(cc ? { congestion: cc } : {}),
        ...(arm.bench?.mptcp !== undefined ? { mptcp: arm.bench.mptcp } : {}),
      });
      return { value: r.bps, series: r.series.map((v, i) => ({ t: i + 1, v })) };
    }
    case 'rr':
    case 'crr': {
      const r = await rrBench({ clientNs: lab.namespaces.client, serverNs: lab.namespaces.server, target, mode: b.kind, duration_s: duration, connections: b.connections, size: b.size, max_transactions: 2_000_000 }, o.self);
      if (b.kind === 'crr') return { value: r.tps, latencies: r.latencies_ms };
      return { value: percentiles(r.latencies_ms, [99]).p99 ?? 0, latencies: r.latencies_ms };
    }
    case 'backlog': {
      const r = await backlogBench({ clientNs: lab.namespaces.client, serverNs: lab.namespaces.server, target, backlog: b.backlog, connects: b.connects }, o.self);
      return { value: b.count === 'failed' ? r.failed : r.connected };
    }
    case 'tfo': {
      const r = await tfoBench({ clientNs: lab.namespaces.client, serverNs: lab.namespaces.server, target, count: b.connections, duration_s: duration });
      if (!r.latencies_ms.length) throw environmentError(`no connection completed (${r.errors} errors)`);
      return { value: median(r.latencies_ms), latencies: r.latencies_ms };
    }
    case 'keepalive': {
      const r = await keepaliveBench({ clientNs: lab.namespaces.client, serverNs: lab.namespaces.server, target, limit_s: b.limit_s });
      return r.detected_s === null ? { value: b.limit_s, censored: true } : { value: r.detected_s };
    }
  }
}

export async function runExperiment(def: ExperimentDef, o: RunOptions): Promise<ExperimentResult> {
  if (def.unavailable) throw environmentError(`experiment ${def.name} cannot run yet: ${def.unavailable}`);
  const reps = o.reps ?? def.reps;
  if (reps < 1 || reps > 50) throw usageError('--reps must be between 1 and 50');
  const labName = `ex${process.pid % 100000}`;
  const stateDir = mkdtempSync(join(tmpdir(), `nettune-exp-${def.name}-`));
  const started = new Date();
  const t0 = performance.now();
  o.log(`nettune: experiment ${def.name}: building lab ${labName} …`);
  const lab = await labUp({ name: labName, topology: def.topology, link: def.link, log: o.log });
  try {
    for (const [role, routes] of Object.entries(def.routes ?? {}) as [Role, string[][]][]) for (const r of routes) await labRoute(lab, role, r);
    if (def.setup) await applyArm(lab, def.setup, 'setup', stateDir, o.log);
    // B's changes: given, built in, or computed by the planner for this lab's link.
    let bChanges: Changes;
    let bLabel: string;
    if (o.b) {
      bChanges = o.b;
      bLabel = 'B (--set)';
    } else if (def.b === 'plan-buffers') {
      const snap = await probeInNetns(lab.namespaces.client);
      const rate = def.link.rate_bps ?? 1e9;
      const plan = buildPlan(snap, { workload: 'throughput', link: { rate_bps: rate, rtt_s: def.link.rtt_s, bdp_bytes: bdpBytes(rate, def.link.rtt_s), loss_pct: null }, conns: null, dead_peer_s: null });
      const buf = plan.changes.filter((c) => c.kind === 'sysctl' && /^net\.ipv4\.tcp_[rw]mem$/.test(c.key)).map(({ reason: _r, source: _s, ...c }) => c);
      if (!buf.length) throw environmentError('the planner proposes no buffer change for this link: the namespace already allows BDP-sized buffers, so there is nothing to compare');
      bChanges = { client: buf, server: buf };
      bLabel = 'planned buffers';
    } else {
      bChanges = def.b.changes === 'baseline' ? {} : def.b.changes;
      bLabel = def.b.label;
    }
    // A's changes: given, or the values B's targets have now (the baseline).
    let aChanges: Changes = {};
    if (o.a) aChanges = o.a;
    else if (def.a.changes === 'baseline') {
      for (const role of ['client', 'server', 'router'] as const) {
        const ns = roleNs(lab, role);
        const list = bChanges[role];
        if (!ns || !list?.length) continue;
        const snap = await probeInNetns(ns);
        aChanges[role] = list.flatMap((c) => {
          const v = currentValue(snap, c);
          return v === null ? [] : [{ ...c, to: v }];
        });
      }
    } else aChanges = def.a.changes;

    const armB: ArmSpec = { label: bLabel, changes: bChanges, ...(typeof def.b === 'object' && def.b.bench ? { bench: def.b.bench } : {}) };
    const arms = { A: { spec: def.a, changes: aChanges }, B: { spec: armB, changes: bChanges } };
    const runOrder = order(reps, 'abab');
    const out: Record<'A' | 'B', { samples: number[]; series: { t: number; v: number }[][]; latencies: number[]; settings: Record<string, string>; censored: number }> = {
      A: { samples: [], series: [], latencies: [], settings: {}, censored: 0 },
      B: { samples: [], series: [], latencies: [], settings: {}, censored: 0 },
    };
    for (const [i, armKey] of runOrder.entries()) {
      const arm = arms[armKey];
      out[armKey].settings = await applyArm(lab, arm.changes, arm.spec.label, stateDir, o.log);
      if (arm.spec.bench?.congestion) out[armKey].settings['bench: congestion control (per socket)'] = arm.spec.bench.congestion;
      if (arm.spec.bench?.mptcp) out[armKey].settings['bench: sockets'] = 'MPTCP (IPPROTO_MPTCP)';
      const r = await runBench(def, lab, arm.spec, o);
      out[armKey].samples.push(r.value);
      if (r.series) out[armKey].series.push(r.series);
      if (r.latencies) out[armKey].latencies.push(...r.latencies.slice(0, 20_000));
      if (r.censored) out[armKey].censored++;
      o.log(`  ${i + 1}/${runOrder.length} ${armKey} (${arm.spec.label}): ${def.metric.unit === 'bit/s' ? `${(r.value / 1e6).toFixed(1)} Mbit/s` : `${r.value.toFixed(3)} ${def.metric.unit}`}${r.censored ? ' (limit reached)' : ''}`);
    }
    const ci = bootstrapRatioCI(out.A.samples, out.B.samples, { statistic: median });
    const ci95: [number, number] | null = ci.low !== null && ci.high !== null ? [ci.low, ci.high] : null;
    const arm = (k: 'A' | 'B', label: string): ArmResult => ({
      label,
      settings: out[k].settings,
      samples: out[k].samples,
      median: median(out[k].samples),
      ...(out[k].series.length ? { series: out[k].series } : {}),
      ...(out[k].latencies.length ? { latencies_ms: out[k].latencies } : {}),
      ...(def.metric.unit === 'bit/s' ? { median_bps: median(out[k].samples) } : {}),
    });
    const notes = [...def.notes];
    for (const k of ['A', 'B'] as const) if (out[k].censored) notes.push(`${k}: ${out[k].censored} of ${reps} runs reached the time limit (counted at the limit).`);
    if (ci.reason) notes.push(`No confidence interval: ${ci.reason}`);
    return {
      name: def.name,
      claim: def.claim,
      lab: {
        topology: def.topology,
        rate_bps: def.link.rate_bps,
        rtt_ms: def.link.rtt_s * 1000,
        jitter_ms: def.link.jitter_s * 1000,
        loss_pct: def.link.loss_pct,
        emulator: lab.emulator,
        kernel: (await probeInNetns(lab.namespaces.client)).kernel.release,
      },
      metric: def.metric,
      a: arm('A', def.a.label),
      b: arm('B', bLabel),
      ratio: ci.ratio,
      ci95,
      verdict: verdict(ci95, { higherIsBetter: def.metric.higher_is_better }),
      reps,
      order: runOrder,
      started_at: started.toISOString(),
      duration_s: Math.round((performance.now() - t0) / 100) / 10,
      notes,
      link_bps: def.link.rate_bps,
    };
  } finally {
    await labDown(labName, o.log);
  }
}

