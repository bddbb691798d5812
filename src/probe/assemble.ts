// The Snapshot from what the probe gathered: shared by the live probe (src/probe/index.ts) and the
// fleet's remote text (src/probe/raw.ts), so both derive conntrack, congestion control, the
// namespace verdict and the other composed sections the same way.
import { parseCpuList, SNAPSHOT_SCHEMA } from '../snapshot/plain.js';
import type { Link, NetManagersInfo, ProbeError, Snapshot, SysctlRedaction } from '../snapshot/schema.js';
import { VERSION } from '../version.js';
import type { NftRuleset } from '../snapshot/nft.js';
import type { ConntrackSlab } from './parse-proc.js';

/** What one probe gathered (parsed already; text parsing lives in parse-*.ts). */
export interface SnapshotParts {
  takenAt: string;
  durationMs: number;
  hostname: string;
  bootId: string | null;
  machineId: string | null;
  netnsName: string | null;
  /** inode of the probed process's network namespace, and of pid 1's (null: not allowed to look) */
  nsInode: number | null;
  initInode: number | null;
  kernel: { release: string | null; version: string | null; machine: string };
  cpuList: string;
  meminfo: Record<string, number>;
  pageSize: number;
  sysctl: Record<string, string>;
  redacted: Record<string, SysctlRedaction>;
  counters: Snapshot['counters'];
  /** /proc/net/stat/nf_conntrack, asked only when the sysctls show conntrack is loaded */
  conntrackStats: () => Record<string, number>[];
  /** the nf_conntrack slab's sizes, asked (like the stats) only when conntrack is loaded */
  conntrackSlab?: () => ConntrackSlab | null;
  links: Link[];
  routes4: unknown[];
  routes6: unknown[];
  rules4: unknown[];
  rules6: unknown[];
  mptcpEndpoints: unknown[];
  mptcpLimits: unknown[];
  /** `nft -j list ruleset`, parsed (src/probe/parse-nft.ts); null/absent: not read. */
  nft?: NftRuleset | null;
  /** What configures each link (src/probe/net-managers.ts), given whether this is the initial
   *  namespace; absent: not probed. */
  netManagers?: (initNetns: boolean) => NetManagersInfo;
  errors: ProbeError[];
}

/** Counts CPUs in a list like "0-3,8,10-11" (0 when it cannot be read). */
export const countCpuList = (list: string): number => parseCpuList(list)?.length ?? 0;

/** Are we in the initial network namespace? Compare with pid 1's namespace when we may look at
 *  it; otherwise use what the kernel shows: the global net.core knobs (netdev_max_backlog and
 *  friends) exist only in the initial namespace's /proc/sys. */
function isInitNetns(own: number | null, init: number | null, sysctl: Record<string, string>): boolean {
  if (own !== null && init !== null) return own === init;
  return 'net.core.netdev_max_backlog' in sysctl;
}

const records = (rows: unknown[]): Record<string, unknown>[] =>
  rows.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r));
const withFamily = (family: string, rows: unknown[]): Record<string, unknown>[] => records(rows).map((r) => ({ family, ...r }));

export function assembleSnapshot(p: SnapshotParts): Snapshot {
  const { sysctl } = p;
  const num = (key: string): number | null => {
    const v = sysctl[key];
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  };
  const words = (key: string): string[] => (sysctl[key] ?? '').split(' ').filter(Boolean);
  const init = isInitNetns(p.nsInode, p.initInode, sysctl);
  const conntrack: Snapshot['conntrack'] =
    sysctl['net.netfilter.nf_conntrack_max'] !== undefined
      ? {
          count: num('net.netfilter.nf_conntrack_count'),
          max: num('net.netfilter.nf_conntrack_max'),
          buckets: num('net.netfilter.nf_conntrack_buckets'),
          stats: p.conntrackStats(),
          slab: p.conntrackSlab?.() ?? null,
        }
      : null;
  return {
    schema: SNAPSHOT_SCHEMA,
    taken_at: p.takenAt,
    duration_ms: p.durationMs,
    hostname: p.hostname,
    ...(p.bootId ? { boot_id: p.bootId } : {}),
    machine_id: p.machineId,
    tool: { name: 'nettune', version: VERSION },
    netns: { name: p.netnsName, inode: p.nsInode, init },
    kernel: { release: p.kernel.release ?? 'unknown', version: p.kernel.version ?? 'unknown', machine: p.kernel.machine },
    cpus: { online: countCpuList(p.cpuList), list: p.cpuList },
    memory: {
      total_bytes: p.meminfo.MemTotal ?? 0,
      available_bytes: p.meminfo.MemAvailable ?? null,
      page_size: p.pageSize,
    },
    congestion_control: {
      current: sysctl['net.ipv4.tcp_congestion_control'] ?? null,
      available: words('net.ipv4.tcp_available_congestion_control'),
      allowed: words('net.ipv4.tcp_allowed_congestion_control'),
    },
    sysctl,
    sysctl_redacted: p.redacted,
    counters: p.counters,
    conntrack,
    links: p.links,
    routes: [...withFamily('inet', p.routes4), ...withFamily('inet6', p.routes6)],
    rules: [...withFamily('inet', p.rules4), ...withFamily('inet6', p.rules6)],
    mptcp: {
      endpoints: records(p.mptcpEndpoints),
      limits: records(p.mptcpLimits)[0] ?? null,
    },
    nft: p.nft ?? null,
    ...(p.netManagers ? { net_managers: p.netManagers(init) } : {}),
    errors: p.errors,
  };
}

/** JSON as iproute2 writes it: its writer escapes `"`, `\\`, newline and tab in strings but copies
 *  other control characters raw, and a device or alias may hold them (`ip link add $'d\x01e'
 *  type dummy`), so one such name made every `ip -j`/`tc -j` answer of the host unreadable. Raw
 *  control characters are not JSON anywhere (outside strings only space, tab, CR and LF are), so
 *  when the text does not parse they are escaped and it is parsed again. */
export function parseToolJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // eslint-disable-next-line no-control-regex
    if (!/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(text)) throw err;
    // eslint-disable-next-line no-control-regex
    return JSON.parse(text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  }
}

/** `ip -j …` / `tc -j …` output → its rows (one object becomes one row); text that is not JSON
 *  goes to `textFallback` (iproute2 6.1 prints mptcp limits as text even with -j) or is an error. */
export function parseJsonRows(
  stdout: string,
  source: string,
  section: string,
  errors: ProbeError[],
  textFallback?: (text: string) => unknown[] | null,
): unknown[] {
  const text = stdout.trim();
  if (text === '') return [];
  try {
    const doc = parseToolJson(text);
    return Array.isArray(doc) ? (doc as unknown[]) : [doc];
  } catch (err) {
    const fallback = textFallback?.(text);
    if (fallback) return fallback;
    errors.push({ section, source, message: `not JSON: ${(err as Error).message}` });
    return [];
  }
}
