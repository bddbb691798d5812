// The shape of one parameter-catalog entry. The entries themselves are data (src/catalog/data/*),
// reviewed like documentation; this file only says what an entry must contain.
import { z } from 'zod';
import { PARSERS } from './validate.js';

export const UNITS = [
  'bytes',
  'kilobytes',
  'pages',
  'seconds',
  'milliseconds',
  'microseconds',
  'nanoseconds',
  'jiffies',
  'packets',
  'count',
  'ports',
  'percent',
  'none',
] as const;

export const DOMAINS = [
  'tcp',
  'udp',
  'core',
  'ip',
  'ipv6',
  'neigh',
  'route',
  'conntrack',
  'mptcp',
  'unix',
  'fs',
  'vm',
] as const;

/** A counter reference: a dotted path into the Snapshot, resolved by `resolveCounter`.
 *  snmp.Tcp.RetransSegs · snmp6.Udp6.RcvbufErrors · netstat.TcpExt.ListenOverflows ·
 *  sockstat.TCP.tw · sockstat6.TCP6.inuse · softnet.dropped (summed over CPUs) ·
 *  conntrack.count · conntrack.stats.drop (summed over CPUs) · link.*.statistics.rx_dropped (summed) */
export const counterRef = z
  .string()
  .regex(
    /^(snmp|snmp6|netstat|sockstat|sockstat6)\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$|^softnet\.[a-z_]+$|^conntrack\.(count|max|buckets|stats\.[a-z_]+)$|^link\.\*\.statistics\.[a-z_]+$/,
    'counter reference must look like netstat.TcpExt.ListenOverflows, softnet.dropped, conntrack.stats.drop or link.*.statistics.rx_dropped',
  );

const versionString = z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'kernel version like 4.12 or 5.10');

const bound = z.number().int();

export const catalogEntrySchema = z
  .object({
    /** Dotted sysctl key, or a pattern with `*` standing for one path segment
     *  (e.g. net.ipv4.conf.*.rp_filter; `*` covers all, default and each interface). */
    key: z.string().regex(/^[a-z0-9_-]+(\.([a-z0-9_-]+|\*))+$/i, 'dotted key, `*` for one segment'),
    domain: z.enum(DOMAINS),
    /** int: one integer · bool: 0/1 · enum: one of `values` · bitmask: integer OR of `values` bits ·
     *  int_vector: whitespace-separated integers named by `fields` · string: free text (e.g. a name) */
    type: z.enum(['int', 'bool', 'enum', 'bitmask', 'int_vector', 'string']),
    fields: z.array(z.string().min(1)).optional(),
    unit: z.enum(UNITS),
    /** The kernel's proc handler family when the type alone does not say it (default: int for
     *  numeric types = proc_dointvec[_minmax], string = proc_dostring): u8 proc_dou8vec_minmax
     *  (0..255, no sign), uint proc_douintvec[_minmax], ulong proc_doulongvec_minmax, jiffies
     *  proc_dointvec_jiffies (seconds, |v| ≤ INT_MAX/HZ), ms_jiffies proc_dointvec_ms_jiffies,
     *  port_list proc_do_large_bitmap ("8080,9000-9100"), cpumask (hex CPU bitmap). See validate.ts. */
    parser: z.enum(PARSERS).optional(),
    /** int_vector fields must not decrease: 'kernel' = the handler refuses otherwise (EINVAL),
     *  'nettune' = the kernel stores any order but a descending vector is a mistake (tcp_rmem). */
    ordered: z.enum(['kernel', 'nettune']).optional(),
    /** Inclusive bounds the kernel accepts (extra1/extra2 of the ctl table; for int_vector: per
     *  field, same order as `fields`). Bounds of the handler itself (INT_MAX, 255 for u8 …) come
     *  from `parser` and are not repeated here. */
    range: z.object({ min: bound.optional(), max: bound.optional() }).optional(),
    field_ranges: z.array(z.object({ min: bound.optional(), max: bound.optional() })).optional(),
    /** enum: the accepted values; bitmask: each bit (value as decimal or 0x hex) and its meaning. */
    values: z.array(z.object({ value: z.string().min(1), meaning: z.string().min(1) })).optional(),
    /** netns: each network namespace has its own copy · global: one value for the machine, only
     *  writable from the initial namespace. */
    scope: z.enum(['netns', 'global']),
    /** Kernel default exactly as `sysctl -n` prints it (fields single-spaced), or null when the
     *  kernel computes it at boot or namespace creation (then `default_note` says how). */
    default: z.string().nullable(),
    default_note: z.string().optional(),
    /** Kernel versions where the default or meaning changed. */
    changes: z
      .array(z.object({ version: versionString, from: z.string().optional(), to: z.string().optional(), note: z.string().min(1) }))
      .optional(),
    /** The kernel version that removed the knob (it is kept so `lint` can say so). */
    removed_in: versionString.optional(),
    added_in: versionString.optional(),
    /** What it does, in two or three plain sentences. */
    summary: z.string().min(40),
    /** What raising/lowering/enabling it costs. */
    tradeoff: z.string().min(20),
    counters: z.array(counterRef),
    related: z.array(z.string()),
    /** Where the facts come from, e.g. "Documentation/networking/ip-sysctl.rst (tcp_rmem)". */
    sources: z.array(z.string().min(5)).min(1),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.type === 'int_vector' && (!e.fields || e.fields.length < 2)) {
      ctx.addIssue({ code: 'custom', message: `${e.key}: int_vector needs fields (two or more names)` });
    }
    if (e.ordered && e.type !== 'int_vector') ctx.addIssue({ code: 'custom', message: `${e.key}: ordered only makes sense for int_vector` });
    if (e.parser && ['string', 'port_list', 'cpumask'].includes(e.parser) !== (e.type === 'string'))
      ctx.addIssue({ code: 'custom', message: `${e.key}: parser ${e.parser} does not fit type ${e.type}` });
    if (e.type !== 'int_vector' && (e.fields || e.field_ranges)) {
      ctx.addIssue({ code: 'custom', message: `${e.key}: fields/field_ranges only make sense for int_vector` });
    }
    if (e.field_ranges && e.fields && e.field_ranges.length !== e.fields.length) {
      ctx.addIssue({ code: 'custom', message: `${e.key}: field_ranges must have one entry per field` });
    }
    if ((e.type === 'enum' || e.type === 'bitmask') && (!e.values || e.values.length === 0)) {
      ctx.addIssue({ code: 'custom', message: `${e.key}: ${e.type} needs values` });
    }
    if (e.default === null && !e.default_note) {
      ctx.addIssue({ code: 'custom', message: `${e.key}: a computed default (null) needs default_note` });
    }
  });

export type CatalogEntry = z.infer<typeof catalogEntrySchema>;
/** What data files declare; checked against the schema by test/catalog.test.ts. */
export type CatalogEntryInput = z.input<typeof catalogEntrySchema>;
