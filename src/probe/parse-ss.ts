// Pure parser for `ss -tinmO` text (iproute2's socket statistics: one line per TCP socket with
// skmem and tcp_info). ss prints a tcp_info field only when it is non-zero, so an absent field is
// 0 where ss's own rules say so (see tcp_stats_print in iproute2's misc/ss.c): busy:,
// rwnd_limited: and sndbuf_limited: are printed only when non-zero, and the latter two only after
// a busy:. Older ss versions (before the kernel 4.10 sender chronographs, tcpi_busy_time) print
// none of the three. A line cannot tell "never busy" from "this ss does not print it", so the
// output as a whole decides: when any socket of it carries a busy:, this ss prints them (and an
// absent one is 0); when none does, the chronographs are unknown (null), and the classifier says
// it judged from the buffers instead.
import type { Parsed } from './parse-proc.js';

/** skmem:(r,rb,t,tb,f,w,o,bl,d): socket memory (bytes), as ss -m documents it. */
export interface SsSkmem {
  rmem_alloc: number;
  rcvbuf: number;
  wmem_alloc: number;
  sndbuf: number;
  fwd_alloc: number;
  wmem_queued: number;
  optmem: number;
  backlog: number | null;
  drops: number | null;
}

export interface SsSocket {
  /** As ss prints it: ESTAB, LISTEN, TIME-WAIT, SYN-SENT, CLOSE-WAIT, … */
  state: string;
  recv_q: number;
  send_q: number;
  local: string;
  peer: string;
  skmem: SsSkmem | null;
  congestion: string | null;
  options: string[];
  rto_ms: number | null;
  rtt_ms: number | null;
  rttvar_ms: number | null;
  min_rtt_ms: number | null;
  mss: number | null;
  cwnd: number | null;
  ssthresh: number | null;
  bytes_sent: number | null;
  bytes_acked: number | null;
  bytes_received: number | null;
  bytes_retrans: number | null;
  segs_out: number | null;
  segs_in: number | null;
  /** retrans:CUR/TOTAL */
  retrans: number | null;
  retrans_total: number | null;
  lost: number | null;
  unacked: number | null;
  notsent: number | null;
  snd_wnd: number | null;
  rcv_space: number | null;
  send_bps: number | null;
  pacing_rate_bps: number | null;
  delivery_rate_bps: number | null;
  /** The last delivery-rate sample was application-limited (tcpi_delivery_rate_app_limited). */
  app_limited: boolean;
  /** Sender chronographs since the socket opened (ms); null when this ss does not print them. */
  busy_ms: number | null;
  rwnd_limited_ms: number | null;
  sndbuf_limited_ms: number | null;
  last_send_ms: number | null;
  last_recv_ms: number | null;
  last_ack_ms: number | null;
  /** Every other `key:value` token as printed (bbr:(…), wscale, timer, users, …). */
  other: Record<string, string>;
}

/** What a whole ss output held: the sockets, and whether its ss prints the chronographs. */
export interface SsOutput {
  sockets: SsSocket[];
  chronographs: boolean;
}

/** Options ss prints as bare words before the congestion control name. */
const OPTION_WORDS = new Set(['ts', 'sack', 'ecn', 'ecnseen', 'fastopen', 'bidir']);
/** Fields ss prints as "name value" (two words). */
const PAIR_WORDS = new Set(['send', 'pacing_rate', 'delivery_rate']);
const STATE = /^[A-Z][A-Z0-9-]*$/;
const NUM = /^\d+(\.\d+)?$/;

/** ss's rates: bits per second as sprint_bw writes them ("287224bps", "47.2Mbps", "1.2Gbps"),
 *  decimal multipliers. Not tc's units (there "mbps" means megabytes): ss-specific, so here. */
export function parseSsRate(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)bps$/.exec(text);
  if (!m) return null;
  const mult = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.round(Number(m[1]) * mult);
}

/** "40ms" or "40ms(12.5%)" → 40. */
const millis = (v: string): number | null => {
  const m = /^(\d+(?:\.\d+)?)ms(?:\([\d.]+%\))?$/.exec(v);
  return m ? Number(m[1]) : null;
};
const number = (v: string | undefined): number | null => (v !== undefined && NUM.test(v) ? Number(v) : null);

function parseSkmem(v: string): SsSkmem | null {
  const m = /^\((.*)\)$/.exec(v);
  if (!m) return null;
  const f: Record<string, number> = {};
  for (const part of (m[1] ?? '').split(',')) {
    const pm = /^([a-z]+)(\d+)$/.exec(part);
    if (pm) f[pm[1] ?? ''] = Number(pm[2]);
  }
  const need = ['r', 'rb', 't', 'tb', 'f', 'w', 'o'];
  if (!need.every((k) => k in f)) return null;
  return {
    rmem_alloc: f.r ?? 0,
    rcvbuf: f.rb ?? 0,
    wmem_alloc: f.t ?? 0,
    sndbuf: f.tb ?? 0,
    fwd_alloc: f.f ?? 0,
    wmem_queued: f.w ?? 0,
    optmem: f.o ?? 0,
    backlog: f.bl ?? null,
    drops: f.d ?? null,
  };
}

/** Splits a line into words, keeping parenthesised groups (users:(("a b",pid=1))) whole. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth = Math.max(0, depth - 1);
    if (!quoted && depth === 0 && /\s/.test(ch)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** ss -O prints one socket a line; without -O the details follow on indented lines: join them. */
function socketLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line) && out.length) out[out.length - 1] += ` ${line.trim()}`;
    else out.push(line);
  }
  return out;
}

function emptySocket(state: string, recvQ: number, sendQ: number, local: string, peer: string): SsSocket {
  return {
    state, recv_q: recvQ, send_q: sendQ, local, peer,
    skmem: null, congestion: null, options: [],
    rto_ms: null, rtt_ms: null, rttvar_ms: null, min_rtt_ms: null, mss: null, cwnd: null, ssthresh: null,
    bytes_sent: null, bytes_acked: null, bytes_received: null, bytes_retrans: null, segs_out: null, segs_in: null,
    retrans: null, retrans_total: null, lost: null, unacked: null, notsent: null, snd_wnd: null, rcv_space: null,
    send_bps: null, pacing_rate_bps: null, delivery_rate_bps: null, app_limited: false,
    busy_ms: null, rwnd_limited_ms: null, sndbuf_limited_ms: null,
    last_send_ms: null, last_recv_ms: null, last_ack_ms: null,
    other: {},
  };
}

/** key:value fields that map to a number of the same meaning. */
const NUMERIC: Record<string, keyof SsSocket> = {
  rto: 'rto_ms', minrtt: 'min_rtt_ms', mss: 'mss', cwnd: 'cwnd', ssthresh: 'ssthresh',
  bytes_sent: 'bytes_sent', bytes_acked: 'bytes_acked', bytes_received: 'bytes_received', bytes_retrans: 'bytes_retrans',
  segs_out: 'segs_out', segs_in: 'segs_in', lost: 'lost', unacked: 'unacked', notsent: 'notsent', snd_wnd: 'snd_wnd',
  rcv_space: 'rcv_space', lastsnd: 'last_send_ms', lastrcv: 'last_recv_ms', lastack: 'last_ack_ms',
};

function detail(s: SsSocket, key: string, value: string, problems: string[], where: string): void {
  const set = (field: keyof SsSocket, v: number | null): void => {
    if (v === null) problems.push(`${where}: ${key}: not a number: ${JSON.stringify(value)}`);
    else (s as unknown as Record<string, unknown>)[field] = v;
  };
  const field = NUMERIC[key];
  if (field) return set(field, number(value));
  switch (key) {
    case 'skmem': {
      s.skmem = parseSkmem(value);
      if (!s.skmem) problems.push(`${where}: skmem: cannot read ${JSON.stringify(value)}`);
      return;
    }
    case 'rtt': {
      const [rtt, v] = value.split('/');
      set('rtt_ms', number(rtt));
      if (v !== undefined) set('rttvar_ms', number(v));
      return;
    }
    case 'retrans': {
      const [cur, total] = value.split('/');
      set('retrans', number(cur));
      if (total !== undefined) set('retrans_total', number(total));
      return;
    }
    case 'busy':
      return set('busy_ms', millis(value));
    case 'rwnd_limited':
      return set('rwnd_limited_ms', millis(value));
    case 'sndbuf_limited':
      return set('sndbuf_limited_ms', millis(value));
    default:
      s.other[key] = value;
  }
}

function pair(s: SsSocket, key: string, value: string, problems: string[], where: string): void {
  const rate = parseSsRate(value.split('/')[0] ?? ''); // pacing_rate X/MAXbps: the current one
  if (rate === null) problems.push(`${where}: ${key}: not a rate: ${JSON.stringify(value)}`);
  else if (key === 'send') s.send_bps = rate;
  else if (key === 'pacing_rate') s.pacing_rate_bps = rate;
  else s.delivery_rate_bps = rate;
}

/** ss's state filter names → the state column it prints. When a filter selects one state, ss
 *  leaves the column out ("state established": the header starts at Recv-Q). */
export const SS_STATE_NAMES: Readonly<Record<string, string>> = {
  established: 'ESTAB', 'syn-sent': 'SYN-SENT', 'syn-recv': 'SYN-RECV', 'fin-wait-1': 'FIN-WAIT-1', 'fin-wait-2': 'FIN-WAIT-2',
  'time-wait': 'TIME-WAIT', closed: 'UNCONN', 'close-wait': 'CLOSE-WAIT', 'last-ack': 'LAST-ACK', listening: 'LISTEN', closing: 'CLOSING',
};

/** Parses `ss -tinmO` (also `-n`, `-e`, `-p`, and the multi-line form without -O). `state`: what
 *  to record when ss printed no State column (the one state its filter selected), else UNKNOWN. */
export function parseSs(text: string, opts: { state?: string | null } = {}): Parsed<SsOutput> {
  const problems: string[] = [];
  const sockets: SsSocket[] = [];
  const ls = socketLines(text);
  let start = 0;
  let netid = false;
  let stateless = false;
  if (ls[0] !== undefined && /^(Netid\s+)?(State\s+)?Recv-Q\s+Send-Q/.test(ls[0])) {
    netid = ls[0].startsWith('Netid');
    stateless = !/^(Netid\s+)?State\s/.test(ls[0]);
    start = 1;
  }
  for (let i = start; i < ls.length; i++) {
    const where = `line ${i + 1}`;
    const w = words(ls[i] ?? '');
    if (netid) w.shift();
    if (stateless) w.unshift(opts.state ?? 'UNKNOWN');
    const [state, rq, sq, local, peer, ...rest] = w;
    if (state === undefined || !STATE.test(state) || number(rq) === null || number(sq) === null || !local || !peer) {
      problems.push(`${where}: not a socket line: ${JSON.stringify((ls[i] ?? '').slice(0, 80))}`);
      continue;
    }
    const s = emptySocket(state, Number(rq), Number(sq), local, peer);
    for (let k = 0; k < rest.length; k++) {
      const t = rest[k] ?? '';
      const colon = t.indexOf(':');
      if (PAIR_WORDS.has(t) && k + 1 < rest.length) pair(s, t, rest[++k] ?? '', problems, where);
      else if (t === 'app_limited') s.app_limited = true;
      else if (OPTION_WORDS.has(t)) s.options.push(t);
      else if (colon > 0) detail(s, t.slice(0, colon), t.slice(colon + 1), problems, where);
      else if (s.congestion === null && /^[a-z][a-z0-9_]*$/.test(t)) s.congestion = t;
      else s.other[t] = '';
    }
    sockets.push(s);
  }
  const chronographs = sockets.some((s) => s.busy_ms !== null);
  if (chronographs) {
    // ss prints the three only when non-zero: on a socket with tcp_info, absent means 0.
    for (const s of sockets) {
      if (s.rtt_ms === null && s.cwnd === null) continue; // no tcp_info (TIME-WAIT, SYN-RECV mini sockets)
      s.busy_ms ??= 0;
      s.rwnd_limited_ms ??= 0;
      s.sndbuf_limited_ms ??= 0;
    }
  }
  return { data: { sockets, chronographs }, problems };
}
