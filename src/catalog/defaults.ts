// The kernel default of a knob for one Snapshot: its kernel version, memory, page size and the
// hash sizes it records. Data lives in data/defaults.ts (version spans, named formulas with their
// parameters); this file picks the span for the Snapshot's kernel and evaluates the formula the
// way the kernel does at boot. Where the Snapshot lacks an input the answer says what the default
// depends on instead of guessing a number.
import type { Snapshot } from '../snapshot/index.js';
import { DEFAULT_HISTORY, type DefaultSpan, type FormulaName } from './data/defaults.js';
import { catalog, type CatalogEntry, findEntry as findEntryUncached, isPattern, keyMatches, normaliseKey } from './index.js';

let index: { exact: Map<string, CatalogEntry>; patterns: CatalogEntry[] } | null = null;
const entryCache = new Map<string, CatalogEntry | undefined>();
/** findEntry with an index and a memo: show and audit ask for every key of a Snapshot. Same
 *  answer as findEntry (exact key first, then the first pattern that covers it). */
export function findEntry(key: string): CatalogEntry | undefined {
  const k = normaliseKey(key);
  if (entryCache.has(k)) return entryCache.get(k);
  if (!index) {
    index = { exact: new Map(), patterns: [] };
    for (const e of catalog()) {
      if (isPattern(e.key)) index.patterns.push(e);
      else if (!index.exact.has(e.key)) index.exact.set(e.key, e);
    }
  }
  const found = index.exact.get(k) ?? index.patterns.find((e) => keyMatches(e.key, k));
  entryCache.set(k, found);
  return found;
}
/** For the test that the index agrees with the catalog's own lookup. */
export const findEntryReference = findEntryUncached;

export interface KernelDefault {
  key: string;
  /** exact: `value` is the default · estimate: computed at boot from memory the Snapshot knows
   *  only approximately, `bounds` per field say what counts as the default · choices: one of
   *  `choices`, depending on a build option or a stable backport · unknown: depends on an input
   *  the Snapshot lacks (`how` says which) */
  status: 'exact' | 'estimate' | 'choices' | 'unknown';
  /** The default as `sysctl -n` prints it; for an estimate the value for the memory the Snapshot
   *  reports; null when unknown. */
  value: string | null;
  choices: string[];
  bounds: { min: number; max: number }[] | null;
  /** How the default comes about on this Snapshot's kernel and host, in one sentence. */
  how: string;
  /** Kernel version from which this default holds (null: as far back as nettune knows). */
  since: string | null;
  source: string | null;
}

type Version = [number, number, number];

/** 6.18.44-fc-v782 → [6, 18, 44]; 5.10.0-23-amd64 → [5, 10, 0]; null when not a version. */
export function parseKernelVersion(release: string): Version | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
const ver = (s: string): Version => parseKernelVersion(s) ?? [0, 0, 0];

/** The upstream sublevel: from the release (6.1.73-…) or, where distributions print x.y.0
 *  (Debian's 5.10.0-23-amd64), from the version string (#1 SMP Debian 5.10.179-1); null if unknown. */
function sublevel(snap: Snapshot, v: Version): number | null {
  if (v[2] > 0) return v[2];
  const m = new RegExp(`\\b${v[0]}\\.${v[1]}\\.(\\d+)`).exec(snap.kernel.version);
  return m ? Number(m[1]) : null;
}

const fmtVersion = (v: Version): string => `${v[0]}.${v[1]}`;
const norm = (v: string): string => v.trim().replace(/\s+/g, ' ');
const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(bytes < 10 * 2 ** 30 ? 1 : 0)} GiB`;

// ---- formula inputs -------------------------------------------------------------------------

interface Ctx {
  snap: Snapshot;
  key: string;
  params: Record<string, number>;
  page: number;
  /** MemTotal in pages (totalram_pages once boot memory is freed). */
  memPages: number;
}

type Result =
  | { exact: string; how: string }
  | { lo: number[]; hi: number[]; how: string; shape?: 'mem_triple' }
  | { choices: string[]; how: string }
  | { unknown: true; how: string };

const ints = (v: string | undefined): number[] | null => {
  if (v === undefined) return null;
  const parts = norm(v).split(' ');
  return parts.every((p) => /^-?\d+$/.test(p)) ? parts.map(Number) : null;
};

/** tcp_mem/udp_mem as the kernel derives them from a page count: pressure = max(128, pages / d),
 *  low = pressure / 4 × 3, high = 2 × low. */
const memTriple = (pages: number, divisor: number): number[] => {
  const p = Math.max(128, Math.floor(pages / divisor));
  const l = Math.floor(p / 4) * 3;
  return [l, p, l * 2];
};
const isMemTriple = (v: number[]): boolean => v.length === 3 && v[0] === Math.floor((v[1] ?? 0) / 4) * 3 && v[2] === (v[0] ?? 0) * 2;

/** nr_free_buffer_pages() at boot: the free pages of the zones buffers may use, minus their high
 *  watermarks. Not recorded; bounded by MemTotal, and (measured on 2–24 GiB machines) above 85 %
 *  of it. When tcp_mem still has the kernel's shape it pins the count to 16 pages. */
function bootBufferPages(c: Ctx, useTcpMem: boolean): { lo: number; hi: number; from: string } {
  const band = { lo: Math.floor(c.memPages * 0.85), hi: c.memPages, from: `${gib(c.memPages * c.page)} of memory` };
  if (!useTcpMem) return band;
  const t = ints(c.snap.sysctl['net.ipv4.tcp_mem']);
  const p = t?.[1];
  if (t && p !== undefined && isMemTriple(t) && p > 128 && p >= memTriple(band.lo, 16)[1]! && p <= memTriple(band.hi, 16)[1]!)
    return { lo: p * 16, hi: p * 16 + 15, from: 'the boot-time page count tcp_mem records' };
  return band;
}

/** The TCP established-hash size this namespace uses (net.ipv4.tcp_ehash_entries, 6.1+; a child
 *  namespace sharing the global table reads it negative). */
function ehash(c: Ctx, global: boolean): { size: number; own: boolean } | null {
  const v = ints(c.snap.sysctl['net.ipv4.tcp_ehash_entries'])?.[0];
  if (v === undefined || v === 0) return null;
  if (global && v > 0 && c.snap.netns.init === false) return null; // own table; the global size is not visible here
  return { size: Math.abs(v), own: v > 0 && c.snap.netns.init === false };
}
const EHASH_UNKNOWN =
  'the TCP established-hash size, which the kernel sizes from memory at boot (dmesg "TCP established hash table entries"); the Snapshot records it as net.ipv4.tcp_ehash_entries only on 6.1 and later';

const is64bit = (machine: string): boolean => !/^(i[3-6]86|x86$|armv?[1-7]|arm$|mips(el)?$|ppc$|powerpc$|s390$|sparc$|m68k|sh[34]?$|riscv32)/.test(machine);

/** nf_conntrack_init_start(): buckets from totalram_pages when the module loads. Built-in
 *  conntrack loads before the kernel frees its init memory and initrd, so totalram is then a
 *  little below MemTotal: evaluate both ends. */
function conntrackBuckets(c: Ctx, pages: number): number {
  const p = c.params;
  const gibPages = 2 ** 30 / c.page;
  let size = Math.floor((pages * c.page) / 16384 / 8); // / sizeof(struct hlist_head) on 64-bit
  if (pages > 4 * gibPages && (!p.only64bit || is64bit(c.snap.kernel.machine))) size = p.above4g ?? size;
  else if (pages > gibPages) size = p.above1g ?? size;
  size = Math.max(size, p.floor ?? 0);
  // nf_ct_alloc_hashtable rounds up to whole pages of bucket heads.
  const perPage = c.page / 8;
  return Math.ceil(size / perPage) * perPage;
}
const moduleLoadPages = (c: Ctx): [number, number] => [Math.max(1, c.memPages - Math.max(Math.floor(c.memPages * 0.02), (64 * 2 ** 20) / c.page)), c.memPages];

const FORMULAS: Record<FormulaName, (c: Ctx) => Result> = {
  tcp_mem: (c) => {
    const b = bootBufferPages(c, false);
    return { lo: memTriple(b.lo, 16), hi: memTriple(b.hi, 16), shape: 'mem_triple', how: `computed at boot from the buffer pages then free (${b.from}): pressure = 1/16 of them, low = 3/4 of pressure, high = 2 × low` };
  },
  udp_mem: (c) => {
    const b = bootBufferPages(c, false);
    return { lo: memTriple(b.lo, 8), hi: memTriple(b.hi, 8), shape: 'mem_triple', how: `computed at boot from the buffer pages then free (${b.from}): pressure = 1/8 of them, low = 3/4 of pressure, high = 2 × low` };
  },
  tcp_rmem: (c) => {
    const b = bootBufferPages(c, true);
    const initial = c.params.initial ?? 131072;
    const cap = c.params.cap ?? 6291456;
    const max = (n: number): number => Math.max(initial, Math.min(cap, Math.floor((n * c.page) / 128)));
    return { lo: [c.page, initial, max(b.lo)], hi: [c.page, initial, max(b.hi)], how: `min = one page, default = ${initial}, max = 1/128 of the buffer memory free at boot (${b.from}) capped at ${cap} and at least ${initial}` };
  },
  tcp_wmem: (c) => {
    const b = bootBufferPages(c, true);
    const initial = c.params.initial ?? 16384;
    const cap = c.params.cap ?? 4194304;
    const max = (n: number): number => Math.max(65536, Math.min(cap, Math.floor((n * c.page) / 128)));
    return { lo: [c.page, initial, max(b.lo)], hi: [c.page, initial, max(b.hi)], how: `min = one page, default = ${initial}, max = 1/128 of the buffer memory free at boot (${b.from}) capped at ${cap} and at least 65536` };
  },
  file_max: (c) => {
    // files_maxfiles_init(): (pages − 1.5 × pages in use at boot) × (page size / 1 KiB) / 10,
    // at least NR_FILE (8192). Little is in use that early: bounded by 0–10 % of memory.
    const n = (usedFraction: number): number => {
      const reserve = Math.min(Math.floor(c.memPages * usedFraction * 1.5), c.memPages - 1);
      return Math.max(8192, Math.floor(((c.memPages - reserve) * (c.page / 1024)) / 10));
    };
    return { lo: [n(0.1)], hi: [n(0)], how: `about 10 % of memory in KiB (${gib(c.memPages * c.page)}), less 1.5 × what was in use when the kernel computed it at boot, at least 8192; systemd (240+) raises it to LONG_MAX, which is not the kernel's default` };
  },
  conntrack_buckets: (c) => {
    const [a, b] = moduleLoadPages(c);
    return { lo: [conntrackBuckets(c, a)], hi: [conntrackBuckets(c, b)], how: `from memory when nf_conntrack loads (${gib(c.memPages * c.page)}): 1/16384 of it in bucket heads, replaced by ${c.params.above4g} above 4 GiB${c.params.only64bit ? ' (64-bit)' : ''} and ${c.params.above1g} above 1 GiB, at least ${c.params.floor}, unless the hashsize module parameter is given` };
  },
  conntrack_max: (c) => {
    const [a, b] = moduleLoadPages(c);
    const f = c.params.factor ?? 1;
    return { lo: [f * conntrackBuckets(c, a)], hi: [f * conntrackBuckets(c, b)], how: `${f === 1 ? 'equal to' : `${f} ×`} the automatically sized nf_conntrack_buckets (8 × hashsize when the hashsize module parameter is given)` };
  },
  conntrack_expect_max: (c) => {
    const [a, b] = moduleLoadPages(c);
    const e = (pages: number): number => 4 * Math.max(1, Math.floor(conntrackBuckets(c, pages) / 256));
    return { lo: [e(a)], hi: [e(b)], how: '4 × the expectation hash size, which is the automatic nf_conntrack_buckets / 256 (at least 1)' };
  },
  ehash_half: (c) => {
    const e = ehash(c, false);
    if (!e) return { unknown: true, how: `half of ${EHASH_UNKNOWN}` };
    return { exact: String(Math.floor(e.size / 2)), how: `half the ${e.own ? "namespace's own" : ''} established-hash size ${e.size} (net.ipv4.tcp_ehash_entries)`.replace('  ', ' ') };
  },
  ehash_half_global: (c) => {
    const e = ehash(c, true);
    if (!e) return { unknown: true, how: `half of ${EHASH_UNKNOWN} (the global table)` };
    return { exact: String(Math.floor(e.size / 2)), how: `half the established-hash size ${e.size} (net.ipv4.tcp_ehash_entries), set once at boot` };
  },
  syn_backlog: (c) => {
    const d = c.params.divisor ?? 128;
    const e = ehash(c, false);
    if (!e) return { unknown: true, how: `max(128, ${EHASH_UNKNOWN} / ${d})` };
    return { exact: String(Math.max(128, Math.floor(e.size / d))), how: `max(128, established-hash size ${e.size} / ${d})` };
  },
  two_jiffies_us: () => ({
    choices: ['8000', '2000', '6666', '20000'],
    how: 'two jiffies, 2000000 / CONFIG_HZ µs: 8000 at HZ=250 (Debian, Ubuntu), 2000 at HZ=1000, 6666 at HZ=300, 20000 at HZ=100; the Snapshot does not record CONFIG_HZ',
  }),
};

/** What each formula's result depends on, for texts without a Snapshot. */
const FORMULA_INPUT: Record<FormulaName, string> = {
  tcp_mem: 'from memory',
  udp_mem: 'from memory',
  tcp_rmem: 'from memory',
  tcp_wmem: 'from memory',
  file_max: 'from memory',
  conntrack_buckets: 'from memory',
  conntrack_max: 'from memory',
  conntrack_expect_max: 'from memory',
  ehash_half: 'from the TCP hash size',
  ehash_half_global: 'from the TCP hash size',
  syn_backlog: 'from the TCP hash size',
  two_jiffies_us: 'from CONFIG_HZ',
};

// ---- span selection -------------------------------------------------------------------------

function spansFor(key: string): { spans: DefaultSpan[]; catalogKey: string } | null {
  if (DEFAULT_HISTORY[key]) return { spans: DEFAULT_HISTORY[key] ?? [], catalogKey: key };
  const entry = findEntry(key);
  if (!entry) return null;
  const spans = DEFAULT_HISTORY[entry.key];
  if (spans) return { spans, catalogKey: entry.key };
  const source = entry.sources[0] ?? 'the catalog';
  return { spans: [entry.default === null ? { source } : { value: entry.default, source }], catalogKey: entry.key };
}

function evaluateSpan(span: DefaultSpan, c: Ctx, note: string | null): Result {
  if (span.formula) return FORMULAS[span.formula](c);
  if (span.value !== undefined) return { exact: span.value, how: '' };
  return { unknown: true, how: note ?? 'computed by the kernel; see the catalog entry' };
}

function toDefault(key: string, r: Result, span: DefaultSpan, prefix: string): KernelDefault {
  const base = { key, since: span.since ?? null, source: span.source };
  const how = [prefix, r.how].filter(Boolean).join(': ');
  if ('exact' in r) return { ...base, status: 'exact', value: r.exact, choices: [], bounds: null, how };
  if ('choices' in r) return { ...base, status: 'choices', value: null, choices: r.choices, bounds: null, how };
  if ('unknown' in r) return { ...base, status: 'unknown', value: null, choices: [], bounds: null, how };
  const same = r.lo.every((v, i) => v === r.hi[i]);
  if (same) return { ...base, status: 'exact', value: r.hi.join(' '), choices: [], bounds: null, how };
  const bounds = r.lo.map((v, i) => ({ min: v, max: r.hi[i] ?? v }));
  return { ...base, status: 'estimate', value: r.hi.join(' '), choices: [], bounds, how: `${how}${r.shape ? ' (accepted: any value of that shape within the bounds)' : ''}` };
}

const SHAPED = new Set<FormulaName>(['tcp_mem', 'udp_mem']);

/** The kernel default of `key` for this Snapshot, or null for a key the catalog does not know. */
export function kernelDefault(key: string, snap: Snapshot): KernelDefault | null {
  const found = spansFor(key);
  if (!found) return null;
  const entry = findEntry(key);
  const { spans } = found;
  const v = parseKernelVersion(snap.kernel.release);
  const c: Ctx = { snap, key, params: {}, page: snap.memory.page_size || 4096, memPages: Math.floor(snap.memory.total_bytes / (snap.memory.page_size || 4096)) };
  const note = entry?.default_note ?? null;
  const run = (s: DefaultSpan): Result => evaluateSpan(s, { ...c, params: s.params ?? {} }, note);
  if (!v) {
    const last = spans[spans.length - 1] as DefaultSpan;
    return toDefault(key, run(last), last, `kernel version unknown (${snap.kernel.release}), newest kernels`);
  }
  let idx = 0;
  spans.forEach((s, i) => {
    if (!s.since || cmp(ver(s.since), v) <= 0) idx = i;
  });
  const span = spans[idx] as DefaultSpan;
  const next = spans[idx + 1];
  const here = run(span);
  let prefix = spans.length > 1 || span.formula ? `Linux ${fmtVersion(v)}` : '';
  if (spans.length > 1 && 'exact' in here && !span.formula)
    prefix += span.since ? `: the default since ${span.since}` : next?.since ? `: the default before ${next.since}${next.value !== undefined ? ` (${next.value} since then)` : ''}` : '';
  if (next?.backported) {
    // A later default that stable updates of this series may carry.
    let carried: boolean | null = null;
    if (Array.isArray(next.backported)) {
      const inSeries = next.backported.map(ver).find((b) => b[0] === v[0] && b[1] === v[1]);
      if (inSeries) {
        const sub = sublevel(snap, v);
        carried = sub === null ? null : sub >= inSeries[2];
      } else carried = false;
    }
    if (carried === true) return toDefault(key, run(next), next, `Linux ${fmtVersion(v)}.${sublevel(snap, v)} (stable backport)`);
    if (carried === null) {
      const later = run(next);
      const values = (r: Result): string[] => ('exact' in r ? [r.exact] : 'choices' in r ? r.choices : []);
      const union = [...new Set([...values(here), ...values(later)])];
      if (union.length > 0 && !('lo' in here) && !('lo' in later))
        return {
          key,
          status: 'choices',
          value: null,
          choices: union,
          bounds: null,
          how: `Linux ${fmtVersion(v)}: ${values(here).join(' or ')} as released, ${values(later).join(' or ')} with the stable update that carries the ${next.since} change (${next.source})`,
          since: span.since ?? null,
          source: span.source,
        };
    }
  }
  return toDefault(key, here, span, prefix);
}

/** Whether `value` is the kernel default `d` (null when the default is not known). */
export function isKernelDefault(d: KernelDefault, value: string): boolean | null {
  const v = norm(value);
  switch (d.status) {
    case 'exact':
      return v === norm(d.value ?? '');
    case 'choices':
      return d.choices.includes(v);
    case 'unknown':
      return null;
    case 'estimate': {
      const n = ints(v);
      if (!n || !d.bounds || n.length !== d.bounds.length) return false;
      if (!n.every((x, i) => x >= (d.bounds?.[i]?.min ?? 0) && x <= (d.bounds?.[i]?.max ?? 0))) return false;
      const spans = spansFor(d.key)?.spans ?? [];
      const shaped = spans.some((s) => s.formula && SHAPED.has(s.formula));
      return shaped ? isMemTriple(n) : true;
    }
  }
}

/** Does the Snapshot's value of `key` differ from this kernel's default? null: unknown default
 *  or key absent. */
export function differsFromDefault(key: string, snap: Snapshot, value: string | undefined = snap.sysctl[key]): boolean | null {
  if (value === undefined) return null;
  const d = kernelDefault(key, snap);
  if (!d) return null;
  const is = isKernelDefault(d, value);
  return is === null ? null : !is;
}

/** The default as one short text: "212992", "8000 or 2000 or …", "≈ 288450 384602 576900",
 *  "depends on …". */
export function describeDefault(d: KernelDefault): string {
  if (d.status === 'exact') return d.value === '' ? '(empty)' : (d.value ?? '');
  if (d.status === 'choices') return d.choices.join(' or ');
  if (d.status === 'estimate') return `≈ ${d.value}`;
  return 'not known for this snapshot';
}

/** The default on the newest kernel nettune knows, for callers without a Snapshot (`catalog`). */
export function newestDefault(key: string): { text: string; versioned: boolean } | null {
  const found = spansFor(key);
  if (!found) return null;
  const last = found.spans[found.spans.length - 1] as DefaultSpan;
  const versioned = found.spans.length > 1;
  const text = last.formula ? `computed ${FORMULA_INPUT[last.formula]}` : last.value !== undefined ? last.value || '(empty)' : 'computed';
  return { text: versioned && last.since ? `${text} (since ${last.since})` : text, versioned };
}

/** The literal default on the newest kernel, for rules that use it as a recommended floor. */
export function newestLiteralDefault(key: string): string | null {
  const found = spansFor(key);
  const last = found?.spans[found.spans.length - 1];
  return last?.value ?? null;
}

/** Every key with version or formula data (for `catalog --json` and the tests). */
export const defaultHistory = (key: string): DefaultSpan[] | null => DEFAULT_HISTORY[key] ?? DEFAULT_HISTORY[findEntry(key)?.key ?? ''] ?? null;
