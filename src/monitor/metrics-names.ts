// Prometheus names for what the Snapshot counts: the one mapping the exporter serves and the
// alert rules and the Grafana dashboard query, so a name cannot differ between them. Names follow
// the Prometheus conventions: `nettune_` prefix, snake_case, base units (bytes, seconds), `_total`
// on counters, labels (cpu, device, key) rather than names for what repeats.
import { isGaugeRef } from '../rules/engine.js';

export const PREFIX = 'nettune_';

/** Kernel counter names (CamelCase, acronyms, plurals of acronyms) to snake_case tokens:
 *  ListenOverflows → listen_overflows, TCPSpuriousRTOs → tcp_spurious_rtos, ReasmOKs → reasm_oks,
 *  MPJoinSynAckHMacFailure → mp_join_syn_ack_hmac_failure (a lone letter joins the next token, so
 *  no name carries a token Prometheus would read as a unit abbreviation such as `h` or `s`). */
export function snakeCase(name: string): string {
  const tokens = name.match(/[A-Z]{2,}s(?![a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*(?![a-z])|\d+/g) ?? [name];
  const out: string[] = [];
  let carry = '';
  for (const t of tokens.map((x) => x.toLowerCase())) {
    if (/^[a-z]$/.test(t)) {
      carry += t;
      continue;
    }
    out.push(carry + t);
    carry = '';
  }
  if (carry) out.push(carry);
  return out.join('_').replace(/[^a-z0-9_]/g, '_');
}

/** Fields counted in a unit other than the base one: the exporter divides, the name says the base. */
const SCALED: Readonly<Record<string, { suffix: string; factor: number }>> = {
  'snmp.Tcp.RtoMin': { suffix: 'seconds', factor: 1e-3 },
  'snmp.Tcp.RtoMax': { suffix: 'seconds', factor: 1e-3 },
  'netstat.TcpExt.TCPMemoryPressuresChrono': { suffix: 'seconds', factor: 1e-3 },
};

export type MetricKind = 'counter' | 'gauge';

export interface CounterMetric {
  name: string;
  kind: MetricKind;
  /** Multiply the kernel's number by this to get the metric's value (ms → s). */
  factor: number;
  /** Labels that split the kernel's sum (cpu, device): a reference sums over them. */
  by: readonly string[];
}

/** /proc/net/snmp, snmp6 and netstat fields: nettune_netstat_<group>_<field>[_total], the group
 *  in lower case (tcpext, ipext, mptcpext, tcp, udp, ip6 …) as node_exporter's netstat collector
 *  groups them. Octets are bytes. */
export function netstatMetric(source: 'snmp' | 'snmp6' | 'netstat', group: string, field: string): CounterMetric {
  const ref = `${source}.${group}.${field}`;
  const kind: MetricKind = isGaugeRef(ref) ? 'gauge' : 'counter';
  const scaled = SCALED[ref];
  let base = `${PREFIX}netstat_${group.toLowerCase().replace(/[^a-z0-9]/g, '_')}_${snakeCase(field.replace(/Octets$/, 'Bytes'))}`;
  if (scaled) base += `_${scaled.suffix}`;
  return { name: kind === 'counter' ? `${base}_total` : base, kind, factor: scaled?.factor ?? 1, by: [] };
}

/** /proc/net/sockstat(6): levels. Memory in pages is served in pages (to compare with tcp_mem,
 *  which is in pages) and in bytes; FRAG memory is bytes. */
export function sockstatMetrics(group: string, field: string): { name: string; unit: 'pages' | 'bytes' | 'count' }[] {
  const base = `${PREFIX}sockstat_${group.toLowerCase().replace(/[^a-z0-9]/g, '_')}_${snakeCase(field)}`;
  if (field === 'mem') return [{ name: `${base}_pages`, unit: 'pages' }, { name: `${base}_bytes`, unit: 'bytes' }];
  if (field === 'memory') return [{ name: `${base}_bytes`, unit: 'count' }];
  return [{ name: base, unit: 'count' }];
}

/** softnet_stat columns per CPU (label cpu). */
export const SOFTNET_METRICS: Readonly<Record<string, { name: string; kind: MetricKind; help: string }>> = {
  processed: { name: `${PREFIX}softnet_processed_total`, kind: 'counter', help: 'Packets processed by the CPU (softnet_stat column 1)' },
  dropped: { name: `${PREFIX}softnet_dropped_total`, kind: 'counter', help: 'Packets dropped at a full input backlog, netdev_max_backlog (softnet_stat column 2)' },
  time_squeeze: { name: `${PREFIX}softnet_times_squeezed_total`, kind: 'counter', help: 'NET_RX runs that ended with work left, out of netdev_budget or netdev_budget_usecs (softnet_stat column 3)' },
  cpu_collision: { name: `${PREFIX}softnet_cpu_collisions_total`, kind: 'counter', help: 'Transmit lock collisions (softnet_stat column 9)' },
  received_rps: { name: `${PREFIX}softnet_received_rps_total`, kind: 'counter', help: 'Times the CPU was woken by an RPS inter-processor interrupt' },
  flow_limit_count: { name: `${PREFIX}softnet_flow_limit_count_total`, kind: 'counter', help: 'Packets dropped by the RPS flow limit (also counted in dropped)' },
  backlog_len: { name: `${PREFIX}softnet_backlog_packets`, kind: 'gauge', help: 'Packets waiting in the CPU input backlog now (input_qlen + process_qlen)' },
};

/** /sys/class/net/DEV/statistics/FIELD (label device): rx_* → receive_*, tx_* → transmit_*. */
export function linkMetric(field: string): string {
  const f = field === 'multicast' ? 'receive_multicast' : field.replace(/^rx_/, 'receive_').replace(/^tx_/, 'transmit_');
  return `${PREFIX}network_${f.replace(/[^a-z0-9_]/g, '_')}_total`;
}

/** /proc/net/stat/nf_conntrack per CPU (label cpu); `entries` is the table size repeated on
 *  every row and is served once, as nettune_conntrack_entries. */
export const conntrackStatMetric = (field: string): string => `${PREFIX}conntrack_stat_${snakeCase(field)}_total`;

export const CONNTRACK_LEVELS = {
  count: `${PREFIX}conntrack_entries`,
  max: `${PREFIX}conntrack_entries_limit`,
  buckets: `${PREFIX}conntrack_buckets`,
} as const;

/** The metric (and how to aggregate it) behind a catalog/rule counter reference
 *  (netstat.TcpExt.ListenOverflows, softnet.dropped, conntrack.stats.drop,
 *  link.*.statistics.rx_dropped, sockstat.TCP.mem …); null when the exporter does not serve it. */
export function refMetric(ref: string): CounterMetric | null {
  const parts = ref.split('.');
  const [source, a = '', b = ''] = parts;
  switch (source) {
    case 'snmp':
    case 'snmp6':
    case 'netstat':
      return netstatMetric(source, a, b);
    case 'sockstat':
    case 'sockstat6': {
      const m = sockstatMetrics(a, b)[0];
      return m ? { name: m.name, kind: 'gauge', factor: 1, by: [] } : null;
    }
    case 'softnet': {
      const m = SOFTNET_METRICS[a];
      return m ? { name: m.name, kind: m.kind, factor: 1, by: ['cpu'] } : null;
    }
    case 'conntrack':
      if (a === 'count' || a === 'max' || a === 'buckets') return { name: CONNTRACK_LEVELS[a], kind: 'gauge', factor: 1, by: [] };
      if (a === 'stats' && b && b !== 'entries') return { name: conntrackStatMetric(b), kind: 'counter', factor: 1, by: ['cpu'] };
      return null;
    case 'link':
      return parts[3] ? { name: linkMetric(parts[3]), kind: 'counter', factor: 1, by: ['device'] } : null;
    default:
      return null;
  }
}

/** Sums away what the kernel splits (cpu, device) and keeps what Prometheus adds (instance, job),
 *  so alerts and panels stay per host. */
export const SUM_PER_TARGET = 'sum without (cpu, device)';

/** PromQL for a reference: a per-second rate for counters (summed over cpu/device), the level
 *  for gauges. `window` is a PromQL duration (5m). */
export function refExpr(ref: string, window: string): string {
  const m = refMetric(ref);
  if (!m) throw new Error(`${ref}: no exporter metric for this reference`);
  const sum = (e: string): string => (m.by.length ? `${SUM_PER_TARGET}(${e})` : e);
  return m.kind === 'gauge' ? sum(m.name) : sum(`rate(${m.name}[${window}])`);
}

/** Metric names used in a PromQL expression (identifiers followed by `[`, `{`, `)` or a space
 *  that are not functions or keywords): what the dashboard test checks against a live scrape. */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\bnettune_[a-z0-9_]+/g) ?? [])];
}
