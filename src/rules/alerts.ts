// Which audit rules become Prometheus alerts (`nettune export alerts`), and on what signal: data
// reviewed with the rules. Each alertable rule names the counter references its evidence rests on
// (as in the rule's own check); the renderer (src/export/alerts.ts) turns them into PromQL over the
// exporter's metric names (src/monitor/metrics-names.ts). Every other rule is listed with the
// reason it has no alert of its own (its finding still appears as nettune_audit_finding).
import { RCVQ_COUNTERS } from './buffers.js';
import type { Severity } from './types.js';

/** A knob as the exporter serves it: nettune_sysctl_value{key, field}. */
export interface KnobRef {
  key: string;
  /** Vector field name from the catalog (tcp_mem: low, pressure, high); absent for a scalar. */
  field?: string;
}

export type AlertSignal =
  /** The summed per-second rate of these counters is above `above`. */
  | { kind: 'rate'; refs: readonly string[]; above: number }
  /** A level over another level (conntrack.count / conntrack.max) is above `above`. */
  | { kind: 'ratio'; num: string; den: string; above: number }
  /** A level is at least `factor` × a knob's value. */
  | { kind: 'level_vs_knob'; ref: string; knob: KnobRef; factor: number };

export interface AlertSpec {
  rule: string;
  /** The alert fires when any of the signals holds. */
  signals: readonly AlertSignal[];
  /** How long the condition must hold (Prometheus `for:`). */
  for: string;
  /** The rate window of the PromQL (default 5m). */
  window?: string;
  /** Overrides the rule's severity where the alert is narrower than the rule. */
  severity?: Severity;
  /** The fix in one line (the audit computes the exact values; `nettune plan` turns them into a plan). */
  fix: string;
}

export const ALERTS: readonly AlertSpec[] = [
  {
    rule: 'backlog.listen-overflows',
    signals: [{ kind: 'rate', refs: ['netstat.TcpExt.ListenDrops'], above: 0 }],
    for: '5m',
    fix: "raise net.core.somaxconn and the application's listen() backlog; check that it accepts fast enough (ss -lnt: Recv-Q against Send-Q)",
  },
  {
    rule: 'backlog.softnet-dropped',
    signals: [{ kind: 'rate', refs: ['softnet.dropped'], above: 0 }],
    for: '5m',
    fix: 'raise net.core.netdev_max_backlog; drops on one CPU only: spread receive work (RPS, IRQ affinity) instead',
  },
  {
    rule: 'backlog.softnet-squeeze',
    signals: [{ kind: 'rate', refs: ['softnet.time_squeeze'], above: 0 }],
    // Occasional squeezes are normal under load: only a steady rate is worth a look.
    for: '15m',
    fix: 'raise net.core.netdev_budget / netdev_budget_usecs, or spread receive work over more CPUs (RSS queues, RPS)',
  },
  {
    rule: 'buffers.rcvq-drops',
    signals: [{ kind: 'rate', refs: RCVQ_COUNTERS, above: 0 }],
    for: '10m',
    fix: 'find the slow readers (ss -tmn: large Recv-Q); raise tcp_rmem max, or tcp_mem when TCP memory is near its pressure threshold',
  },
  {
    rule: 'buffers.tcp-mem-pressure',
    signals: [
      { kind: 'rate', refs: ['netstat.TcpExt.TCPMemoryPressures'], above: 0 },
      { kind: 'level_vs_knob', ref: 'sockstat.TCP.mem', knob: { key: 'net.ipv4.tcp_mem', field: 'pressure' }, factor: 1 },
    ],
    for: '5m',
    fix: 'raise net.ipv4.tcp_mem (pages), or find the sockets holding the memory (ss -tmn)',
  },
  {
    rule: 'buffers.udp-rcvbuf-errors',
    signals: [{ kind: 'rate', refs: ['snmp.Udp.RcvbufErrors', 'snmp6.Udp6.RcvbufErrors'], above: 0 }],
    for: '5m',
    fix: "raise net.core.rmem_default, or the application's SO_RCVBUF (capped at net.core.rmem_max)",
  },
  {
    rule: 'buffers.udp-sndbuf-errors',
    signals: [{ kind: 'rate', refs: ['snmp.Udp.SndbufErrors', 'snmp6.Udp6.SndbufErrors'], above: 0 }],
    for: '5m',
    fix: "raise net.core.wmem_default or the application's SO_SNDBUF; check tc -s qdisc for drops on the egress device (ENOBUFS)",
  },
  {
    rule: 'conntrack.table-full',
    signals: [{ kind: 'ratio', num: 'conntrack.count', den: 'conntrack.max', above: 0.8 }],
    for: '5m',
    fix: 'raise net.netfilter.nf_conntrack_max (and nf_conntrack_buckets), or shorten the timeouts that keep dead flows',
  },
  {
    rule: 'conntrack.drops',
    signals: [{ kind: 'rate', refs: ['conntrack.stats.drop', 'conntrack.stats.early_drop', 'conntrack.stats.insert_failed'], above: 0 }],
    for: '5m',
    fix: 'table full: raise nf_conntrack_max; insert_failed on UDP/NAT hosts: resolver options (single-request-reopen) or a node-local DNS cache',
  },
  {
    rule: 'conntrack.hash-chains',
    signals: [
      { kind: 'rate', refs: ['conntrack.stats.chaintoolong'], above: 0 },
      { kind: 'ratio', num: 'conntrack.max', den: 'conntrack.buckets', above: 8 },
    ],
    for: '15m',
    fix: 'raise net.netfilter.nf_conntrack_buckets toward nf_conntrack_max (options nf_conntrack hashsize=N makes it stick)',
  },
  {
    rule: 'ports.tw-buckets',
    signals: [
      { kind: 'rate', refs: ['netstat.TcpExt.TCPTimeWaitOverflow'], above: 0 },
      { kind: 'level_vs_knob', ref: 'sockstat.TCP.tw', knob: { key: 'net.ipv4.tcp_max_tw_buckets' }, factor: 0.9 },
    ],
    for: '5m',
    fix: 'raise net.ipv4.tcp_max_tw_buckets; reuse connections (keep-alive, pools) to make fewer TIME-WAIT sockets',
  },
  {
    rule: 'tcp.orphans-near-limit',
    signals: [{ kind: 'level_vs_knob', ref: 'sockstat.TCP.orphan', knob: { key: 'net.ipv4.tcp_max_orphans' }, factor: 0.5 }],
    for: '5m',
    fix: 'raise net.ipv4.tcp_max_orphans, or free orphans sooner (tcp_fin_timeout, tcp_orphan_retries)',
  },
];

/** Rules whose evidence is a counter (or a level the exporter serves) but that get no alert of
 *  their own, and why. Rules not listed here or in ALERTS judge configuration only: a setting
 *  does not change by itself, so nettune_audit_finding (and the drift metric) is their signal. */
export const NOT_ALERTED: Readonly<Record<string, string>> = {
  'nic.ring-small-with-drops': 'it needs the RX ring size against its maximum (ethtool -g), which the exporter does not serve; the drops alone (nettune_network_receive_missed_errors_total) do not say the ring is the cause',
  'ports.ephemeral-exhaustion': 'it needs the usable port count (ip_local_port_range minus ip_local_reserved_ports); the reserved list is not a number the exporter can serve',
};
