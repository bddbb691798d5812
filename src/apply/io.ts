// Reading and writing the live system, in the current namespace or a named one. Only src/apply
// uses this: it is the one door through which nettune changes a host.
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { keyToPath, normaliseValue } from '../probe/sysctl.js';
import { parseFeaturesText, parseMaxCurrent, parseCoalesce } from '../probe/parse-ethtool.js';
import { validIfname } from '../sys/names.js';
import { run, type RunResult } from '../sys/run.js';
import { requireTool } from '../sys/tools.js';
import { ABSENT, readDir, readFileMeta, writeDir, writeFileMeta, writePersisted } from './file-state.js';
import type { Target } from './journal.js';
import { isNicGroup, readNic, writeNic } from './kind-nic.js';
import { parseSysfsPath, sysfsResolvedProblem } from './sysfs-path.js';
import { readMptcp, writeMptcp } from './kind-mptcp.js';
import { mptcpLabel } from '../plan/mptcp-change.js';
import { readRouting, writeRouting } from './kind-route.js';
import { routingLabel } from '../plan/multihomed-kinds.js';
import { nftLabel, readNftTable, writeNftTable } from './kind-nft.js';

/** ethtool -K short names → the feature names ethtool -k prints. */
export const FEATURE_NAMES: Readonly<Record<string, string>> = {
  tso: 'tcp-segmentation-offload',
  gso: 'generic-segmentation-offload',
  gro: 'generic-receive-offload',
  lro: 'large-receive-offload',
  rx: 'rx-checksumming',
  tx: 'tx-checksumming',
  sg: 'scatter-gather',
  rxhash: 'receive-hashing',
  ntuple: 'ntuple-filters',
  rxvlan: 'rx-vlan-offload',
  txvlan: 'tx-vlan-offload',
};

/** A Snapshot's or ethtool's feature entry for an ethtool -K name (gro) or a long name. */
export const featureOf = <T>(features: Record<string, T> | null | undefined, setting: string): T | undefined =>
  features?.[FEATURE_NAMES[setting] ?? setting];

const ETHTOOL_SET = { features: '-K', rings: '-G', channels: '-L', coalesce: '-C' } as const;
const ETHTOOL_GET = { features: '-k', rings: '-g', channels: '-l', coalesce: '-c' } as const;

export interface SystemIO {
  netns: string | null;
  /** Current value (normalised like the Snapshot), or null when the target does not exist. */
  read(t: Target): Promise<string | null>;
  /** Writes; null for a file means "remove it". Throws with the kernel's or tool's reason. */
  write(t: Target, value: string | null): Promise<void>;
}

const tool = requireTool;

/** Runs a command in the namespace (ip netns exec) or here; the result, not an exception. */
export function execResult(netns: string | null, cmd: string, args: string[], input?: string): Promise<RunResult> {
  const [file, argv] = netns ? [tool('ip'), ['netns', 'exec', netns, tool(cmd), ...args]] : [tool(cmd), args];
  return run(file, argv, { timeoutMs: 15_000, ...(input !== undefined ? { input } : {}) });
}

/** Runs a command in the namespace (ip netns exec) or here. */
async function exec(netns: string | null, cmd: string, args: string[], input?: string): Promise<string> {
  const r = await execResult(netns, cmd, args, input);
  if (!r.ok) throw new Error(r.stderr.trim().split('\n')[0] || r.error || `${cmd} failed`);
  return r.stdout;
}

async function readEthtool(netns: string | null, t: Extract<Target, { kind: 'ethtool' }>): Promise<string | null> {
  validIfname(t.device);
  if (isNicGroup(t.group)) return readNic((args) => execResult(netns, 'ethtool', args), { device: t.device, group: t.group, setting: t.setting });
  let text: string;
  try {
    text = await exec(netns, 'ethtool', [ETHTOOL_GET[t.group], t.device]);
  } catch {
    return null;
  }
  switch (t.group) {
    case 'features': {
      const f = featureOf(parseFeaturesText(text).data, t.setting);
      return f ? (f.active ? 'on' : 'off') : null;
    }
    case 'rings':
    case 'channels': {
      const v = parseMaxCurrent(text).data?.current[t.setting];
      return v === undefined || v === null ? null : String(v);
    }
    case 'coalesce': {
      const v = parseCoalesce(text).data?.[t.setting];
      return v === undefined || v === null ? null : typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);
    }
  }
}

const readLocal = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
};

/** The real path of an allowed sysfs attribute (in the namespace: `ip netns exec` mounts its own
 *  /sys), null when it does not exist; throws when the path is not one nettune writes or a symlink
 *  leads anywhere but the device's own attribute. */
async function resolveSysfs(netns: string | null, path: string): Promise<string | null> {
  const attr = parseSysfsPath(path);
  if (typeof attr === 'string') throw new Error(attr);
  let real: string;
  if (netns) {
    try {
      real = (await exec(netns, 'realpath', ['-e', '--', path])).trim();
    } catch {
      return null;
    }
  } else {
    try {
      real = realpathSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
  const problem = sysfsResolvedProblem(attr, real);
  if (problem) throw new Error(problem);
  return real;
}

export function systemIO(netns: string | null): SystemIO {
  return {
    netns,
    async read(t) {
      switch (t.kind) {
        case 'sysctl': {
          if (netns) {
            try {
              return normaliseValue(await exec(netns, 'sysctl', ['-n', t.key]));
            } catch {
              return null;
            }
          }
          const v = readLocal(keyToPath(t.key));
          return v === null ? null : normaliseValue(v);
        }
        case 'ethtool':
          return readEthtool(netns, t);
        case 'sysfs': {
          const path = await resolveSysfs(netns, t.path);
          if (path === null) return null;
          if (netns) {
            try {
              return normaliseValue(await exec(netns, 'cat', ['--', path]));
            } catch {
              return null;
            }
          }
          const v = readLocal(path);
          return v === null ? null : normaliseValue(v);
        }
        case 'mptcp':
          return readMptcp(netns, t);
        case 'nft':
          return readNftTable((cmd, args, input) => exec(netns, cmd, args, input), t);
        case 'file':
          return readLocal(t.path);
        case 'filemeta':
          return readFileMeta(t.path);
        case 'dir':
          return readDir(t.path);
        case 'route':
        case 'rule':
          return readRouting(netns, t);
      }
    },
    async write(t, value) {
      switch (t.kind) {
        case 'sysctl':
          if (value === null) throw new Error(`${t.key}: cannot remove a sysctl`);
          if (netns) await exec(netns, 'sysctl', ['-q', '-w', `${t.key}=${value}`]);
          else {
            const path = keyToPath(t.key);
            if (!existsSync(path)) throw new Error(`${t.key}: no such key on this kernel`);
            try {
              writeFileSync(path, value);
            } catch (err) {
              throw new Error(`${t.key}: the kernel refused ${JSON.stringify(value)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
            }
          }
          return;
        case 'ethtool':
          if (value === null) throw new Error('cannot remove an ethtool setting');
          validIfname(t.device);
          if (isNicGroup(t.group)) await writeNic((args) => execResult(netns, 'ethtool', args), { device: t.device, group: t.group, setting: t.setting }, value);
          else await exec(netns, 'ethtool', [ETHTOOL_SET[t.group], t.device, t.setting, value]);
          return;
        case 'sysfs':
        {
          if (value === null) throw new Error('cannot remove a sysfs attribute');
          const path = await resolveSysfs(netns, t.path);
          if (path === null) throw new Error(`${t.path}: no such attribute`);
          if (netns) await exec(netns, 'tee', ['--', path], value);
          else writeFileSync(path, value, { flag: 'r+' }); // an attribute exists; never create a file
          return;
        }
        case 'mptcp':
          return writeMptcp(netns, t, value);
        case 'nft':
          await writeNftTable((cmd, args, input) => exec(netns, cmd, args, input), t, value);
          return;
        case 'file':
          writePersisted(t.path, value);
          return;
        case 'filemeta':
          writeFileMeta(t.path, value ?? ABSENT);
          return;
        case 'dir':
          writeDir(t.path, value ?? ABSENT);
          return;
        case 'route':
        case 'rule':
          await writeRouting(netns, t, value);
          return;
      }
    },
  };
}

/** Kinds whose null value means "absent" and is written (removed) on rollback, not refused
 *  (a file, an MPTCP endpoint, a route, the rules at a priority, an nft table: the write may have created them). */
export const REMOVABLE_KINDS: ReadonlySet<Target['kind']> = new Set(['file', 'mptcp', 'route', 'rule', 'nft']);

export const targetLabel = (t: Target): string =>
  t.kind === 'mptcp'
    ? mptcpLabel(t)
    : t.kind === 'route' || t.kind === 'rule'
    ? routingLabel(t)
    : t.kind === 'sysctl'
    ? t.key
    : t.kind === 'ethtool'
      ? `ethtool ${t.device} ${t.group} ${t.setting}`
      : t.kind === 'sysfs'
        ? t.path
        : t.kind === 'nft'
          ? nftLabel(t)
          : t.kind === 'filemeta'
          ? `mode/owner ${t.path}`
          : `${t.kind} ${t.path}`;
