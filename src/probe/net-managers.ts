// What configures each interface, from facts on the host (never from guesses): the state files
// systemd-networkd, NetworkManager and ifupdown keep, the processes that run, and the stanzas of
// /etc/network/interfaces. apply --persist writes a link's routes and rules where its manager
// reads them (src/apply/persist-routes*.ts); plan says which per interface.
//   systemd-networkd: runs (a process named systemd-network: comm is cut at 15 characters) and
//     /run/systemd/netif/links/IFINDEX names the .network file it applied (NETWORK_FILE=, what
//     `networkctl status IF` prints as "Network File:"; ADMIN_STATE=unmanaged: not managed).
//   NetworkManager: runs and /run/NetworkManager/devices/IFINDEX says managed=true.
//   ifupdown: /sbin/ifup exists and /etc/network/interfaces (with the files its `source` and
//     `source-directory` lines include, interfaces(5)) has an `iface IF …` stanza; whether ifup
//     brought it up is /run/network/ifstate (`IF=LOGICAL` lines) or /run/network/ifstate.IF.
// None of them configures a namespace other than the initial one: there every link is 'none'.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetManagerName } from '../snapshot/plain.js';

export interface NetManagerLink {
  name: string;
  manager: NetManagerName;
  /** The systemd-networkd .network file (absolute path), or the interfaces file with the stanza. */
  file: string | null;
  /** The facts the verdict rests on, in one sentence. */
  evidence: string;
}

export interface NetManagers {
  networkd: boolean;
  network_manager: boolean;
  ifupdown: boolean;
  links: NetManagerLink[];
}

/** Reads files of a host, under a root ('/' live; a fixture tree in tests). null: absent/unreadable. */
export interface HostFiles {
  text(path: string): string | null;
  list(dir: string): string[] | null;
  exists(path: string): boolean;
}

export function hostFiles(root = '/'): HostFiles {
  return {
    text: (p) => {
      try {
        return readFileSync(join(root, p), 'utf8');
      } catch {
        return null;
      }
    },
    list: (d) => {
      try {
        return readdirSync(join(root, d));
      } catch {
        return null;
      }
    },
    exists: (p) => existsSync(join(root, p)),
  };
}

/** Process names (/proc/PID/comm) that are running, of those asked for. */
function running(fs: HostFiles, names: readonly string[]): Set<string> {
  const found = new Set<string>();
  for (const pid of fs.list('/proc') ?? []) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = fs.text(`/proc/${pid}/comm`)?.trim();
    if (comm && names.includes(comm)) found.add(comm);
    if (found.size === names.length) break;
  }
  return found;
}

/** KEY=VALUE lines (systemd's state files, NetworkManager's keyfile without its sections). */
const keyValues = (text: string): Map<string, string> => {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !line.startsWith('#') && !line.startsWith('[')) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
};

const MAX_FILES = 256;
const MAX_DEPTH = 8;
/** run-parts' names, which source-directory includes (interfaces(5)). */
const RUN_PARTS_NAME = /^[a-zA-Z0-9_-]+$/;

const globRegex = (pattern: string): RegExp =>
  new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\[!/g, '[^')}$`);

/** The paths a `source` pattern names: wildcards in the last component, as the shell expands them
 *  (sorted; a pattern that matches nothing includes nothing). Relative: to the including file's directory. */
function expandSource(fs: HostFiles, pattern: string, from: string): string[] {
  const abs = pattern.startsWith('/') ? pattern : join(from.slice(0, from.lastIndexOf('/')) || '/', pattern);
  const slash = abs.lastIndexOf('/');
  const dir = abs.slice(0, slash) || '/';
  const base = abs.slice(slash + 1);
  if (!/[*?[]/.test(base)) return fs.text(abs) === null ? [] : [abs];
  const re = globRegex(base);
  return (fs.list(dir) ?? []).filter((n) => !n.startsWith('.') && re.test(n)).sort().map((n) => join(dir, n));
}

export interface Stanza {
  iface: string;
  file: string;
  line: number;
}

/** Every `iface NAME …` stanza of /etc/network/interfaces and the files it includes. */
export function ifupdownStanzas(fs: HostFiles, start = '/etc/network/interfaces'): { stanzas: Stanza[]; files: string[] } {
  const stanzas: Stanza[] = [];
  const files: string[] = [];
  const visit = (path: string, depth: number): void => {
    if (files.includes(path) || files.length >= MAX_FILES || depth > MAX_DEPTH) return;
    const text = fs.text(path);
    if (text === null) return;
    files.push(path);
    // a line ending in a backslash continues on the next (interfaces(5))
    const lines = text.replace(/\\\n/g, ' ').split('\n');
    lines.forEach((raw, i) => {
      const w = raw.trim().split(/\s+/);
      if (w[0] === 'iface' && w[1]) stanzas.push({ iface: w[1], file: path, line: i + 1 });
      else if (w[0] === 'source' && w[1]) for (const f of expandSource(fs, w[1], path)) visit(f, depth + 1);
      else if (w[0] === 'source-directory' && w[1]) {
        const dir = w[1].startsWith('/') ? w[1] : join(path.slice(0, path.lastIndexOf('/')) || '/', w[1]);
        for (const n of (fs.list(dir) ?? []).filter((x) => RUN_PARTS_NAME.test(x)).sort()) visit(join(dir, n), depth + 1);
      }
    });
  };
  visit(start, 0);
  return { stanzas, files };
}

/** Interfaces ifup brought up, from its state (ifupdown 0.8: /run/network/ifstate lines IF=LOGICAL,
 *  and one /run/network/ifstate.IF file per interface). */
function ifupState(fs: HostFiles): Set<string> {
  const up = new Set<string>();
  for (const line of (fs.text('/run/network/ifstate') ?? '').split('\n')) {
    const m = /^([^=\s]+)=\S+/.exec(line.trim());
    if (m?.[1]) up.add(m[1]);
  }
  for (const f of fs.list('/run/network') ?? []) if (f.startsWith('ifstate.') && (fs.text(`/run/network/${f}`) ?? '').trim()) up.add(f.slice('ifstate.'.length));
  return up;
}

/** The verdict for every link. `initNetns` false: nothing is managed (see the header). */
export function detectNetManagers(fs: HostFiles, links: readonly { name: string; ifindex: number | null }[], initNetns: boolean, netnsName: string | null = null): NetManagers {
  if (!initNetns) {
    const why = `namespace ${netnsName ?? '(unnamed)'} is not the initial one: systemd-networkd, NetworkManager and ifupdown configure the initial namespace only`;
    return { networkd: false, network_manager: false, ifupdown: false, links: links.map((l) => ({ name: l.name, manager: 'none', file: null, evidence: why })) };
  }
  // /proc is walked only when a networkd or NetworkManager state file exists (the probe's cost)
  const stateFiles = (fs.list('/run/systemd/netif/links') ?? []).length + (fs.list('/run/NetworkManager/devices') ?? []).length;
  const procs = stateFiles ? running(fs, ['systemd-network', 'NetworkManager']) : new Set<string>();
  const networkd = procs.has('systemd-network');
  const nm = procs.has('NetworkManager');
  const ifupdown = ['/sbin/ifup', '/usr/sbin/ifup'].some((p) => fs.exists(p));
  const { stanzas, files } = ifupdownStanzas(fs);
  const ifstate = ifupState(fs);
  const out: NetManagerLink[] = links.map((l) => {
    const checked: string[] = [];
    if (l.ifindex !== null) {
      const state = fs.text(`/run/systemd/netif/links/${l.ifindex}`);
      if (state !== null) {
        const kv = keyValues(state);
        const file = kv.get('NETWORK_FILE') ?? '';
        const admin = kv.get('ADMIN_STATE') ?? '?';
        if (networkd && file && admin !== 'unmanaged' && admin !== 'linger')
          return { name: l.name, manager: 'networkd', file, evidence: `systemd-networkd runs; /run/systemd/netif/links/${l.ifindex}: ADMIN_STATE=${admin}, NETWORK_FILE=${file}` };
        checked.push(`/run/systemd/netif/links/${l.ifindex}: ADMIN_STATE=${admin}${file ? `, NETWORK_FILE=${file}` : ', no .network file'}${networkd ? '' : ' (systemd-networkd does not run)'}`);
      } else if (networkd) checked.push(`systemd-networkd runs but has no /run/systemd/netif/links/${l.ifindex}`);
      const nmState = fs.text(`/run/NetworkManager/devices/${l.ifindex}`);
      if (nmState !== null) {
        const managed = keyValues(nmState).get('managed');
        if (nm && managed === 'true') return { name: l.name, manager: 'NetworkManager', file: null, evidence: `NetworkManager runs; /run/NetworkManager/devices/${l.ifindex}: managed=true` };
        checked.push(`/run/NetworkManager/devices/${l.ifindex}: managed=${managed ?? '?'}${nm ? '' : ' (NetworkManager does not run)'}`);
      }
    }
    const stanza = stanzas.find((s) => s.iface === l.name);
    if (stanza) {
      const where = `iface ${l.name} in ${stanza.file} line ${stanza.line}`;
      if (ifupdown) return { name: l.name, manager: 'ifupdown', file: stanza.file, evidence: `${where}; ${ifstate.has(l.name) ? 'up from it (/run/network/ifstate)' : 'not up from it now (/run/network/ifstate)'}` };
      checked.push(`${where}, but ifupdown is not installed (no /sbin/ifup)`);
    }
    if (!checked.length) {
      const at = l.ifindex === null ? 'no ifindex' : `no /run/systemd/netif/links/${l.ifindex}, no /run/NetworkManager/devices/${l.ifindex}`;
      checked.push(`${at}, no iface ${l.name} stanza in ${files.length ? files.join(', ') : '/etc/network/interfaces (absent)'}`);
    }
    return { name: l.name, manager: 'none', file: null, evidence: checked.join('; ') };
  });
  return { networkd, network_manager: nm, ifupdown, links: out };
}
