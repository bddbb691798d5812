import { describe, expect, it } from 'vitest';
import type { Link, Snapshot } from '../../src/snapshot/schema.js';
import { queueRules } from '../../src/rules/queues.js';
import { auditCase, firedIds } from '../helpers.js';

const finding = (r: ReturnType<typeof auditCase>, id: string, subject?: string) =>
  r.findings.find((f) => f.id === id && (subject === undefined || f.subject === subject));

const eth0 = (s: Snapshot): Link => {
  const l = s.links.find((x) => x.name === 'eth0');
  if (!l) throw new Error('fixture has no eth0');
  return l;
};

/** An 8-queue NIC with mq at the root and one leaf qdisc per TX queue, as tc -j shows it. */
function addMq(s: Snapshot, leaf: string): Link {
  const l = structuredClone(eth0(s));
  l.name = 'ens1f0np0';
  l.tx_queues = 8;
  l.rx_queues = 8;
  l.speed_mbps = 25000;
  l.mtu = 1500;
  l.qdiscs = [
    { kind: 'mq', handle: '0:', dev: l.name, root: true, refcnt: 2, options: {} },
    ...Array.from({ length: 8 }, (_, i) => ({ kind: leaf, handle: '0:', dev: l.name, parent: `:${i + 1}`, refcnt: 1, options: {} })),
  ];
  s.links.push(l);
  return l;
}

describe('queues.default-qdisc', () => {
  it('pfifo_fast: fq for throughput, with tc commands for devices that keep pfifo_fast', () => {
    const r = auditCase(queueRules, { workload: 'throughput' });
    const f = finding(r, 'queues.default-qdisc');
    expect(f?.severity).toBe('info');
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.default_qdisc', from: 'pfifo_fast', to: 'fq' }]);
    expect(f?.fix.commands).toEqual(['sysctl -w net.core.default_qdisc=fq', 'tc qdisc replace dev eth0 root fq']);
    expect(f?.evidence).toContainEqual({ what: 'eth0 root qdisc', value: 'pfifo_fast' });
    expect(f?.message).toMatch(/eth0 uses pfifo_fast now and keeps it until replaced/);
  });

  it('fq_codel for latency; a multiqueue device re-creates mq so its leaves take the new default', () => {
    const r = auditCase(queueRules, { workload: 'latency', mutate: (s) => addMq(s, 'pfifo_fast') });
    const f = finding(r, 'queues.default-qdisc');
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.default_qdisc', from: 'pfifo_fast', to: 'fq_codel' }]);
    expect(f?.fix.commands).toContain('tc qdisc replace dev ens1f0np0 root mq');
    expect(f?.fix.commands).toContain('tc qdisc replace dev eth0 root fq_codel');
  });

  it('does not fire with fq_codel as default, nor for balanced/connections workloads', () => {
    expect(firedIds(auditCase(queueRules, { workload: 'latency', mutate: (s) => (s.sysctl['net.core.default_qdisc'] = 'fq_codel') }))).not.toContain('queues.default-qdisc');
    const b = auditCase(queueRules, { workload: 'balanced' });
    expect(firedIds(b)).not.toContain('queues.default-qdisc');
    expect(b.skipped).toContainEqual({ id: 'queues.default-qdisc', reason: 'not relevant for workload balanced' });
  });

  it('is skipped outside the initial namespace (a global knob)', () => {
    const r = auditCase(queueRules, { workload: 'throughput', mutate: (s) => (s.netns = { name: 'blue', inode: 1, init: false }) });
    expect(r.skipped).toContainEqual({ id: 'queues.default-qdisc', reason: 'global knobs are only visible in the initial namespace' });
  });
});

describe('queues.txqueuelen-large-latency', () => {
  it('fires on the fixture eth0 (pfifo_fast, txqueuelen 1000) for latency, with the drain time', () => {
    const r = auditCase(queueRules, { workload: 'latency' });
    const f = finding(r, 'queues.txqueuelen-large-latency', 'eth0');
    expect(f?.severity).toBe('info');
    expect(f?.evidence).toContainEqual({ what: 'eth0 txqueuelen', value: 1000 });
    // 1000 × 1400 bytes at 1 Gbit/s (virtio reports no speed and no --link was given)
    expect(f?.evidence).toContainEqual({ what: 'full-queue delay', value: '11 ms at 1 Gbit/s', note: '1000 × 1400 bytes' });
    expect(f?.confidence).toBe('low');
    expect(f?.fix.commands).toEqual(['tc qdisc replace dev eth0 root fq_codel']);
  });

  it('uses the --link rate when given', () => {
    const r = auditCase(queueRules, { workload: 'latency', link: { rate_bps: 1e8, rtt_s: 0.02 } });
    const f = finding(r, 'queues.txqueuelen-large-latency', 'eth0');
    expect(f?.message).toMatch(/112 ms at 100 Mbit\/s/);
    expect(f?.confidence).toBe('medium');
  });

  it('mq with FIFO leaves: sets default_qdisc=fq_codel and re-creates mq', () => {
    const r = auditCase(queueRules, { workload: 'latency', mutate: (s) => addMq(s, 'pfifo_fast') });
    const f = finding(r, 'queues.txqueuelen-large-latency', 'ens1f0np0');
    expect(f?.message).toMatch(/0\.5 ms at 25 Gbit\/s/);
    expect(f?.fix.commands).toEqual(['sysctl -w net.core.default_qdisc=fq_codel', 'tc qdisc replace dev ens1f0np0 root mq']);
  });

  it('does not fire with fq_codel, a short queue, noqueue devices, or other workloads', () => {
    const codel = auditCase(queueRules, { workload: 'latency', mutate: (s) => (s.sysctl['net.core.default_qdisc'] = 'fq_codel') });
    expect(finding(codel, 'queues.txqueuelen-large-latency', 'eth0')).toBeDefined(); // the qdisc on eth0 is what counts
    const fqc = auditCase(queueRules, {
      workload: 'latency',
      mutate: (s) => {
        eth0(s).qdiscs = [{ kind: 'fq_codel', handle: '0:', dev: 'eth0', root: true, refcnt: 2, options: {} }];
        addMq(s, 'fq_codel');
      },
    });
    expect(firedIds(fqc)).not.toContain('queues.txqueuelen-large-latency');
    expect(firedIds(auditCase(queueRules, { workload: 'latency', mutate: (s) => (eth0(s).txqlen = 500) }))).not.toContain('queues.txqueuelen-large-latency');
    const r = auditCase(queueRules, { workload: 'latency' });
    expect(r.findings.filter((f) => f.id === 'queues.txqueuelen-large-latency').map((f) => f.subject)).toEqual(['eth0']); // not lo (noqueue)
    expect(firedIds(auditCase(queueRules, { workload: 'throughput' }))).not.toContain('queues.txqueuelen-large-latency');
  });
});

describe('latency.busy-poll', () => {
  it('fires for latency when both knobs are 0, proposing 50 µs', () => {
    const f = finding(auditCase(queueRules, { workload: 'latency' }), 'latency.busy-poll');
    expect(f?.severity).toBe('info');
    expect(f?.fix.changes).toEqual([
      { kind: 'sysctl', key: 'net.core.busy_read', from: '0', to: '50' },
      { kind: 'sysctl', key: 'net.core.busy_poll', from: '0', to: '50' },
    ]);
    expect(f?.evidence).toContainEqual({ what: 'net.core.busy_read', value: '0' });
    expect(f?.fix.commands.some((c) => c.includes('SO_BUSY_POLL'))).toBe(true);
  });

  it('does not fire when either knob is set, or for other workloads', () => {
    expect(firedIds(auditCase(queueRules, { workload: 'latency', mutate: (s) => (s.sysctl['net.core.busy_poll'] = '50') }))).not.toContain('latency.busy-poll');
    expect(firedIds(auditCase(queueRules, { workload: 'latency', mutate: (s) => (s.sysctl['net.core.busy_read'] = '50') }))).not.toContain('latency.busy-poll');
    expect(firedIds(auditCase(queueRules, { workload: 'throughput' }))).not.toContain('latency.busy-poll');
    expect(firedIds(auditCase(queueRules, { workload: 'balanced' }))).not.toContain('latency.busy-poll');
  });
});
