// A Snapshot from raw text another host sent (fleet collect): the same sources the live probe
// reads — `sysctl -a`, /proc/net, `ip -j`, `tc -j`, sysfs, ethtool — gathered there by fixed
// commands with nothing of nettune installed, parsed here by the probe's own parsers and
// assembled by the same code (assemble.ts). A source that failed there is an `errors` entry.
import { parseSysctlConf } from '../lint/parse.js';
import type { EthtoolInfo, ProbeError, Snapshot, SysctlRedaction } from '../snapshot/schema.js';
import type { RunResult } from '../sys/run.js';
import { assembleSnapshot, parseJsonRows } from './assemble.js';
import { parseWordPairs } from './index.js';
import { buildLinks, listDevices, probeEthtool, readQueues, type SysfsReader } from './links.js';
import {
  type Parsed,
  parseConntrackSlab,
  parseConntrackStat,
  parseHeaderValuePairs,
  parseMeminfo,
  parseSnmp6,
  parseSockstat,
  parseSoftnet,
} from './parse-proc.js';
import { EXTRA_SYSCTLS, isSecret, normaliseValue } from './sysctl.js';
import { nftFromText } from './parse-nft.js';
import { detectNetManagers, type HostFiles } from './net-managers.js';

/** One source's result on the remote host. */
export interface RawSource {
  rc: number | null;
  stdout: string;
  stderr: string;
}

/** Marks the start of one ethtool answer in the `ethtool` source: `MARK RC ARGS…`. */
export const ETHTOOL_MARK = '@@nettune-ethtool@@';

const ETHTOOL_QUERIES = ['-l', '-i', '-g', '-c', '-x'];
const FLOW_TYPES = ['tcp4', 'udp4', 'tcp6', 'udp6'];

/** Every ethtool query the probe may ask, for each device (the remote shell loop; `$d` is the
 *  device name, quoted). A failed query is re-run with stderr so its reason travels. */
const ethtoolScript = (mark: string): string => {
  const q = (args: string): string =>
    `o=$(ethtool ${args} 2>/dev/null); r=$?; [ $r -eq 0 ] || o=$(ethtool ${args} 2>&1); printf '%s %s %s\\n%s\\n' '${mark}' "$r" "${args.replace(/"/g, '')}" "$o"`;
  return [
    'command -v ethtool >/dev/null 2>&1 || { echo "ethtool: not installed"; exit 127; }',
    'for p in /sys/class/net/*; do d=${p##*/}',
    // the probe asks ethtool 6.1 for text where its JSON writer would break on the name, and
    // falls back to text when --json fails
    `case "$d" in *[\\'\\"\\\\]*) ${q('-k "$d"')};; *) ${q('--json -k "$d"')}; [ $r -eq 0 ] || { ${q('-k "$d"')}; };; esac`,
    ...ETHTOOL_QUERIES.map((f) => (f === '-l' ? q(`${f} "$d"`) : `[ -e "$p/device" ] && { ${q(`${f} "$d"`)}; }`)),
    ...FLOW_TYPES.map((ft) => `[ -e "$p/device" ] && { ${q(`-n "$d" rx-flow-hash ${ft}`)}; }`),
    'done; true',
  ].join('\n');
};

/** The sysfs attributes links read, as `path:value` lines (grep -H), and the paths that exist. */
const SYSFS_FILES = ['operstate', 'mtu', 'address', 'tx_queue_len', 'speed', 'duplex', 'carrier', 'ifindex', 'statistics/*', 'queues/*/rps_cpus', 'queues/*/xps_cpus'];

/** Source name → the fixed POSIX sh command that gathers it (no data in them: nothing is
 *  interpolated, so a playbook can carry them verbatim). */
export function rawSourceCommands(mark = ETHTOOL_MARK): Record<string, string> {
  const cat = (path: string): string => `cat ${path}`;
  return {
    // --deprecated: procps hides base_reachable_time and retrans_time from -a, the probe lists them;
    // secrets are blanked on the host, so their values never travel (the probe never reads them)
    sysctl: `{ sysctl -a --deprecated || sysctl -a; } | sed -E 's/^(net\\.ipv4\\.tcp_fastopen_key|[^ =]+\\.stable_secret) = .*$/\\1 = <redacted>/'`,
    // the files the host keeps from group and others, each `secret PATH`, or `unset PATH` when
    // reading it fails (EIO: an IPv6 stable_secret nobody set); the value goes to /dev/null there
    sysctl_secret: 'find /proc/sys/net -type f -perm -0400 ! -perm /0044 | while read -r f; do if cat "$f" >/dev/null 2>&1; then echo "secret $f"; else echo "unset $f"; fi; done',
    snmp: cat('/proc/net/snmp'),
    snmp6: cat('/proc/net/snmp6'),
    netstat: cat('/proc/net/netstat'),
    sockstat: cat('/proc/net/sockstat'),
    sockstat6: cat('/proc/net/sockstat6'),
    softnet: cat('/proc/net/softnet_stat'),
    conntrack: 'if [ -e /proc/sys/net/netfilter/nf_conntrack_max ]; then cat /proc/net/stat/nf_conntrack; fi',
    // what one entry costs there (parse-proc.ts parseConntrackSlab): SLUB sysfs, else slabinfo
    conntrack_slab:
      'd=/sys/kernel/slab/nf_conntrack; if [ ! -e /proc/sys/net/netfilter/nf_conntrack_max ]; then true; elif [ -r "$d/slab_size" ]; then printf \'sysfs %s %s\\n\' "$(cat "$d/object_size")" "$(cat "$d/slab_size")"; elif [ -r /proc/slabinfo ]; then cat /proc/slabinfo; else echo "neither $d nor /proc/slabinfo is readable (root only)" >&2; exit 1; fi',
    meminfo: cat('/proc/meminfo'),
    cpus: cat('/sys/devices/system/cpu/online'),
    osrelease: cat('/proc/sys/kernel/osrelease'),
    version: cat('/proc/sys/kernel/version'),
    boot_id: cat('/proc/sys/kernel/random/boot_id'),
    machine_id: 'cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id',
    uname: 'uname -n -m',
    netns: 'stat -L -c %i /proc/self/ns/net; stat -L -c %i /proc/1/ns/net 2>/dev/null || true',
    page_size: 'getconf PAGESIZE',
    ip_addr: 'ip -j -d addr show',
    tc_qdisc: 'tc -j qdisc show',
    route4: 'ip -j -4 route show table all',
    route6: 'ip -j -6 route show table all',
    rule4: 'ip -j -4 rule show',
    rule6: 'ip -j -6 rule show',
    mptcp_endpoints: 'ip -j mptcp endpoint show',
    mptcp_limits: 'ip -j mptcp limits show',
    nft: 'nft -j list ruleset',
    sysfs: `cd /sys/class/net && grep -H '' ${SYSFS_FILES.map((f) => `*/${f}`).join(' ')} 2>/dev/null; true`,
    sysfs_paths: 'cd /sys/class/net && ls -d */queues/* */device 2>/dev/null; for l in */device/driver; do [ -e "$l" ] && printf \'%s -> %s\\n\' "$l" "$(readlink "$l")"; done; true',
    ethtool: ethtoolScript(mark),
    // what configures each link (net-managers.ts): the state files of networkd, NetworkManager and
    // ifupdown, /etc/network/interfaces with interfaces.d (files sourced from elsewhere are not
    // gathered), whether ifup is installed, and the two daemons' process names
    net_managers: [
      `for f in /run/systemd/netif/links/* /run/NetworkManager/devices/* /run/network/ifstate /run/network/ifstate.* /etc/network/interfaces /etc/network/interfaces.d/*; do [ -f "$f" ] && { printf '${NET_FILE_MARK} %s\\n' "$f"; cat "$f"; echo; }; done`,
      `for f in /sbin/ifup /usr/sbin/ifup; do [ -e "$f" ] && printf '${NET_EXISTS_MARK} %s\\n' "$f"; done`,
      `for c in /proc/[0-9]*/comm; do read -r n < "$c" && case $n in systemd-network|NetworkManager) printf '${NET_PROC_MARK} %s\\n' "$n";; esac; done 2>/dev/null; true`,
    ].join('\n'),
  };
}

const NET_FILE_MARK = '@@nettune-file@@';
const NET_EXISTS_MARK = '@@nettune-exists@@';
const NET_PROC_MARK = '@@nettune-proc@@';

/** The net_managers source as the files detectNetManagers reads (each file's text, the running
 *  daemons as /proc/N/comm, the paths that exist). */
export function netManagerFilesFromRaw(text: string): HostFiles {
  const files = new Map<string, string>();
  const exists = new Set<string>();
  let current: { path: string; lines: string[] } | null = null;
  let procs = 0;
  const flush = (): void => {
    if (current) files.set(current.path, current.lines.join('\n').replace(/\n$/, ''));
    current = null;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith(`${NET_FILE_MARK} `)) {
      flush();
      current = { path: line.slice(NET_FILE_MARK.length + 1), lines: [] };
    } else if (line.startsWith(`${NET_EXISTS_MARK} `)) {
      flush();
      exists.add(line.slice(NET_EXISTS_MARK.length + 1));
    } else if (line.startsWith(`${NET_PROC_MARK} `)) {
      flush();
      files.set(`/proc/${++procs}/comm`, `${line.slice(NET_PROC_MARK.length + 1)}\n`);
    } else current?.lines.push(line);
  }
  flush();
  const under = (dir: string): string[] => [...new Set([...files.keys()].filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1).split('/')[0] ?? ''))];
  return {
    text: (p) => files.get(p) ?? null,
    list: (d) => {
      const names = under(d.replace(/\/$/, ''));
      return names.length ? names : null;
    },
    exists: (p) => exists.has(p) || files.has(p),
  };
}

export interface RawOptions {
  /** What the fleet calls the host (inventory name), kept as the netns name is not known there. */
  takenAt?: string;
  durationMs?: number;
  mark?: string;
}

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

/** The sysfs text (`DEV/ATTR:value` lines and the path list) as a reader over /sys/class/net. */
export function sysfsFromRaw(values: string, paths: string): SysfsReader {
  const files = new Map<string, string>();
  const links = new Map<string, string>();
  const dirs = new Map<string, Set<string>>();
  const add = (rel: string): void => {
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dir = ['/sys/class/net', ...parts.slice(0, i)].join('/');
      let set = dirs.get(dir);
      if (!set) dirs.set(dir, (set = new Set()));
      set.add(parts[i] ?? '');
    }
  };
  for (const line of values.split('\n')) {
    const colon = line.indexOf(':'); // interface names never hold ':' (IFNAME)
    if (colon <= 0) continue;
    const rel = line.slice(0, colon);
    const path = `/sys/class/net/${rel}`;
    files.set(path, files.has(path) ? `${files.get(path) ?? ''}\n${line.slice(colon + 1)}` : line.slice(colon + 1));
    add(rel);
  }
  for (const line of paths.split('\n')) {
    const arrow = line.indexOf(' -> ');
    if (arrow > 0) links.set(`/sys/class/net/${line.slice(0, arrow)}`, line.slice(arrow + 4).trim());
    else if (line.trim()) add(line.trim());
  }
  return {
    text: (path) => (files.has(path) ? (files.get(path) ?? '').trim() : null),
    list: (dir) => {
      const set = dirs.get(dir.replace(/\/$/, ''));
      if (!set) throw new Error(`ENOENT: ${dir} not in the host's sysfs listing`);
      return [...set];
    },
    link: (path) => links.get(path) ?? null,
    exists: (path) => files.has(path) || dirs.has(path) || links.has(path) || [...dirs.entries()].some(([d, s]) => path.startsWith(`${d}/`) && s.has(path.slice(d.length + 1))),
  };
}

/** The `ethtool` source → a runner answering probeEthtool's questions from the recorded output. */
export function ethtoolFromRaw(text: string, mark = ETHTOOL_MARK): (args: string[]) => Promise<RunResult> {
  const answers = new Map<string, RunResult>();
  let current: { key: string; rc: number; lines: string[] } | null = null;
  const flush = (): void => {
    if (!current) return;
    const out = current.lines.join('\n');
    const ok = current.rc === 0;
    answers.set(current.key, { ok, code: current.rc, stdout: ok ? out : '', stderr: ok ? '' : out, ...(ok ? {} : { error: `ethtool ${current.key}: exit ${current.rc}: ${firstLine(out)}` }) });
  };
  for (const line of text.split('\n')) {
    if (line.startsWith(`${mark} `)) {
      flush();
      const m = /^(\d+) (.*)$/.exec(line.slice(mark.length + 1));
      current = m ? { key: (m[2] ?? '').trim(), rc: Number(m[1]), lines: [] } : null;
    } else current?.lines.push(line);
  }
  flush();
  return (args) => Promise.resolve(answers.get(args.join(' ')) ?? { ok: false, code: null, stdout: '', stderr: '', error: `ethtool ${args.join(' ')}: not asked on the host` });
}

/** Node's names for `uname -m` (the live probe records process.arch). */
const NODE_ARCH: Record<string, string> = { x86_64: 'x64', aarch64: 'arm64', armv7l: 'arm', i686: 'ia32', i386: 'ia32', ppc64le: 'ppc64', s390x: 's390x', riscv64: 'riscv64' };

/** `sysctl -a` text → the Snapshot's keys (net.* and the few others the probe records), secrets
 *  redacted as the probe does: named secrets and the files the host keeps from group and others. */
export function sysctlFromRaw(out: RawSource, secretPaths: string, errors: ProbeError[]): { values: Record<string, string>; redacted: Record<string, SysctlRedaction> } {
  const values: Record<string, string> = {};
  const redacted: Record<string, SysctlRedaction> = {};
  const secret = new Map<string, SysctlRedaction>();
  for (const line of secretPaths.split('\n')) {
    const m = /^(secret|unset) \/proc\/sys\/(.+)$/.exec(line.trim());
    if (m?.[2]) secret.set(m[2].split('/').map((s) => s.replace(/\./g, '/')).join('.'), m[1] === 'unset' ? 'unset' : 'secret');
  }
  const extra = new Set<string>(EXTRA_SYSCTLS);
  for (const a of parseSysctlConf(out.stdout, 'sysctl -a').assignments) {
    if (!a.key.startsWith('net.') && !extra.has(a.key)) continue;
    if (secret.has(a.key) || isSecret(a.key, null)) redacted[a.key] = 'secret';
    else values[a.key] = normaliseValue(a.value);
  }
  for (const [key, how] of secret) redacted[key] = how;
  // sysctl(8) names the keys it could not read
  for (const line of out.stderr.split('\n')) {
    const m = /reading key "([^"]+)"/.exec(line);
    if (m?.[1]?.startsWith('net.') && !(m[1] in redacted)) errors.push({ section: 'sysctl', source: 'sysctl -a', message: line.trim() });
  }
  if (out.rc !== 0 && Object.keys(values).length === 0) errors.push({ section: 'sysctl', source: 'sysctl -a', message: `exit ${out.rc}: ${firstLine(out.stderr)}` });
  return { values, redacted };
}

/** Builds one Snapshot from the sources another host sent (names as in rawSourceCommands). */
export async function snapshotFromRaw(sources: Readonly<Record<string, RawSource>>, opts: RawOptions = {}): Promise<Snapshot> {
  const commands = rawSourceCommands(opts.mark);
  const errors: ProbeError[] = [];
  const get = (name: string, section: string): string | null => {
    const s = sources[name];
    if (!s) {
      errors.push({ section, source: commands[name] ?? name, message: 'not gathered on the host' });
      return null;
    }
    if (s.rc !== 0) {
      errors.push({ section, source: commands[name] ?? name, message: `exit ${s.rc ?? '?'}${s.stderr.trim() ? `: ${firstLine(s.stderr)}` : ''}` });
      return null;
    }
    return s.stdout;
  };
  const parsed = <T>(name: string, section: string, parse: (t: string) => Parsed<T>): T | null => {
    const text = get(name, section);
    if (text === null) return null;
    const p = parse(text);
    for (const m of p.problems) errors.push({ section, source: commands[name] ?? name, message: m });
    return p.data;
  };
  const rows = (name: string, section: string, fallback?: (t: string) => unknown[] | null): unknown[] => {
    const text = get(name, section);
    return text === null ? [] : parseJsonRows(text, commands[name] ?? name, section, errors, fallback);
  };
  const trimmed = (name: string, section: string): string | null => get(name, section)?.trim() || null;

  const sysctlOut = sources.sysctl;
  const sys = sysctlOut ? sysctlFromRaw(sysctlOut, sources.sysctl_secret?.stdout ?? '', errors) : { values: {}, redacted: {} };
  if (!sysctlOut) errors.push({ section: 'sysctl', source: 'sysctl -a', message: 'not gathered on the host' });
  const [nodename, machine] = (trimmed('uname', 'kernel') ?? '').split(/\s+/);
  const [own, init] = (trimmed('netns', 'netns') ?? '').split('\n').map((l) => (/^\d+$/.test(l.trim()) ? Number(l.trim()) : null));

  const fs = sysfsFromRaw(get('sysfs', 'links') ?? '', get('sysfs_paths', 'links') ?? '');
  const ipAddr = rows('ip_addr', 'links');
  const devices = listDevices(undefined, fs);
  const ethtoolText = sources.ethtool;
  const ethtoolInfo = new Map<string, EthtoolInfo>();
  if (!ethtoolText || ethtoolText.rc === 127) {
    errors.push({ section: 'links.ethtool', source: 'ethtool', message: 'ethtool: not installed (offloads, rings, coalescing, channels, RSS not probed)' });
  } else {
    const answer = ethtoolFromRaw(ethtoolText.stdout, opts.mark);
    for (const dev of devices) ethtoolInfo.set(dev, await probeEthtool(answer, dev, { physical: fs.exists(`/sys/class/net/${dev}/device`), rxQueues: readQueues(dev, fs).rx }, errors));
  }
  const links = buildLinks({ devices, ipAddr, qdiscs: rows('tc_qdisc', 'links.qdisc'), ethtool: ethtoolInfo }, errors, fs);
  const machineId = trimmed('machine_id', 'machine_id')?.toLowerCase() ?? null;

  return assembleSnapshot({
    takenAt: opts.takenAt ?? new Date().toISOString(),
    durationMs: opts.durationMs ?? 0,
    hostname: nodename ?? 'unknown',
    bootId: trimmed('boot_id', 'boot_id'),
    machineId: machineId && /^[0-9a-f]{32}$/.test(machineId) ? machineId : null,
    netnsName: null,
    nsInode: own ?? null,
    initInode: init ?? null,
    kernel: { release: trimmed('osrelease', 'kernel'), version: trimmed('version', 'kernel'), machine: NODE_ARCH[machine ?? ''] ?? machine ?? 'unknown' },
    cpuList: trimmed('cpus', 'cpus') ?? '',
    meminfo: parsed('meminfo', 'memory', parseMeminfo) ?? {},
    pageSize: Number(trimmed('page_size', 'memory')) || 4096,
    sysctl: sys.values,
    redacted: sys.redacted,
    counters: {
      snmp: parsed('snmp', 'counters.snmp', parseHeaderValuePairs) ?? {},
      snmp6: parsed('snmp6', 'counters.snmp6', parseSnmp6) ?? {},
      netstat: parsed('netstat', 'counters.netstat', parseHeaderValuePairs) ?? {},
      sockstat: parsed('sockstat', 'counters.sockstat', parseSockstat) ?? {},
      sockstat6: parsed('sockstat6', 'counters.sockstat6', parseSockstat) ?? {},
      softnet: parsed('softnet', 'counters.softnet', parseSoftnet) ?? [],
    },
    conntrackStats: () => parsed('conntrack', 'conntrack', parseConntrackStat) ?? [],
    conntrackSlab: () => parsed('conntrack_slab', 'conntrack.slab', parseConntrackSlab),
    links,
    routes4: rows('route4', 'routes'),
    routes6: rows('route6', 'routes'),
    rules4: rows('rule4', 'rules'),
    rules6: rows('rule6', 'rules'),
    mptcpEndpoints: rows('mptcp_endpoints', 'mptcp'),
    // iproute2 6.1 prints limits as text even with -j: "add_addr_accepted 0 subflows 2"
    mptcpLimits: rows('mptcp_limits', 'mptcp', parseWordPairs),
    nft: ((t) => (t === null ? null : nftFromText(t, commands.nft ?? 'nft', errors)))(get('nft', 'nft')),
    ...((t) => (t === null ? {} : { netManagers: (init: boolean) => detectNetManagers(netManagerFilesFromRaw(t), links, init) }))(get('net_managers', 'net_managers')),
    errors,
  });
}
