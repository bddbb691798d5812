// The MPTCP arm of the multipath lab: what the planner (src/plan/mptcp.ts) proposes for each
// namespace, the client with subflow endpoints and the server with signal endpoints, for the
// lab's two paths (nt0 carries the initial subflow, nt1 is the second path).
import { planMptcp } from '../plan/mptcp.js';
import type { PlanChange } from '../plan/types.js';
import { environmentError } from '../sys/errors.js';
import type { ArmContext, Changes } from './arms.js';

export const LAB_PATHS = ['nt0', 'nt1'];

export async function mptcpLabArm(ctx: ArmContext): Promise<Changes> {
  const out: Changes = {};
  for (const role of ['client', 'server'] as const) {
    const snap = await ctx.snapshot(role);
    if (!snap) throw environmentError(`no Snapshot of the lab's ${role}`);
    out[role] = planMptcp(snap, { paths: LAB_PATHS, role }).changes.map((c): PlanChange => c.change);
  }
  return out;
}
