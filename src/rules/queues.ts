// Queueing disciplines, transmit queue length and busy polling.
import { formatRate } from '../units/index.js';
import type { Link } from '../snapshot/schema.js';
import type { Hit, Rule, RuleContext } from './types.js';
import { sysctlChange } from './util.js';

const NET_SYSCTL = 'Documentation/admin-guide/sysctl/net.rst';

const FIFOS = new Set(['pfifo_fast', 'pfifo']);

/** Shell command in the audited namespace (the same prefix changeCommand uses). */
const inNs = (ctx: RuleContext, cmd: string): string => (ctx.snap.netns.name ? `ip netns exec ${ctx.snap.netns.name} ${cmd}` : cmd);

interface QdiscView {
  root: string | null;
  /** Kinds of the qdiscs under a root mq (one per TX queue). */
  leaves: string[];
  /** Explicit packet limit of a root pfifo (`tc qdisc add … pfifo limit N`), if any. */
  limit: number | null;
}

function qdiscView(link: Link): QdiscView {
  const root = link.qdiscs.find((q) => q.root === true);
  const kind = typeof root?.kind === 'string' ? root.kind : null;
  const leaves = kind === 'mq' ? link.qdiscs.filter((q) => q.root !== true && typeof q.kind === 'string').map((q) => q.kind as string) : [];
  const opts = root?.options;
  const limit = opts && typeof opts === 'object' && 'limit' in opts && typeof opts.limit === 'number' ? opts.limit : null;
  return { root: kind, leaves, limit };
}

/** The device queues in a plain FIFO (directly, or on the leaves of mq). */
const fifoKind = (v: QdiscView): string | null =>
  v.root !== null && FIFOS.has(v.root) ? v.root : v.root === 'mq' ? (v.leaves.find((k) => FIFOS.has(k)) ?? null) : null;

const devices = (ctx: RuleContext): Link[] => ctx.snap.links.filter((l) => l.name !== 'lo' && l.link_type !== 'loopback');

export const queueRules: Rule[] = [
  {
    id: 'queues.default-qdisc',
    domain: 'queues',
    title: 'Devices get pfifo_fast as their default qdisc',
    severity: 'info',
    workloads: { throughput: 'info', latency: 'info', balanced: 'skip', connections: 'skip' },
    needs: ['init-netns'],
    why: 'pfifo_fast is a three-band FIFO: one bulk flow fills the queue and every other flow waits behind it. fq gives each flow its own queue and paces TCP at the rate the congestion control asks for (BBR needed it for pacing before 4.13 added pacing inside TCP); fq_codel also separates flows and keeps the standing queue near its 5 ms target, which bounds queueing delay.',
    sources: [`${NET_SYSCTL} (default_qdisc)`, 'tc-fq(8)', 'tc-fq_codel(8)', 'RFC 8290'],
    risk: 'The default only applies to qdiscs created afterwards: existing devices keep theirs until replaced with tc (or re-created), and the qdisc module (sch_fq, sch_fq_codel) must exist on this kernel or the write fails. fq is meant for end hosts; on a router fq_codel is the usual choice.',
    check: (ctx) => {
      if (ctx.sysctl('net.core.default_qdisc') !== 'pfifo_fast') return null;
      const target = ctx.workload === 'throughput' ? 'fq' : 'fq_codel';
      const stuck = devices(ctx)
        .map((l) => ({ link: l, view: qdiscView(l) }))
        .filter(({ view }) => view.root === 'pfifo_fast' || (view.root === 'mq' && view.leaves.includes('pfifo_fast')));
      return {
        message: `default_qdisc is pfifo_fast; ${target} suits a ${ctx.workload} workload${stuck.length ? ` (${stuck.map(({ link }) => link.name).join(', ')} ${stuck.length === 1 ? 'uses' : 'use'} pfifo_fast now and ${stuck.length === 1 ? 'keeps' : 'keep'} it until replaced)` : ''}`,
        evidence: [ctx.knob('net.core.default_qdisc'), ...stuck.map(({ link, view }) => ({ what: `${link.name} root qdisc`, value: view.root === 'mq' ? 'mq with pfifo_fast leaves' : (view.root ?? '?') }))],
        changes: [sysctlChange(ctx, 'net.core.default_qdisc', target)],
        // mq re-creates its leaves with the new default; a single-queue device takes the qdisc directly.
        commands: stuck.map(({ link, view }) => inNs(ctx, `tc qdisc replace dev ${link.name} root ${view.root === 'mq' ? 'mq' : target}`)),
        confidence: 'medium',
      };
    },
  },
  {
    id: 'queues.txqueuelen-large-latency',
    domain: 'queues',
    title: 'A long FIFO transmit queue can hold many milliseconds of packets',
    severity: 'info',
    workloads: { latency: 'info', throughput: 'skip', balanced: 'skip', connections: 'skip' },
    why: 'With a FIFO qdisc (pfifo_fast, pfifo) up to txqueuelen packets wait in one line, and where the driver supports BQL the driver ring is kept short on purpose, so that is where a sending host\'s queue builds. When the link is the bottleneck, a request queued behind a bulk transfer waits for the whole queue to drain (bufferbloat): 1000 full-size packets are 12 ms at 1 Gbit/s and 120 ms at 100 Mbit/s.',
    sources: ['tc-pfifo_fast(8)', 'tc-fq_codel(8)', 'RFC 8290', 'ip-link(8) (txqueuelen)'],
    risk: 'fq_codel drops or marks packets of flows that keep a standing queue, which is the point, but bulk flows may then see a few more losses. Shrinking txqueuelen alone instead makes bursts overflow the FIFO for every flow alike.',
    check: (ctx) => {
      const hits: Hit[] = [];
      for (const link of devices(ctx)) {
        const view = qdiscView(link);
        const kind = fifoKind(view);
        const limit = view.root === 'pfifo' && view.limit !== null ? view.limit : link.txqlen;
        if (!kind || limit === null || limit < 1000) continue;
        const mtu = link.mtu ?? 1500;
        const rate = link.speed_mbps ? link.speed_mbps * 1e6 : (ctx.link?.rate_bps ?? null);
        const drainMs = (r: number): string => `${((limit * mtu * 8) / r * 1000).toFixed(limit * mtu * 8 >= r / 100 ? 0 : 1)} ms`;
        const delay = rate ? `${drainMs(rate)} at ${formatRate(rate)}` : `${drainMs(1e9)} at 1 Gbit/s`;
        hits.push({
          subject: link.name,
          message: `${link.name} queues up to ${limit} packets in ${kind}${view.root === 'mq' ? ' (per TX queue, under mq)' : ''}: a full queue of ${mtu}-byte packets is ${delay}`,
          evidence: [
            { what: `${link.name} qdisc`, value: view.root === 'mq' ? `mq with ${kind} leaves` : kind },
            { what: `${link.name} txqueuelen`, value: link.txqlen },
            { what: 'full-queue delay', value: delay, note: `${limit} × ${mtu} bytes` },
          ],
          // Under mq the leaves come from default_qdisc; a single-queue device takes fq_codel directly.
          changes: view.root === 'mq' && ctx.sysctl('net.core.default_qdisc') !== 'fq_codel' ? [sysctlChange(ctx, 'net.core.default_qdisc', 'fq_codel')] : [],
          commands: [inNs(ctx, `tc qdisc replace dev ${link.name} root ${view.root === 'mq' ? 'mq' : 'fq_codel'}`)],
          confidence: rate ? 'medium' : 'low',
        });
      }
      return hits;
    },
  },
  {
    id: 'latency.busy-poll',
    domain: 'latency',
    title: 'Busy polling is off',
    severity: 'info',
    workloads: { latency: 'info', throughput: 'skip', balanced: 'skip', connections: 'skip' },
    needs: ['init-netns'],
    why: 'A blocking read normally sleeps until the interrupt and softirq deliver a packet and the scheduler wakes the thread. With busy polling the reading thread spins on the device queue (the NAPI instance the socket last received from) for a few tens of microseconds first, which removes the interrupt and wake-up delay from the receive path; net.rst suggests 50 µs as the global value.',
    sources: [`${NET_SYSCTL} (busy_read, busy_poll)`, 'socket(7) (SO_BUSY_POLL)'],
    risk: 'Spinning burns CPU and power while waiting, and with more busy sockets than cores it steals time from other work. It needs a kernel with CONFIG_NET_RX_BUSY_POLL and a NAPI driver, and helps most when the application thread runs near the queue\'s CPU. Per-socket SO_BUSY_POLL, set only by the latency-critical application, is the preferred way to enable it.',
    check: (ctx) => {
      if (ctx.int('net.core.busy_read') !== 0 || ctx.int('net.core.busy_poll') !== 0) return null;
      return {
        message: 'busy_read and busy_poll are 0: receivers always sleep until the interrupt path wakes them; 50 µs of busy polling removes that wake-up latency at the cost of CPU',
        evidence: [ctx.knob('net.core.busy_read'), ctx.knob('net.core.busy_poll'), ctx.evidence('netstat.TcpExt.BusyPollRxPackets')],
        changes: [sysctlChange(ctx, 'net.core.busy_read', '50'), sysctlChange(ctx, 'net.core.busy_poll', '50')],
        commands: ['# or per socket, in the latency-critical application only: setsockopt(SO_BUSY_POLL, 50)'],
        confidence: 'low',
      };
    },
  },
];
