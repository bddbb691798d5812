// The counter reader: only the kernel's counters (no sysctl walk, no ethtool, no commands), read
// with the probe's own parsers, for the monitor's sampler to call every interval. It reads a
// network namespace through another process's view: `/proc/PID/net/*` are the files of PID's
// namespace and `/proc/PID/root/sys/class/net` its sysfs (the remount `ip netns exec` made), so a
// sampler needs one long-lived process inside the namespace, never one per tick.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeError, Snapshot } from '../snapshot/schema.js';
import { readParsed } from './index.js';
import type { KeptFiles } from './kept-files.js';
import { listDevices, liveSysfs, readStatistics, type SysfsReader } from './links.js';
import { parseConntrackStat, parseHeaderValuePairs, parseSnmp6, parseSockstat, parseSoftnet } from './parse-proc.js';

export interface CounterRoots {
  /** Directory holding `net/` for the namespace: `/proc/self` (here) or `/proc/PID`. */
  proc: string;
  /** The namespace's /sys/class/net: `/sys/class/net` or `/proc/PID/root/sys/class/net`. */
  sysNet: string;
}

export const OWN_ROOTS: CounterRoots = { proc: '/proc/self', sysNet: '/sys/class/net' };

/** A namespace seen through a process that lives in it. */
export const rootsOf = (pid: number): CounterRoots => ({ proc: `/proc/${pid}`, sysNet: `/proc/${pid}/root/sys/class/net` });

export interface LinkCounters {
  /** The device's ifindex: a device deleted and created again under the same name gets a new
   *  one, so its counters are not compared with the old device's. */
  ifindex: number | null;
  statistics: Record<string, number>;
}

export interface CounterReadings {
  counters: Snapshot['counters'];
  /** null when the namespace has no conntrack (no /proc/net/stat/nf_conntrack). */
  conntrack: { count: number | null; max: number | null; stats: Record<string, number>[] } | null;
  links: Record<string, LinkCounters>;
  /** net.ipv4.tcp_mem [min, pressure, max] in pages: one global limit for the TCP memory that
   *  sockstat's `TCP mem` counts over all namespaces; a child namespace has no copy, so it is read
   *  where this process runs (null when not visible there). */
  tcp_mem: [number, number, number] | null;
  errors: ProbeError[];
}

const CONNTRACK_MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
const CONNTRACK_COUNT = '/proc/sys/net/netfilter/nf_conntrack_count';
const TCP_MEM = '/proc/sys/net/ipv4/tcp_mem';

type Read = (path: string) => string;
const readOnce: Read = (path) => readFileSync(path, 'utf8');

function readTcpMem(read: Read): [number, number, number] | null {
  try {
    const v = read(TCP_MEM).trim().split(/\s+/);
    return v.length === 3 && v.every((x) => /^\d+$/.test(x)) ? [Number(v[0]), Number(v[1]), Number(v[2])] : null;
  } catch {
    return null;
  }
}

function readInt(path: string, read: Read): number | null {
  try {
    const t = read(path).trim();
    return /^\d+$/.test(t) ? Number(t) : null;
  } catch {
    return null;
  }
}

/** One reading of every counter source of a namespace. Never throws: what cannot be read is an
 *  `errors` entry, as in a Snapshot. */
export function readCounters(roots: CounterRoots = OWN_ROOTS, files?: KeptFiles): CounterReadings {
  const errors: ProbeError[] = [];
  const net = (f: string): string => join(roots.proc, 'net', f);
  // A sampler passes its kept-open files (one pread per file per sample); otherwise each is opened.
  const read: Read = files ? (path) => files.read(path) : readOnce;
  const sysfs: SysfsReader = files
    ? {
        ...liveSysfs,
        // A device's statistics/ directory holds the same files for as long as it exists.
        list: (dir) => files.list(dir),
        text: (path) => {
          try {
            return read(path).trim();
          } catch {
            return null;
          }
        },
      }
    : liveSysfs;
  const counters: Snapshot['counters'] = {
    snmp: readParsed(net('snmp'), 'counters.snmp', parseHeaderValuePairs, errors, read) ?? {},
    snmp6: readParsed(net('snmp6'), 'counters.snmp6', parseSnmp6, errors, read) ?? {},
    netstat: readParsed(net('netstat'), 'counters.netstat', parseHeaderValuePairs, errors, read) ?? {},
    sockstat: readParsed(net('sockstat'), 'counters.sockstat', parseSockstat, errors, read) ?? {},
    sockstat6: readParsed(net('sockstat6'), 'counters.sockstat6', parseSockstat, errors, read) ?? {},
    softnet: readParsed(net('softnet_stat'), 'counters.softnet', parseSoftnet, errors, read) ?? [],
  };
  // Without IPv6 (disabled or not built) there is no snmp6/sockstat6: that is an answer, not an error.
  const noV6 = (e: ProbeError): boolean => (e.section === 'counters.snmp6' || e.section === 'counters.sockstat6') && e.message === 'ENOENT';
  const kept = errors.filter((e) => !noV6(e));

  let conntrack: CounterReadings['conntrack'] = null;
  const ctErrors: ProbeError[] = [];
  const stats = readParsed(net('stat/nf_conntrack'), 'conntrack', parseConntrackStat, ctErrors, read);
  if (stats !== null) {
    // "entries" is the namespace's own table size (nf_conntrack_standalone.c: cnet->count),
    // repeated on every CPU row; nf_conntrack_max is one global limit, the same in every namespace.
    const entries = stats[0]?.entries;
    const own = roots.proc === OWN_ROOTS.proc;
    conntrack = { count: entries ?? (own ? readInt(CONNTRACK_COUNT, read) : null), max: readInt(CONNTRACK_MAX, read), stats };
    kept.push(...ctErrors);
  } else if (ctErrors.some((e) => e.message !== 'ENOENT')) kept.push(...ctErrors);

  const links: Record<string, LinkCounters> = {};
  for (const dev of listDevices(roots.sysNet)) {
    links[dev] = { ifindex: readInt(`${roots.sysNet}/${dev}/ifindex`, read), statistics: readStatistics(dev, kept, roots.sysNet, sysfs) };
  }
  return { counters, conntrack, links, tcp_mem: readTcpMem(read), errors: kept };
}
