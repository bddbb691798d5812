// probe: the only stage that reads the live host. Produces one Snapshot; every section that cannot
// be read says why in `errors` instead of failing the probe.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { EthtoolInfo, ProbeError, Snapshot } from '../snapshot/schema.js';
import { which } from '../sys/tools.js';
import { assembleSnapshot } from './assemble.js';
import type { RunResult } from '../sys/run.js';
import { batchRunner } from './batch.js';
import { startIpTc } from './commands.js';
import { buildLinks, hasChannels, listDevices, probeEthtool, readQueues, sysfsKind } from './links.js';
import {
  type Parsed,
  type ConntrackSlab,
  parseConntrackStat,
  parseHeaderValuePairs,
  parseSlabinfo,
  parseSlabSysfs,
  parseMeminfo,
  parseSnmp6,
  parseSockstat,
  parseSoftnet,
} from './parse-proc.js';
import { probeNftRuleset } from './parse-nft.js';
import { detectNetManagers, hostFiles } from './net-managers.js';
import { classifySysctls, modesFromFind, SPECIAL_MODES_FIND, statMode, walkSysctls } from './sysctl.js';

export interface ProbeOptions {
  /** Name to record for the namespace we run in (set by the --netns re-exec). */
  netnsName?: string | null;
}

/** The installation's identity (machine-id(5)): /etc/machine-id, or D-Bus's copy on systems
 *  without one; null when neither is a 32-hex-digit id (an empty /etc/machine-id on a fresh image). */
function readMachineId(): string | null {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(path, 'utf8').trim().toLowerCase();
      if (/^[0-9a-f]{32}$/.test(id)) return id;
    } catch {
      // try the next one
    }
  }
  return null;
}

/** Reads a file and parses it; a missing file or parse problems become error entries (also the
 *  monitor's counter reader, src/probe/counters.ts). */
export function readParsed<T>(path: string, section: string, parse: (t: string) => Parsed<T>, errors: ProbeError[], read: (path: string) => string = (p) => readFileSync(p, 'utf8')): T | null {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    errors.push({ section, source: path, message: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    return null;
  }
  const parsed = parse(text);
  for (const p of parsed.problems) errors.push({ section, source: path, message: p });
  return parsed.data;
}

function readTrim(path: string, section: string, errors: ProbeError[]): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    errors.push({ section, source: path, message: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    return null;
  }
}

/** Page size: AT_PAGESZ (6) from our auxiliary vector (getauxval(3); Node has no getpagesize),
 *  pairs of native-endian 64-bit words; else the first mapping of our smaps (a 32-bit host). */
function pageSize(): number {
  try {
    const auxv = readFileSync('/proc/self/auxv');
    if (process.arch === 'x64' || process.arch === 'arm64' || process.arch === 'ppc64' || process.arch === 's390x' || process.arch === 'riscv64') {
      const le = process.arch !== 's390x';
      for (let i = 0; i + 16 <= auxv.length; i += 16) {
        const type = le ? auxv.readBigUInt64LE(i) : auxv.readBigUInt64BE(i);
        if (type === 0n) break;
        if (type === 6n) return Number(le ? auxv.readBigUInt64LE(i + 8) : auxv.readBigUInt64BE(i + 8));
      }
    }
  } catch {
    // fall through
  }
  try {
    const head = readFileSync('/proc/self/smaps', 'utf8').slice(0, 4096);
    const m = /KernelPageSize:\s+(\d+) kB/.exec(head);
    if (m) return Number(m[1]) * 1024;
  } catch {
    // fall through
  }
  return 4096;
}

export { countCpuList } from './assemble.js';

export { parseWordPairs } from './commands.js';

const SLAB_DIR = '/sys/kernel/slab/nf_conntrack';

/** What one conntrack entry costs on this kernel: SLUB's sysfs view of the nf_conntrack cache,
 *  else the /proc/slabinfo row (both root only: 0400); null, with the reason in errors, else. */
function readConntrackSlab(errors: ProbeError[]): ConntrackSlab | null {
  if (existsSync(`${SLAB_DIR}/slab_size`)) {
    try {
      const parsed = parseSlabSysfs(readFileSync(`${SLAB_DIR}/object_size`, 'utf8'), readFileSync(`${SLAB_DIR}/slab_size`, 'utf8'));
      for (const m of parsed.problems) errors.push({ section: 'conntrack.slab', source: SLAB_DIR, message: m });
      if (parsed.data) return parsed.data;
    } catch (err) {
      errors.push({ section: 'conntrack.slab', source: SLAB_DIR, message: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    }
  }
  return readParsed('/proc/slabinfo', 'conntrack.slab', parseSlabinfo, errors);
}

/** The kernel's boot id (random per boot; the same in every namespace), when readable. */
const bootId = (errors: Snapshot['errors']): string | null => readTrim('/proc/sys/kernel/random/boot_id', 'boot_id', errors);

export async function probe(opts: ProbeOptions = {}): Promise<Snapshot> {
  // process.hrtime, not performance.now(): the `performance` global loads perf_hooks on first use
  // (~1.5 ms of a one-shot probe's main thread, --cpu-prof)
  const started = process.hrtime.bigint();
  const takenAt = new Date().toISOString();
  const errors: ProbeError[] = [];
  const ip = ['ip', which('ip')] as const;
  const tc = ['tc', which('tc')] as const;
  const ethtool = which('ethtool');
  if (!ethtool) errors.push({ section: 'links.ethtool', source: 'ethtool', message: 'ethtool: not installed (offloads, rings, coalescing, channels, RSS not probed)' });

  // The external commands run while this thread reads /proc and /proc/sys: ip, tc, every
  // ethtool query and the find(1) that gives the sysctl modes, as one batch (batch.ts: one Node
  // spawn instead of a dozen, each of which blocks this thread until its child has exec'd).
  const devices = listDevices();
  const batch = batchRunner();
  const commands = startIpTc(ip, tc, errors, batch.run);
  const ethtoolRuns = new Map<string, Promise<EthtoolInfo>>();
  if (ethtool) {
    const exec = (args: string[]): Promise<RunResult> => batch.run(ethtool, args, { timeoutMs: 5000 });
    for (const dev of devices) {
      const physical = existsSync(`/sys/class/net/${dev}/device`);
      ethtoolRuns.set(dev, probeEthtool(exec, dev, { physical, rxQueues: readQueues(dev).rx, channels: hasChannels(sysfsKind(dev)) }, errors));
    }
  }
  const find = which('find');
  const modes = find ? batch.run(find, SPECIAL_MODES_FIND(), { timeoutMs: 10_000 }) : null;
  const nft = probeNftRuleset(which('nft'), batch.run, errors); // in the batch: no spawn of its own
  batch.flush();

  const counters: Snapshot['counters'] = {
    snmp: readParsed('/proc/net/snmp', 'counters.snmp', parseHeaderValuePairs, errors) ?? {},
    snmp6: readParsed('/proc/net/snmp6', 'counters.snmp6', parseSnmp6, errors) ?? {},
    netstat: readParsed('/proc/net/netstat', 'counters.netstat', parseHeaderValuePairs, errors) ?? {},
    sockstat: readParsed('/proc/net/sockstat', 'counters.sockstat', parseSockstat, errors) ?? {},
    sockstat6: readParsed('/proc/net/sockstat6', 'counters.sockstat6', parseSockstat, errors) ?? {},
    softnet: readParsed('/proc/net/softnet_stat', 'counters.softnet', parseSoftnet, errors) ?? [],
  };
  const walked = walkSysctls();
  const modeRes = await modes;
  const sys = classifySysctls(walked.reads, (modeRes?.ok ? modesFromFind(modeRes.stdout) : null) ?? statMode);
  errors.push(...walked.errors, ...sys.errors);
  const sysctl = sys.values;

  const meminfo = readParsed('/proc/meminfo', 'memory', parseMeminfo, errors) ?? {};
  const cpuList = readTrim('/sys/devices/system/cpu/online', 'cpus', errors) ?? '';
  let nsInode: number | null = null;
  try {
    nsInode = statSync('/proc/self/ns/net').ino;
  } catch (err) {
    errors.push({ section: 'netns', source: '/proc/self/ns/net', message: (err as Error).message });
  }
  let initInode: number | null = null;
  try {
    initInode = statSync('/proc/1/ns/net').ino;
  } catch {
    // not allowed to look at pid 1 (not root): leave unknown
  }

  const { ipAddr: ipRows, qdiscs, routes4, routes6, rules4, rules6, mptcpEndpoints, mptcpLimits } = await commands;
  const ethtoolInfo = new Map<string, EthtoolInfo>();
  for (const [dev, p] of ethtoolRuns) ethtoolInfo.set(dev, await p);
  const links = buildLinks({ devices, ipAddr: ipRows, qdiscs, ethtool: ethtoolInfo }, errors);

  return assembleSnapshot({
    takenAt,
    durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
    hostname: hostname(),
    bootId: bootId(errors),
    machineId: readMachineId(),
    netnsName: opts.netnsName ?? null,
    nsInode,
    initInode,
    kernel: {
      release: readTrim('/proc/sys/kernel/osrelease', 'kernel', errors),
      version: readTrim('/proc/sys/kernel/version', 'kernel', errors),
      machine: process.arch,
    },
    cpuList,
    meminfo,
    pageSize: pageSize(),
    sysctl,
    redacted: sys.redacted,
    counters,
    conntrackStats: () => readParsed('/proc/net/stat/nf_conntrack', 'conntrack', parseConntrackStat, errors) ?? [],
    conntrackSlab: () => readConntrackSlab(errors),
    links,
    routes4,
    routes6,
    rules4,
    rules6,
    mptcpEndpoints,
    mptcpLimits,
    nft: await nft,
    netManagers: (init) => detectNetManagers(hostFiles(), links, init, opts.netnsName ?? null),
    errors,
  });
}
