// A Plan: the changes nettune proposes for one host, each with its reason. `plan --out` writes one;
// `apply PLAN.json` and `diff` read it back (validated here at the input edge).
import { z } from 'zod';
import { NETNS_NAME } from '../sys/names.js';
import { planChangeSchema, WORKLOADS } from './types.js';
import { renderNotrackTable } from './notrack.js';

export const PLAN_SCHEMA = 'nettune.plan/1';

export const plannedChangeSchema = z
  .intersection(
    planChangeSchema,
    z.object({
      /** Why, in words a reviewer can check. */
      reason: z.string(),
      /** intent:<name> (computed for the workload/link) or rule:<id> (an audit finding's fix). */
      source: z.string(),
    }),
  )
  .superRefine((c, ctx) => {
    // An nft change's `notrack` says what its table does: the stateful-filter warnings, the
    // plan's notes and the shell export's iptables fallback are computed from it, apply writes
    // `to`. A table edited by hand with the spec left in would warn and fall back for other ports
    // than it untracks.
    if (c.kind === 'nft' && c.notrack && c.to !== renderNotrackTable(c.notrack, c.table))
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['notrack'], message: `the table text is not what this NOTRACK spec renders (edited by hand?): drop "notrack" to apply the text as it is, or plan again with --notrack` });
  });

const tableFigure = z.object({ max: z.number().int().nullable(), buckets: z.number().int().nullable(), bytes_full: z.number().nullable() });

/** The conntrack table's kernel memory, as the connections intent computed it (src/plan/conntrack.ts):
 *  entries × entry_bytes + buckets × bucket_bytes when full, before and after the plan. */
export const conntrackFigureSchema = z.object({
  /** Bytes per entry: the Snapshot's nf_conntrack slab_size, or an estimate (fallback) without it. */
  entry_bytes: z.number().int().positive(),
  entry_source: z.enum(['slab_size', 'fallback']),
  /** One hash bucket: one hlist_nulls_head pointer (8 B on 64-bit). */
  bucket_bytes: z.number().int().positive(),
  before: tableFigure,
  after: tableFigure,
  /** Little's law with --conn-rate: TIME_WAIT holds rate × timeout entries; lifetime = conns / rate. */
  churn: z
    .object({
      conn_rate_per_s: z.number(),
      lifetime_s: z.number().nullable(),
      time_wait_before_s: z.number(),
      time_wait_after_s: z.number(),
      time_wait_entries_before: z.number(),
      time_wait_entries_after: z.number(),
      time_wait_bytes_before: z.number(),
      time_wait_bytes_after: z.number(),
    })
    .nullable(),
  /** Little's law with --udp-rate: one-shot UDP flows hold rate × nf_conntrack_udp_timeout entries. */
  udp: z.object({ rate_per_s: z.number(), timeout_s: z.number(), entries: z.number(), bytes: z.number() }).optional(),
});
export type ConntrackFigure = z.infer<typeof conntrackFigureSchema>;

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
  /** Conntrack memory before → after (connections workload with conntrack loaded); absent otherwise
   *  and in plans of older versions. */
  conntrack: conntrackFigureSchema.optional(),
});

export type Plan = z.infer<typeof planSchema>;
export type PlannedChange = z.infer<typeof plannedChangeSchema>;
