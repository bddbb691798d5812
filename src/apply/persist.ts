// The persisted file (/etc/sysctl.d/90-nettune.conf by default): nettune's own settings with one
// comment each saying why and when, merged with what earlier transactions persisted.
import { dirname, join } from 'node:path';
import { validIfname, validNetns } from '../sys/names.js';
import { VERSION } from '../version.js';
import { isNicGroup, nicArgs, recogniseNicArgs, type NicGroup } from './kind-nic.js';
import { parseSysfsPath } from './sysfs-path.js';
import { parseExec, renderExec } from './systemd-exec.js';

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
const CONTROLS = /[\x00-\x1f\x7f]+/g;
const hasControl = (s: string): boolean => s !== s.replace(CONTROLS, '');

/** A comment or reason as one line: a newline or control character in a plan's reason must not
 *  start a new assignment or directive in a file read at boot. */
export const oneLine = (text: string): string => text.replace(CONTROLS, ' ').trim();

export const DEFAULT_PERSIST_FILE = '/etc/sysctl.d/90-nettune.conf';

export interface PersistEntry {
  key: string;
  value: string;
  /** Comment lines (without "# ") kept above the assignment. */
  comments: string[];
}

const HEADER_MARK = '# nettune:';

/** Reads back a file nettune wrote: comment blocks attached to the assignment that follows them.
 *  The header is dropped; anything unrecognised is kept as a comment so nothing is lost. */
export function parsePersisted(text: string | null): PersistEntry[] {
  if (!text) return [];
  const out: PersistEntry[] = [];
  let comments: string[] = [];
  let inHeader = true;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (inHeader && (line.startsWith(HEADER_MARK) || line.startsWith('# systemd-sysctl') || line.startsWith('# Undo with:') || line === '')) continue;
    inHeader = false;
    if (line === '') continue;
    if (line.startsWith('#') || line.startsWith(';')) {
      comments.push(line.replace(/^[#;]\s?/, ''));
      continue;
    }
    const m = /^-?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      comments.push(`(kept) ${line}`);
      continue;
    }
    out.push({ key: m[1] ?? '', value: (m[2] ?? '').trim(), comments });
    comments = [];
  }
  return out;
}

/** The new file: earlier entries not touched now, then this transaction's settings. */
export function renderPersisted(previous: readonly PersistEntry[], now: readonly PersistEntry[], tx: number, at: string): string {
  const touched = new Set(now.map((e) => e.key));
  const entries = [...previous.filter((e) => !touched.has(e.key)), ...now];
  const lines = [
    `${HEADER_MARK} written by nettune ${VERSION}, transaction ${tx}, ${at}.`,
    '# systemd-sysctl applies this file at boot. nettune rewrites it: put your own settings in another file.',
    `# Undo with: nettune rollback ${tx}`,
    '',
  ];
  for (const e of entries) {
    // validation refuses these long before; this keeps a file read as root at boot one line per setting
    if (!/^[^\s=#;-][^\s=]*$/.test(e.key) || hasControl(e.key)) throw new Error(`refusing to persist the key ${JSON.stringify(e.key)}`);
    if (hasControl(e.value)) throw new Error(`refusing to persist a control character in ${e.key}`);
    lines.push(...e.comments.map((c) => `# ${oneLine(c)}`), `${e.key} = ${e.value}`, '');
  }
  return lines.join('\n');
}

/** NIC settings cannot live in sysctl.d: they are persisted as a oneshot systemd unit that runs
 *  the same ethtool / sysfs writes at boot. nettune writes it and never enables it.
 *  Every line is one ExecStart= of a fixed program with its arguments, each written with
 *  systemd's own quoting (systemd-exec.ts), so no device name or value is ever read as a command,
 *  specifier or variable. A sysfs write goes through a constant script that takes the path and
 *  the value as arguments ("$1", "$2"): the data is never part of the script text. */
export const NIC_UNIT_NAME = 'nettune-nic.service';

/** /etc/sysctl.d/90-nettune.conf → /etc/systemd/system/nettune-nic.service (under the same --root). */
export const nicUnitPath = (persistFile: string): string => join(dirname(dirname(persistFile)), 'systemd', 'system', NIC_UNIT_NAME);

const IP = '/usr/sbin/ip';
const ETHTOOL = '/usr/sbin/ethtool';
const SH = '/bin/sh';
/** The sysfs writer: argv[0] of the script names it, $1 is the path, $2 the value. */
export const SYSFS_WRITER = ['-c', 'printf %s "$2" > "$1"', 'nettune-sysfs-write'] as const;

export interface NicLine {
  /** Identity of the setting (namespace + device + flag + setting, or the sysfs path): a later line replaces it. */
  id: string;
  /** The program and its arguments, exactly as systemd will pass them. */
  argv: string[];
  comment: string;
}

const ETHTOOL_FLAGS = { features: '-K', rings: '-G', channels: '-L', coalesce: '-C' } as const;
const SETTING = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const VALUE = /^[A-Za-z0-9,]{1,256}$/;

export type NicTarget = { kind: 'ethtool'; device: string; group: keyof typeof ETHTOOL_FLAGS | NicGroup; setting: string } | { kind: 'sysfs'; path: string };

const nsPrefix = (netns: string | null): string[] => (netns ? [IP, 'netns', 'exec', validNetns(netns)] : []);

/** One boot-time write; throws (a bug upstream: validation comes first) on anything that is not a
 *  valid device, setting, sysfs path or value. */
export function nicLine(t: NicTarget, value: string, netns: string | null, comment: string): NicLine {
  if (t.kind === 'ethtool') {
    const group = t.group;
    if (isNicGroup(group)) {
      // flow hash and indirection: kind-nic.ts checks the value and builds the arguments (-N/-X)
      const args = nicArgs({ device: t.device, group, setting: t.setting }, value);
      return { id: `${netns ?? ''} ${t.device} ${args[0] ?? ''}${group === 'flow-hash' ? ` ${t.setting}` : ''}`, argv: [...nsPrefix(netns), ETHTOOL, ...args], comment: oneLine(comment) };
    }
    if (!VALUE.test(value)) throw new Error(`refusing to persist the value ${JSON.stringify(value)}`);
    validIfname(t.device);
    if (!SETTING.test(t.setting)) throw new Error(`refusing to persist the ethtool setting ${JSON.stringify(t.setting)}`);
    const flag = ETHTOOL_FLAGS[group];
    return { id: `${netns ?? ''} ${t.device} ${flag} ${t.setting}`, argv: [...nsPrefix(netns), ETHTOOL, flag, t.device, t.setting, value], comment: oneLine(comment) };
  }
  if (!VALUE.test(value)) throw new Error(`refusing to persist the value ${JSON.stringify(value)}`);
  const parsed = parseSysfsPath(t.path);
  if (typeof parsed === 'string') throw new Error(parsed);
  return { id: `${netns ?? ''} ${t.path}`, argv: [...nsPrefix(netns), SH, ...SYSFS_WRITER, t.path, value], comment: oneLine(comment) };
}

/** A line nettune wrote, recognised from its arguments, or null. The sh -c 'echo V > P' lines of
 *  earlier versions are rewritten in today's form only when P has no character a shell treats
 *  specially (otherwise the shell's reading and the literal one differ: dropped). */
function recognise(argv: readonly string[], comment: string): NicLine | null {
  let netns: string | null = null;
  let rest = [...argv];
  if (rest[0] === IP && rest[1] === 'netns' && rest[2] === 'exec' && rest[3] !== undefined) {
    netns = rest[3];
    rest = rest.slice(4);
  }
  try {
    const nic = rest[0] === ETHTOOL ? recogniseNicArgs(rest.slice(1)) : null;
    if (nic) return nicLine({ kind: 'ethtool', ...nic.target }, nic.value, netns, comment);
    if (rest[0] === ETHTOOL && rest.length === 5) {
      const group = (Object.keys(ETHTOOL_FLAGS) as (keyof typeof ETHTOOL_FLAGS)[]).find((g) => ETHTOOL_FLAGS[g] === rest[1]);
      if (group) return nicLine({ kind: 'ethtool', device: rest[2] ?? '', group, setting: rest[3] ?? '' }, rest[4] ?? '', netns, comment);
    }
    if (rest[0] === SH && rest.length === 6 && SYSFS_WRITER.every((a, i) => rest[i + 1] === a))
      return nicLine({ kind: 'sysfs', path: rest[4] ?? '' }, rest[5] ?? '', netns, comment);
    const legacy = rest[0] === SH && rest[1] === '-c' && rest.length === 3 ? /^echo ([0-9a-fA-F,]+) > (\/sys\/class\/net\/[A-Za-z0-9_.@+-]+\/[a-z0-9_/-]+)$/.exec(rest[2] ?? '') : null;
    if (legacy) return nicLine({ kind: 'sysfs', path: legacy[2] ?? '' }, legacy[1] ?? '', netns, comment);
  } catch {
    return null;
  }
  return null;
}

export interface ParsedNicUnit {
  lines: NicLine[];
  /** ExecStart= lines that are not nettune's own writes (dropped, so they are not carried on). */
  dropped: string[];
}

/** Reads back the ExecStart lines of a unit nettune wrote, with the comment above each. */
export function parseNicUnit(text: string | null): ParsedNicUnit {
  const out: ParsedNicUnit = { lines: [], dropped: [] };
  if (!text) return out;
  let comment = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('# ')) comment = line.slice(2);
    const m = /^ExecStart=(.*)$/.exec(line);
    if (!m) continue;
    const parsed = parseExec(m[1] ?? '');
    const nic = parsed.errors.length || parsed.notLiteral.length ? null : recognise(parsed.argv, comment);
    if (nic) out.lines.push(nic);
    else out.dropped.push(line);
    comment = '';
  }
  return out;
}

export function renderNicUnit(previous: readonly NicLine[], now: readonly NicLine[], tx: number, at: string): string {
  const ids = new Set(now.map((l) => l.id));
  const lines = [...previous.filter((l) => !ids.has(l.id)), ...now];
  return renderOneshotUnit(
    tx,
    at,
    ['# NIC settings that sysctl.d cannot hold. nettune does not enable this unit; to run it at boot:', `#   systemctl enable ${NIC_UNIT_NAME}`],
    ['Description=nettune NIC settings (offloads, rings, channels, coalescing, RSS flow hashing and indirection, RPS/XPS)', 'After=network-pre.target', 'Wants=network-pre.target', 'Before=network.target'],
    lines.flatMap((l) => [`# ${oneLine(l.comment)}`, `ExecStart=${renderExec(l.argv)}`]),
  );
}

/** The oneshot unit nettune writes for state sysctl.d cannot hold (the NIC, MPTCP and nft units):
 *  a header naming the transaction, how to enable it and how to undo it, then [Unit] lines, the
 *  ExecStart lines (each after its comment) and [Install]. */
export function renderOneshotUnit(tx: number, at: string, about: readonly string[], unit: readonly string[], service: readonly string[]): string {
  return [
    `# nettune: written by nettune ${VERSION}, transaction ${tx}, ${at}.`,
    ...about,
    `# Undo with: nettune rollback ${tx}`,
    '[Unit]',
    ...unit,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...service,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
