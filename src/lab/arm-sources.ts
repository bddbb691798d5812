// Where an experiment arm's settings come from (--a, --b, --arm NAME=SOURCE):
//   FILE.json        a nettune plan (plan --out)
//   FILE             a sysctl.conf / sysctl.d file (lint's parser)
//   tuned:NAME|PATH  a tuned profile's [sysctl] section (the plan stage's tuned loader)
//   current          this host's live values for the keys the other arms touch
//   defaults         the kernel defaults from the catalog for those keys
//   plan:auto        what nettune plans for the experiment's link and workload, at run time
//   set:K=V[,K=V…]   sysctl pairs (as --set)
// Everything is parsed and checked before the lab is built: bad input is exit 2 with the file and
// line, never a half-run experiment.
import { findEntry, validateValue } from '../catalog/index.js';
import { parseSet } from '../apply/validate.js';
import { parseSysctlConf } from '../lint/parse.js';
import { buildPlan } from '../plan/index.js';
import { loadTunedProfile, type TunedProfile, tunedWrites } from '../plan/tuned.js';
import { planSchema } from '../plan/schema.js';
import type { PlanChange, Workload } from '../plan/types.js';
import { usageError } from '../sys/errors.js';
import { readInputFile, readJsonFile } from '../sys/fs.js';
import { bdpBytes } from '../units/index.js';
import type { ArmContext, ArmInput, Changes } from './arms.js';
import type { BenchSpec } from './experiments.js';

export const ARM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,39}$/;

const both = (changes: PlanChange[]): Changes => ({ client: changes, server: changes });

/** A plan file's sysctl changes, for both lab hosts. */
export function planFileChanges(file: string): PlanChange[] {
  const doc = readJsonFile(file, { what: 'a plan' });
  const r = planSchema.safeParse(doc);
  if (!r.success) throw usageError(`${file}: not a valid nettune plan: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`.trim());
  return r.data.changes.filter((c) => c.kind === 'sysctl').map(({ reason: _r, source: _s, ...c }) => c);
}

/** A sysctl.conf / sysctl.d file's assignments (the last one of a key wins, as sysctl does). */
export function sysctlFileChanges(file: string): PlanChange[] {
  const parsed = parseSysctlConf(readInputFile(file), file);
  const p = parsed.problems[0];
  if (p) throw usageError(`${p.file}:${p.line}: ${p.message}`);
  const glob = parsed.assignments.find((a) => a.glob);
  if (glob) throw usageError(`${file}:${glob.line}: ${glob.raw_key}: glob keys cannot be an experiment arm; name each key`);
  if (!parsed.assignments.length) throw usageError(`${file}: no sysctl assignments`);
  const last = new Map<string, PlanChange>();
  for (const a of parsed.assignments) last.set(a.key, { kind: 'sysctl', key: a.key, from: null, to: a.value });
  return [...last.values()];
}

export function setChanges(pairs: readonly string[]): PlanChange[] {
  return pairs.map((s) => {
    const c = parseSet(s);
    if (typeof c === 'string') throw usageError(c);
    return c;
  });
}

/** The workload the planner should plan for, from the experiment's benchmark. */
export const workloadOf = (bench: BenchSpec): Workload =>
  bench.kind === 'workload' ? bench.workload.plan_workload : bench.kind === 'throughput' ? 'throughput' : bench.kind === 'backlog' || bench.kind === 'crr' || bench.kind === 'ct-full' || bench.kind === 'ct-crr' ? 'connections' : bench.kind === 'rr' || bench.kind === 'tfo' ? 'latency' : 'balanced';

/** plan:auto: nettune's plan for the lab's link and the experiment's workload, computed in the
 *  lab's client namespace once it is up (sysctls only; both hosts). */
export function planAuto(bench: BenchSpec): (ctx: ArmContext) => Promise<Changes> {
  return async (ctx) => {
    const snap = await ctx.snapshot('client');
    if (!snap) return {};
    const rate = ctx.link.rate_bps;
    const link = rate ? { rate_bps: rate, rtt_s: ctx.link.rtt_s, bdp_bytes: bdpBytes(rate, ctx.link.rtt_s), loss_pct: ctx.link.loss_pct || null } : null;
    const plan = buildPlan(snap, { workload: workloadOf(bench), link, conns: null, dead_peer_s: bench.kind === 'keepalive' ? 30 : null });
    return both(plan.changes.filter((c) => c.kind === 'sysctl').map(({ reason: _r, source: _s, ...c }) => c));
  };
}

/** tuned:NAME|PATH: the profile's merged [sysctl] (include= resolved by the plan stage's tuned
 *  loader), with '>'/'<' judged against each lab host's own values once the lab is up — as tuned
 *  would on that host. Values tuned would refuse (a vector with '>', an unexpanded ${…}) are
 *  returned as notes, never silently dropped. */
export function tunedArm(ref: string): { changes: (ctx: ArmContext) => Promise<Changes>; profile: TunedProfile; refused: string[] } {
  const profile = loadTunedProfile(ref);
  if (!profile.has_sysctl || !profile.sysctl.length) throw usageError(`tuned:${ref}: the profile (${profile.files.join(', ')}) has no [sysctl] values`);
  if (!profile.sysctl_enabled) throw usageError(`tuned:${ref}: its [sysctl] unit is disabled (enabled=false)`);
  const refused: string[] = [];
  const changes = async (ctx: ArmContext): Promise<Changes> => {
    const out: Changes = {};
    for (const role of ['client', 'server'] as const) {
      const snap = await ctx.snapshot(role);
      if (!snap) continue;
      const w = tunedWrites(profile, snap.sysctl);
      for (const r of w.refused) if (!refused.includes(`${r.key} = ${r.tuned} (${r.status})`)) refused.push(`${r.key} = ${r.tuned} (${r.status})`);
      out[role] = Object.entries(w.values).map(([key, to]) => ({ kind: 'sysctl', key, from: null, to }));
    }
    return out;
  };
  return { changes, profile, refused };
}

export interface ParsedArm extends ArmInput {
  /** Fixed sysctl changes, checked before the lab (null for computed arms). */
  fixed: PlanChange[] | null;
}

/** Parses one arm SOURCE. `label` names the arm in the report. Rejects with exit 2 on bad input. */
export function parseArmSource(label: string, source: string, bench: BenchSpec): Promise<ParsedArm> {
  return new Promise((resolve) => resolve(parseArmSourceNow(label, source, bench)));
}

function parseArmSourceNow(label: string, source: string, bench: BenchSpec): ParsedArm {
  const s = source.trim();
  if (!s) throw usageError(`arm ${label}: empty source`);
  if (s === 'current') return { label, source: 'current (this host)', changes: { mirror: 'host' }, fixed: null };
  if (s === 'defaults') return { label, source: 'defaults (catalog)', changes: { mirror: 'defaults' }, fixed: null };
  if (s === 'plan:auto') return { label, source: 'plan:auto', changes: planAuto(bench), fixed: null };
  if (s.startsWith('plan:')) throw usageError(`arm ${label}: unknown ${s}`, 'plan:auto is the one planned source; a plan file is given by its path');
  if (s.startsWith('tuned:')) {
    const ref = s.slice(6);
    if (!ref) throw usageError(`arm ${label}: tuned: needs a profile name or path`);
    const t = tunedArm(ref);
    return {
      label,
      source: s,
      changes: t.changes,
      fixed: null,
      notes: () => [`tuned profile files, in merge order: ${t.profile.files.join(', ')}`, ...(t.refused.length ? [`tuned would not write (the kernel refuses or tuned cannot expand): ${t.refused.join('; ')}`] : [])],
    };
  }
  if (s.startsWith('set:')) {
    const pairs = s.slice(4).split(',').filter(Boolean);
    if (!pairs.length) throw usageError(`arm ${label}: set: needs key=value pairs`);
    const c = setChanges(pairs);
    return { label, source: s, changes: both(c), fixed: c };
  }
  const c = /\.json$/i.test(s) ? planFileChanges(s) : sysctlFileChanges(s);
  return { label, source: s, changes: both(c), fixed: c };
}

/** --arm NAME=SOURCE. */
export async function parseArmFlag(flag: string, bench: BenchSpec): Promise<ParsedArm> {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw usageError(`--arm ${flag}: expected NAME=SOURCE`, 'SOURCE: a plan .json, a sysctl file, tuned:NAME, current, defaults, plan:auto or set:key=value,…');
  const name = flag.slice(0, eq);
  if (!ARM_NAME.test(name)) throw usageError(`--arm ${flag}: invalid name ${JSON.stringify(name)} (letters, digits, _.:+-, at most 40)`);
  return parseArmSource(name, flag.slice(eq + 1), bench);
}

/**
 * Checks fixed changes with the catalog before any lab exists: a value the catalog rejects is
 * exit 2 here. Returns the global knobs (a lab namespace cannot set them) so the caller can warn.
 */
export function checkFixed(arm: ParsedArm): { global: string[] } {
  const global: string[] = [];
  for (const c of arm.fixed ?? []) {
    if (c.kind !== 'sysctl') continue;
    const entry = findEntry(c.key);
    if (!entry) continue; // not in the catalog: the lab namespace's kernel decides (exit 2 there)
    const v = validateValue(entry, c.to);
    if (!v.ok) throw usageError(`arm ${arm.label}: ${v.problem ?? `${c.key}: invalid value ${c.to}`}`);
    if (entry.scope === 'global') global.push(c.key);
  }
  return { global };
}
