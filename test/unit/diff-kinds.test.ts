// `nettune diff SNAPSHOT PLAN` names every planned change, whatever its kind: in effect, pending,
// or not comparable from the Snapshot (with why) — never left out.
import { describe, expect, it } from 'vitest';
import { diffPlan } from '../../src/cli/plan.js';
import { planSchema } from '../../src/plan/schema.js';
import { snapshotFixture } from '../helpers.js';

const planWith = (changes: unknown[]) =>
  planSchema.parse({
    schema: 'nettune.plan/1',
    created_at: '2026-12-02T00:00:00.000Z',
    host: { hostname: 'h', machine_id: null, kernel: '6.18', netns: null, snapshot_taken_at: '2026-12-02T00:00:00.000Z' },
    workload: 'latency',
    link: null,
    params: {},
    changes: changes.map((c) => ({ ...(c as object), reason: 'r', source: 's' })),
    skipped: [],
    notes: [],
  });

describe('diff SNAPSHOT PLAN: every kind is a row', () => {
  it('mptcp endpoint and limits, ethtool flow-hash/indirection and sysfs are rows, not dropped', () => {
    const snap = snapshotFixture();
    snap.mptcp = { endpoints: [{ address: '198.18.5.1', id: 1, subflow: true, dev: 'eth0' }], limits: { subflows: 2, add_addr_accepted: 0 } };
    const dev = snap.links[0]?.name ?? 'eth0';
    const plan = planWith([
      { kind: 'sysctl', key: 'net.ipv4.tcp_fin_timeout', from: null, to: snap.sysctl['net.ipv4.tcp_fin_timeout'] },
      { kind: 'mptcp', object: 'endpoint', address: '198.18.5.1', from: null, to: 'id 1 subflow dev eth0' },
      { kind: 'mptcp', object: 'endpoint', address: '198.18.5.9', from: null, to: 'id 2 subflow dev eth0' },
      { kind: 'mptcp', object: 'limits', address: null, from: null, to: 'subflows 3 add_addr_accepted 0' },
      { kind: 'ethtool', device: dev, group: 'flow-hash', setting: 'tcp4', from: null, to: 'sdfn' },
      { kind: 'ethtool', device: dev, group: 'indirection', setting: 'table', from: null, to: 'equal 2' },
      { kind: 'sysfs', path: '/sys/class/net/eth0/mtu', from: null, to: '1500' },
    ]);
    const rows = diffPlan(snap, plan);
    expect(rows).toHaveLength(plan.changes.length);
    const by = (k: string) => rows.find((r) => r.key === k);
    expect(by('net.ipv4.tcp_fin_timeout')).toMatchObject({ in_effect: true });
    expect(by('mptcp endpoint 198.18.5.1')).toMatchObject({ current: 'id 1 subflow dev eth0', in_effect: true });
    expect(by('mptcp endpoint 198.18.5.9')).toMatchObject({ current: null, in_effect: false });
    expect(by('mptcp limits')).toMatchObject({ current: 'subflows 2 add_addr_accepted 0', planned: 'subflows 3 add_addr_accepted 0', in_effect: false });
    // not in the Snapshot: named, with the reason, neither in effect nor pending
    expect(by('/sys/class/net/eth0/mtu')).toMatchObject({ in_effect: null, note: expect.stringMatching(/not recorded/) as unknown });
  });
});
