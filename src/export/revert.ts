// The changes that restore a transaction (`export tx:ID --revert`): each step's before-value,
// newest first. A revert restores the "before" state whatever the host holds now, so what the
// transaction created is to be absent again (a route, the rules at a priority, an MPTCP endpoint:
// `absent`; an nft table: the empty value), and every format writes removals as remove-if-present.
import { ROUTE_ABSENT } from '../plan/multihomed-kinds.js';
import { ENDPOINT_ABSENT } from '../plan/mptcp-change.js';
import { usageError } from '../sys/errors.js';
import { changeId } from './source.js';
import type { ExportChange, ExportDoc } from './types.js';

export function revertChanges(doc: ExportDoc, notes: string[]): ExportChange[] {
  if (doc.kind !== 'tx') throw usageError('--revert needs a transaction (tx:ID): only the journal records the before-values');
  const tx = doc.transaction?.id ?? '';
  const out: ExportChange[] = [];
  for (const c of [...doc.changes].reverse()) {
    const created = { reason: `remove what transaction ${tx} created`, source: doc.label };
    if (c.from === null && c.kind === 'nft') out.push({ ...c, from: c.to, to: '', notrack: undefined, ...created });
    else if (c.from === null && (c.kind === 'route' || c.kind === 'rule')) out.push({ ...c, from: c.to, to: ROUTE_ABSENT, ...created });
    else if (c.from === null && c.kind === 'mptcp' && c.object === 'endpoint') out.push({ ...c, from: c.to, to: ENDPOINT_ABSENT, ...created });
    else if (c.from === null) notes.push(`${changeId(c)}: no before-value recorded; the revert leaves it`);
    else out.push({ ...c, from: c.to, to: c.from, reason: `restore the value before transaction ${tx}`, source: doc.label });
  }
  return out;
}
