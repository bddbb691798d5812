// `show`: one screen of the host's network tuning state, computed from a Snapshot.
import { describeDefault, findEntry, isKernelDefault, kernelDefault } from '../catalog/defaults.js';
import { resolveCounter, type Snapshot } from '../snapshot/index.js';

export interface TripleBytes {
  min: number;
  default: number;
  max: number;
}

export interface LinkSummary {
  name: string;
  state: string;
  kind: string | null;
  driver: string | null;
  mtu: number | null;
  speed_mbps: number | null;
  rx_queues: number;
  tx_queues: number;
  qdisc: string | null;
  /** Key offloads (tso, gso, gro, lro, rx/tx checksumming) as on/off; null without ethtool. */
  offloads: Record<string, boolean> | null;
  rx_dropped: number | null;
  tx_dropped: number | null;
}

export interface ShowSummary {
  host: { hostname: string; kernel: string; machine: string; netns: string; taken_at: string };
  cpus: number;
  memory: { total_bytes: number; available_bytes: number | null; page_size: number };
  tcp: {
    congestion_control: string | null;
    available_congestion_control: string[];
    default_qdisc: string | null;
    rmem: TripleBytes | null;
    wmem: TripleBytes | null;
    core_rmem_max: number | null;
    core_wmem_max: number | null;
    /** tcp_mem converted from pages to bytes, and its high mark as a share of RAM. */
    tcp_mem_bytes: TripleBytes | null;
    tcp_mem_high_pct_of_ram: number | null;
    /** Rough single-stream ceiling the receive-buffer max allows at 10 ms RTT, taking about half
     *  of the buffer as usable window (the rest is skb overhead; kernels ≥ 6.6 measure that ratio
     *  per flow instead of using tcp_adv_win_scale). */
    rmem_max_rate_at_10ms_bps: number | null;
    features: Record<string, string | null>;
    keepalive: { time_s: number; intvl_s: number; probes: number; dead_peer_s: number } | null;
  };
  backlog: Record<string, string | null>;
  sockets: { tcp_inuse: number | null; tcp_orphan: number | null; tcp_tw: number | null; udp_inuse: number | null };
  local_ports: { low: number; high: number; count: number } | null;
  conntrack: { count: number | null; max: number | null; buckets: number | null; usage_pct: number | null } | null;
  links: LinkSummary[];
  counters: Record<string, number | null>;
  errors: number;
  /** Catalog knobs whose value differs from this kernel's default on this host (estimates and
   *  build-dependent defaults count as default when the value fits them). */
  changed_from_default: { key: string; value: string; default: string; status: string }[];
  /** Global knobs this summary reads that a child namespace cannot see (shown as
   *  "global (init namespace only)" rather than unknown). */
  global_only: string[];
}

/** Keys `show` displays; the global ones are absent in a child namespace. */
const SHOWN_KEYS = [
  'net.core.default_qdisc',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.core.rmem_max',
  'net.core.wmem_max',
  'net.ipv4.tcp_mem',
  'net.core.somaxconn',
  'net.ipv4.tcp_max_syn_backlog',
  'net.ipv4.tcp_syncookies',
  'net.core.netdev_max_backlog',
  'net.core.netdev_budget',
  'net.core.netdev_budget_usecs',
];

function changedFromDefault(snap: Snapshot): ShowSummary['changed_from_default'] {
  const out: ShowSummary['changed_from_default'] = [];
  for (const key of Object.keys(snap.sysctl).sort()) {
    if (!findEntry(key)) continue;
    const d = kernelDefault(key, snap);
    const value = snap.sysctl[key] ?? '';
    if (!d || isKernelDefault(d, value) !== false) continue;
    out.push({ key, value, default: describeDefault(d), status: d.status });
  }
  return out;
}

const ints = (v: string | undefined): number[] | null => {
  if (v === undefined) return null;
  const parts = v.split(' ').map(Number);
  return parts.every(Number.isFinite) ? parts : null;
};

const triple = (v: string | undefined, scale = 1): TripleBytes | null => {
  const n = ints(v);
  if (!n || n.length !== 3) return null;
  return { min: (n[0] ?? 0) * scale, default: (n[1] ?? 0) * scale, max: (n[2] ?? 0) * scale };
};

const intOf = (v: string | undefined): number | null => (v !== undefined && /^-?\d+$/.test(v) ? Number(v) : null);

const OFFLOADS: Record<string, string> = {
  tso: 'tcp-segmentation-offload',
  gso: 'generic-segmentation-offload',
  gro: 'generic-receive-offload',
  lro: 'large-receive-offload',
  'rx-csum': 'rx-checksumming',
  'tx-csum': 'tx-checksumming',
};

/** Counters worth a look on any host (since boot; `audit --interval` turns them into rates). */
export const NOTABLE_COUNTERS = [
  'netstat.TcpExt.ListenOverflows',
  'netstat.TcpExt.ListenDrops',
  'netstat.TcpExt.TCPRcvQDrop',
  'netstat.TcpExt.PruneCalled',
  'netstat.TcpExt.TCPTimeouts',
  'netstat.TcpExt.TCPSynRetrans',
  'snmp.Tcp.RetransSegs',
  'snmp.Tcp.OutSegs',
  'snmp.Udp.RcvbufErrors',
  'snmp.Udp.SndbufErrors',
  'softnet.dropped',
  'softnet.time_squeeze',
  'conntrack.stats.drop',
  'conntrack.stats.insert_failed',
] as const;

export function summarise(snap: Snapshot): ShowSummary {
  const s = snap.sysctl;
  const page = snap.memory.page_size;
  const rmem = triple(s['net.ipv4.tcp_rmem']);
  const tcpMem = triple(s['net.ipv4.tcp_mem'], page);
  const ka = {
    time: intOf(s['net.ipv4.tcp_keepalive_time']),
    intvl: intOf(s['net.ipv4.tcp_keepalive_intvl']),
    probes: intOf(s['net.ipv4.tcp_keepalive_probes']),
  };
  const ports = ints(s['net.ipv4.ip_local_port_range']);
  const ct = snap.conntrack;
  const sock = snap.counters.sockstat;
  const feature = (key: string): string | null => s[`net.ipv4.${key}`] ?? null;
  return {
    host: {
      hostname: snap.hostname,
      kernel: snap.kernel.release,
      machine: snap.kernel.machine,
      netns: snap.netns.name ?? (snap.netns.init === false ? `inode ${snap.netns.inode}` : 'init'),
      taken_at: snap.taken_at,
    },
    cpus: snap.cpus.online,
    memory: snap.memory,
    tcp: {
      congestion_control: snap.congestion_control.current,
      available_congestion_control: snap.congestion_control.available,
      default_qdisc: s['net.core.default_qdisc'] ?? null,
      rmem,
      wmem: triple(s['net.ipv4.tcp_wmem']),
      core_rmem_max: intOf(s['net.core.rmem_max']),
      core_wmem_max: intOf(s['net.core.wmem_max']),
      tcp_mem_bytes: tcpMem,
      tcp_mem_high_pct_of_ram: tcpMem && snap.memory.total_bytes > 0 ? round1((tcpMem.max / snap.memory.total_bytes) * 100) : null,
      // Window ≈ half the buffer (skb overhead); rate = window / RTT.
      rmem_max_rate_at_10ms_bps: rmem ? (rmem.max / 2) * 8 / 0.01 : null,
      features: {
        timestamps: feature('tcp_timestamps'),
        sack: feature('tcp_sack'),
        window_scaling: feature('tcp_window_scaling'),
        ecn: feature('tcp_ecn'),
        fastopen: feature('tcp_fastopen'),
        slow_start_after_idle: feature('tcp_slow_start_after_idle'),
        mtu_probing: feature('tcp_mtu_probing'),
        tw_reuse: feature('tcp_tw_reuse'),
        notsent_lowat: feature('tcp_notsent_lowat'),
      },
      keepalive:
        ka.time !== null && ka.intvl !== null && ka.probes !== null
          ? { time_s: ka.time, intvl_s: ka.intvl, probes: ka.probes, dead_peer_s: ka.time + ka.intvl * ka.probes }
          : null,
    },
    backlog: {
      somaxconn: s['net.core.somaxconn'] ?? null,
      tcp_max_syn_backlog: s['net.ipv4.tcp_max_syn_backlog'] ?? null,
      tcp_syncookies: s['net.ipv4.tcp_syncookies'] ?? null,
      netdev_max_backlog: s['net.core.netdev_max_backlog'] ?? null,
      netdev_budget: s['net.core.netdev_budget'] ?? null,
      netdev_budget_usecs: s['net.core.netdev_budget_usecs'] ?? null,
    },
    sockets: {
      tcp_inuse: sock.TCP?.inuse ?? null,
      tcp_orphan: sock.TCP?.orphan ?? null,
      tcp_tw: sock.TCP?.tw ?? null,
      udp_inuse: sock.UDP?.inuse ?? null,
    },
    local_ports:
      ports && ports.length === 2 ? { low: ports[0] ?? 0, high: ports[1] ?? 0, count: (ports[1] ?? 0) - (ports[0] ?? 0) + 1 } : null,
    conntrack: ct
      ? {
          count: ct.count,
          max: ct.max,
          buckets: ct.buckets,
          usage_pct: ct.count !== null && ct.max ? round1((ct.count / ct.max) * 100) : null,
        }
      : null,
    links: snap.links.map((l) => {
      const feats = l.ethtool?.features;
      let offloads: Record<string, boolean> | null = null;
      if (feats) {
        offloads = {};
        for (const [short, long] of Object.entries(OFFLOADS)) {
          const f = feats[long];
          if (f) offloads[short] = f.active;
        }
      }
      const root = l.qdiscs.find((q) => q.root === true) ?? l.qdiscs[0];
      return {
        name: l.name,
        state: l.state,
        kind: l.kind,
        driver: l.driver,
        mtu: l.mtu,
        speed_mbps: l.speed_mbps,
        rx_queues: l.rx_queues,
        tx_queues: l.tx_queues,
        qdisc: typeof root?.kind === 'string' ? root.kind : null,
        offloads,
        rx_dropped: l.statistics.rx_dropped ?? null,
        tx_dropped: l.statistics.tx_dropped ?? null,
      };
    }),
    counters: Object.fromEntries(NOTABLE_COUNTERS.map((ref) => [ref, resolveCounter(snap, ref)])),
    errors: snap.errors.length,
    changed_from_default: changedFromDefault(snap),
    global_only: snap.netns.init === false ? SHOWN_KEYS.filter((k) => !(k in s) && findEntry(k)?.scope === 'global') : [],
  };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
