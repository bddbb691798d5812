// Everything apply checks before it takes the lock or writes anything: values against the catalog,
// keys against the kernel, knobs against the namespace, NIC settings against the device.
import { findEntry, validateSysctlValue } from '../catalog/index.js';
import { ETHTOOL_GROUPS, type PlanChange } from '../plan/types.js';
import type { Snapshot } from '../snapshot/index.js';
import { IFNAME } from '../sys/names.js';
import { featureOf, targetLabel } from './io.js';
import { checkNicChange, isNicGroup, ringsAfter } from './kind-nic.js';
import type { Target } from './journal.js';
import { parseSysfsPath } from './sysfs-path.js';
import { endpointAddressProblem, mptcpAfter, parseMptcpSet, validateMptcp } from './kind-mptcp.js';
import { parseRoutingSet, routingLabel, routingTarget } from '../plan/multihomed-kinds.js';
import { validateRouting } from './kind-route.js';
import { nftTableProblem } from './kind-nft.js';
import type { TxChange } from './transaction.js';

export interface Validated {
  changes: TxChange[];
  /** Left out with the reason (e.g. a global knob in a child namespace; already set). */
  skipped: { target: string; reason: string }[];
  /** Any of these stops the apply before anything is written (exit 2). */
  errors: string[];
  /** What --force let through (said on stderr, applied). */
  warnings: string[];
}

export interface ValidateOptions {
  /** Let through what is refused only because it would not take effect (an MPTCP endpoint on an
   *  address no interface has): apply --force. */
  force?: boolean;
}

export interface InputChange {
  change: PlanChange;
  reason: string;
  source: string;
  /** systemd-sysctl's "-key": a key missing on this kernel is skipped instead of an error. */
  ignoreMissing?: boolean;
}

/** The one mapping from a plan change to the transaction's target (plan, drift, export, lab use it). */
export function toTarget(c: PlanChange): Target {
  switch (c.kind) {
    case 'sysctl':
      return { kind: 'sysctl', key: c.key };
    case 'ethtool':
      return { kind: 'ethtool', device: c.device, group: c.group, setting: c.setting };
    case 'sysfs':
      return { kind: 'sysfs', path: c.path };
    case 'mptcp':
      return { kind: 'mptcp', object: c.object, address: c.address };
    case 'route':
    case 'rule':
      return routingTarget(c);
    case 'nft':
      return { kind: 'nft', family: c.family, table: c.table };
  }
}

/** A field as it goes into a one-line message: quoted when it holds anything but name characters
 *  (a newline stays inside the quotes), cut when long (a 5000-digit mask is not repeated). */
const q = (x: string): string => {
  const cut = x.length > 64 ? `${x.slice(0, 64)}…` : x;
  return /^[\w.:@+/-]*$/.test(x) ? cut : JSON.stringify(cut);
};

/** The highest CPU id in a cpulist ("0-1,4"), or null. */
const maxCpu = (list: string): number | null => {
  const ids = list.match(/\d+/g)?.map(Number) ?? [];
  return ids.length ? Math.max(...ids) : null;
};

/** A sysfs value's problem, or null: CPU masks (rps_cpus, xps_cpus) and the rx-queue mask
 *  (xps_rxqs) as the kernel prints them (32-bit hex groups, comma-separated; bitmap_parse), a CPU
 *  mask naming no CPU beyond the Snapshot's (the kernel refuses a mask wider than its CPUs); the
 *  other attributes (rps_flow_cnt, napi_defer_hard_irqs, gro_flush_timeout …) a decimal number. */
function sysfsValueProblem(attr: string, value: string, snap: Snapshot): string | null {
  const name = attr.split('/').pop() ?? attr;
  if (!/_cpus$|^xps_rxqs$/.test(name)) return /^\d{1,20}$/.test(value) ? null : `expected a decimal number, not ${q(value)}`;
  if (!/^[0-9a-fA-F]{1,8}(,[0-9a-fA-F]{1,8})*$/.test(value)) return `expected a hex mask (32-bit groups separated by commas, e.g. 3 or ff,ffffffff), not ${q(value)}`;
  if (!/_cpus$/.test(name)) return null;
  const bits = BigInt(`0x${value.replace(/,/g, '')}`);
  const highest = bits === 0n ? -1 : bits.toString(2).length - 1;
  const top = maxCpu(snap.cpus.list) ?? snap.cpus.online - 1;
  return highest > top ? `the mask ${q(value)} names CPU ${highest}; this host has CPUs ${snap.cpus.list || `0-${top}`}` : null;
}

export function validateChanges(inputs: readonly InputChange[], snap: Snapshot, opts: ValidateOptions = {}): Validated {
  const out: Validated = { changes: [], skipped: [], errors: [], warnings: [] };
  const seen = new Map<string, string>();
  const child = snap.netns.init === false;
  const state: Record<string, string> = { ...snap.sysctl };
  let mptcp = snap.mptcp;
  for (const { change: c, reason, source, ignoreMissing } of inputs) {
    const target = toTarget(c);
    const label = JSON.stringify(target);
    const prior = seen.get(label);
    if (prior !== undefined && prior !== c.to) {
      // a multi-line value (an nft table) or a long one is not repeated: the message stays one line
      const short = (v: string): boolean => !/[\n\r]/.test(v) && v.length <= 120;
      out.errors.push(`${targetLabel(target)}: set twice, to ${short(prior) && short(c.to) ? `${prior} and ${c.to}` : 'two different values'}`);
      continue;
    }
    seen.set(label, c.to);
    if (prior !== undefined) continue;
    if (c.kind === 'route' || c.kind === 'rule') {
      try {
        const earlier = out.changes.flatMap((x) => (x.target.kind === 'route' ? [{ family: x.target.family, table: x.target.table, dst: x.target.dst, to: x.to }] : []));
        const r = validateRouting(c, snap, earlier);
        if ('skip' in r) out.skipped.push({ target: routingLabel(routingTarget(c)), reason: r.skip });
        else out.changes.push({ target, to: r.to, reason, source });
      } catch (err) {
        out.errors.push((err as Error).message);
      }
      continue;
    }
    if (c.kind === 'sysctl') {
      const entry = findEntry(c.key);
      if (c.key in snap.sysctl_redacted) {
        out.errors.push(`${c.key}: a secret the Snapshot does not record (redacted), so its old value could not be journaled or restored; set it outside nettune`);
        continue;
      }
      if (!(c.key in snap.sysctl)) {
        if (ignoreMissing) out.skipped.push({ target: c.key, reason: 'not on this kernel (ignored: "-" prefix)' });
        else if (entry?.removed_in) out.errors.push(`${c.key}: removed in Linux ${entry.removed_in}`);
        else out.errors.push(`${c.key}: no such key on this kernel/namespace`);
        continue;
      }
      if (entry?.scope === 'global' && child) {
        out.skipped.push({ target: c.key, reason: 'global knob: the kernel only lets the initial namespace set it' });
        continue;
      }
      // The kernel checks some keys against others (the port range against the privileged
      // ports), and the transaction writes in this order: judge each value against the state the
      // earlier writes leave.
      const v = validateSysctlValue({ key: c.key, entry }, c.to, { sysctl: state, netnsInit: snap.netns.init, congestion: snap.congestion_control, cpus: snap.cpus.online });
      if (!v.ok) {
        out.errors.push(v.problem ?? `${c.key}: invalid value`);
        continue;
      }
      const to = v.kernel_value ?? c.to.trim().replace(/\s+/g, ' ');
      if (snap.sysctl[c.key] === to) {
        out.skipped.push({ target: c.key, reason: `already ${to}` });
        continue;
      }
      state[c.key] = to;
      out.changes.push({ target, to, reason, source });
      continue;
    } else if (c.kind === 'ethtool') {
      const link = snap.links.find((l) => l.name === c.device);
      if (!IFNAME.test(c.device) || !link) {
        out.errors.push(`ethtool ${q(c.device)}: no such device`);
        continue;
      }
      const group = c.group;
      if (isNicGroup(group)) {
        const earlier = out.changes.flatMap((x) => (x.target.kind === 'ethtool' && x.target.device === c.device && x.target.group === 'channels' ? [{ setting: x.target.setting, to: x.to }] : []));
        const r = checkNicChange(link, group, c.setting, c.to, ringsAfter(link, earlier));
        if (r.ok) out.changes.push({ target, to: r.to, reason, source });
        else if ('skip' in r) out.skipped.push({ target: `${q(c.device)} ${group} ${q(c.setting)}`, reason: r.skip });
        else out.errors.push(r.error);
        continue;
      }
      if (c.group === 'features') {
        const f = featureOf(link.ethtool?.features, c.setting);
        if (!['on', 'off'].includes(c.to)) out.errors.push(`ethtool ${q(c.device)} ${q(c.setting)}: on or off, not ${q(c.to)}`);
        else if (!f) out.errors.push(`ethtool ${q(c.device)}: unknown feature ${q(c.setting)}`);
        else if (f.fixed) out.errors.push(`ethtool ${q(c.device)} ${q(c.setting)}: fixed by the driver, cannot change`);
        else if ((f.active ? 'on' : 'off') === c.to) out.skipped.push({ target: `${q(c.device)} ${q(c.setting)}`, reason: `already ${q(c.to)}` });
        else out.changes.push({ target, to: c.to, reason, source });
        continue;
      }
      if (c.group === 'rings' || c.group === 'channels') {
        const mc = c.group === 'rings' ? link.ethtool?.rings : link.ethtool?.channels;
        const max = mc?.max[c.setting];
        if (!/^\d+$/.test(c.to)) out.errors.push(`ethtool ${q(c.device)} ${q(c.group)} ${q(c.setting)}: a number, not ${q(c.to)}`);
        else if (max === undefined || max === null) out.errors.push(`ethtool ${q(c.device)}: ${q(c.group)} ${q(c.setting)} is not adjustable on this device`);
        else if (Number(c.to) > max || Number(c.to) < 1) out.errors.push(`ethtool ${q(c.device)} ${q(c.group)} ${q(c.setting)} ${q(c.to)}: outside 1–${max}`);
        else out.changes.push({ target, to: c.to, reason, source });
        continue;
      }
      const co = link.ethtool?.coalesce;
      if (!/^(\d+|on|off)$/.test(c.to)) out.errors.push(`ethtool ${q(c.device)} coalesce ${q(c.setting)}: a number or on/off, not ${q(c.to)}`);
      else if (co?.[c.setting] === undefined || co[c.setting] === null)
        out.errors.push(`ethtool ${q(c.device)}: coalesce ${q(c.setting)} is not adjustable on this device (${co ? 'ethtool -c shows it as n/a or not at all' : 'ethtool -c not supported, or not asked for a virtual device'})`);
      else out.changes.push({ target, to: c.to, reason, source });
      continue;
    } else if (c.kind === 'mptcp') {
      // judged against the endpoints the earlier changes leave (ids free, taken, moved)
      const v = validateMptcp(c, { ...snap, mptcp });
      if ('error' in v) out.errors.push(v.error);
      else if ('skip' in v) out.skipped.push({ target: targetLabel(target), reason: v.skip });
      else {
        const unused = endpointAddressProblem(v.change, snap);
        if (unused && !opts.force) {
          out.errors.push(`${unused}; add the address first, or pass --force to add the endpoint anyway`);
          continue;
        }
        if (unused) out.warnings.push(`${unused} (added anyway: --force)`);
        out.changes.push({ target: toTarget(v.change), to: v.change.to, reason, source });
        mptcp = mptcpAfter(mptcp, v.change);
      }
      continue;
    } else if (c.kind === 'nft') {
      const problem = nftTableProblem({ kind: 'nft', family: c.family, table: c.table }, c.to);
      if (problem) out.errors.push(problem);
      else out.changes.push({ target, to: c.to, reason, source });
      continue;
    } else {
      const sysfs = parseSysfsPath(c.path);
      if (typeof sysfs === 'string') {
        out.errors.push(sysfs);
        continue;
      }
      const problem = sysfsValueProblem(sysfs.attr, c.to, snap);
      if (problem) {
        out.errors.push(`${q(c.path)}: ${problem}`);
        continue;
      }
    }
    out.changes.push({ target, to: c.to.trim().replace(/\s+/g, ' '), reason, source });
  }
  return out;
}

/** Parses `--set` arguments: key=value for sysctls, ethtool:DEV:GROUP:SETTING=VALUE (GROUP also
 *  flow-hash with SETTING a flow type: ethtool:eth0:flow-hash:tcp4=sdfn, and indirection:
 *  ethtool:eth0:indirection:table=equal 4), sysfs:/sys/class/net/…=VALUE,
 *  mptcp:endpoint=ADDR,… and mptcp:limits=… (kind-mptcp.ts),
 *  route[6]:TABLE:DST=VALUE and rule[6]:PRIORITY=RULE (kind-route.ts). */
export function parseSet(arg: string): PlanChange | string {
  const eq = arg.indexOf('=');
  if (eq <= 0) return `--set ${arg}: expected key=value`;
  const left = arg.slice(0, eq).trim();
  // Only blanks are trimmed: a newline or another control character stays in the value, so the
  // validator refuses it instead of it being silently cut off.
  const value = arg.slice(eq + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  if (value === '') return `--set ${arg}: empty value`;
  if (left.startsWith('ethtool:')) {
    const [, device, group, setting] = left.split(':');
    const g = ETHTOOL_GROUPS.find((x) => x === group);
    if (!device || !setting || !g) return `--set ${arg}: expected ethtool:DEVICE:${ETHTOOL_GROUPS.join('|')}:SETTING=VALUE`;
    return { kind: 'ethtool', device, group: g, setting, from: null, to: value };
  }
  if (left.startsWith('mptcp:')) return parseMptcpSet(left, value, arg);
  if (left.startsWith('sysfs:')) return { kind: 'sysfs', path: left.slice(6), from: null, to: value };
  const routing = parseRoutingSet(left, value, arg);
  if (routing !== null) return routing;
  const key = left.includes('.') ? left : left.replace(/\//g, '.');
  return { kind: 'sysctl', key, from: null, to: value };
}
