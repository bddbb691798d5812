// The arms of the conntrack experiments, from the nft planner (src/plan/notrack*.ts): B is what
// `nettune plan --notrack PROTO:PORT --direction both` plans for the lab's router, computed from
// the router's own Snapshot once the lab and its stateful ruleset are up (so the planner's check
// of that ruleset runs for real); A is the same table with no NOTRACK rule in it, so the two arms
// differ only in those rules (both have the raw-priority base chains). `both`: a router forwards
// the service, and forwarded packets pass only prerouting, requests (dport) and replies (sport).
import { NOTRACK_FAMILY, NOTRACK_TABLE, parseNotrack, renderNotrackTable } from '../plan/notrack.js';
import { planNotrack } from '../plan/notrack-plan.js';
import type { PlanChange } from '../plan/types.js';
import { environmentError, usageError } from '../sys/errors.js';
import type { ArmContext, Changes } from './arms.js';
import { LAB_TABLE, routerRuleset } from './ct-rules.js';

/** A: nettune_raw with its prerouting and output chains at raw priority and no rule in them. */
export const rawTableWithoutNotrack = (): PlanChange => ({ kind: 'nft', family: NOTRACK_FAMILY, table: NOTRACK_TABLE, from: null, to: renderNotrackTable({ direction: 'both', services: [] }) });

/** The lab router's stateful ruleset as a setup change (applied through the apply stage). */
export const labRuleset = (limit: number | null): PlanChange => ({ kind: 'nft', family: 'inet', table: LAB_TABLE, from: null, to: routerRuleset(limit) });

/** What the planner said about the router's ruleset when B was planned (for the report). */
const planned = new Map<string, string[]>();
export const plannerNotes = (service: string): string[] => planned.get(service) ?? [];

/** B: the planner's NOTRACK table for `service` ("udp:5353"), both directions, for the router. */
export function plannedNotrack(service: string): (ctx: ArmContext) => Promise<Changes> {
  return async (ctx) => {
    const spec = parseNotrack([service], 'both');
    if (typeof spec === 'string') throw usageError(spec);
    const snap = await ctx.snapshot('router');
    if (!snap) throw environmentError('the lab has no router to plan NOTRACK for (the router topology is needed)');
    const p = planNotrack(snap, spec);
    if (!p.change) throw environmentError(`the planner proposes no change: ${p.skipped.map((s) => s.reason).join('; ')}`);
    planned.set(service, p.warnings.length ? p.warnings.map((w) => `planner warning: ${w.message}`) : [`the planner checked the router's ruleset (${snap.nft ? `${snap.nft.tables.length} table(s)` : 'not readable'}) and found no rule that would drop the untracked traffic`]);
    const { reason: _r, source: _s, ...change } = p.change;
    return { router: [change] };
  };
}
