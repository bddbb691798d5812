// Experiment arms: what each arm sets, per lab host, and where it came from. An arm is either a
// fixed list of changes (a plan, a sysctl file, --set, a built-in arm) or computed once the lab is
// up (the planner for the lab's link; the lab's own baseline). Every arm is completed over the
// union of the keys any arm touches — a key an arm does not set runs at the lab's baseline value —
// so runs of one arm never inherit the previous arm's settings.
import type { PlanChange } from '../plan/types.js';
import { ROUTE_ABSENT, routingLabel, routingTarget } from '../plan/multihomed-kinds.js';
import { snapshotRouting } from '../apply/kind-route.js';
import type { Snapshot } from '../snapshot/index.js';
import { featureOf } from '../apply/io.js';
import { ENDPOINT_ABSENT, mptcpLiveValue } from '../plan/mptcp-change.js';
import type { ArmSpec, Role } from './experiments.js';
import type { LabState, LinkEmulation } from './lab.js';

export type Changes = Partial<Record<Role, PlanChange[]>>;

export const ROLES = ['client', 'server', 'router'] as const;

export interface ArmContext {
  lab: LabState;
  link: LinkEmulation;
  /** The Snapshot of a role's namespace in the fresh lab (after the experiment's setup). */
  snapshot: (role: Role) => Promise<Snapshot | null>;
  /** This host's Snapshot (the initial namespace), for `current`. */
  host: () => Promise<Snapshot>;
}

const isMirror = (c: ArmInput['changes']): c is { mirror: 'host' | 'defaults' } => typeof c === 'object' && 'mirror' in c;

/**
 * Resolves every arm to its own changes: fixed ones as given, computed ones from the lab, then the
 * mirrors (current, defaults) over the union of the keys the other arms touch. Keys a mirror has
 * no value for (no catalog default; not on this host) are returned per arm.
 */
export async function resolveArms(arms: readonly ArmInput[], ctx: ArmContext, defaultOf: (c: PlanChange) => string | null): Promise<{ changes: Changes[]; missing: string[][] }> {
  const changes: Changes[] = [];
  const missing: string[][] = arms.map(() => []);
  for (const a of arms) changes.push(isMirror(a.changes) ? {} : typeof a.changes === 'function' ? await a.changes(ctx) : a.changes);
  for (const [i, a] of arms.entries()) {
    if (!isMirror(a.changes)) continue;
    const host = a.changes.mirror === 'host' ? await ctx.host() : null;
    const own: Changes = {};
    for (const role of ROLES) {
      const union = new Map<string, PlanChange>();
      for (const [j, other] of changes.entries()) if (j !== i && !isMirror((arms[j] as ArmInput).changes)) for (const c of other[role] ?? []) union.set(targetId(c), c);
      const list: PlanChange[] = [];
      for (const [id, c] of union) {
        const v = host ? (c.kind === 'sysctl' ? valueIn(host, c) : null) : defaultOf(c);
        if (v === null) {
          if (!(missing[i] as string[]).includes(id)) (missing[i] as string[]).push(id);
        } else list.push({ ...c, to: v });
      }
      if (list.length) own[role] = list;
    }
    changes[i] = own;
  }
  return { changes, missing };
}

export interface ArmInput {
  label: string;
  /** Where the arm comes from: "built-in", a file, "--set", "plan:auto", "baseline" … */
  source: string;
  /** Fixed changes; computed from the lab once it is up; or the values of the keys the other arms
   *  touch, taken from this host (current) or from the catalog's kernel defaults (defaults). */
  changes: Changes | ((ctx: ArmContext) => Promise<Changes>) | { mirror: 'host' | 'defaults' };
  bench?: ArmSpec['bench'];
  /** Notes for the report, asked once the arm has been resolved (e.g. values tuned would refuse). */
  notes?: () => string[];
}

/** Identity of a change's target (role-independent): sysctl key, ethtool device+setting, sysfs path. */
export const targetId = (c: PlanChange): string =>
  c.kind === 'route' || c.kind === 'rule' ? routingLabel(routingTarget(c)) : c.kind === 'sysctl' ? c.key : c.kind === 'ethtool' ? `ethtool ${c.device} ${c.group} ${c.setting}` : c.kind === 'nft' ? `nft ${c.family} ${c.table}` : c.kind === 'mptcp' ? `mptcp ${c.object} ${c.address ?? ''}` : `sysfs ${c.path}`;

/** What a change's target is set to in a Snapshot. */
export function valueIn(snap: Snapshot, c: PlanChange): string | null {
  if (c.kind === 'sysctl') return snap.sysctl[c.key] ?? null;
  if (c.kind === 'mptcp') {
    const v = mptcpLiveValue(snap, { kind: 'mptcp', object: c.object, address: c.address });
    return v === undefined ? null : (v ?? ENDPOINT_ABSENT); // an endpoint absent in the lab: the other arms remove it
  }
  if (c.kind === 'route' || c.kind === 'rule') {
    const v = snapshotRouting(snap, routingTarget(c)); // absent in the lab: the other arms remove it
    return v === undefined ? null : (v ?? ROUTE_ABSENT);
  }
  if (c.kind === 'ethtool' && c.group === 'features') {
    const f = featureOf(snap.links.find((l) => l.name === c.device)?.ethtool?.features, c.setting);
    return f ? (f.active ? 'on' : 'off') : null;
  }
  return null;
}

/**
 * Completes each arm over the union of targets (per role) that any arm changes: a target an arm
 * leaves alone gets the lab's baseline value. Targets without a readable baseline (a sysfs file,
 * ethtool rings) are left out of the arms that do not set them, and returned so the report can say.
 */
export async function completeArms(arms: readonly Changes[], ctx: ArmContext): Promise<{ arms: Changes[]; unrestorable: string[] }> {
  const out: Changes[] = arms.map(() => ({}));
  const unrestorable: string[] = [];
  for (const role of ROLES) {
    const union = new Map<string, PlanChange>();
    for (const a of arms) for (const c of a[role] ?? []) if (!union.has(targetId(c))) union.set(targetId(c), c);
    if (!union.size) continue;
    const snap = await ctx.snapshot(role);
    for (const [i, a] of arms.entries()) {
      const own = new Map((a[role] ?? []).map((c) => [targetId(c), c]));
      const list: PlanChange[] = [];
      for (const [id, c] of union) {
        const mine = own.get(id);
        if (mine) {
          list.push(mine);
          continue;
        }
        const v = snap ? valueIn(snap, c) : null;
        if (v === null) {
          if (!unrestorable.includes(`${role}: ${id}`)) unrestorable.push(`${role}: ${id}`);
          continue;
        }
        list.push({ ...c, to: v });
      }
      (out[i] as Changes)[role] = list;
    }
  }
  return { arms: out, unrestorable };
}

/** Arm labels are A, B, C, … in the order given. */
export const armKey = (i: number): string => (i < 26 ? String.fromCharCode(65 + i) : `A${i}`);

/**
 * Interleaved run order for n arms: each round runs every arm once, in order (ABC ABC …), so slow
 * drift and machine noise hit all arms alike instead of passing for an effect.
 */
export function interleave(arms: number, reps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < reps; r++) for (let i = 0; i < arms; i++) out.push(i);
  return out;
}
