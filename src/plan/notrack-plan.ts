// `plan --notrack …`: the nft plan change for a NOTRACK spec, with what a reviewer needs next to
// it — the stateful-filter warnings from the Snapshot's ruleset, the iptables equivalent, and
// where apply --persist keeps it for boot. Also the check apply repeats on the live Snapshot.
import type { Snapshot } from '../snapshot/index.js';
import { describeNotrack, iptablesLine, NOTRACK_FAMILY, NOTRACK_TABLE, notrackChange, type NotrackSpec, renderNotrackIptables, renderNotrackTable } from './notrack.js';
import { IPTABLES_UNTRACKED_ACCEPT, notrackWarnings, type NotrackWarning } from './notrack-check.js';
import type { Plan, PlannedChange } from './schema.js';
import { nftBootFile } from '../apply/kind-nft.js';
import { NETNS_NAME } from '../sys/names.js';

export interface NotrackPlan {
  /** null: the live table already holds exactly these rules. */
  change: PlannedChange | null;
  skipped: { key: string; reason: string; source: string }[];
  warnings: NotrackWarning[];
  notes: string[];
}

const SOURCE = 'cli:--notrack';

/** Where apply --persist keeps the table for the Snapshot's namespace (kind-nft.ts). */
function bootFile(snap: Snapshot): string {
  const ns = snap.netns.init === false && snap.netns.name !== null && NETNS_NAME.test(snap.netns.name) ? snap.netns.name : null;
  return nftBootFile({ family: NOTRACK_FAMILY, table: NOTRACK_TABLE }, ns);
}

/** Does the Snapshot's table already hold exactly the rendered rules (chain by chain)? */
function alreadyInPlace(snap: Snapshot, text: string): boolean {
  const live = snap.nft?.tables.find((t) => t.family === NOTRACK_FAMILY && t.name === NOTRACK_TABLE);
  if (!live) return false;
  const want = new Map<string, string[]>();
  let chain: string | null = null;
  for (const line of text.split('\n').map((l) => l.trim())) {
    const c = /^chain (\S+) \{$/.exec(line);
    if (c?.[1]) want.set((chain = c[1]), []);
    else if (chain && line && line !== '}' && !line.startsWith('type ')) want.get(chain)?.push(line);
  }
  return live.chains.length === want.size && live.chains.every((c) => JSON.stringify(c.rules.map((r) => r.text)) === JSON.stringify(want.get(c.name) ?? null) && c.prio === -300);
}

/** Warning lines as plan notes and apply's stderr show them. */
export const warningLines = (ws: readonly NotrackWarning[]): string[] => ws.map((w) => `warning: ${w.message}`);

export function planNotrack(snap: Snapshot, spec: NotrackSpec): NotrackPlan {
  const text = renderNotrackTable(spec);
  const what = describeNotrack(spec);
  const warnings = notrackWarnings(snap.nft ?? null, spec);
  const notes: string[] = [];
  if (!snap.nft) {
    const why = snap.errors.find((e) => e.section === 'nft')?.message ?? 'not in this Snapshot';
    notes.push(`the nftables ruleset could not be read (${why}): whether stateful filtering would drop the untracked traffic was not checked`);
  }
  notes.push(...warningLines(warnings));
  notes.push(
    `iptables equivalent for hosts without nftables (untracked packets then need ${IPTABLES_UNTRACKED_ACCEPT} where a stateful filter follows; export --format shell falls back to these):`,
    ...renderNotrackIptables(spec).map((c) => `  ${iptablesLine(c)}`),
    `apply --persist keeps it for boot as /etc/${bootFile(snap)}, loaded by nettune-nft.service (systemctl enable nettune-nft.service): Debian 12's /etc/nftables.conf does not include /etc/nftables.d and nftables.service is disabled by default`,
  );
  if (alreadyInPlace(snap, text)) {
    return { change: null, skipped: [{ key: `nft table ${NOTRACK_FAMILY} ${NOTRACK_TABLE}`, reason: `already holds ${what}`, source: SOURCE }], warnings, notes };
  }
  const exists = snap.nft?.tables.some((t) => t.family === NOTRACK_FAMILY && t.name === NOTRACK_TABLE) ?? false;
  const reason = `skip conntrack for ${what}: no conntrack entry per flow (no nf_conntrack table-full drops, no per-packet conntrack lookup)${exists ? `; replaces the existing table ${NOTRACK_FAMILY} ${NOTRACK_TABLE}` : ''}`;
  return { change: { ...notrackChange(spec), reason, source: SOURCE }, skipped: [], warnings, notes };
}

/** Adds the notrack change to a plan (a workload plan, or the empty one `plan --notrack` alone makes). */
export function withNotrack(plan: Plan, snap: Snapshot, spec: NotrackSpec): Plan {
  const np = planNotrack(snap, spec);
  return {
    ...plan,
    params: { ...plan.params, notrack: describeNotrack(spec) },
    changes: [...plan.changes.filter((c) => c.kind !== 'nft' || c.table !== NOTRACK_TABLE), ...(np.change ? [np.change] : [])],
    skipped: [...plan.skipped, ...np.skipped],
    notes: [...plan.notes, ...np.notes],
  };
}
