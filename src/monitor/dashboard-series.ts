// The dashboard's chart points: for each sampler tick, the values its five charts plot, taken
// from the sampler's rates (src/monitor/rates.ts) and the sample's levels. Pure: the inputs are
// the narrow views this module reads, so the sampler's Rates and CounterSample fit as they are.

/** What one tick's rates give the charts (a structural view of the sampler's Rates). */
export interface RatesView {
  interval_s: number;
  counters: Record<string, number | null>;
  softnet: readonly { dropped: number | null; time_squeeze: number | null }[];
  links: Record<string, Record<string, number | null> | null>;
}

/** What one tick's sample gives (levels, not rates). */
export interface SampleView {
  seq: number;
  taken_at: string;
  conntrack: { count: number | null; max: number | null } | null;
}

export const CHART_IDS = ['links', 'retrans', 'softnet', 'conntrack', 'listen'] as const;
export type ChartId = (typeof CHART_IDS)[number];

export interface ChartSpec {
  id: ChartId;
  title: string;
  unit: string;
  /** What the values are, for the page's caption. */
  source: string;
}

/** The charts the page draws, in order. The client takes titles and units from here. */
export const CHARTS: readonly ChartSpec[] = [
  { id: 'links', title: 'Link rates', unit: 'bit/s', source: '/sys/class/net/DEV/statistics rx_bytes, tx_bytes × 8' },
  { id: 'retrans', title: 'TCP retransmits', unit: 'segments/s', source: 'snmp Tcp.RetransSegs, TcpExt.TCPTimeouts' },
  { id: 'softnet', title: 'Softnet drops and squeezes', unit: 'events/s', source: '/proc/net/softnet_stat dropped, time_squeeze (all CPUs)' },
  { id: 'conntrack', title: 'Conntrack use', unit: '% of nf_conntrack_max', source: 'nf_conntrack_count / nf_conntrack_max' },
  { id: 'listen', title: 'Listen queue overflows', unit: 'events/s', source: 'TcpExt.ListenOverflows, TcpExt.ListenDrops' },
];

export interface ChartPoint {
  seq: number;
  /** Unix time, seconds (what uPlot's x axis takes). */
  t: number;
  /** Per chart, series name → value (null: no value for this interval). */
  charts: Record<ChartId, Record<string, number | null>>;
}

/** At most this many links are charted (by name); a host with hundreds of veths stays readable. */
export const MAX_LINKS = 12;

const sum = (vs: readonly (number | null)[]): number | null => (vs.length === 0 || vs.some((v) => v === null) ? null : vs.reduce<number>((a, v) => a + (v ?? 0), 0));

const times8 = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : v * 8);

export function chartPoint(rates: RatesView | undefined, sample: SampleView): ChartPoint {
  const t = Date.parse(sample.taken_at) / 1000;
  const c = (ref: string): number | null => rates?.counters[ref] ?? null;
  const links: Record<string, number | null> = {};
  for (const dev of Object.keys(rates?.links ?? {}).sort().slice(0, MAX_LINKS)) {
    const l = rates?.links[dev] ?? null;
    links[`${dev} rx`] = times8(l?.rx_bytes);
    links[`${dev} tx`] = times8(l?.tx_bytes);
  }
  const ct = sample.conntrack;
  const use = ct && ct.count !== null && ct.max !== null && ct.max > 0 ? (100 * ct.count) / ct.max : null;
  return {
    seq: sample.seq,
    t,
    charts: {
      links,
      retrans: { RetransSegs: c('snmp.Tcp.RetransSegs'), TCPTimeouts: c('netstat.TcpExt.TCPTimeouts') },
      softnet: rates
        ? { dropped: sum(rates.softnet.map((r) => r.dropped)), time_squeeze: sum(rates.softnet.map((r) => r.time_squeeze)) }
        : { dropped: null, time_squeeze: null },
      conntrack: ct ? { 'in use': use } : {},
      listen: { ListenOverflows: c('netstat.TcpExt.ListenOverflows'), ListenDrops: c('netstat.TcpExt.ListenDrops') },
    },
  };
}
