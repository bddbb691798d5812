// Multipath TCP knobs (net.mptcp.*), all per network namespace. Facts from
// Documentation/networking/mptcp-sysctl.rst unless a source says otherwise; protocol terms from
// RFC 8684. Subflow and address limits are set over netlink (ip mptcp limits/endpoint), not here.
import type { CatalogEntryInput } from '../schema.js';

export const mptcp: CatalogEntryInput[] = [
  {
    key: 'net.mptcp.enabled',
    domain: 'mptcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    added_in: '5.6',
    summary:
      'Whether applications in this namespace may create MPTCP sockets (socket(..., IPPROTO_MPTCP)). With 0 such socket() calls fail and applications fall back to plain TCP if they handle the error.',
    tradeoff:
      'MPTCP lets one connection use several paths for throughput and failover; disabling it removes that option and its extra code path, but regular TCP is unaffected either way.',
    counters: ['netstat.MPTcpExt.MPCapableSYNTX', 'netstat.MPTcpExt.MPCurrEstab', 'netstat.MPTcpExt.MPCapableFallbackSYNACK'],
    related: ['net.mptcp.path_manager', 'net.mptcp.scheduler', 'net.mptcp.blackhole_timeout'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (enabled)', 'RFC 8684'],
  },
  {
    key: 'net.mptcp.add_addr_timeout',
    domain: 'mptcp',
    type: 'int',
    unit: 'seconds',
    scope: 'netns',
    default: '120',
    summary:
      'How long the in-kernel path manager waits for the peer to echo an ADD_ADDR announcement before sending it again. 0 disables retransmission; the default matches TCP_RTO_MAX.',
    tradeoff:
      'Shorter timeouts get lost address announcements through sooner (faster use of extra paths) at the cost of more signalling on lossy links.',
    counters: ['netstat.MPTcpExt.AddAddrTx', 'netstat.MPTcpExt.EchoAdd', 'netstat.MPTcpExt.AddAddrTxDrop'],
    related: ['net.mptcp.path_manager'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (add_addr_timeout)', 'RFC 8684 (3.4.1)'],
  },
  {
    key: 'net.mptcp.checksum_enabled',
    domain: 'mptcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '0',
    summary:
      'Whether this host requests the DSS checksum, which protects the MPTCP data-sequence mapping against middleboxes that rewrite payload. Checksums are used on a connection if either side asks for them.',
    tradeoff:
      'Detects payload-altering middleboxes and falls back safely, but adds a checksum over all data and prevents some offload benefits, costing CPU at high rates.',
    counters: ['netstat.MPTcpExt.DataCsumErr', 'netstat.MPTcpExt.DSSCorruptionFallback'],
    related: ['net.mptcp.enabled'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (checksum_enabled)', 'RFC 8684 (3.3.1)'],
  },
  {
    key: 'net.mptcp.allow_join_initial_addr_port',
    domain: 'mptcp',
    type: 'bool',
    unit: 'none',
    scope: 'netns',
    default: '1',
    summary:
      'Whether peers may open additional subflows (MP_JOIN) to the address and port of the initial subflow. The setting is signalled to the peer at connection setup and enforced on incoming joins; joins to addresses announced with ADD_ADDR are unaffected.',
    tradeoff:
      'Setting 0 suits servers behind load balancers, where a join to the shared initial address could land on another backend; it limits the paths clients can add.',
    counters: ['netstat.MPTcpExt.MPJoinSynRx', 'netstat.MPTcpExt.MPJoinRejected'],
    related: ['net.mptcp.path_manager'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (allow_join_initial_addr_port)', 'RFC 8684 (3.1, C flag)'],
  },
  {
    key: 'net.mptcp.pm_type',
    domain: 'mptcp',
    type: 'enum',
    unit: 'none',
    values: [
      { value: '0', meaning: 'In-kernel path manager' },
      { value: '1', meaning: 'Userspace path manager (e.g. mptcpd)' },
    ],
    scope: 'netns',
    default: '0',
    changes: [{ version: '6.15', note: 'Deprecated in favour of net.mptcp.path_manager.' }],
    summary:
      'Numeric selection of the path manager used for new MPTCP sockets. Deprecated since 6.15; path_manager is the name-based replacement.',
    tradeoff:
      'The userspace manager gives per-connection control to a daemon at the cost of netlink traffic for every event; the kernel manager follows the per-namespace endpoint configuration.',
    counters: [],
    related: ['net.mptcp.path_manager', 'net.mptcp.available_path_managers'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (pm_type)'],
  },
  {
    key: 'net.mptcp.path_manager',
    domain: 'mptcp',
    type: 'string',
    unit: 'none',
    values: [
      { value: 'kernel', meaning: 'In-kernel path manager driven by ip mptcp endpoints and limits' },
      { value: 'userspace', meaning: 'A privileged userspace daemon decides subflows and announcements per connection' },
    ],
    scope: 'netns',
    default: 'kernel',
    added_in: '6.15',
    summary:
      'Name of the path manager used for new MPTCP sockets: it decides which additional subflows are opened and which addresses are announced. The choices registered are listed in available_path_managers.',
    tradeoff:
      'The kernel manager is simple and cheap but only applies namespace-wide endpoint rules; the userspace one allows per-connection policy at the cost of a daemon and more netlink traffic.',
    counters: ['netstat.MPTcpExt.MPJoinSynTx', 'netstat.MPTcpExt.AddAddrTx'],
    related: ['net.mptcp.pm_type', 'net.mptcp.available_path_managers'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (path_manager)'],
  },
  {
    key: 'net.mptcp.available_path_managers',
    domain: 'mptcp',
    type: 'string',
    unit: 'none',
    scope: 'netns',
    default: 'kernel userspace',
    default_note: 'Read-only list of registered path managers; this 6.18 kernel shows "kernel userspace".',
    added_in: '6.15',
    summary: 'Read-only list of the path managers currently registered, i.e. the values path_manager accepts.',
    tradeoff: 'Read-only; informational.',
    counters: [],
    related: ['net.mptcp.path_manager'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (available_path_managers)'],
  },
  {
    key: 'net.mptcp.scheduler',
    domain: 'mptcp',
    type: 'string',
    unit: 'none',
    scope: 'netns',
    default: 'default',
    summary:
      'Name of the packet scheduler that decides which subflow carries each chunk of data on new MPTCP connections. Additional schedulers (e.g. BPF-based) can be registered; see available_schedulers.',
    tradeoff:
      'Alternative schedulers can favour latency, redundancy or a backup path, but the default one is the tested choice for general use.',
    counters: [],
    related: ['net.mptcp.available_schedulers', 'net.mptcp.stale_loss_cnt'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (scheduler)'],
  },
  {
    key: 'net.mptcp.available_schedulers',
    domain: 'mptcp',
    type: 'string',
    unit: 'none',
    scope: 'netns',
    default: 'default',
    default_note: 'Read-only; lists registered schedulers, "default" unless others are loaded.',
    summary: 'Read-only list of the MPTCP packet schedulers currently registered, i.e. the values scheduler accepts.',
    tradeoff: 'Read-only; informational.',
    counters: [],
    related: ['net.mptcp.scheduler'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (available_schedulers)'],
  },
  {
    key: 'net.mptcp.stale_loss_cnt',
    domain: 'mptcp',
    type: 'int',
    unit: 'count',
    scope: 'netns',
    default: '4',
    summary:
      'Number of MPTCP-level retransmission intervals with outstanding data and no progress after which a subflow is declared stale. The scheduler stops using stale subflows until they recover.',
    tradeoff:
      'Low values switch to a backup path quickly when one link dies; high values keep using a lossy or paused link longer, maximising aggregate throughput.',
    counters: ['netstat.MPTcpExt.SubflowStale', 'netstat.MPTcpExt.SubflowRecover'],
    related: ['net.mptcp.scheduler'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (stale_loss_cnt)'],
  },
  {
    key: 'net.mptcp.close_timeout',
    domain: 'mptcp',
    type: 'int',
    unit: 'seconds',
    scope: 'netns',
    default: '60',
    summary:
      'Make-after-break timeout: after the last subflow of an MPTCP connection is gone, and without a close() or shutdown() from the application, the connection waits this long for a new subflow before moving to CLOSE. The default matches TCP_TIMEWAIT_LEN.',
    tradeoff:
      'Longer values let connections survive longer outages of all paths (e.g. mobile handover) at the cost of keeping orphaned connection state around.',
    counters: [],
    related: ['net.mptcp.stale_loss_cnt'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (close_timeout)'],
  },
  {
    key: 'net.mptcp.blackhole_timeout',
    domain: 'mptcp',
    type: 'int',
    unit: 'seconds',
    scope: 'netns',
    default: '3600',
    added_in: '6.12',
    summary:
      'When a firewall appears to drop MPTCP SYNs (a blackhole), active MPTCP is disabled in the namespace for this many seconds and connections use plain TCP. The period grows exponentially on repeated detection and resets once the problem goes away; 0 disables detection.',
    tradeoff:
      'Protects connection setup latency on networks that block MPTCP options, at the cost of not using MPTCP at all for that period even on paths that would work.',
    counters: ['netstat.MPTcpExt.Blackhole', 'netstat.MPTcpExt.MPCapableSYNTXDisabled'],
    related: ['net.mptcp.syn_retrans_before_tcp_fallback', 'net.mptcp.enabled'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (blackhole_timeout)'],
  },
  {
    key: 'net.mptcp.syn_retrans_before_tcp_fallback',
    domain: 'mptcp',
    type: 'int',
    unit: 'count',
    scope: 'netns',
    default: '2',
    summary:
      'Number of SYN retransmissions that still carry MP_CAPABLE before further retransmissions are sent without MPTCP options (falling back to TCP). 0 drops the options on the first retransmission; 128 or more keeps them on all retransmissions.',
    tradeoff:
      'Lower values connect faster through middleboxes that drop MPTCP SYNs; lower values also raise the chance of falsely detecting an MPTCP blackhole when SYNs are lost for other reasons.',
    counters: ['netstat.MPTcpExt.Blackhole'],
    related: ['net.mptcp.blackhole_timeout', 'net.ipv4.tcp_syn_retries'],
    sources: ['Documentation/networking/mptcp-sysctl.rst (syn_retrans_before_tcp_fallback)'],
  },
];
