// The exporter's counter families, from one sampler reading: every field of /proc/net/snmp,
// snmp6 and netstat, sockstat(6), softnet per CPU, conntrack (levels and per-CPU stat
// counters), per-device statistics and qdisc counters. Nothing is filtered out.
import type { CounterSample } from './sampler.js';
import { CONNTRACK_LEVELS, conntrackStatMetric, linkMetric, netstatMetric, PREFIX, SOFTNET_METRICS, sockstatMetrics } from './metrics-names.js';
import type { Families } from './metrics-registry.js';

const FILES = { snmp: '/proc/net/snmp', snmp6: '/proc/net/snmp6', netstat: '/proc/net/netstat' } as const;

/** fn with its answers kept (metric names of kernel fields: the same few dozen every scrape). */
function memo<T>(fn: (key: string) => T): (key: string) => T {
  const m = new Map<string, T>();
  return (key) => {
    let v = m.get(key);
    if (v === undefined) {
      v = fn(key);
      m.set(key, v);
    }
    return v;
  };
}

const linkName = memo(linkMetric);
const linkHelp = memo((field) => `${field} from /sys/class/net/DEV/statistics`);
const conntrackStatName = memo(conntrackStatMetric);
const conntrackStatHelp = memo((field) => `${field} from /proc/net/stat/nf_conntrack, per CPU`);
const sockstatNames = memo((key) => {
  const [group = '', field = ''] = key.split('\u0000');
  return sockstatMetrics(group, field);
});

// Names and help of the netstat/snmp fields, worked out once per field (snake_case, kind, unit)
// rather than on every scrape: source → group → field.
type NetstatField = ReturnType<typeof netstatMetric> & { help: string };
const netstatFields = new Map<string, Map<string, NetstatField>>();

function netstatGroup(source: keyof typeof FILES, group: string): Map<string, NetstatField> {
  const key = `${source}.${group}`;
  let fields = netstatFields.get(key);
  if (!fields) {
    fields = new Map();
    netstatFields.set(key, fields);
  }
  return fields;
}

// (Fields are walked with for…in over the parsed objects, which are plain ones: Object.entries
// allocated a [field, value] pair for each of the ~550 fields on every scrape.)
const SOURCES = ['snmp', 'snmp6', 'netstat'] as const;

function netstatFamilies(f: Families, s: CounterSample): void {
  for (const source of SOURCES) {
    const groups = s.counters[source];
    for (const group in groups) {
      const values = groups[group] as Record<string, number>;
      const fields = netstatGroup(source, group);
      for (const field in values) {
        const value = values[field] as number;
        let m = fields.get(field);
        if (!m) {
          const metric = netstatMetric(source, group, field);
          m = { ...metric, help: `${group} ${field} from ${FILES[source]}${metric.factor !== 1 ? ' (in seconds)' : ''}` };
          fields.set(field, m);
        }
        f.set(m.kind, m.name, m.help, m.factor === 1 ? value : value * m.factor);
      }
    }
  }
}

function sockstatFamilies(f: Families, s: CounterSample, pageSize: number): void {
  for (const source of ['sockstat', 'sockstat6'] as const) {
    for (const [group, fields] of Object.entries(s.counters[source])) {
      for (const [field, value] of Object.entries(fields)) {
        for (const m of sockstatNames(`${group}\u0000${field}`)) {
          const inBytes = field === 'mem' && m.unit === 'bytes';
          f.gauge(m.name, `${group} ${field} from /proc/net/${source}${field === 'mem' ? (inBytes ? ' (pages × page size)' : ' (pages, the unit of tcp_mem/udp_mem)') : ''}`, inBytes ? value * pageSize : value);
        }
      }
    }
  }
}

function softnetFamilies(f: Families, s: CounterSample): void {
  for (const row of s.counters.softnet) {
    const cpu = String(row.cpu);
    for (const [field, m] of Object.entries(SOFTNET_METRICS)) {
      const v = field === 'backlog_len' ? (row.backlog_len ?? (row.input_qlen !== null && row.process_qlen !== null ? row.input_qlen + row.process_qlen : null)) : row[field as keyof typeof row];
      if (typeof v === 'number') f.set(m.kind, m.name, m.help, v, { cpu });
    }
  }
}

function conntrackFamilies(f: Families, s: CounterSample, buckets: number | null): void {
  const ct = s.conntrack;
  if (!ct) return;
  if (ct.count !== null) f.gauge(CONNTRACK_LEVELS.count, 'Connection tracking entries in use (nf_conntrack_count)', ct.count);
  if (ct.max !== null) f.gauge(CONNTRACK_LEVELS.max, 'Size limit of the connection tracking table (nf_conntrack_max)', ct.max);
  if (buckets !== null) f.gauge(CONNTRACK_LEVELS.buckets, 'Connection tracking hash table buckets (nf_conntrack_buckets)', buckets);
  ct.stats.forEach((row, i) => {
    const labels = { cpu: String(i) };
    for (const field in row) {
      if (field !== 'entries') f.counter(conntrackStatName(field), conntrackStatHelp(field), row[field] as number, labels);
    }
  });
}

function linkFamilies(f: Families, s: CounterSample): void {
  for (const device in s.links) {
    const statistics = (s.links[device] as CounterSample['links'][string]).statistics;
    const labels = { device };
    for (const field in statistics) f.counter(linkName(field), linkHelp(field), statistics[field] as number, labels);
  }
}

const QDISC_COUNTERS = [
  ['bytes', `${PREFIX}qdisc_bytes_total`, 'Bytes sent by the qdisc (tc -s)'],
  ['packets', `${PREFIX}qdisc_packets_total`, 'Packets sent by the qdisc (tc -s)'],
  ['drops', `${PREFIX}qdisc_drops_total`, 'Packets dropped by the qdisc (tc -s)'],
  ['overlimits', `${PREFIX}qdisc_overlimits_total`, 'Times the qdisc was over its limit (tc -s)'],
  ['requeues', `${PREFIX}qdisc_requeues_total`, 'Packets requeued by the qdisc (tc -s)'],
] as const;

function qdiscFamilies(f: Families, s: CounterSample): void {
  for (const q of s.qdiscs) {
    const labels = { device: q.dev, kind: q.kind, handle: q.handle, parent: q.parent ?? (q.root ? 'root' : '') };
    for (const [field, name, help] of QDISC_COUNTERS) f.counter(name, help, q[field], labels);
    f.gauge(`${PREFIX}qdisc_backlog_bytes`, 'Bytes queued in the qdisc now (tc -s)', q.backlog, labels);
    f.gauge(`${PREFIX}qdisc_queue_length`, 'Packets queued in the qdisc now (tc -s qlen)', q.qlen, labels);
  }
}

/** Every counter family of one sample. */
export function counterFamilies(f: Families, s: CounterSample, o: { pageSize: number; conntrackBuckets: number | null }): void {
  netstatFamilies(f, s);
  sockstatFamilies(f, s, o.pageSize);
  softnetFamilies(f, s);
  conntrackFamilies(f, s, o.conntrackBuckets);
  linkFamilies(f, s);
  qdiscFamilies(f, s);
  f.gauge(`${PREFIX}sample_errors`, 'Counter sources the last sample could not read (see the exporter log)', s.errors.length);
}
