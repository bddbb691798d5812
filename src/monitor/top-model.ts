// What `top` shows for one interval, as data: built from the sampler's newest sample, the rates
// over the interval and the audit engine's findings. The screen (top-render.ts) draws it; `top
// --json` prints it, one object per interval, with the same names.
import type { Finding } from '../rules/types.js';
import type { Snapshot } from '../snapshot/schema.js';
import { type Rate, type Rates, sumRates } from './rates.js';
import type { CounterSample } from './sampler.js';

export const TOP_SCHEMA = 'nettune.top/1';

export interface TopLink {
  name: string;
  rx_bits_ps: Rate;
  tx_bits_ps: Rate;
  rx_packets_ps: Rate;
  tx_packets_ps: Rate;
  /** rx_dropped + rx_missed_errors (ring overflows) per second. */
  rx_drops_ps: Rate;
  tx_drops_ps: Rate;
  rx_errors_ps: Rate;
  tx_errors_ps: Rate;
  /** The root qdisc: its drops per second and what it holds now. */
  qdisc: { kind: string; drops_ps: Rate; backlog_bytes: number; qlen: number } | null;
}

export interface TopTcp {
  active_opens_ps: Rate;
  passive_opens_ps: Rate;
  out_segs_ps: Rate;
  retrans_segs_ps: Rate;
  /** Retransmitted segments as a share of segments sent in the interval, percent. */
  retrans_pct: number | null;
  timeouts_ps: Rate;
  listen_overflows_ps: Rate;
  listen_drops_ps: Rate;
  rcvq_drop_ps: Rate;
  ofo_queue_ps: Rate;
  syncookies_sent_ps: Rate;
  curr_estab: number | null;
}

export interface TopSockets {
  tcp_inuse: number | null;
  tcp_orphan: number | null;
  tcp_tw: number | null;
  tcp_alloc: number | null;
  /** Pages TCP sockets hold (all namespaces: TCP memory accounting is global). */
  tcp_mem_pages: number | null;
  /** net.ipv4.tcp_mem: [min, pressure, max] in pages (global, like the pages counted). */
  tcp_mem: [number, number, number] | null;
  /** Where tcp_mem_pages stands: below min, above min, under pressure, at the max. */
  tcp_mem_state: 'ok' | 'above-min' | 'pressure' | 'max' | null;
  udp_inuse: number | null;
  tcp6_inuse: number | null;
}

export interface TopConntrack {
  count: number | null;
  max: number | null;
  used_pct: number | null;
  insert_failed_ps: Rate;
  drop_ps: Rate;
  early_drop_ps: Rate;
}

export interface TopCpu {
  cpu: number;
  processed_ps: Rate;
  dropped_ps: Rate;
  time_squeeze_ps: Rate;
}

export interface TopFinding {
  id: string;
  severity: Finding['severity'];
  subject: string | null;
  /** The largest per-second rate among the finding's evidence (what made it fire now). */
  rate_ps: number;
  /** The counter that rate belongs to. */
  counter: string;
  message: string;
  /** The first fix command (sysctl -w …), or null when the rule gives none. */
  fix: string | null;
}

export interface TopFrame {
  schema: typeof TOP_SCHEMA;
  host: string;
  netns: string | null;
  kernel: string;
  seq: number;
  taken_at: string;
  /** Seconds the rates are over (null: only one sample so far). */
  interval_s: number | null;
  links: TopLink[];
  tcp: TopTcp;
  sockets: TopSockets;
  conntrack: TopConntrack | null;
  softnet: TopCpu[];
  findings: TopFinding[];
  errors: string[];
}

const times8 = (r: Rate): Rate => (r === null ? null : r * 8);

function linkRow(name: string, r: Rates | undefined, s: CounterSample): TopLink {
  const lr = r?.links[name] ?? null;
  const get = (f: string): Rate => lr?.[f] ?? null;
  // Devices without a counter (rx_missed_errors on veth) count as 0; a counter with no rate this
  // interval (a reset) makes the sum unknown.
  const add = (...fs: string[]): Rate => (lr ? sumRates(fs.filter((f) => f in (s.links[name]?.statistics ?? {})).map(get)) : null);
  const root = s.qdiscs.find((q) => q.dev === name && q.root);
  const rootRates = root ? r?.qdiscs.find((q) => q.dev === name && q.root && q.handle === root.handle) : undefined;
  return {
    name,
    rx_bits_ps: times8(get('rx_bytes')),
    tx_bits_ps: times8(get('tx_bytes')),
    rx_packets_ps: get('rx_packets'),
    tx_packets_ps: get('tx_packets'),
    rx_drops_ps: add('rx_dropped', 'rx_missed_errors'),
    tx_drops_ps: add('tx_dropped'),
    rx_errors_ps: add('rx_errors'),
    tx_errors_ps: add('tx_errors'),
    qdisc: root ? { kind: root.kind, drops_ps: rootRates?.rates.drops ?? null, backlog_bytes: root.backlog, qlen: root.qlen } : null,
  };
}

function tcpMem(base: Snapshot | null): [number, number, number] | null {
  const v = base?.sysctl['net.ipv4.tcp_mem']?.split(' ').map(Number);
  return v && v.length === 3 && v.every((n) => Number.isFinite(n)) ? [v[0] ?? 0, v[1] ?? 0, v[2] ?? 0] : null;
}

function memState(pages: number | null, mem: [number, number, number] | null): TopSockets['tcp_mem_state'] {
  if (pages === null || mem === null) return null;
  // tcp_mem semantics (ip-sysctl.rst): below min no regulation; above pressure TCP moderates
  // buffers until usage falls under min; at max new allocations fail.
  if (pages >= mem[2]) return 'max';
  if (pages >= mem[1]) return 'pressure';
  if (pages > mem[0]) return 'above-min';
  return 'ok';
}

/** Findings the engine raised on the interval's rates: those with evidence that grew in it. */
export function liveFindings(findings: readonly Finding[]): TopFinding[] {
  const out: TopFinding[] = [];
  for (const f of findings) {
    let best: { rate: number; what: string } | null = null;
    for (const e of f.evidence) {
      const r = e.rate_per_s;
      if (typeof r === 'number' && r > 0 && (!best || r > best.rate)) best = { rate: r, what: e.what };
    }
    if (best) out.push({ id: f.id, severity: f.severity, subject: f.subject, rate_ps: best.rate, counter: best.what, message: f.message, fix: f.fix.commands[0] ?? null });
  }
  return out;
}

export interface TopInput {
  base: Snapshot | null;
  sample: CounterSample;
  rates: Rates | undefined;
  findings: readonly Finding[];
}

export function buildFrame({ base, sample: s, rates: r, findings }: TopInput): TopFrame {
  const c = (ref: string): Rate => r?.counters[ref] ?? null;
  const outSegs = c('snmp.Tcp.OutSegs');
  const retrans = c('snmp.Tcp.RetransSegs');
  const tcpSock = s.counters.sockstat.TCP ?? {};
  const mem = s.tcp_mem ?? tcpMem(base);
  const pages = tcpSock.mem ?? null;
  const ct = s.conntrack;
  const ctr = r?.conntrack ?? null;
  const cpuRates = new Map((r?.softnet ?? []).map((x) => [x.cpu, x]));
  return {
    schema: TOP_SCHEMA,
    host: base?.hostname ?? '?',
    netns: s.netns,
    kernel: base?.kernel.release ?? '?',
    seq: s.seq,
    taken_at: s.taken_at,
    interval_s: r?.interval_s ?? null,
    links: Object.keys(s.links)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((name) => linkRow(name, r, s)),
    tcp: {
      active_opens_ps: c('snmp.Tcp.ActiveOpens'),
      passive_opens_ps: c('snmp.Tcp.PassiveOpens'),
      out_segs_ps: outSegs,
      retrans_segs_ps: retrans,
      retrans_pct: outSegs !== null && retrans !== null && outSegs > 0 ? (100 * retrans) / outSegs : null,
      timeouts_ps: c('netstat.TcpExt.TCPTimeouts'),
      listen_overflows_ps: c('netstat.TcpExt.ListenOverflows'),
      listen_drops_ps: c('netstat.TcpExt.ListenDrops'),
      rcvq_drop_ps: c('netstat.TcpExt.TCPRcvQDrop'),
      ofo_queue_ps: c('netstat.TcpExt.TCPOFOQueue'),
      syncookies_sent_ps: c('netstat.TcpExt.SyncookiesSent'),
      curr_estab: s.counters.snmp.Tcp?.CurrEstab ?? null,
    },
    sockets: {
      tcp_inuse: tcpSock.inuse ?? null,
      tcp_orphan: tcpSock.orphan ?? null,
      tcp_tw: tcpSock.tw ?? null,
      tcp_alloc: tcpSock.alloc ?? null,
      tcp_mem_pages: pages,
      tcp_mem: mem,
      tcp_mem_state: memState(pages, mem),
      udp_inuse: s.counters.sockstat.UDP?.inuse ?? null,
      tcp6_inuse: s.counters.sockstat6.TCP6?.inuse ?? null,
    },
    conntrack: ct
      ? {
          count: ct.count,
          max: ct.max,
          used_pct: ct.count !== null && ct.max ? (100 * ct.count) / ct.max : null,
          insert_failed_ps: ctr?.insert_failed ?? null,
          drop_ps: ctr?.drop ?? null,
          early_drop_ps: ctr?.early_drop ?? null,
        }
      : null,
    softnet: s.counters.softnet.map((row) => {
      const x = cpuRates.get(row.cpu);
      return { cpu: row.cpu, processed_ps: x?.processed ?? null, dropped_ps: x?.dropped ?? null, time_squeeze_ps: x?.time_squeeze ?? null };
    }),
    findings: liveFindings(findings),
    errors: s.errors.map((e) => `${e.section}: ${e.source}: ${e.message}`),
  };
}
