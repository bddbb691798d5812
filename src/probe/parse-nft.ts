// `nft -j list ruleset` (libnftables JSON, schema version 1; nft 1.0.6 on Debian 12) → the
// Snapshot's typed ruleset (src/snapshot/nft.ts). The JSON is checked with zod at this edge;
// expressions nettune does not model are kept in the rule's text and mark the rule opaque, so a
// newer nft never breaks the probe. Reference: libnftables-json(5).
import { z } from 'zod';
import type { NftMatch, NftRule, NftRuleset, NftTable, NftValue } from '../snapshot/nft.js';
import { NFT_VERDICTS } from '../snapshot/nft.js';
import type { ProbeError } from '../snapshot/schema.js';
import type { RunOptions, RunResult } from '../sys/run.js';
import type { Parsed } from './parse-proc.js';

const docSchema = z.object({ nftables: z.array(z.record(z.string(), z.unknown())) });
const tableSchema = z.object({ family: z.string(), name: z.string() });
const chainSchema = z.object({
  family: z.string(),
  table: z.string(),
  name: z.string(),
  type: z.string().optional(),
  hook: z.string().optional(),
  prio: z.number().optional(),
  policy: z.string().optional(),
});
const ruleSchema = z.object({
  family: z.string(),
  table: z.string(),
  chain: z.string(),
  handle: z.number().int().optional(),
  expr: z.array(z.unknown()).default([]),
  comment: z.string().optional(),
});

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const one = (o: Record<string, unknown>): [string, unknown] | null => {
  const keys = Object.keys(o);
  return keys.length === 1 && keys[0] !== undefined ? [keys[0], o[keys[0]]] : null;
};

/** The left side of a match as nft prints it ("ct state", "tcp dport", "meta iifname"), or null. */
function leftKey(left: unknown): string | null {
  if (!isObj(left)) return null;
  const e = one(left);
  if (!e || !isObj(e[1])) return null;
  const [kind, body] = e;
  if (kind === 'ct' && typeof body.key === 'string') return `ct ${body.key}`;
  if (kind === 'meta' && typeof body.key === 'string') return `meta ${body.key}`;
  if (kind === 'payload' && typeof body.protocol === 'string' && typeof body.field === 'string') return `${body.protocol} ${body.field}`;
  return null;
}

/** A right side → its values (sets and lists flattened, ranges as [lo, hi]); null when not modelled. */
function rightValues(right: unknown): NftValue[] | null {
  if (typeof right === 'number' || typeof right === 'string') return [right];
  if (Array.isArray(right)) {
    const out: NftValue[] = [];
    for (const r of right) {
      const v = rightValues(r);
      if (!v) return null;
      out.push(...v);
    }
    return out;
  }
  if (!isObj(right)) return null;
  if ('set' in right) return rightValues(right.set);
  const range = right.range;
  if (Array.isArray(range) && range.length === 2 && typeof range[0] === 'number' && typeof range[1] === 'number') return [[range[0], range[1]]];
  return null;
}

const valueText = (v: NftValue): string => (Array.isArray(v) ? `${v[0]}-${v[1]}` : typeof v === 'string' && /[^A-Za-z0-9_.:/-]/.test(v) ? JSON.stringify(v) : String(v));

function matchText(m: NftMatch): string {
  const op = m.op === '==' || m.op === 'in' ? '' : `${m.op} `;
  const vals = m.values.map(valueText);
  const list = m.key === 'ct state' || m.key === 'ct status' ? vals.join(',') : vals.length === 1 ? (vals[0] ?? '') : `{ ${vals.join(', ')} }`;
  return `${m.key} ${op}${list}`;
}

const NAT = new Set(['snat', 'dnat', 'masquerade', 'redirect']);
const VERDICT_SET = new Set<string>(NFT_VERDICTS);

/** One rule's expressions → matches, verdict, notrack, nat and a text form. */
export function describeRule(expr: readonly unknown[], handle: number | null, comment?: string): NftRule {
  const matches: NftMatch[] = [];
  const words: string[] = [];
  let verdict: NftRule['verdict'] = null;
  let notrack = false;
  let nat = false;
  let opaque = false;
  for (const x of expr) {
    const e = isObj(x) ? one(x) : null;
    if (!e) {
      opaque = true;
      continue;
    }
    const [kind, body] = e;
    if (kind === 'match' && isObj(body)) {
      const key = leftKey(body.left);
      const values = rightValues(body.right);
      if (key && values && typeof body.op === 'string') {
        const m = { key, op: body.op, values };
        matches.push(m);
        words.push(matchText(m));
      } else {
        opaque = true;
        words.push('(match)');
      }
    } else if (VERDICT_SET.has(kind)) {
      const target = isObj(body) && typeof body.target === 'string' ? body.target : null;
      verdict = { kind: kind as (typeof NFT_VERDICTS)[number], target };
      words.push(target ? `${kind} ${target}` : kind);
    } else if (kind === 'notrack') {
      notrack = true;
      words.push('notrack');
    } else if (NAT.has(kind)) {
      nat = true;
      words.push(kind);
    } else if (kind === 'counter' || kind === 'log' || kind === 'limit') {
      words.push(kind);
    } else {
      opaque = true;
      words.push(kind);
    }
  }
  if (comment) words.push(`comment ${JSON.stringify(comment)}`);
  return { handle, text: words.join(' '), matches, verdict, notrack, nat, opaque };
}

/** Parses the text of `nft -j list ruleset` (or `nft -j list table …`). */
export function parseNftJson(text: string): Parsed<NftRuleset | null> {
  const problems: string[] = [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { data: null, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const doc = docSchema.safeParse(raw);
  if (!doc.success) return { data: null, problems: ['not an nftables JSON document (no "nftables" array)'] };
  const tables = new Map<string, NftTable>();
  const id = (family: string, name: string): string => `${family} ${name}`;
  let version: string | null = null;
  for (const item of doc.data.nftables) {
    const e = one(item);
    if (!e) continue;
    const [kind, body] = e;
    if (kind === 'metainfo' && isObj(body) && typeof body.version === 'string') version = body.version;
    else if (kind === 'table') {
      const t = tableSchema.safeParse(body);
      if (t.success) tables.set(id(t.data.family, t.data.name), { family: t.data.family, name: t.data.name, chains: [] });
      else problems.push('a table without family or name');
    } else if (kind === 'chain') {
      const c = chainSchema.safeParse(body);
      const table = c.success ? tables.get(id(c.data.family, c.data.table)) : undefined;
      if (!c.success || !table) {
        problems.push('a chain without family, table or name, or before its table');
        continue;
      }
      table.chains.push({ name: c.data.name, type: c.data.type ?? null, hook: c.data.hook ?? null, prio: c.data.prio ?? null, policy: c.data.policy ?? null, rules: [] });
    } else if (kind === 'rule') {
      const r = ruleSchema.safeParse(body);
      const chain = r.success ? tables.get(id(r.data.family, r.data.table))?.chains.find((c) => c.name === r.data.chain) : undefined;
      if (!r.success || !chain) {
        problems.push('a rule without family, table or chain, or before its chain');
        continue;
      }
      chain.rules.push(describeRule(r.data.expr, r.data.handle ?? null, r.data.comment));
    }
    // sets, maps, flowtables, counters, quotas, ct helpers …: not analysed (yet)
  }
  return { data: { version, tables: [...tables.values()] }, problems };
}

/** The probe's one nft process: `nft -j list ruleset`; null (with the reason in errors) when nft
 *  is missing, not permitted (needs CAP_NET_ADMIN) or prints something else. */
export async function probeNftRuleset(nft: string | null, exec: (file: string, args: readonly string[], opts: Pick<RunOptions, 'timeoutMs'>) => Promise<RunResult>, errors: ProbeError[]): Promise<NftRuleset | null> {
  const source = 'nft -j list ruleset';
  if (!nft) {
    errors.push({ section: 'nft', source, message: 'nft: not installed (the nftables ruleset is not probed)' });
    return null;
  }
  const res = await exec(nft, ['-j', 'list', 'ruleset'], { timeoutMs: 10_000 });
  if (!res.ok) {
    errors.push({ section: 'nft', source, message: res.error ?? 'failed' });
    return null;
  }
  return nftFromText(res.stdout, source, errors);
}

/** `nft -j list ruleset` output → the ruleset (problems recorded against `source`). */
export function nftFromText(text: string, source: string, errors: ProbeError[]): NftRuleset | null {
  const p = parseNftJson(text.trim() === '' ? '{"nftables":[]}' : text);
  for (const m of p.problems) errors.push({ section: 'nft', source, message: m });
  return p.data;
}
