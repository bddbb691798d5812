// TCP protocol features, congestion control, keepalive and timers.
import { findEntry } from '../catalog/index.js';
import { formatMs, formatRate, formatSeconds } from '../units/index.js';
import type { Evidence, Rule } from './types.js';
import { sysctlChange } from './util.js';

const IP_SYSCTL = 'Documentation/networking/ip-sysctl.rst';

/** TFO bits (include/net/tcp.h). */
const TFO_SERVER_ENABLE = 0x2;
const TFO_SERVER_COOKIE_NOT_REQD = 0x200;
const TFO_SERVER_WO_SOCKOPT1 = 0x400;

/** keepalive: tcp.keepalive-slow fires above this dead-peer time, tcp.keepalive-aggressive below
 *  this keepalive time; the planner stays between them (src/plan/intents.ts). */
export const KEEPALIVE_SLOW_S = 1800;
export const KEEPALIVE_AGGRESSIVE_S = 60;
/** The fix tcp.keepalive-slow proposes: time, interval, probes (600 + 15 × 4 = 660 s). */
const KEEPALIVE_FIX = [600, 15, 4] as const;

/** Kernel defaults from the catalog (one source for the texts that quote them). */
const catalogDefault = (key: string): string => findEntry(key)?.default ?? '?';
const KA_DEFAULT = ['net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'].map(catalogDefault);
const KA_DEFAULT_DEAD = Number(KA_DEFAULT[0]) + Number(KA_DEFAULT[1]) * Number(KA_DEFAULT[2]);
const CT_EST_DEFAULT = catalogDefault('net.netfilter.nf_conntrack_tcp_timeout_established');

const parseMask = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : Number(v);
  return Number.isInteger(n) ? n : null;
};

export const tcpRules: Rule[] = [
  {
    id: 'tcp.window-scaling-off',
    domain: 'tcp',
    title: 'TCP window scaling is off',
    severity: 'critical',
    why: 'Without the window-scale option (RFC 7323) no TCP window can exceed 64 KiB, so one connection moves at most 64 KiB per round trip whatever the buffers say. At 10 ms that is about 52 Mbit/s; at 100 ms about 5 Mbit/s.',
    sources: [`${IP_SYSCTL} (tcp_window_scaling)`, 'RFC 7323 §2'],
    risk: 'Practically none on current networks; only broken middleboxes that strip or mangle the option ever motivated turning it off.',
    check: (ctx) => {
      if (ctx.int('net.ipv4.tcp_window_scaling') !== 0) return null;
      const rtt = ctx.link?.rtt_s ?? 0.01;
      const ceiling = (65535 * 8) / rtt;
      return {
        message: `window scaling is off: one connection is capped near ${formatRate(ceiling)} at ${formatMs(rtt)} RTT`,
        evidence: [ctx.knob('net.ipv4.tcp_window_scaling'), { what: 'single-stream ceiling', value: formatRate(ceiling), note: `64 KiB per ${formatMs(rtt)} round trip` }],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_window_scaling', '1')],
        confidence: 'high',
      };
    },
  },
  {
    id: 'tcp.timestamps-off',
    domain: 'tcp',
    title: 'TCP timestamps are off',
    severity: 'warn',
    why: 'Timestamps (RFC 7323) give PAWS, the protection against old duplicate segments once 32-bit sequence numbers wrap (seconds at multi-Gbit/s), and an RTT sample on every ACK. tcp_tw_reuse only reuses TIME-WAIT ports when timestamps are on.',
    sources: [`${IP_SYSCTL} (tcp_timestamps)`, 'RFC 7323 §3, §5'],
    risk: '12 bytes of options per segment (about 0.8 % at 1500 MTU). Since 4.10 the kernel randomises the offset per connection, so timestamps no longer reveal uptime.',
    check: (ctx) =>
      ctx.int('net.ipv4.tcp_timestamps') === 0
        ? {
            message: 'timestamps are off: no PAWS protection against wrapped sequence numbers, coarser RTT estimates, and tcp_tw_reuse cannot work',
            evidence: [ctx.knob('net.ipv4.tcp_timestamps'), ctx.knob('net.ipv4.tcp_tw_reuse')],
            changes: [sysctlChange(ctx, 'net.ipv4.tcp_timestamps', '1')],
            confidence: 'high',
          }
        : null,
  },
  {
    id: 'tcp.sack-off',
    domain: 'tcp',
    title: 'Selective acknowledgements (SACK) are off',
    severity: 'warn',
    severity_note: 'critical when the stated link has loss (--loss)',
    why: 'Without SACK (RFC 2018) a sender learns of only one lost segment per round trip, so several losses in one window cost several RTTs or a timeout. Loss recovery (RACK, fast recovery) relies on SACK information.',
    sources: [`${IP_SYSCTL} (tcp_sack)`, 'RFC 2018', 'RFC 8985'],
    risk: 'Disabling SACK was the 2019 stop-gap for CVE-2019-11477/11478 ("SACK panic"); kernels fixed since mid-2019 (4.4.182, 4.9.182, 4.14.127, 4.19.52, 5.1.11 and later) do not need it.',
    check: (ctx) => {
      if (ctx.int('net.ipv4.tcp_sack') !== 0) return null;
      const lossy = (ctx.link?.loss_pct ?? 0) > 0;
      return {
        message: `SACK is off: each loss beyond the first in a window costs an extra round trip${lossy ? ` — and this link loses ${ctx.link?.loss_pct} %` : ''}`,
        evidence: [ctx.knob('net.ipv4.tcp_sack'), ctx.evidence('snmp.Tcp.RetransSegs'), ctx.evidence('netstat.TcpExt.TCPTimeouts')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_sack', '1')],
        confidence: 'high',
        ...(lossy ? { severity: 'critical' as const } : {}),
      };
    },
  },
  {
    id: 'tcp.dsack-off',
    domain: 'tcp',
    title: 'Duplicate SACK (D-SACK) is off',
    severity: 'info',
    why: 'D-SACK (RFC 2883) tells the sender that a retransmission was unnecessary, so it can undo a needless congestion-window cut and learn that the path reorders. Without it spurious retransmissions keep throttling the flow.',
    sources: [`${IP_SYSCTL} (tcp_dsack)`, 'RFC 2883', 'RFC 3708'],
    risk: 'None known; it only adds information to SACK blocks.',
    check: (ctx) =>
      ctx.int('net.ipv4.tcp_dsack') === 0 && ctx.int('net.ipv4.tcp_sack') !== 0
        ? {
            message: 'D-SACK is off: spurious retransmissions cannot be detected and undone',
            evidence: [ctx.knob('net.ipv4.tcp_dsack'), ctx.evidence('netstat.TcpExt.TCPDSACKRecv')],
            changes: [sysctlChange(ctx, 'net.ipv4.tcp_dsack', '1')],
            confidence: 'high',
          }
        : null,
  },
  {
    id: 'tcp.fastopen-without-cookie',
    domain: 'tcp',
    title: 'TCP Fast Open accepts SYN data without a cookie (0x200)',
    severity: 'critical',
    severity_note: 'critical only with the server bit 0x2 also set; info when 0x200 is set without 0x2 (no effect until server Fast Open is turned on)',
    why: 'Bit 0x200 (TFO_SERVER_COOKIE_NOT_REQD) makes a Fast Open listener accept data in a SYN with no cookie at all. The cookie is what proves the client owns its source address; without it anyone can make the server process requests from spoofed addresses. The bit acts only together with the server bit 0x2 (tcp_try_fastopen returns early without TFO_SERVER_ENABLE).',
    sources: [`${IP_SYSCTL} (tcp_fastopen)`, 'include/net/tcp.h (TFO_SERVER_COOKIE_NOT_REQD)', 'net/ipv4/tcp_fastopen.c (tcp_try_fastopen, tcp_fastopen_no_cookie)', 'RFC 7413 §4.1, §6'],
    risk: 'Clearing the bit makes clients without a cookie fall back to a normal handshake for their first connection: one extra RTT, nothing else.',
    check: (ctx) => {
      const v = parseMask(ctx.sysctl('net.ipv4.tcp_fastopen'));
      if (v === null || (v & TFO_SERVER_COOKIE_NOT_REQD) === 0) return null;
      const server = (v & TFO_SERVER_ENABLE) !== 0;
      return {
        message: server
          ? `tcp_fastopen=${ctx.sysctl('net.ipv4.tcp_fastopen')} has the server bit 0x2 and 0x200: SYN data is accepted without a cookie`
          : `tcp_fastopen=${ctx.sysctl('net.ipv4.tcp_fastopen')} has 0x200 without the server bit 0x2: no effect now, but turning server Fast Open on would accept SYN data without a cookie`,
        evidence: [ctx.knob('net.ipv4.tcp_fastopen'), ctx.evidence('netstat.TcpExt.TCPFastOpenPassive')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_fastopen', String(v & ~TFO_SERVER_COOKIE_NOT_REQD))],
        confidence: 'high',
        ...(server ? {} : { severity: 'info' as const }),
      };
    },
  },
  {
    id: 'tcp.fastopen-all-listeners',
    domain: 'tcp',
    title: 'TCP Fast Open is forced on for every listener (0x400)',
    severity: 'warn',
    why: 'Bit 0x400 (TFO_SERVER_WO_SOCKOPT1) turns Fast Open on for all listening sockets, also those whose application never asked for it with TCP_FASTOPEN. Data in a SYN can be delivered twice (a retransmitted SYN), so only idempotent protocols may use it, and that is the application\'s decision.',
    sources: [`${IP_SYSCTL} (tcp_fastopen)`, 'include/net/tcp.h (TFO_SERVER_WO_SOCKOPT1)', 'RFC 7413 §6.1'],
    risk: 'Applications that relied on the global switch must then enable TCP_FASTOPEN on their own listening socket.',
    check: (ctx) => {
      const v = parseMask(ctx.sysctl('net.ipv4.tcp_fastopen'));
      if (v === null || (v & TFO_SERVER_WO_SOCKOPT1) === 0 || (v & TFO_SERVER_ENABLE) === 0) return null;
      return {
        message: `tcp_fastopen=${ctx.sysctl('net.ipv4.tcp_fastopen')}: every listener accepts data in the SYN, whether or not its protocol is idempotent`,
        evidence: [ctx.knob('net.ipv4.tcp_fastopen')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_fastopen', String(v & ~TFO_SERVER_WO_SOCKOPT1))],
        confidence: 'high',
      };
    },
  },
  {
    id: 'tcp.fastopen-server-caveat',
    domain: 'tcp',
    title: 'TCP Fast Open server side is on',
    severity: 'info',
    workloads: { connections: 'info', latency: 'info' },
    why: 'With server Fast Open (bit 0x2) a returning client saves one round trip per connection, but the SYN data may be replayed (a retransmitted or duplicated SYN), so only idempotent requests may use it, and some middleboxes drop SYNs with data. The kernel\'s blackhole back-off (tcp_fastopen_blackhole_timeout_sec) protects only the client side — connections this host opens — and is off (0) by default since 5.14; it never stops a listener from accepting SYN data.',
    sources: [`${IP_SYSCTL} (tcp_fastopen, tcp_fastopen_blackhole_timeout_sec)`, 'commit "tcp: disable TFO blackhole logic by default" (5.14)', 'net/ipv4/tcp_fastopen.c (tcp_fastopen_active_should_disable)', 'RFC 7413 §6'],
    risk: 'Non-idempotent requests (e.g. a POST without its own replay protection) can be executed twice.',
    check: (ctx) => {
      const v = parseMask(ctx.sysctl('net.ipv4.tcp_fastopen'));
      if (v === null || (v & TFO_SERVER_ENABLE) === 0 || (v & (TFO_SERVER_COOKIE_NOT_REQD | TFO_SERVER_WO_SOCKOPT1)) !== 0) return null;
      return {
        message: `server-side Fast Open is enabled (tcp_fastopen=${ctx.sysctl('net.ipv4.tcp_fastopen')}): fine for idempotent protocols that opted in with TCP_FASTOPEN`,
        evidence: [
          ctx.knob('net.ipv4.tcp_fastopen'),
          ctx.knob('net.ipv4.tcp_fastopen_blackhole_timeout_sec', 'client side only; 0 = no back-off'),
          ctx.evidence('netstat.TcpExt.TCPFastOpenPassive'),
          ctx.evidence('netstat.TcpExt.TCPFastOpenPassiveFail'),
        ],
        confidence: 'medium',
      };
    },
  },
  {
    id: 'tcp.cc-bbr-available',
    domain: 'tcp',
    title: 'BBR is available but not the default congestion control',
    severity: 'info',
    workloads: { throughput: 'warn', latency: 'info', connections: 'skip' },
    min_kernel: '4.9',
    why: 'Loss-based congestion control cuts its window on every loss (Reno by half, CUBIC by 30 %, β = 0.7) and regrows it slowly, so on long or slightly lossy paths a single stream stays far below the link rate. BBR paces to a model of bottleneck bandwidth and RTT and keeps throughput under random loss.',
    sources: [`${IP_SYSCTL} (tcp_congestion_control)`, 'RFC 9438 §4.6 (CUBIC β = 0.7)', 'RFC 5681 §3.1 (Reno halves)', 'Cardwell et al., "BBR: Congestion-Based Congestion Control", ACM Queue 14(5), 2016'],
    risk: 'BBR (v1) can take more than its fair share from CUBIC flows on shared bottlenecks and keeps retransmitting under heavy loss. Applications can still choose per socket with TCP_CONGESTION.',
    check: (ctx) => {
      const cc = ctx.snap.congestion_control;
      if (!cc.current || cc.current === 'bbr' || !cc.available.includes('bbr')) return null;
      const longPath = (ctx.link?.rtt_s ?? 0) >= 0.02 || (ctx.link?.loss_pct ?? 0) > 0;
      // A stated short, loss-free path is where cubic does fine; without a link, the throughput
      // workload alone is reason to mention it.
      if (ctx.link ? !longPath : ctx.workload !== 'throughput') return null;
      return {
        message: `congestion control is ${cc.current}; bbr is available${longPath ? ` and this path (${formatMs(ctx.link?.rtt_s ?? 0)}, ${ctx.link?.loss_pct ?? 0} % loss) is where it helps` : ''}`,
        evidence: [ctx.knob('net.ipv4.tcp_congestion_control'), ctx.knob('net.ipv4.tcp_available_congestion_control'), ctx.evidence('snmp.Tcp.RetransSegs')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_congestion_control', 'bbr')],
        confidence: longPath ? 'medium' : 'low',
      };
    },
  },
  {
    id: 'tcp.cc-bbr-missing',
    domain: 'tcp',
    title: 'BBR is not available on this kernel',
    severity: 'info',
    workloads: { connections: 'skip', latency: 'skip' },
    needs: ['link'],
    why: 'For long or lossy paths BBR usually sustains far more single-stream throughput than CUBIC, but the kernel only offers the algorithms in tcp_available_congestion_control.',
    sources: [`${IP_SYSCTL} (tcp_available_congestion_control)`],
    risk: 'Loading a module changes nothing until the default or a socket selects it.',
    check: (ctx) => {
      const cc = ctx.snap.congestion_control;
      const lossyOrLong = (ctx.link?.rtt_s ?? 0) >= 0.05 || (ctx.link?.loss_pct ?? 0) > 0;
      if (!lossyOrLong || cc.available.includes('bbr') || cc.available.length === 0) return null;
      return {
        message: `bbr is not among the available algorithms (${cc.available.join(' ')}); load it with modprobe tcp_bbr where the kernel ships it`,
        evidence: [ctx.knob('net.ipv4.tcp_available_congestion_control')],
        commands: ['modprobe tcp_bbr'],
        confidence: 'medium',
      };
    },
  },
  {
    id: 'tcp.cc-satellite',
    domain: 'tcp',
    title: 'Very long RTT path: consider hybla or bbr',
    severity: 'info',
    needs: ['link'],
    why: 'On satellite paths (RTT of 400 ms and more) standard window growth per RTT makes slow start and loss recovery take tens of seconds. Hybla scales window growth to a 25 ms reference RTT; BBR paces to the measured bandwidth instead.',
    sources: ['Caini & Firrincieli, "TCP Hybla", Int. J. Satellite Communications 22(5), 2004', `${IP_SYSCTL} (tcp_congestion_control)`],
    risk: 'Hybla is aggressive on shared terrestrial links; use it only where the long-RTT path is the bottleneck.',
    check: (ctx) => {
      if (!ctx.link || ctx.link.rtt_s < 0.4) return null;
      const cc = ctx.snap.congestion_control;
      if (cc.current === 'hybla' || cc.current === 'bbr') return null;
      const pick = cc.available.includes('hybla') ? 'hybla' : cc.available.includes('bbr') ? 'bbr' : null;
      return {
        message: `RTT ${formatMs(ctx.link.rtt_s)} with ${cc.current ?? '?'}: ${pick ? `${pick} is available` : 'neither hybla nor bbr is available (modprobe tcp_hybla / tcp_bbr)'}`,
        evidence: [ctx.knob('net.ipv4.tcp_congestion_control'), ctx.knob('net.ipv4.tcp_available_congestion_control')],
        changes: pick ? [sysctlChange(ctx, 'net.ipv4.tcp_congestion_control', pick)] : [],
        commands: pick ? [] : ['modprobe tcp_hybla'],
        confidence: 'medium',
      };
    },
  },
  {
    id: 'tcp.cc-per-socket',
    domain: 'tcp',
    title: 'Unprivileged applications cannot choose every available algorithm',
    severity: 'info',
    workloads: { connections: 'skip', balanced: 'skip' },
    why: 'Applications can pick their congestion control per socket with setsockopt(TCP_CONGESTION); without CAP_NET_ADMIN only the algorithms in tcp_allowed_congestion_control are allowed. A data mover can then use, say, bbr for its bulk sockets while the host default (tcp_congestion_control) stays what it is.',
    sources: [`${IP_SYSCTL} (tcp_allowed_congestion_control)`, 'tcp(7) (TCP_CONGESTION)'],
    risk: 'Allowing an algorithm lets any local process use it.',
    check: (ctx) => {
      const cc = ctx.snap.congestion_control;
      const notAllowed = cc.available.filter((a) => !cc.allowed.includes(a));
      if (notAllowed.length === 0 || cc.allowed.length === 0) return null;
      return {
        message: `available but not allowed per socket for unprivileged processes: ${notAllowed.join(' ')} (the host default stays ${cc.current ?? ctx.sysctl('net.ipv4.tcp_congestion_control') ?? '?'})`,
        evidence: [ctx.knob('net.ipv4.tcp_available_congestion_control'), ctx.knob('net.ipv4.tcp_allowed_congestion_control')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_allowed_congestion_control', [...cc.allowed, ...notAllowed].join(' '))],
        confidence: 'medium',
      };
    },
  },
  {
    id: 'tcp.keepalive-slow',
    domain: 'tcp',
    title: 'Dead peers are detected only after hours',
    severity: 'info',
    workloads: { connections: 'warn' },
    why: `With keepalive on a socket, the kernel declares an idle peer dead after tcp_keepalive_time + tcp_keepalive_intvl × tcp_keepalive_probes seconds; the kernel defaults (${KA_DEFAULT.join(' + ').replace(/ \+ (\d+)$/, ' × $1')}) make that ${KA_DEFAULT_DEAD} s (${formatSeconds(KA_DEFAULT_DEAD)}). Half-open connections hold memory and file descriptors until then. Stateful middleboxes on the path (cloud NAT gateways, load balancers, firewalls) often forget idle flows after minutes; Linux's own conntrack keeps an established entry nf_conntrack_tcp_timeout_established seconds (${CT_EST_DEFAULT}, ${formatSeconds(Number(CT_EST_DEFAULT))}, by default), and RFC 5382 asks NATs for at least 2 h 4 min.`,
    sources: [`${IP_SYSCTL} (tcp_keepalive_time, tcp_keepalive_intvl, tcp_keepalive_probes)`, 'RFC 1122 §4.2.3.6', 'Documentation/networking/nf_conntrack-sysctl.rst (nf_conntrack_tcp_timeout_established)', 'RFC 5382 (REQ-5)'],
    risk: 'Keepalive only applies to sockets with SO_KEEPALIVE; shorter times add probe traffic on idle connections and can drop peers across short outages.',
    check: (ctx) => {
      const t = ctx.int('net.ipv4.tcp_keepalive_time');
      const i = ctx.int('net.ipv4.tcp_keepalive_intvl');
      const p = ctx.int('net.ipv4.tcp_keepalive_probes');
      if (t === null || i === null || p === null) return null;
      const dead = t + i * p;
      if (dead <= KEEPALIVE_SLOW_S) return null;
      const [ft, fi, fp] = KEEPALIVE_FIX;
      const ct = ctx.int('net.netfilter.nf_conntrack_tcp_timeout_established');
      const evidence: Evidence[] = [ctx.knob('net.ipv4.tcp_keepalive_time'), ctx.knob('net.ipv4.tcp_keepalive_intvl'), ctx.knob('net.ipv4.tcp_keepalive_probes'), { what: 'dead-peer detection time', value: `${dead} s`, note: formatSeconds(dead) }];
      if (ct !== null) evidence.push(ctx.knob('net.netfilter.nf_conntrack_tcp_timeout_established', `this host's conntrack forgets an idle established flow after ${formatSeconds(ct)}`));
      return {
        message: `a dead peer is declared after ${dead} s (${t} + ${i} × ${p} = ${formatSeconds(dead)})${ct !== null && ct < dead ? `, later than this host's conntrack forgets an idle flow (${formatSeconds(ct)})` : ''}; e.g. ${ft} + ${fi} × ${fp} = ${ft + fi * fp} s`,
        evidence,
        changes: [
          sysctlChange(ctx, 'net.ipv4.tcp_keepalive_time', String(ft)),
          sysctlChange(ctx, 'net.ipv4.tcp_keepalive_intvl', String(fi)),
          sysctlChange(ctx, 'net.ipv4.tcp_keepalive_probes', String(fp)),
        ],
        confidence: 'medium',
      };
    },
  },
  {
    id: 'tcp.keepalive-aggressive',
    domain: 'tcp',
    title: 'Keepalive probes start very early',
    severity: 'info',
    why: 'A keepalive time under a minute sends probes on every briefly idle connection, which costs packets and battery on mobile peers and can drop connections that were only waiting.',
    sources: [`${IP_SYSCTL} (tcp_keepalive_time)`, 'RFC 1122 §4.2.3.6 (default no less than two hours)'],
    risk: 'Raising it lengthens dead-peer detection.',
    check: (ctx) => {
      const t = ctx.int('net.ipv4.tcp_keepalive_time');
      if (t === null || t >= KEEPALIVE_AGGRESSIVE_S) return null;
      return {
        message: `tcp_keepalive_time=${t} s: idle connections are probed after less than a minute`,
        evidence: [ctx.knob('net.ipv4.tcp_keepalive_time'), ctx.knob('net.ipv4.tcp_keepalive_intvl')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_keepalive_time', '300')],
        confidence: 'low',
      };
    },
  },
  {
    id: 'tcp.slow-start-after-idle',
    domain: 'tcp',
    title: 'Congestion window collapses after idle periods',
    severity: 'info',
    workloads: { latency: 'warn', throughput: 'warn', connections: 'skip' },
    why: 'With tcp_slow_start_after_idle=1 a connection idle for longer than its RTO has its congestion window halved for every RTO of idle time, down to (not below) the initial window, and slow-starts from there (RFC 2861 congestion window validation, tcp_cwnd_restart). A long-lived connection that sends in bursts after pauses (RPC, HTTP/2, replication) thus loses most of its window before each burst.',
    sources: [`${IP_SYSCTL} (tcp_slow_start_after_idle)`, 'net/ipv4/tcp_output.c (tcp_cwnd_restart)', 'RFC 2861', 'RFC 7661'],
    risk: 'A burst after idle is sent at the old rate into a path whose capacity may have changed; on shared bottlenecks that can cause a short loss burst.',
    check: (ctx) =>
      ctx.int('net.ipv4.tcp_slow_start_after_idle') === 1
        ? {
            message: 'long-lived connections that pause longer than an RTO have their congestion window halved per idle RTO (down to the initial window) before the next burst',
            evidence: [ctx.knob('net.ipv4.tcp_slow_start_after_idle')],
            changes: [sysctlChange(ctx, 'net.ipv4.tcp_slow_start_after_idle', '0')],
            confidence: 'medium',
          }
        : null,
  },
  {
    id: 'tcp.mtu-probing-off',
    domain: 'tcp',
    title: 'Packetization-layer PMTU discovery is off',
    severity: 'info',
    why: 'Path MTU discovery relies on ICMP "fragmentation needed" messages, which firewalls often drop; a connection then stalls on full-size segments (a PMTU black hole). tcp_mtu_probing=1 lets TCP detect the black hole and probe for a working size itself (RFC 4821).',
    sources: [`${IP_SYSCTL} (tcp_mtu_probing, tcp_base_mss)`, 'RFC 4821', 'RFC 8899'],
    risk: 'With 1 nothing changes until a black hole is suspected; 2 (always probe) starts every connection at tcp_base_mss and is not recommended in general.',
    check: (ctx) => {
      if (ctx.int('net.ipv4.tcp_mtu_probing') !== 0) return null;
      const jumbo = ctx.snap.links.filter((l) => l.state === 'up' && (l.mtu ?? 0) > 1500 && l.name !== 'lo');
      return {
        message: `tcp_mtu_probing=0: connections through an ICMP-filtering path can hang${jumbo.length ? `; ${jumbo.map((l) => `${l.name} has MTU ${l.mtu}`).join(', ')}` : ''}`,
        evidence: [ctx.knob('net.ipv4.tcp_mtu_probing'), ctx.evidence('netstat.TcpExt.TCPMTUPFail'), ctx.evidence('netstat.TcpExt.TCPMTUPSuccess')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_mtu_probing', '1')],
        confidence: jumbo.length ? 'medium' : 'low',
      };
    },
  },
  {
    id: 'tcp.syncookies-off',
    domain: 'tcp',
    title: 'SYN cookies are off',
    severity: 'warn',
    workloads: { connections: 'critical' },
    why: 'When the SYN queue of a listener overflows (a SYN flood, or just a burst of connects), SYN cookies let the server keep accepting legitimate connections without state. With them off, new connections are dropped until the queue drains.',
    sources: [`${IP_SYSCTL} (tcp_syncookies)`, 'RFC 4987 §3.6'],
    risk: 'Connections accepted through a cookie lose some options on kernels without timestamps (window scaling, SACK are encoded only when timestamps are on).',
    check: (ctx) =>
      ctx.int('net.ipv4.tcp_syncookies') === 0
        ? {
            message: 'tcp_syncookies=0: a SYN flood or connect burst drops new connections once the SYN queue is full',
            evidence: [ctx.knob('net.ipv4.tcp_syncookies'), ctx.knob('net.ipv4.tcp_max_syn_backlog'), ctx.evidence('netstat.TcpExt.ListenDrops')],
            changes: [sysctlChange(ctx, 'net.ipv4.tcp_syncookies', '1')],
            confidence: 'high',
          }
        : null,
  },
  {
    id: 'tcp.retries2-long',
    domain: 'tcp',
    title: 'Broken established connections take ~15 minutes to fail',
    severity: 'info',
    workloads: { latency: 'warn', throughput: 'skip' },
    why: 'tcp_retries2 bounds retransmissions of an established connection; the default 15 amounts to about 924.6 s of exponential backoff with the minimum RTO, during which an application waits on a dead path. Latency-sensitive services usually want failure within a minute or so and reconnect elsewhere.',
    sources: [`${IP_SYSCTL} (tcp_retries2)`, 'RFC 1122 §4.2.3.5 (R2 at least 100 s)'],
    risk: 'Values below 8 (about 100 s) break RFC 1122 guidance and can tear down connections across short outages; per-socket TCP_USER_TIMEOUT is the finer tool.',
    check: (ctx) => {
      const r = ctx.int('net.ipv4.tcp_retries2');
      if (r === null || r < 12) return null;
      return {
        message: `tcp_retries2=${r}: a peer that vanished mid-transfer is noticed only after many minutes`,
        evidence: [ctx.knob('net.ipv4.tcp_retries2'), ctx.evidence('netstat.TcpExt.TCPTimeouts')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_retries2', '8')],
        commands: ['# or per socket: setsockopt(TCP_USER_TIMEOUT) in the application'],
        confidence: 'low',
      };
    },
  },
  {
    id: 'tcp.orphans-near-limit',
    domain: 'tcp',
    title: 'Orphaned sockets near tcp_max_orphans',
    severity: 'warn',
    severity_note: 'critical at 90 % of tcp_max_orphans or more',
    why: 'Orphans are closed sockets still finishing their shutdown; each may hold up to about 64 KiB of unswappable memory. Past tcp_max_orphans the kernel resets them immediately ("too many orphaned sockets"), cutting off data the peer has not yet received.',
    sources: [`${IP_SYSCTL} (tcp_max_orphans, tcp_orphan_retries)`],
    risk: 'A higher limit allows more kernel memory for orphans; lowering tcp_fin_timeout/tcp_orphan_retries frees them sooner.',
    check: (ctx) => {
      const max = ctx.int('net.ipv4.tcp_max_orphans');
      const orphans = ctx.snap.counters.sockstat.TCP?.orphan;
      if (max === null || orphans === undefined || max <= 0 || orphans < max * 0.5) return null;
      return {
        message: `${orphans} orphaned sockets, ${Math.round((orphans / max) * 100)} % of tcp_max_orphans (${max})`,
        evidence: [ctx.evidence('sockstat.TCP.orphan'), ctx.knob('net.ipv4.tcp_max_orphans'), ctx.evidence('netstat.TcpExt.TCPAbortOnMemory')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_max_orphans', String(max * 2))],
        confidence: 'medium',
        ...(orphans >= max * 0.9 ? { severity: 'critical' as const } : {}),
      };
    },
  },
  {
    id: 'tcp.notsent-lowat-unset',
    domain: 'latency',
    title: 'Unsent data may queue without bound in the socket',
    severity: 'info',
    workloads: { latency: 'warn', throughput: 'skip', connections: 'skip' },
    why: 'By default a writer can fill the whole send buffer with data not yet sent, so a fresh, urgent message waits behind megabytes of older ones (head-of-line latency; HTTP/2 prioritisation suffers). tcp_notsent_lowat limits the unsent part, so epoll reports writable only when it is small.',
    sources: [`${IP_SYSCTL} (tcp_notsent_lowat)`, 'tcp(7) (TCP_NOTSENT_LOWAT)'],
    risk: 'A low value means more wake-ups and system calls for bulk senders; 131072 keeps bulk throughput while bounding latency.',
    check: (ctx) => {
      const v = ctx.int('net.ipv4.tcp_notsent_lowat');
      if (v === null || v < 4294967295) return null;
      return {
        message: 'tcp_notsent_lowat is unlimited: unsent data can pile up in socket send buffers',
        evidence: [ctx.knob('net.ipv4.tcp_notsent_lowat'), ctx.knob('net.ipv4.tcp_wmem')],
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_notsent_lowat', '131072')],
        confidence: 'medium',
      };
    },
  },
];
