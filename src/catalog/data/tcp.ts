// TCP knobs (net.ipv4.tcp_*; they also govern TCP over IPv6). Facts from
// Documentation/networking/ip-sysctl.rst unless a source says otherwise; defaults and bounds were
// checked against Linux 6.18 (net/ipv4/sysctl_net_ipv4.c, tcp_sk_init() in net/ipv4/tcp_ipv4.c,
// tcp_init() in net/ipv4/tcp.c) and on a 24 GB 6.18 VM (HZ=250):
//
// - Scope: everything in ipv4_net_table is per network namespace. tcp_mem, tcp_max_orphans and
//   tcp_low_latency live in the global ipv4_table (absent inside a child namespace);
//   tcp_available_congestion_control and tcp_allowed_congestion_control have no per-namespace data
//   and are read-only inside a child namespace, so they are 'global' too.
// - `range` is what the kernel accepts, probed by writing inside a throw-away child namespace.
//   u8-backed knobs without explicit bounds accept 0..255. Knobs stored in jiffies (keepalive,
//   fin_timeout) accept up to INT_MAX/HZ seconds: 8589934 at HZ=250 but only 2147483 at HZ=1000,
//   so the catalog uses the portable 2147483. Plain int knobs with no bounds in the kernel (it even
//   accepts negative numbers) get no range.
// - The kernel has no nanosecond unit in UNITS; the *_ns knobs use 'none' and say so in the text.
import type { CatalogEntryInput } from '../schema.js';

const doc = (knob: string): string => `Documentation/networking/ip-sysctl.rst (${knob})`;
const SYSCTL_C = 'net/ipv4/sysctl_net_ipv4.c (ipv4_net_table bounds; checked on 6.18)';
const SK_INIT = 'net/ipv4/tcp_ipv4.c (tcp_sk_init, per-namespace defaults)';
const HZ_MAX = 2147483; // INT_MAX / 1000: the largest seconds value every HZ setting accepts

export const tcp: CatalogEntryInput[] = [
  // ───────────────────────────── congestion control ─────────────────────────────
  {
    key: 'net.ipv4.tcp_congestion_control',
    domain: 'tcp',
    type: 'string',
    unit: 'none',
    scope: 'netns',
    default: null,
    default_note:
      'Chosen at build time by CONFIG_DEFAULT_TCP_CONG: cubic in upstream defconfigs and most distribution kernels; this 6.18 VM is built with CONFIG_DEFAULT_BBR=y and shows bbr. A new network namespace starts with the initial namespace\'s current algorithm (reno if that cannot be pinned).',
    summary:
      'Congestion control algorithm given to new TCP sockets that do not choose one with setsockopt(TCP_CONGESTION); accepted connections inherit the listener\'s algorithm. Writing a name that is not loaded makes the kernel try to load module tcp_<name>; inside a child namespace only algorithms listed in tcp_allowed_congestion_control can be made the default.',
    tradeoff:
      'Loss-based cubic fills bottleneck buffers and backs off only on loss; bbr models bandwidth and RTT, keeps queues shorter and tolerates random loss, but can take more than its share against cubic flows. Only sockets created after the change are affected.',
    counters: ['snmp.Tcp.RetransSegs', 'netstat.TcpExt.TCPTimeouts'],
    related: [
      'net.ipv4.tcp_available_congestion_control',
      'net.ipv4.tcp_allowed_congestion_control',
      'net.core.default_qdisc',
      'net.ipv4.tcp_ecn',
      'net.ipv4.tcp_pacing_ca_ratio',
    ],
    sources: [doc('tcp_congestion_control'), 'net/ipv4/tcp_cong.c (tcp_set_default_congestion_control)', SK_INIT],
  },
  {
    key: 'net.ipv4.tcp_available_congestion_control',
    domain: 'tcp',
    type: 'string',
    unit: 'none',
    scope: 'global',
    default: null,
    default_note:
      'Read-only list of the algorithms registered right now: the built-in ones plus any loaded modules (this VM: reno bbr cubic). reno is always present.',
    summary:
      'Read-only, space-separated list of the congestion control algorithms currently registered with the kernel. Algorithms built as modules appear only once their module is loaded.',
    tradeoff:
      'Nothing to tune; load a module (modprobe tcp_<name>) or set it as tcp_congestion_control as root to make an algorithm available.',
    counters: [],
    related: ['net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_allowed_congestion_control'],
    sources: [doc('tcp_available_congestion_control')],
  },
  {
    key: 'net.ipv4.tcp_allowed_congestion_control',
    domain: 'tcp',
    type: 'string',
    unit: 'none',
    scope: 'global',
    default: null,
    default_note:
      'reno plus the build-time default algorithm (this VM: "reno bbr"). One list for the whole machine; read-only inside child namespaces.',
    summary:
      'Algorithms that processes without CAP_NET_ADMIN may select with setsockopt(TCP_CONGESTION), and the only ones a child network namespace may make its default. It must be a subset of tcp_available_congestion_control; privileged processes may pick any available algorithm.',
    tradeoff:
      'Adding algorithms lets unprivileged applications (or containers) choose, e.g., bbr for their own sockets; a narrow list keeps every flow on the administrator\'s choice.',
    counters: [],
    related: ['net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_available_congestion_control'],
    sources: [doc('tcp_allowed_congestion_control'), 'net/ipv4/tcp_cong.c (tcp_set_congestion_control)'],
  },

  // ───────────────────────────── handshake and options ─────────────────────────────
  {
    key: 'net.ipv4.tcp_fastopen',
    domain: 'tcp',
    type: 'bitmask',
    unit: 'none',
    values: [
      { value: '0x1', meaning: 'client: may send data in the SYN (sendmsg with MSG_FASTOPEN or TCP_FASTOPEN_CONNECT) once it holds a cookie for the server' },
      { value: '0x2', meaning: 'server: accept data in the SYN and hand it to the application before the handshake completes, on listeners with Fast Open enabled' },
      { value: '0x4', meaning: 'client: send data in the SYN even without a cookie, and without a cookie option' },
      { value: '0x200', meaning: 'server: accept data in the SYN without any cookie option' },
      { value: '0x400', meaning: 'server: enable Fast Open on every listener without the TCP_FASTOPEN socket option' },
    ],
    scope: 'netns',
    default: '1',
    summary:
      'Enables TCP Fast Open (RFC 7413), which carries application data in the SYN so a repeat connection saves one round trip. The value is a bit mask: 0x1 enables the client side (the default), 0x2 the server side; the other bits only take effect together with 0x1 or 0x2.',
    tradeoff:
      'Saves an RTT on repeat connections, but SYN data can be replayed, so servers should accept it only for idempotent requests; middleboxes that drop SYNs with data cause stalls (see tcp_fastopen_blackhole_timeout_sec). 0x4 and 0x200 remove the cookie protection and are for testing or closed networks.',
    counters: [
      'netstat.TcpExt.TCPFastOpenActive',
      'netstat.TcpExt.TCPFastOpenActiveFail',
      'netstat.TcpExt.TCPFastOpenPassive',
      'netstat.TcpExt.TCPFastOpenPassiveFail',
      'netstat.TcpExt.TCPFastOpenListenOverflow',
      'netstat.TcpExt.TCPFastOpenCookieReqd',
    ],
    related: ['net.ipv4.tcp_fastopen_blackhole_timeout_sec', 'net.ipv4.tcp_syncookies'],
    sources: [doc('tcp_fastopen'), 'RFC 7413', 'include/net/tcp.h (TFO_* flags)'],
  },
  {
    key: 'net.ipv4.tcp_fastopen_blackhole_timeout_sec',
    domain: 'tcp',
    type: 'int',
    unit: 'seconds',
    range: { min: 0 },
    scope: 'netns',
    default: '0',
    changes: [
      {
        version: '5.14',
        from: '3600',
        to: '0',
        note: 'Blackhole detection disabled by default (commit "tcp: disable TFO blackhole logic by default"); also backported to stable kernels.',
      },
    ],
    summary:
      'Seconds for which client-side Fast Open is turned off in this namespace after the kernel concludes that a middlebox drops SYNs carrying data; if the problem recurs right after re-enabling, the period doubles each time. 0 turns the detection off.',
    tradeoff:
      'Detection protects clients behind TFO-hostile firewalls from repeated connect stalls, but one bad path disables Fast Open for every destination in the namespace.',
    counters: ['netstat.TcpExt.TCPFastOpenBlackhole', 'netstat.TcpExt.TCPFastOpenActiveFail'],
    related: ['net.ipv4.tcp_fastopen'],
    sources: [doc('tcp_fastopen_blackhole_timeout_sec'), SK_INIT],
  },
  {
    key: 'net.ipv4.tcp_timestamps',
    domain: 'tcp',
    type: 'enum',
    unit: 'none',
    values: [
      { value: '0', meaning: 'disabled' },
      { value: '1', meaning: 'RFC 7323 timestamps with a random offset per connection (default)' },
      { value: '2', meaning: 'RFC 7323 timestamps without random offsets' },
    ],
    scope: 'netns',
    default: '1',
    summary:
      'Negotiates the RFC 7323 timestamp option, which TCP uses for RTT measurement and for PAWS, the protection against old segments with wrapped sequence numbers. Mode 1 adds a random per-connection offset so the host clock is not exposed; mode 2 sends the raw clock.',
    tradeoff:
      'Costs 12 bytes of option space per segment. Turning it off removes PAWS (risky at multi-gigabit rates where sequence numbers wrap within seconds), weakens RTT sampling and makes tcp_tw_reuse and SYN-cookie option encoding impossible; mode 2 leaks uptime.',
    counters: ['netstat.TcpExt.PAWSEstab', 'netstat.TcpExt.PAWSActive', 'netstat.TcpExt.TCPTSReorder'],
    related: ['net.ipv4.tcp_tw_reuse', 'net.ipv4.tcp_window_scaling', 'net.ipv4.tcp_sack', 'net.ipv4.tcp_syncookies'],
    sources: [doc('tcp_timestamps'), 'RFC 7323'],
  },
  {
    key: 'net.ipv4.tcp_sack',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'Negotiates selective acknowledgments (RFC 2018): the receiver reports exactly which out-of-order blocks it holds, so the sender retransmits only what is missing.',
    tradeoff:
      'Without SACK a sender repairs roughly one hole per round trip, so several losses in a window cost seconds on long paths; the processing cost is small. Disabling it was a stop-gap for the 2019 SACK denial-of-service bugs, which are fixed.',
    counters: [
      'netstat.TcpExt.TCPSackRecovery',
      'netstat.TcpExt.TCPSACKReorder',
      'netstat.TcpExt.TCPSackShifted',
      'netstat.TcpExt.TCPSackMerged',
      'netstat.TcpExt.TCPSACKReneging',
    ],
    related: ['net.ipv4.tcp_dsack', 'net.ipv4.tcp_recovery', 'net.ipv4.tcp_comp_sack_nr', 'net.ipv4.tcp_min_snd_mss'],
    sources: [doc('tcp_sack'), 'RFC 2018'],
  },
  {
    key: 'net.ipv4.tcp_dsack',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'Lets this host send duplicate-SACK blocks (RFC 2883) that tell the sender a segment arrived twice. Senders use them to detect spurious retransmissions, undo needless congestion-window cuts and widen their reordering allowance.',
    tradeoff:
      'Almost free; turning it off deprives peers of the signal they use to recover from spurious retransmits and reordering.',
    counters: [
      'netstat.TcpExt.TCPDSACKOldSent',
      'netstat.TcpExt.TCPDSACKOfoSent',
      'netstat.TcpExt.TCPDSACKRecv',
      'netstat.TcpExt.TCPDSACKUndo',
    ],
    related: ['net.ipv4.tcp_sack', 'net.ipv4.tcp_reordering'],
    sources: [doc('tcp_dsack'), 'RFC 2883'],
  },
  {
    key: 'net.ipv4.tcp_window_scaling',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'Negotiates the RFC 7323 window-scale option so the advertised receive window can exceed 64 KiB (up to 1 GiB). The scale factor is fixed during the handshake from the largest buffer the socket could reach (the larger of tcp_rmem[2] and net.core.rmem_max), so raising those later does not widen existing connections beyond it.',
    tradeoff:
      'Turning it off caps every connection at 64 KiB in flight, i.e. about 5 Mbit/s at 100 ms RTT; there is no benefit except talking to broken middleboxes.',
    counters: [],
    related: ['net.ipv4.tcp_rmem', 'net.core.rmem_max', 'net.ipv4.tcp_workaround_signed_windows', 'net.ipv4.tcp_shrink_window', 'net.ipv4.tcp_timestamps'],
    sources: [doc('tcp_window_scaling'), 'RFC 7323'],
  },
  {
    key: 'net.ipv4.tcp_syncookies',
    domain: 'tcp',
    type: 'enum',
    unit: 'none',
    values: [
      { value: '0', meaning: 'never send SYN cookies' },
      { value: '1', meaning: 'send SYN cookies when a listener\'s SYN queue overflows (default)' },
      { value: '2', meaning: 'send SYN cookies for every incoming connection (testing)' },
    ],
    scope: 'netns',
    default: '1',
    summary:
      'SYN cookies let a listener answer a SYN without keeping state: the SYN-ACK sequence number encodes the connection parameters and is checked when the final ACK returns, so a SYN flood cannot exhaust the SYN queue. Requires CONFIG_SYN_COOKIES.',
    tradeoff:
      'A cookie can encode only a few MSS values, and window scaling, SACK and ECN survive only when timestamps are on; mode 2 imposes that on every client. Cookies under normal load mean the listen backlog is too small, not that you are attacked.',
    counters: [
      'netstat.TcpExt.SyncookiesSent',
      'netstat.TcpExt.SyncookiesRecv',
      'netstat.TcpExt.SyncookiesFailed',
      'netstat.TcpExt.TCPReqQFullDoCookies',
    ],
    related: ['net.ipv4.tcp_max_syn_backlog', 'net.core.somaxconn', 'net.ipv4.tcp_synack_retries', 'net.ipv4.tcp_abort_on_overflow'],
    sources: [doc('tcp_syncookies'), 'net/ipv4/tcp_input.c (tcp_conn_request)'],
  },
  {
    key: 'net.ipv4.tcp_max_syn_backlog',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    scope: 'netns',
    default: null,
    default_note:
      'max(128, established-hash buckets / 128): 262144 / 128 = 2048 on this 24 GB machine (see tcp_ehash_entries). A namespace with its own hash table (tcp_child_ehash_entries) derives it from that table.',
    summary:
      'Per-listener limit on half-open (SYN_RECV) requests that only matters while syncookies are off: once a listener holds more than three quarters of this many, SYNs from peers unknown to the TCP metrics cache are dropped. The SYN queue itself is bounded by the listen() backlog (capped by net.core.somaxconn); with syncookies on, overflow is answered with cookies.',
    tradeoff:
      'Raising it together with somaxconn and the application backlog lets a listener without syncookies absorb bigger connection bursts; each pending request costs a few hundred bytes. With tcp_syncookies=1 it rarely matters.',
    counters: ['netstat.TcpExt.TCPReqQFullDrop', 'netstat.TcpExt.TCPReqQFullDoCookies', 'netstat.TcpExt.ListenDrops'],
    related: ['net.core.somaxconn', 'net.ipv4.tcp_syncookies', 'net.ipv4.tcp_synack_retries', 'net.ipv4.tcp_ehash_entries'],
    sources: [doc('tcp_max_syn_backlog'), 'net/ipv4/tcp_input.c (tcp_conn_request)', 'net/ipv4/tcp_ipv4.c (tcp_set_hashinfo)'],
  },
  {
    key: 'net.ipv4.tcp_abort_on_overflow',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'What happens when a client completes the handshake but the listener\'s accept queue is full: with 0 the final ACK is dropped and the request kept, so a retransmitted SYN-ACK can finish the handshake once the application catches up; with 1 the client gets a RST at once.',
    tradeoff:
      '1 gives clients a fast error instead of a stall, but turns every momentary backlog overflow into failed connections; fix the accept loop or raise the backlog (listen() argument, net.core.somaxconn) first.',
    counters: ['netstat.TcpExt.ListenOverflows', 'netstat.TcpExt.ListenDrops'],
    related: ['net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog', 'net.ipv4.tcp_syncookies'],
    sources: [doc('tcp_abort_on_overflow'), 'net/ipv4/tcp_minisocks.c (tcp_check_req)'],
  },
  {
    key: 'net.ipv4.tcp_synack_retries',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '5',
    summary:
      'How many times the SYN-ACK of an incoming connection is retransmitted before the half-open request is dropped. With the 1 s initial timeout doubling each time, the default 5 retransmits at 1, 3, 7, 15 and 31 s and gives up after 63 s.',
    tradeoff:
      'Lower values free SYN-queue slots sooner under floods or from vanished clients but fail clients on lossy, high-latency links; higher values keep half-open requests around longer.',
    counters: ['netstat.TcpExt.TCPSynRetrans'],
    related: ['net.ipv4.tcp_syn_retries', 'net.ipv4.tcp_max_syn_backlog', 'net.ipv4.tcp_syncookies'],
    sources: [doc('tcp_synack_retries'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_syn_retries',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 1, max: 127 },
    scope: 'netns',
    default: '6',
    changes: [
      {
        version: '6.5',
        note: 'tcp_syn_linear_timeouts added: its linear retries come on top of tcp_syn_retries, so the default connect() now gives up after about 131 s instead of 127 s, with the last SYN sent at 67 s instead of 63 s.',
      },
    ],
    summary:
      'How many times the SYN of an outgoing connect() is retransmitted before it fails with ETIMEDOUT (TCP_SYNCNT overrides it per socket). Since 6.5 the tcp_syn_linear_timeouts retries are added, so the defaults send SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35 and 67 s and give up at about 131 s.',
    tradeoff:
      'Lower values make connect() to dead hosts fail faster, useful for clients with their own retry or failover logic; too low fails connections over brief packet loss.',
    counters: ['netstat.TcpExt.TCPSynRetrans', 'snmp.Tcp.AttemptFails', 'netstat.TcpExt.TCPAbortOnTimeout'],
    related: ['net.ipv4.tcp_syn_linear_timeouts', 'net.ipv4.tcp_synack_retries'],
    sources: [doc('tcp_syn_retries'), doc('tcp_syn_linear_timeouts'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_syn_linear_timeouts',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 127 },
    scope: 'netns',
    default: '4',
    added_in: '6.5',
    summary:
      'Number of SYN retransmissions of an outgoing connection that use a constant timeout (the initial RTO, normally 1 s) before exponential backoff starts; they are counted in addition to tcp_syn_retries. With 4 the retransmission gaps are 1, 1, 1, 1, 1, 2, 4, 8 … s. SYN-ACKs are not affected.',
    tradeoff:
      'Linear retries reconnect faster after brief outages or path failover (the iOS/macOS scheme); they send more SYNs to unreachable hosts in the first seconds. 0 restores pure exponential backoff.',
    counters: ['netstat.TcpExt.TCPSynRetrans'],
    related: ['net.ipv4.tcp_syn_retries'],
    sources: [doc('tcp_syn_linear_timeouts'), 'commit "tcp: make the first N SYN RTO backoffs linear" (2023)'],
  },
  {
    key: 'net.ipv4.tcp_min_snd_mss',
    domain: 'tcp',
    type: 'int',
    unit: 'bytes',
    range: { min: 48, max: 65535 },
    scope: 'netns',
    default: '48',
    added_in: '5.2',
    summary:
      'Smallest MSS this host will send with, whatever MSS the peer advertises in its SYN or SYN-ACK; a smaller advertised value is silently raised to it. The default 48 leaves at least 8 bytes of payload after the largest option space.',
    tradeoff:
      'Raising it (e.g. to 536) blocks resource-exhaustion tricks that force tiny segments, but breaks peers whose path really needs smaller segments.',
    counters: [],
    related: ['net.ipv4.tcp_mtu_probe_floor', 'net.ipv4.tcp_base_mss', 'net.ipv4.tcp_sack'],
    sources: [doc('tcp_min_snd_mss'), 'commit "tcp: add tcp_min_snd_mss sysctl" (2019, SACK Panic follow-up)'],
  },
  {
    key: 'net.ipv4.tcp_ecn',
    domain: 'tcp',
    type: 'enum',
    unit: 'none',
    values: [
      { value: '0', meaning: 'disabled: neither request nor accept ECN' },
      { value: '1', meaning: 'request ECN on outgoing connections and accept it on incoming ones' },
      { value: '2', meaning: 'accept ECN when an incoming connection requests it, but do not request it (default)' },
    ],
    scope: 'netns',
    default: '2',
    summary:
      'Explicit Congestion Notification (RFC 3168) for TCP: routers with active queue management can mark packets instead of dropping them, and the receiver echoes the marks back. ECN is used only if both ends agree; a route\'s "ecn" feature or a congestion control that needs ECN (e.g. DCTCP) requests it regardless of this value.',
    tradeoff:
      'Mode 1 avoids loss and retransmission delay behind ECN-capable bottlenecks; a few broken middleboxes drop or mangle ECN-setup SYNs (tcp_ecn_fallback handles that). Marks are still congestion signals, so throughput under congestion is unchanged.',
    counters: ['netstat.IpExt.InCEPkts', 'netstat.IpExt.InECT0Pkts', 'netstat.TcpExt.TCPDeliveredCE'],
    related: ['net.ipv4.tcp_ecn_fallback', 'net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_plb_enabled'],
    sources: [doc('tcp_ecn'), 'RFC 3168', 'net/ipv4/tcp_output.c (tcp_ecn_send_syn)', SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_ecn_fallback',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'When an ECN-setup SYN has to be retransmitted, send the retransmission without the ECN flags, falling back to plain TCP as RFC 3168 section 6.1.1.1 allows, in case a middlebox drops ECN SYNs. Ignored when ECN is not in use.',
    tradeoff:
      'Turning it off keeps ECN flags on SYN retransmissions, so connections through ECN-hostile middleboxes time out instead of degrading to non-ECN.',
    counters: [],
    related: ['net.ipv4.tcp_ecn'],
    sources: [doc('tcp_ecn_fallback'), 'RFC 3168 (section 6.1.1.1)'],
  },
  {
    key: 'net.ipv4.tcp_migrate_req',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'For SO_REUSEPORT listener groups: when one listener closes or shuts down, its in-progress handshakes and not-yet-accepted connections move to another listener of the group instead of being reset. A BPF_SK_REUSEPORT_SELECT_OR_MIGRATE program can pick the target; without one a live listener is chosen at random.',
    tradeoff:
      'Lets reuseport servers restart workers without dropping queued clients; migrated connections land on listeners whose socket options may differ (e.g. TCP_SAVE_SYN), which can confuse the application.',
    counters: ['netstat.TcpExt.TCPMigrateReqSuccess', 'netstat.TcpExt.TCPMigrateReqFailure'],
    related: ['net.core.somaxconn'],
    sources: [doc('tcp_migrate_req')],
  },

  // ───────────────────────────── keepalive and timeouts ─────────────────────────────
  {
    key: 'net.ipv4.tcp_keepalive_time',
    domain: 'tcp',
    type: 'int',
    unit: 'seconds',
    range: { max: HZ_MAX },
    scope: 'netns',
    default: '7200',
    summary:
      'Idle seconds before the first keepalive probe on a socket that enabled SO_KEEPALIVE; sockets without SO_KEEPALIVE never probe, and TCP_KEEPIDLE overrides the value per socket. A silent peer is declared dead after tcp_keepalive_time + tcp_keepalive_intvl × tcp_keepalive_probes seconds: 7200 + 75 × 9 = 7875 s (about 2 h 11 min) by default.',
    tradeoff:
      'Shorter times detect dead peers and keep NAT and firewall state alive, at the cost of extra packets on idle connections (and radio wake-ups on mobile); the default is longer than many NAT and firewall idle timeouts, so long-idle connections may be cut silently.',
    counters: ['netstat.TcpExt.TCPKeepAlive', 'netstat.TcpExt.TCPAbortOnTimeout'],
    related: ['net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes', 'net.ipv4.tcp_retries2'],
    sources: [doc('tcp_keepalive_time'), 'tcp(7) (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT)'],
  },
  {
    key: 'net.ipv4.tcp_keepalive_intvl',
    domain: 'tcp',
    type: 'int',
    unit: 'seconds',
    range: { max: HZ_MAX },
    scope: 'netns',
    default: '75',
    summary:
      'Seconds between keepalive probes once probing has started (TCP_KEEPINTVL overrides it per socket). Probing lasts tcp_keepalive_intvl × tcp_keepalive_probes seconds, 75 × 9 = 675 s by default, after the idle period tcp_keepalive_time.',
    tradeoff:
      'Shorter intervals declare a dead peer sooner but can drop a connection over a short outage; longer ones keep dead connections around.',
    counters: ['netstat.TcpExt.TCPKeepAlive'],
    related: ['net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_keepalive_probes'],
    sources: [doc('tcp_keepalive_intvl')],
  },
  {
    key: 'net.ipv4.tcp_keepalive_probes',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '9',
    summary:
      'Number of unanswered keepalive probes after which the connection is dropped (TCP_KEEPCNT overrides it per socket). Dead-peer detection takes tcp_keepalive_time + tcp_keepalive_intvl × tcp_keepalive_probes seconds.',
    tradeoff: 'Fewer probes detect dead peers sooner but tolerate less loss of the probes themselves.',
    counters: ['netstat.TcpExt.TCPKeepAlive', 'netstat.TcpExt.TCPAbortOnTimeout'],
    related: ['net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_keepalive_intvl'],
    sources: [doc('tcp_keepalive_probes'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_retries1',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '3',
    summary:
      'After this many unanswered retransmission timeouts on an established connection, TCP tells the network layer the path may be broken: the cached route is re-validated and, with tcp_mtu_probing=1, PMTU black-hole probing starts. The connection is not dropped.',
    tradeoff:
      'Lower values react to broken paths sooner at the risk of needless route lookups and MSS reductions on ordinary loss; RFC 1122 asks for at least 3.',
    counters: ['netstat.TcpExt.TCPTimeouts'],
    related: ['net.ipv4.tcp_retries2', 'net.ipv4.tcp_mtu_probing'],
    sources: [doc('tcp_retries1'), 'net/ipv4/tcp_timer.c (tcp_write_timeout)', 'RFC 1122'],
  },
  {
    key: 'net.ipv4.tcp_retries2',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '15',
    summary:
      'How many retransmission timeouts an established connection with unacknowledged data survives before it is aborted with ETIMEDOUT. The count is turned into a time budget assuming exponential backoff from the minimum RTO: 15 means at least about 924.6 s (15.4 min); TCP_USER_TIMEOUT overrides it per socket.',
    tradeoff:
      'Lower values detect dead peers of busy connections faster (8 ≈ 100 s, the RFC 1122 minimum) but abort connections that would survive a longer outage. If tcp_rto_max_ms is lowered, revisit this too.',
    counters: ['netstat.TcpExt.TCPAbortOnTimeout', 'netstat.TcpExt.TCPTimeouts'],
    related: ['net.ipv4.tcp_retries1', 'net.ipv4.tcp_orphan_retries', 'net.ipv4.tcp_rto_max_ms', 'net.ipv4.tcp_keepalive_time'],
    sources: [doc('tcp_retries2'), 'RFC 1122'],
  },
  {
    key: 'net.ipv4.tcp_orphan_retries',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '0',
    default_note:
      'The kernel default 0 is treated as 8 retransmission timeouts (over 100 s at the 200 ms minimum RTO) while the connection still looks alive; ip-sysctl.rst describes this as "the default value is 8".',
    summary:
      'Retransmission-timeout limit for orphaned connections, i.e. ones the application has already closed that still hold unacknowledged data or FIN. It plays the role of tcp_retries2 for those sockets.',
    tradeoff:
      'Lower values free memory held by orphans to unresponsive peers sooner, which helps busy web servers; the last bytes of a closed connection may then never reach a slow client.',
    counters: ['sockstat.TCP.orphan', 'netstat.TcpExt.TCPAbortOnTimeout'],
    related: ['net.ipv4.tcp_max_orphans', 'net.ipv4.tcp_retries2', 'net.ipv4.tcp_fin_timeout'],
    sources: [doc('tcp_orphan_retries'), 'net/ipv4/tcp_timer.c (tcp_orphan_retries)', SK_INIT],
  },
  {
    key: 'net.ipv4.tcp_rto_min_us',
    domain: 'tcp',
    type: 'int',
    unit: 'microseconds',
    range: { min: 1 },
    scope: 'netns',
    default: '200000',
    summary:
      'Lower bound on the retransmission timeout, in microseconds, for sockets in this namespace. A route\'s rto_min attribute and the TCP_BPF_RTO_MIN and TCP_RTO_MIN_US socket options take precedence over it.',
    tradeoff:
      'Lower values (a few ms in datacenters) recover from tail loss faster on short-RTT networks but fire spuriously when delayed ACKs or scheduling jitter exceed them; the upstream advice is to stay at or below 200 ms, RFC 6298 itself suggests 1 s.',
    counters: ['netstat.TcpExt.TCPTimeouts', 'netstat.TcpExt.TCPSpuriousRTOs'],
    related: ['net.ipv4.tcp_rto_max_ms', 'net.ipv4.tcp_retries2', 'net.ipv4.tcp_early_retrans'],
    sources: [doc('tcp_rto_min_us'), SYSCTL_C, 'RFC 6298'],
  },
  {
    key: 'net.ipv4.tcp_rto_max_ms',
    domain: 'tcp',
    type: 'int',
    unit: 'milliseconds',
    range: { min: 1000, max: 120000 },
    scope: 'netns',
    default: '120000',
    summary:
      'Upper bound, in milliseconds, that exponential backoff of the retransmission timeout may reach; the TCP_RTO_MAX_MS socket option overrides it per socket.',
    tradeoff:
      'A lower cap makes connections retry more often during long outages, so they resume sooner when the path returns, at the cost of more retransmissions; tcp_retries2 counts timeouts whose length this caps, so ip-sysctl.rst advises revisiting it too.',
    counters: ['netstat.TcpExt.TCPTimeouts'],
    related: ['net.ipv4.tcp_rto_min_us', 'net.ipv4.tcp_retries2'],
    sources: [doc('tcp_rto_max_ms'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_thin_linear_timeouts',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'For "thin" streams with fewer than 4 packets in flight, keep the retransmission timeout constant instead of doubling it, for up to 6 timeouts, so sparse interactive flows (games, telemetry, RPC heartbeats) recover from loss faster. Applications can opt in per socket with TCP_THIN_LINEAR_TIMEOUTS.',
    tradeoff:
      'Departs from RFC 6298 exponential backoff: during real congestion or outages thin flows retransmit more often than standard TCP would.',
    counters: ['netstat.TcpExt.TCPTimeouts'],
    related: ['net.ipv4.tcp_early_retrans', 'net.ipv4.tcp_rto_min_us'],
    sources: [doc('tcp_thin_linear_timeouts'), 'Documentation/networking/tcp-thin.rst'],
  },

  // ───────────────────────────── closing, TIME-WAIT, orphans ─────────────────────────────
  {
    key: 'net.ipv4.tcp_fin_timeout',
    domain: 'tcp',
    type: 'int',
    unit: 'seconds',
    range: { max: HZ_MAX },
    scope: 'netns',
    default: '60',
    summary:
      'Seconds an orphaned connection (already closed by the application) may wait in FIN-WAIT-2 for the peer\'s FIN before the kernel drops it; TCP_LINGER2 overrides it per socket. It does not change the TIME-WAIT period, which is fixed at 60 s.',
    tradeoff:
      'Lower values free orphans whose peers never finish closing; too low can reset peers that are still sending their last data. Values above 60 s keep such sockets as full sockets rather than light timewait entries.',
    counters: ['sockstat.TCP.orphan', 'sockstat.TCP.tw'],
    related: ['net.ipv4.tcp_max_orphans', 'net.ipv4.tcp_orphan_retries', 'net.ipv4.tcp_max_tw_buckets'],
    sources: [doc('tcp_fin_timeout'), 'include/net/tcp.h (TCP_TIMEWAIT_LEN, TCP_FIN_TIMEOUT)'],
  },
  {
    key: 'net.ipv4.tcp_max_orphans',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    scope: 'global',
    default: null,
    default_note:
      'Established-hash buckets / 2, set once at boot: 131072 on this 24 GB machine (262144 buckets). One value for the whole machine, writable only from the initial namespace.',
    summary:
      'Machine-wide maximum of orphaned TCP sockets, those closed by the application but still finishing their shutdown; beyond it new orphans are reset immediately and "too many orphaned sockets" is logged. It is a safety net against denial of service, not a tuning target.',
    tradeoff:
      'Each orphan can pin send-buffer memory that cannot be swapped; lowering the limit produces abrupt resets of connections whose final data is still in flight, so raise it with memory instead of lowering it.',
    counters: ['sockstat.TCP.orphan', 'netstat.TcpExt.TCPAbortOnMemory'],
    related: ['net.ipv4.tcp_orphan_retries', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_mem', 'net.ipv4.tcp_ehash_entries'],
    sources: [doc('tcp_max_orphans'), 'net/ipv4/tcp.c (tcp_init)'],
  },
  {
    key: 'net.ipv4.tcp_max_tw_buckets',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    scope: 'netns',
    default: null,
    default_note:
      'Established-hash buckets / 2: 131072 on this 24 GB machine. A namespace with its own hash table (tcp_child_ehash_entries) uses half of that table\'s size.',
    summary:
      'Maximum number of TIME-WAIT entries (including FIN-WAIT-2 orphans parked as timewait entries) in this namespace; beyond it a closing connection gets no TIME-WAIT entry at all and is simply destroyed, and the overflow is counted.',
    tradeoff:
      'Entries are small mini-sockets (a few hundred bytes). Lowering the limit to make TIME-WAIT counts look tidy removes the protection against stale duplicate segments; raise it if TCPTimeWaitOverflow grows.',
    counters: ['netstat.TcpExt.TCPTimeWaitOverflow', 'sockstat.TCP.tw'],
    related: ['net.ipv4.tcp_tw_reuse', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_ehash_entries'],
    sources: [doc('tcp_max_tw_buckets'), 'net/ipv4/tcp_ipv4.c (tcp_set_hashinfo)'],
  },
  {
    key: 'net.ipv4.tcp_tw_reuse',
    domain: 'tcp',
    type: 'enum',
    unit: 'none',
    values: [
      { value: '0', meaning: 'never reuse TIME-WAIT entries' },
      { value: '1', meaning: 'reuse for all outgoing connections' },
      { value: '2', meaning: 'reuse only for loopback connections (default)' },
    ],
    scope: 'netns',
    default: '2',
    default_note:
      'Mode 2 and the current default came with commit 79e9fed46038 ("net-tcp: extend tcp_tw_reuse sysctl to enable loopback only optimization", 2018); before it the knob was a boolean defaulting to 0.',
    summary:
      'Lets an outgoing connect() take over a 4-tuple still in TIME-WAIT when TCP timestamps make it safe: the old connection\'s last timestamp must be at least tcp_tw_reuse_delay old. It never affects the accepting side of connections.',
    tradeoff:
      '1 helps hosts that open many short outgoing connections to the same destination (proxies, load generators) avoid ephemeral-port exhaustion; it relies on timestamps and PAWS at both ends, so keep 2 unless ports really run out.',
    counters: ['netstat.TcpExt.TWRecycled', 'sockstat.TCP.tw'],
    related: ['net.ipv4.tcp_timestamps', 'net.ipv4.tcp_tw_reuse_delay', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_max_tw_buckets'],
    sources: [doc('tcp_tw_reuse'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_tw_reuse_delay',
    domain: 'tcp',
    type: 'int',
    unit: 'milliseconds',
    range: { min: 1, max: 60000 },
    scope: 'netns',
    default: '1000',
    summary:
      'Milliseconds that must have passed since a TIME-WAIT entry last received a timestamp before tcp_tw_reuse may hand its 4-tuple to a new outgoing connection.',
    tradeoff:
      'Lower values allow faster port reuse, but must not be shorter than the peer\'s timestamp clock tick, or PAWS at the peer may drop the new connection\'s segments.',
    counters: ['netstat.TcpExt.TWRecycled'],
    related: ['net.ipv4.tcp_tw_reuse', 'net.ipv4.tcp_timestamps'],
    sources: [doc('tcp_tw_reuse_delay'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_tw_recycle',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    default_note: 'Defaulted to 0 while it existed; the key no longer exists on 4.12 and later.',
    removed_in: '4.12',
    summary:
      'Enabled fast recycling of TIME-WAIT entries based on per-peer timestamps. It dropped connections from clients behind NAT, whose timestamps are not monotonic, and became unusable once timestamps got random per-connection offsets, so it was removed in Linux 4.12.',
    tradeoff:
      'Setting it fails on current kernels (unknown key); on old kernels it silently dropped SYNs from NATed clients. Use tcp_tw_reuse instead.',
    counters: [],
    related: ['net.ipv4.tcp_tw_reuse', 'net.ipv4.tcp_timestamps'],
    sources: ['commit 4396e46187ca ("tcp: remove tcp_tw_recycle", Linux 4.12)'],
  },
  {
    key: 'net.ipv4.tcp_rfc1337',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'Decides what a TIME-WAIT entry does with an incoming RST: with 0 the entry is destroyed at once ("TIME-WAIT assassination"), with 1 the RST is ignored and TIME-WAIT runs its full 60 s as RFC 1337 recommends.',
    tradeoff:
      '1 protects a later connection on the same 4-tuple from old duplicate segments, at the cost of keeping that 4-tuple blocked for the whole TIME-WAIT even when the peer resets it.',
    counters: [],
    related: ['net.ipv4.tcp_tw_reuse', 'net.ipv4.tcp_max_tw_buckets'],
    sources: [doc('tcp_rfc1337'), 'RFC 1337', 'net/ipv4/tcp_minisocks.c (tcp_timewait_state_process)'],
  },

  // ───────────────────────────── memory and buffers ─────────────────────────────
  {
    key: 'net.ipv4.tcp_rmem',
    domain: 'tcp',
    type: 'int_vector',
    fields: ['min', 'default', 'max'],
    unit: 'bytes',
    field_ranges: [{ min: 1 }, { min: 1 }, { min: 1 }],
    scope: 'netns',
    default: null,
    default_note:
      'min = one page (4096), default = 131072, max = the smaller of 32 MiB and 1/128 of the buffer memory free at boot, but at least 131072: 33554432 on this 24 GB 6.18 machine. Kernels before 6.16 capped max at 6 MiB (6291456). A new network namespace copies the initial namespace\'s current values.',
    changes: [
      {
        version: '4.20',
        from: '87380',
        to: '131072',
        note: 'default field raised, giving an initial receive window of about 64 KiB (commit a337531b942b, "tcp: up initial rmem to 128KB and SYN rwin to around 64KB").',
      },
      {
        version: '6.16',
        from: '6291456',
        to: '33554432',
        note: 'cap of the computed max field raised from 6 MiB to 32 MiB ("tcp: increase tcp_rmem[2] to 32 MB").',
      },
    ],
    summary:
      'Receive buffer sizes in bytes for TCP sockets: min is guaranteed even under memory pressure, default is the initial buffer of every new socket (overriding net.core.rmem_default), and max bounds receive autotuning. Autotuning (tcp_moderate_rcvbuf) grows a socket up to max regardless of net.core.rmem_max, which only caps explicit SO_RCVBUF requests; SO_RCVBUF also switches autotuning off for that socket.',
    tradeoff:
      'A max below the path\'s bandwidth-delay product (plus per-packet overhead) caps single-flow throughput on long or fast paths; a large max lets many slow readers pin memory, bounded overall by tcp_mem.',
    counters: [
      'netstat.TcpExt.TCPRcvQDrop',
      'netstat.TcpExt.PruneCalled',
      'netstat.TcpExt.RcvPruned',
      'netstat.TcpExt.TCPRcvCollapsed',
      'netstat.TcpExt.TCPZeroWindowDrop',
    ],
    related: ['net.ipv4.tcp_mem', 'net.ipv4.tcp_moderate_rcvbuf', 'net.ipv4.tcp_window_scaling', 'net.core.rmem_max', 'net.core.rmem_default', 'net.ipv4.tcp_wmem'],
    sources: [doc('tcp_rmem'), 'net/ipv4/tcp.c (tcp_init)', SK_INIT],
  },
  {
    key: 'net.ipv4.tcp_wmem',
    domain: 'tcp',
    type: 'int_vector',
    fields: ['min', 'default', 'max'],
    unit: 'bytes',
    field_ranges: [{ min: 1 }, { min: 1 }, { min: 1 }],
    scope: 'netns',
    default: null,
    default_note:
      'min = one page (4096), default = 16384, max = the smaller of 4 MiB and 1/128 of the buffer memory free at boot, but at least 64 KiB: 4194304 on this 24 GB machine. A new network namespace copies the initial namespace\'s current values.',
    summary:
      'Send buffer sizes in bytes for TCP sockets: min is what every socket may always queue, default is the initial send buffer (overriding net.core.wmem_default), and max bounds send-buffer autotuning. SO_SNDBUF switches autotuning off for that socket and is capped by net.core.wmem_max instead.',
    tradeoff:
      'A max below the bandwidth-delay product limits a bulk sender on long paths; a large max lets applications park more unsent data in kernel memory (bounded by tcp_mem, trimmed by tcp_notsent_lowat), adding latency for their own later writes.',
    counters: ['netstat.TcpExt.TCPWqueueTooBig', 'sockstat.TCP.mem', 'netstat.TcpExt.TCPMemoryPressures'],
    related: ['net.ipv4.tcp_mem', 'net.ipv4.tcp_notsent_lowat', 'net.core.wmem_max', 'net.core.wmem_default', 'net.ipv4.tcp_rmem'],
    sources: [doc('tcp_wmem'), 'net/ipv4/tcp.c (tcp_init)', SK_INIT],
  },
  {
    key: 'net.ipv4.tcp_mem',
    domain: 'tcp',
    type: 'int_vector',
    fields: ['low', 'pressure', 'high'],
    unit: 'pages',
    field_ranges: [{ min: 0 }, { min: 0 }, { min: 0 }],
    scope: 'global',
    default: null,
    default_note:
      'Computed at boot from the buffer memory then free (nr_free_buffer_pages): pressure = 1/16 of it (at least 128 pages), low = 3/4 of pressure, high = 2 × low, i.e. about 4.7 %, 6.25 % and 9.4 % of memory. This 24 GB VM shows 287898 383866 575796 pages (about 1.10, 1.46 and 2.20 GiB with 4 KiB pages).',
    summary:
      'Machine-wide limits, in pages (not bytes), on memory used by all TCP sockets together: below low TCP does not restrain itself, above pressure it enters memory-pressure mode and shrinks buffers until usage drops under low again, and high is the hard ceiling beyond which socket buffer allocations fail. There is one copy for the whole machine, writable only from the initial namespace.',
    tradeoff:
      'Too low causes drops, collapsed receive queues and "out of memory -- consider tuning tcp_mem" aborts under load; too high lets socket buffers crowd out page cache and applications. Byte values copied from tuning guides are 4096 times too big when written here.',
    counters: [
      'sockstat.TCP.mem',
      'netstat.TcpExt.TCPMemoryPressures',
      'netstat.TcpExt.TCPMemoryPressuresChrono',
      'netstat.TcpExt.TCPAbortOnMemory',
      'netstat.TcpExt.PruneCalled',
    ],
    related: ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'net.ipv4.tcp_max_orphans', 'net.ipv4.udp_mem'],
    sources: [doc('tcp_mem'), 'net/ipv4/tcp.c (tcp_init_mem)', 'net/ipv4/tcp_ipv4.c (tcp_prot.sysctl_mem)'],
  },
  {
    key: 'net.ipv4.tcp_moderate_rcvbuf',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'Enables receive-buffer autotuning: each socket\'s receive buffer grows, up to tcp_rmem[2], to match what the connection delivers per round trip, so applications need not size SO_RCVBUF themselves.',
    tradeoff:
      'Off, every socket keeps tcp_rmem[1] (or its SO_RCVBUF), which limits throughput on long paths; on, a few fast flows may each grow to tcp_rmem[2].',
    counters: ['netstat.TcpExt.TCPRcvQDrop', 'netstat.TcpExt.PruneCalled'],
    related: ['net.ipv4.tcp_rmem', 'net.core.rmem_max'],
    sources: [doc('tcp_moderate_rcvbuf')],
  },
  {
    key: 'net.ipv4.tcp_adv_win_scale',
    domain: 'tcp',
    type: 'int',
    unit: 'none',
    range: { min: -31, max: 31 },
    scope: 'netns',
    default: '1',
    changes: [
      {
        version: '6.6',
        note: 'Obsolete: TCP now derives the window-to-buffer ratio per socket from the payload-to-memory ratio of the packets it actually receives; the value is still accepted but no longer used.',
      },
    ],
    summary:
      'Formerly set how much of the receive buffer counted as overhead instead of window: bytes/2^n for n > 0, bytes − bytes/2^−n for n ≤ 0 (1 = half the buffer advertised). Since Linux 6.6 it has no effect.',
    tradeoff: 'Nothing on 6.6 and later; on older kernels a higher value advertised a smaller share of the buffer as window.',
    counters: [],
    related: ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_app_win'],
    sources: [doc('tcp_adv_win_scale'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_app_win',
    domain: 'tcp',
    type: 'int',
    unit: 'none',
    range: { min: 0, max: 31 },
    scope: 'netns',
    default: '31',
    summary:
      'Holds back 1/2^tcp_app_win of the maximum receive window for the application\'s own buffering instead of advertising it (never clamping the window below 4 MSS); 0 disables the reservation. With the default 31 essentially nothing is held back.',
    tradeoff: 'Small values advertise less window than the buffer could hold and cost throughput; there is rarely a reason to change it.',
    counters: [],
    related: ['net.ipv4.tcp_adv_win_scale', 'net.ipv4.tcp_rmem'],
    sources: [doc('tcp_app_win'), 'net/ipv4/tcp_input.c (tcp_init_buffer_space)'],
  },
  {
    key: 'net.ipv4.tcp_notsent_lowat',
    domain: 'tcp',
    type: 'int',
    unit: 'bytes',
    range: { min: 0, max: 4294967295 },
    scope: 'netns',
    default: '4294967295',
    summary:
      'Limit on bytes written to a socket but not yet sent, for sockets that do not set TCP_NOTSENT_LOWAT: poll/epoll report the socket writable only while unsent data is below it, and sendmsg stops queueing once it is reached. The default UINT_MAX means only the send buffer limits it; changes apply at once to such sockets.',
    tradeoff:
      'A small value (16–128 KiB) keeps stale data from piling up in the kernel, so HTTP/2 prioritisation and latency-sensitive writes are not stuck behind megabytes and memory use drops; it costs more wake-ups and can reduce throughput if set below what the path needs.',
    counters: [],
    related: ['net.ipv4.tcp_wmem', 'net.ipv4.tcp_limit_output_bytes'],
    sources: [doc('tcp_notsent_lowat')],
  },
  {
    key: 'net.ipv4.tcp_shrink_window',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    added_in: '6.5',
    summary:
      'When set, the receiver may retract its advertised window if the socket would otherwise exceed its receive-buffer memory, as RFC 7323 section 2.4 permits; this only happens when a non-zero window scale is in use. When 0 the advertised window never moves backwards.',
    tradeoff:
      'Shrinking protects receiver memory against peers that fill the window with tiny segments, but peers that handle retracted windows poorly may see dropped data and retransmissions.',
    counters: ['netstat.TcpExt.TCPRcvQDrop'],
    related: ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_window_scaling'],
    sources: [doc('tcp_shrink_window'), 'RFC 7323 (section 2.4)', 'commit b650d953cd39 ("tcp: enforce receive buffer memory limits by allowing the tcp window to shrink")'],
  },

  // ───────────────────────────── sending: pacing, TSO, queues ─────────────────────────────
  {
    key: 'net.ipv4.tcp_slow_start_after_idle',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'When set, a connection that has been idle for longer than its retransmission timeout shrinks its congestion window back towards the initial window and slow-starts again (RFC 2861 behaviour).',
    tradeoff:
      'Keeps a burst after idle from flooding a path whose state may have changed; turning it off lets persistent connections (HTTP/2, gRPC, database pools) send the next response at full speed, at the risk of a line-rate burst into a changed path.',
    counters: [],
    related: ['net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_no_metrics_save'],
    sources: [doc('tcp_slow_start_after_idle'), 'RFC 2861'],
  },
  {
    key: 'net.ipv4.tcp_limit_output_bytes',
    domain: 'tcp',
    type: 'int',
    unit: 'bytes',
    scope: 'netns',
    default: '4194304',
    changes: [
      {
        version: '6.16',
        from: '1048576',
        to: '4194304',
        note: 'Default raised to 4 MB ("tcp: increase tcp_limit_output_bytes default value to 4MB"); the same series made the limit apply to paced flows too ("tcp: always use tcp_limit_output_bytes limitation").',
      },
    ],
    summary:
      'TCP Small Queues cap: the most bytes one socket may have queued below TCP (qdisc and NIC) at a time. The per-socket limit is about 1 ms of data at the current pacing rate, capped by this value; once reached, TCP waits for transmit completions before queueing more.',
    tradeoff:
      'Higher values let very fast single flows keep the NIC busy at the cost of longer local queues (bufferbloat for other flows on the host); lower values cut latency but can limit one flow\'s throughput on 100G-class links.',
    counters: [],
    related: ['net.core.default_qdisc', 'net.ipv4.tcp_notsent_lowat', 'net.ipv4.tcp_autocorking', 'net.ipv4.tcp_pacing_ss_ratio'],
    sources: [doc('tcp_limit_output_bytes'), 'net/ipv4/tcp_output.c (tcp_small_queue_check)'],
  },
  {
    key: 'net.ipv4.tcp_autocorking',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'When an application makes consecutive small writes while earlier data of the same flow still waits in the qdisc or NIC queue, TCP holds the new bytes back briefly and merges them into fuller segments, as if TCP_CORK were set until the queue drains.',
    tradeoff:
      'Fewer, fuller packets and less CPU per byte; a small delay for some small-write request/response patterns. Applications that know their message boundaries do better with explicit TCP_CORK.',
    counters: ['netstat.TcpExt.TCPAutoCorking'],
    related: ['net.ipv4.tcp_limit_output_bytes', 'net.ipv4.tcp_notsent_lowat'],
    sources: [doc('tcp_autocorking')],
  },
  {
    key: 'net.ipv4.tcp_pacing_ss_ratio',
    domain: 'tcp',
    type: 'int',
    unit: 'percent',
    range: { min: 0, max: 1000 },
    scope: 'netns',
    default: '200',
    summary:
      'Percentage of the current rate (cwnd × MSS / smoothed RTT) that TCP sets as a socket\'s pacing rate while in slow start, leaving room for the window to keep doubling. Pacing is enforced by the fq qdisc or by TCP\'s internal pacing; congestion controls that set their own rate, such as BBR, ignore it.',
    tradeoff: 'Higher values probe faster but burstier; values near 100 slow down slow start.',
    counters: [],
    related: ['net.ipv4.tcp_pacing_ca_ratio', 'net.core.default_qdisc', 'net.ipv4.tcp_congestion_control'],
    sources: [doc('tcp_pacing_ss_ratio'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_pacing_ca_ratio',
    domain: 'tcp',
    type: 'int',
    unit: 'percent',
    range: { min: 0, max: 1000 },
    scope: 'netns',
    default: '120',
    summary:
      'Percentage of the current rate (cwnd × MSS / smoothed RTT) used as the pacing rate during congestion avoidance, leaving some headroom to probe for more bandwidth. Like tcp_pacing_ss_ratio it matters only when pacing is active and the congestion control does not set its own rate.',
    tradeoff: 'Higher values let queues build faster; values at or below 100 pace below the estimated rate and can leave bandwidth unused.',
    counters: [],
    related: ['net.ipv4.tcp_pacing_ss_ratio', 'net.core.default_qdisc'],
    sources: [doc('tcp_pacing_ca_ratio'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_min_tso_segs',
    domain: 'tcp',
    type: 'int',
    unit: 'packets',
    range: { min: 1, max: 255 },
    scope: 'netns',
    default: '2',
    summary:
      'Minimum number of MSS-sized segments per TSO/GSO packet when TCP sizes those packets from the pacing rate (automatic TSO sizing).',
    tradeoff: 'Higher values save CPU per byte but make slow flows send in bigger bursts.',
    counters: [],
    related: ['net.ipv4.tcp_tso_win_divisor', 'net.ipv4.tcp_tso_rtt_log'],
    sources: [doc('tcp_min_tso_segs'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_tso_win_divisor',
    domain: 'tcp',
    type: 'int',
    unit: 'none',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '3',
    summary:
      'When TCP considers delaying a send to build a larger TSO packet, it sends at once if at least 1/divisor of the congestion (or receive) window can go out. 0 switches to a rule that defers by at most a few segments.',
    tradeoff: 'Smaller divisors wait for bigger TSO packets (less CPU, burstier); larger ones send sooner in smaller chunks.',
    counters: [],
    related: ['net.ipv4.tcp_min_tso_segs', 'net.ipv4.tcp_tso_rtt_log'],
    sources: [doc('tcp_tso_win_divisor'), 'net/ipv4/tcp_output.c (tcp_tso_should_defer)'],
  },
  {
    key: 'net.ipv4.tcp_tso_rtt_log',
    domain: 'tcp',
    type: 'int',
    unit: 'none',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '9',
    added_in: '5.18',
    summary:
      'Lets flows with a tiny minimum RTT build larger TSO packets: the pacing-based size grows by gso_max_size >> (min_rtt_us / 2^tcp_tso_rtt_log), so with 9 (512 µs) flows between nearby hosts get near-maximal packets. 0 restores the older sizing.',
    tradeoff: 'Bigger packets for nearby hosts cut CPU cost; they add burstiness on short but shallow-buffered paths.',
    counters: [],
    related: ['net.ipv4.tcp_min_tso_segs', 'net.ipv4.tcp_min_rtt_wlen'],
    sources: [doc('tcp_tso_rtt_log')],
  },
  {
    key: 'net.ipv4.tcp_retrans_collapse',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'On retransmission TCP may merge several small unacknowledged segments into one larger segment, originally a workaround for buggy peer stacks (printers).',
    tradeoff: 'Fewer packets when retransmitting; turning it off only matters when debugging peers that mishandle merged segments.',
    counters: [],
    related: ['net.ipv4.tcp_recovery'],
    sources: [doc('tcp_retrans_collapse')],
  },

  // ───────────────────────────── loss recovery and reordering ─────────────────────────────
  {
    key: 'net.ipv4.tcp_recovery',
    domain: 'tcp',
    type: 'bitmask',
    unit: 'none',
    values: [
      { value: '0x1', meaning: 'RACK loss detection (always on since 6.17; clearing the bit has no effect)' },
      { value: '0x2', meaning: 'static RACK reordering window of min_rtt/4 instead of an adaptive one' },
      { value: '0x4', meaning: 'disable RACK\'s duplicate-ACK-threshold shortcut' },
    ],
    scope: 'netns',
    default: '1',
    changes: [
      {
        version: '6.17',
        note: 'RFC 6675 (duplicate-ACK counting) loss recovery removed ("tcp: remove obsolete and unused RFC3517/RFC6675 loss recovery code"); RACK is always used.',
      },
    ],
    summary:
      'Bit mask of RACK loss-detection options. RACK (RFC 8985) declares a segment lost when a segment sent later has been acknowledged and a reordering window has passed, rather than counting duplicate ACKs; the shortcut disabled by 0x4 drops that window to zero once tcp_reordering segments are SACKed on a connection that has shown no reordering.',
    tradeoff:
      '0x2 detects loss faster on clean paths but retransmits spuriously where packets reorder; 0x4 waits out the reordering window even when the classic three-duplicate-ACK rule would already fire.',
    counters: ['netstat.TcpExt.TCPLostRetransmit', 'netstat.TcpExt.TCPSACKReorder', 'netstat.TcpExt.TCPFastRetrans'],
    related: ['net.ipv4.tcp_early_retrans', 'net.ipv4.tcp_reordering', 'net.ipv4.tcp_sack', 'net.ipv4.tcp_dsack'],
    sources: [doc('tcp_recovery'), 'RFC 8985', 'net/ipv4/tcp_recovery.c (tcp_rack_reo_wnd)'],
  },
  {
    key: 'net.ipv4.tcp_early_retrans',
    domain: 'tcp',
    type: 'enum',
    unit: 'none',
    values: [
      { value: '0', meaning: 'Tail Loss Probe disabled' },
      { value: '1', meaning: 'accepted for compatibility (old early-retransmit mode); TLP stays off' },
      { value: '2', meaning: 'accepted for compatibility (old delayed early-retransmit mode); TLP stays off' },
      { value: '3', meaning: 'Tail Loss Probe enabled (default)' },
      { value: '4', meaning: 'Tail Loss Probe enabled (same as 3 on current kernels)' },
    ],
    scope: 'netns',
    default: '3',
    summary:
      'Controls Tail Loss Probe (RFC 8985): when the last segments of a flight get no acknowledgment, TCP resends one probe after about two RTTs so the loss is repaired by fast recovery instead of a full retransmission timeout. TLP relies on RACK (tcp_recovery).',
    tradeoff:
      'TLP costs at most one extra segment per tail episode and turns a ≥200 ms timeout into roughly two RTTs of delay; disabling it only makes sense for experiments.',
    counters: ['netstat.TcpExt.TCPLossProbes', 'netstat.TcpExt.TCPLossProbeRecovery'],
    related: ['net.ipv4.tcp_recovery', 'net.ipv4.tcp_rto_min_us'],
    sources: [doc('tcp_early_retrans'), 'RFC 8985', 'net/ipv4/tcp_output.c (tcp_schedule_loss_probe)', SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_frto',
    domain: 'tcp',
    type: 'enum',
    unit: 'none',
    values: [
      { value: '0', meaning: 'F-RTO disabled' },
      { value: '1', meaning: 'F-RTO enabled' },
      { value: '2', meaning: 'F-RTO enabled (default; historically the SACK-enhanced variant)' },
    ],
    scope: 'netns',
    default: '2',
    summary:
      'Forward RTO-Recovery (RFC 5682): after a retransmission timeout TCP checks whether the following ACKs show the timeout was spurious (a delay spike rather than loss) and, if so, undoes the window reduction. Any non-zero value enables it.',
    tradeoff: 'Helps on paths with RTT spikes (wireless, virtualised hosts); it is sender-side only and cheap, so there is little reason to disable it.',
    counters: ['netstat.TcpExt.TCPSpuriousRTOs', 'netstat.TcpExt.TCPTimeouts'],
    related: ['net.ipv4.tcp_recovery', 'net.ipv4.tcp_rto_min_us'],
    sources: [doc('tcp_frto'), 'RFC 5682'],
  },
  {
    key: 'net.ipv4.tcp_reordering',
    domain: 'tcp',
    type: 'int',
    unit: 'packets',
    range: { min: 1 },
    scope: 'netns',
    default: '3',
    summary:
      'Initial estimate, in packets, of how much a path reorders (the classic duplicate-ACK threshold). TCP raises a connection\'s estimate when it sees reordering, up to tcp_max_reordering; the value cannot be set above tcp_max_reordering.',
    tradeoff:
      'Higher starting values avoid spurious fast retransmits on paths known to reorder but delay loss recovery everywhere; with RACK the learned reordering window matters more than this seed.',
    counters: ['netstat.TcpExt.TCPSACKReorder', 'netstat.TcpExt.TCPTSReorder', 'netstat.TcpExt.TCPRenoReorder', 'netstat.TcpExt.TCPDSACKRecv'],
    related: ['net.ipv4.tcp_max_reordering', 'net.ipv4.tcp_recovery', 'net.ipv4.tcp_dsack'],
    sources: [doc('tcp_reordering'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_max_reordering',
    domain: 'tcp',
    type: 'int',
    unit: 'packets',
    range: { min: 1 },
    scope: 'netns',
    default: '300',
    summary: 'Upper bound, in packets, on the per-connection reordering estimate TCP may learn.',
    tradeoff:
      'Raise it only for paths with heavy reordering (bonding in round-robin mode, per-packet load balancing); a higher bound lets connections wait longer before declaring loss.',
    counters: ['netstat.TcpExt.TCPSACKReorder'],
    related: ['net.ipv4.tcp_reordering'],
    sources: [doc('tcp_max_reordering'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_min_rtt_wlen',
    domain: 'tcp',
    type: 'int',
    unit: 'seconds',
    range: { min: 0, max: 86400 },
    scope: 'netns',
    default: '300',
    summary:
      'Length, in seconds, of the windowed-minimum filter that tracks each connection\'s minimum RTT (used by RACK, TSO sizing and some congestion controls). A shorter window adopts a new, higher minimum sooner after a route change; a longer one resists RTT inflation from transient queues.',
    tradeoff: 'Too short lets standing queues masquerade as path delay; too long keeps an outdated minimum after rerouting.',
    counters: [],
    related: ['net.ipv4.tcp_recovery', 'net.ipv4.tcp_tso_rtt_log'],
    sources: [doc('tcp_min_rtt_wlen'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_comp_sack_delay_ns',
    domain: 'tcp',
    type: 'int',
    unit: 'nanoseconds',
    range: { min: 0 },
    scope: 'netns',
    default: '1000000',
    summary:
      'Upper bound, in nanoseconds, on how long a receiver may hold back ACKs carrying SACK blocks so several can be replaced by one (SACK compression); the delay used is 5 % of the smoothed RTT, capped by this value (1 ms by default).',
    tradeoff: 'Fewer ACKs during loss or reordering saves CPU and bandwidth at both ends; longer delays slow the sender\'s loss recovery.',
    counters: ['netstat.TcpExt.TCPAckCompressed'],
    related: ['net.ipv4.tcp_comp_sack_nr', 'net.ipv4.tcp_comp_sack_slack_ns', 'net.ipv4.tcp_sack'],
    sources: [doc('tcp_comp_sack_delay_ns')],
  },
  {
    key: 'net.ipv4.tcp_comp_sack_slack_ns',
    domain: 'tcp',
    type: 'int',
    unit: 'nanoseconds',
    range: { min: 0 },
    scope: 'netns',
    default: '100000',
    default_note: '100000 ns (100 µs) on 6.18; newer upstream code lowers the default to 10000 ns (10 µs).',
    summary:
      'Slack, in nanoseconds, allowed when arming the SACK-compression timer, so its expiry can be batched with other timers to save interrupts and gives small-RTT flows a little extra time.',
    tradeoff: 'More slack means fewer timer interrupts but less precise ACK timing; very large values can reduce goodput.',
    counters: ['netstat.TcpExt.TCPAckCompressed'],
    related: ['net.ipv4.tcp_comp_sack_delay_ns', 'net.ipv4.tcp_comp_sack_nr'],
    sources: [doc('tcp_comp_sack_slack_ns')],
  },
  {
    key: 'net.ipv4.tcp_comp_sack_nr',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '44',
    summary: 'Maximum number of SACK-carrying ACKs that SACK compression may fold together before one is sent anyway; 0 disables SACK compression.',
    tradeoff: 'Lower values give the sender more timely loss information at the cost of more ACK packets.',
    counters: ['netstat.TcpExt.TCPAckCompressed'],
    related: ['net.ipv4.tcp_comp_sack_delay_ns', 'net.ipv4.tcp_sack'],
    sources: [doc('tcp_comp_sack_nr'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_challenge_ack_limit',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    scope: 'netns',
    default: '2147483647',
    changes: [
      {
        version: '6.0',
        from: '1000',
        to: '2147483647',
        note: 'Made per network namespace and effectively disabled ("tcp: make global challenge ack rate limitation per net-ns and default disabled"); also backported to stable kernels.',
      },
    ],
    summary:
      'Per-namespace cap on challenge ACKs (RFC 5961) sent per second in reply to suspicious in-window RST or SYN segments. The default INT_MAX means no shared cap; each socket still rate-limits its own challenge ACKs with tcp_invalid_ratelimit.',
    tradeoff:
      'A finite shared budget is a side channel that lets off-path attackers infer connections (CVE-2016-5696), which is why it is off by default; set it only if challenge-ACK floods are a proven problem.',
    counters: ['netstat.TcpExt.TCPChallengeACK', 'netstat.TcpExt.TCPSYNChallenge'],
    related: ['net.ipv4.tcp_invalid_ratelimit'],
    sources: [doc('tcp_challenge_ack_limit'), 'RFC 5961', SK_INIT],
  },
  {
    key: 'net.ipv4.tcp_invalid_ratelimit',
    domain: 'tcp',
    type: 'int',
    unit: 'milliseconds',
    range: { min: 0 },
    scope: 'netns',
    default: '500',
    summary:
      'Minimum gap, in milliseconds, between duplicate ACKs a socket sends in reply to invalid segments (out-of-window sequence or ACK numbers, PAWS failures), which stops a middlebox or two confused endpoints from sustaining an endless ACK loop. 0 disables the limit.',
    tradeoff: 'Lower values answer legitimate out-of-window probes sooner but allow more ACK traffic under attack.',
    counters: [
      'netstat.TcpExt.TCPACKSkippedSeq',
      'netstat.TcpExt.TCPACKSkippedPAWS',
      'netstat.TcpExt.TCPACKSkippedSynRecv',
      'netstat.TcpExt.TCPACKSkippedChallenge',
    ],
    related: ['net.ipv4.tcp_challenge_ack_limit'],
    sources: [doc('tcp_invalid_ratelimit')],
  },

  // ───────────────────────────── path MTU ─────────────────────────────
  {
    key: 'net.ipv4.tcp_mtu_probing',
    domain: 'tcp',
    type: 'enum',
    unit: 'none',
    values: [
      { value: '0', meaning: 'disabled' },
      { value: '1', meaning: 'enabled only after an ICMP black hole is suspected' },
      { value: '2', meaning: 'always enabled, starting from tcp_base_mss' },
    ],
    scope: 'netns',
    default: '0',
    summary:
      'Packetization-layer path MTU discovery (RFC 4821): TCP finds the usable MTU by probing with larger segments instead of relying on ICMP "fragmentation needed" messages. Mode 1 turns it on for a connection after repeated timeouts suggest an ICMP black hole (see tcp_retries1); mode 2 uses it on every connection.',
    tradeoff:
      'Mode 1 is a safe fix where ICMP is filtered (tunnels, VPNs, some clouds), at the cost of a stall before the MSS drops; mode 2 starts every connection at a reduced MSS until probes succeed, wasting some efficiency on healthy paths.',
    counters: ['netstat.TcpExt.TCPMTUPFail', 'netstat.TcpExt.TCPMTUPSuccess'],
    related: ['net.ipv4.tcp_base_mss', 'net.ipv4.tcp_mtu_probe_floor', 'net.ipv4.tcp_probe_interval', 'net.ipv4.tcp_retries1', 'net.ipv4.ip_no_pmtu_disc'],
    sources: [doc('tcp_mtu_probing'), 'RFC 4821'],
  },
  {
    key: 'net.ipv4.tcp_base_mss',
    domain: 'tcp',
    type: 'int',
    unit: 'bytes',
    scope: 'netns',
    default: '1024',
    summary:
      'MSS from which packetization-layer MTU probing starts its search (search_low): connections begin at it with tcp_mtu_probing=2, and after repeated black-hole timeouts the search floor is cut to at most this value.',
    tradeoff: 'Lower values survive paths with small MTUs but waste bandwidth until probing raises the MSS; 1024 suits almost all paths.',
    counters: ['netstat.TcpExt.TCPMTUPFail', 'netstat.TcpExt.TCPMTUPSuccess'],
    related: ['net.ipv4.tcp_mtu_probing', 'net.ipv4.tcp_mtu_probe_floor', 'net.ipv4.tcp_min_snd_mss'],
    sources: [doc('tcp_base_mss'), 'net/ipv4/tcp_timer.c (tcp_mtu_probing)', SK_INIT],
  },
  {
    key: 'net.ipv4.tcp_mtu_probe_floor',
    domain: 'tcp',
    type: 'int',
    unit: 'bytes',
    range: { min: 48, max: 65535 },
    scope: 'netns',
    default: '48',
    summary: 'Lowest MSS that MTU probing may fall back to when it keeps halving its search floor after black-hole timeouts.',
    tradeoff:
      'Raising it (e.g. to 536 or 1200) prevents connections degrading to tiny segments after spurious timeouts; a path that really needs less would then stay broken.',
    counters: ['netstat.TcpExt.TCPMTUPFail'],
    related: ['net.ipv4.tcp_base_mss', 'net.ipv4.tcp_mtu_probing', 'net.ipv4.tcp_min_snd_mss'],
    sources: [doc('tcp_mtu_probe_floor'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_probe_interval',
    domain: 'tcp',
    type: 'int',
    unit: 'seconds',
    range: { min: 0, max: 4294967 },
    scope: 'netns',
    default: '600',
    summary: 'Seconds after which packetization-layer MTU probing tries again for a larger MTU on a long-lived connection (RFC 4821 suggests 10 minutes).',
    tradeoff: 'Shorter intervals notice a larger path MTU sooner at the cost of more probe segments that may be lost.',
    counters: ['netstat.TcpExt.TCPMTUPSuccess', 'netstat.TcpExt.TCPMTUPFail'],
    related: ['net.ipv4.tcp_mtu_probing', 'net.ipv4.tcp_probe_threshold'],
    sources: [doc('tcp_probe_interval'), 'RFC 4821', SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_probe_threshold',
    domain: 'tcp',
    type: 'int',
    unit: 'bytes',
    scope: 'netns',
    default: '8',
    summary: 'MTU probing stops once the remaining search range between the known-good and known-bad sizes is smaller than this many bytes.',
    tradeoff: 'Larger values finish probing sooner with a slightly less exact MTU.',
    counters: [],
    related: ['net.ipv4.tcp_mtu_probing', 'net.ipv4.tcp_probe_interval'],
    sources: [doc('tcp_probe_threshold')],
  },

  // ───────────────────────────── per-destination metrics cache ─────────────────────────────
  {
    key: 'net.ipv4.tcp_no_metrics_save',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'When set, closing connections do not store their RTT, RTT variance, reordering and (if enabled) ssthresh in the per-destination TCP metrics cache (ip tcp_metrics), so new connections to that host start from defaults.',
    tradeoff:
      'Saved metrics give later connections better initial timeouts, but one bad connection (e.g. during congestion) can poison them; set it, or flush with "ip tcp_metrics flush", for benchmarks or when stale metrics hurt.',
    counters: [],
    related: ['net.ipv4.tcp_no_ssthresh_metrics_save', 'net.ipv4.tcp_max_syn_backlog'],
    sources: [doc('tcp_no_metrics_save')],
  },
  {
    key: 'net.ipv4.tcp_no_ssthresh_metrics_save',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'When set (the default) the TCP metrics cache does not save the slow-start threshold, so one past congestion episode does not make new connections to that destination leave slow start early.',
    tradeoff: 'Clearing it lets new connections reuse a learned ssthresh, which can avoid overshoot on known-narrow paths but often caps them needlessly after a transient loss.',
    counters: [],
    related: ['net.ipv4.tcp_no_metrics_save'],
    sources: [doc('tcp_no_ssthresh_metrics_save'), SYSCTL_C],
  },

  // ───────────────────────────── ACK behaviour ─────────────────────────────
  {
    key: 'net.ipv4.tcp_backlog_ack_defer',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'While a user thread processes the packets that queued in a socket\'s backlog while it held the socket lock, TCP sends one ACK for the whole batch instead of ACKing as it goes, avoiding long latencies at the end of a system call.',
    tradeoff: 'Fewer ACKs and less time in the release path; turning it off only helps peers that need more frequent ACKs during such bursts.',
    counters: [],
    related: ['net.ipv4.tcp_pingpong_thresh', 'net.ipv4.tcp_comp_sack_nr'],
    sources: [doc('tcp_backlog_ack_defer'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_pingpong_thresh',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 1, max: 255 },
    scope: 'netns',
    default: '1',
    summary:
      'Number of estimated request/response exchanges after which TCP treats a connection as interactive ("ping-pong") and delays ACKs so they can ride on the replies.',
    tradeoff:
      'Higher values keep immediate ACKs longer on connections that only sometimes answer, avoiding delayed-ACK stalls for some request patterns; lower values save ACK packets.',
    counters: ['netstat.TcpExt.DelayedACKs'],
    related: ['net.ipv4.tcp_backlog_ack_defer'],
    sources: [doc('tcp_pingpong_thresh'), SYSCTL_C],
  },

  // ───────────────────────────── hash tables and namespaces ─────────────────────────────
  {
    key: 'net.ipv4.tcp_ehash_entries',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    scope: 'netns',
    default: null,
    default_note:
      'Sized at boot at about one bucket per 128 KiB of memory, rounded up to a power of two and capped at 524288 unless the thash_entries= boot parameter is given: 262144 on this 24 GB machine. A child namespace sharing that table reads it as negative (-262144 here).',
    summary:
      'Read-only number of buckets in this namespace\'s hash table of established and TIME-WAIT TCP sockets. Its size sets the defaults of tcp_max_tw_buckets (half), tcp_max_orphans (half, machine-wide) and tcp_max_syn_backlog (1/128, at least 128).',
    tradeoff:
      'Cannot be changed at run time; a table much smaller than the number of concurrent connections lengthens lookups. Use thash_entries= at boot, or tcp_child_ehash_entries for new namespaces.',
    counters: ['sockstat.TCP.inuse', 'sockstat.TCP.tw'],
    related: ['net.ipv4.tcp_child_ehash_entries', 'net.ipv4.tcp_max_tw_buckets', 'net.ipv4.tcp_max_syn_backlog', 'net.ipv4.tcp_max_orphans'],
    sources: [doc('tcp_ehash_entries'), 'net/ipv4/tcp.c (tcp_init: alloc_large_system_hash "TCP established")'],
  },
  {
    key: 'net.ipv4.tcp_child_ehash_entries',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 16777216 },
    scope: 'netns',
    default: '0',
    summary:
      'Size of a private established-socket hash table for network namespaces created from this one afterwards (rounded up to a power of two); 0 makes new namespaces share the initial namespace\'s table. It must be set before clone() or unshare().',
    tradeoff:
      'A private table isolates lookup cost between containers and scales their tcp_max_tw_buckets and tcp_max_syn_backlog defaults with it, at the cost of memory per namespace; if the allocation fails the namespace falls back to the shared table with a kernel warning.',
    counters: [],
    related: ['net.ipv4.tcp_ehash_entries', 'net.ipv4.tcp_max_tw_buckets', 'net.ipv4.tcp_max_syn_backlog'],
    sources: [doc('tcp_child_ehash_entries'), SYSCTL_C],
  },

  // ───────────────────────────── routing, marks, VRF ─────────────────────────────
  {
    key: 'net.ipv4.tcp_early_demux',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'Looks up the established TCP socket for an incoming packet early in IP receive processing, so the route cached in the socket can be reused instead of a full routing lookup per packet. It only acts while net.ipv4.ip_early_demux is also on.',
    tradeoff: 'Saves a route lookup per packet on hosts that terminate connections; pure routers pay an extra socket lookup per forwarded packet and may turn it off.',
    counters: [],
    related: ['net.ipv4.ip_early_demux', 'net.ipv4.udp_early_demux'],
    sources: [doc('tcp_early_demux'), 'net/ipv4/ip_input.c (ip_rcv_finish_core)'],
  },
  {
    key: 'net.ipv4.tcp_fwmark_accept',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'When set, a connection accepted on a listener without SO_MARK takes the firewall mark (fwmark) of the incoming SYN, so all its packets from the SYN-ACK on carry that mark for policy routing.',
    tradeoff: 'Useful for mark-based routing of replies (multi-homing, VPN gateways); unnecessary otherwise.',
    counters: [],
    related: ['net.ipv4.tcp_l3mdev_accept', 'net.ipv4.tcp_reflect_tos'],
    sources: [doc('tcp_fwmark_accept')],
  },
  {
    key: 'net.ipv4.tcp_reflect_tos',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'When set, connections accepted by a listener send with the DSCP value of the client\'s SYN, so both directions use the same traffic class; applies to IPv4 and IPv6.',
    tradeoff: 'Matches the client\'s QoS marking without application changes; it also lets clients choose the class of the server\'s replies.',
    counters: [],
    related: ['net.ipv4.tcp_fwmark_accept'],
    sources: [doc('tcp_reflect_tos'), SYSCTL_C],
  },
  {
    key: 'net.ipv4.tcp_l3mdev_accept',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'Lets a listener that is not bound to a VRF accept connections arriving through any L3 master device (VRF); each accepted socket is bound to the VRF its SYN came from. Requires CONFIG_NET_L3_MASTER_DEV.',
    tradeoff: 'Convenient for services that must answer in every VRF, but weakens VRF isolation for such listeners; irrelevant without VRFs.',
    counters: [],
    related: ['net.ipv4.tcp_fwmark_accept'],
    sources: [doc('tcp_l3mdev_accept'), SYSCTL_C],
  },

  // ───────────────────────────── Protective Load Balancing ─────────────────────────────
  {
    key: 'net.ipv4.tcp_plb_enabled',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'Protective Load Balancing: when the congestion control supports it (e.g. DCTCP) and sees sustained ECN congestion over several rounds, TCP changes the socket\'s transmit hash, which changes the IPv6 flow label so ECMP/WCMP switches may move the flow to another path. It has no effect on IPv4 headers.',
    tradeoff:
      'Can steer flows away from hot links in datacenter fabrics that hash on the flow label; repathing can reorder packets, and it does nothing without ECN marking and flow-label hashing.',
    counters: ['netstat.TcpExt.TCPPLBRehash'],
    related: [
      'net.ipv4.tcp_plb_rehash_rounds',
      'net.ipv4.tcp_plb_idle_rehash_rounds',
      'net.ipv4.tcp_plb_suspend_rto_sec',
      'net.ipv4.tcp_plb_cong_thresh',
      'net.ipv4.tcp_ecn',
      'net.ipv6.auto_flowlabels',
    ],
    sources: [doc('tcp_plb_enabled'), 'PLB paper, SIGCOMM 2022 (doi:10.1145/3544216.3544226)'],
  },
  {
    key: 'net.ipv4.tcp_plb_rehash_rounds',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 31 },
    scope: 'netns',
    default: '12',
    summary: 'Consecutive congested rounds (RTTs) after which PLB forces a rehash even though packets are in flight (N in the PLB paper).',
    tradeoff: 'Smaller values repath sooner but raise the risk of reordering and retransmissions.',
    counters: ['netstat.TcpExt.TCPPLBRehash'],
    related: ['net.ipv4.tcp_plb_enabled', 'net.ipv4.tcp_plb_idle_rehash_rounds'],
    sources: [doc('tcp_plb_rehash_rounds')],
  },
  {
    key: 'net.ipv4.tcp_plb_idle_rehash_rounds',
    domain: 'tcp',
    type: 'int',
    unit: 'count',
    range: { min: 0, max: 31 },
    scope: 'netns',
    default: '3',
    summary: 'Consecutive congested rounds (RTTs) after which PLB may rehash when no packets are in flight, which cannot cause reordering (M in the PLB paper).',
    tradeoff: 'Smaller values react faster to congestion between bursts; larger ones avoid churning paths on brief congestion.',
    counters: ['netstat.TcpExt.TCPPLBRehash'],
    related: ['net.ipv4.tcp_plb_enabled', 'net.ipv4.tcp_plb_rehash_rounds'],
    sources: [doc('tcp_plb_idle_rehash_rounds')],
  },
  {
    key: 'net.ipv4.tcp_plb_suspend_rto_sec',
    domain: 'tcp',
    type: 'int',
    unit: 'seconds',
    range: { min: 0, max: 255 },
    scope: 'netns',
    default: '60',
    summary:
      'After a retransmission timeout, PLB stops repathing for a random time between one and two times this many seconds, so flows do not keep hashing onto a black-holed path.',
    tradeoff: 'Should roughly match how long the fabric takes to repair a failed link; shorter values resume load balancing sooner but may hit the broken path again.',
    counters: [],
    related: ['net.ipv4.tcp_plb_enabled'],
    sources: [doc('tcp_plb_suspend_rto_sec')],
  },
  {
    key: 'net.ipv4.tcp_plb_cong_thresh',
    domain: 'tcp',
    type: 'int',
    unit: 'none',
    range: { min: 0, max: 256 },
    scope: 'netns',
    default: '128',
    summary:
      'Fraction of packets in a round that must carry congestion marks for PLB to count the round as congested, scaled to 0–256 (128 = 50 %). 0 repaths every round and is meant only for experiments.',
    tradeoff: 'Lower thresholds repath on milder congestion, at the cost of more path changes and possible reordering.',
    counters: [],
    related: ['net.ipv4.tcp_plb_enabled'],
    sources: [doc('tcp_plb_cong_thresh')],
  },

  // ───────────────────────────── legacy and compatibility ─────────────────────────────
  {
    key: 'net.ipv4.tcp_workaround_signed_windows',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'When set, a peer that sends no window-scale option is assumed to be a broken stack that treats the window field as signed, and the window advertised to it is kept below 32 KiB.',
    tradeoff: 'Only for talking to ancient broken stacks; it halves the window offered to every peer without window scaling.',
    counters: [],
    related: ['net.ipv4.tcp_window_scaling'],
    sources: [doc('tcp_workaround_signed_windows')],
  },
  {
    key: 'net.ipv4.tcp_stdurg',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'Interprets the TCP urgent pointer as RFC 1122 specifies (pointing at the last urgent byte) instead of the BSD convention (the byte after it) that most stacks follow.',
    tradeoff: 'Turning it on can break urgent (out-of-band) data exchange with BSD-style peers; very little software uses urgent data today.',
    counters: [],
    related: [],
    sources: [doc('tcp_stdurg'), 'RFC 1122 (section 4.2.2.4)'],
  },
  {
    key: 'net.ipv4.tcp_fack',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'Formerly enabled Forward Acknowledgment (FACK) loss recovery. FACK was removed when RACK became TCP\'s loss detection; the key is still accepted but has no effect.',
    tradeoff: 'None: setting it changes nothing on current kernels, so it can be dropped from configuration files.',
    counters: [],
    related: ['net.ipv4.tcp_recovery'],
    sources: [doc('tcp_fack')],
  },
  {
    key: 'net.ipv4.tcp_low_latency',
    domain: 'tcp',
    type: 'bool',
    unit: 'none',
    scope: 'global',
    default: '0',
    changes: [{ version: '4.14', note: 'The TCP prequeue was removed ("tcp: remove prequeue support"); since then the knob has no effect.' }],
    summary:
      'Formerly made TCP bypass the prequeue and process incoming segments at once in softirq context, favouring latency over throughput. It has had no effect since the prequeue was removed; the key remains, machine-wide, for compatibility.',
    tradeoff: 'None on current kernels; remove it from configuration files.',
    counters: [],
    related: [],
    sources: [doc('tcp_low_latency'), 'net/ipv4/sysctl_net_ipv4.c ("obsolete" sysctl_tcp_low_latency)'],
  },
];
