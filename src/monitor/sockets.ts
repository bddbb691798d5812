// What limits each TCP connection, from ss's tcp_info: the kernel's sender chronographs
// (tcp_get_info_chrono_stats in net/ipv4/tcp.c) split the time a socket had data to send
// (tcpi_busy_time) into "stalled by the receive window" (tcpi_rwnd_limited), "stalled by the
// send buffer" (tcpi_sndbuf_limited) and the rest, when the write queue was not empty but the
// network (congestion window, pacing) set the pace. The time it had nothing to send is the
// application's. Since the socket opened, the share of each is of busy time (tcp_info has no
// socket age, so the application's share is known only over an interval); with two reads,
// every share is of the interval's wall time. Buffer use is judged against the autotuning
// maxima tcp_wmem[2] / tcp_rmem[2] of the Snapshot the sockets live in.
import type { SsSocket } from '../probe/parse-ss.js';
import { formatBytes, formatRate, round } from '../units/index.js';

export const LIMITERS = ['sndbuf', 'rwnd', 'cwnd', 'app'] as const;
export type Limiter = (typeof LIMITERS)[number];

export type Shares = Record<Limiter, number | null>;

export interface BufferLimits {
  /** tcp_wmem[2] and tcp_rmem[2] (bytes), null when the Snapshot lacks them. */
  wmem_max: number | null;
  rmem_max: number | null;
}

export interface SocketView {
  state: string;
  local: string;
  peer: string;
  congestion: string | null;
  cwnd: number | null;
  rtt_ms: number | null;
  min_rtt_ms: number | null;
  delivery_rate_bps: number | null;
  pacing_rate_bps: number | null;
  retrans_total: number | null;
  bytes_sent: number | null;
  bytes_received: number | null;
  send: { queued_bytes: number | null; notsent_bytes: number | null; sndbuf_bytes: number | null; use_pct: number | null; limit_bytes: number | null; of_limit_pct: number | null };
  recv: { queued_bytes: number | null; rcvbuf_bytes: number | null; use_pct: number | null; limit_bytes: number | null; of_limit_pct: number | null };
  /** Chronograph shares since the socket opened (of busy time; `app` unknown: null). */
  since_open: { busy_ms: number; shares: Shares } | null;
  /** Shares of the interval's wall time (all four), with --interval. */
  interval: { seconds: number; busy_ms: number; shares: Shares } | null;
  /** null for sockets that carry no data (LISTEN, TIME-WAIT, SYN-SENT …). */
  limited_by: Limiter | null;
  /** interval | since-open: the chronographs' largest share; queues: the queues at the read
   *  (this ss prints no chronographs, or they put it on the network while the queues show a
   *  full peer window or a full send buffer at its cap, see classifySockets). */
  basis: 'interval' | 'since-open' | 'queues' | null;
  /** The queues at the read (see queuesNow). */
  now: { in_flight_bytes: number | null; cwnd_full: boolean | null; peer_window_full: boolean | null; send_buffer_full: boolean | null; sndbuf_at_limit: boolean | null };
  /** One line: what limits it, the numbers, and what to change. */
  reason: string | null;
}

/** States in which a socket moves data. */
const DATA_STATES = new Set(['ESTAB', 'CLOSE-WAIT', 'FIN-WAIT-1']);

const pct = (part: number | null, whole: number | null): number | null =>
  part === null || whole === null || whole <= 0 ? null : round((100 * part) / whole, 3);

/** tcp_wmem / tcp_rmem "min default max" → max (bytes). */
export function vectorMax(value: string | undefined): number | null {
  const parts = (value ?? '').trim().split(/\s+/);
  const last = parts[2];
  return last !== undefined && /^\d+$/.test(last) ? Number(last) : null;
}

export const limitsFromSysctl = (sysctl: Record<string, string>): BufferLimits => ({
  wmem_max: vectorMax(sysctl['net.ipv4.tcp_wmem']),
  rmem_max: vectorMax(sysctl['net.ipv4.tcp_rmem']),
});

const sockKey = (s: SsSocket): string => `${s.local} ${s.peer}`;

/** The four shares of a window: busy split by the chronographs, and app = wall − busy (when the
 *  wall time is known). Clamped at 0: jiffies granularity can make a part exceed its whole. */
function shares(busy: number, rwnd: number, sndbuf: number, wall: number | null): Shares {
  const whole = wall ?? busy;
  if (whole <= 0) return { sndbuf: 0, rwnd: 0, cwnd: 0, app: wall === null ? null : 1 };
  const b = Math.min(busy, whole);
  const f = (x: number): number => round(Math.max(0, Math.min(1, x / whole)), 3);
  return { sndbuf: f(sndbuf), rwnd: f(rwnd), cwnd: f(b - rwnd - sndbuf), app: wall === null ? null : f(whole - b) };
}

const largest = (s: Shares): Limiter =>
  LIMITERS.reduce<Limiter>((best, k) => ((s[k] ?? -1) > (s[best] ?? -1) ? k : best), 'cwnd');

/** Nothing waiting to be sent or acknowledged: the application is not writing. */
const nothingQueued = (s: SsSocket): boolean => s.send_q === 0 && (s.notsent ?? 0) === 0 && (s.unacked ?? 0) === 0;

/** What the queues show at the moment of the read. */
export function queuesNow(s: SsSocket, limits: BufferLimits): SocketView['now'] {
  const m = s.skmem;
  const inFlight = s.unacked !== null && s.mss !== null ? s.unacked * s.mss : null;
  return {
    in_flight_bytes: inFlight,
    cwnd_full: s.unacked !== null && s.cwnd !== null ? s.unacked >= s.cwnd : null,
    peer_window_full: inFlight !== null && s.snd_wnd !== null && s.snd_wnd > 0 ? inFlight >= 0.9 * s.snd_wnd : null,
    // Full as the kernel judges it: a writer is woken only when the free space is at least half
    // of what is queued (sk_stream_is_writeable: sndbuf − queued ≥ queued / 2), so a buffer
    // holding more than 2/3 of sndbuf has its writer waiting; a send-limited socket's queue moves
    // between 2/3 and full, and a threshold near full missed most reads of one.
    send_buffer_full: m && m.sndbuf > 0 ? 3 * m.wmem_queued > 2 * m.sndbuf : null,
    sndbuf_at_limit: m && limits.wmem_max !== null ? m.sndbuf >= 0.95 * limits.wmem_max : null,
  };
}

/** The limit the queues show now, or null when they show none. The peer's window is full of
 *  bytes in flight: rwnd. The send buffer is full, autotuning has reached tcp_wmem[2] (or
 *  SO_SNDBUF is beyond it) and the congestion window still has room: sndbuf. */
function limitFromQueues(s: SsSocket, q: SocketView['now']): Limiter | null {
  if (nothingQueued(s)) return 'app';
  if (q.peer_window_full === true) return 'rwnd';
  if (q.send_buffer_full === true && q.sndbuf_at_limit !== false && q.cwnd_full !== true) return 'sndbuf';
  return null;
}

function reasonFor(v: SocketView, s: SsSocket, limits: BufferLimits): string {
  const share = (v.interval ?? v.since_open)?.shares[v.limited_by ?? 'cwnd'];
  const span = v.interval ? `the last ${round(v.interval.seconds, 3)} s` : 'busy time since it opened';
  const q = v.now;
  const of =
    v.basis === 'queues'
      ? v.limited_by === 'rwnd'
        ? ` (now: ${formatBytes(q.in_flight_bytes)} in flight fill the peer's window${share !== null && share !== undefined ? `; the chronograph counted ${Math.round(share * 100)}% of ${span}` : ''})`
        : v.limited_by === 'sndbuf'
          ? ` (now: ${formatBytes(s.skmem?.wmem_queued)} queued of ${formatBytes(s.skmem?.sndbuf)}, ${formatBytes(q.in_flight_bytes)} in flight, cwnd not full${share !== null && share !== undefined ? `; the chronograph counted ${Math.round(share * 100)}% of ${span}` : ''})`
          : ''
      : share !== null && share !== undefined
        ? ` ${Math.round(share * 100)}% of ${span}`
        : '';
  const bdp = s.delivery_rate_bps && s.min_rtt_ms ? ` (delivery rate × min RTT = ${formatBytes(Math.round((s.delivery_rate_bps / 8) * (s.min_rtt_ms / 1000)))})` : '';
  switch (v.limited_by) {
    case 'sndbuf': {
      const tb = s.skmem?.sndbuf ?? null;
      const atMax = tb !== null && limits.wmem_max !== null && tb >= 0.95 * limits.wmem_max;
      return atMax || tb === null
        ? `send buffer full${of}: sndbuf ${formatBytes(tb)} is tcp_wmem[2] = ${formatBytes(limits.wmem_max)}; raise net.ipv4.tcp_wmem's max${bdp}`
        : `send buffer full${of}: sndbuf ${formatBytes(tb)} below tcp_wmem[2] = ${formatBytes(limits.wmem_max)}: the application's SO_SNDBUF caps it (or autotuning has not grown it yet)`;
    }
    case 'rwnd':
      return `the receiver's window${of}: peer advertises ${formatBytes(s.snd_wnd)}; raise the receiver's net.ipv4.tcp_rmem max (or its SO_RCVBUF)${bdp}`;
    case 'cwnd':
      return `the network${of}: ${s.congestion ?? 'congestion control'} cwnd ${s.cwnd ?? '?'}, ${s.retrans_total ?? 0} retransmitted, delivery ${s.delivery_rate_bps !== null ? formatRate(s.delivery_rate_bps) : '?'}; the path's rate or loss sets the pace (buffers are not the limit)`;
    case 'app':
      return `the application${of}: ${nothingQueued(s) ? 'nothing queued to send' : 'data only now and then'}${s.app_limited ? ', rate samples app-limited' : ''}; it does not write faster`;
    default:
      return '';
  }
}

/** Classifies the sockets of one read; with `previous` (an earlier read of the same namespace),
 *  the shares are over the time between them. */
export function classifySockets(
  now: { sockets: SsSocket[]; chronographs: boolean; at_ms: number },
  limits: BufferLimits,
  previous?: { sockets: SsSocket[]; at_ms: number },
): SocketView[] {
  const before = new Map((previous?.sockets ?? []).map((s) => [sockKey(s), s]));
  const wallMs = previous ? now.at_ms - previous.at_ms : null;
  return now.sockets.map((s) => {
    const m = s.skmem;
    const view: SocketView = {
      state: s.state,
      local: s.local,
      peer: s.peer,
      congestion: s.congestion,
      cwnd: s.cwnd,
      rtt_ms: s.rtt_ms,
      min_rtt_ms: s.min_rtt_ms,
      delivery_rate_bps: s.delivery_rate_bps,
      pacing_rate_bps: s.pacing_rate_bps,
      retrans_total: s.retrans_total,
      bytes_sent: s.bytes_sent,
      bytes_received: s.bytes_received,
      send: {
        queued_bytes: m?.wmem_queued ?? null,
        notsent_bytes: s.notsent,
        sndbuf_bytes: m?.sndbuf ?? null,
        use_pct: pct(m?.wmem_queued ?? null, m?.sndbuf ?? null),
        limit_bytes: limits.wmem_max,
        of_limit_pct: pct(m?.sndbuf ?? null, limits.wmem_max),
      },
      recv: {
        queued_bytes: m?.rmem_alloc ?? null,
        rcvbuf_bytes: m?.rcvbuf ?? null,
        use_pct: pct(m?.rmem_alloc ?? null, m?.rcvbuf ?? null),
        limit_bytes: limits.rmem_max,
        of_limit_pct: pct(m?.rcvbuf ?? null, limits.rmem_max),
      },
      since_open: null,
      interval: null,
      now: queuesNow(s, limits),
      limited_by: null,
      basis: null,
      reason: null,
    };
    if (!DATA_STATES.has(s.state)) return view;
    const fromQueues = limitFromQueues(s, view.now);
    if (now.chronographs && s.busy_ms !== null) {
      view.since_open = { busy_ms: s.busy_ms, shares: shares(s.busy_ms, s.rwnd_limited_ms ?? 0, s.sndbuf_limited_ms ?? 0, null) };
      const p = before.get(sockKey(s));
      if (wallMs !== null && wallMs > 0) {
        // A socket new since the first read counts from zero; a reused 4-tuple (busy went down) too.
        const base = p && p.busy_ms !== null && p.busy_ms <= s.busy_ms ? p : null;
        const d = (x: number | null, y: number | null | undefined): number => Math.max(0, (x ?? 0) - (y ?? 0));
        const busy = d(s.busy_ms, base?.busy_ms);
        view.interval = {
          seconds: round(wallMs / 1000, 4),
          busy_ms: busy,
          shares: shares(busy, d(s.rwnd_limited_ms, base?.rwnd_limited_ms), d(s.sndbuf_limited_ms, base?.sndbuf_limited_ms), wallMs),
        };
        view.limited_by = largest(view.interval.shares);
        view.basis = 'interval';
      } else {
        view.limited_by = s.busy_ms === 0 || nothingQueued(s) ? 'app' : largest(view.since_open.shares);
        view.basis = 'since-open';
      }
      // The chronographs undercount both stalls for a paced sender (bbr, or fq pacing):
      // tcp_write_xmit stops at the pacing check before it tests the window, and the sndbuf
      // chronograph runs only while the write queue is empty. When they leave it on the network
      // (the rest of busy time) but the queues show the window or the buffer full, the queues win.
      if (view.limited_by === 'cwnd' && fromQueues !== null && fromQueues !== 'app') {
        view.limited_by = fromQueues;
        view.basis = 'queues';
      }
    } else {
      view.limited_by = fromQueues ?? 'cwnd';
      view.basis = 'queues';
    }
    view.reason = reasonFor(view, s, limits);
    return view;
  });
}
