// Catalog mechanism: load and check the data, find the entry for a key (exact or `*` pattern),
// suggest keys for a typo. Values are checked by validate.ts (re-exported here).
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
 *  is written '/' in a dotted key. As sysctl does, the first separator decides: in the slash form
 *  (net/ipv4/conf/eth0.100/rp_filter) slashes become dots and dots become slashes. */
export function normaliseKey(key: string): string {
  const k = key.trim();
  const first = k.search(/[./]/);
  return first >= 0 && k[first] === '/' ? k.replace(/[./]/g, (c) => (c === '/' ? '.' : '/')) : k;
}

const patternCache = new Map<string, RegExp>();
/** A key pattern as a regular expression: a `*` segment stands for one whole segment (catalog
 *  patterns such as net.ipv4.conf.*.rp_filter); inside a segment (a user's glob such as
 *  net.ipv4.tcp_*mem or rp_filt?r) `*` is any run of characters and `?` one, never a '.'. */
function patternOf(key: string): RegExp {
  let re = patternCache.get(key);
  if (!re) {
    const body = key
      .split('.')
      .map((seg) => (seg === '*' ? '[^.]+' : seg.replace(/[\\^$+()[\]{}|.-]/g, '\\$&').replace(/\*/g, '[^.]*').replace(/\?/g, '[^.]')))
      .join('\\.');
    re = new RegExp(`^${body}$`);
    patternCache.set(key, re);
  }
  return re;
}

/** Does `key` hold a glob character (`*` or `?`, a whole segment or inside one)? */
export const hasGlob = (key: string): boolean => /[*?]/.test(key);

/** True when the concrete `key` matches the glob `pattern` (see patternOf). */
export const globMatches = (pattern: string, key: string): boolean => patternOf(pattern).test(key);

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

export {
  INT_MAX,
  INT_MIN,
  kernelForm,
  parseKernelNumber,
  parserOf,
  PARSERS,
  type Parser,
  type ParsedNumber,
  UINT_MAX,
  ULONG_MAX,
  validateSysctlValue,
  validateUncatalogued,
  validateValue,
  type KernelVerdict,
  type ValueCheck,
  type ValueContext,
  type ValueProblem,
} from './validate.js';
