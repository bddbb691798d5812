// The SOURCE of an export, turned into one ExportDoc: a plan file (validated with the plan schema),
// a journaled transaction (`tx:ID`: its value steps, before → what the kernel held after, with the
// plan's reasons where it applied a plan) or `current` (every live sysctl that differs from this
// kernel's default, judged by the catalog's defaults evaluator). Every change is checked here,
// before any renderer sees it: sysctl values by the one value validator, NIC settings by the
// same checks the persisted NIC unit applies (src/apply/persist.ts nicLine).
import { findEntry, validateSysctlValue } from '../catalog/index.js';
import { describeDefault, isKernelDefault, kernelDefault } from '../catalog/defaults.js';
import { targetLabel } from '../apply/io.js';
import type { StepRow, TxRow } from '../apply/journal.js';
import { nicLine } from '../apply/persist.js';
import { mptcpLine } from '../apply/kind-mptcp.js';
import { toTarget } from '../apply/validate.js';
import { nftTableProblem } from '../apply/kind-nft.js';
import type { MptcpTarget } from '../plan/mptcp-change.js';
import { type Plan, planSchema } from '../plan/schema.js';
import type { Snapshot } from '../snapshot/index.js';
import { errorMessage, usageError } from '../sys/errors.js';
import { readJsonFile } from '../sys/fs.js';
import type { ExportChange, ExportDoc } from './types.js';
import { canonicalWanted } from '../plan/multihomed-kinds.js';
import { ENDPOINT_ABSENT } from '../plan/mptcp-change.js';
import { routeDstProblem } from './routing.js';

/** A sysctl key as sysctl.d, shell and YAML may carry it: dotted segments of safe characters
 *  (interface names with '/' for '.', as sysctl writes them). */
const SYSCTL_KEY = /^[a-z0-9_][a-z0-9_-]*(\.[A-Za-z0-9_@+/-]+)+$/;
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\x00-\x1f\x7f]/;

/** Refuses (exit 2, naming each) changes no format could write safely. */
export function checkChanges(changes: readonly ExportChange[], label: string): void {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const c of changes) {
    const id = changeId(c);
    const prior = seen.get(id);
    if (prior !== undefined && prior !== c.to) problems.push(`${id}: set twice, to ${JSON.stringify(prior)} and ${JSON.stringify(c.to)}`);
    seen.set(id, c.to);
    if (c.kind === 'sysctl') {
      if (!SYSCTL_KEY.test(c.key)) {
        problems.push(`${JSON.stringify(c.key)}: not a sysctl key`);
        continue;
      }
      if (CONTROL.test(c.to) || CONTROL.test(c.from ?? '')) {
        problems.push(`${c.key}: a control character in its value`);
        continue;
      }
      const check = validateSysctlValue({ key: c.key, entry: findEntry(c.key) }, c.to);
      if (!check.ok) problems.push(`${c.key} = ${c.to}: ${check.problem ?? 'invalid'}`);
    } else if (c.kind === 'route' || c.kind === 'rule') {
      try {
        canonicalWanted(c);
        const bad = routeDstProblem(c);
        if (bad) problems.push(`${changeId(c)}: ${bad}`);
      } catch (err) {
        problems.push(`${changeId(c)}: ${errorMessage(err)}`);
      }
    } else if (c.kind === 'mptcp') {
      try {
        mptcpLine(toTarget(c) as MptcpTarget, c.to, null, '');
      } catch (err) {
        problems.push(`${changeId(c)}: ${errorMessage(err)}`);
      }
    } else if (c.kind === 'nft') {
      const problem = nftTableProblem({ kind: 'nft', family: c.family, table: c.table }, c.to);
      if (problem) problems.push(problem);
    } else {
      try {
        nicLine(c.kind === 'ethtool' ? { kind: 'ethtool', device: c.device, group: c.group, setting: c.setting } : { kind: 'sysfs', path: c.path }, c.to, null, '');
      } catch (err) {
        problems.push(`${changeId(c)}: ${errorMessage(err)}`);
      }
    }
  }
  if (problems.length) throw usageError(`${label}: nothing was exported; these changes cannot be exported:\n  ${problems.join('\n  ')}`);
}

/** One label per change target, as apply and show-tx name them. */
export const changeId = (c: ExportChange): string => targetLabel(toTarget(c));

export function docFromPlan(plan: Plan, label: string): ExportDoc {
  return {
    label,
    kind: 'plan',
    created_at: plan.created_at,
    host: { hostname: plan.host.hostname, kernel: plan.host.kernel, netns: plan.host.netns },
    workload: plan.workload,
    link: plan.link,
    changes: plan.changes.map((c) => ({ ...c })),
    skipped: plan.skipped,
    notes: [...plan.notes],
    transaction: null,
  };
}

export function loadPlanFile(path: string): ExportDoc {
  const doc = readJsonFile(path, { what: 'a nettune plan' });
  const r = planSchema.safeParse(doc);
  if (!r.success) {
    const first = r.error.issues[0];
    throw usageError(`${path}: not a valid plan: ${first?.path.join('.') || '(top level)'}: ${first?.message ?? ''}`, 'make one with: nettune plan --workload W --out plan.json');
  }
  const out = docFromPlan(r.data, path);
  checkChanges(out.changes, path);
  return out;
}

const VALUE_KINDS = new Set(['sysctl', 'ethtool', 'sysfs', 'mptcp', 'route', 'rule', 'nft']);

/** A transaction's value steps as changes: before → the value the kernel held after the write
 *  (what was asked when it was not read back). Reasons from the plan it applied, if any. */
export function docFromTransaction(tx: TxRow, steps: readonly StepRow[], before: Snapshot | null): ExportDoc {
  const label = `tx:${tx.id}`;
  const planned = planSchema.safeParse(tx.plan);
  const plan = planned.success ? planned.data : null;
  const reasonOf = (id: string): { reason: string; source: string } | undefined => {
    const c = plan?.changes.find((p) => changeId(p) === id);
    return c ? { reason: c.reason, source: c.source } : undefined;
  };
  const notes: string[] = [];
  const changes: ExportChange[] = [];
  for (const s of steps) {
    if (!VALUE_KINDS.has(s.target.kind)) continue;
    const id = targetLabel(s.target);
    if (s.status === 'failed' || s.status === 'writing') {
      notes.push(`${id}: left out: the write ${s.status === 'failed' ? `failed (${s.error ?? 'no reason recorded'})` : 'never finished'} in transaction ${tx.id}`);
      continue;
    }
    const to = s.after ?? s.wanted;
    const why = reasonOf(id) ?? { reason: `set by transaction ${tx.id} (${tx.source})`, source: label };
    const t = s.target;
    if (t.kind === 'sysctl') changes.push({ kind: 'sysctl', key: t.key, from: s.before, to, ...why });
    else if (t.kind === 'ethtool') changes.push({ kind: 'ethtool', device: t.device, group: t.group, setting: t.setting, from: s.before, to, ...why });
    else if (t.kind === 'sysfs') changes.push({ kind: 'sysfs', path: t.path, from: s.before, to, ...why });
    else if (t.kind === 'mptcp') {
      // an endpoint the transaction removed: `absent`, as a plan change says it (a revert re-adds the before-value)
      const removed = s.after === null && s.status === 'done' && t.object === 'endpoint';
      changes.push({ kind: 'mptcp', object: t.object, address: t.address, from: s.before, to: removed ? ENDPOINT_ABSENT : to, ...why });
    }
    else if (t.kind === 'route' || t.kind === 'rule') changes.push({ ...t, from: s.before, to, ...why });
    else if (t.kind === 'nft') {
      const planned = plan?.changes.find((p) => changeId(p) === id);
      changes.push({ kind: 'nft', family: t.family, table: t.table, from: s.before, to, ...(planned?.kind === 'nft' && planned.notrack ? { notrack: planned.notrack } : {}), ...why });
    }
    if (s.after !== null && s.after !== s.wanted) notes.push(`${id}: asked ${s.wanted}, the kernel holds ${s.after} (exported as held)`);
  }
  if (!['applied', 'confirmed', 'awaiting_confirm'].includes(tx.status)) notes.push(`transaction ${tx.id} is ${tx.status}: its values are not in effect on the host now`);
  const out: ExportDoc = {
    label,
    kind: 'tx',
    created_at: tx.started_at,
    host: before ? { hostname: before.hostname, kernel: before.kernel.release, netns: tx.netns } : plan ? { hostname: plan.host.hostname, kernel: plan.host.kernel, netns: tx.netns } : null,
    workload: plan?.workload ?? null,
    link: plan?.link ?? null,
    changes,
    skipped: plan?.skipped ?? [],
    notes: [...notes, ...(plan?.notes ?? [])],
    transaction: {
      id: tx.id,
      status: tx.status,
      started_at: tx.started_at,
      finished_at: tx.finished_at,
      source: tx.source,
      netns: tx.netns,
      error: tx.error,
      steps: steps.map((s) => ({ target: targetLabel(s.target), kind: s.target.kind, before: s.target.kind === 'file' ? null : s.before, wanted: s.target.kind === 'file' ? '(file)' : s.wanted, after: s.target.kind === 'file' ? null : s.after, status: s.status })),
    },
  };
  checkChanges(out.changes, label);
  return out;
}

/** `current`: every sysctl of the Snapshot whose value is not this kernel's default. Keys whose
 *  default the Snapshot cannot decide are listed as skipped; keys the catalog has no default for
 *  are not considered (nettune cannot say they were tuned). */
export function docFromCurrent(snap: Snapshot): ExportDoc {
  const changes: ExportChange[] = [];
  const skipped: Plan['skipped'] = [];
  let unknown = 0;
  for (const key of Object.keys(snap.sysctl).sort()) {
    const live = snap.sysctl[key] ?? '';
    const d = kernelDefault(key, snap);
    if (!d) {
      unknown++;
      continue;
    }
    const is = isKernelDefault(d, live);
    if (is === null) {
      skipped.push({ key, reason: `kernel default not known for this snapshot: ${d.how}`, source: 'current' });
      continue;
    }
    if (is) continue;
    const entry = findEntry(key);
    // a value the validator refuses (a kernel-computed string, a secret) is not re-exported
    if (!validateSysctlValue({ key, entry }, live).ok) {
      skipped.push({ key, reason: `live value ${JSON.stringify(live)} is not one nettune can write back`, source: 'current' });
      continue;
    }
    changes.push({
      kind: 'sysctl',
      key,
      from: d.status === 'exact' ? d.value : null,
      to: live,
      reason: `live value differs from the kernel default (${describeDefault(d)}${d.how ? `: ${d.how}` : ''})`,
      source: 'current',
    });
  }
  const where = snap.netns.name ? `netns ${snap.netns.name}` : snap.netns.init === false ? 'a child namespace' : 'the initial namespace';
  return {
    label: 'current',
    kind: 'current',
    created_at: snap.taken_at,
    host: { hostname: snap.hostname, kernel: snap.kernel.release, netns: snap.netns.name },
    workload: null,
    link: null,
    changes,
    skipped,
    notes: [
      `current: the ${changes.length} sysctls of ${snap.hostname} (${where}, kernel ${snap.kernel.release}) that differ from the kernel defaults; ${unknown} keys without a catalogued default were not considered`,
      'current covers sysctls only: nettune does not know a driver’s default offloads, rings or coalescing',
    ],
    transaction: null,
  };
}
