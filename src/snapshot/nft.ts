// The nftables ruleset in the Snapshot (`nft -j list ruleset`, parsed by src/probe/parse-nft.ts):
// tables, base chains with hook, priority and policy, and each rule reduced to what analysis
// needs — its matches (key, operator, values), its verdict, and whether it untracks (notrack) or
// translates (nat) — plus a text form close to what `nft list` prints.
import { z } from 'zod';

/** One match value: a number, a name, or an interval [lo, hi] (ports 8000-8100). */
export const nftValueSchema = z.union([z.number(), z.string(), z.tuple([z.number(), z.number()])]);

export const nftMatchSchema = z.object({
  /** What is compared: "ct state", "tcp dport", "th sport", "meta l4proto", "meta iifname", "ip saddr" … */
  key: z.string(),
  /** nft's operator: ==, !=, in, <, >, <=, >= … */
  op: z.string(),
  values: z.array(nftValueSchema),
});

export const NFT_VERDICTS = ['accept', 'drop', 'reject', 'jump', 'goto', 'return', 'queue', 'continue'] as const;

export const nftRuleSchema = z.object({
  /** nft's rule handle (for `nft add rule … position H`); null when not printed. */
  handle: z.number().int().nullable(),
  /** The rule as text, close to `nft list` (best effort for expressions nettune does not model). */
  text: z.string(),
  matches: z.array(nftMatchSchema),
  verdict: z.object({ kind: z.enum(NFT_VERDICTS), target: z.string().nullable() }).nullable(),
  /** A `notrack` statement: packets it matches get no conntrack entry. */
  notrack: z.boolean(),
  /** A nat statement (snat, dnat, masquerade, redirect): needs conntrack, so untracked packets skip it. */
  nat: z.boolean(),
  /** An expression nettune does not model (the rule's matches may be incomplete). */
  opaque: z.boolean().default(false),
});

export const nftChainSchema = z.object({
  name: z.string(),
  /** Base chains only (null for regular chains reached by jump/goto). */
  type: z.string().nullable(),
  hook: z.string().nullable(),
  prio: z.number().nullable(),
  policy: z.string().nullable(),
  rules: z.array(nftRuleSchema),
});

export const nftTableSchema = z.object({
  family: z.string(),
  name: z.string(),
  chains: z.array(nftChainSchema),
});

export const nftRulesetSchema = z.object({
  /** nft's version (metainfo), when it printed one. */
  version: z.string().nullable(),
  tables: z.array(nftTableSchema),
});

// One inference, the parts by index: the types are the schema's own nesting, not a second list.
export type NftRuleset = z.infer<typeof nftRulesetSchema>;
export type NftTable = NftRuleset['tables'][number];
export type NftChain = NftTable['chains'][number];
export type NftRule = NftChain['rules'][number];
export type NftMatch = NftRule['matches'][number];
export type NftValue = NftMatch['values'][number];
