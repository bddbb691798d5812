// Pure parsers for ethtool output. ethtool --json exists only for some sub-commands (on Debian 12's
// ethtool 6.1: -k yes, -g/-c/-l/-i/-x no), so the text forms are parsed too.
import type { EthtoolInfo } from '../snapshot/schema.js';
import type { Parsed } from './parse-proc.js';

type Features = NonNullable<EthtoolInfo['features']>;
type MaxCurrent = NonNullable<EthtoolInfo['rings']>;
type Coalesce = NonNullable<EthtoolInfo['coalesce']>;
type Rss = NonNullable<EthtoolInfo['rss']>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const boolOrNull = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

/** `ethtool --json -k IF`: [{ifname, "rx-checksumming": {active, fixed, requested}, …}]. */
export function parseFeaturesJson(text: string): Parsed<Features | null> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { data: null, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const first: unknown = Array.isArray(doc) ? (doc as unknown[])[0] : doc;
  if (!isRecord(first)) return { data: null, problems: ['expected an array with one object'] };
  const out: Features = {};
  for (const [name, v] of Object.entries(first)) {
    if (name === 'ifname' || !isRecord(v)) continue;
    if (typeof v.active !== 'boolean') continue;
    out[name] = { active: v.active, fixed: boolOrNull(v.fixed), requested: boolOrNull(v.requested) };
  }
  return { data: out, problems: [] };
}

/** `ethtool -k IF` text: "Features for eth0:\nrx-checksumming: on [fixed]\n\ttx-checksum-ipv4: off [fixed]". */
export function parseFeaturesText(text: string): Parsed<Features | null> {
  const out: Features = {};
  const problems: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('Features for')) continue;
    const m = /^([\w-]+):\s+(on|off)(?:\s+\[(fixed|requested (?:on|off))\])?$/.exec(line);
    if (!m) {
      problems.push(`unreadable feature line ${JSON.stringify(line.slice(0, 60))}`);
      continue;
    }
    const fixed = m[3] === 'fixed';
    const requested = m[3]?.startsWith('requested') ? m[3] === 'requested on' : null;
    out[m[1] ?? ''] = { active: m[2] === 'on', fixed, requested };
  }
  return { data: Object.keys(out).length ? out : null, problems };
}

const keyName = (s: string): string => s.trim().toLowerCase().replace(/\s+/g, '-');

function numberOrNull(v: string): number | null | undefined {
  const t = v.trim();
  if (t === 'n/a' || t === '') return null;
  if (/^\d+$/.test(t)) return Number(t);
  return undefined;
}

/** `ethtool -g` (rings) and `ethtool -l` (channels): "Pre-set maximums:" then "Current hardware
 *  settings:", each with "RX:\t4096" lines. Other lines (e.g. "TCP data split:") are kept when numeric. */
export function parseMaxCurrent(text: string): Parsed<MaxCurrent | null> {
  const out: MaxCurrent = { max: {}, current: {} };
  const problems: string[] = [];
  let section: 'max' | 'current' | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (/^pre-set maximums:?$/i.test(line)) section = 'max';
    else if (/^current hardware settings:?$/i.test(line)) section = 'current';
    else if (section) {
      const m = /^([^:]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      const v = numberOrNull(m[2] ?? '');
      if (v === undefined) continue; // textual settings such as "TCP data split: off"
      out[section][keyName(m[1] ?? '')] = v;
    }
  }
  if (Object.keys(out.max).length === 0 && Object.keys(out.current).length === 0) {
    problems.push('no "Pre-set maximums" / "Current hardware settings" sections');
    return { data: null, problems };
  }
  return { data: out, problems };
}

/** `ethtool -c`: "Adaptive RX: off  TX: off" and "rx-usecs: 3" lines; n/a → null. */
export function parseCoalesce(text: string): Parsed<Coalesce | null> {
  const out: Coalesce = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const adaptive = /^Adaptive RX:\s*(on|off|n\/a)\s+TX:\s*(on|off|n\/a)/i.exec(line);
    if (adaptive) {
      out['adaptive-rx'] = adaptive[1] === 'n/a' ? null : adaptive[1] === 'on';
      out['adaptive-tx'] = adaptive[2] === 'n/a' ? null : adaptive[2] === 'on';
      continue;
    }
    const m = /^([a-z][\w-]*):\s*(.*)$/.exec(line);
    if (!m) continue;
    const v = numberOrNull(m[2] ?? '');
    if (v !== undefined) out[m[1] ?? ''] = v;
  }
  return Object.keys(out).length ? { data: out, problems: [] } : { data: null, problems: ['no coalescing parameters found'] };
}

/** `ethtool -i`: "driver: virtio_net" lines. */
export function parseDriverInfo(text: string): Parsed<Record<string, string> | null> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^([\w-]+):\s?(.*)$/.exec(raw.trim());
    if (m) out[m[1] ?? ''] = (m[2] ?? '').trim();
  }
  return out.driver !== undefined ? { data: out, problems: [] } : { data: null, problems: ['no "driver:" line'] };
}

/** `ethtool -x`: indirection table rows "    0:      0     1 …", the hash key, the active function. */
export function parseRss(text: string): Parsed<Rss | null> {
  const indirection: number[] = [];
  let hashKey: string | null = null;
  let fn: string | null = null;
  let section: 'table' | 'key' | 'function' | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (/^RX flow hash indirection table/i.test(line)) section = 'table';
    else if (/^RSS hash key:/i.test(line)) section = 'key';
    else if (/^RSS hash function:/i.test(line)) section = 'function';
    else if (section === 'table' && /^\d+:(\s+\d+)+$/.test(line)) {
      indirection.push(...line.split(/\s+/).slice(1).map(Number));
    } else if (section === 'key' && /^[0-9a-f]{2}(:[0-9a-f]{2})+$/i.test(line)) hashKey = line;
    else if (section === 'function') {
      const m = /^([\w-]+):\s*on$/.exec(line);
      if (m) fn = m[1] ?? null;
    }
  }
  if (section === null) return { data: null, problems: ['no RSS sections found'] };
  return { data: { indirection: indirection.length ? indirection : null, hash_key: hashKey, hash_function: fn }, problems: [] };
}

/** `ethtool -n IF rx-flow-hash tcp4`: a title line, then one field per line ("IP SA", "L4 bytes 0 & 1 …"). */
export function parseFlowHash(text: string): Parsed<string[] | null> {
  const ls = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (!ls[0] || !/flows use these fields/i.test(ls[0])) return { data: null, problems: ['unexpected rx-flow-hash output'] };
  const fields = ls.slice(1).filter((l) => l !== 'None');
  return { data: fields, problems: [] };
}
