// The Snapshot: the single currency of nettune (DESIGN.md). Only src/probe produces one from a
// live host; every analysis takes one, so it runs the same on a file captured elsewhere.
import { z } from 'zod';
import { CONNTRACK_SLAB_SOURCES, conntrackStatRow, NET_MANAGER_NAMES, SNAPSHOT_SCHEMA } from './plain.js';
import { nftRulesetSchema } from './nft.js';

export { SNAPSHOT_SCHEMA };

const counterGroups = z.record(z.string(), z.record(z.string(), z.number()));
const json = z.record(z.string(), z.unknown());

export const softnetRowSchema = z.object({
  /** CPU number: from the row's own cpu column when the kernel prints it (5.10+), else row order. */
  cpu: z.number().int(),
  processed: z.number(),
  dropped: z.number(),
  time_squeeze: z.number(),
  cpu_collision: z.number(),
  received_rps: z.number(),
  flow_limit_count: z.number(),
  backlog_len: z.number().nullable(),
  input_qlen: z.number().nullable(),
  process_qlen: z.number().nullable(),
});

export const ethtoolFeatureSchema = z.object({
  active: z.boolean(),
  fixed: z.boolean().nullable(),
  requested: z.boolean().nullable(),
});

/** ethtool -g / -l style: pre-set maximums and current settings; null where the driver says n/a. */
const maxCurrent = z.object({
  max: z.record(z.string(), z.number().nullable()),
  current: z.record(z.string(), z.number().nullable()),
});

export const ethtoolSchema = z.object({
  features: z.record(z.string(), ethtoolFeatureSchema).nullable(),
  rings: maxCurrent.nullable(),
  channels: maxCurrent.nullable(),
  coalesce: z.record(z.string(), z.union([z.number(), z.boolean(), z.null()])).nullable(),
  driver_info: z.record(z.string(), z.string()).nullable(),
  rss: z
    .object({
      indirection: z.array(z.number()).nullable(),
      hash_key: z.string().nullable(),
      hash_function: z.string().nullable(),
    })
    .nullable(),
  /** rx-flow-hash fields per flow type (tcp4, udp4, tcp6, udp6). */
  flow_hash: z.record(z.string(), z.array(z.string())).nullable(),
});

export const linkSchema = z.object({
  name: z.string(),
  ifindex: z.number().int().nullable(),
  /** rtnetlink kind (veth, bridge, vlan, ifb, …) or null for plain devices. */
  kind: z.string().nullable(),
  link_type: z.string().nullable(),
  state: z.string(),
  flags: z.array(z.string()),
  mtu: z.number().nullable(),
  address: z.string().nullable(),
  txqlen: z.number().nullable(),
  /** Bound driver (sysfs device/driver), or the ethtool driver name for virtual devices. */
  driver: z.string().nullable(),
  /** A physical device (has /sys/class/net/NAME/device). */
  physical: z.boolean(),
  speed_mbps: z.number().nullable(),
  duplex: z.string().nullable(),
  carrier: z.boolean().nullable(),
  rx_queues: z.number().int(),
  tx_queues: z.number().int(),
  /** Hex CPU masks per queue, as in sysfs (queues/rx-N/rps_cpus, queues/tx-N/xps_cpus). */
  rps_cpus: z.array(z.string()),
  xps_cpus: z.array(z.string()),
  addresses: z.array(z.object({ family: z.string(), local: z.string(), prefixlen: z.number() })),
  statistics: z.record(z.string(), z.number()),
  /** Qdiscs attached to this device (`tc -j qdisc show`), root first. */
  qdiscs: z.array(json),
  ethtool: ethtoolSchema.nullable(),
});

export const probeErrorSchema = z.object({
  /** Snapshot section the problem affects (sysctl, counters.snmp, links, links.eth0.ethtool, …). */
  section: z.string(),
  /** File or command that failed. */
  source: z.string(),
  message: z.string(),
});

export const netManagersSchema = z.object({
  networkd: z.boolean(),
  network_manager: z.boolean(),
  ifupdown: z.boolean(),
  links: z.array(z.object({ name: z.string(), manager: z.enum(NET_MANAGER_NAMES), file: z.string().nullable(), evidence: z.string() })),
});
export type NetManagersInfo = z.infer<typeof netManagersSchema>;

/** A key present in /proc/sys whose value the Snapshot does not record: 'secret' (mode 0600 in
 *  /proc/sys, or a known secret such as tcp_fastopen_key and stable_secret) or 'unset' (the
 *  kernel has no value to show: EIO from a stable_secret nobody set). */
export const sysctlRedactionSchema = z.enum(['secret', 'unset']);
export type SysctlRedaction = z.infer<typeof sysctlRedactionSchema>;

export const snapshotSchema = z.object({
  schema: z.literal(SNAPSHOT_SCHEMA),
  taken_at: z.string(),
  duration_ms: z.number(),
  hostname: z.string(),
  /** /proc/sys/kernel/random/boot_id: a new value on every boot, so two samples with different
   *  ids have counters that restarted in between (optional: older snapshots lack it). */
  boot_id: z.string().optional(),
  /** /etc/machine-id (boot-independent identity of the installation); absent in older Snapshots. */
  machine_id: z.string().nullable().optional(),
  tool: z.object({ name: z.literal('nettune'), version: z.string() }),
  netns: z.object({ name: z.string().nullable(), inode: z.number().nullable(), init: z.boolean().nullable() }),
  kernel: z.object({ release: z.string(), version: z.string(), machine: z.string() }),
  cpus: z.object({ online: z.number().int(), list: z.string() }),
  memory: z.object({ total_bytes: z.number(), available_bytes: z.number().nullable(), page_size: z.number().int() }),
  congestion_control: z.object({
    current: z.string().nullable(),
    available: z.array(z.string()),
    allowed: z.array(z.string()),
  }),
  /** Dotted key → value as `sysctl -n` prints it, whitespace between fields single-spaced. */
  sysctl: z.record(z.string(), z.string()),
  /** Keys that exist but whose values are not recorded (never in `sysctl`); absent in Snapshots
   *  taken before it was added. */
  sysctl_redacted: z.record(z.string(), sysctlRedactionSchema).default({}),
  counters: z.object({
    snmp: counterGroups,
    snmp6: counterGroups,
    netstat: counterGroups,
    sockstat: counterGroups,
    sockstat6: counterGroups,
    softnet: z.array(softnetRowSchema),
  }),
  conntrack: z
    .object({
      count: z.number().nullable(),
      max: z.number().nullable(),
      buckets: z.number().nullable(),
      /** /proc/net/stat/nf_conntrack, one object per CPU row (hex decoded), counters under the
       *  names `conntrack -S` prints (CONNTRACK_STAT_RENAMES; older Snapshots are renamed here). */
      stats: z.array(z.record(z.string(), z.number()).transform(conntrackStatRow)),
      /** The nf_conntrack kmem cache: what one entry costs on this kernel (src/probe/parse-proc.ts
       *  ConntrackSlab); null when neither SLUB sysfs nor /proc/slabinfo (root) was readable,
       *  absent in Snapshots taken before it was added. */
      slab: z
        .object({ object_size: z.number().int().positive().nullable(), slab_size: z.number().int().positive(), source: z.enum(CONNTRACK_SLAB_SOURCES) })
        .nullable()
        .optional(),
    })
    .nullable(),
  links: z.array(linkSchema),
  routes: z.array(json),
  rules: z.array(json),
  mptcp: z.object({ endpoints: z.array(json), limits: json.nullable() }),
  /** `nft -j list ruleset` (src/probe/parse-nft.ts); null when not readable (see errors) and in
   *  Snapshots taken before it was added. */
  nft: nftRulesetSchema.nullable().default(null),
  /** What configures each interface (systemd-networkd, ifupdown, NetworkManager or none) and the
   *  facts that say so (src/probe/net-managers.ts); absent in Snapshots taken before it was added. */
  net_managers: netManagersSchema.optional(),
  errors: z.array(probeErrorSchema),
});

export type Snapshot = z.infer<typeof snapshotSchema>;
export type Link = z.infer<typeof linkSchema>;
export type EthtoolInfo = z.infer<typeof ethtoolSchema>;
export type SoftnetRow = z.infer<typeof softnetRowSchema>;
export type ProbeError = z.infer<typeof probeErrorSchema>;
