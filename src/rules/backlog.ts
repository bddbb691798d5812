// Queues in front of the application and the stack: listen (accept/SYN) queues and the per-CPU
// input backlog with its softirq budget.
import { newestLiteralDefault } from '../catalog/defaults.js';
import { formatRate } from '../units/index.js';
import type { SoftnetRow } from '../snapshot/schema.js';
import type { PlanChange } from '../plan/types.js';
import { signalEvidence } from './buffers.js';
import type { Evidence, Rule, RuleContext } from './types.js';
import { counterSignal, nextPow2, type CounterSignal, sysctlChange } from './util.js';
import { counterDelta } from './delta.js';

const IP_SYSCTL = 'Documentation/networking/ip-sysctl.rst';
const NET_SYSCTL = 'Documentation/admin-guide/sysctl/net.rst';

/** The default since 5.4 (128 before). */
/** The newest kernels' default (4096 since 5.4), the floor this rule recommends on any kernel. */
const SOMAXCONN_DEFAULT = Number(newestLiteralDefault('net.core.somaxconn') ?? 4096);

const rateText = (sig: CounterSignal): string => (sig.now && sig.rate !== null ? `${Number(sig.rate.toPrecision(3))}/s over the interval` : `${sig.total} since boot`);

/** Only since boot → info; with a rate the rule's (workload) severity applies. */
const bootOnly = (sig: CounterSignal) => (sig.now ? {} : { severity: 'info' as const });

type SoftnetField = 'dropped' | 'time_squeeze';

interface CpuCount {
  cpu: number;
  total: number;
  delta: number | null;
}

/** Per-CPU softnet rows that counted `field`: with an earlier sample, the CPUs whose counter grew
 *  (matched by cpu number); without one, the CPUs with a non-zero total. Largest first. */
function cpusWith(ctx: RuleContext, field: SoftnetField): CpuCount[] {
  const before = new Map<number, SoftnetRow>((ctx.prev?.counters.softnet ?? []).map((r) => [r.cpu, r]));
  const rows = ctx.snap.counters.softnet.map((r): CpuCount => {
    const p = before.get(r.cpu);
    const delta = ctx.prev ? (counterDelta(p?.[field], r[field], ctx.interval_s)?.delta ?? null) : null;
    return { cpu: r.cpu, total: r[field], delta };
  });
  const hit = ctx.prev && ctx.interval_s !== null ? rows.filter((r) => (r.delta ?? 0) > 0) : rows.filter((r) => r.total > 0);
  return hit.sort((a, b) => (b.delta ?? b.total) - (a.delta ?? a.total) || a.cpu - b.cpu);
}

const MAX_CPU_LINES = 8;

function cpuEvidence(ctx: RuleContext, field: SoftnetField, cpus: CpuCount[]): Evidence[] {
  return cpus.slice(0, MAX_CPU_LINES).map((c) => ({
    what: `softnet.cpu${c.cpu}.${field}`,
    value: c.total,
    ...(c.delta !== null && ctx.interval_s ? { rate_per_s: c.delta / ctx.interval_s } : {}),
  }));
}

const cpuList = (cpus: CpuCount[]): string => {
  const shown = cpus.slice(0, MAX_CPU_LINES).map((c) => c.cpu);
  return `CPU${shown.length > 1 ? 's' : ''} ${shown.join(', ')}${cpus.length > shown.length ? ` and ${cpus.length - shown.length} more` : ''}`;
};

export const backlogRules: Rule[] = [
  {
    id: 'backlog.listen-overflows',
    domain: 'backlog',
    title: 'Listening sockets drop connections (accept queue overflow)',
    severity: 'warn',
    severity_note: 'info when the counter grew only at some time since boot (no interval)',
    workloads: { connections: 'critical' },
    why: 'A listener keeps handshaken connections in an accept queue until the application calls accept(); its length is the backlog passed to listen(), silently capped at net.core.somaxconn. When the queue is full the SYN or the handshake-completing ACK is dropped (ListenOverflows) and the client waits for a retransmission, a second or more. ListenDrops counts every request dropped at a listener, overflows included.',
    sources: [`${IP_SYSCTL} (somaxconn, tcp_max_syn_backlog, tcp_abort_on_overflow)`, 'listen(2)', 'net/ipv4/tcp_input.c (tcp_conn_request)', 'net/ipv4/tcp_minisocks.c (tcp_check_req)'],
    risk: 'A longer accept queue absorbs bursts but also lets a server that accepts too slowly keep clients waiting longer; somaxconn is per network namespace.',
    check: (ctx) => {
      const sig = counterSignal(ctx, ['netstat.TcpExt.ListenDrops']);
      if (!sig.seen) return null;
      const somax = ctx.int('net.core.somaxconn');
      const overflows = ctx.counter('netstat.TcpExt.ListenOverflows');
      const ovNow = sig.now ? (overflows.delta ?? 0) : (overflows.total ?? 0);
      // Since-boot totals cannot say whether the current limit already cured them: without a
      // rate, stop at 65535 (what plan's connections intent sets on overflows); beyond that, raise
      // only on overflows measured now (audit --interval).
      const to = somax === null ? null : somax < SOMAXCONN_DEFAULT ? SOMAXCONN_DEFAULT : sig.now ? somax * 2 : somax < 65535 ? Math.min(somax * 2, 65535) : null;
      const changes: PlanChange[] = to === null ? [] : [sysctlChange(ctx, 'net.core.somaxconn', String(to))];
      return {
        message: `listening sockets dropped connection requests (${rateText(sig)}; ${ovNow} ${sig.now ? 'in the interval were' : 'were'} accept-queue overflows). An application's listen(backlog) is capped by somaxconn (${somax ?? '?'}), so raising somaxconn alone does not help an application that passes a small backlog`,
        evidence: [
          ...signalEvidence(sig),
          ctx.evidence('netstat.TcpExt.ListenOverflows', 'accept queue full (part of ListenDrops)'),
          ctx.knob('net.core.somaxconn'),
          ctx.knob('net.ipv4.tcp_max_syn_backlog'),
          ctx.knob('net.ipv4.tcp_syncookies'),
          ctx.evidence('netstat.TcpExt.TCPReqQFullDrop', 'SYNs dropped with a full SYN queue and no cookies'),
        ],
        changes,
        commands: [
          '# check the application: ss -lnt shows Send-Q = its backlog, Recv-Q = connections waiting for accept()',
          "# raise the backlog in the application's configuration (its listen() argument) as well, and check that it accepts fast enough",
        ],
        confidence: 'high',
        ...bootOnly(sig),
      };
    },
  },
  {
    id: 'backlog.somaxconn-low',
    domain: 'backlog',
    title: 'somaxconn caps listen() backlogs below the modern default',
    severity: 'info',
    workloads: { connections: 'warn' },
    why: 'net.core.somaxconn silently caps the backlog every application passes to listen(); the default has been 4096 since 5.4 (128 before). Below that, the accept queue of a busy server overflows on connection bursts even when the application asks for more.',
    sources: [`${IP_SYSCTL} (somaxconn)`, 'listen(2)'],
    risk: 'Only applications that ask for a large backlog get it; a long accept queue can hide a server that accepts too slowly.',
    check: (ctx) => {
      const v = ctx.int('net.core.somaxconn');
      if (v === null || v >= SOMAXCONN_DEFAULT) return null;
      return {
        message: `somaxconn=${v}: no listener can queue more than ${v} connections waiting for accept()`,
        evidence: [ctx.knob('net.core.somaxconn'), ctx.evidence('netstat.TcpExt.ListenOverflows')],
        changes: [sysctlChange(ctx, 'net.core.somaxconn', String(SOMAXCONN_DEFAULT))],
        confidence: 'high',
      };
    },
  },
  {
    id: 'backlog.syn-backlog-low',
    domain: 'backlog',
    title: 'tcp_max_syn_backlog is small',
    severity: 'info',
    severity_note: 'info when SYN cookies are on (the limit is then not consulted)',
    workloads: { connections: 'warn', throughput: 'skip', latency: 'skip', balanced: 'skip' },
    why: 'tcp_max_syn_backlog only acts when SYN cookies are off (tcp_syncookies=0): a listener then drops SYNs from peers without cached TCP metrics once its SYN queue holds more than three quarters of tcp_max_syn_backlog. With cookies on (the default) the SYN queue is bounded by the listen backlog and an overflow is answered with cookies instead.',
    sources: [`${IP_SYSCTL} (tcp_max_syn_backlog, tcp_syncookies)`, 'net/ipv4/tcp_input.c (tcp_conn_request)', 'RFC 4987 §3.6'],
    risk: 'Each pending request costs about 304 bytes; without cookies a SYN flood fills a queue of any size, so turning tcp_syncookies back on is the stronger fix.',
    check: (ctx) => {
      const v = ctx.int('net.ipv4.tcp_max_syn_backlog');
      if (v === null || v >= 1024) return null;
      const cookies = ctx.int('net.ipv4.tcp_syncookies');
      const somax = ctx.int('net.core.somaxconn') ?? SOMAXCONN_DEFAULT;
      const evidence = [ctx.knob('net.ipv4.tcp_max_syn_backlog'), ctx.knob('net.ipv4.tcp_syncookies'), ctx.knob('net.core.somaxconn'), ctx.evidence('netstat.TcpExt.TCPReqQFullDrop')];
      if (cookies !== 0)
        return {
          message: `tcp_max_syn_backlog=${v}, but SYN cookies are on (tcp_syncookies=${cookies ?? '?'}), so it is not consulted: SYN queue overflows get cookies`,
          evidence,
          confidence: 'medium',
          severity: 'info',
        };
      // Without cookies unproven peers are refused above 3/4 of the value: keep that above somaxconn.
      const to = Math.max(1024, nextPow2(Math.ceil((somax * 4) / 3)));
      return {
        message: `tcp_max_syn_backlog=${v} with SYN cookies off: new peers are refused once a SYN queue holds more than ${Math.floor((v * 3) / 4)} requests`,
        evidence,
        changes: [sysctlChange(ctx, 'net.ipv4.tcp_max_syn_backlog', String(to))],
        commands: ['# or turn SYN cookies back on: sysctl -w net.ipv4.tcp_syncookies=1'],
        confidence: 'high',
      };
    },
  },
  {
    id: 'backlog.softnet-dropped',
    domain: 'backlog',
    title: 'Packets dropped at a full per-CPU input backlog',
    severity: 'warn',
    severity_note: 'info when the counter grew only at some time since boot (no interval)',
    needs: ['init-netns'],
    why: 'Packets handed to a CPU by RPS/RFS, by netif_rx() (non-NAPI drivers, tunnels) or by virtual devices such as veth and loopback wait in that CPU\'s input backlog, at most net.core.netdev_max_backlog packets. When it is full they are dropped and the dropped column of /proc/net/softnet_stat grows (flow-limit drops are counted there too). NAPI drivers without RPS bypass this queue.',
    sources: [`${NET_SYSCTL} (netdev_max_backlog)`, 'Documentation/networking/scaling.rst (RPS, flow limit)', 'net/core/dev.c (enqueue_to_backlog)'],
    risk: 'netdev_max_backlog is global and per CPU; a longer queue holds more packets (memory, queueing delay) when a CPU falls behind, and does not help a CPU that is simply too slow.',
    check: (ctx) => {
      const sig = counterSignal(ctx, ['softnet.dropped']);
      if (!sig.seen) return null;
      const cur = ctx.int('net.core.netdev_max_backlog');
      const cpus = cpusWith(ctx, 'dropped');
      // Without a rate (drops since boot only), stop at 16384: whether a larger queue is needed
      // only a measurement now can tell.
      const to = cur === null ? null : cur < 16384 ? Math.min(nextPow2(cur * 2), 16384) : sig.now ? cur * 2 : null;
      return {
        message: `input backlog drops (${rateText(sig)})${cpus.length ? ` on ${cpuList(cpus)}` : ''}: the per-CPU queue of ${cur ?? '?'} packets (netdev_max_backlog) was full`,
        evidence: [...signalEvidence(sig), ...cpuEvidence(ctx, 'dropped', cpus), ctx.knob('net.core.netdev_max_backlog'), ctx.evidence('softnet.flow_limit_count', 'drops by RPS flow limit (also in dropped)')],
        changes: to === null ? [] : [sysctlChange(ctx, 'net.core.netdev_max_backlog', String(to))],
        commands: ['# drops on one CPU only: spread the traffic (RPS masks, IRQ affinity) rather than lengthening the queue'],
        confidence: 'high',
        ...bootOnly(sig),
      };
    },
  },
  {
    id: 'backlog.softnet-squeeze',
    domain: 'backlog',
    title: 'Receive softirq runs out of budget with work left (time_squeeze)',
    severity: 'info',
    severity_note: 'info when the counter grew only at some time since boot (no interval)',
    workloads: { throughput: 'warn', latency: 'warn' },
    needs: ['init-netns'],
    why: 'One NET_RX softirq run stops after netdev_budget packets or netdev_budget_usecs, whichever comes first; when it stops while devices still have packets, time_squeeze grows and the rest waits for the next run or for ksoftirqd. Occasional squeezes are normal under load; a steady rate means receive processing on that CPU is saturated and NIC rings can overflow meanwhile.',
    sources: [`${NET_SYSCTL} (netdev_budget, netdev_budget_usecs)`, 'net/core/dev.c (net_rx_action)'],
    risk: 'A larger budget keeps a CPU in softirq longer per run, delaying applications and other softirqs on it; both knobs are global.',
    check: (ctx) => {
      const sig = counterSignal(ctx, ['softnet.time_squeeze']);
      if (!sig.seen) return null;
      const cpus = cpusWith(ctx, 'time_squeeze');
      const budget = ctx.int('net.core.netdev_budget');
      const usecs = ctx.int('net.core.netdev_budget_usecs');
      const changes: PlanChange[] = [];
      if (budget !== null) changes.push(sysctlChange(ctx, 'net.core.netdev_budget', String(budget < 600 ? 600 : budget * 2)));
      if (usecs !== null && usecs < 8000) changes.push(sysctlChange(ctx, 'net.core.netdev_budget_usecs', String(usecs * 2)));
      return {
        message: `softirq budget exhausted with work left (${rateText(sig)})${cpus.length ? ` on ${cpuList(cpus)}` : ''}: netdev_budget=${budget ?? '?'} packets / netdev_budget_usecs=${usecs ?? '?'} µs per run`,
        evidence: [
          ...signalEvidence(sig),
          ...cpuEvidence(ctx, 'time_squeeze', cpus),
          ctx.knob('net.core.netdev_budget'),
          ctx.knob('net.core.netdev_budget_usecs'),
          ctx.evidence('link.*.statistics.rx_missed_errors', 'NIC ring overflows'),
        ],
        changes,
        commands: ['# squeezes concentrated on one or two CPUs: spread receive work (more RSS queues, IRQ affinity, RPS) instead of raising the budget'],
        confidence: 'medium',
        ...bootOnly(sig),
      };
    },
  },
  {
    id: 'backlog.netdev-max-backlog-low',
    domain: 'backlog',
    title: 'Default per-CPU input backlog on a ≥ 10 Gbit/s link',
    severity: 'info',
    workloads: { throughput: 'info', latency: 'skip', connections: 'skip', balanced: 'skip' },
    needs: ['link', 'init-netns'],
    why: 'At 10 Gbit/s and more, bursts steered to one CPU by RPS/RFS, or arriving through veth, tunnels or loopback, can outrun the default input backlog of 1000 packets per CPU (about 1.2 ms of line rate at 10 Gbit/s in 1500-byte packets). The queue only holds memory while it is filled, so a longer one is cheap where that path carries traffic.',
    sources: [`${NET_SYSCTL} (netdev_max_backlog)`, 'Documentation/networking/scaling.rst (RPS)'],
    risk: 'Global and per CPU; when a CPU falls behind a longer queue adds queueing delay, and NAPI traffic without RPS never uses it (then it changes nothing).',
    check: (ctx) => {
      const v = ctx.int('net.core.netdev_max_backlog');
      const link = ctx.link;
      if (v === null || !link || link.rate_bps < 10e9 || v > 1000) return null;
      const to = Math.min(16384, nextPow2((link.rate_bps / 1e9) * 300));
      return {
        message: `netdev_max_backlog=${v} at ${formatRate(link.rate_bps)}: a burst steered to one CPU can overflow it; ${to} is a common value at this rate`,
        evidence: [ctx.knob('net.core.netdev_max_backlog'), ctx.evidence('softnet.dropped'), { what: 'link rate', value: formatRate(link.rate_bps) }],
        changes: [sysctlChange(ctx, 'net.core.netdev_max_backlog', String(to))],
        confidence: 'low',
      };
    },
  },
];
