// Links: sysfs (/sys/class/net) for the device facts, `ip -j -d addr` for kind and addresses,
// `tc -j qdisc` for queueing, and ethtool (when installed) for offloads, rings, coalescing,
// channels and RSS.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { EthtoolInfo, Link, ProbeError } from '../snapshot/schema.js';
import { IFNAME } from '../sys/names.js';
import { run, type RunResult } from '../sys/run.js';
import type { Parsed } from './parse-proc.js';
import {
  parseCoalesce,
  parseDriverInfo,
  parseFeaturesJson,
  parseFeaturesText,
  parseFlowHash,
  parseMaxCurrent,
  parseRss,
} from './parse-ethtool.js';

const SYS_NET = '/sys/class/net';

/** What links read from sysfs, as functions: the live host's files, or (fleet) the text a remote
 *  host sent (src/probe/raw.ts). */
export interface SysfsReader {
  text: (path: string) => string | null;
  list: (dir: string) => string[];
  link: (path: string) => string | null;
  exists: (path: string) => boolean;
}

export const liveSysfs: SysfsReader = {
  text: (path) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return null; // many attributes (speed, duplex) refuse reads on virtual or down devices
    }
  },
  list: (dir) => readdirSync(dir),
  link: (path) => {
    try {
      return readlinkSync(path);
    } catch {
      return null;
    }
  },
  exists: existsSync,
};

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function readNumber(path: string, fs: SysfsReader): number | null {
  const t = fs.text(path);
  if (t === null || !/^-?\d+$/.test(t)) return null;
  return Number(t);
}

/** A device's counters (statistics/*). `sysNet`: another view of /sys/class/net (the monitor's
 *  sampler reads a namespace's through /proc/PID/root/sys/class/net). */
export function readStatistics(dev: string, errors: ProbeError[], sysNet = SYS_NET, fs: SysfsReader = liveSysfs): Record<string, number> {
  const dir = `${sysNet}/${dev}/statistics`; // (a template, not path.join: this runs every sample)
  const out: Record<string, number> = {};
  let names: string[];
  try {
    names = fs.list(dir);
  } catch (err) {
    errors.push({ section: `links.${dev}.statistics`, source: dir, message: (err as Error).message });
    return out;
  }
  const paths = pathsIn(dir, names);
  for (let i = 0; i < names.length; i++) {
    const v = readNumber(paths[i] as string, fs);
    if (v !== null) out[names[i] as string] = v;
  }
  return out;
}

/** The files' paths for a listing a sampler keeps (the same array every sample: worked out once). */
const listedPaths = new WeakMap<readonly string[], { dir: string; paths: string[] }>();

function pathsIn(dir: string, names: readonly string[]): string[] {
  const kept = listedPaths.get(names);
  if (kept && kept.dir === dir) return kept.paths;
  const paths = names.map((name) => `${dir}/${name}`);
  listedPaths.set(names, { dir, paths });
  return paths;
}

export function readQueues(dev: string, fs: SysfsReader = liveSysfs): { rx: number; tx: number; rps: string[]; xps: string[] } {
  const dir = join(SYS_NET, dev, 'queues');
  let names: string[] = [];
  try {
    names = fs.list(dir);
  } catch {
    // devices without queues directory (rare)
  }
  const byIndex = (prefix: string): string[] =>
    names.filter((n) => n.startsWith(prefix)).sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  const rxq = byIndex('rx-');
  const txq = byIndex('tx-');
  return {
    rx: rxq.length,
    tx: txq.length,
    rps: rxq.map((q) => fs.text(join(dir, q, 'rps_cpus')) ?? ''),
    xps: txq.map((q) => fs.text(join(dir, q, 'xps_cpus')) ?? ''),
  };
}

function driverOf(dev: string, fs: SysfsReader): string | null {
  const target = fs.link(join(SYS_NET, dev, 'device', 'driver'));
  return target === null ? null : basename(target);
}

/** The devices to probe: /sys/class/net (ip's view fills in when sysfs is not namespaced). */
export function listDevices(sysNet = SYS_NET, fs: SysfsReader = liveSysfs): string[] {
  try {
    return fs.list(sysNet).filter((n) => IFNAME.test(n)).sort();
  } catch {
    return [];
  }
}

/** Kinds whose drivers have no get_channels, so `ethtool -l` can only say "Operation not
 *  supported" (null): loopback (loopback_ethtool_ops: get_link, get_ts_info) and bridge (checked
 *  with ethtool 6.1 on kernel 6.18). Not asking saves a process per such device. The kind comes
 *  from sysfs, so ethtool starts with the other commands instead of after `ip -d addr`: the
 *  LOOPBACK flag (IFF_LOOPBACK, 0x8, in `flags`) and the `bridge` directory a bridge has. An ifb
 *  device (no get_channels either) has nothing of its own in sysfs: it is asked, and answers null. */
const NO_CHANNELS = new Set(['loopback', 'bridge']);

/** The kind sysfs shows for the kinds that matter to ethtool, or undefined. */
export function sysfsKind(dev: string, fs: SysfsReader = liveSysfs): string | undefined {
  const flags = fs.text(join(SYS_NET, dev, 'flags'));
  if (flags !== null && /^0x[0-9a-f]+$/i.test(flags) && (parseInt(flags, 16) & 0x8) !== 0) return 'loopback';
  if (fs.exists(join(SYS_NET, dev, 'bridge'))) return 'bridge';
  return undefined;
}

export const hasChannels = (kind: string | undefined): boolean => kind === undefined || !NO_CHANNELS.has(kind);

interface EthtoolCall<T> {
  args: (dev: string) => string[];
  parse: (text: string) => Parsed<T>;
}

const features: EthtoolCall<EthtoolInfo['features']> = {
  // ethtool 6.1's JSON writer escapes "'" as \' (not JSON): such names are read as text
  // eslint-disable-next-line no-control-regex
  args: (dev) => (/['"\\\x00-\x1f]/.test(dev) ? ['-k', dev] : ['--json', '-k', dev]),
  parse: (text) => (text.trimStart().startsWith('[') ? parseFeaturesJson(text) : parseFeaturesText(text)),
};

const FLOW_TYPES = ['tcp4', 'udp4', 'tcp6', 'udp6'] as const;

/** Runs the ethtool queries for one device concurrently. Virtual devices get features and
 *  channels only (no rings, coalescing or driver firmware to report; ip gives their kind); RSS
 *  and flow hashing are asked only where there is more than one RX queue to spread over.
 *  "Operation not supported" is an answer (null), not an error. */
export async function probeEthtool(
  /** ethtool's path, or (fleet) a function answering from a remote host's recorded output */
  ethtool: string | ((args: string[]) => Promise<RunResult>),
  dev: string,
  { physical, rxQueues, channels: askChannels = true }: { physical: boolean; rxQueues: number; channels?: boolean },
  errors: ProbeError[],
): Promise<EthtoolInfo> {
  const spreads = physical && rxQueues > 1;
  const exec = typeof ethtool === 'string' ? (args: string[]) => run(ethtool, args, { timeoutMs: 5000 }) : ethtool;
  const call = async <T>(what: string, c: EthtoolCall<T>): Promise<T | null> => {
    let res = await exec(c.args(dev));
    if (!res.ok && c.args(dev)[0] === '--json') res = await exec(c.args(dev).slice(1));
    if (!res.ok) {
      if (!/not supported|no data available|operation not permitted/i.test(res.stderr + res.stdout)) {
        errors.push({ section: `links.${dev}.ethtool.${what}`, source: `ethtool ${c.args(dev).join(' ')}`, message: res.error ?? 'failed' });
      }
      return null;
    }
    const parsed = c.parse(res.stdout);
    for (const p of parsed.problems) errors.push({ section: `links.${dev}.ethtool.${what}`, source: `ethtool ${c.args(dev).join(' ')}`, message: p });
    return parsed.data;
  };
  const text = <T>(flag: string, parse: (t: string) => Parsed<T>): EthtoolCall<T> => ({ args: (d) => [flag, d], parse });
  const [feat, channels, driverInfo, rings, coalesce, rss, ...hashes] = await Promise.all([
    call('features', features),
    askChannels ? call('channels', text('-l', parseMaxCurrent)) : null,
    physical ? call('driver_info', text('-i', parseDriverInfo)) : null,
    physical ? call('rings', text('-g', parseMaxCurrent)) : null,
    physical ? call('coalesce', text('-c', parseCoalesce)) : null,
    spreads ? call('rss', text('-x', parseRss)) : null,
    ...FLOW_TYPES.map((ft) => (spreads ? call(`flow_hash.${ft}`, { args: (d) => ['-n', d, 'rx-flow-hash', ft], parse: parseFlowHash }) : null)),
  ]);
  let flowHash: Record<string, string[]> | null = null;
  hashes.forEach((h, i) => {
    if (h) (flowHash ??= {})[FLOW_TYPES[i] ?? ''] = h;
  });
  return {
    features: feat ?? null,
    channels: channels ?? null,
    driver_info: driverInfo ?? null,
    rings: rings ?? null,
    coalesce: coalesce ?? null,
    rss: rss ?? null,
    flow_hash: flowHash,
  };
}

export interface LinkInputs {
  devices: string[];
  /** `ip -j -d addr show` output (may be empty when ip is missing). */
  ipAddr: unknown[];
  /** `tc -j qdisc show` output. */
  qdiscs: unknown[];
  ethtool: Map<string, EthtoolInfo>;
}

/** Builds the links section from sysfs plus the command outputs gathered by the caller. */
export function buildLinks(inputs: LinkInputs, errors: ProbeError[], fs: SysfsReader = liveSysfs): Link[] {
  const ipByName = new Map<string, Json>();
  for (const l of inputs.ipAddr) if (isRecord(l) && typeof l.ifname === 'string') ipByName.set(l.ifname, l);
  const names = [...new Set([...inputs.devices, ...ipByName.keys()])].sort();
  return names.map((name) => {
    const ip = ipByName.get(name) ?? {};
    const base = join(SYS_NET, name);
    const queues = readQueues(name, fs);
    const readText = fs.text;
    const linkinfo = isRecord(ip.linkinfo) ? ip.linkinfo : {};
    const eth = inputs.ethtool.get(name) ?? null;
    const carrier = readNumber(join(base, 'carrier'), fs);
    const speed = readNumber(join(base, 'speed'), fs);
    const addrInfo = Array.isArray(ip.addr_info) ? ip.addr_info : [];
    return {
      name,
      ifindex: readNumber(join(base, 'ifindex'), fs) ?? num(ip.ifindex),
      kind: str(linkinfo.info_kind),
      link_type: str(ip.link_type),
      state: readText(join(base, 'operstate')) ?? str(ip.operstate)?.toLowerCase() ?? 'unknown',
      flags: Array.isArray(ip.flags) ? ip.flags.filter((f): f is string => typeof f === 'string') : [],
      mtu: readNumber(join(base, 'mtu'), fs) ?? num(ip.mtu),
      address: readText(join(base, 'address')) ?? str(ip.address),
      txqlen: readNumber(join(base, 'tx_queue_len'), fs) ?? num(ip.txqlen),
      driver: driverOf(name, fs) ?? eth?.driver_info?.driver ?? null,
      physical: fs.exists(join(base, 'device')),
      speed_mbps: speed !== null && speed >= 0 ? speed : null,
      duplex: readText(join(base, 'duplex')),
      carrier: carrier === null ? null : carrier === 1,
      rx_queues: queues.rx || (num(ip.num_rx_queues) ?? 0),
      tx_queues: queues.tx || (num(ip.num_tx_queues) ?? 0),
      rps_cpus: queues.rps,
      xps_cpus: queues.xps,
      addresses: addrInfo.filter(isRecord).map((a) => ({
        family: str(a.family) ?? '',
        local: str(a.local) ?? '',
        prefixlen: num(a.prefixlen) ?? 0,
      })),
      statistics: readStatistics(name, errors, SYS_NET, fs),
      qdiscs: inputs.qdiscs.filter((q): q is Json => isRecord(q) && q.dev === name),
      ethtool: eth,
    };
  });
}
