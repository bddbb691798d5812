// `nettune export grafana`: a Grafana dashboard (JSON model, schemaVersion 39) over the metrics
// `nettune exporter` serves: links, TCP, softnet, conntrack, sockstat against tcp_mem, the audit's
// findings and drift. Every query names its metrics through the exporter's own mapping
// (src/monitor/metrics-names.ts), and a test checks each one parses and names only served metrics.
import { CONNTRACK_LEVELS, conntrackStatMetric, linkMetric, netstatMetric, PREFIX, SOFTNET_METRICS, sockstatMetrics, SUM_PER_TARGET } from '../monitor/metrics-names.js';
import type { Rendered } from './types.js';

const SEL = '{instance=~"$instance"}';
const RATE = '$__rate_interval';

const m = (name: string, extra = ''): string => `${name}{instance=~"$instance"${extra ? `,${extra}` : ''}}`;
const rate = (name: string, extra = ''): string => `rate(${m(name, extra)}[${RATE}])`;
const tcpext = (field: string): string => netstatMetric('netstat', 'TcpExt', field).name;
const tcp = (field: string): string => netstatMetric('snmp', 'Tcp', field).name;
const sockstat = (group: string, field: string, i = 0): string => sockstatMetrics(group, field)[i]?.name ?? '';

export interface Target {
  expr: string;
  legendFormat: string;
}

interface PanelSpec {
  title: string;
  unit: string;
  targets: Target[];
  type?: 'timeseries' | 'table' | 'stat';
  description?: string;
}

interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

const t = (expr: string, legendFormat: string): Target => ({ expr, legendFormat });

export const DASHBOARD_ROWS: readonly RowSpec[] = [
  {
    title: 'Links',
    panels: [
      { title: 'Receive', unit: 'bps', targets: [t(`${rate(linkMetric('rx_bytes'))} * 8`, '{{instance}} {{device}}')] },
      { title: 'Transmit', unit: 'bps', targets: [t(`${rate(linkMetric('tx_bytes'))} * 8`, '{{instance}} {{device}}')] },
      {
        title: 'Drops and errors',
        unit: 'pps',
        targets: [
          t(rate(linkMetric('rx_dropped')), 'rx dropped {{device}}'),
          t(rate(linkMetric('rx_missed_errors')), 'rx missed (ring full) {{device}}'),
          t(rate(linkMetric('rx_errors')), 'rx errors {{device}}'),
          t(rate(linkMetric('tx_dropped')), 'tx dropped {{device}}'),
          t(rate(`${PREFIX}qdisc_drops_total`), 'qdisc {{kind}} {{handle}} drops {{device}}'),
        ],
      },
    ],
  },
  {
    title: 'TCP',
    panels: [
      {
        title: 'Retransmitted share of segments sent',
        unit: 'percentunit',
        targets: [t(`${SUM_PER_TARGET}(${rate(tcp('RetransSegs'))}) / ${SUM_PER_TARGET}(${rate(tcp('OutSegs'))})`, '{{instance}}')],
      },
      {
        title: 'Listen queue drops',
        unit: 'ops',
        description: 'ListenOverflows: accept queue full; ListenDrops: every request dropped at a listener (nettune rules explain backlog.listen-overflows)',
        targets: [t(rate(tcpext('ListenOverflows')), 'overflows {{instance}}'), t(rate(tcpext('ListenDrops')), 'drops {{instance}}')],
      },
      {
        title: 'Connections',
        unit: 'ops',
        targets: [t(rate(tcp('ActiveOpens')), 'active opens'), t(rate(tcp('PassiveOpens')), 'passive opens'), t(rate(tcpext('TCPTimeouts')), 'RTO timeouts'), t(rate(tcpext('TCPRcvQDrop')), 'receive queue drops')],
      },
      { title: 'Established', unit: 'short', targets: [t(m(tcp('CurrEstab')), '{{instance}}')] },
    ],
  },
  {
    title: 'Softnet',
    panels: [
      { title: 'Processed per CPU', unit: 'pps', targets: [t(rate(SOFTNET_METRICS.processed?.name ?? ''), 'cpu {{cpu}}')] },
      { title: 'Backlog drops per CPU', unit: 'pps', targets: [t(rate(SOFTNET_METRICS.dropped?.name ?? ''), 'cpu {{cpu}}')] },
      { title: 'Budget squeezes per CPU', unit: 'ops', targets: [t(rate(SOFTNET_METRICS.time_squeeze?.name ?? ''), 'cpu {{cpu}}')] },
    ],
  },
  {
    title: 'Conntrack',
    panels: [
      { title: 'Table use', unit: 'percentunit', targets: [t(`${m(CONNTRACK_LEVELS.count)} / ${m(CONNTRACK_LEVELS.max)}`, '{{instance}}')] },
      { title: 'Entries', unit: 'short', targets: [t(m(CONNTRACK_LEVELS.count), 'entries'), t(m(CONNTRACK_LEVELS.max), 'limit')] },
      {
        title: 'Drops and insert failures',
        unit: 'ops',
        targets: ['drop', 'early_drop', 'insert_failed'].map((f) => t(`${SUM_PER_TARGET}(${rate(conntrackStatMetric(f))})`, `${f} {{instance}}`)),
      },
    ],
  },
  {
    title: 'Socket memory against tcp_mem',
    panels: [
      {
        title: 'TCP memory (pages) and the tcp_mem thresholds',
        unit: 'short',
        targets: [t(m(sockstat('TCP', 'mem')), 'in use'), t(m(`${PREFIX}sysctl_value`, 'key="net.ipv4.tcp_mem"'), 'tcp_mem {{field}}')],
      },
      {
        title: 'TCP sockets',
        unit: 'short',
        targets: [t(m(sockstat('TCP', 'inuse')), 'in use'), t(m(sockstat('TCP', 'orphan')), 'orphans'), t(m(sockstat('TCP', 'tw')), 'TIME-WAIT')],
      },
    ],
  },
  {
    title: 'Findings and drift',
    panels: [
      { title: 'Audit findings (nettune rules explain RULE)', unit: 'short', type: 'table', targets: [t(`${PREFIX}audit_finding${SEL}`, '{{rule}}')] },
      { title: 'Findings by severity', unit: 'short', type: 'stat', targets: [t(`count by (severity) (${PREFIX}audit_finding${SEL})`, '{{severity}}')] },
      { title: 'Drifted keys (live value differs from what was applied)', unit: 'short', type: 'table', targets: [t(`${PREFIX}drift${SEL} == 1`, '{{key}}')] },
      { title: 'Keys drifted', unit: 'short', type: 'stat', targets: [t(`sum by (instance) (${PREFIX}drift${SEL})`, '{{instance}}')] },
    ],
  },
];

/** Every PromQL expression of the dashboard (the template variable's query included). */
export function dashboardExprs(): string[] {
  return [`${PREFIX}build_info`, ...DASHBOARD_ROWS.flatMap((r) => r.panels.flatMap((p) => p.targets.map((x) => x.expr)))];
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

export function buildDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of DASHBOARD_ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    const w = Math.floor(24 / Math.min(row.panels.length, 4));
    row.panels.forEach((p, i) => {
      panels.push({
        id: id++,
        type: p.type ?? 'timeseries',
        title: p.title,
        ...(p.description ? { description: p.description } : {}),
        datasource: DATASOURCE,
        gridPos: { h: 8, w, x: (i % 4) * w, y: y + Math.floor(i / 4) * 8 },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: p.type === 'table' ? { showHeader: true } : {},
        targets: p.targets.map((x, j) => ({ refId: String.fromCharCode(65 + j), datasource: DATASOURCE, expr: x.expr, legendFormat: x.legendFormat, ...(p.type === 'table' ? { format: 'table', instant: true } : {}) })),
      });
    });
    y += Math.ceil(row.panels.length / 4) * 8;
  }
  return {
    title: 'nettune: network tuning',
    uid: 'nettune-network',
    description: 'Counters, tuning state, audit findings and drift served by `nettune exporter` (generated by `nettune export grafana`)',
    tags: ['nettune', 'network'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' },
        {
          name: 'instance',
          type: 'query',
          label: 'Host',
          datasource: DATASOURCE,
          query: { query: `label_values(${PREFIX}build_info, instance)`, refId: 'instance' },
          definition: `label_values(${PREFIX}build_info, instance)`,
          includeAll: true,
          multi: true,
          refresh: 2,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

export function renderGrafana(): Rendered {
  return { files: [{ path: 'nettune-dashboard.json', content: `${JSON.stringify(buildDashboard(), null, 2)}\n` }], notes: ['import it in Grafana (Dashboards → Import) and pick the Prometheus data source that scrapes `nettune exporter`'] };
}
