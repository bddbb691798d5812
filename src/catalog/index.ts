// Catalog mechanism: load and check the data, find the entry for a key (exact or `*` pattern),
// validate a value against it, and suggest keys for a typo.
import { catalogData } from './data/index.js';
import { type CatalogEntry, catalogEntrySchema } from './schema.js';

export type { CatalogEntry } from './schema.js';

let loaded: CatalogEntry[] | null = null;

/** All entries, schema-checked once (a broken data file is a programming error caught by tests). */
export function catalog(): CatalogEntry[] {
  loaded ??= catalogData.map((e) => catalogEntrySchema.parse(e));
  return loaded;
}

/** sysctl(8) accepts '/' as the separator too (net/ipv4/tcp_rmem); a '.' inside an interface name
 *  is written '/' in a dotted key. We accept the slash form only when it has no dots. */
export function normaliseKey(key: string): string {
  const k = key.trim();
  return k.includes('.') ? k : k.replace(/\//g, '.');
}

const patternCache = new Map<string, RegExp>();
function patternOf(key: string): RegExp {
  let re = patternCache.get(key);
  if (!re) {
    const body = key
      .split('.')
      .map((s) => (s === '*' ? '[^.]+' : s.replace(/[\\^$+?()[\]{}|-]/g, '\\$&')))
      .join('\\.');
    re = new RegExp(`^${body}$`);
    patternCache.set(key, re);
  }
  return re;
}

export const isPattern = (key: string): boolean => key.split('.').includes('*');

/** True when `key` (concrete) is covered by `pattern` (which may contain `*` segments). */
export const keyMatches = (pattern: string, key: string): boolean => (isPattern(pattern) ? patternOf(pattern).test(key) : pattern === key);

/** The entry describing `key`: exact key first, then the first pattern that covers it. */
export function findEntry(key: string): CatalogEntry | undefined {
  const k = normaliseKey(key);
  const all = catalog();
  return all.find((e) => e.key === k) ?? all.find((e) => isPattern(e.key) && keyMatches(e.key, k));
}

/** Levenshtein distance, early-exit above `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** Up to `max` keys close to `key`: same last segment first (tcp_rmem → net.ipv4.tcp_rmem), then
 *  by edit distance over the full key and the last segment. */
export function suggestKeys(key: string, candidates: Iterable<string>, max = 5): string[] {
  const k = normaliseKey(key).toLowerCase();
  const last = k.split('.').pop() ?? k;
  const limit = Math.max(2, Math.floor(k.length / 4));
  const scored: { key: string; score: number }[] = [];
  for (const c of new Set(candidates)) {
    const cl = c.toLowerCase();
    const cLast = cl.split('.').pop() ?? cl;
    let score: number;
    if (cLast === last) score = 0;
    else {
      const full = editDistance(k, cl, limit);
      // A near-miss on the last segment alone (tcp_rmen → net.ipv4.tcp_rmem) counts only when
      // that segment is itself close; the +0.5 ranks it behind a full-key match of equal distance.
      const tailLimit = Math.max(1, Math.floor(last.length / 4));
      const tailDistance = editDistance(last, cLast, tailLimit);
      const tail = tailDistance <= tailLimit ? tailDistance + 0.5 : Infinity;
      score = Math.min(full, tail);
      if (score > limit) continue;
    }
    scored.push({ key: c, score });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.key.length - b.key.length || a.key.localeCompare(b.key))
    .slice(0, max)
    .map((s) => s.key);
}

export interface ValueCheck {
  ok: boolean;
  /** Why the value is not acceptable (null when ok). */
  problem: string | null;
}

const INT = /^-?\d+$/;

function checkRange(v: number, r: { min?: number | undefined; max?: number | undefined } | undefined, what: string): string | null {
  if (!r) return null;
  if (r.min !== undefined && v < r.min) return `${what} ${v} is below the minimum ${r.min}`;
  if (r.max !== undefined && v > r.max) return `${what} ${v} is above the maximum ${r.max}`;
  return null;
}

/** Checks a value (as it would be written with sysctl -w) against the entry's type and range. */
export function validateValue(entry: CatalogEntry, raw: string): ValueCheck {
  const value = raw.trim().replace(/\s+/g, ' ');
  const fail = (problem: string): ValueCheck => ({ ok: false, problem });
  switch (entry.type) {
    case 'bool':
      return value === '0' || value === '1' ? { ok: true, problem: null } : fail(`${entry.key} takes 0 or 1, not ${JSON.stringify(raw)}`);
    case 'int': {
      if (!INT.test(value)) return fail(`${entry.key} takes an integer, not ${JSON.stringify(raw)}`);
      const p = checkRange(Number(value), entry.range, entry.key);
      return p ? fail(p) : { ok: true, problem: null };
    }
    case 'enum': {
      const allowed = (entry.values ?? []).map((v) => v.value);
      return allowed.includes(value) ? { ok: true, problem: null } : fail(`${entry.key} takes one of ${allowed.join(', ')}, not ${JSON.stringify(raw)}`);
    }
    case 'bitmask': {
      const n = /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : INT.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n) || n < 0) return fail(`${entry.key} takes a bit mask (decimal or 0x hex), not ${JSON.stringify(raw)}`);
      const known = (entry.values ?? []).reduce((acc, v) => acc | Number(v.value), 0);
      const unknown = n & ~known;
      if (known > 0 && unknown !== 0) return fail(`${entry.key}: bits 0x${unknown.toString(16)} are not defined (known: 0x${known.toString(16)})`);
      const p = checkRange(n, entry.range, entry.key);
      return p ? fail(p) : { ok: true, problem: null };
    }
    case 'int_vector': {
      const fields = entry.fields ?? [];
      const parts = value.split(' ');
      if (parts.length !== fields.length)
        return fail(`${entry.key} takes ${fields.length} integers (${fields.join(' ')}), got ${parts.length}`);
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i] ?? '';
        if (!INT.test(part)) return fail(`${entry.key}: ${fields[i]} must be an integer, not ${JSON.stringify(part)}`);
        const p = checkRange(Number(part), entry.field_ranges?.[i] ?? entry.range, `${entry.key} ${fields[i]}`);
        if (p) return fail(p);
      }
      return { ok: true, problem: null };
    }
    case 'string':
      return value.length > 0 ? { ok: true, problem: null } : fail(`${entry.key} takes a non-empty value`);
  }
}
