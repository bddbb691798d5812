// Kernel defaults that depend on the kernel version or on the host: declarative data read by the
// evaluator in src/catalog/defaults.ts. A key listed here has its default computed for each
// Snapshot; every other catalog entry's default is its `default` field, the same on every kernel.
//
// Each key has spans, oldest first. A span holds from `since` (inclusive; omitted = as far back as
// nettune cares, 4.x) until the next span's `since`. A span gives either a literal `value` (as
// `sysctl -n` prints it) or a named `formula` with its `params` (the constants that changed between
// versions); formulas are the kernel's own boot-time computations, written out in defaults.ts.
// `backported: 'stable'` marks a change that stable updates of older series also carry, without
// a sublevel we can name: on an older kernel both values are then the default. A list of stable
// releases (e.g. '6.1.73') names where the newer default starts inside those older series.
//
// Sources: the commits are cited by id and title; the formulas by the kernel function computing
// them. The newest span must agree with the entry's `default` field (test/unit/defaults.test.ts).

export type FormulaName =
  | 'tcp_mem'
  | 'udp_mem'
  | 'tcp_rmem'
  | 'tcp_wmem'
  | 'file_max'
  | 'conntrack_buckets'
  | 'conntrack_max'
  | 'conntrack_expect_max'
  | 'ehash_half'
  | 'ehash_half_global'
  | 'syn_backlog'
  | 'two_jiffies_us';

export interface DefaultSpan {
  since?: string;
  backported?: 'stable' | string[];
  value?: string;
  formula?: FormulaName;
  params?: Record<string, number>;
  source: string;
}

/** nf_conntrack_init_start() before and after commit d532bcd0b269 ("netfilter: conntrack:
 *  sanitize table size default settings", 5.15): the bucket count for > 4 GiB and > 1 GiB of
 *  memory, the floor, whether the 4 GiB step needs a 64-bit kernel, and max = factor × buckets. */
const CT_BEFORE_5_15 = { above4g: 65536, above1g: 16384, floor: 32, only64bit: 0, factor: 4 };
const CT_SINCE_5_15 = { above4g: 262144, above1g: 65536, floor: 1024, only64bit: 1, factor: 1 };
const CT_SOURCE = 'net/netfilter/nf_conntrack_core.c (nf_conntrack_init_start)';
const CT_COMMIT = 'commit d532bcd0b269 "netfilter: conntrack: sanitize table size default settings" (5.15)';

const TWO_JIFFIES = 'commit a4837980fd9f "net: revert default NAPI poll timeout to 2 jiffies" (5.7, also in stable updates); net/core/dev.c';

export const DEFAULT_HISTORY: Record<string, DefaultSpan[]> = {
  // ---- computed from memory at boot
  'net.ipv4.tcp_mem': [{ formula: 'tcp_mem', source: 'net/ipv4/tcp.c (tcp_init_mem)' }],
  'net.ipv4.udp_mem': [{ formula: 'udp_mem', source: 'net/ipv4/udp.c (udp_init)' }],
  'net.ipv4.tcp_rmem': [
    { formula: 'tcp_rmem', params: { initial: 87380, cap: 6291456 }, source: 'net/ipv4/tcp.c (tcp_init)' },
    { since: '4.20', formula: 'tcp_rmem', params: { initial: 131072, cap: 6291456 }, source: 'commit a337531b942b "tcp: up initial rmem to 128KB and SYN rwin to around 64KB" (4.20)' },
    { since: '6.16', formula: 'tcp_rmem', params: { initial: 131072, cap: 33554432 }, source: 'commit "tcp: increase tcp_rmem[2] to 32 MB" (6.16); net/ipv4/tcp.c (tcp_init)' },
  ],
  'net.ipv4.tcp_wmem': [{ formula: 'tcp_wmem', params: { initial: 16384, cap: 4194304 }, source: 'net/ipv4/tcp.c (tcp_init)' }],
  'fs.file-max': [{ formula: 'file_max', source: 'fs/file_table.c (files_maxfiles_init)' }],
  'net.netfilter.nf_conntrack_buckets': [
    { formula: 'conntrack_buckets', params: CT_BEFORE_5_15, source: CT_SOURCE },
    { since: '5.15', formula: 'conntrack_buckets', params: CT_SINCE_5_15, source: CT_COMMIT },
  ],
  'net.netfilter.nf_conntrack_max': [
    { formula: 'conntrack_max', params: CT_BEFORE_5_15, source: CT_SOURCE },
    { since: '5.15', formula: 'conntrack_max', params: CT_SINCE_5_15, source: CT_COMMIT },
  ],
  'net.nf_conntrack_max': [
    { formula: 'conntrack_max', params: CT_BEFORE_5_15, source: CT_SOURCE },
    { since: '5.15', formula: 'conntrack_max', params: CT_SINCE_5_15, source: CT_COMMIT },
  ],
  'net.netfilter.nf_conntrack_expect_max': [
    { formula: 'conntrack_expect_max', params: CT_BEFORE_5_15, source: 'net/netfilter/nf_conntrack_expect.c (nf_conntrack_expect_init)' },
    { since: '5.15', formula: 'conntrack_expect_max', params: CT_SINCE_5_15, source: `${CT_COMMIT}; nf_conntrack_expect.c (nf_conntrack_expect_init)` },
  ],
  // ---- computed from the TCP established-hash size (net.ipv4.tcp_ehash_entries, 6.1+)
  'net.ipv4.tcp_max_orphans': [{ formula: 'ehash_half_global', source: 'net/ipv4/tcp.c (tcp_init: sysctl_tcp_max_orphans = cnt / 2)' }],
  'net.ipv4.tcp_max_tw_buckets': [{ formula: 'ehash_half', source: 'net/ipv4/tcp_ipv4.c (tcp_sk_init / tcp_set_hashinfo: cnt / 2)' }],
  'net.ipv4.tcp_max_syn_backlog': [
    { formula: 'syn_backlog', params: { divisor: 256 }, source: 'net/ipv4/tcp_ipv4.c (tcp_sk_init: max(128, cnt / 256))' },
    { since: '5.4', formula: 'syn_backlog', params: { divisor: 128 }, source: 'commit "tcp: increase tcp_max_syn_backlog max value" (Eric Dumazet, net, 30 Oct 2019: 5.4)' },
  ],
  // ---- build options
  'net.core.netdev_budget_usecs': [
    { value: '2000', source: 'commit 7acf8a1e8a28 "Replace 2 jiffies with sysctl netdev_budget_usecs to enable softirq tuning" (4.12)' },
    { since: '5.7', backported: 'stable', formula: 'two_jiffies_us', source: TWO_JIFFIES },
  ],
  // ---- literal values that changed
  'net.core.rmem_max': [
    { value: '212992', source: 'include/net/sock.h (SK_RMEM_MAX = 256 × SKB_TRUESIZE(256), x86_64)' },
    { since: '6.18', value: '4194304', source: 'commit a6d4f25888b8 "net: set net.core.rmem_max and net.core.wmem_max to 4 MB" (6.18)' },
  ],
  'net.core.wmem_max': [
    { value: '212992', source: 'include/net/sock.h (SK_WMEM_MAX = 256 × SKB_TRUESIZE(256), x86_64)' },
    { since: '6.18', value: '4194304', source: 'commit a6d4f25888b8 "net: set net.core.rmem_max and net.core.wmem_max to 4 MB" (6.18)' },
  ],
  'net.core.somaxconn': [
    { value: '128', source: 'include/linux/socket.h (SOMAXCONN 128)' },
    { since: '5.4', value: '4096', source: 'commit 19f92a030ca6 "net: increase SOMAXCONN to 4096" (5.4)' },
  ],
  'net.core.optmem_max': [
    { value: '20480', source: 'net/core/sock.c (sizeof(unsigned long) × (2 × UIO_MAXIOV + 512), 64-bit)' },
    { since: '6.8', value: '131072', source: 'commit 4944566706b2 "net: increase optmem_max default value" (6.8)' },
  ],
  'net.ipv4.tcp_limit_output_bytes': [
    { value: '262144', source: 'net/ipv4/tcp_output.c ("Default TSQ limit of four TSO segments")' },
    { since: '5.0', value: '1048576', source: 'commit c73e5807e4f6 "tcp: tsq: no longer use limit_output_bytes for paced flows" (16 × 65536)' },
    { since: '6.16', value: '4194304', source: 'commit "tcp: increase tcp_limit_output_bytes default value to 4MB" (6.16)' },
  ],
  'net.ipv4.tcp_challenge_ack_limit': [
    { value: '1000', source: 'net/ipv4/tcp_input.c (RFC 5961 challenge ACK rate limit)' },
    { since: '6.0', backported: 'stable', value: '2147483647', source: 'commit 79e3602caa6f "tcp: make global challenge ack rate limitation per net-ns and default disabled" (6.0, also in stable updates)' },
  ],
  'net.ipv4.tcp_fastopen_blackhole_timeout_sec': [
    { value: '3600', source: 'net/ipv4/tcp_ipv4.c (tcp_sk_init)' },
    { since: '5.14', backported: 'stable', value: '0', source: 'commit 213ad73d0607 "tcp: disable TFO blackhole logic by default" (5.14, also in stable updates)' },
  ],
  'net.netfilter.nf_conntrack_udp_timeout_stream': [
    { value: '180', source: 'net/netfilter/nf_conntrack_proto_udp.c (UDP stream timeout 180 s)' },
    { since: '5.0', value: '120', source: 'net/netfilter/nf_conntrack_proto_udp.c (stream timeout 2 minutes)' },
  ],
  'net.netfilter.nf_conntrack_helper': [
    { value: '1', source: 'net/netfilter/nf_conntrack_helper.c' },
    { since: '4.7', value: '0', source: 'commit 3bb398d925ec "netfilter: nf_ct_helper: disable automatic helper assignment" (4.7)' },
  ],
  'net.ipv6.route.max_size': [
    { value: '4096', source: 'net/ipv6/route.c (ip6_route_net_init)' },
    {
      since: '6.3',
      backported: ['6.1.73', '5.15.147', '5.4.267'],
      value: '2147483647',
      source: 'commit af6d10345ca7 "ipv6: remove max_size check inline with ipv4" (6.3; stable 6.1.73, 5.15.147, 5.4.267)',
    },
  ],
  // ---- per-key exceptions to a pattern entry's default
  'net.ipv4.conf.all.accept_source_route': [{ value: '0', source: 'net/ipv4/devinet.c (ipv4_devconf: only ipv4_devconf_dflt sets ACCEPT_SOURCE_ROUTE)' }],
  'net.ipv6.conf.lo.use_tempaddr': [{ value: '-1', source: 'Documentation/networking/ip-sysctl.rst (use_tempaddr: -1 for point-to-point and loopback devices); net/ipv6/addrconf.c (ipv6_add_dev)' }],
};
