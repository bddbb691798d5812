// Non-network knobs that network tuning runs into (file handles, reserve memory) plus Unix sockets.
// fs.* and vm.* are machine-wide; net.unix.* is per network namespace (checked on 6.18).
// Facts from Documentation/admin-guide/sysctl/fs.rst, vm.rst and net.rst unless a source says otherwise.
import type { CatalogEntryInput } from '../schema.js';

export const misc: CatalogEntryInput[] = [
  {
    key: 'fs.file-max',
    domain: 'fs',
    type: 'int',
    unit: 'count',
    parser: 'ulong',
    range: { min: 0 },
    scope: 'global',
    default: null,
    default_note:
      'Computed at boot as about 10% of memory in KB: (total pages − 1.5 × pages already in use at boot) × (page size / 1024) / 10, at least 8192 (NR_FILE): about 2.4 million on a 24 GiB machine, 200 000 on 2 GiB. systemd 240 and later raise it to LONG_MAX (9223372036854775807) at boot, which is not the kernel\'s default.',
    summary:
      'System-wide maximum number of open file handles, which includes every socket. When it is reached, open(), socket() and accept() fail with ENFILE and the kernel logs "VFS: file-max limit <n> reached".',
    tradeoff:
      'The boot default is generous for most hosts; raising it only helps if per-process limits (RLIMIT_NOFILE, fs.nr_open) are raised too, and each open file costs kernel memory.',
    counters: ['sockstat.sockets.used'],
    related: ['fs.file-nr', 'fs.nr_open'],
    sources: ['Documentation/admin-guide/sysctl/fs.rst (file-max & file-nr)', 'fs/file_table.c (files_maxfiles_init)'],
  },
  {
    key: 'fs.file-nr',
    domain: 'fs',
    type: 'int_vector',
    fields: ['allocated', 'free', 'max'],
    unit: 'count',
    scope: 'global',
    default: null,
    default_note:
      'Read-only live value. The second field has always been 0 since 2.6; the third repeats fs.file-max.',
    summary:
      'Read-only view of file-handle usage: handles currently allocated, a legacy "free" field that is always 0, and the fs.file-max limit.',
    tradeoff: 'Read-only; compare the first field with the third to see how close the host is to ENFILE.',
    counters: [],
    related: ['fs.file-max'],
    sources: ['Documentation/admin-guide/sysctl/fs.rst (file-max & file-nr)'],
  },
  {
    key: 'fs.nr_open',
    domain: 'fs',
    type: 'int',
    unit: 'count',
    range: { min: 64, max: 2147483584 },
    scope: 'global',
    default: '1048576',
    summary:
      'Ceiling for the per-process open file limit: RLIMIT_NOFILE (ulimit -n, LimitNOFILE=) cannot be raised above this value. The limit a process actually gets is its RLIMIT_NOFILE.',
    tradeoff:
      'Servers with more than about a million concurrent sockets per process need it raised along with RLIMIT_NOFILE; a very high limit lets one process exhaust fs.file-max for everyone.',
    counters: [],
    related: ['fs.file-max'],
    sources: ['Documentation/admin-guide/sysctl/fs.rst (nr_open)', 'getrlimit(2) (RLIMIT_NOFILE)'],
  },
  {
    key: 'vm.min_free_kbytes',
    domain: 'vm',
    type: 'int',
    unit: 'kilobytes',
    range: { min: 0 },
    scope: 'global',
    default: null,
    default_note:
      'Computed at boot as sqrt(16 × low-memory KB), clamped to 128 KB–256 MB; with transparent hugepages enabled (always or madvise) khugepaged raises it to keep free pageblocks for compaction. A Snapshot does not record whether THP raised it, so nettune does not state a number.',
    summary:
      'Amount of memory the kernel keeps free as the minimum watermark of each zone; allocations that cannot sleep, like packet reception in softirq, may dip into this reserve. It also sets the low and high watermarks that wake kswapd.',
    tradeoff:
      'Hosts with high-rate receive traffic can see atomic allocation failures (page allocation failure messages, RX drops) when it is too low; raising it too far wastes memory and can trigger reclaim or OOM early.',
    counters: ['link.*.statistics.rx_dropped', 'netstat.TcpExt.PFMemallocDrop'],
    related: ['net.ipv4.tcp_mem', 'net.ipv4.udp_mem'],
    sources: ['Documentation/admin-guide/sysctl/vm.rst (min_free_kbytes)', 'mm/page_alloc.c (calculate_min_free_kbytes)', 'mm/khugepaged.c (set_recommended_min_free_kbytes)'],
  },
  {
    key: 'net.unix.max_dgram_qlen',
    domain: 'unix',
    type: 'int',
    unit: 'count',
    scope: 'netns',
    default: '10',
    summary:
      'Maximum number of datagrams queued on a Unix datagram socket\'s receive queue for senders it is not connected back to (e.g. clients of /dev/log); when it is full, those senders block or get EAGAIN. The value is copied into each socket when it is created.',
    tradeoff:
      'Raising it helps bursty local datagram traffic (syslog /dev/log, journald, container runtimes) avoid blocked or failed sends, at the cost of more memory queued per socket.',
    counters: [],
    related: ['net.core.wmem_default'],
    sources: ['Documentation/admin-guide/sysctl/net.rst (/proc/sys/net/unix)', 'unix(7)'],
  },
];
