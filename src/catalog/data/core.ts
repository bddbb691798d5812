// net.core.* knobs. Facts from Documentation/admin-guide/sysctl/net.rst unless a source says
// otherwise. Scope was checked on 6.18: a key that is missing or read-only inside a child network
// namespace is 'global'; somaxconn, optmem_max, tstamp_allow_data, txrehash and rps_default_mask
// are writable per namespace; rmem_*/wmem_* are visible but read-only there.
import type { CatalogEntryInput } from '../schema.js';

export const core: CatalogEntryInput[] = [
  {
    key: 'net.core.rmem_max',
    domain: 'core',
    type: 'int',
    unit: 'bytes',
    scope: 'global',
    default: '4194304',
    default_note:
      'Fixed at 4194304 (4 MB) since 6.18. Before 6.18 it equalled rmem_default (212992 on x86_64), so any SO_RCVBUF request above ~208 KB was silently capped.',
    changes: [
      {
        version: '6.18',
        from: '212992',
        to: '4194304',
        note: 'rmem_max decoupled from rmem_default and raised to 4 MB (commit "net: set net.core.rmem_max and net.core.wmem_max to 4 MB").',
      },
    ],
    summary:
      'Upper limit for the receive buffer an application may request with setsockopt(SO_RCVBUF); the kernel caps the request at this value and then doubles it to leave room for bookkeeping overhead. It does not bound TCP receive autotuning, which grows sockets up to net.ipv4.tcp_rmem[2] on its own; SO_RCVBUFFORCE (CAP_NET_ADMIN) bypasses it.',
    tradeoff:
      'Too low silently truncates large SO_RCVBUF requests (common for UDP receivers such as QUIC, DNS, syslog, media) and causes receive-buffer drops; too high lets unprivileged programs pin large amounts of kernel memory per socket.',
    counters: ['snmp.Udp.RcvbufErrors', 'snmp6.Udp6.RcvbufErrors', 'snmp.Udp.InErrors'],
    related: ['net.core.rmem_default', 'net.ipv4.tcp_rmem', 'net.ipv4.udp_mem', 'net.core.wmem_max'],
    sources: [
      'Documentation/admin-guide/sysctl/net.rst (rmem_max)',
      'socket(7) (SO_RCVBUF: the kernel doubles the value)',
      'commit "net: set net.core.rmem_max and net.core.wmem_max to 4 MB" (6.18)',
    ],
  },
  {
    key: 'net.core.wmem_max',
    domain: 'core',
    type: 'int',
    unit: 'bytes',
    scope: 'global',
    default: '4194304',
    default_note:
      'Fixed at 4194304 (4 MB) since 6.18; before 6.18 it equalled wmem_default (212992 on x86_64).',
    changes: [
      {
        version: '6.18',
        from: '212992',
        to: '4194304',
        note: 'wmem_max decoupled from wmem_default and raised to 4 MB.',
      },
    ],
    summary:
      'Upper limit for the send buffer an application may request with setsockopt(SO_SNDBUF); the request is capped here and then doubled. TCP send-buffer autotuning is bounded by net.ipv4.tcp_wmem[2] instead, and only applies while the application has not set SO_SNDBUF.',
    tradeoff:
      'Too low limits applications that size their own send buffers (bulk UDP senders, some TCP tools), so writes block or fail with EAGAIN sooner; too high lets a socket queue a lot of unsent data in kernel memory.',
    counters: ['snmp.Udp.SndbufErrors', 'snmp6.Udp6.SndbufErrors'],
    related: ['net.core.wmem_default', 'net.ipv4.tcp_wmem', 'net.core.rmem_max'],
    sources: [
      'Documentation/admin-guide/sysctl/net.rst (wmem_max)',
      'socket(7) (SO_SNDBUF)',
      'commit "net: set net.core.rmem_max and net.core.wmem_max to 4 MB" (6.18)',
    ],
  },
  {
    key: 'net.core.rmem_default',
    domain: 'core',
    type: 'int',
    unit: 'bytes',
    scope: 'global',
    default: '212992',
    default_note:
      'SK_RMEM_DEFAULT = 256 × SKB_TRUESIZE(256); the exact number depends on struct sizes, 212992 on x86_64 builds.',
    summary:
      'Initial receive buffer size for new sockets that do not set SO_RCVBUF, such as UDP, raw, netlink and Unix sockets. TCP ignores it and starts from net.ipv4.tcp_rmem[1].',
    tradeoff:
      'Raising it gives every UDP socket more headroom for bursts without code changes, at the cost of more memory per socket on hosts with many sockets; all UDP memory is still bounded by udp_mem.',
    counters: ['snmp.Udp.RcvbufErrors', 'snmp6.Udp6.RcvbufErrors'],
    related: ['net.core.rmem_max', 'net.ipv4.udp_mem', 'net.ipv4.udp_rmem_min', 'net.ipv4.tcp_rmem'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (rmem_default)', 'include/net/sock.h (SK_RMEM_DEFAULT)'],
  },
  {
    key: 'net.core.wmem_default',
    domain: 'core',
    type: 'int',
    unit: 'bytes',
    scope: 'global',
    default: '212992',
    default_note: 'SK_WMEM_DEFAULT = 256 × SKB_TRUESIZE(256); 212992 on x86_64 builds.',
    summary:
      'Initial send buffer size for new non-TCP sockets that do not set SO_SNDBUF. TCP starts from net.ipv4.tcp_wmem[1] instead.',
    tradeoff:
      'Larger values let UDP senders queue more before blocking or getting EAGAIN, at the cost of more queued data (and latency) per socket.',
    counters: ['snmp.Udp.SndbufErrors', 'snmp6.Udp6.SndbufErrors'],
    related: ['net.core.wmem_max', 'net.ipv4.tcp_wmem'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (wmem_default)', 'include/net/sock.h (SK_WMEM_DEFAULT)'],
  },
  {
    key: 'net.core.optmem_max',
    domain: 'core',
    type: 'int',
    unit: 'bytes',
    range: { min: 0 },
    scope: 'netns',
    default: '131072',
    changes: [
      {
        version: '6.8',
        from: '20480',
        to: '131072',
        note: 'Default raised to 128 KB (needed for TCP TX zerocopy) and the knob became per network namespace.',
      },
    ],
    summary:
      'Maximum ancillary (option) memory a single socket may allocate, used for control messages, socket filters, multicast source lists, TCP-MD5 keys and zerocopy notifications. It is charged per socket, not globally.',
    tradeoff:
      'Too low makes setsockopt calls and MSG_ZEROCOPY sends fail with ENOBUFS/ENOMEM; raising it allows each socket to hold more unswappable option memory.',
    counters: [],
    related: ['net.core.rmem_max', 'net.core.wmem_max'],
    sources: [
      'Documentation/admin-guide/sysctl/net.rst (optmem_max)',
      'commit 4944566706b2 "net: increase optmem_max default value" (6.8)',
      'commit f5769faeec36 "net: Namespace-ify sysctl_optmem_max" (6.8)',
    ],
  },
  {
    key: 'net.core.somaxconn',
    domain: 'core',
    type: 'int',
    unit: 'count',
    range: { min: 0 },
    scope: 'netns',
    default: '4096',
    changes: [{ version: '5.4', from: '128', to: '4096', note: 'Default raised from 128 to 4096.' }],
    summary:
      'Caps the backlog argument of listen(): a larger request is silently reduced to this value. The backlog bounds the accept queue of fully established connections waiting for accept(); the SYN queue is sized separately by tcp_max_syn_backlog.',
    tradeoff:
      'Too low makes bursty servers drop or reset new connections when the accept queue overflows; a higher cap only takes effect if the application asks for a large backlog, and a long queue can hide a server that accepts too slowly.',
    counters: ['netstat.TcpExt.ListenOverflows', 'netstat.TcpExt.ListenDrops'],
    related: ['net.ipv4.tcp_max_syn_backlog', 'net.ipv4.tcp_abort_on_overflow', 'net.ipv4.tcp_syncookies'],
    sources: ['Documentation/networking/ip-sysctl.rst (somaxconn)', 'listen(2)'],
  },
  {
    key: 'net.core.netdev_max_backlog',
    domain: 'core',
    type: 'int',
    unit: 'packets',
    scope: 'global',
    default: '1000',
    summary:
      'Length of the per-CPU input backlog queue that holds received packets before protocol processing. This queue is used by RPS/RFS steering, netif_rx() drivers and virtual devices such as veth and loopback; NAPI drivers without RPS deliver directly and bypass it.',
    tradeoff:
      'When the queue is full packets are dropped and counted in softnet_stat; a longer queue absorbs bursts but adds queueing delay and memory, and does not help if the CPU is simply too slow.',
    counters: ['softnet.dropped', 'softnet.flow_limit_count'],
    related: ['net.core.netdev_budget', 'net.core.dev_weight', 'net.core.rps_sock_flow_entries', 'net.core.flow_limit_cpu_bitmap'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (netdev_max_backlog)', 'Documentation/networking/scaling.rst (RPS)'],
  },
  {
    key: 'net.core.netdev_budget',
    domain: 'core',
    type: 'int',
    unit: 'packets',
    scope: 'global',
    default: '300',
    summary:
      'Maximum number of packets one NET_RX softirq run may process across all NAPI instances on a CPU. The run also stops when netdev_budget_usecs elapses; if work is left over the softirq is rescheduled and softnet time_squeeze is incremented.',
    tradeoff:
      'A higher budget drains NIC rings faster and reduces ring overflows under load, but keeps the CPU in softirq longer, delaying user tasks and other softirqs.',
    counters: ['softnet.time_squeeze', 'softnet.dropped', 'link.*.statistics.rx_missed_errors'],
    related: ['net.core.netdev_budget_usecs', 'net.core.dev_weight', 'net.core.netdev_max_backlog'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (netdev_budget)'],
  },
  {
    key: 'net.core.netdev_budget_usecs',
    domain: 'core',
    type: 'int',
    unit: 'microseconds',
    range: { min: 0 },
    scope: 'global',
    default: null,
    default_note:
      'Two jiffies: 2 × 1000000 / CONFIG_HZ, so 8000 with HZ=250 (Debian, Ubuntu), 2000 with HZ=1000, 6666 with HZ=300, 20000 with HZ=100. Kernels 4.12–5.6 used a flat 2000 (stable updates carry the two-jiffies fix). A Snapshot does not record CONFIG_HZ, so any of these counts as the default.',
    added_in: '4.12',
    changes: [
      {
        version: '5.7',
        from: '2000',
        to: '2 * USEC_PER_SEC / HZ',
        note: 'Default made two jiffies so the time limit is at least one full tick on HZ < 1000 kernels (commit "net: revert default NAPI poll timeout to 2 jiffies", also backported to stable).',
      },
    ],
    summary:
      'Time limit for one NET_RX softirq run on a CPU; processing stops when this many microseconds have passed or netdev_budget packets were handled, whichever comes first. Leftover work increments softnet time_squeeze.',
    tradeoff:
      'A longer limit lets a busy CPU clear more packets per run and reduces ring overflows, but lengthens the time other work on that CPU waits behind softirq processing.',
    counters: ['softnet.time_squeeze'],
    related: ['net.core.netdev_budget', 'net.core.dev_weight'],
    sources: [
      'Documentation/admin-guide/sysctl/net.rst (netdev_budget_usecs)',
      'commit a4837980fd9f "net: revert default NAPI poll timeout to 2 jiffies" (5.7)',
    ],
  },
  {
    key: 'net.core.dev_weight',
    domain: 'core',
    type: 'int',
    unit: 'packets',
    scope: 'global',
    default: '64',
    summary:
      'Per-poll packet quota of the per-CPU backlog queue (RPS, netif_rx, veth, loopback), and the base for the RX/TX bias knobs. Hardware drivers register their own NAPI weight, normally 64, so this does not change how many packets a NIC queue yields per poll.',
    tradeoff:
      'A larger quota lets backlog processing handle more packets per poll at the cost of fairness between NAPI instances sharing the CPU.',
    counters: ['softnet.time_squeeze', 'softnet.dropped'],
    related: ['net.core.dev_weight_rx_bias', 'net.core.dev_weight_tx_bias', 'net.core.netdev_budget', 'net.core.netdev_max_backlog'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (dev_weight)'],
  },
  {
    key: 'net.core.dev_weight_rx_bias',
    domain: 'core',
    type: 'int',
    unit: 'none',
    scope: 'global',
    default: '1',
    summary:
      'Multiplier applied to dev_weight to get the quota of the per-CPU backlog (RPS/RFS) processing within a softirq run. It lets RPS work claim a larger or smaller share of netdev_budget relative to driver NAPI polls.',
    tradeoff:
      'Raising it favours steered packets over direct NIC polling on that CPU; it can starve driver rings if set high.',
    counters: ['softnet.time_squeeze', 'softnet.received_rps'],
    related: ['net.core.dev_weight', 'net.core.dev_weight_tx_bias', 'net.core.netdev_budget'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (dev_weight_rx_bias)'],
  },
  {
    key: 'net.core.dev_weight_tx_bias',
    domain: 'core',
    type: 'int',
    unit: 'none',
    scope: 'global',
    default: '1',
    summary:
      'Multiplier applied to dev_weight to get the number of packets a qdisc run may dequeue before yielding (the TX softirq quota). It exists for hosts whose transmit and receive processing needs are asymmetric.',
    tradeoff:
      'A larger quota sends bigger batches per qdisc run but lets transmit processing hog the CPU longer.',
    counters: [],
    related: ['net.core.dev_weight', 'net.core.dev_weight_rx_bias', 'net.core.default_qdisc'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (dev_weight_tx_bias)'],
  },
  {
    key: 'net.core.busy_read',
    domain: 'core',
    type: 'int',
    unit: 'microseconds',
    range: { min: 0 },
    scope: 'global',
    default: '0',
    summary:
      'Default SO_BUSY_POLL value: how long a blocking socket read spins polling the device queue for new packets before sleeping. 0 disables it; per-socket SO_BUSY_POLL is the preferred way to enable busy polling, and about 50 µs is the documented global starting point.',
    tradeoff:
      'Cuts receive latency and wake-up jitter at the price of burning CPU while spinning and higher power use; it only helps drivers with NAPI busy-poll support.',
    counters: ['netstat.TcpExt.BusyPollRxPackets'],
    related: ['net.core.busy_poll'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (busy_read)', 'socket(7) (SO_BUSY_POLL)'],
  },
  {
    key: 'net.core.busy_poll',
    domain: 'core',
    type: 'int',
    unit: 'microseconds',
    range: { min: 0 },
    scope: 'global',
    default: '0',
    summary:
      'How long poll() and select() busy-loop on device queues before sleeping, for sockets that have busy polling enabled (SO_BUSY_POLL or busy_read). 0 disables it; the docs suggest 50 for a few sockets and 100 for several hundred.',
    tradeoff:
      'Lower latency for event loops at the cost of CPU spinning and power; for large numbers of sockets epoll-based busy polling is the better tool.',
    counters: ['netstat.TcpExt.BusyPollRxPackets'],
    related: ['net.core.busy_read'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (busy_poll)'],
  },
  {
    key: 'net.core.default_qdisc',
    domain: 'core',
    type: 'string',
    unit: 'none',
    scope: 'global',
    default: 'pfifo_fast',
    default_note:
      'The built-in default is pfifo_fast unless the kernel is built with CONFIG_NET_SCH_DEFAULT; systemd\'s sysctl.d/50-default.conf sets fq_codel, so many distributions boot with fq_codel. A kernel without such a sysctl.d file shows pfifo_fast.',
    summary:
      'Queueing discipline attached to network devices when their root qdisc is created; multiqueue NICs get mq with this qdisc on each leaf, and virtual devices such as lo and veth default to noqueue. Only qdiscs that work without parameters (pfifo_fast, fq, fq_codel, sfq, codel) make sense here.',
    tradeoff:
      'fq_codel or fq reduce bufferbloat and give per-flow fairness (fq also provides pacing for TCP) at a small CPU cost; the change applies only to qdiscs created afterwards, so existing devices keep theirs until reconfigured with tc.',
    counters: [],
    related: ['net.ipv4.tcp_congestion_control', 'net.core.dev_weight_tx_bias'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (default_qdisc)', 'tc-fq_codel(8)', 'tc-fq(8)'],
  },
  {
    key: 'net.core.rps_sock_flow_entries',
    domain: 'core',
    type: 'int',
    unit: 'count',
    scope: 'global',
    default: '0',
    summary:
      'Size of the global Receive Flow Steering table that records which CPU last consumed each flow, so packets can be steered to the CPU where the reading application runs. 0 disables RFS; the value is rounded up to a power of two, and each RX queue also needs rps_flow_cnt set in sysfs.',
    tradeoff:
      'RFS improves cache locality for flows whose readers move between CPUs, at the cost of table memory and extra per-packet work; it is pointless on single-queue hosts where RPS is not used.',
    counters: ['softnet.received_rps'],
    related: ['net.core.netdev_max_backlog', 'net.core.rps_default_mask'],
    sources: ['Documentation/networking/scaling.rst (RFS: rps_sock_flow_entries)'],
  },
  {
    key: 'net.core.rps_default_mask',
    domain: 'core',
    type: 'string',
    unit: 'none',
    parser: 'cpumask',
    scope: 'netns',
    default: '0',
    summary:
      'Hex CPU mask that newly created network devices copy into the rps_cpus file of each RX queue. 0 leaves RPS disabled on new devices; existing devices are not changed.',
    tradeoff:
      'Spreading receive processing of single-queue or virtual devices over several CPUs raises throughput but adds an inter-processor interrupt per batch and loses cache locality.',
    counters: ['softnet.received_rps'],
    related: ['net.core.rps_sock_flow_entries', 'net.core.netdev_max_backlog'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (rps_default_mask)', 'Documentation/networking/scaling.rst (RPS)'],
  },
  {
    key: 'net.core.flow_limit_cpu_bitmap',
    domain: 'core',
    type: 'string',
    unit: 'none',
    parser: 'cpumask',
    scope: 'global',
    default: '0',
    summary:
      'Hex CPU mask of CPUs on which RPS flow limiting is enabled. On those CPUs, once the input backlog is more than half full, packets from flows that dominate the recent history are dropped first so small flows still get through.',
    tradeoff:
      'Protects latency-sensitive small flows from one heavy flow during overload, at the cost of dropping that heavy flow earlier; it only acts on the backlog queue (RPS, netif_rx).',
    counters: ['softnet.flow_limit_count', 'softnet.dropped'],
    related: ['net.core.flow_limit_table_len', 'net.core.netdev_max_backlog'],
    sources: ['Documentation/networking/scaling.rst (Per-flow rate limiting)'],
  },
  {
    key: 'net.core.flow_limit_table_len',
    domain: 'core',
    type: 'int',
    unit: 'count',
    scope: 'global',
    default: '4096',
    summary:
      'Number of buckets in the per-CPU table that flow limiting uses to count packets per flow. It is read when a CPU\'s flow table is allocated, so changing it affects CPUs enabled in flow_limit_cpu_bitmap afterwards.',
    tradeoff:
      'A larger table reduces hash collisions between flows (fewer innocent flows penalised) at a small memory cost per CPU.',
    counters: ['softnet.flow_limit_count'],
    related: ['net.core.flow_limit_cpu_bitmap', 'net.core.netdev_max_backlog'],
    sources: ['Documentation/networking/scaling.rst (Per-flow rate limiting)'],
  },
  {
    key: 'net.core.bpf_jit_enable',
    domain: 'core',
    type: 'enum',
    unit: 'none',
    range: { min: 0, max: 2 },
    values: [
      { value: '0', meaning: 'JIT disabled; BPF programs run in the interpreter' },
      { value: '1', meaning: 'JIT enabled' },
      { value: '2', meaning: 'JIT enabled and images dumped to the kernel log (debugging; not accepted by every kernel)' },
    ],
    scope: 'global',
    default: null,
    default_note:
      'Build-dependent: 1 when CONFIG_BPF_JIT_DEFAULT_ON is set (architectures selecting ARCH_WANT_DEFAULT_BPF_JIT, e.g. x86_64, or CONFIG_BPF_JIT_ALWAYS_ON), else 0 as the documentation says. With BPF_JIT_ALWAYS_ON it reads 1 and cannot be turned off.',
    summary:
      'Enables the BPF just-in-time compiler that turns BPF programs (socket filters, tc/XDP programs, seccomp, tracing) into native code. With it off the kernel runs them in the much slower interpreter.',
    tradeoff:
      'The JIT makes packet filters and XDP/tc programs several times faster; disabling it is only a hardening measure and costs CPU on every filtered packet.',
    counters: [],
    related: [],
    sources: ['Documentation/admin-guide/sysctl/net.rst (bpf_jit_enable)', 'kernel/bpf/Kconfig (BPF_JIT_DEFAULT_ON, BPF_JIT_ALWAYS_ON)'],
  },
  {
    key: 'net.core.netdev_tstamp_prequeue',
    domain: 'core',
    type: 'bool',
    unit: 'none',
    scope: 'global',
    default: '1',
    summary:
      'When 1, receive timestamps are taken as early as possible, before the packet is queued to another CPU by RPS. When 0, the timestamp is taken later on the target CPU, which spreads the work but makes timestamps later.',
    tradeoff:
      'Setting 0 saves a little work on the receiving CPU under RPS at the cost of less accurate software RX timestamps.',
    counters: [],
    related: ['net.core.rps_sock_flow_entries', 'net.core.tstamp_allow_data'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (netdev_tstamp_prequeue)'],
  },
  {
    key: 'net.core.message_cost',
    domain: 'core',
    type: 'int',
    unit: 'seconds',
    parser: 'jiffies',
    scope: 'global',
    default: '5',
    summary:
      'Interval of the rate limiter (net_ratelimit) that throttles warning messages from the networking code; together with message_burst the default allows a burst of 10 messages and then roughly one every five seconds. A higher value means fewer messages.',
    tradeoff:
      'Lower values show more diagnostic messages but let a flood of bad packets fill the kernel log; higher values can hide evidence such as martian or conntrack warnings.',
    counters: [],
    related: ['net.core.message_burst', 'net.ipv4.conf.*.log_martians'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (message_burst and message_cost)'],
  },
  {
    key: 'net.core.message_burst',
    domain: 'core',
    type: 'int',
    unit: 'count',
    scope: 'global',
    default: '10',
    summary:
      'Number of networking warning messages allowed in a burst before net_ratelimit starts dropping them. Works together with message_cost.',
    tradeoff: 'A larger burst logs more of an event at the cost of log noise during attacks or misconfiguration.',
    counters: [],
    related: ['net.core.message_cost'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (message_burst and message_cost)'],
  },
  {
    key: 'net.core.tstamp_allow_data',
    domain: 'core',
    type: 'bool',
    unit: 'none',
    parser: 'u8',
    range: { min: 0, max: 1 },
    scope: 'netns',
    default: '1',
    summary:
      'Allows processes to get transmit timestamps looped back together with the original packet contents. When 0, TX timestamp requests from unprivileged processes are dropped unless they use SOF_TIMESTAMPING_OPT_TSONLY.',
    tradeoff:
      'Disabling it closes a small information channel for unprivileged users but breaks timestamping tools that expect the packet payload back.',
    counters: [],
    related: ['net.core.netdev_tstamp_prequeue'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (tstamp_allow_data)', 'Documentation/networking/timestamping.rst'],
  },
  {
    key: 'net.core.gro_normal_batch',
    domain: 'core',
    type: 'int',
    unit: 'packets',
    range: { min: 1 },
    scope: 'global',
    default: '8',
    summary:
      'Number of segments GRO collects on a per-NAPI list before handing them to the stack as one batch. Packets leave GRO either merged or unmerged and are passed up in lists of this size.',
    tradeoff:
      'Bigger batches improve instruction-cache efficiency of receive processing but hold packets slightly longer within a NAPI poll.',
    counters: [],
    related: ['net.core.netdev_budget', 'net.core.dev_weight'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (gro_normal_batch)'],
  },
  {
    key: 'net.core.high_order_alloc_disable',
    domain: 'core',
    type: 'bool',
    unit: 'none',
    scope: 'global',
    default: '0',
    summary:
      'When 1, the socket page-fragment allocator uses order-0 pages instead of trying high-order (order-3 on x86) pages first. The documentation calls it mostly historical: it addressed page-allocator contention on kernels before 5.14.',
    tradeoff:
      'Order-0 pages avoid allocation contention and fragmentation pressure but produce more, smaller fragments per socket buffer, which costs some throughput.',
    counters: [],
    related: [],
    sources: ['Documentation/admin-guide/sysctl/net.rst (high_order_alloc_disable)'],
  },
  {
    key: 'net.core.netdev_unregister_timeout_secs',
    domain: 'core',
    type: 'int',
    unit: 'seconds',
    range: { min: 1, max: 3600 },
    scope: 'global',
    default: '10',
    summary:
      'How long device unregistration waits for the device reference count to reach zero before printing the "waiting for <dev> to become free" warning, repeated at this interval. It only controls the warning, not the wait.',
    tradeoff:
      'Lower values surface leaked references (e.g. during bisection) sooner; higher values avoid false warnings on slow or loaded systems.',
    counters: [],
    related: [],
    sources: ['Documentation/admin-guide/sysctl/net.rst (netdev_unregister_timeout_secs)'],
  },
  {
    key: 'net.core.skb_defer_max',
    domain: 'core',
    type: 'int',
    unit: 'count',
    range: { min: 0 },
    scope: 'global',
    default: '64',
    summary:
      'Maximum length of the per-CPU list of received buffers that are handed back to the CPU that allocated them for freeing, instead of being freed by the CPU that consumed them. It is used by TCP receive paths.',
    tradeoff:
      'Deferred freeing keeps memory and cache lines local to the allocating CPU; 0 disables it, and a larger list holds more memory until the owning CPU gets round to freeing it.',
    counters: [],
    related: [],
    sources: ['Documentation/admin-guide/sysctl/net.rst (skb_defer_max)'],
  },
  {
    key: 'net.core.txrehash',
    domain: 'core',
    type: 'bool',
    unit: 'none',
    parser: 'u8',
    range: { min: 0, max: 1 },
    scope: 'netns',
    default: '1',
    summary:
      'Default SO_TXREHASH behaviour for new IPv4/IPv6 sockets (copied at socket creation and again when a socket starts listening, unless the application set the option). When 1, TCP may pick a new transmit hash after retransmission timeouts, which changes the IPv6 flow label and can move the flow to another ECMP path.',
    tradeoff:
      'Rehashing helps connections escape a failing ECMP path, but changes the flow label/path seen by middleboxes and load balancers that expect it to stay constant.',
    counters: [],
    related: ['net.ipv6.auto_flowlabels', 'net.ipv6.flowlabel_reflect'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (txrehash)'],
  },
  {
    key: 'net.core.max_skb_frags',
    domain: 'core',
    type: 'int',
    unit: 'count',
    range: { min: 1 },
    scope: 'global',
    default: '17',
    default_note:
      'Equals MAX_SKB_FRAGS: 17 unless the kernel is built with a larger CONFIG_MAX_SKB_FRAGS (a build option since 6.2). Values above the build maximum are rejected.',
    summary:
      'Maximum number of page fragments TCP attaches to one outgoing socket buffer, which bounds how large a GSO/TSO packet built from page fragments can get. Lower values make the stack build smaller super-packets.',
    tradeoff:
      'Lowering it can work around NICs or drivers that cannot handle many fragments, at the cost of more, smaller TSO packets and higher CPU per byte.',
    counters: [],
    related: ['net.core.gro_normal_batch'],
    sources: ['net/core/sysctl_net_core.c (max_skb_frags)', 'include/linux/skbuff.h (MAX_SKB_FRAGS)'],
  },
  {
    key: 'net.core.mem_pcpu_rsv',
    domain: 'core',
    type: 'int',
    unit: 'pages',
    scope: 'global',
    default: '256',
    default_note: '256 pages, i.e. 1 MB per CPU with 4 KB pages.',
    summary:
      'Size of the per-CPU cache of protocol memory (the forward-allocated pages charged against tcp_mem, udp_mem and similar limits) that a CPU may hold before folding it into the global counter. It reduces contention on the shared memory accounting.',
    tradeoff:
      'A larger reserve means fewer updates of a shared counter but makes the global protocol memory limits less exact by up to this amount per CPU.',
    counters: ['sockstat.TCP.mem', 'sockstat.UDP.mem'],
    related: ['net.ipv4.tcp_mem', 'net.ipv4.udp_mem'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (mem_pcpu_rsv)'],
  },
  {
    key: 'net.core.devconf_inherit_init_net',
    domain: 'core',
    type: 'enum',
    unit: 'none',
    range: { min: 0, max: 3 },
    values: [
      { value: '0', meaning: 'IPv4 conf/{all,default} inherited from the initial namespace, IPv6 reset to defaults' },
      { value: '1', meaning: 'IPv4 and IPv6 both inherited from the initial namespace' },
      { value: '2', meaning: 'IPv4 and IPv6 both reset to kernel defaults' },
      { value: '3', meaning: 'IPv4 and IPv6 both inherited from the namespace that creates the new one' },
    ],
    scope: 'global',
    default: '0',
    summary:
      'Controls where a newly created network namespace gets its net.ipv4.conf.{all,default} and net.ipv6.conf.{all,default} settings. The default keeps the historical mix: IPv4 copies the initial namespace, IPv6 starts from kernel defaults.',
    tradeoff:
      'Inheriting makes containers follow host hardening (rp_filter, redirects) automatically; resetting gives predictable per-container defaults regardless of host tuning.',
    counters: [],
    related: ['net.ipv4.conf.*.rp_filter', 'net.ipv6.conf.*.accept_ra'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (devconf_inherit_init_net)'],
  },
];
