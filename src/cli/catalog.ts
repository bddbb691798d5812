// `nettune catalog`, `explain KEY` and `get KEY…`: what a knob means and what it is set to.
import type { Command } from 'commander';
import { z } from 'zod';
import { catalog, type CatalogEntry, findEntry, globMatches, hasGlob, isPattern, normaliseKey, suggestKeys } from '../catalog/index.js';
import { DOMAINS } from '../catalog/schema.js';
import { defaultHistory, describeDefault, differsFromDefault, kernelDefault, type KernelDefault, newestDefault } from '../catalog/defaults.js';
import { resolveCounter, type Snapshot } from '../snapshot/index.js';
import { environmentError, usageError } from '../sys/errors.js';
import { getSnapshot, parseOptions, print, printJson, sourceOptionsSchema, withJson, withSource } from './common.js';
import { table } from './format.js';

/** Throws exit 2 with "did you mean" for a key neither the catalog nor the Snapshot knows. */
export function unknownKey(key: string, snap: Snapshot | null): never {
  const candidates = [...catalog().map((e) => e.key), ...(snap ? Object.keys(snap.sysctl) : [])];
  const hints = suggestKeys(key, candidates);
  throw usageError(`unknown key ${JSON.stringify(key)}`, hints.length ? `did you mean: ${hints.join(', ')}` : 'see `nettune catalog` for known keys');
}

/** Concrete keys in the Snapshot that `key` names (itself, or every match of a `*` pattern or a
 *  glob inside a segment such as net.ipv4.tcp_*). */
export function matchingKeys(key: string, snap: Snapshot): string[] {
  if (hasGlob(key))
    return Object.keys(snap.sysctl)
      .filter((k) => globMatches(key, k))
      .sort();
  return key in snap.sysctl ? [key] : [];
}

/** Why a key the Snapshot has no value for is missing: the probe could not read it (EIO from an
 *  unset stable_secret, EACCES), or it is a global knob and this is a child namespace. */
export function whyMissing(key: string, snap: Snapshot): { kind: 'unreadable' | 'global-in-netns'; message: string } | null {
  const path = `/proc/sys/${key.replace(/\./g, '/')}`;
  const err = snap.errors.find((e) => e.section === 'sysctl' && (e.source === path || e.message.startsWith(`${key}:`)));
  if (err) return { kind: 'unreadable', message: `${key} exists but could not be read: ${err.message.startsWith(`${key}:`) ? err.message.slice(key.length + 1).trim() : err.message}` };
  const entry = findEntry(key);
  if (entry?.scope === 'global' && snap.netns.init === false)
    return {
      kind: 'global-in-netns',
      message: `${key} is global (init namespace only): the kernel shows it only in the initial network namespace${snap.netns.name ? `, not in ${snap.netns.name}` : ''}`,
    };
  return null;
}

export interface Explanation {
  key: string;
  entry: CatalogEntry | null;
  values: Record<string, string>;
  /** Per concrete key: differs from this Snapshot's kernel default (null when it is not known). */
  differs_from_default: Record<string, boolean | null>;
  /** The kernel default for this Snapshot's kernel and host: for the entry's key, and for each
   *  concrete key whose default differs from it (conf.all vs conf.default). */
  default: KernelDefault | null;
  defaults: Record<string, KernelDefault>;
  /** A global knob asked in a child namespace: it exists only in the initial namespace. */
  global_in_netns: boolean;
  counters: Record<string, number | null>;
  related: Record<string, string | null>;
  source: { snapshot_taken_at: string; hostname: string; netns: string | null };
}

export function explainKey(rawKey: string, snap: Snapshot): Explanation {
  const key = normaliseKey(rawKey);
  const entry = findEntry(key) ?? null;
  const keys = matchingKeys(key, snap);
  if (!entry && keys.length === 0) unknownKey(rawKey, snap);
  const values: Record<string, string> = {};
  const differs: Record<string, boolean | null> = {};
  const main = entry ? kernelDefault(isPattern(entry.key) && !isPattern(key) ? key : entry.key, snap) : null;
  const defaults: Record<string, KernelDefault> = {};
  for (const k of keys) {
    const v = snap.sysctl[k] ?? '';
    values[k] = v;
    differs[k] = differsFromDefault(k, snap, v);
    const d = kernelDefault(k, snap);
    if (d && main && (d.value !== main.value || d.status !== main.status)) defaults[k] = d;
  }
  const related: Record<string, string | null> = {};
  for (const r of entry?.related ?? []) {
    if (isPattern(r)) {
      for (const k of matchingKeys(r, snap)) related[k] = snap.sysctl[k] ?? null;
    } else related[r] = snap.sysctl[r] ?? null;
  }
  return {
    key,
    entry,
    values,
    differs_from_default: differs,
    default: main,
    defaults,
    global_in_netns: entry?.scope === 'global' && snap.netns.init === false && keys.length === 0,
    counters: Object.fromEntries((entry?.counters ?? []).map((c) => [c, resolveCounter(snap, c)])),
    related,
    source: { snapshot_taken_at: snap.taken_at, hostname: snap.hostname, netns: snap.netns.name },
  };
}

/** Wraps prose at `width` columns with a hanging indent. */
function wrap(text: string, indent: string, width = 100): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(indent + line);
  return out.join('\n');
}

function describeType(e: CatalogEntry): string {
  if (e.type === 'int_vector') return `${e.fields?.length ?? 0} integers (${(e.fields ?? []).join(' ')})`;
  if (e.type === 'bool') return 'boolean 0/1';
  return e.type;
}

function describeRange(e: CatalogEntry): string | null {
  if (e.values?.length) return e.values.map((v) => `${v.value} = ${v.meaning}`).join('; ');
  if (e.field_ranges) {
    return e.field_ranges
      .map((r, i) => `${e.fields?.[i]} ${r.min ?? '…'}–${r.max ?? '…'}`)
      .join(', ');
  }
  if (e.range) return `${e.range.min ?? '…'} – ${e.range.max ?? '…'}`;
  return null;
}

export function renderExplain(x: Explanation): string {
  const e = x.entry;
  const out: string[] = [];
  if (!e) {
    out.push(`${x.key}: not in the nettune catalog (a live key without curated knowledge)`);
    for (const [k, v] of Object.entries(x.values)) out.push(`  ${k} = ${v}`);
    return out.join('\n');
  }
  out.push(`${e.key}  (${e.domain} · ${describeType(e)} · unit ${e.unit} · ${e.scope === 'netns' ? 'per network namespace' : 'global: init namespace only'})`);
  if (e.removed_in) out.push(`  REMOVED in Linux ${e.removed_in}: setting it fails on current kernels.`);
  const valueRows: string[][] = Object.entries(x.values).map(([k, v]) => {
    const d = x.differs_from_default[k];
    return [k === e.key ? 'current' : k, v, d === null ? '' : d ? '(differs from default)' : '(default)'];
  });
  if (valueRows.length === 0) valueRows.push(['current', x.global_in_netns ? 'global (init namespace only)' : '(not present on this host/namespace)', '']);
  const d = x.default;
  valueRows.push(['default', d ? describeDefault(d) : (e.default ?? 'computed at boot'), d?.status === 'estimate' ? '(estimate: the kernel measured memory at boot)' : '']);
  for (const [k, kd] of Object.entries(x.defaults)) valueRows.push([`default ${k}`, describeDefault(kd), '']);
  out.push(table(valueRows.map((r) => ['  ' + (r[0] ?? ''), r[1] ?? '', r[2] ?? ''])));
  if (d?.how && d.how !== e.default_note) out.push(wrap(`${d.how}.`, '  '));
  if (e.default_note) out.push(wrap(e.default_note, '  '));
  const range = describeRange(e);
  if (range) out.push(wrap(`valid: ${range}`, '  '));
  out.push('', wrap(e.summary, '  '), '', wrap(`Trade-off: ${e.tradeoff}`, '  '));
  for (const c of e.changes ?? []) out.push(wrap(`Linux ${c.version}: ${c.note}${c.from || c.to ? ` (${c.from ?? '?'} → ${c.to ?? '?'})` : ''}`, '  '));
  if (Object.keys(x.counters).length) {
    out.push('', '  Related counters now (since boot):');
    out.push(table(Object.entries(x.counters).map(([k, v]) => [`    ${k}`, v === null ? '(not available)' : String(v)])));
  }
  if (Object.keys(x.related).length) {
    out.push('', '  Related knobs:');
    out.push(table(Object.entries(x.related).map(([k, v]) => [`    ${k}`, v ?? '(not present)'])));
  }
  out.push('', '  Sources:', ...e.sources.map((s) => `    ${s}`));
  return out.join('\n');
}

const catalogOptions = z.object({
  json: z.boolean().optional(),
  domain: z.enum(DOMAINS).optional(),
  search: z.string().optional(),
});

const getOptions = sourceOptionsSchema.and(z.object({ values: z.boolean().optional() }));

export function registerCatalog(program: Command): void {
  withJson(program.command('catalog').description('list the parameter catalog: what nettune knows about each knob'))
    .option('--domain <domain>', `only one domain (${DOMAINS.join(', ')})`)
    .option('--search <text>', 'only entries whose key or summary contains TEXT')
    .action((raw: unknown) => {
      const opts = parseOptions(catalogOptions, raw);
      const needle = opts.search?.toLowerCase();
      const entries = catalog().filter(
        (e) => (!opts.domain || e.domain === opts.domain) && (!needle || e.key.toLowerCase().includes(needle) || e.summary.toLowerCase().includes(needle)),
      );
      // Without a Snapshot the catalog shows the newest kernel's default; versioned and computed
      // ones say so, and `explain` evaluates them for a host's kernel and memory.
      if (opts.json) return printJson({ count: entries.length, entries: entries.map((e) => ({ ...e, default_history: defaultHistory(e.key) })) });
      print(
        table([
          ['KEY', 'SCOPE', 'TYPE', 'UNIT', 'DEFAULT (newest kernel)'],
          ...entries.map((e) => [e.key, e.scope, e.type, e.unit, e.removed_in ? `(removed in ${e.removed_in})` : (newestDefault(e.key)?.text ?? e.default ?? 'computed')]),
        ]),
      );
      print(`${entries.length} entries. Defaults that changed between kernels or are computed from memory are evaluated for a host by \`nettune explain KEY\`.`);
    });

  withSource(program.command('explain').description('what a knob does, its current value vs default, related counters').argument('<key>'))
    .action(async (key: string, raw: unknown) => {
      const opts = parseOptions(sourceOptionsSchema, raw);
      const x = explainKey(key, await getSnapshot(opts));
      if (opts.json) printJson(x);
      else print(renderExplain(x));
    });

  withSource(program.command('get').description('print current values (like sysctl; `*` matches one key segment)').argument('<keys...>'))
    .option('--values', 'print only the values, one per line (like sysctl -n)')
    .action(async (keys: string[], raw: unknown) => {
      const opts = parseOptions(getOptions, raw);
      const snap = await getSnapshot(opts);
      const result: Record<string, string> = {};
      for (const key of keys) {
        const k = normaliseKey(key);
        const found = matchingKeys(k, snap);
        if (found.length === 0) {
          const why = isPattern(k) || hasGlob(k) ? null : whyMissing(k, snap);
          if (why?.kind === 'unreadable') throw environmentError(why.message);
          if (why) throw usageError(why.message, 'read it without --netns (in the initial namespace)');
          if (hasGlob(k) && !isPattern(k)) throw usageError(`no key matches ${JSON.stringify(key)}`, '`*` and `?` match within one segment, e.g. net.ipv4.tcp_*mem');
          unknownKey(key, snap);
        }
        for (const f of found) result[f] = snap.sysctl[f] ?? '';
      }
      if (opts.json) printJson(result);
      else if (opts.values) print(Object.values(result).join('\n'));
      else print(Object.entries(result).map(([k, v]) => `${k} = ${v}`).join('\n'));
    });
}
