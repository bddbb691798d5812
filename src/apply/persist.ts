// The persisted file (/etc/sysctl.d/90-nettune.conf by default): nettune's own settings with one
// comment each saying why and when, merged with what earlier transactions persisted.
import { VERSION } from '../version.js';

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
    lines.push(...e.comments.map((c) => `# ${c}`), `${e.key} = ${e.value}`, '');
  }
  return lines.join('\n');
}

/** NIC settings cannot live in sysctl.d: they are persisted as a oneshot systemd unit that runs
 *  the same ethtool / sysfs writes at boot. nettune writes it and never enables it. */
export const NIC_UNIT_NAME = 'nettune-nic.service';

export interface NicLine {
  /** Identity of the setting (device + flag + setting, or the sysfs path): a later line replaces it. */
  id: string;
  exec: string;
  comment: string;
}

const ETHTOOL_FLAGS = { features: '-K', rings: '-G', channels: '-L', coalesce: '-C' } as const;

export function nicLine(
  t: { kind: 'ethtool'; device: string; group: keyof typeof ETHTOOL_FLAGS; setting: string } | { kind: 'sysfs'; path: string },
  value: string,
  netns: string | null,
  comment: string,
): NicLine {
  const ns = netns ? `/usr/sbin/ip netns exec ${netns} ` : '';
  if (t.kind === 'ethtool') return { id: `${t.device} ${ETHTOOL_FLAGS[t.group]} ${t.setting}`, exec: `${ns}/usr/sbin/ethtool ${ETHTOOL_FLAGS[t.group]} ${t.device} ${t.setting} ${value}`, comment };
  return { id: t.path, exec: `${ns}/bin/sh -c 'echo ${value} > ${t.path}'`, comment };
}

/** Reads back the ExecStart lines of a unit nettune wrote, with the comment above each. */
export function parseNicUnit(text: string | null): NicLine[] {
  if (!text) return [];
  const out: NicLine[] = [];
  let comment = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('# ') && out.length >= 0) comment = line.slice(2);
    const m = /^ExecStart=(.*)$/.exec(line);
    if (!m) continue;
    const exec = m[1] ?? '';
    const eth = /ethtool (-[KGLC]) (\S+) (\S+) \S+$/.exec(exec);
    const sys = /> (\S+)'$/.exec(exec);
    out.push({ id: eth ? `${eth[2]} ${eth[1]} ${eth[3]}` : (sys?.[1] ?? exec), exec, comment });
    comment = '';
  }
  return out;
}

export function renderNicUnit(previous: readonly NicLine[], now: readonly NicLine[], tx: number, at: string): string {
  const ids = new Set(now.map((l) => l.id));
  const lines = [...previous.filter((l) => !ids.has(l.id)), ...now];
  return [
    `# nettune: written by nettune ${VERSION}, transaction ${tx}, ${at}.`,
    '# NIC settings that sysctl.d cannot hold. nettune does not enable this unit; to run it at boot:',
    `#   systemctl enable ${NIC_UNIT_NAME}`,
    `# Undo with: nettune rollback ${tx}`,
    '[Unit]',
    'Description=nettune NIC settings (offloads, rings, channels, coalescing, RPS/XPS)',
    'After=network-pre.target',
    'Wants=network-pre.target',
    'Before=network.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...lines.flatMap((l) => [`# ${l.comment}`, `ExecStart=${l.exec}`]),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
