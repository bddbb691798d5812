// Pure parsers for /proc/net text. Each returns what it could read plus the problems it met, so a
// truncated or malformed file becomes an `errors` entry in the Snapshot, never a crash.
import { CONNTRACK_STAT_RENAMES, type ConntrackSlabSource } from '../snapshot/plain.js';
import type { SoftnetRow } from '../snapshot/schema.js';

export interface Parsed<T> {
  data: T;
  problems: string[];
}

type Groups = Record<string, Record<string, number>>;

const INT = /^-?\d+$/;

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

// The samplers parse snmp, snmp6 and netstat on every scrape: the kernel's own layout (header
// lines as the kernel prints them, single spaces, plain integers, one line per pair) is read by
// a scanner that splits nothing but each new header line (kept, with its names), and anything
// else falls back to the line-by-line parser, which says what is wrong. `scan: false` forces the
// fallback (the tests hold both to the same answers).
export interface ParseOptions {
  scan?: boolean;
}

const SPACE = 32;
const DASH = 45;
const COLON = 58;
const ZERO = 48;
const NINE = 57;
/** Integers of at most this many digits are exact as doubles when summed digit by digit. */
const EXACT_DIGITS = 15;
const MAX_KEPT_HEADERS = 64;

/** Header line → its group and names (the same few lines per kernel); null: not a header. */
const headers = new Map<string, { group: string; names: string[] } | null>();

function headerOf(line: string): { group: string; names: string[] } | null {
  let h = headers.get(line);
  if (h !== undefined) return h;
  const m = /^(\w+):\s*(.*)$/.exec(line);
  h = m ? { group: m[1] ?? '', names: (m[2] ?? '').split(/\s+/).filter(Boolean) } : null;
  if (headers.size >= MAX_KEPT_HEADERS) headers.clear();
  headers.set(line, h);
  return h;
}

/** The integer token text[from, to) (optional '-', digits) as Number(token) gives it. */
function intAt(text: string, from: number, to: number): number {
  const neg = text.charCodeAt(from) === DASH;
  const start = neg ? from + 1 : from;
  if (to - start > EXACT_DIGITS) return Number(text.slice(from, to));
  let v = 0;
  for (let i = start; i < to; i++) v = v * 10 + (text.charCodeAt(i) - ZERO);
  return neg ? -v : v;
}

/** The end of the integer token at `from` (optional '-', at least one digit), or -1. */
function intEnd(text: string, from: number, to: number): number {
  let p = from;
  if (p < to && text.charCodeAt(p) === DASH) p++;
  const digits = p;
  while (p < to) {
    const c = text.charCodeAt(p);
    if (c < ZERO || c > NINE) break;
    p++;
  }
  return p === digits ? -1 : p;
}

function scanHeaderValuePairs(text: string): Groups | null {
  const data: Groups = {};
  const len = text.length;
  let pos = 0;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    if (eol === pos) {
      pos++;
      continue;
    }
    const h = headerOf(text.slice(pos, eol));
    if (!h || h.group in data) return null;
    pos = eol + 1;
    let veol = text.indexOf('\n', pos);
    if (veol < 0) veol = len;
    if (pos >= len || !text.startsWith(h.group, pos) || text.charCodeAt(pos + h.group.length) !== COLON) return null;
    const out: Record<string, number> = {};
    const names = h.names;
    let k = 0;
    let p = pos + h.group.length + 1;
    while (p < veol) {
      if (text.charCodeAt(p) === SPACE) {
        p++;
        continue;
      }
      const end = intEnd(text, p, veol);
      if (end < 0 || (end < veol && text.charCodeAt(end) !== SPACE) || k >= names.length) return null;
      out[names[k++] as string] = intAt(text, p, end);
      p = end;
    }
    if (k !== names.length) return null;
    data[h.group] = out;
    pos = veol + 1;
  }
  return data;
}

/** /proc/net/snmp and /proc/net/netstat: pairs of lines "Group: Name Name…" / "Group: 1 2…". */
export function parseHeaderValuePairs(text: string, o: ParseOptions = {}): Parsed<Groups> {
  const scanned = o.scan === false ? null : scanHeaderValuePairs(text);
  if (scanned) return { data: scanned, problems: [] };
  const data: Groups = {};
  const problems: string[] = [];
  const ls = lines(text);
  for (let i = 0; i < ls.length; i += 2) {
    const head = ls[i] ?? '';
    const vals = ls[i + 1];
    const hm = /^(\w+):\s*(.*)$/.exec(head);
    if (!hm) {
      problems.push(`line ${i + 1}: expected "Group: Name…", got ${JSON.stringify(head.slice(0, 60))}`);
      continue;
    }
    const group = hm[1] ?? '';
    if (vals === undefined) {
      problems.push(`group ${group}: header without a value line (truncated?)`);
      break;
    }
    const vm = /^(\w+):\s*(.*)$/.exec(vals);
    if (!vm || vm[1] !== group) {
      problems.push(`group ${group}: value line ${i + 2} belongs to ${vm ? vm[1] : 'nothing'}; pairs out of step`);
      i -= 1; // re-synchronise on the next line
      continue;
    }
    const names = (hm[2] ?? '').split(/\s+/).filter(Boolean);
    const values = (vm[2] ?? '').split(/\s+/).filter(Boolean);
    if (names.length !== values.length) {
      problems.push(`group ${group}: ${names.length} names but ${values.length} values (truncated?)`);
    }
    const out: Record<string, number> = (data[group] ??= {});
    const n = Math.min(names.length, values.length);
    for (let k = 0; k < n; k++) {
      const v = values[k] ?? '';
      if (!INT.test(v)) {
        problems.push(`${group}.${names[k]}: not a number: ${JSON.stringify(v)}`);
        continue;
      }
      out[names[k] ?? ''] = Number(v);
    }
  }
  return { data, problems };
}

const SNMP6_GROUP = /^(Ip6|Icmp6|Udp6|UdpLite6)(\w+)$/;

/** snmp6 name → [group, field] (the same ~100 names every read). */
const snmp6Names = new Map<string, [string, string]>();

function snmp6Name(name: string): [string, string] {
  let gf = snmp6Names.get(name);
  if (!gf) {
    const m = SNMP6_GROUP.exec(name);
    gf = [m?.[1] ?? 'Other', m?.[2] ?? name];
    if (snmp6Names.size >= 4096) snmp6Names.clear();
    snmp6Names.set(name, gf);
  }
  return gf;
}

const TAB = 9;

/** [A-Za-z0-9_], as \w. */
const isWordChar = (c: number): boolean => (c >= ZERO && c <= NINE) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/** The kernel's layout: "Name", spaces and tabs, an integer, one per line. */
function scanSnmp6(text: string): Groups | null {
  const data: Groups = {};
  const len = text.length;
  let pos = 0;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    if (eol === pos) {
      pos++;
      continue;
    }
    let p = pos;
    while (p < eol) {
      const c = text.charCodeAt(p);
      if (c === SPACE || c === TAB) break;
      if (!isWordChar(c)) return null;
      p++;
    }
    if (p === pos || p === eol) return null;
    const nameEnd = p;
    while (p < eol && (text.charCodeAt(p) === SPACE || text.charCodeAt(p) === TAB)) p++;
    if (intEnd(text, p, eol) !== eol) return null;
    const [group, field] = snmp6Name(text.slice(pos, nameEnd));
    (data[group] ??= {})[field] = intAt(text, p, eol);
    pos = eol + 1;
  }
  return data;
}

/** /proc/net/snmp6: one "Name value" per line; grouped by the protocol prefix
 *  (Ip6InReceives → Ip6.InReceives, Icmp6InType1 → Icmp6.InType1). */
export function parseSnmp6(text: string, o: ParseOptions = {}): Parsed<Groups> {
  const scanned = o.scan === false ? null : scanSnmp6(text);
  if (scanned) return { data: scanned, problems: [] };
  const data: Groups = {};
  const problems: string[] = [];
  lines(text).forEach((line, idx) => {
    const parts = line.trim().split(/\s+/);
    const [name, value] = parts;
    if (parts.length !== 2 || name === undefined || value === undefined || !INT.test(value)) {
      problems.push(`line ${idx + 1}: expected "Name value", got ${JSON.stringify(line.slice(0, 60))}`);
      return;
    }
    const m = SNMP6_GROUP.exec(name);
    const group = m?.[1] ?? 'Other';
    const field = m?.[2] ?? name;
    (data[group] ??= {})[field] = Number(value);
  });
  return { data, problems };
}

/** /proc/net/sockstat(6): "TCP: inuse 3 orphan 0 tw 0 alloc 4 mem 1". */
export function parseSockstat(text: string): Parsed<Groups> {
  const data: Groups = {};
  const problems: string[] = [];
  lines(text).forEach((line, idx) => {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (!m) {
      problems.push(`line ${idx + 1}: expected "PROTO: key value…"`);
      return;
    }
    const words = (m[2] ?? '').split(/\s+/).filter(Boolean);
    if (words.length % 2 !== 0) problems.push(`${m[1]}: odd number of words (truncated?)`);
    const out: Record<string, number> = (data[m[1] ?? ''] ??= {});
    for (let k = 0; k + 1 < words.length; k += 2) {
      const v = words[k + 1] ?? '';
      if (INT.test(v)) out[words[k] ?? ''] = Number(v);
      else problems.push(`${m[1]}.${words[k]}: not a number: ${JSON.stringify(v)}`);
    }
  });
  return { data, problems };
}

const HEX = /^[0-9a-fA-F]+$/;

/** /proc/net/softnet_stat: one row per online CPU, hex columns. Column meaning
 *  (net/core/net-procfs.c): 0 processed, 1 dropped, 2 time_squeeze, 3–7 zero, 8 cpu_collision
 *  (zero since 4.x), 9 received_rps, 10 flow_limit_count, 11 backlog length (5.10+),
 *  12 cpu index (5.10+), 13 input_qlen, 14 process_qlen (6.x). Older kernels print 10 or 11 columns. */
export function parseSoftnet(text: string): Parsed<SoftnetRow[]> {
  const rows: SoftnetRow[] = [];
  const problems: string[] = [];
  lines(text).forEach((line, idx) => {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 9 || !cols.every((c) => HEX.test(c))) {
      problems.push(`row ${idx + 1}: expected 9 or more hex columns, got ${cols.length}`);
      return;
    }
    const n = cols.map((c) => parseInt(c, 16));
    const at = (i: number): number | null => (i < n.length ? (n[i] ?? null) : null);
    rows.push({
      cpu: at(12) ?? idx,
      processed: at(0) ?? 0,
      dropped: at(1) ?? 0,
      time_squeeze: at(2) ?? 0,
      cpu_collision: at(8) ?? 0,
      received_rps: at(9) ?? 0,
      flow_limit_count: at(10) ?? 0,
      backlog_len: at(11),
      input_qlen: at(13),
      process_qlen: at(14),
    });
  });
  return { data: rows, problems };
}

/** /proc/net/stat/nf_conntrack: a header of field names, then one hex row per possible CPU (in
 *  CPU order, as `conntrack -S` lists them); columns named as `conntrack -S` names them
 *  (CONNTRACK_STAT_RENAMES: error, clash_resolve, chaintoolong). */
export function parseConntrackStat(text: string): Parsed<Record<string, number>[]> {
  const problems: string[] = [];
  const ls = lines(text);
  const names = (ls[0] ?? '').trim().split(/\s+/).filter(Boolean).map((n) => CONNTRACK_STAT_RENAMES[n] ?? n);
  if (names.length === 0) return { data: [], problems: ['empty file'] };
  const rows: Record<string, number>[] = [];
  ls.slice(1).forEach((line, idx) => {
    const cols = line.trim().split(/\s+/);
    if (cols.length !== names.length || !cols.every((c) => HEX.test(c))) {
      problems.push(`row ${idx + 2}: expected ${names.length} hex columns, got ${JSON.stringify(line.slice(0, 60))}`);
      return;
    }
    const row: Record<string, number> = {};
    names.forEach((name, k) => (row[name] = parseInt(cols[k] ?? '0', 16)));
    rows.push(row);
  });
  return { data: rows, problems };
}

/** /proc/meminfo → bytes per field ("MemTotal: 24607116 kB"). */
export function parseMeminfo(text: string): Parsed<Record<string, number>> {
  const data: Record<string, number> = {};
  const problems: string[] = [];
  for (const line of lines(text)) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (!m) {
      problems.push(`unreadable line ${JSON.stringify(line.slice(0, 60))}`);
      continue;
    }
    data[m[1] ?? ''] = Number(m[2]) * (line.trim().endsWith('kB') ? 1024 : 1);
  }
  return { data, problems };
}

/** Sum of one column over all rows (softnet, conntrack per-CPU stats). */
export function sumColumn<T extends object>(rows: readonly T[], field: keyof T): number {
  let total = 0;
  for (const row of rows) {
    const v = row[field];
    if (typeof v === 'number') total += v;
  }
  return total;
}

/** The kernel's own cost of one conntrack entry: the `nf_conntrack` kmem cache
 *  (nf_conntrack_core.c: kmem_cache_create("nf_conntrack", sizeof(struct nf_conn), …)). */
export interface ConntrackSlab {
  /** sizeof(struct nf_conn) on this kernel (`object_size`); null where only slabinfo was read. */
  object_size: number | null;
  /** Bytes each object takes in its slab, alignment and metadata included (SLUB `slab_size`,
   *  the `objsize` column of /proc/slabinfo, which prints s->size): what a full table costs. */
  slab_size: number;
  source: ConntrackSlabSource;
}

const DEC = /^\d+$/;

/** SLUB sysfs: /sys/kernel/slab/nf_conntrack/object_size and slab_size (each one decimal). */
export function parseSlabSysfs(objectSize: string, slabSize: string): Parsed<ConntrackSlab | null> {
  const o = objectSize.trim();
  const s = slabSize.trim();
  if (!DEC.test(o) || !DEC.test(s) || Number(s) === 0) return { data: null, problems: [`object_size ${JSON.stringify(o.slice(0, 20))}, slab_size ${JSON.stringify(s.slice(0, 20))}: not byte counts`] };
  return { data: { object_size: Number(o), slab_size: Number(s), source: 'sysfs' }, problems: [] };
}

/** /proc/slabinfo (version 2.x, root only): the `nf_conntrack` row's `<objsize>` column (the
 *  third, after active_objs and num_objs; mm/slab_common.c cache_show prints s->size there). */
export function parseSlabinfo(text: string, cache = 'nf_conntrack'): Parsed<ConntrackSlab | null> {
  const ls = lines(text);
  if (!/^slabinfo - version: 2\.\d+/.test(ls[0] ?? '')) return { data: null, problems: [`not slabinfo 2.x: ${JSON.stringify((ls[0] ?? '').slice(0, 40))}`] };
  for (const line of ls.slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] !== cache) continue;
    const size = cols[3] ?? '';
    if (!DEC.test(size) || Number(size) === 0) return { data: null, problems: [`${cache}: objsize ${JSON.stringify(size)} is not a byte count`] };
    return { data: { object_size: null, slab_size: Number(size), source: 'slabinfo' }, problems: [] };
  }
  return { data: null, problems: [`no ${cache} row`] };
}

/** The fleet's `conntrack_slab` source: `sysfs OBJECT_SIZE SLAB_SIZE` (SLUB sysfs), else the
 *  whole /proc/slabinfo, else nothing (neither readable: null, not a problem of the text). */
export function parseConntrackSlab(text: string): Parsed<ConntrackSlab | null> {
  const first = text.trimStart().split('\n')[0] ?? '';
  const m = /^sysfs (\S+) (\S+)\s*$/.exec(first);
  if (m) return parseSlabSysfs(m[1] ?? '', m[2] ?? '');
  if (first.startsWith('slabinfo')) return parseSlabinfo(text);
  return text.trim() === '' ? { data: null, problems: [] } : { data: null, problems: [`unrecognised: ${JSON.stringify(first.slice(0, 40))}`] };
}
