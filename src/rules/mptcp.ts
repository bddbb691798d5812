// MPTCP: subflows and announced addresses the in-kernel path manager refused because of its
// limits, from the MPTcpExt counters of /proc/net/netstat. Counter names as this kernel prints
// them (6.18) and as net/mptcp/mib.c defines them: MPJoinSynRx (SYN + MP_JOIN received),
// MPJoinRejected (MPTCP_MIB_JOINREJECTED: the path manager refused the join, the subflows limit
// being reached), AddAddr (ADD_ADDR received), AddAddrDrop (MPTCP_MIB_ADDADDRDROP: an ADD_ADDR
// dropped, no subflow could be created for it under add_addr_accepted / subflows).
import { limitsFromRow, limitsValue, MPTCP_LIMIT_MAX } from '../plan/mptcp-change.js';
import type { PlanChange } from '../plan/types.js';
import { signalEvidence } from './buffers.js';
import type { Rule, RuleContext } from './types.js';
import { counterSignal, type CounterSignal } from './util.js';

const SOURCES = ['net/mptcp/mib.c (MPJoinRejected, AddAddrDrop)', 'ip-mptcp(8) (limits: subflows, add_addr_accepted)', 'net/mptcp/pm_kernel.c', 'RFC 8684 §3.2, §3.4'];
const rateText = (sig: CounterSignal): string => (sig.now && sig.rate !== null ? `${Number(sig.rate.toPrecision(3))}/s over the interval` : `${sig.total} since boot`);
const bootOnly = (sig: CounterSignal): { severity?: 'info' } => (sig.now ? {} : { severity: 'info' as const });

/** The limits change raising one limit (never past the kernel's 8), or none when it is at 8. */
function raise(ctx: RuleContext, which: 'subflows' | 'add_addr_accepted'): PlanChange[] {
  const live = limitsFromRow(ctx.snap.mptcp.limits);
  if (!live || live[which] >= MPTCP_LIMIT_MAX) return [];
  const to = { ...live, [which]: Math.min(MPTCP_LIMIT_MAX, Math.max(2, live[which] * 2)) };
  return [{ kind: 'mptcp', object: 'limits', address: null, from: limitsValue(live), to: limitsValue(to) }];
}

const limitsEvidence = (ctx: RuleContext) => {
  const l = limitsFromRow(ctx.snap.mptcp.limits);
  return [
    { what: 'mptcp limits subflows', value: l?.subflows ?? null },
    { what: 'mptcp limits add_addr_accepted', value: l?.add_addr_accepted ?? null },
  ];
};

/** One rule per limit: a counter of what the limit refused, the counter of what was offered, and
 *  the limits change that raises it. The two rules differ only in this data. */
interface LimitRule {
  id: string;
  title: string;
  why: string;
  risk: string;
  /** The MPTcpExt counter of what the limit refused, and the one of what was offered. */
  refused: string;
  offered: [counter: string, what: string];
  limit: 'subflows' | 'add_addr_accepted';
  says: (rate: string, limit: number | string) => string;
  command: string;
  confidence: 'high' | 'medium';
}

const limitRule = (r: LimitRule): Rule => ({
  id: r.id,
  domain: 'routing',
  title: r.title,
  severity: 'warn',
  severity_note: 'info when the counter grew only at some time since boot (no interval)',
  why: r.why,
  sources: SOURCES,
  risk: r.risk,
  check: (ctx) => {
    const sig = counterSignal(ctx, [`netstat.MPTcpExt.${r.refused}`]);
    if (!sig.seen) return null;
    return {
      message: r.says(rateText(sig), limitsFromRow(ctx.snap.mptcp.limits)?.[r.limit] ?? '?'),
      evidence: [...signalEvidence(sig), ctx.evidence(`netstat.MPTcpExt.${r.offered[0]}`, r.offered[1]), ...limitsEvidence(ctx)],
      changes: raise(ctx, r.limit),
      commands: [r.command],
      confidence: r.confidence,
      ...bootOnly(sig),
    };
  },
});

export const mptcpRules: Rule[] = [
  limitRule({
    id: 'routing.mptcp-joins-rejected',
    title: 'MPTCP subflow joins are rejected by the path manager',
    why: 'A peer adds a path to an MPTCP connection by sending a SYN with MP_JOIN. The in-kernel path manager accepts it only while the connection has fewer extra subflows than the subflows limit (ip mptcp limits); otherwise it refuses the join (MPJoinRejected) and the connection stays on the paths it has: a multihomed client gets no second path here.',
    risk: 'Each accepted subflow is per-connection state and traffic over another path; the kernel caps the limit at 8.',
    refused: 'MPJoinRejected',
    offered: ['MPJoinSynRx', 'SYN + MP_JOIN received'],
    limit: 'subflows',
    says: (rate, limit) => `the path manager rejected MP_JOIN requests (${rate}): the subflows limit (${limit}) was reached`,
    command: '# nettune plan --mptcp-paths IF,IF --mptcp-role server sizes the limits for the paths you name',
    confidence: 'high',
  }),
  limitRule({
    id: 'routing.mptcp-add-addr-dropped',
    title: 'MPTCP addresses announced by peers are dropped',
    why: 'A server announces its other addresses with ADD_ADDR; the client opens a subflow to each one it accepts, up to add_addr_accepted (and within subflows). Beyond that the announcement is dropped (AddAddrDrop) and the path it names is never used. The kernel default add_addr_accepted is 0: a client follows no announced address at all.',
    risk: 'Accepting announced addresses lets the peer steer this host onto other paths (within the limit).',
    refused: 'AddAddrDrop',
    offered: ['AddAddr', 'ADD_ADDR received'],
    limit: 'add_addr_accepted',
    says: (rate, limit) => `ADD_ADDR announcements were dropped (${rate}): add_addr_accepted is ${limit}`,
    command: '# nettune plan --mptcp-paths IF,IF sizes the limits for the paths you name',
    confidence: 'medium',
  }),
];
