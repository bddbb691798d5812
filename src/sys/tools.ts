// Which external tools a command needs, where they are, and (as root) installing the Debian
// package that brings a missing one. Nothing else in nettune decides about packages.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { environmentError } from './errors.js';
import { run } from './run.js';

/** Tool → Debian package that ships it. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  tc: 'iproute2',
  ss: 'iproute2',
  ethtool: 'ethtool',
  sysctl: 'procps',
  nft: 'nftables',
  conntrack: 'conntrack',
  iperf3: 'iperf3',
  ping: 'iputils-ping',
  cc: 'gcc',
  python3: 'python3',
  mptcpize: 'mptcpd',
  ansible: 'ansible',
  'ansible-playbook': 'ansible',
  'ansible-inventory': 'ansible',
};

const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const found = new Map<string, string | null>();

/** Absolute path of `tool`, searching PATH and the sbin directories a non-root PATH may lack. */
export function which(tool: string): string | null {
  const cached = found.get(tool);
  if (cached !== undefined) return cached;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  let hit: string | null = null;
  for (const dir of dirs) {
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      hit = candidate;
      break;
    } catch {
      // not here
    }
  }
  found.set(tool, hit);
  return hit;
}

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export interface EnsureOptions {
  /** Allowed to run apt-get (root, and not disabled by NETTUNE_NO_INSTALL=1). */
  install: boolean;
  log: (line: string) => void;
}

let aptUpdated = false;

/** Make sure `tools` exist; as root install what is missing with apt-get (update once first).
 *  Returns the tools still missing, each with the reason, so callers can degrade and say why. */
export async function ensureTools(tools: readonly string[], opts: EnsureOptions): Promise<string[]> {
  const missing = [...new Set(tools)].filter((t) => which(t) === null);
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.map((t) => TOOL_PACKAGES[t] ?? t))];
  const apt = which('apt-get');
  if (!opts.install || !apt) {
    const why = !apt ? 'apt-get is not available' : isRoot() ? 'installing is disabled (NETTUNE_NO_INSTALL)' : 'not root';
    opts.log(`nettune: missing ${missing.join(', ')} (${why}); install with: apt-get install ${packages.join(' ')}`);
    return missing;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    opts.log('nettune: apt-get update');
    await run(apt, ['update', '-qq'], { timeoutMs: 300_000, env });
    aptUpdated = true;
  }
  opts.log(`nettune: installing ${packages.join(' ')} (for ${missing.join(', ')}) with apt-get`);
  const res = await run(apt, ['install', '-y', '-qq', '--no-install-recommends', ...packages], { timeoutMs: 600_000, env });
  if (!res.ok) opts.log(`nettune: apt-get install failed: ${res.error ?? ''}`);
  for (const t of missing) found.delete(t);
  return missing.filter((t) => which(t) === null);
}

export const installAllowed = (): boolean => isRoot() && process.env.NETTUNE_NO_INSTALL !== '1';

/** The tool's path, or an environment error (exit 3) naming the Debian package that brings it. */
export function requireTool(name: string): string {
  const path = which(name);
  if (!path) throw environmentError(`${name} is not installed`, `apt-get install ${TOOL_PACKAGES[name] ?? name}`);
  return path;
}
