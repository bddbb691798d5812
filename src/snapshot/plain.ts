// The parts of the Snapshot module that need no zod: the schema id and the CPU-list parser. The
// probe builds a Snapshot with only these, so a one-shot `nettune probe` does not construct the
// zod schemas (src/snapshot/schema.ts, ~10 ms at import on a small VM, bench/probe) it never uses.

export const SNAPSHOT_SCHEMA = 'nettune.snapshot/1';

/** Where `conntrack.slab` was read: SLUB's /sys/kernel/slab/nf_conntrack, or /proc/slabinfo. */
export const CONNTRACK_SLAB_SOURCES = ['sysfs', 'slabinfo'] as const;
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
