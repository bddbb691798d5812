// Drift: does the live host still hold what was applied? Given a Snapshot (the live values) and a
// baseline (the last transaction in effect from the journal, or a plan file), one entry per
// target: expected vs actual. The exporter (nettune_drift{key}), the dashboard and fleet drift
// share this comparison; it only reads a Snapshot, never the host itself.
import { snapshotNicValue } from '../apply/kind-nic.js';
import { ROUTE_ABSENT, routingSetKey } from '../plan/multihomed-kinds.js';
import { snapshotRouting } from '../apply/kind-route.js';
import { existsSync } from 'node:fs';
import { findEntry } from '../catalog/index.js';
import { kernelForm } from '../catalog/validate.js';
import { IN_EFFECT, lastTxIn, openJournalReadOnly, stepsOf, type StepRow, type Target, type TxRow } from '../apply/journal.js';
import { journalPath } from '../apply/state.js';
import { featureOf } from '../apply/io.js';
import { toTarget } from '../apply/validate.js';
import { mptcpLabel, mptcpLiveValue } from '../plan/mptcp-change.js';
import { nftTableShape, nftTextShape } from '../apply/kind-nft.js';
import { type Plan, planSchema } from '../plan/schema.js';
import type { PlanChange } from '../plan/types.js';
import { normaliseValue } from '../probe/sysctl.js';
import type { Snapshot } from '../snapshot/index.js';
import { usageError } from '../sys/errors.js';
import { parseJsonText, readInputFile } from '../sys/fs.js';

/** The targets drift compares: the plan-change kinds (files the transaction persisted are its own
 *  business, not live state). */
export type DriftTarget = Extract<Target, { kind: 'sysctl' | 'ethtool' | 'sysfs' | 'mptcp' | 'route' | 'rule' | 'nft' }>;

export interface ExpectedValue {
  target: DriftTarget;
  /** The value the baseline says should be live (as the kernel prints it where that is known). */
  value: string;
}

export type DriftSource =
  | { kind: 'transaction'; id: number; status: TxRow['status']; started_at: string; netns: string | null; source: string }
  | { kind: 'plan'; file: string; created_at: string };

export interface DriftBaseline {
  source: DriftSource;
  expected: ExpectedValue[];
}

export interface DriftEntry {
  /** The label: the sysctl key, `ethtool:DEV:GROUP.SETTING`, or the sysfs path. */
  key: string;
  kind: DriftTarget['kind'];
  expected: string;
  /** The live value, or null when the Snapshot does not hold it (key gone, device gone). */
  actual: string | null;
  /** true: differs · false: holds · null: cannot be compared from the Snapshot (see note). */
  drifted: boolean | null;
  note?: string;
}

export interface DriftResult {
  baseline: DriftSource | null;
  /** Why there is no baseline (no journal, nothing applied in this namespace). */
  note: string | null;
  entries: DriftEntry[];
  drifted: number;
  holding: number;
  unknown: number;
}

export const driftKey = (t: DriftTarget): string => (t.kind === 'route' || t.kind === 'rule' ? routingSetKey(t) : t.kind === 'sysctl' ? t.key : t.kind === 'ethtool' ? `ethtool:${t.device}:${t.group}.${t.setting}` : t.kind === 'nft' ? `nft:${t.family}:${t.table}` : t.kind === 'mptcp' ? mptcpLabel(t) : t.path);

/** A sysctl value as the kernel prints it (hex and octal in decimal, fields single-spaced). */
const sysctlForm = (key: string, value: string): string => normaliseValue(kernelForm(findEntry(key), value));

const isDriftTarget = (t: Target): t is DriftTarget => t.kind === 'sysctl' || t.kind === 'ethtool' || t.kind === 'sysfs' || t.kind === 'mptcp' || t.kind === 'route' || t.kind === 'rule' || t.kind === 'nft';

const changeTarget = (c: PlanChange): DriftTarget => toTarget(c) as DriftTarget;

/** What a transaction left in effect: each step that was written and not restored, the read-back
 *  value where there is one (it is what the kernel stored), else the wanted value. A later step
 *  on the same target wins. */
export function baselineFromTransaction(tx: TxRow, steps: readonly StepRow[]): DriftBaseline {
  const byKey = new Map<string, ExpectedValue>();
  for (const s of steps) {
    if (s.status !== 'done' || !isDriftTarget(s.target)) continue;
    byKey.set(driftKey(s.target), { target: s.target, value: s.after ?? s.wanted });
  }
  return {
    source: { kind: 'transaction', id: tx.id, status: tx.status, started_at: tx.started_at, netns: tx.netns, source: tx.source },
    expected: [...byKey.values()],
  };
}

export function baselineFromPlan(plan: Plan, file: string): DriftBaseline {
  const byKey = new Map<string, ExpectedValue>();
  for (const c of plan.changes) {
    const target = changeTarget(c);
    byKey.set(driftKey(target), { target, value: c.to });
  }
  return { source: { kind: 'plan', file, created_at: plan.created_at }, expected: [...byKey.values()] };
}

/** Reads a plan file (`plan --out`) as a drift baseline; anything else is bad input (exit 2). */
export function loadPlanBaseline(file: string): DriftBaseline {
  const text = readInputFile(file); // FIFOs, devices, directories, > 4 MiB, binary: exit 2
  const j = parseJsonText(text);
  if (!j.ok) throw usageError(`${file}: not valid JSON: ${j.message}`, 'make one with: nettune plan --workload W --out FILE');
  const r = planSchema.safeParse(j.value);
  if (!r.success) {
    const first = r.error.issues[0];
    throw usageError(`${file}: not a valid plan: ${first?.path.join('.') || '(top level)'}: ${first?.message ?? 'invalid'}`, 'make one with: nettune plan --workload W --out FILE');
  }
  return baselineFromPlan(r.data, file);
}

/** The newest transaction in effect in `netns` (null: the namespace nettune runs in), read from the
 *  journal; null when there is no journal or nothing is in effect there. A journal that cannot be
 *  opened is the environment's problem (exit 3, from openJournalReadOnly). */
export function lastAppliedBaseline(netns: string | null): DriftBaseline | null {
  if (!existsSync(journalPath())) return null;
  const db = openJournalReadOnly();
  const tx = lastTxIn(db, IN_EFFECT, netns);
  return tx ? baselineFromTransaction(tx, stepsOf(db, tx.id)) : null;
}

/** The live value of a target as far as a Snapshot holds it; `undefined`: not recorded there. */
function liveValue(snap: Snapshot, t: DriftTarget): string | null | undefined {
  switch (t.kind) {
    case 'route':
    case 'rule':
      return snapshotRouting(snap, t);
    case 'sysctl':
      return snap.sysctl[t.key] ?? (t.key in snap.sysctl_redacted ? undefined : null);
    case 'ethtool': {
      const link = snap.links.find((l) => l.name === t.device);
      if (!link) return null;
      const e = link.ethtool;
      if (!e) return undefined;
      switch (t.group) {
        case 'features': {
          const f = featureOf(e.features, t.setting);
          return f ? (f.active ? 'on' : 'off') : e.features ? null : undefined;
        }
        case 'rings':
        case 'channels': {
          const v = e[t.group]?.current[t.setting];
          return v === undefined ? (e[t.group] ? null : undefined) : v === null ? null : String(v);
        }
        case 'coalesce': {
          const v = e.coalesce?.[t.setting];
          return v === undefined ? (e.coalesce ? null : undefined) : v === null ? null : typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);
        }
        case 'flow-hash':
        case 'indirection':
          return snapshotNicValue(link, t.group, t.setting);
      }
      return undefined;
    }
    case 'mptcp':
      return mptcpLiveValue(snap, t);
    case 'sysfs': {
      // The Snapshot keeps RPS/XPS masks per queue; other sysfs attributes are not in it.
      const m = /^\/sys\/class\/net\/([^/]+)\/queues\/(rx|tx)-(\d+)\/(rps_cpus|xps_cpus)$/.exec(t.path);
      if (!m) return undefined;
      const link = snap.links.find((l) => l.name === m[1]);
      if (!link) return null;
      return (m[4] === 'rps_cpus' ? link.rps_cpus : link.xps_cpus)[Number(m[3])] ?? null;
    }
    case 'nft': {
      // the Snapshot has the ruleset as JSON: compared by shape (chains, hooks, rule counts)
      if (!snap.nft) return undefined;
      const table = snap.nft.tables.find((x) => x.family === t.family && x.name === t.table);
      return table ? nftTableShape(table) : null;
    }
  }
}

/** CPU masks compare as numbers ("00000003" and "3" are the same mask; commas group 32 bits). */
const sameMask = (a: string, b: string): boolean => {
  const n = (s: string): string => s.replace(/,/g, '').replace(/^0+/, '') || '0';
  return /^[0-9a-f,]+$/i.test(a) && /^[0-9a-f,]+$/i.test(b) ? n(a).toLowerCase() === n(b).toLowerCase() : a === b;
};

function compare(snap: Snapshot, e: ExpectedValue): DriftEntry {
  const key = driftKey(e.target);
  const base = { key, kind: e.target.kind };
  const live = liveValue(snap, e.target);
  if (live === undefined) {
    return { ...base, expected: e.value, actual: null, drifted: null, note: e.target.kind === 'sysctl' ? 'the value is redacted in the Snapshot' : 'not recorded in the Snapshot' };
  }
  if (live === null && e.value === ROUTE_ABSENT) return { ...base, expected: e.value, actual: null, drifted: false };
  if (live === null) return { ...base, expected: e.value, actual: null, drifted: true, note: 'no longer exists on the host' };
  if (e.target.kind === 'sysctl') {
    const expected = sysctlForm(e.target.key, e.value);
    return { ...base, expected, actual: live, drifted: normaliseValue(live) !== expected };
  }
  if (e.target.kind === 'nft') {
    const expected = nftTextShape(e.value);
    return { ...base, expected, actual: live, drifted: expected !== live, note: 'compared by shape: each chain@hook:rules' };
  }
  const expected = normaliseValue(e.value);
  const same = e.target.kind === 'sysfs' ? sameMask(expected, live) : expected.toLowerCase() === live.toLowerCase();
  return { ...base, expected, actual: live, drifted: !same };
}

/** Compares the live Snapshot with a baseline; without one, an empty result saying why. */
export function computeDrift(snap: Snapshot, baseline: DriftBaseline | null, why = 'no transaction in effect in this namespace and no --plan'): DriftResult {
  if (!baseline) return { baseline: null, note: why, entries: [], drifted: 0, holding: 0, unknown: 0 };
  const entries = baseline.expected.map((e) => compare(snap, e)).sort((a, b) => a.key.localeCompare(b.key));
  return {
    baseline: baseline.source,
    note: null,
    entries,
    drifted: entries.filter((e) => e.drifted === true).length,
    holding: entries.filter((e) => e.drifted === false).length,
    unknown: entries.filter((e) => e.drifted === null).length,
  };
}
