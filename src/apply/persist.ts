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
    if (inHeader && (line.startsWith(HEADER_MARK) || line.startsWith('# systemd-sysctl') || line === '')) continue;
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
