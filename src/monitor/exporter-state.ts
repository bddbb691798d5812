// The exporter's families about the host's configuration and nettune's judgement of it, none of
// which node_exporter has: every numeric catalog knob (nettune_sysctl_value{key,field}),
// congestion control and qdiscs as info metrics, link facts, the audit's findings on the rates
// between two scrapes, drift from what was applied, and the build.
import { catalog, type CatalogEntry, keyMatches, isPattern } from '../catalog/index.js';
import type { AuditResult } from '../rules/engine.js';
import { severityRank } from '../rules/engine.js';
import type { Severity } from '../rules/types.js';
import type { Snapshot } from '../snapshot/index.js';
import { VERSION } from '../version.js';
import type { DriftResult } from './drift.js';
import { PREFIX } from './metrics-names.js';
import type { Families } from './metrics-registry.js';

export interface KnobSeries {
  key: string;
  field: string | null;
  index: number;
}

const NUMERIC = /^-?\d+$/;

/** The catalog's numeric knobs present in a Snapshot, one entry per vector field. */
export function numericKnobs(snap: Snapshot): KnobSeries[] {
  const entries = catalog().filter((e) => e.type !== 'string');
  const exact = new Map(entries.filter((e) => !isPattern(e.key)).map((e) => [e.key, e]));
  const patterns = entries.filter((e) => isPattern(e.key));
  const out: KnobSeries[] = [];
  for (const [key, value] of Object.entries(snap.sysctl)) {
    const entry: CatalogEntry | undefined = exact.get(key) ?? patterns.find((e) => keyMatches(e.key, key));
    if (!entry) continue;
    const parts = value.split(' ');
    if (entry.type === 'int_vector') {
      const fields = entry.fields ?? [];
      parts.forEach((p, i) => NUMERIC.test(p) && out.push({ key, field: fields[i] ?? String(i), index: i }));
    } else if (parts.length === 1 && NUMERIC.test(value)) out.push({ key, field: null, index: 0 });
  }
  return out;
}

// A Snapshot's knob series (labels and value) are worked out once: the exporter sets the same
// ones on every scrape until the next refresh.
type KnobValue = { labels: { key: string; field: string }; value: number };
const knobCache = new WeakMap<Snapshot, KnobValue[]>();

function knobSeries(snap: Snapshot): KnobValue[] {
  let series = knobCache.get(snap);
  if (!series) {
    series = numericKnobs(snap).map((k) => ({ labels: { key: k.key, field: k.field ?? '' }, value: Number((snap.sysctl[k.key] ?? '').split(' ')[k.index]) }));
    knobCache.set(snap, series);
  }
  return series;
}

function tuningFamilies(f: Families, snap: Snapshot): void {
  const help = 'Value of a numeric sysctl from the parameter catalog (vector knobs such as tcp_rmem: one series per field)';
  for (const k of knobSeries(snap)) f.gauge(`${PREFIX}sysctl_value`, help, k.value, k.labels);
  const cc = snap.congestion_control;
  if (cc.current) f.gauge(`${PREFIX}tcp_congestion_control_info`, 'The default TCP congestion control (net.ipv4.tcp_congestion_control)', 1, { algorithm: cc.current });
  for (const a of cc.available) f.gauge(`${PREFIX}tcp_available_congestion_control_info`, 'A congestion control this kernel has (tcp_available_congestion_control); allowed=1 when unprivileged sockets may choose it', 1, { algorithm: a, allowed: cc.allowed.includes(a) ? '1' : '0' });
  for (const l of snap.links) {
    const device = l.name;
    f.gauge(`${PREFIX}network_info`, 'Facts about a network device (value 1)', 1, { device, kind: l.kind ?? '', driver: l.driver ?? '', link_type: l.link_type ?? '', operstate: l.state, address: l.address ?? '' });
    if (l.mtu !== null) f.gauge(`${PREFIX}network_mtu_bytes`, 'Device MTU', l.mtu, { device });
    if (l.txqlen !== null) f.gauge(`${PREFIX}network_transmit_queue_length`, 'Device transmit queue length (txqueuelen, packets)', l.txqlen, { device });
    if (l.speed_mbps !== null && l.speed_mbps > 0) f.gauge(`${PREFIX}network_speed_bytes`, 'Link speed in bytes per second (ethtool speed)', l.speed_mbps * 125_000, { device });
    if (l.carrier !== null) f.gauge(`${PREFIX}network_carrier`, 'Carrier detected (1) or not (0)', l.carrier ? 1 : 0, { device });
    f.gauge(`${PREFIX}network_receive_queues`, 'RX queues of the device', l.rx_queues, { device });
    f.gauge(`${PREFIX}network_transmit_queues`, 'TX queues of the device', l.tx_queues, { device });
    for (const q of l.qdiscs) {
      const kind = typeof q.kind === 'string' ? q.kind : '';
      const handle = typeof q.handle === 'string' ? q.handle : '';
      const parent = typeof q.parent === 'string' ? q.parent : q.root === true ? 'root' : '';
      f.gauge(`${PREFIX}qdisc_info`, 'A qdisc attached to a device (value 1)', 1, { device, kind, handle, parent });
    }
  }
}

/** One series per rule that fires (its highest severity among its hits), value 1. */
function auditFamilies(f: Families, audit: AuditResult | null): void {
  if (!audit) return;
  const byRule = new Map<string, Severity>();
  for (const finding of audit.findings) {
    const cur = byRule.get(finding.id);
    if (!cur || severityRank(finding.severity) > severityRank(cur)) byRule.set(finding.id, finding.severity);
  }
  for (const [rule, severity] of byRule) f.gauge(`${PREFIX}audit_finding`, 'An audit rule that fires on the rates between the last two scrapes (value 1; nettune rules explain RULE)', 1, { rule, severity });
  f.gauge(`${PREFIX}audit_rules_evaluated`, 'Audit rules evaluated at the last scrape', audit.evaluated);
  if (audit.interval_s !== null) f.gauge(`${PREFIX}audit_interval_seconds`, 'Interval between the two samples the audit judged', audit.interval_s);
}

function driftFamilies(f: Families, drift: DriftResult | null): void {
  if (!drift?.baseline) return;
  const b = drift.baseline;
  f.gauge(`${PREFIX}drift_baseline_info`, 'What drift is measured against (value 1): the last transaction in effect or a plan file', 1, b.kind === 'transaction' ? { source: 'transaction', id: String(b.id), status: b.status } : { source: 'plan', id: b.file, status: '' });
  for (const e of drift.entries) if (e.drifted !== null) f.gauge(`${PREFIX}drift`, '1 where the live value differs from what was applied (or planned), 0 where it holds', e.drifted ? 1 : 0, { key: e.key });
}

export interface StateInput {
  base: Snapshot;
  audit: AuditResult | null;
  drift: DriftResult | null;
}

const NO_DRIFT = {};

export function stateFamilies(f: Families, i: StateInput): void {
  // The tuning state and drift change only with a refresh: kept as they are until then.
  f.group('tuning', i.base, () => tuningFamilies(f, i.base));
  auditFamilies(f, i.audit);
  f.group('drift', i.drift ?? NO_DRIFT, () => driftFamilies(f, i.drift));
  f.gauge(`${PREFIX}snapshot_timestamp_seconds`, 'When the configuration (sysctl tree, links, ethtool) was last read, Unix time', Date.parse(i.base.taken_at) / 1000);
  f.gauge(`${PREFIX}build_info`, 'nettune version and Node.js runtime (value 1)', 1, { version: VERSION, nodejs_version: process.versions.node });
}
