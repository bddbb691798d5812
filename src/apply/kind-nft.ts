// Plan-change kind `nft`: one nftables table nettune owns (inet nettune_raw), read as the text
// `nft list table` prints (canonical: no handles; deterministic), written with one `nft -f -`
// that creates-or-replaces the table in a single transaction, and read back with
// `nft -j list table` (parsed by the probe's parser) before the step counts as done.
//
// Atomicity: nft -f sends the whole input as one netlink batch, which the kernel commits or aborts
// as a whole (nft(8): "-f … read input from file"; wiki.nftables.org "Atomic rule replacement":
// the file is applied in one transaction, all or nothing). nft 1.0.6 has no `destroy table`
// (added in 1.0.8 with Linux 6.3), so the batch is `table F T {}` (adds it if absent, a no-op
// if present) + `delete table F T` + the new table: the old table never coexists with the new
// and a syntax or kernel error leaves the old one untouched.
import { join } from 'node:path';
import { parseNftJson } from '../probe/parse-nft.js';
import { NFT_OWN_TABLE } from '../plan/notrack.js';
import type { NftTable } from '../snapshot/nft.js';
import { validNetns } from '../sys/names.js';
import { shQuote } from '../sys/sh-quote.js';
import { VERSION } from '../version.js';
import { renderOneshotUnit } from './persist.js';

export interface NftTarget {
  kind: 'nft';
  family: 'inet' | 'ip' | 'ip6';
  table: string;
}

/** Runs a tool (in the transaction's namespace) and returns stdout; throws with its first stderr line. */
export type Exec = (cmd: string, args: string[], input?: string) => Promise<string>;

export const nftLabel = (t: Pick<NftTarget, 'family' | 'table'>): string => `nft table ${t.family} ${t.table}`;

/** The batch `nft -f -` reads: create-or-replace (value) or delete (null) the table. */
export function nftScript(t: NftTarget, value: string | null): string {
  const head = [`table ${t.family} ${t.table} {}`, `delete table ${t.family} ${t.table}`];
  return `${[...head, ...(value === null ? [] : [value.replace(/\n+$/, '')])].join('\n')}\n`;
}

/** Scope commands nft's parser takes in every block (parser_bison.y common_block): an include
 *  would read a file nettune never checked. */
const SCOPE_LEVEL = /^(include|define|redefine|undefine)\b/;
const TOP_LEVEL = /^(table|flush|delete|destroy|include|define|redefine|undefine|add|create|insert|replace|reset|list|monitor|export|import|describe|rename)\b/;

/** Why `text` is not one table nettune may write as `t` (before the lock; exit 2), or null. The
 *  batch must touch only that table: one `table F T {` block and nothing after it. */
export function nftTableProblem(t: NftTarget, text: string): string | null {
  const label = nftLabel(t);
  if (!NFT_OWN_TABLE.test(t.table)) return `${label}: nettune writes only its own tables (nettune_WORD)`;
  if (text.length > 1024 * 1024) return `${label}: the table text is over 1 MiB`;
  // eslint-disable-next-line no-control-regex -- control characters other than tab and newline are refused
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) return `${label}: a control character in the table text`;
  // Read the text as nft's scanner does: comments (# to the end of the line) and quoted strings
  // (nft has no escapes inside "…") hide braces and separators; statements end at a newline, `;`,
  // `{` or `}`. Whatever follows the brace that closes the table, on the same line too, is refused:
  // nft would run it as a command of its own (`}; delete table inet other`).
  let depth = 0;
  let opened = false;
  let closed = false;
  let stmt = '';
  let inString = false;
  let inComment = false;
  const statement = (): string | null => {
    const s = stmt.trim();
    stmt = '';
    if (s === '') return null;
    if (!opened) return `${label}: the text must start with "table ${t.family} ${t.table} {"`;
    if (depth === 1 && TOP_LEVEL.test(s)) return `${label}: "${s.slice(0, 60)}" inside the table is a command, not a chain, set or rule`;
    if (SCOPE_LEVEL.test(s)) return `${label}: "${s.slice(0, 60)}" is not allowed in a table nettune writes`;
    return null;
  };
  for (const ch of text) {
    if (inComment) {
      if (ch === '\n') inComment = false;
      continue;
    }
    if (inString) {
      if (ch === '"') inString = false;
      stmt += ch;
      continue;
    }
    if (closed && !/[\s;]/.test(ch) && ch !== '#') return `${label}: text after the table's closing brace: "${text.slice(text.lastIndexOf('}') + 1).trim().slice(0, 60)}"`;
    if (ch === '"') inString = true;
    if (ch === '#') {
      inComment = true;
      continue;
    }
    if (ch === '{') {
      if (!opened) {
        if (stmt.trim().replace(/\s+/g, ' ') !== `table ${t.family} ${t.table}`) return `${label}: the text must start with "table ${t.family} ${t.table} {"`;
        stmt = '';
        opened = true;
      } else {
        const p = statement();
        if (p) return p;
      }
      depth++;
      continue;
    }
    if (ch === '\n' || ch === ';' || ch === '}') {
      const p = statement();
      if (p) return p;
      if (ch === '}') {
        depth--;
        if (depth < 0) return `${label}: unbalanced braces`;
        if (depth === 0) closed = true;
      }
      continue;
    }
    stmt += ch;
  }
  if (inString) return `${label}: an unterminated string`;
  if (stmt.trim() !== '' && !closed) {
    const p = statement();
    if (p) return p;
  }
  if (!opened) return `${label}: the text must start with "table ${t.family} ${t.table} {"`;
  if (depth !== 0) return `${label}: unbalanced braces`;
  return null;
}

const NO_SUCH = /No such file or directory/;

/** The table as `nft list table` prints it, or null when it does not exist. */
export async function readNftTable(exec: Exec, t: NftTarget): Promise<string | null> {
  try {
    return await exec('nft', ['list', 'table', t.family, t.table]);
  } catch (err) {
    if (NO_SUCH.test((err as Error).message)) return null;
    throw err;
  }
}

/** Writes the table in one nft transaction (null: deletes it), then reads it back as JSON and
 *  checks the kernel holds the declared chains on their hooks (or that it is gone). */
export async function writeNftTable(exec: Exec, t: NftTarget, value: string | null): Promise<void> {
  await exec('nft', ['-f', '-'], nftScript(t, value));
  let json: string | null;
  try {
    json = await exec('nft', ['-j', 'list', 'table', t.family, t.table]);
  } catch (err) {
    if (!NO_SUCH.test((err as Error).message)) throw err;
    json = null;
  }
  if (value === null) {
    if (json !== null) throw new Error(`${nftLabel(t)}: still present after delete`);
    return;
  }
  if (json === null) throw new Error(`${nftLabel(t)}: absent after nft -f`);
  const parsed = parseNftJson(json).data;
  const table = parsed?.tables.find((x) => x.family === t.family && x.name === t.table);
  if (!table) throw new Error(`${nftLabel(t)}: nft -j list table does not show it`);
  for (const { name, hook } of textChains(value)) {
    const live = table.chains.find((c) => c.name === name);
    if (!live) throw new Error(`${nftLabel(t)}: chain ${name} missing after nft -f`);
    if (hook !== null && live.hook !== hook) throw new Error(`${nftLabel(t)}: chain ${name} on hook ${live.hook ?? '(none)'}, not ${hook}`);
  }
}


/** The command a user would type: the same batch through `nft -f -`, one printf argument per
 *  line (no here-document, no data evaluated by the shell). */
export function nftShellCommand(t: NftTarget, value: string | null, netns: string | null = null): string {
  const lines = nftScript(t, value).replace(/\n$/, '').split('\n');
  return `printf '%s\\n' ${lines.map(shQuote).join(' ')} | ${netns ? `ip netns exec ${netns} ` : ''}nft -f -`;
}

// ── persistence ──────────────────────────────────────────────────────────────────────────────
// Debian 12: /etc/nftables.conf starts with `flush ruleset` and includes nothing, and
// nftables.service is disabled by default; a file in /etc/nftables.d is loaded by nobody. So the
// table is persisted as a self-contained batch file under <root>/etc/nftables.d/ (the same batch
// apply ran: loading it twice is harmless), and a oneshot unit nettune-nft.service that loads it
// after nftables.service (whose `flush ruleset` would otherwise remove it). Like the NIC unit,
// nettune writes the unit and never enables it: `systemctl enable nettune-nft.service`.
//
// One file per (namespace, family, table), so tables of two namespaces (or `inet nettune_raw`
// and `ip nettune_raw`) never share a file or a unit line:
//   initial namespace   /etc/nftables.d/[FAMILY-]TABLE.nft            (FAMILY- for ip and ip6)
//   namespace NS        /etc/nftables.d/netns/NS/[FAMILY-]TABLE.nft
// A namespace's files are below the directory, outside the `/etc/nftables.d/*.nft` glob an
// operator may include in /etc/nftables.conf (which would load them into the initial namespace).

export const NFT_UNIT_NAME = 'nettune-nft.service';

/** /etc/sysctl.d/90-nettune.conf → /etc (the --root the persist file lives under). */
const etcOf = (persistFile: string): string => join(persistFile, '..', '..');

/** The boot file's name without .nft: the table for inet (nettune_raw.nft), FAMILY-TABLE for ip
 *  and ip6, so tables of one name in two families do not share (and overwrite) one file. */
export const nftFileStem = (t: Pick<NftTarget, 'family' | 'table'>): string => (t.family === 'inet' ? t.table : `${t.family}-${t.table}`);

/** The table's file below /etc, as boot sees it ("nftables.d/netns/blue/ip6-nettune_v6.nft"). */
export function nftBootFile(t: Pick<NftTarget, 'family' | 'table'>, netns: string | null): string {
  const name = `${nftFileStem(t)}.nft`;
  return netns ? `nftables.d/netns/${validNetns(netns)}/${name}` : `nftables.d/${name}`;
}

export const nftPersistPath = (persistFile: string, t: NftTarget, netns: string | null = null): string => join(etcOf(persistFile), nftBootFile(t, netns));
export const nftUnitPath = (persistFile: string): string => join(etcOf(persistFile), 'systemd', 'system', NFT_UNIT_NAME);

/** The boot-time file: the batch apply ran, with a header saying why and how to undo. */
export function renderNftFile(t: NftTarget, value: string, tx: number, at: string, netns: string | null = null): string {
  return [
    '#!/usr/sbin/nft -f',
    `# nettune: written by nettune ${VERSION}, transaction ${tx}, ${at}.`,
    ...(netns
      ? [`# For network namespace ${netns}: loaded at boot by ${NFT_UNIT_NAME} (systemctl enable ${NFT_UNIT_NAME}) with ip netns exec ${netns}.`]
      : [`# Loaded at boot by ${NFT_UNIT_NAME} (systemctl enable ${NFT_UNIT_NAME}), or add to /etc/nftables.conf:`, '#   include "/etc/nftables.d/*.nft"']),
    `# Undo with: nettune rollback ${tx}`,
    nftScript(t, value),
  ].join('\n');
}

/** The unit's line that loads one table's file at boot (the path as boot sees it, under /). */
export const nftExecLine = (t: NftTarget, netns: string | null): string =>
  `ExecStart=${netns ? `/usr/sbin/ip netns exec ${validNetns(netns)} ` : ''}/usr/sbin/nft -f /etc/${nftBootFile(t, netns)}`;

const EXEC_LINE = /^ExecStart=(?:\/usr\/sbin\/ip netns exec ([A-Za-z0-9_.-]+) )?\/usr\/sbin\/nft -f \/etc\/nftables\.d\/(?:netns\/([A-Za-z0-9_.-]+)\/)?(?:(ip|ip6)-)?(nettune_[a-z0-9_]{1,24})\.nft$/;

/** One ExecStart line of a unit nettune wrote: what it loads, and where. */
export interface NftUnitLine {
  netns: string | null;
  family: NftTarget['family'];
  table: string;
  line: string;
}

/** The ExecStart lines of a unit nettune wrote (a later apply keeps those of other tables and
 *  namespaces). A line of the older layout (a namespace's table directly in nftables.d) is read
 *  as the inet table it was; a line whose file belongs to another namespace than it runs in is
 *  not nettune's and is dropped. */
export function unitLines(text: string | null): NftUnitLine[] {
  const out: NftUnitLine[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = EXEC_LINE.exec(line.trim());
    if (!m?.[4]) continue;
    const netns = m[1] ?? null;
    if (m[2] !== undefined && m[2] !== netns) continue;
    out.push({ netns, family: (m[3] as 'ip' | 'ip6' | undefined) ?? 'inet', table: m[4], line: line.trim() });
  }
  return out;
}

export function renderNftUnit(execLines: readonly string[], tx: number, at: string): string {
  return renderOneshotUnit(
    tx,
    at,
    ['# nftables tables nettune applied. nettune does not enable this unit; to run it at boot:', `#   systemctl enable ${NFT_UNIT_NAME}`],
    ['Description=nettune nftables tables (NOTRACK)', 'After=nftables.service', 'Before=network-pre.target', 'Wants=network-pre.target'],
    execLines,
  );
}

/** The files a transaction persists for its nft tables: each table's batch file, and the unit
 *  (the lines of other tables and other namespaces kept, this transaction's replaced). */
export function nftPersistFiles(
  tables: readonly { target: NftTarget; to: string }[],
  persistFile: string,
  netns: string | null,
  tx: number,
  at: string,
  unitBefore: string | null,
): { path: string; content: string }[] {
  const files = tables.map((t) => ({ path: nftPersistPath(persistFile, t.target, netns), content: renderNftFile(t.target, t.to, tx, at, netns) }));
  const mine = (l: NftUnitLine): boolean => l.netns === netns && tables.some((t) => t.target.family === l.family && t.target.table === l.table);
  const kept = unitLines(unitBefore)
    .filter((l) => !mine(l))
    .map((l) => l.line);
  const added = [...new Set(tables.map((t) => nftExecLine(t.target, netns)))];
  files.push({ path: nftUnitPath(persistFile), content: renderNftUnit([...kept.filter((l) => !added.includes(l)), ...added], tx, at) });
  return files;
}

// ── drift ───────────────────────────────────────────────────────────────────────────────────
// A Snapshot holds the ruleset as parsed JSON, not the text; drift compares the shape both
// have: every chain with its hook and its number of rules.

const shape = (chains: readonly { name: string; hook: string | null; rules: number }[]): string =>
  [...chains].sort((a, b) => a.name.localeCompare(b.name)).map((c) => `${c.name}@${c.hook ?? '-'}:${c.rules}`).join(' ');

interface TextChain {
  name: string;
  /** null for a regular chain (reached by jump/goto). */
  hook: string | null;
  rules: number;
}

/** The chains a table text declares, each with its hook and number of rules. */
export function textChains(text: string): TextChain[] {
  const chains: TextChain[] = [];
  let current: TextChain | null = null;
  let depth = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const start = depth;
    for (const ch of line.replace(/"[^"]*"/g, '')) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
    const c = start === 1 ? /^chain\s+"?([A-Za-z0-9_./-]+)"?\s*\{/.exec(line) : null;
    if (c?.[1]) {
      current = { name: c[1], hook: null, rules: 0 };
      chains.push(current);
      continue;
    }
    if (!current) continue;
    if (depth <= 1) {
      current = null; // the chain's closing brace
      continue;
    }
    if (start !== 2 || line === '' || line.startsWith('#')) continue;
    const hook = /^type\s+\w+\s+hook\s+([a-z]+)\b/.exec(line);
    if (hook?.[1]) current.hook = hook[1];
    else if (!/^(policy|comment)\b/.test(line)) current.rules++;
  }
  return chains;
}

/** The shape of a table text ("output@output:1 prerouting@prerouting:1"). */
export const nftTextShape = (text: string): string => shape(textChains(text));

/** The same shape from the Snapshot's parsed table. */
export const nftTableShape = (t: NftTable): string => shape(t.chains.map((c) => ({ name: c.name, hook: c.hook, rules: c.rules.length })));
