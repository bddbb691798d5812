// The parts of the Snapshot module that need no zod: the schema id and the CPU-list parser. The
// probe builds a Snapshot with only these, so a one-shot `nettune probe` does not construct the
// zod schemas (src/snapshot/schema.ts, ~10 ms at import on a small VM, bench/probe) it never uses.

export const SNAPSHOT_SCHEMA = 'nettune.snapshot/1';

/** Where `conntrack.slab` was read: SLUB's /sys/kernel/slab/nf_conntrack, or /proc/slabinfo. */
export const CONNTRACK_SLAB_SOURCES = ['sysfs', 'slabinfo'] as const;
/** /proc/net/stat/nf_conntrack column → the name `conntrack -S` prints for the same counter
 *  (ctnetlink's CTA_STATS_* as conntrack-tools names them): nf_conntrack_standalone.c
 *  ct_cpu_seq_show prints st->error under "icmp_error", st->clash_resolve under "clashres" and
 *  st->chaintoolong under "chainlength". The Snapshot uses the `conntrack -S` names; the other
 *  columns already match (found, invalid, insert, insert_failed, drop, early_drop,
 *  search_restart) or exist only in the file (entries, expect_*, and on 6.x the constant-zero
 *  new/ignore/delete). */
export const CONNTRACK_STAT_RENAMES: Readonly<Record<string, string>> = { icmp_error: 'error', clashres: 'clash_resolve', chainlength: 'chaintoolong' };

/** A per-CPU stat row with the file's names turned into `conntrack -S` names (also for Snapshots
 *  written before the rename). */
export function conntrackStatRow(row: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) out[CONNTRACK_STAT_RENAMES[k] ?? k] = v;
  return out;
}

export type ConntrackSlabSource = (typeof CONNTRACK_SLAB_SOURCES)[number];

/** Parses a kernel CPU list ("0-3,8,10-11"); null when it is not one. */
export function parseCpuList(list: string): number[] | null {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return null;
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out.length ? out : null;
}

/** What configures an interface (src/probe/net-managers.ts): where apply --persist writes its
 *  routes and rules. Shared with the zod schema (src/snapshot/schema.ts `net_managers`). */
export const NET_MANAGER_NAMES = ['networkd', 'ifupdown', 'NetworkManager', 'none'] as const;
export type NetManagerName = (typeof NET_MANAGER_NAMES)[number];
