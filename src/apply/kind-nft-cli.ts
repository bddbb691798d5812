// What `apply` does for kind nft before the lock: the batch nft itself checks (`nft -c`), the
// boot files --persist would write (checked like the others: no symlink, no directory in the way), and the stateful-filter warnings
// repeated against the live Snapshot's ruleset (the plan's were against the Snapshot it was made from).
import { notrackWarnings, type NotrackWarning } from '../plan/notrack-check.js';
import type { Snapshot } from '../snapshot/index.js';
import { isRoot } from '../sys/tools.js';
import { execResult } from './io.js';
import { nftLabel, nftPersistPath, nftScript, nftUnitPath, textChains } from './kind-nft.js';
import type { TxChange } from './transaction.js';
import type { InputChange } from './validate.js';

/** [path, label] of each boot file the nft changes would persist. */
export function nftPersistPaths(changes: readonly TxChange[], persistFile: string, netns: string | null = null): [string, string][] {
  const out: [string, string][] = [];
  for (const c of changes) if (c.target.kind === 'nft') out.push([nftPersistPath(persistFile, c.target, netns), 'nft table file']);
  if (out.length) out.push([nftUnitPath(persistFile), 'nft unit']);
  return out;
}

/** Warnings for every NOTRACK table in the input, against the live ruleset. */
export function nftApplyWarnings(inputs: readonly InputChange[], snap: Snapshot): NotrackWarning[] {
  return inputs.flatMap(({ change: c }) => (c.kind === 'nft' && c.notrack ? notrackWarnings(snap.nft ?? null, c.notrack) : []));
}

/** A preview row for an nft table: whether it exists now, and its size instead of its text. */
export function nftPreviewRow<R extends { before: string | null; wanted: string }>(row: R, change: TxChange | undefined, snap: Snapshot): R {
  const t = change?.target;
  if (t?.kind !== 'nft') return row;
  const live = snap.nft?.tables.find((x) => x.family === t.family && x.name === t.table);
  const chains = textChains(row.wanted);
  return { ...row, before: snap.nft ? (live ? `table, ${live.chains.length} chains` : '(absent)') : '(not probed)', wanted: `table, ${chains.length} chains, ${chains.reduce((n, c) => n + c.rules, 0)} rules` };
}

/** Each nft change's batch as nft and the kernel judge it, changing nothing: `nft --check -f -`
 *  (nft(8) -c: "check commands validity without actually applying the changes"; the kernel
 *  validates the batch and aborts it), in the transaction's namespace. A table nft cannot parse
 *  or the kernel refuses (a hook an inet chain cannot have, a rule in the wrong place) is then
 *  exit 2 before the lock instead of a journaled failure after it. Needs CAP_NET_ADMIN, so
 *  without root (a --dry-run) it is left to the write. */
export async function nftCheckProblems(changes: readonly TxChange[], netns: string | null): Promise<string[]> {
  if (!isRoot()) return [];
  const out: string[] = [];
  for (const c of changes) {
    if (c.target.kind !== 'nft') continue;
    const r = await execResult(netns, 'nft', ['--check', '-f', '-'], nftScript(c.target, c.to));
    if (r.ok) continue;
    // nft prints "/dev/stdin:LINE:COLS: Error: …", then the input line and a caret line; the
    // batch's LINE counts nftScript's two head lines, the user's table starts after them
    const first = r.stderr.split('\n').find((l) => /Error:/.test(l)) ?? r.stderr.trim().split('\n')[0] ?? r.error ?? 'nft --check failed';
    const m = /^\/dev\/stdin:(\d+):[\d-]+: Error: (.*)$/.exec(first);
    const head = nftScript(c.target, null).split('\n').length - 1;
    out.push(`${nftLabel(c.target)}: nft refuses the table: ${m?.[1] && m[2] ? `line ${Math.max(1, Number(m[1]) - head)}: ${m[2]}` : first}`);
  }
  return out;
}
