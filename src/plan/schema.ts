// A Plan: the changes nettune proposes for one host, each with its reason. `plan --out` writes one;
// `apply PLAN.json` and `diff` read it back (validated here at the input edge).
import { z } from 'zod';
import { NETNS_NAME } from '../sys/names.js';
import { planChangeSchema, WORKLOADS } from './types.js';

export const PLAN_SCHEMA = 'nettune.plan/1';

export const plannedChangeSchema = z.intersection(
  planChangeSchema,
  z.object({
    /** Why, in words a reviewer can check. */
    reason: z.string(),
    /** intent:<name> (computed for the workload/link) or rule:<id> (an audit finding's fix). */
    source: z.string(),
  }),
);

export const planSchema = z.object({
  schema: z.literal(PLAN_SCHEMA),
  created_at: z.string(),
  /** Where the plan was made: `apply` refuses it elsewhere (src/apply/binding.ts) unless --force.
   *  machine_id is absent in plans of older versions. */
  host: z.object({
    hostname: z.string(),
    machine_id: z.string().nullable().optional(),
    kernel: z.string(),
    netns: z.string().regex(NETNS_NAME, 'not a network namespace name').nullable(),
    snapshot_taken_at: z.string(),
  }),
  /** null: a plan with no workload intents (`plan --notrack …` alone). */
  workload: z.enum(WORKLOADS).nullable(),
  link: z
    .object({ rate_bps: z.number(), rtt_s: z.number(), bdp_bytes: z.number(), loss_pct: z.number().nullable() })
    .nullable(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
  changes: z.array(plannedChangeSchema),
  /** Considered but not proposed, with the reason (already set, not on this kernel, global knob…). */
  skipped: z.array(z.object({ key: z.string(), reason: z.string(), source: z.string() })),
  notes: z.array(z.string()),
});

export type Plan = z.infer<typeof planSchema>;
export type PlannedChange = z.infer<typeof plannedChangeSchema>;
