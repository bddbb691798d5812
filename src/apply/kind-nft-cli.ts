// What `apply` does for kind nft before the lock: the boot files --persist would write (checked
// like the others: no symlink, no directory in the way), and the stateful-filter warnings
// repeated against the live Snapshot's ruleset (the plan's were against the Snapshot it was made from).
import { notrackWarnings, type NotrackWarning } from '../plan/notrack-check.js';
import type { Snapshot } from '../snapshot/index.js';
import { nftPersistPath, nftUnitPath, textChains } from './kind-nft.js';
import type { TxChange } from './transaction.js';
import type { InputChange } from './validate.js';

/** [path, label] of each boot file the nft changes would persist. */
export function nftPersistPaths(changes: readonly TxChange[], persistFile: string): [string, string][] {
  const out: [string, string][] = [];
  for (const c of changes) if (c.target.kind === 'nft') out.push([nftPersistPath(persistFile, c.target), 'nft table file']);
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
