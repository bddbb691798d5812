// Runs one experiment: lab up → setup → the arms interleaved (ABC ABC …), each arm's settings
// applied through the apply stage in the lab namespaces → medians, each arm compared with the
// first (bootstrap interval, or observed ranges below 3 runs, or a bound when cut off), the
// verdict judged against the experiment's claim → report. The lab and the apply-state temp
// directory are always removed: on success, on failure and on SIGINT/SIGTERM.
import { checkIfacesIn, parseIfaces } from '../plan/multihomed.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withStateDir } from '../apply/state.js';
import { applyTransaction } from '../apply/transaction.js';
import { toTarget, validateChanges } from '../apply/validate.js';
import { mptcpLabel, type MptcpTarget } from '../plan/mptcp-change.js';
import { buildPlan } from '../plan/index.js';
import type { PlanChange } from '../plan/types.js';
import { routingLabel, routingTarget } from '../plan/multihomed-kinds.js';
import { bdpBytes } from '../units/index.js';
import { probeInNetns } from '../probe/netns.js';
import type { Snapshot } from '../snapshot/index.js';
import { environmentError, errorMessage, NettuneError, usageError } from '../sys/errors.js';
import { haltIfStopping, onStop, stopping } from '../sys/signals.js';
import { type ArmContext, type ArmInput, armKey, type Changes, completeArms, interleave, resolveArms, ROLES, targetId } from './arms.js';
import { findEntry } from '../catalog/index.js';
import { probe } from '../probe/index.js';
import { backlogBench, keepaliveBench, rrBench, tfoBench, throughput } from './bench.js';
import type { ArmSpec, ExperimentDef, Role } from './experiments.js';
import { labDown, labRoute, labStatus, labUp, type LabState, type LinkEmulation, type Topology, validLabName } from './lab.js';
import type { ArmResult, ComparisonResult, ExperimentResult } from './report.js';
import { runWorkload } from './workload.js';
import { runSurvival, type SurvivalResult } from './mptcp-survival.js';
import { ctCrrBench, ctFullBench, ctLab } from './ct-lab.js';
import { checkClaim, compareArms, DEFAULT_MIN_EFFECT, median, percentiles } from './stats.js';

export interface RunOptions {
  reps?: number;
  /** Overrides the benchmark duration (seconds) for a quick run. */
  duration_s?: number;
  /** Arms replacing the built-in ones: [A] or [A, B] replace those; three or more replace all. */
  arms?: { index: number; arm: ArmInput }[];
  /** Extra arms after A and B (--arm NAME=SOURCE). */
  extra?: ArmInput[];
  /** The experiment's link with the command line's overrides already merged. */
  link?: LinkEmulation;
  topology?: Topology;
  /** Lab name (default ex<pid>). */
  lab?: string;
  minEffect?: number;
  log: (line: string) => void;
  self: { node: string; script: string };
}

const roleNs = (lab: LabState, role: Role): string | null => (role === 'router' ? lab.namespaces.router : lab.namespaces[role]);

const changeLabel = (role: Role, c: PlanChange): string => `${role}: ${c.kind === 'sysctl' ? c.key : c.kind === 'ethtool' ? `${c.device} ${c.setting}` : c.kind === 'nft' ? `nft table ${c.family} ${c.table}` : c.kind === 'mptcp' ? mptcpLabel(toTarget(c) as MptcpTarget) : c.kind === 'route' || c.kind === 'rule' ? routingLabel(routingTarget(c)) : c.path}`;

interface Applied {
  shown: Record<string, string>;
  /** Changes the namespace cannot take (global knobs), "role: key". */
  global: string[];
}

async function applyArm(lab: LabState, changes: Changes, label: string, stateDir: string, log: (l: string) => void): Promise<Applied> {
  const out: Applied = { shown: {}, global: [] };
  for (const role of ROLES) {
    const ns = roleNs(lab, role);
    // Only net.* sysctls belong to a network namespace: vm.*, kernel.*, fs.* are the host's.
    const hostOnly = (changes[role] ?? []).filter((c) => c.kind === 'sysctl' && !c.key.startsWith('net.'));
    for (const c of hostOnly) if (c.kind === 'sysctl') out.global.push(`${role}: ${c.key}`);
    const list = (changes[role] ?? []).filter((c) => !hostOnly.includes(c));
    if (!list.length || !ns) continue;
    const snap = await probeInNetns(ns);
    const v = validateChanges(
      list.map((change) => ({ change, reason: `experiment arm ${label}`, source: 'experiment' })),
      snap,
    );
    if (v.errors.length) throw usageError(`arm ${label} on ${role}: ${v.errors.join('; ')}`);
    for (const s of v.skipped) if (/global knob/.test(s.reason)) out.global.push(`${role}: ${s.target}`);
    for (const c of list) if (!out.global.includes(changeLabel(role, c))) out.shown[changeLabel(role, c)] = c.to;
    if (!v.changes.length) continue;
    await withStateDir(stateDir, () =>
      applyTransaction({ changes: v.changes, netns: ns, persistFile: null, source: `experiment ${label}`, plan: null, before: null, confirmS: null, log }),
    );
  }
  return out;
}

interface RepOutcome {
  value: number;
  /** What the benchmark counted in this run (router counters, flows, connects). */
  counters?: Record<string, number>;
  series?: { t: number; v: number }[];
  latencies?: number[];
  censored?: boolean;
}

async function runBench(def: ExperimentDef, lab: LabState, arm: ArmInput, o: RunOptions): Promise<RepOutcome> {
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
    case 'workload':
      return { value: await runWorkload(b.workload, lab, o.log) };
    case 'ct-full':
      return ctFullBench(ctLab(lab), { ...b, duration_s: duration }, o.self);
    case 'ct-crr':
      return ctCrrBench(ctLab(lab), { ...b, duration_s: duration }, o.self);
  }
}

/**
 * Runs one benchmark run, and once more if it fails (a server that was not listening yet, a
 * connect that failed): a second failure is returned, not thrown, so the runs that completed are
 * kept. Bad input (exit 2) is thrown at once, and nothing is retried once a stop signal came.
 */
export async function attemptTwice<T>(fn: () => Promise<T>, onRetry: (err: unknown) => void): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let last: unknown;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (err instanceof NettuneError && err.exitCode === 2) throw err;
      last = err;
      if (stopping()) break;
      if (attempt === 1) onRetry(err);
    }
  }
  return { ok: false, error: last };
}

/** The external tools an experiment needs with these arms, checked before its lab is built. */
export function toolsFor(def: ExperimentDef, arms: readonly ArmInput[]): string[] {
  const tools = new Set(['ip', 'tc', 'ping', 'sysctl']);
  const b = def.bench;
  // MPTCP arms (and their TCP counterpart) use nettune's python3 socket generator, not iperf3.
  if (b.kind === 'throughput') tools.add(arms.some((a) => a.bench?.mptcp !== undefined) ? 'python3' : 'iperf3');
  if (b.kind === 'backlog' || b.kind === 'tfo' || b.kind === 'keepalive') tools.add('python3');
  if (b.kind === 'keepalive') tools.add('nft');
  if (b.kind === 'workload') tools.add('ss'); // the server's readiness: its namespace's sockets
  if (b.kind === 'ct-full' || b.kind === 'ct-crr') for (const t of ['nft', 'conntrack', 'python3']) tools.add(t);
  const all = [def.setup, ...arms.map((a) => (typeof a.changes === 'object' && !('mirror' in a.changes) ? a.changes : undefined))];
  if (all.some((c) => c && Object.values(c).some((l) => l?.some((x) => x.kind === 'ethtool')))) tools.add('ethtool');
  return [...tools];
}

/** The catalog's kernel default for a sysctl (null: computed by the kernel, or not a sysctl). */
const catalogDefault = (c: PlanChange): string | null => (c.kind === 'sysctl' ? (findEntry(c.key)?.default ?? null) : null);

/** The planner's tcp_rmem/tcp_wmem for the lab's link (bdp-buffers' B). */
export async function plannedBuffers(ctx: ArmContext): Promise<Changes> {
  const snap = await ctx.snapshot('client');
  if (!snap) throw environmentError('the lab has no client namespace to plan for');
  const rate = ctx.link.rate_bps ?? 1e9;
  const plan = buildPlan(snap, { workload: 'throughput', link: { rate_bps: rate, rtt_s: ctx.link.rtt_s, bdp_bytes: bdpBytes(rate, ctx.link.rtt_s), loss_pct: null }, conns: null, dead_peer_s: null });
  const buf = plan.changes.filter((c) => c.kind === 'sysctl' && /^net\.ipv4\.tcp_[rw]mem$/.test(c.key)).map(({ reason: _r, source: _s, ...c }) => c);
  if (!buf.length) throw environmentError('the planner proposes no buffer change for this link: the namespace already allows BDP-sized buffers, so there is nothing to compare');
  return { client: buf, server: buf };
}

/** An arm's fixed changes plus what the planner proposes in the lab for one role (its own
 *  intent's changes only, not the audit fixes a plan also carries). */
function plannedArm(fixed: Changes, p: NonNullable<ArmSpec['plan']>): (ctx: ArmContext) => Promise<Changes> {
  const ifaces = parseIfaces(p.ifaces);
  return async (ctx) => {
    const snap = await ctx.snapshot(p.role);
    if (!snap) throw environmentError(`the lab has no ${p.role} namespace to plan for`);
    checkIfacesIn(snap, ifaces);
    const plan = buildPlan(snap, { workload: p.workload, link: null, conns: null, dead_peer_s: null, ifaces });
    const own = plan.changes.filter((c) => c.source === `intent:${p.workload}`).map(({ reason: _r, source: _s, ...c }) => c);
    return { ...fixed, [p.role]: [...(fixed[p.role] ?? []), ...own] };
  };
}

/** An experiment's built-in arm as an ArmInput ('baseline' → no changes of its own: completion
 *  fills in the lab's values for the other arms' keys). */
export function builtinArm(spec: ArmSpec | 'plan-buffers'): ArmInput {
  if (spec === 'plan-buffers') return { label: 'planned buffers', source: 'built-in (nettune plan for the lab link)', changes: plannedBuffers };
  const fixed = spec.changes === 'baseline' ? {} : spec.changes;
  const changes = spec.plan && typeof fixed !== 'function' ? plannedArm(fixed, spec.plan) : fixed;
  const source = spec.source ?? (spec.plan ? `built-in (nettune plan --workload ${spec.plan.workload} on the ${spec.plan.role})` : 'built-in');
  return { label: spec.label, source, changes, ...(spec.bench ? { bench: spec.bench } : {}), ...(spec.notes ? { notes: spec.notes } : {}) };
}

/** The arms this run compares: the built-in A and B, replaced or extended by the command line. */
export function armsFor(def: ExperimentDef, o: Pick<RunOptions, 'arms' | 'extra'>): ArmInput[] {
  const arms = [builtinArm(def.a), builtinArm(def.b), ...(def.more ?? []).map(builtinArm)];
  for (const { index, arm } of o.arms ?? []) arms[index] = arm;
  return [...arms, ...(o.extra ?? [])];
}

/** Keys the built-in arms and setup change: the ones the claim is about. */
export function claimKeys(def: ExperimentDef): string[] {
  const keys = new Set<string>();
  for (const spec of [def.a, def.b]) {
    if (spec === 'plan-buffers') ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'].forEach((k) => keys.add(k));
    else if (spec.changes !== 'baseline' && typeof spec.changes !== 'function') for (const list of Object.values(spec.changes)) for (const c of list ?? []) keys.add(targetId(c));
  }
  return [...keys];
}

const fmtValue = (def: ExperimentDef, v: number): string =>
  def.metric.unit === 'bit/s' ? `${(v / 1e6).toFixed(1)} Mbit/s` : def.metric.integer ? `${Math.round(v)} ${def.metric.unit}` : `${Number(v.toPrecision(4))} ${def.metric.unit}`;

export async function runExperiment(def: ExperimentDef, o: RunOptions): Promise<ExperimentResult> {
  if (def.unavailable) throw environmentError(`experiment ${def.name} cannot run yet: ${def.unavailable}`);
  const reps = o.reps ?? def.reps;
  if (reps < 1 || reps > 50) throw usageError('--reps must be between 1 and 50');
  const inputs = armsFor(def, o);
  if (inputs.length > 8) throw usageError('at most 8 arms');
  const labName = validLabName(o.lab ?? `ex${process.pid % 100000}`);
  const link = o.link ?? def.link;
  const topology = o.topology ?? def.topology;
  const minEffect = o.minEffect ?? DEFAULT_MIN_EFFECT;
  const started = new Date();
  const t0 = performance.now();
  // Registered before anything exists, so a signal during lab up still removes what it made.
  const stateDir = mkdtempSync(join(tmpdir(), `nettune-exp-${def.name}-`));
  const removeTemp = (): void => rmSync(stateDir, { recursive: true, force: true });
  const dropTemp = onStop(`remove ${stateDir}`, removeTemp);
  const dropLab = onStop(`lab down ${labName}`, () => labDown(labName, o.log));
  try {
    o.log(`nettune: experiment ${def.name}: building lab ${labName} …`);
    const lab = await labUp({ name: labName, topology, link, log: o.log });
    for (const [role, routes] of Object.entries(def.routes ?? {}) as [Role, string[][]][]) for (const r of routes) await labRoute(lab, role, r);
    if (def.setup) await applyArm(lab, def.setup, 'setup', stateDir, o.log);
    const snaps = new Map<Role, Promise<Snapshot | null>>();
    let hostSnap: Promise<Snapshot> | undefined;
    const ctx: ArmContext = {
      lab,
      link,
      host: () => (hostSnap ??= probe({ netnsName: null })),
      snapshot: (role) => {
        const ns = roleNs(lab, role);
        if (!snaps.has(role)) snaps.set(role, ns ? probeInNetns(ns) : Promise.resolve(null));
        return snaps.get(role) as Promise<Snapshot | null>;
      },
    };
    const { changes: own, missing } = await resolveArms(inputs, ctx, catalogDefault);
    const { arms: complete, unrestorable } = await completeArms(own, ctx);
    const status = await labStatus(labName);

    const keys = inputs.map((_, i) => armKey(i));
    interface ArmRecord {
      samples: number[];
      series: { t: number; v: number }[][];
      latencies: number[];
      counters: Record<string, number[]>;
      settings: Record<string, string>;
      global: string[];
      censored: number;
    }
    const out: ArmRecord[] = inputs.map(() => ({ samples: [], series: [], latencies: [], counters: {}, settings: {}, global: [], censored: 0 }));
    const runOrder = interleave(inputs.length, reps);
    const failures: string[] = [];
    for (const [i, k] of runOrder.entries()) {
      if (stopping()) break;
      const arm = inputs[k] as ArmInput;
      const rec = out[k] as ArmRecord;
      const attempt = await attemptTwice(
        async () => {
          const applied = await applyArm(lab, complete[k] as Changes, arm.label, stateDir, o.log);
          rec.settings = applied.shown;
          rec.global = applied.global;
          return runBench(def, lab, arm, o);
        },
        (err) => o.log(`  ${i + 1}/${runOrder.length} ${keys[k]} (${arm.label}) failed: ${errorMessage(err)}; retrying once`),
      );
      if (!attempt.ok) {
        if (!stopping()) failures.push(`run ${i + 1} (${keys[k]}: ${arm.label}) failed twice: ${errorMessage(attempt.error)}`);
        break; // keep what completed; the report says the run stopped here
      }
      const r = attempt.value;
      if (arm.bench?.congestion) rec.settings['bench: congestion control (per socket)'] = arm.bench.congestion;
      if (arm.bench?.mptcp) rec.settings['bench: sockets'] = 'MPTCP (IPPROTO_MPTCP)';
      rec.samples.push(r.value);
      if (r.series) rec.series.push(r.series);
      if (r.latencies) rec.latencies.push(...r.latencies.slice(0, 20_000));
      if (r.censored) rec.censored++;
      for (const [name, v] of Object.entries(r.counters ?? {})) (rec.counters[name] ??= []).push(v);
      o.log(`  ${i + 1}/${runOrder.length} ${keys[k]} (${arm.label}): ${fmtValue(def, r.value)}${r.censored ? ' (limit reached)' : ''}`);
    }
    await haltIfStopping();
    let survival: SurvivalResult | { error: string } | undefined;
    if (def.survival && complete[1] && !stopping()) {
      try {
        await applyArm(lab, complete[1], inputs[1]?.label ?? 'B', stateDir, o.log);
        survival = await runSurvival(lab, def.survival, o.log);
        o.log(`  survival: ${survival.survived ? 'survived' : 'did not survive'}; before ${fmtValue(def, survival.before_bps ?? 0)}, during ${fmtValue(def, survival.during_bps ?? 0)}, after ${fmtValue(def, survival.after_bps ?? 0)}`);
      } catch (err) {
        survival = { error: errorMessage(err) };
      }
    }
    await haltIfStopping();

    const claimed = claimKeys(def);
    const armResults: (ArmResult & { key: string; not_settable: string[] })[] = inputs.map((a, i) => {
      const rec = out[i] as ArmRecord;
      const m = rec.samples.length ? median(rec.samples) : NaN;
      return {
        key: keys[i] as string,
        label: a.label,
        source: a.source,
        settings: rec.settings,
        samples: rec.samples,
        median: m,
        censored: rec.censored,
        not_settable: rec.global,
        ...(rec.series.length ? { series: rec.series } : {}),
        ...(rec.latencies.length ? { latencies_ms: rec.latencies } : {}),
        ...(Object.keys(rec.counters).length ? { counters: rec.counters } : {}),
        ...(def.metric.unit === 'bit/s' && rec.samples.length ? { median_bps: m } : {}),
      };
    });
    const first = out[0] as ArmRecord;
    const comparisons: ComparisonResult[] = armResults.slice(1).map((arm, j) => {
      const rec = out[j + 1] as ArmRecord;
      const c = compareArms(first.samples, rec.samples, { higherIsBetter: def.metric.higher_is_better, minEffect, censoredA: first.censored, censoredB: rec.censored });
      const globalClaim = [...(armResults[0]?.not_settable ?? []), ...arm.not_settable].filter((g) => claimed.some((k) => g.endsWith(`: ${k}`)));
      const notes: string[] = [];
      if (globalClaim.length) notes.push(`keys the claim is about could not be set in the lab (global knobs): ${[...new Set(globalClaim)].join(', ')}; this comparison does not test the claim`);
      return { arm: arm.key, label: arm.label, ...c, claim: j === 0 ? checkClaim(c, def.expect, def.metric.higher_is_better) : { outcome: 'not shown' as const, text: `the claim is about B; ${arm.key} is only compared with A` }, notes };
    });
    const notes = [...def.notes];
    const sameLink = (Object.keys(def.link) as (keyof typeof def.link)[]).every((k) => link[k] === def.link[k]);
    if (!sameLink) notes.push(`Link overridden from the command line (built-in: ${JSON.stringify(def.link)}).`);
    for (const a of armResults) if (a.censored) notes.push(`${a.key}: ${a.censored} of ${a.samples.length} runs reached the time limit (recorded at the limit; the true value is larger).`);
    for (const a of armResults) if (a.not_settable.length) notes.push(`${a.key} (${a.label}): not settable inside a lab namespace (global knobs), left at the host's value: ${a.not_settable.join(', ')}.`);
    for (const [i, a] of inputs.entries()) for (const n of a.notes?.() ?? []) notes.push(`${keys[i]} (${a.label}): ${n}`);
    for (const [i, m] of missing.entries()) if (m.length) notes.push(`${keys[i]} (${inputs[i]?.label}): no ${inputs[i]?.source.startsWith('current') ? 'value on this host' : 'catalog default'} for ${m.join(', ')}: left at the lab's baseline.`);
    unrestorable.splice(0, unrestorable.length, ...unrestorable.filter((u) => /: net\./.test(u) || !/: [a-z]+\./.test(u)));
    if (unrestorable.length) notes.push(`No baseline value readable for ${unrestorable.join(', ')}: arms that do not set them inherit whatever ran before.`);
    notes.push(...failures);
    if (failures.length) notes.push(`The run stopped early: the results cover the ${armResults.reduce((n, a) => n + a.samples.length, 0)} runs that completed.`);
    const b = comparisons[0];
    return {
      name: def.name,
      claim: def.claim,
      lab: {
        name: labName,
        topology,
        rate_bps: link.rate_bps,
        rtt_ms: link.rtt_s * 1000,
        jitter_ms: link.jitter_s * 1000,
        loss_pct: link.loss_pct,
        emulator: lab.emulator,
        measured_rtt_min_ms: status.ping?.rtt_min_ms ?? null,
        measured_rtt_avg_ms: status.ping?.rtt_avg_ms ?? null,
        kernel: (await ctx.snapshot('client'))?.kernel.release ?? null,
      },
      metric: def.metric,
      a: armResults[0] as ArmResult,
      b: armResults[1] as ArmResult,
      arms: armResults,
      comparisons,
      ratio: b?.ratio ?? null,
      ci95: b?.ci95 ?? null,
      verdict: b?.verdict ?? 'no detectable difference',
      min_effect: minEffect,
      reps,
      order: runOrder.slice(0, armResults.reduce((n, a) => n + a.samples.length, 0)).map((k) => keys[k] as string),
      started_at: started.toISOString(),
      duration_s: Math.round((performance.now() - t0) / 100) / 10,
      notes,
      link_bps: link.rate_bps,
      partial: failures.length > 0,
      ...(survival ? { survival } : {}),
    };
  } finally {
    await haltIfStopping(); // the signal handler removes the lab and the temp dir, then exits
    dropLab();
    dropTemp();
    try {
      await labDown(labName, o.log);
    } finally {
      removeTemp();
    }
  }
}
