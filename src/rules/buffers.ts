// Socket buffers and protocol memory: TCP buffer maxima against the path BDP, tcp_mem, receive
// queue drops, UDP buffer errors, and the net.core limits that only bind SO_RCVBUF/SO_SNDBUF.
import { kernelDefault } from '../catalog/defaults.js';
import { formatRate } from '../units/index.js';
import type { PlanChange } from '../plan/types.js';
import type { Evidence, Hit, Rule, RuleContext } from './types.js';
import { counterSignal, type CounterSignal, mib, nextPow2, SINCE_BOOT_NOTE, sinceBoot, sysctlChange, vectorWith } from './util.js';

const IP_SYSCTL = 'Documentation/networking/ip-sysctl.rst';
const NET_SYSCTL = 'Documentation/admin-guide/sysctl/net.rst';

/** A three-field vector sysctl (min, default/pressure, max), or null when absent or malformed. */
function vec3(ctx: RuleContext, key: string): [number, number, number] | null {
  const v = ctx.vec(key);
  if (!v || v.length !== 3) return null;
  const [a, b, c] = v as [number, number, number];
  return [a, b, c];
}

const ms = (s: number): string => `${Number((s * 1000).toPrecision(4))} ms`;

/** Decimal megabytes, as link arithmetic gives them (10 Gbit/s × 10 ms = 12.5 MB). */
const mb = (bytes: number): string => `${Number((bytes / 1e6).toPrecision(3))} MB`;

const GIB = 1024 ** 3;
/** mib() for buffer sizes, GiB for memory totals. */
const size = (bytes: number): string => (bytes >= GIB ? `${Number((bytes / GIB).toPrecision(3))} GiB` : mib(bytes));

/** Counter evidence; without a rate, the lines that counted something carry the since-boot note. */
export function signalEvidence(sig: CounterSignal): Evidence[] {
  if (sig.now) return sig.evidence;
  return sig.evidence.map((e) => (typeof e.value === 'number' && e.value > 0 ? { ...e, note: SINCE_BOOT_NOTE } : e));
}

/** "4.2/s" or "since boot" for messages. */
const rateText = (sig: CounterSignal): string => (sig.now && sig.rate !== null ? `${Number(sig.rate.toPrecision(3))}/s over the interval` : `${sig.total} since boot`);

/** Boot-time tcp_mem as tcp_init_mem() computes it (net/ipv4/tcp.c), from total RAM in pages.
 *  The kernel starts from free buffer pages, a little less than total RAM. */
function defaultTcpMem(ramBytes: number, pageSize: number): [number, number, number] {
  const limit = Math.max(Math.floor(ramBytes / pageSize / 16), 128);
  const min = Math.floor(limit / 4) * 3;
  return [min, limit, min * 2];
}

/** tcp_mem with every field doubled, when the new max stays within a quarter of RAM; else null. */
function doubledTcpMem(ctx: RuleContext, mem: readonly number[]): PlanChange | null {
  const { total_bytes: ram, page_size: page } = ctx.snap.memory;
  const doubled = mem.map((x) => x * 2);
  return (doubled[2] ?? Infinity) * page <= ram / 4 ? sysctlChange(ctx, 'net.ipv4.tcp_mem', doubled.join(' ')) : null;
}

/** Buffers must hold about twice the BDP: the kernel charges skb truesize (headers, slack) against
 *  the buffer, so roughly half of it can be advertised as window. */
export const BDP_BUFFER_FACTOR = 2;
/** On a lossy path twice that: every loss leaves a hole the receiver must hold the data behind
 *  (out of order) for about one more round trip, and the sender keeps it for retransmission, so
 *  window and buffers need about two BDP of data, not one. Measured (bench/outcome, 1 Gbit/s ×
 *  100 ms × 0.1 % loss per direction, BBR): 2 × BDP buffers gave 71 % of the goodput ceiling,
 *  256 MiB 99.5 %. */
export const LOSSY_BUFFER_FACTOR = 4;
/** The largest per-socket buffer nettune proposes. The tcp_rmem/tcp_wmem fields and rmem_max are C
 *  ints (the kernel refuses anything above INT_MAX), and past 1 GiB per socket the answer is more
 *  streams, not more buffer. */
export const MAX_SOCKET_BUFFER = 2 ** 30;

/** The one buffer size audit and plan propose for a path: 2 × BDP (or `factor` × BDP) rounded up
 *  to a power of two, never above MAX_SOCKET_BUFFER. */
export function bufferForBdp(bdpBytes: number, factor: number = BDP_BUFFER_FACTOR): { wanted: number; target: number; capped: boolean } {
  const wanted = nextPow2(factor * bdpBytes);
  const target = Math.min(wanted, MAX_SOCKET_BUFFER);
  return { wanted, target, capped: target < wanted };
}

/** A buffer limit doubled (to a power of two), never past MAX_SOCKET_BUFFER (nor lowered). */
export const doubledBuffer = (current: number): number => Math.max(current, Math.min(nextPow2(current * 2), MAX_SOCKET_BUFFER));

function bdpRule(kind: 'rmem' | 'wmem'): Rule {
  const key = `net.ipv4.tcp_${kind}`;
  const recv = kind === 'rmem';
  return {
    id: `buffers.${kind}-below-bdp`,
    domain: 'buffers',
    title: recv ? 'TCP receive buffer max is below 2 × BDP of the link' : 'TCP send buffer max is below 2 × BDP of the link',
    severity: 'warn',
    severity_note: 'critical when the max is below one BDP',
    needs: ['link'],
    why: recv
      ? 'One stream can have at most one advertised receive window of data in flight per round trip, and autotuning never grows a socket past tcp_rmem[2]. Only part of the buffer becomes window because each packet is charged at its skb truesize (payload plus metadata and slack): since 6.6 the kernel measures that ratio per flow, before 6.6 tcp_adv_win_scale=1 reserved half. So advertising a window of one BDP takes a buffer of about 2 × BDP.'
      : 'A sender must keep every unacknowledged byte in its send buffer, charged at skb truesize, so a full pipe needs more than one BDP of buffer. Send autotuning aims at about twice the congestion window in truesize (headroom for fast recovery) and never goes past tcp_wmem[2], so a max below 2 × BDP holds one stream below the link rate.',
    sources: [`${IP_SYSCTL} (tcp_${kind}, tcp_adv_win_scale)`, 'RFC 7323 §2 (window scale)', 'commit dfa2f0483360 "tcp: get rid of sysctl_tcp_adv_win_scale" (6.6)'],
    risk: 'Raising only the max lets sockets grow where the path needs it; many fast bulk connections can then hold more kernel memory (bounded globally by tcp_mem), and a sender with a large window can fill a bottleneck queue deeper.',
    check: (ctx) => {
      const v = vec3(ctx, key);
      const link = ctx.link;
      if (!v || !link || link.rtt_s <= 0) return null;
      const max = v[2];
      const bdp = link.bdp_bytes;
      if (max >= 2 * bdp) return null;
      const target = Math.max(max, bufferForBdp(bdp).target);
      const ceiling = ((max / 2) * 8) / link.rtt_s;
      const below = max < bdp ? 'below one BDP' : 'below 2 × BDP';
      const advice = target > max ? `raise the max to ${mib(target)}${bufferForBdp(bdp).capped ? ` (nettune's per-socket cap; use parallel streams for the rest)` : ''}` : `the max is already at nettune's per-socket cap of ${mib(MAX_SOCKET_BUFFER)}: use parallel streams`;
      return {
        message: `tcp_${kind} max ${mib(max)} is ${below} (BDP ${mb(bdp)} at ${formatRate(link.rate_bps)} × ${ms(link.rtt_s)}): one stream tops out near ${formatRate(ceiling)}; ${advice}`,
        evidence: [
          ctx.knob(key),
          { what: 'BDP', value: Math.round(bdp), note: `${formatRate(link.rate_bps)} × ${ms(link.rtt_s)} = ${mb(bdp)} (${mib(bdp)}); 2 × BDP = ${mb(2 * bdp)}` },
          { what: 'single-stream ceiling', value: formatRate(ceiling), note: `about max/2 = ${mib(max / 2)} of window per ${ms(link.rtt_s)} round trip` },
        ],
        changes: target > max ? [sysctlChange(ctx, key, vectorWith(v, 2, target))] : [],
        confidence: 'high',
        ...(max < bdp ? { severity: 'critical' as const } : {}),
      };
    },
  };
}

function coreMaxRule(kind: 'rmem' | 'wmem'): Rule {
  const key = `net.core.${kind}_max`;
  const tcpKey = `net.ipv4.tcp_${kind}`;
  const opt = kind === 'rmem' ? 'SO_RCVBUF' : 'SO_SNDBUF';
  return {
    id: `buffers.core-${kind}-max-for-apps`,
    domain: 'buffers',
    title: `net.core.${kind}_max caps applications that set ${opt} below what the link needs`,
    severity: 'info',
    needs: ['link', 'init-netns'],
    why: `net.core.${kind}_max only bounds what an application requests with ${opt} (the kernel then doubles the value for overhead); TCP autotuning is bounded by tcp_${kind}[2] instead. An application that sets ${opt} switches autotuning off for that socket and gets a fixed buffer, so tools that size their own buffers (iperf3 -w, data movers, some databases) stay at ${kind}_max even where autotuning would go further.`,
    sources: [`${NET_SYSCTL} (${kind}_max)`, `${IP_SYSCTL} (tcp_${kind})`, `socket(7) (${opt})`],
    risk: `The limit is global (set from the initial network namespace) and lets any unprivileged process pin up to twice ${kind}_max of kernel memory per socket.`,
    check: (ctx) => {
      const cur = ctx.int(key);
      const tcp = vec3(ctx, tcpKey);
      const link = ctx.link;
      if (cur === null || !tcp || !link) return null;
      const target = Math.min(tcp[2], nextPow2(2 * link.bdp_bytes));
      if (cur >= target) return null;
      return {
        message: `${kind}_max ${mib(cur)}: applications that set ${opt} get at most that, while autotuned sockets may grow to ${mib(tcp[2])} and this link wants ${mb(2 * link.bdp_bytes)} (2 × BDP)`,
        evidence: [ctx.knob(key), ctx.knob(tcpKey), { what: 'BDP', value: Math.round(link.bdp_bytes), note: `${formatRate(link.rate_bps)} × ${ms(link.rtt_s)} = ${mb(link.bdp_bytes)}` }],
        changes: [sysctlChange(ctx, key, String(target))],
        commands: [`# only applications that call setsockopt(${opt}) are affected; the others are autotuned up to tcp_${kind}[2]`],
        confidence: 'medium',
      };
    },
  };
}

export const RCVQ_COUNTERS = ['netstat.TcpExt.TCPRcvQDrop', 'netstat.TcpExt.RcvPruned', 'netstat.TcpExt.PruneCalled', 'netstat.TcpExt.TCPRcvCollapsed'] as const;

function udpErrorsRule(dir: 'rcv' | 'snd'): Rule {
  const recv = dir === 'rcv';
  const field = recv ? 'RcvbufErrors' : 'SndbufErrors';
  const defKey = recv ? 'net.core.rmem_default' : 'net.core.wmem_default';
  const maxKey = recv ? 'net.core.rmem_max' : 'net.core.wmem_max';
  const opt = recv ? 'SO_RCVBUF' : 'SO_SNDBUF';
  return {
    id: `buffers.udp-${dir}buf-errors`,
    domain: 'buffers',
    title: recv ? 'UDP datagrams dropped: socket receive buffer full' : 'UDP sends failed: no send buffer space (or ENOBUFS)',
    severity: 'warn',
    severity_note: 'info when the counter grew only at some time since boot (no interval)',
    why: recv
      ? 'RcvbufErrors counts datagrams dropped because the receiving socket\'s buffer was full: the application did not read fast enough for the burst. UDP has no autotuning; a socket keeps net.core.rmem_default unless the application sets SO_RCVBUF, which is capped at net.core.rmem_max and then doubled. Drops at the global udp_mem limit are counted separately as MemErrors.'
      : 'SndbufErrors counts sends that failed while the socket send buffer (net.core.wmem_default, or SO_SNDBUF) was full, as non-blocking senders see with EAGAIN, and sends that hit ENOBUFS, which also comes from a full local qdisc or device queue. The datagram is not sent; without IP_RECVERR an ENOBUFS from the device path is not even reported to the application.',
    sources: [`${NET_SYSCTL} (${recv ? 'rmem_default, rmem_max' : 'wmem_default, wmem_max'})`, `socket(7) (${opt})`, `net/ipv4/udp.c (${recv ? '__udp_queue_rcv_skb' : 'udp_sendmsg, udp_send_skb'})`],
    risk: `${defKey} applies to every new non-TCP socket (UDP, raw, netlink, Unix), so a larger default costs memory per socket on hosts with many of them; the limits are global (initial namespace only).`,
    check: (ctx) => {
      const sig = counterSignal(ctx, [`snmp.Udp.${field}`, `snmp6.Udp6.${field}`]);
      if (!sig.seen) return null;
      const def = ctx.int(defKey);
      const max = ctx.int(maxKey);
      const global = ctx.snap.netns.init !== false;
      const changes: PlanChange[] = [];
      if (global && def !== null) {
        const to = doubledBuffer(def);
        changes.push(sysctlChange(ctx, defKey, String(to)));
        if (max !== null && max < to) changes.push(sysctlChange(ctx, maxKey, String(to)));
      }
      const evidence = [...signalEvidence(sig), ctx.knob(defKey), ctx.knob(maxKey)];
      if (recv) evidence.push(ctx.evidence('snmp.Udp.MemErrors', 'drops at the global udp_mem limit'));
      return {
        message: recv
          ? `UDP receive buffer overflows (${rateText(sig)}): raise ${defKey} for applications that do not size their sockets, or the application's SO_RCVBUF (capped at rmem_max = ${max ?? '?'})`
          : `UDP send buffer errors (${rateText(sig)}): raise ${defKey} or the application's SO_SNDBUF (capped at wmem_max = ${max ?? '?'}); ENOBUFS from a full qdisc is counted here too`,
        evidence,
        changes,
        commands: recv
          ? [`# or in the application: setsockopt(SO_RCVBUF) up to net.core.rmem_max (the kernel doubles it); ss -uamn shows each socket's rb (buffer) and d (drops)`]
          : ['# ENOBUFS also comes from the local queue: check `tc -s qdisc` for drops on the egress device'],
        confidence: recv ? 'high' : 'medium',
        severity: sinceBoot(sig, 'warn'),
      };
    },
  };
}

export const bufferRules: Rule[] = [
  bdpRule('rmem'),
  bdpRule('wmem'),
  {
    id: 'buffers.tcp-mem-exceeds-ram',
    domain: 'buffers',
    title: 'tcp_mem allows TCP to take most of (or more than) the RAM',
    severity: 'warn',
    severity_note: 'critical when tcp_mem max exceeds the RAM',
    needs: ['init-netns'],
    why: 'tcp_mem is counted in pages, not bytes, and is the global limit for memory queued in all TCP sockets; the boot default puts max at about 9.4 % of RAM (pressure at 6.25 %). A max above half of RAM lets socket buffers crowd out the rest of the system before TCP pushes back, and a max above RAM usually means byte values were written where pages are expected, which removes the limit altogether.',
    sources: [`${IP_SYSCTL} (tcp_mem)`, 'net/ipv4/tcp.c (tcp_init_mem)'],
    risk: 'Lowering tcp_mem makes TCP enter memory pressure sooner on hosts that really queue a lot; watch netstat.TcpExt.TCPMemoryPressures after the change.',
    check: (ctx) => {
      const v = vec3(ctx, 'net.ipv4.tcp_mem');
      const { total_bytes: ram, page_size: page } = ctx.snap.memory;
      if (!v || ram <= 0 || page <= 0) return null;
      const maxBytes = v[2] * page;
      if (maxBytes <= ram / 2) return null;
      const over = maxBytes > ram;
      const def = defaultTcpMem(ram, page);
      return {
        message: over
          ? `tcp_mem max is ${v[2]} pages = ${size(maxBytes)}, more than the ${size(ram)} of RAM: the limit can never act (were bytes written instead of pages?)`
          : `tcp_mem max is ${v[2]} pages = ${size(maxBytes)}, ${Math.round((maxBytes / ram) * 100)} % of RAM`,
        evidence: [
          ctx.knob('net.ipv4.tcp_mem', `pages of ${page} bytes`),
          { what: 'tcp_mem max in bytes', value: maxBytes, note: `${size(maxBytes)} of ${size(ram)} RAM` },
          { what: 'boot default for this RAM', value: def.join(' '), note: 'tcp_init_mem: max ≈ 9.4 % of RAM' },
          ctx.evidence('sockstat.TCP.mem', 'pages in use now'),
        ],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_mem', def.join(' '))],
        confidence: 'high',
        ...(over ? { severity: 'critical' as const } : {}),
      };
    },
  },
  {
    id: 'buffers.tcp-mem-pressure',
    domain: 'buffers',
    title: 'TCP is under global memory pressure',
    severity: 'warn',
    severity_note: 'critical at or above tcp_mem max; when usage is below the pressure threshold and only pressure events are counted, info when the counter grew only at some time since boot (no interval)',
    needs: ['init-netns'],
    why: 'Once the pages allocated to all TCP sockets pass tcp_mem[1], TCP enters memory pressure: buffers stop growing, receive windows are clamped and queues are collapsed or pruned until usage falls below tcp_mem[0]. At tcp_mem[2] new allocations fail, so received data is dropped, senders block, and orphaned sockets are reset with the log line "out of memory -- consider tuning tcp_mem".',
    sources: [`${IP_SYSCTL} (tcp_mem)`, 'net/ipv4/tcp.c (tcp_check_oom)', 'include/uapi/linux/snmp.h (LINUX_MIB_TCPMEMORYPRESSURES)'],
    risk: 'More tcp_mem lets sockets hold more unswappable kernel memory; if a few slow readers hold it all, fixing them (ss -tm shows skmem per socket) beats raising the limit.',
    check: (ctx) => {
      const v = vec3(ctx, 'net.ipv4.tcp_mem');
      const used = ctx.counter('sockstat.TCP.mem').total;
      if (!v || used === null) return null;
      const sig = counterSignal(ctx, ['netstat.TcpExt.TCPMemoryPressures']);
      const atMax = used >= v[2];
      const pressured = used >= v[1];
      if (!pressured && !sig.seen) return null;
      const page = ctx.snap.memory.page_size;
      const more = doubledTcpMem(ctx, v);
      const evidence: Evidence[] = [
        ctx.evidence('sockstat.TCP.mem', `pages; ${size(used * page)}`),
        ctx.knob('net.ipv4.tcp_mem', `pages of ${page} bytes`),
        ...(pressured ? sig.evidence : signalEvidence(sig)),
        ctx.evidence('netstat.TcpExt.TCPMemoryPressuresChrono', 'ms spent under pressure'),
      ];
      const message = atMax
        ? `TCP uses ${used} pages, at or above tcp_mem max (${v[2]}): new socket memory is refused and data is dropped`
        : pressured
          ? `TCP uses ${used} pages, above the pressure threshold tcp_mem[1] = ${v[1]}: buffers are being squeezed`
          : `TCP entered memory pressure ${rateText(sig)} (now ${used} pages, threshold ${v[1]})`;
      return {
        message,
        evidence,
        changes: more ? [more] : [],
        commands: ['# find the sockets holding the memory: ss -tmn (skmem r = receive queue, t = send queue)'],
        confidence: pressured ? 'high' : 'medium',
        ...(atMax ? { severity: 'critical' as const } : pressured ? {} : { severity: sinceBoot(sig, 'warn') }),
      };
    },
  },
  coreMaxRule('rmem'),
  coreMaxRule('wmem'),
  {
    id: 'buffers.rcvq-drops',
    domain: 'buffers',
    title: 'TCP receive queues overflow: data pruned or dropped',
    severity: 'warn',
    severity_note: 'info when the counter grew only at some time since boot (no interval)',
    why: 'TCPRcvQDrop counts in-order segments dropped because the socket could not charge more receive memory; PruneCalled counts attempts to make room, TCPRcvCollapsed packets merged to save truesize, and RcvPruned the times even that failed and data was discarded. A drop means data that reached the host was discarded and must be retransmitted: the receive buffer (tcp_rmem, or all of TCP via tcp_mem) was full, usually because a reader falls behind a burst.',
    sources: [`${IP_SYSCTL} (tcp_rmem, tcp_mem)`, 'net/ipv4/tcp_input.c (tcp_data_queue, tcp_prune_queue)', 'include/uapi/linux/snmp.h (LINUX_MIB_TCPRCVQDROP, LINUX_MIB_RCVPRUNED)'],
    risk: 'A larger buffer hides a reader that is simply too slow and lets each such socket hold more memory; check the application first when only a few sockets are affected (ss -tmn shows their receive queues).',
    check: (ctx) => {
      const sig = counterSignal(ctx, RCVQ_COUNTERS);
      if (!sig.seen) return null;
      const rmem = vec3(ctx, 'net.ipv4.tcp_rmem');
      const mem = vec3(ctx, 'net.ipv4.tcp_mem');
      const used = ctx.counter('sockstat.TCP.mem').total;
      const pressures = ctx.counter('netstat.TcpExt.TCPMemoryPressures');
      // Pressure mode lasts until usage falls below tcp_mem[0], so "near tcp_mem[1]" starts there.
      const globalLimit = mem !== null && used !== null && (used >= mem[0] || (pressures.rate ?? 0) > 0);
      const changes: PlanChange[] = [];
      const more = globalLimit && mem ? doubledTcpMem(ctx, mem) : null;
      if (more) changes.push(more);
      else if (!globalLimit && rmem) changes.push(sysctlChange(ctx, 'net.ipv4.tcp_rmem', vectorWith(rmem, 2, doubledBuffer(rmem[2]))));
      return {
        message: globalLimit
          ? `TCP receive queues were pruned or dropped (${rateText(sig)}) while TCP memory (${used} pages) is near tcp_mem[1] = ${mem?.[1]}: the global limit is the bottleneck`
          : `TCP receive queues were pruned or dropped (${rateText(sig)}): sockets hit their receive buffer (tcp_rmem max ${rmem ? mib(rmem[2]) : '?'}) — a slow reader or too small a buffer`,
        evidence: [...signalEvidence(sig), ctx.knob('net.ipv4.tcp_rmem'), ctx.evidence('sockstat.TCP.mem', 'pages'), ctx.knob('net.ipv4.tcp_mem')],
        changes,
        commands: ['# look for sockets with a large Recv-Q: ss -tmn'],
        confidence: 'medium',
        severity: sinceBoot(sig, 'warn'),
      };
    },
  },
  udpErrorsRule('rcv'),
  udpErrorsRule('snd'),
  {
    id: 'buffers.moderate-rcvbuf-off',
    domain: 'buffers',
    title: 'TCP receive buffer autotuning is off',
    severity: 'warn',
    why: 'With tcp_moderate_rcvbuf=0 the kernel does not size receive buffers to the path: each TCP socket starts at tcp_rmem[1] (131072 bytes by default since 4.20, a window of about 64 KiB; 87380 before) and normally stays there. One stream then moves about one such window per round trip, roughly 52 Mbit/s at 10 ms with 131072.',
    sources: [`${IP_SYSCTL} (tcp_moderate_rcvbuf, tcp_rmem)`],
    risk: 'Autotuned sockets grow up to tcp_rmem[2] when the path needs it, so bulk receivers use more memory (bounded by tcp_mem).',
    check: (ctx): Hit | null => {
      if (ctx.int('net.ipv4.tcp_moderate_rcvbuf') !== 0) return null;
      const rmem = vec3(ctx, 'net.ipv4.tcp_rmem');
      const rtt = ctx.link?.rtt_s ?? 0.01;
      const initial = rmem?.[1] ?? Number(kernelDefault('net.ipv4.tcp_rmem', ctx.snap)?.value?.split(' ')[1] ?? 131072);
      const ceiling = ((initial / 2) * 8) / rtt;
      return {
        message: `receive autotuning is off: sockets stay at tcp_rmem[1] = ${mib(initial)}, about ${formatRate(ceiling)} per stream at ${ms(rtt)}`,
        evidence: [ctx.knob('net.ipv4.tcp_moderate_rcvbuf'), ctx.knob('net.ipv4.tcp_rmem'), { what: 'single-stream ceiling', value: formatRate(ceiling), note: `about ${mib(initial / 2)} of window per ${ms(rtt)}` }],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_moderate_rcvbuf', '1')],
        confidence: 'high',
      };
    },
  },
];
