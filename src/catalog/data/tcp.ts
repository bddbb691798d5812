// TCP knobs (net.ipv4.tcp_*; they also govern TCP over IPv6). Facts from
// Documentation/networking/ip-sysctl.rst unless a source says otherwise.
import type { CatalogEntryInput } from '../schema.js';

export const tcp: CatalogEntryInput[] = [
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
      'min 4096 (one page); default 131072; max is computed at boot from available memory (32 MB on this 24 GB machine running 6.18; older kernels capped it at 6 MB). VERIFY against ip-sysctl.rst.',
    summary:
      'Receive buffer sizes for TCP sockets: min is guaranteed even under memory pressure, default is the initial size, and max bounds receive-buffer autotuning. Autotuning (tcp_moderate_rcvbuf) grows each socket up to max; it is not bounded by net.core.rmem_max.',
    tradeoff:
      'A max below the path BDP (times the skb overhead factor) caps single-stream throughput; a large max lets many slow readers pin memory, bounded globally by tcp_mem.',
    counters: ['netstat.TcpExt.TCPRcvQDrop', 'netstat.TcpExt.PruneCalled', 'netstat.TcpExt.RcvPruned', 'netstat.TcpExt.TCPRcvCollapsed'],
    related: ['net.ipv4.tcp_mem', 'net.ipv4.tcp_moderate_rcvbuf', 'net.ipv4.tcp_adv_win_scale', 'net.core.rmem_max', 'net.ipv4.tcp_wmem'],
    sources: ['Documentation/networking/ip-sysctl.rst (tcp_rmem)'],
  },
];
