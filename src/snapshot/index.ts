// Reading Snapshots from files and looking things up in them. Every analysis goes through here.
import { usageError } from '../sys/errors.js';
import { readJsonFile } from '../sys/fs.js';
import { parseCpuList } from './plain.js';
import { type Snapshot, snapshotSchema } from './schema.js';

export { parseCpuList } from './plain.js';
export { SNAPSHOT_SCHEMA, snapshotSchema, type Snapshot } from './schema.js';

/** Loads and validates a Snapshot file; anything else is bad input (exit 2) naming the file and
 *  the first schema error. */
export function loadSnapshot(file: string): Snapshot {
  // A FIFO, a device, a directory, a file over 4 MiB or a binary file is refused before parsing.
  const doc = readJsonFile(file, { what: 'a valid snapshot' });
  const res = snapshotSchema.safeParse(doc);
  if (!res.success) {
    const first = res.error.issues[0];
    const where = first && first.path.length ? first.path.join('.') : '(top level)';
    throw usageError(`${file}: not a valid snapshot: ${where}: ${first?.message ?? 'invalid'}`, 'capture one with: nettune probe --json --out FILE');
  }
  return res.data;
}

const sum = (xs: Iterable<number>): number => {
  let t = 0;
  for (const x of xs) t += x;
  return t;
};

/** Resolves a catalog counter reference (see catalog/schema.ts `counterRef`) to a number, or null
 *  when the Snapshot does not have it. Per-CPU and per-link values are summed. */
export function resolveCounter(snap: Snapshot, ref: string): number | null {
  const parts = ref.split('.');
  const [source, a, b] = parts;
  switch (source) {
    case 'snmp':
    case 'snmp6':
    case 'netstat':
    case 'sockstat':
    case 'sockstat6':
      return snap.counters[source][a ?? '']?.[b ?? ''] ?? null;
    case 'softnet': {
      const rows = snap.counters.softnet;
      if (rows.length === 0) return null;
      const field = a as keyof (typeof rows)[number];
      return sum(rows.map((r) => (typeof r[field] === 'number' ? r[field] : 0)));
    }
    case 'conntrack': {
      const ct = snap.conntrack;
      if (!ct) return null;
      if (a === 'count' || a === 'max' || a === 'buckets') return ct[a];
      if (a === 'stats' && b) {
        if (ct.stats.length === 0 || !(b in (ct.stats[0] ?? {}))) return null;
        // "entries" is the global table size repeated on every CPU row; the rest are per CPU.
        return b === 'entries' ? (ct.stats[0]?.[b] ?? null) : sum(ct.stats.map((r) => r[b] ?? 0));
      }
      return null;
    }
    case 'link': {
      const field = parts[3] ?? '';
      const vals = snap.links.map((l) => l.statistics[field]).filter((v): v is number => typeof v === 'number');
      return vals.length ? sum(vals) : null;
    }
    default:
      return null;
  }
}

/** The online CPUs of a Snapshot: its CPU list, or 0..online-1 when the list is unreadable. */
export function onlineCpus(snap: Snapshot): number[] {
  return parseCpuList(snap.cpus.list) ?? Array.from({ length: snap.cpus.online }, (_, i) => i);
}
