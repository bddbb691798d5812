// A proposed change, as audit rules suggest it and the planner/apply stages consume it.
import { z } from 'zod';
import { nftShellCommand } from '../apply/kind-nft.js';
import { nftChangeSchema } from './notrack.js';
import { isNicGroup, nicCommand } from '../apply/kind-nic.js';
import { mptcpChangeSchema, mptcpCommand } from './mptcp-change.js';

export const ETHTOOL_GROUPS = ['features', 'rings', 'channels', 'coalesce', 'flow-hash', 'indirection'] as const;
import { routeChangeSchema, routingCommand, ruleChangeSchema } from './multihomed-kinds.js';

export const planChangeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sysctl'), key: z.string(), from: z.string().nullable(), to: z.string() }),
  z.object({
    kind: z.literal('ethtool'),
    device: z.string(),
    /** features (-K), rings (-G), channels (-L), coalesce (-C), flow-hash (-N rx-flow-hash, setting: the
     *  flow type), indirection (-X, setting: table); the last two: src/apply/kind-nic.ts */
    group: z.enum(ETHTOOL_GROUPS),
    setting: z.string(),
    from: z.string().nullable(),
    to: z.string(),
  }),
  z.object({ kind: z.literal('sysfs'), path: z.string(), from: z.string().nullable(), to: z.string() }),
  mptcpChangeSchema,
  /** A route in a table, and the policy rules at one priority (src/plan/multihomed-kinds.ts). */
  routeChangeSchema,
  ruleChangeSchema,
  nftChangeSchema,
]);

export type PlanChange = z.infer<typeof planChangeSchema>;

export const WORKLOADS = ['latency', 'throughput', 'connections', 'balanced', 'multihomed'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** The link a plan or audit is made for (--link RATE --rtt DUR [--loss PCT]). */
export interface LinkSpec {
  rate_bps: number;
  rtt_s: number;
  /** rate × RTT / 8 */
  bdp_bytes: number;
  loss_pct: number | null;
}

const ETHTOOL_FLAG = { features: '-K', rings: '-G', channels: '-L', coalesce: '-C' } as const;

/** The shell command a user would type for a change (shown as the fix; apply uses the runner). */
export function changeCommand(c: PlanChange, netns: string | null = null): string {
  const prefix = netns ? `ip netns exec ${netns} ` : '';
  switch (c.kind) {
    case 'sysctl':
      return `${prefix}sysctl -w ${c.key}=${c.to.includes(' ') ? `"${c.to}"` : c.to}`;
    case 'ethtool':
      if (isNicGroup(c.group)) return `${prefix}${nicCommand({ device: c.device, group: c.group, setting: c.setting }, c.to)}`;
      return `${prefix}ethtool ${ETHTOOL_FLAG[c.group]} ${c.device} ${c.setting} ${c.to}`;
    case 'sysfs':
      return netns ? `echo ${c.to} | ip netns exec ${netns} tee ${c.path}` : `echo ${c.to} > ${c.path}`;
    case 'mptcp':
      return mptcpCommand(c, netns);
    case 'route':
    case 'rule':
      return routingCommand(c, netns);
    case 'nft':
      return nftShellCommand({ kind: 'nft', family: c.family, table: c.table }, c.to, netns);
  }
}
