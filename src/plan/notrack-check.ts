// Before NOTRACK is planned or applied: would the host's own stateful filtering drop the packets
// that no longer have a conntrack entry? Untracked packets have ct state `untracked`, so a chain
// that accepts `ct state established,related` and drops the rest (policy or a later drop/reject)
// accepts them while tracked and drops them once untracked. Each base filter chain on a hook the
// traffic passes is evaluated twice for one packet per service port — as an established packet
// and as an untracked one — and a chain that accepts the first and drops the second is reported
// with the rule that fixes it. NAT chains are reported too: untracked packets skip NAT.
import type { NftChain, NftMatch, NftRule, NftRuleset, NftTable, NftValue } from '../snapshot/nft.js';
import { chainFields, type NotrackProto, type NotrackSpec } from './notrack.js';

export interface NotrackWarning {
  /** "inet filter input" */
  chain: string;
  hook: string;
  /** The traffic that would be dropped ("tcp dport 80"). */
  traffic: string;
  /** How: "policy drop" or the rule that drops it. */
  dropped_by: string;
  /** The rule to add, as an nft command. */
  fix: string;
  message: string;
}

/** One packet, as far as the rules nettune models can tell. */
interface Packet {
  proto: NotrackProto;
  dport: number | null;
  sport: number | null;
  state: 'established' | 'untracked';
}

type Outcome = { verdict: 'accept' | 'drop'; by: string; rule: NftRule | null } | { verdict: 'unknown'; by: string; rule: NftRule | null };

const inValues = (values: readonly NftValue[], v: string | number): boolean =>
  values.some((x) => (Array.isArray(x) ? typeof v === 'number' && v >= x[0] && v <= x[1] : x === v));

/** Does one match hold for the packet? null: nettune cannot tell (interface, address, mark …). */
function holds(m: NftMatch, p: Packet): boolean | null {
  const positive = m.op === '==' || m.op === 'in';
  if (!positive && m.op !== '!=') return null;
  const result = (hit: boolean): boolean => (positive ? hit : !hit);
  if (m.key === 'ct state') return result(inValues(m.values, p.state));
  if (m.key === 'meta l4proto' || m.key === 'ip protocol' || m.key === 'ip6 nexthdr') return result(inValues(m.values, p.proto));
  const pm = /^(tcp|udp|th) (dport|sport)$/.exec(m.key);
  if (pm) {
    if (pm[1] !== 'th' && pm[1] !== p.proto) return positive ? false : true;
    const port = pm[2] === 'dport' ? p.dport : p.sport;
    return port === null ? null : result(inValues(m.values, port));
  }
  return null;
}

/** Walks a chain (following jump/goto into regular chains of the same table) for one packet. */
function evaluate(table: NftTable, chain: NftChain, p: Packet, depth = 0): Outcome | null {
  for (const rule of chain.rules) {
    if (!rule.verdict || rule.opaque) continue;
    const results = rule.matches.map((m) => holds(m, p));
    if (results.includes(false)) continue;
    if (results.includes(null)) continue; // may not apply to this traffic (an interface, an address): not decisive
    const v = rule.verdict;
    if (v.kind === 'accept') return { verdict: 'accept', by: rule.text, rule };
    if (v.kind === 'drop' || v.kind === 'reject') return { verdict: 'drop', by: rule.text, rule };
    if ((v.kind === 'jump' || v.kind === 'goto') && v.target && depth < 8) {
      const next = table.chains.find((c) => c.name === v.target && c.hook === null);
      const r = next ? evaluate(table, next, p, depth + 1) : null;
      if (r) return r;
      if (v.kind === 'goto') return null;
      continue;
    }
    if (v.kind === 'return') return null;
    return { verdict: 'unknown', by: rule.text, rule };
  }
  return null;
}

function chainOutcome(table: NftTable, chain: NftChain, p: Packet): Outcome {
  const r = evaluate(table, chain, p);
  if (r) return r;
  const policy = chain.policy ?? 'accept';
  return { verdict: policy === 'drop' ? 'drop' : 'accept', by: `policy ${policy}`, rule: null };
}

const IP_FAMILIES = new Set(['inet', 'ip', 'ip6']);

/** The filter hooks each direction's untracked packets pass after raw prerouting/output. */
function hooksFor(spec: NotrackSpec): { hook: string; field: 'dport' | 'sport' }[] {
  const f = chainFields(spec.direction);
  // prerouting-matched packets go on to input (local) or forward (routed); output ones to output
  return [...f.prerouting.flatMap((field) => [{ hook: 'input', field }, { hook: 'forward', field }]), ...f.output.map((field) => ({ hook: 'output', field }))];
}

/** Every chain that would drop the untracked traffic while it accepts it tracked, with the fix;
 *  NAT chains the untracked traffic would skip. */
export function notrackWarnings(ruleset: NftRuleset | null, spec: NotrackSpec): NotrackWarning[] {
  if (!ruleset) return [];
  const out: NotrackWarning[] = [];
  const seen = new Set<string>();
  for (const table of ruleset.tables) {
    if (!IP_FAMILIES.has(table.family) || table.name.startsWith('nettune_')) continue;
    for (const chain of table.chains) {
      if (chain.hook === null) continue;
      const name = `${table.family} ${table.name} ${chain.name}`;
      if (chain.type === 'nat') {
        if (chain.rules.some((r) => r.nat) && !seen.has(name)) {
          seen.add(name);
          out.push({
            chain: name,
            hook: chain.hook,
            traffic: 'all untracked traffic',
            dropped_by: 'nat',
            fix: '(none: NAT needs conntrack; do not untrack traffic that must be translated)',
            message: `${name} translates addresses (${chain.rules.filter((r) => r.nat).map((r) => r.text).join('; ')}); untracked packets skip NAT entirely`,
          });
        }
        continue;
      }
      if (chain.type !== 'filter') continue;
      for (const { hook, field } of hooksFor(spec)) {
        if (chain.hook !== hook) continue;
        for (const s of spec.services) {
          const dropped: { port: number; tracked: Outcome; untracked: Outcome }[] = [];
          for (const [lo] of s.ports) {
            const base = { proto: s.proto, dport: field === 'dport' ? lo : null, sport: field === 'sport' ? lo : null };
            const tracked = chainOutcome(table, chain, { ...base, state: 'established' });
            const untracked = chainOutcome(table, chain, { ...base, state: 'untracked' });
            if (tracked.verdict === 'accept' && untracked.verdict === 'drop') dropped.push({ port: lo, tracked, untracked });
          }
          const first = dropped[0];
          if (!first) continue;
          const handle = first.tracked.rule?.handle ?? null;
          const position = handle !== null ? ` position ${handle}` : '';
          const fix = `nft ${position ? 'add' : 'insert'} rule ${name}${position} ct state untracked accept`;
          const traffic = `${s.proto} ${field} ${dropped.map((d) => d.port).join(',')}`;
          out.push({
            chain: name,
            hook,
            traffic,
            dropped_by: first.untracked.by,
            fix,
            message: `${name} accepts ${traffic} only while tracked (${first.tracked.by}); untracked it is dropped by ${first.untracked.by}. Add \`ct state untracked accept\` there${position ? ` (after \`${first.tracked.by}\`)` : ''}: ${fix}`,
          });
        }
      }
    }
  }
  return out;
}

/** The same for iptables hosts: the rule that accepts untracked packets. */
export const IPTABLES_UNTRACKED_ACCEPT = '-m conntrack --ctstate UNTRACKED -j ACCEPT';
