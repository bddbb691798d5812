// Ephemeral ports and TIME-WAIT: the local port range, TIME-WAIT reuse and the TIME-WAIT limit.
import type { Evidence, Rule, RuleContext } from './types.js';
import { counterSignal, SINCE_BOOT_NOTE, sinceBoot, sysctlChange } from './util.js';

const IP_SYSCTL = 'Documentation/networking/ip-sysctl.rst';
const RANGE_KEY = 'net.ipv4.ip_local_port_range';
const DEFAULT_RANGE = { low: 32768, high: 60999 };
const DEFAULT_RANGE_SIZE = DEFAULT_RANGE.high - DEFAULT_RANGE.low + 1; // 28232

/** Parses ip_local_reserved_ports ("8080,9000-9100") into [low, high] pairs. */
export function parseReservedPorts(v: string | undefined): [number, number][] {
  if (!v) return [];
  const out: [number, number][] = [];
  for (const part of v.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (m) out.push([Number(m[1]), Number(m[2] ?? m[1])]);
  }
  return out;
}

interface PortRange {
  low: number;
  high: number;
  /** Ports the kernel can hand out: the range minus reserved ports inside it. */
  usable: number;
  reserved: number;
}

function portRange(ctx: RuleContext): PortRange | null {
  const r = ctx.vec(RANGE_KEY);
  if (!r || r.length !== 2) return null;
  const [low, high] = r as [number, number];
  if (high < low) return null;
  let reserved = 0;
  for (const [a, b] of parseReservedPorts(ctx.sysctl('net.ipv4.ip_local_reserved_ports'))) {
    const lo = Math.max(a, low);
    const hi = Math.min(b, high);
    if (hi >= lo) reserved += hi - lo + 1;
  }
  const size = high - low + 1;
  return { low, high, usable: size - reserved, reserved };
}

/** The widest sensible range: from ip_unprivileged_port_start (the kernel refuses a lower start)
 *  to 65535, with the two ends of different parity as the documentation advises. */
function widestRange(ctx: RuleContext): string {
  let low = Math.max(1024, ctx.int('net.ipv4.ip_unprivileged_port_start') ?? 1024);
  if (low % 2 === 1) low++;
  return `${low} 65535`;
}

const gauge = (ctx: RuleContext, ref: string, note?: string): Evidence => ({ what: ref, value: ctx.counter(ref).total, ...(note ? { note } : {}) });

const rangeEvidence = (ctx: RuleContext, r: PortRange): Evidence[] => [
  ctx.knob(RANGE_KEY),
  { what: 'ephemeral ports available', value: r.usable, note: r.reserved ? `${r.high - r.low + 1} in the range, ${r.reserved} reserved` : 'high − low + 1' },
];

const pct = (x: number): string => `${Math.round(x * 100)} %`;

export const portRules: Rule[] = [
  {
    id: 'ports.ephemeral-exhaustion',
    domain: 'ports',
    title: 'TIME-WAIT sockets approach the size of the ephemeral port range',
    severity: 'warn',
    severity_note: 'critical above 80 % of the ephemeral ports',
    why: 'The side that closes a TCP connection first keeps it in TIME-WAIT for 60 s, and while it does, its 4-tuple cannot be used again. A client that opens many short connections to the same destination address and port therefore runs out of source ports at about (port range size) / 60 new connections per second, and connect() fails with EADDRNOTAVAIL. Connections to different destinations can share source ports, and server-side TIME-WAIT sockets use the listening port, so the count is an upper bound on the pressure.',
    sources: [`${IP_SYSCTL} (ip_local_port_range, ip_local_reserved_ports, ip_unprivileged_port_start, tcp_tw_reuse)`, 'RFC 6056 §2', 'RFC 9293 §3.6 (TIME-WAIT)', 'include/net/tcp.h (TCP_TIMEWAIT_LEN = 60 s)'],
    risk: 'A wider range hands out ports that local services may want to listen on later; list those in ip_local_reserved_ports. The range cannot start below ip_unprivileged_port_start (the kernel rejects the write). tcp_tw_reuse=1 reuses TIME-WAIT ports for outgoing connections only and relies on TCP timestamps on both ends.',
    check: (ctx) => {
      const r = portRange(ctx);
      const tw = ctx.counter('sockstat.TCP.tw').total;
      if (!r || tw === null || r.usable <= 0) return null;
      const ratio = tw / r.usable;
      if (ratio <= 0.5) return null;
      const wider = widestRange(ctx);
      const [wl, wh] = wider.split(' ').map(Number) as [number, number];
      const changes = wh - wl + 1 > r.high - r.low + 1 ? [sysctlChange(ctx, RANGE_KEY, wider)] : [];
      const timestamps = ctx.int('net.ipv4.tcp_timestamps');
      if (timestamps !== 0 && ctx.int('net.ipv4.tcp_tw_reuse') !== 1) changes.push(sysctlChange(ctx, 'net.ipv4.tcp_tw_reuse', '1'));
      return {
        message: `${tw} TIME-WAIT sockets = ${pct(ratio)} of the ${r.usable} ephemeral ports: connections to one busy destination (same address and port) can fail with EADDRNOTAVAIL`,
        evidence: [gauge(ctx, 'sockstat.TCP.tw'), gauge(ctx, 'sockstat.TCP.inuse'), ...rangeEvidence(ctx, r), ctx.knob('net.ipv4.tcp_tw_reuse'), ctx.knob('net.ipv4.tcp_timestamps')],
        changes,
        commands: [
          "ss -Htan state time-wait | awk '{print $4}' | sort | uniq -c | sort -rn | head   # TIME-WAIT per destination",
          '# keep listening ports of local services out of the range: sysctl -w net.ipv4.ip_local_reserved_ports=PORTS',
        ],
        confidence: 'medium',
        ...(ratio > 0.8 ? { severity: 'critical' as const } : {}),
      };
    },
  },
  {
    id: 'ports.range-narrow',
    domain: 'ports',
    title: 'Ephemeral port range is narrower than the default',
    severity: 'info',
    why: 'ip_local_port_range bounds how many concurrent (and, with TIME-WAIT, recently closed) connections this host can open to one destination address and port. The default 32768–60999 gives 28232 ports; a narrower range lowers that ceiling for proxies, load balancers and clients of a single backend.',
    sources: [`${IP_SYSCTL} (ip_local_port_range, ip_local_reserved_ports)`, 'RFC 6056 §3.2'],
    risk: 'A range is sometimes narrowed on purpose so that services can listen on high ports; ip_local_reserved_ports protects those ports without shrinking the range.',
    check: (ctx) => {
      const r = portRange(ctx);
      if (!r || r.high - r.low + 1 >= DEFAULT_RANGE_SIZE) return null;
      let low = Math.min(r.low, DEFAULT_RANGE.low);
      const high = Math.max(r.high, DEFAULT_RANGE.high);
      if (low % 2 === high % 2) low = low - 1 >= (ctx.int('net.ipv4.ip_unprivileged_port_start') ?? 1024) ? low - 1 : low + 1;
      return {
        message: `ip_local_port_range ${r.low}–${r.high} offers ${r.high - r.low + 1} ports, fewer than the default ${DEFAULT_RANGE_SIZE}`,
        evidence: [...rangeEvidence(ctx, r), ctx.knob('net.ipv4.ip_local_reserved_ports'), gauge(ctx, 'sockstat.TCP.tw')],
        changes: [sysctlChange(ctx, RANGE_KEY, `${low} ${high}`)],
        confidence: 'low',
      };
    },
  },
  {
    id: 'ports.tw-reuse',
    domain: 'ports',
    title: 'Many TIME-WAIT sockets and TIME-WAIT reuse is not on',
    severity: 'info',
    workloads: { connections: 'warn', throughput: 'skip' },
    why: 'With tcp_tw_reuse=1 a new outgoing connection may take over the 4-tuple of a TIME-WAIT socket once more than tcp_tw_reuse_delay (1 s) passed since its last segment; TCP timestamps (PAWS) then reject stray segments of the old connection. The default 2 allows this only for loopback traffic. It needs timestamps on the old connection, so with tcp_timestamps=0 reuse never happens.',
    sources: [
      `${IP_SYSCTL} (tcp_tw_reuse, tcp_tw_reuse_delay, tcp_timestamps)`,
      'commit 79e9fed46038 "net-tcp: extend tcp_tw_reuse sysctl to enable loopback only optimization" (value 2, the default)',
      'net/ipv4/tcp_ipv4.c (tcp_twsk_unique)',
      'RFC 7323 §5 (PAWS)',
    ],
    risk: 'Only outgoing connections (connect()) benefit; server-side TIME-WAIT is unaffected. Peers that do not send timestamps never get their ports reused. Do not look for tcp_tw_recycle: it broke clients behind NAT and was removed in 4.12.',
    check: (ctx) => {
      const r = portRange(ctx);
      const tw = ctx.counter('sockstat.TCP.tw').total;
      const reuse = ctx.int('net.ipv4.tcp_tw_reuse');
      const timestamps = ctx.int('net.ipv4.tcp_timestamps');
      if (!r || tw === null || reuse === null || tw < Math.max(1000, r.usable * 0.1)) return null;
      const tsOff = timestamps === 0;
      if (reuse === 1 && !tsOff) return null;
      const changes = [];
      if (tsOff) changes.push(sysctlChange(ctx, 'net.ipv4.tcp_timestamps', '1'));
      if (reuse !== 1) changes.push(sysctlChange(ctx, 'net.ipv4.tcp_tw_reuse', '1'));
      return {
        message: tsOff
          ? `${tw} TIME-WAIT sockets and tcp_timestamps=0: TIME-WAIT reuse cannot work without timestamps${reuse === 1 ? ' although tcp_tw_reuse=1' : ''}`
          : `${tw} TIME-WAIT sockets (${pct(tw / r.usable)} of the port range) and tcp_tw_reuse=${reuse}: outgoing connections cannot reuse TIME-WAIT ports${reuse === 2 ? ' except over loopback' : ''}`,
        evidence: [gauge(ctx, 'sockstat.TCP.tw'), ctx.knob('net.ipv4.tcp_tw_reuse'), ctx.knob('net.ipv4.tcp_timestamps'), ctx.evidence('netstat.TcpExt.TWRecycled', 'TIME-WAIT 4-tuples reused by connect()')],
        changes,
        confidence: 'medium',
      };
    },
  },
  {
    id: 'ports.tw-buckets',
    domain: 'ports',
    title: 'TIME-WAIT sockets hit tcp_max_tw_buckets',
    severity: 'warn',
    severity_note: 'when only overflows are counted (not near the limit now), info when the counter grew only at some time since boot (no interval)',
    why: 'tcp_max_tw_buckets caps the TIME-WAIT sockets kept at once; beyond it a closing connection skips TIME-WAIT entirely, the kernel logs "TCP: time wait bucket table overflow" and counts TCPTimeWaitOverflow. Without TIME-WAIT, a late retransmitted FIN is answered with a reset and old segments can reach a new connection on the same 4-tuple.',
    sources: [`${IP_SYSCTL} (tcp_max_tw_buckets)`, 'net/ipv4/tcp_minisocks.c (tcp_time_wait)', 'RFC 1337'],
    risk: 'Each TIME-WAIT socket is a small object (a few hundred bytes in the tw_sock_TCP slab; /proc/slabinfo shows the size on a given kernel), so a higher limit costs little memory; the documentation advises never to lower it artificially. Fewer TIME-WAIT sockets come from reusing connections (HTTP keep-alive, pools), not from this limit.',
    check: (ctx) => {
      const max = ctx.int('net.ipv4.tcp_max_tw_buckets');
      const tw = ctx.counter('sockstat.TCP.tw').total;
      if (max === null || max <= 0 || tw === null) return null;
      const near = tw >= max * 0.9;
      const sig = counterSignal(ctx, ['netstat.TcpExt.TCPTimeWaitOverflow']);
      if (!near && !sig.seen) return null;
      return {
        message: near
          ? `${tw} TIME-WAIT sockets, ${pct(tw / max)} of tcp_max_tw_buckets (${max}): closing connections skip TIME-WAIT`
          : `TIME-WAIT overflowed tcp_max_tw_buckets (${max}) ${sig.now ? 'during the interval' : 'at some time since boot'}`,
        evidence: [gauge(ctx, 'sockstat.TCP.tw'), ctx.knob('net.ipv4.tcp_max_tw_buckets'), ...sig.evidence.map((e) => (sig.now || !e.value ? e : { ...e, note: SINCE_BOOT_NOTE }))],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_max_tw_buckets', String(max * 2))],
        confidence: near || sig.now ? 'high' : 'medium',
        ...(near ? {} : { severity: sinceBoot(sig, 'warn') }),
      };
    },
  },
];
