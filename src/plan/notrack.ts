// NOTRACK for given services, as a plan change of kind `nft`: parsing `--notrack tcp:80,443,udp:53`
// and `--direction`, and the pure renderers — the nftables table exactly as `nft list table`
// prints it (so the read-back equals what was planned and rollback restores text for text), and
// the equivalent `iptables -t raw … -j CT --notrack` commands for hosts without nftables.
//
// Directions (which packets skip conntrack):
//   in   — services this host offers: packets arriving for the port (prerouting, dport) and this
//          host's replies from it (output, sport).
//   out  — services this host connects to: its requests to the port (output, dport) and the
//          replies arriving from it (prerouting, sport).
//   both — all four rules. A router forwarding the service needs `both`: forwarded packets only
//          pass prerouting (never output), in each direction, so prerouting must match dport
//          (requests) and sport (replies).
// Priority raw (-300) runs before conntrack (-200, NF_IP_PRI_CONNTRACK); `notrack` is only
// effective there. Source: nft(8) "PRIORITY" table and "CONNTRACK STATEMENT"/notrack;
// wiki.nftables.org "Setting packet connection tracking metainformation".
import { z } from 'zod';

export const NOTRACK_TABLE = 'nettune_raw';
export const NOTRACK_FAMILY = 'inet';
export const NOTRACK_PROTOS = ['tcp', 'udp'] as const;
export const NOTRACK_DIRECTIONS = ['in', 'out', 'both'] as const;
export type NotrackProto = (typeof NOTRACK_PROTOS)[number];
export type NotrackDirection = (typeof NOTRACK_DIRECTIONS)[number];

const portRange = z.tuple([z.number().int().min(1).max(65535), z.number().int().min(1).max(65535)]);

/** The intent behind a notrack table: which ports of which protocol, in which direction. */
export const notrackSpecSchema = z.object({
  direction: z.enum(NOTRACK_DIRECTIONS),
  services: z.array(z.object({ proto: z.enum(NOTRACK_PROTOS), ports: z.array(portRange).min(1) })).min(1),
});
export type NotrackSpec = z.infer<typeof notrackSpecSchema>;

/** nettune writes only its own tables: `nettune_` and a short word. */
export const NFT_OWN_TABLE = /^nettune_[a-z0-9_]{1,24}$/;
export const NFT_FAMILIES = ['inet', 'ip', 'ip6'] as const;

/** The plan-change variant of kind nft (src/plan/types.ts): `to` is the whole table as nft lists
 *  it; `from` the table before (null: no claim — the Snapshot holds the ruleset as JSON, not the
 *  text apply restores; the transaction journals the live text). */
export const nftChangeSchema = z.object({
  kind: z.literal('nft'),
  family: z.enum(NFT_FAMILIES),
  table: z.string().regex(NFT_OWN_TABLE, 'nettune writes only tables named nettune_WORD'),
  from: z.string().nullable(),
  to: z.string(),
  /** What the table does, when nettune planned it (renders the iptables equivalent). */
  notrack: notrackSpecSchema.optional(),
});
export type NftChange = z.infer<typeof nftChangeSchema>;

/** `--notrack` arguments ("tcp:80,443,udp:53", "udp:5000-5010"; repeatable) → the spec, or why not. */
export function parseNotrack(args: readonly string[], direction: string | undefined): NotrackSpec | string {
  const dir = direction ?? 'in';
  if (!(NOTRACK_DIRECTIONS as readonly string[]).includes(dir)) return `--direction ${dir}: expected in, out or both`;
  const byProto = new Map<NotrackProto, [number, number][]>();
  for (const arg of args) {
    let proto: NotrackProto | null = null;
    for (const raw of arg.split(',')) {
      const token = raw.trim();
      const m = /^(?:([A-Za-z0-9]+):)?(.*)$/.exec(token);
      const name = m?.[1]?.toLowerCase();
      if (name !== undefined) {
        if (!(NOTRACK_PROTOS as readonly string[]).includes(name)) return `--notrack ${arg}: unknown protocol ${JSON.stringify(m?.[1])} (tcp or udp)`;
        proto = name as NotrackProto;
      }
      if (proto === null) return `--notrack ${arg}: start with a protocol, e.g. tcp:80,443 or udp:53`;
      const range = parsePortRange(m?.[2] ?? '');
      if (typeof range === 'string') return `--notrack ${arg}: ${range}`;
      byProto.set(proto, [...(byProto.get(proto) ?? []), range]);
    }
  }
  if (byProto.size === 0) return '--notrack: give at least one protocol:port, e.g. tcp:80,443';
  const services = NOTRACK_PROTOS.filter((p) => byProto.has(p)).map((proto) => ({ proto, ports: mergeRanges(byProto.get(proto) ?? []) }));
  return { direction: dir as NotrackDirection, services };
}

function parsePortRange(text: string): [number, number] | string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return `${JSON.stringify(text)} is not a port or port range (1-65535, e.g. 443 or 8000-8100)`;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > 65535) return `port ${text} outside 1-65535`;
  if (lo > hi) return `port range ${text} runs backwards`;
  return [lo, hi];
}

/** Sorted, overlapping and adjacent ranges joined — the form nft itself prints a set in
 *  (80,81 → 80-81), so the planned text equals the read-back. */
export function mergeRanges(ranges: readonly [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

type Chain = 'prerouting' | 'output';
type Field = 'dport' | 'sport';

/** Which port field each chain matches for a direction (see the header). */
export function chainFields(direction: NotrackDirection): Record<Chain, Field[]> {
  if (direction === 'in') return { prerouting: ['dport'], output: ['sport'] };
  if (direction === 'out') return { prerouting: ['sport'], output: ['dport'] };
  return { prerouting: ['dport', 'sport'], output: ['dport', 'sport'] };
}

const rangeText = ([lo, hi]: [number, number], sep: string): string => (lo === hi ? String(lo) : `${lo}${sep}${hi}`);
const setText = (ports: readonly [number, number][]): string =>
  ports.length === 1 && ports[0] ? rangeText(ports[0], '-') : `{ ${ports.map((p) => rangeText(p, '-')).join(', ')} }`;

/** The table as `nft list table inet nettune_raw` prints it (nft 1.0.6: tabs, a blank line
 *  between chains, priority by name). */
export function renderNotrackTable(spec: NotrackSpec, table = NOTRACK_TABLE): string {
  const fields = chainFields(spec.direction);
  const chain = (name: Chain): string[] => [
    `\tchain ${name} {`,
    `\t\ttype filter hook ${name} priority raw; policy accept;`,
    ...spec.services.flatMap((s) => fields[name].map((f) => `\t\t${s.proto} ${f} ${setText(s.ports)} notrack`)),
    '\t}',
  ];
  return [`table ${NOTRACK_FAMILY} ${table} {`, ...chain('prerouting'), '', ...chain('output'), '}', ''].join('\n');
}

/** One iptables command: the program (iptables or ip6tables) and its arguments. */
export interface IptablesCommand {
  tool: 'iptables' | 'ip6tables';
  args: string[];
}

/** multiport takes at most 15 ports, a range counting as two (iptables-extensions(8)). */
function multiportChunks(ports: readonly [number, number][]): [number, number][][] {
  const chunks: [number, number][][] = [];
  let cur: [number, number][] = [];
  let used = 0;
  for (const p of ports) {
    const cost = p[0] === p[1] ? 1 : 2;
    if (used + cost > 15) {
      chunks.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(p);
    used += cost;
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}

/** The same rules for iptables (legacy or nft backend) and ip6tables: `-t raw -A CHAIN … -j CT
 *  --notrack` (the CT target; the older NOTRACK target is its alias). Each carries the comment
 *  nettune_raw so it can be found and deleted (`-D` with the same arguments). */
export function renderNotrackIptables(spec: NotrackSpec, action: '-A' | '-D' | '-C' = '-A'): IptablesCommand[] {
  const fields = chainFields(spec.direction);
  const out: IptablesCommand[] = [];
  for (const tool of ['iptables', 'ip6tables'] as const)
    for (const chain of ['prerouting', 'output'] as const)
      for (const s of spec.services)
        for (const f of fields[chain])
          for (const chunk of multiportChunks(s.ports)) {
            const first = chunk[0];
            const match =
              chunk.length === 1 && first ? [`--${f}`, rangeText(first, ':')] : ['-m', 'multiport', `--${f}s`, chunk.map((p) => rangeText(p, ':')).join(',')];
            out.push({ tool, args: ['-t', 'raw', action, chain.toUpperCase(), '-p', s.proto, ...match, '-m', 'comment', '--comment', NOTRACK_TABLE, '-j', 'CT', '--notrack'] });
          }
  return out;
}

/** A command as a user would type it (every argument is a plain word). */
export const iptablesLine = (c: IptablesCommand): string => [c.tool, ...c.args].join(' ');

/** "tcp 80,443 and udp 53 (in: prerouting dport, output sport)" for reasons and notes. */
export function describeNotrack(spec: NotrackSpec): string {
  const fields = chainFields(spec.direction);
  const services = spec.services.map((s) => `${s.proto} ${s.ports.map((p) => rangeText(p, '-')).join(',')}`).join(' and ');
  return `${services} (${spec.direction}: prerouting ${fields.prerouting.join('+')}, output ${fields.output.join('+')})`;
}

/** The plan change for a spec. */
export function notrackChange(spec: NotrackSpec): NftChange {
  return { kind: 'nft', family: NOTRACK_FAMILY, table: NOTRACK_TABLE, from: null, to: renderNotrackTable(spec), notrack: spec };
}
