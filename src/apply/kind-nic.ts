// The two ethtool groups the -K/-G/-L/-C model cannot say: RSS flow hashing (`ethtool -N IF
// rx-flow-hash FLOW FIELDS`, read back with `ethtool -n IF rx-flow-hash FLOW`) and the RSS
// indirection table (`ethtool -X IF equal N | weight W… | default`, read back with `ethtool -x IF`).
// One module: the value grammar (canonical text, so write(read()) restores exactly), reading,
// writing, the persisted argv, and the Snapshot's view of both (drift, validation, the planner).
//
// Sources: ethtool(8) 6.1 (-n/-N rx-flow-hash letters m v t s d f n r; -x/-X equal, weight,
// default), include/uapi/linux/ethtool.h (RXH_* bits, ETH_RXFH_INDIR_NO_CHANGE), ethtool.c
// fill_indir_table (how `equal` and `weight` fill the table), net/ethtool/common.c
// ethtool_rxfh_indir_default (a driver's default table is i mod rings).
import type { Link } from '../snapshot/schema.js';
import type { RunResult } from '../sys/run.js';
import { validIfname } from '../sys/names.js';
import { parseFlowHash, parseRss } from '../probe/parse-ethtool.js';

export const NIC_GROUPS = ['flow-hash', 'indirection'] as const;
export type NicGroup = (typeof NIC_GROUPS)[number];
export const isNicGroup = (g: string): g is NicGroup => (NIC_GROUPS as readonly string[]).includes(g);

/** The one setting of the indirection group (the table; `hfunc`/`hkey` are not planned). */
export const INDIRECTION_SETTING = 'table';

/** ethtool(8) rx-flow-hash flow types (ethtool 6.1). */
export const FLOW_TYPES = ['tcp4', 'udp4', 'sctp4', 'ah4', 'esp4', 'tcp6', 'udp6', 'sctp6', 'ah6', 'esp6'] as const;

/** rx-flow-hash letters in the order ethtool -n prints their fields (RXH_* bit order). */
export const FLOW_HASH_FIELDS: readonly { letter: string; field: string; meaning: string }[] = [
  { letter: 'm', field: 'L2DA', meaning: 'destination MAC address' },
  { letter: 'v', field: 'VLAN tag', meaning: 'VLAN tag' },
  { letter: 't', field: 'L3 proto', meaning: 'L3 protocol field' },
  { letter: 's', field: 'IP SA', meaning: 'IP source address' },
  { letter: 'd', field: 'IP DA', meaning: 'IP destination address' },
  { letter: 'f', field: 'L4 bytes 0 & 1 [TCP/UDP src port]', meaning: 'bytes 0 and 1 of the L4 header (source port)' },
  { letter: 'n', field: 'L4 bytes 2 & 3 [TCP/UDP dst port]', meaning: 'bytes 2 and 3 of the L4 header (destination port)' },
];

/** Letters → canonical letters (ethtool's field order), or a problem. `r` (discard) stands alone. */
export function canonicalFlowHash(spec: string): { value: string } | { problem: string } {
  const s = spec.trim();
  if (s === 'r') return { value: 'r' };
  if (!/^[mvtsdfn]+$/.test(s)) return { problem: `flow-hash fields are letters of m v t s d f n (or r alone: discard), not ${JSON.stringify(spec)}` };
  if (new Set(s).size !== s.length) return { problem: `flow-hash fields ${JSON.stringify(spec)} name a letter twice` };
  return { value: FLOW_HASH_FIELDS.map((f) => f.letter).filter((l) => s.includes(l)).join('') };
}

/** `ethtool -n` field lines → letters; null when a line is not one ethtool prints for a field
 *  (or the flow type hashes on nothing: "None" cannot be written back with -N). */
export function flowHashLetters(fields: readonly string[] | null | undefined): string | null {
  if (!fields || fields.length === 0) return null;
  let out = '';
  for (const f of fields) {
    const known = FLOW_HASH_FIELDS.find((x) => x.field.toLowerCase() === f.trim().toLowerCase());
    if (!known) return null;
    out += known.letter;
  }
  const c = canonicalFlowHash(out);
  return 'value' in c ? c.value : null;
}

// --- indirection ------------------------------------------------------------------------------

export type IndirSpec = { mode: 'default' } | { mode: 'equal'; n: number } | { mode: 'weight'; weights: number[] };

/** "default" | "equal N" | "weight W0 W1 …" → the spec (canonical text is `indirText`). */
export function parseIndir(text: string): IndirSpec | string {
  const words = text.trim().split(/\s+/);
  if (words.length === 1 && words[0] === 'default') return { mode: 'default' };
  if (words[0] === 'equal' && words.length === 2 && /^[1-9]\d{0,4}$/.test(words[1] ?? '')) return { mode: 'equal', n: Number(words[1]) };
  if (words[0] === 'weight' && words.length >= 2 && words.slice(1).every((w) => /^\d{1,5}$/.test(w))) {
    const weights = words.slice(1).map(Number);
    if (weights.every((w) => w === 0)) return 'indirection weights: at least one must be non-zero';
    return { mode: 'weight', weights };
  }
  return `indirection: "default", "equal N" or "weight W0 W1 …" (as ethtool -X takes them), not ${JSON.stringify(text)}`;
}

export const indirText = (s: IndirSpec): string => (s.mode === 'default' ? 'default' : s.mode === 'equal' ? `equal ${s.n}` : `weight ${s.weights.join(' ')}`);

/** The arguments after `ethtool -X IF`. */
export const indirArgs = (s: IndirSpec): string[] => indirText(s).split(' ');

/** The table a spec gives, as ethtool's fill_indir_table computes it (weight: contiguous blocks,
 *  block j ends at size × (w0+…+wj) / sum); default: the driver's i mod rings. Null: too many queues. */
export function indirTable(s: IndirSpec, size: number, rings: number): number[] | null {
  if (s.mode === 'default') return Array.from({ length: size }, (_, i) => i % rings);
  if (s.mode === 'equal') return s.n > rings ? null : Array.from({ length: size }, (_, i) => i % s.n);
  const sum = s.weights.reduce((a, b) => a + b, 0);
  if (sum > size || s.weights.length > rings) return null;
  const out: number[] = [];
  let j = -1;
  let partial = 0;
  for (let i = 0; i < size; i++) {
    while (i >= Math.floor((size * partial) / sum)) {
      j += 1;
      partial += s.weights[j] ?? 0;
    }
    out.push(j);
  }
  return out;
}

const sameTable = (a: readonly number[] | null, b: readonly number[]): boolean => a !== null && a.length === b.length && a.every((v, i) => v === b[i]);

/** A live table as the spec that rebuilds it exactly: `default` when it is the driver's table
 *  for the rings in use (restoring with `default` also clears the "user configured" flag that
 *  would otherwise stop a later `ethtool -L` from lowering the queue count), else `equal N`,
 *  else `weight …` (contiguous blocks); null when ethtool -X cannot rebuild it. */
export function indirFromTable(table: readonly number[], rings: number): IndirSpec | null {
  if (table.length === 0 || rings < 1) return null;
  if (sameTable(indirTable({ mode: 'default' }, table.length, rings), table)) return { mode: 'default' };
  const max = Math.max(...table);
  const equal: IndirSpec = { mode: 'equal', n: max + 1 };
  if (sameTable(indirTable(equal, table.length, rings), table)) return equal;
  const weights = Array.from({ length: max + 1 }, () => 0);
  for (const q of table) weights[q] = (weights[q] ?? 0) + 1;
  const w: IndirSpec = { mode: 'weight', weights };
  return sameTable(indirTable(w, table.length, rings), table) ? w : null;
}

/** Canonical text of a value for a group (validation and the planner write this form). */
export function canonicalNicValue(group: NicGroup, value: string): { value: string } | { problem: string } {
  if (group === 'flow-hash') return canonicalFlowHash(value);
  const s = parseIndir(value);
  return typeof s === 'string' ? { problem: s } : { value: indirText(s) };
}

// --- the Snapshot's view ------------------------------------------------------------------------

/** Receive rings in use: combined + rx channels, else the sysfs RX queue count. */
export function rxRings(link: Link): number {
  const cur = link.ethtool?.channels?.current;
  const n = (cur?.combined ?? 0) + (cur?.rx ?? 0);
  return n > 0 ? n : link.rx_queues;
}

/** The value a Snapshot records for a target (undefined: not recorded; null: no such setting). */
export function snapshotNicValue(link: Link, group: NicGroup, setting: string): string | null | undefined {
  const e = link.ethtool;
  if (!e) return undefined;
  if (group === 'flow-hash') {
    if (!e.flow_hash) return undefined;
    return flowHashLetters(e.flow_hash[setting]) ?? (setting in e.flow_hash ? null : undefined);
  }
  const table = e.rss?.indirection;
  if (!table) return e.rss ? null : undefined;
  const spec = indirFromTable(table, rxRings(link));
  return spec ? indirText(spec) : null;
}

// --- live read and write ------------------------------------------------------------------------

export type Ethtool = (args: string[]) => Promise<RunResult>;

export interface NicTarget {
  device: string;
  group: NicGroup;
  setting: string;
}

/** Live value in canonical form; null when the device does not report it (or not in a form
 *  ethtool can write back). */
export async function readNic(ethtool: Ethtool, t: NicTarget): Promise<string | null> {
  validIfname(t.device);
  if (t.group === 'flow-hash') {
    const r = await ethtool(['-n', t.device, 'rx-flow-hash', t.setting]);
    return r.ok ? flowHashLetters(parseFlowHash(r.stdout).data) : null;
  }
  const r = await ethtool(['-x', t.device]);
  if (!r.ok) return null;
  const table = parseRss(r.stdout).data?.indirection;
  const rings = /with (\d+) RX ring/.exec(r.stdout)?.[1];
  if (!table || !rings) return null;
  const spec = indirFromTable(table, Number(rings));
  return spec ? indirText(spec) : null;
}

/** The ethtool arguments that set a value (also the persisted unit's, after the program). */
export function nicArgs(t: NicTarget, value: string): string[] {
  validIfname(t.device);
  if (t.group === 'flow-hash') {
    if (!(FLOW_TYPES as readonly string[]).includes(t.setting)) throw new Error(`unknown rx-flow-hash flow type ${JSON.stringify(t.setting)}`);
    const c = canonicalFlowHash(value);
    if ('problem' in c) throw new Error(c.problem);
    return ['-N', t.device, 'rx-flow-hash', t.setting, c.value];
  }
  if (t.setting !== INDIRECTION_SETTING) throw new Error(`indirection has one setting, ${INDIRECTION_SETTING}, not ${JSON.stringify(t.setting)}`);
  const s = parseIndir(value);
  if (typeof s === 'string') throw new Error(s);
  return ['-X', t.device, ...indirArgs(s)];
}

/** Writes; throws with ethtool's reason. ethtool 6.1 exits 0 when the driver refuses -N
 *  ("Cannot change RX network flow hashing options: Operation not supported", seen on veth here),
 *  so a message on stderr is a failure too. */
export async function writeNic(ethtool: Ethtool, t: NicTarget, value: string): Promise<void> {
  const r = await ethtool(nicArgs(t, value));
  const complaint = r.stderr.split('\n').find((l) => /^Cannot |not supported|Invalid argument/i.test(l.trim()));
  if (!r.ok || complaint) throw new Error((complaint ?? r.stderr.trim().split('\n')[0] ?? r.error ?? 'ethtool failed').trim() || 'ethtool failed');
}

/** A persisted argv (after the program) back to its target and value, or null. */
export function recogniseNicArgs(args: readonly string[]): { target: NicTarget; value: string } | null {
  if (args[0] === '-N' && args.length === 5 && args[2] === 'rx-flow-hash')
    return { target: { device: args[1] ?? '', group: 'flow-hash', setting: args[3] ?? '' }, value: args[4] ?? '' };
  if (args[0] === '-X' && args.length >= 3) return { target: { device: args[1] ?? '', group: 'indirection', setting: INDIRECTION_SETTING }, value: args.slice(2).join(' ') };
  return null;
}

/** The command a user would type. */
export const nicCommand = (t: NicTarget, value: string): string => `ethtool ${nicArgs(t, value).join(' ')}`;

// --- validation before the lock ----------------------------------------------------------------

export type NicCheck = { ok: true; to: string } | { ok: false; skip: string } | { ok: false; error: string };

/** Receive rings once the earlier changes of the same transaction are written (`ethtool -L`
 *  combined/rx on the device), so `-X equal 8` after `-L combined 8` is judged against 8. */
export function ringsAfter(link: Link, earlier: readonly { setting: string; to: string }[]): number {
  const cur = { ...(link.ethtool?.channels?.current ?? {}) };
  for (const e of earlier) if ((e.setting === 'combined' || e.setting === 'rx') && /^\d+$/.test(e.to)) cur[e.setting] = Number(e.to);
  const n = (cur.combined ?? 0) + (cur.rx ?? 0);
  return n > 0 ? n : link.rx_queues;
}

/** Checks a flow-hash or indirection change against what the Snapshot says the device does. */
export function checkNicChange(link: Link, group: NicGroup, setting: string, to: string, rings: number): NicCheck {
  const where = `ethtool ${link.name} ${group} ${setting}`;
  const e = link.ethtool;
  if (group === 'flow-hash') {
    if (!(FLOW_TYPES as readonly string[]).includes(setting)) return { ok: false, error: `${where}: not an rx-flow-hash flow type (${FLOW_TYPES.join(', ')})` };
    const c = canonicalFlowHash(to);
    if ('problem' in c) return { ok: false, error: `${where}: ${c.problem}` };
    const fields = e?.flow_hash?.[setting];
    if (!fields) return { ok: false, error: `${where}: the Snapshot has no rx-flow-hash for ${setting} on ${link.name} (ethtool -n ${link.name} rx-flow-hash ${setting} is not supported, or not probed: a device with one RX queue has no RSS)` };
    const now = flowHashLetters(fields);
    if (now === null) return { ok: false, error: `${where}: the device hashes ${setting} on ${fields.length ? fields.join(', ') : 'nothing (None)'}, which ethtool -N cannot write back, so nettune could not restore it` };
    if (now === c.value) return { ok: false, skip: `already ${c.value}` };
    return { ok: true, to: c.value };
  }
  if (setting !== INDIRECTION_SETTING) return { ok: false, error: `${where}: the indirection group has one setting, ${INDIRECTION_SETTING}` };
  const spec = parseIndir(to);
  if (typeof spec === 'string') return { ok: false, error: `${where}: ${spec}` };
  const table = e?.rss?.indirection;
  if (!table) return { ok: false, error: `${where}: the Snapshot has no RSS indirection table for ${link.name} (ethtool -x not supported, or one RX queue)` };
  if (!indirFromTable(table, rxRings(link)))
    return { ok: false, error: `${where}: the current table is not one ethtool -X can rebuild (default, equal N or weight …), so nettune could not restore it` };
  const wanted = indirTable(spec, table.length, rings);
  if (!wanted) return { ok: false, error: `${where}: ${indirText(spec)} needs more than the ${rings} receive ring${rings === 1 ? '' : 's'} in use (or weights summing above the ${table.length}-entry table)` };
  if (spec.mode !== 'default' && sameTable(wanted, table)) return { ok: false, skip: `already ${indirText(spec)} (the table is the same)` };
  return { ok: true, to: indirText(spec) };
}
