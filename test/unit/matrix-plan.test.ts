// What the outcome matrix showed about the planner: on a lossy path, 2 × BDP buffers held one
// stream to 71 % of the ceiling (1 Gbit/s × 100 ms × 0.1 %) where 256 MiB reached 99.5 %, so
// plan:auto sizes buffers 4 × BDP when the link has loss, and 2 × BDP without.
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/index.js';
import { bdpBytes } from '../../src/units/index.js';
import { snapshotFixture } from '../helpers.js';

const planFor = (loss_pct: number | null) => {
  const snap = snapshotFixture();
  Object.assign(snap.sysctl, { 'net.ipv4.tcp_rmem': '4096 131072 6291456', 'net.ipv4.tcp_wmem': '4096 16384 4194304' });
  const link = { rate_bps: 1e9, rtt_s: 0.1, bdp_bytes: bdpBytes(1e9, 0.1), loss_pct };
  const plan = buildPlan(snap, { workload: 'throughput', link, conns: null, dead_peer_s: null });
  return Object.fromEntries(plan.changes.filter((c) => c.kind === 'sysctl').map((c) => [c.kind === 'sysctl' ? c.key : '', c]));
};

describe('buffers for a lossy link', () => {
  it('BDP 12.5 MB: 2 × BDP → 32 MiB without loss, 4 × BDP → 64 MiB with 0.1 % loss, saying why', () => {
    expect(planFor(null)['net.ipv4.tcp_rmem']?.to).toBe(`4096 131072 ${2 ** 25}`);
    const lossy = planFor(0.1);
    expect(lossy['net.ipv4.tcp_rmem']?.to).toBe(`4096 131072 ${2 ** 26}`);
    expect(lossy['net.ipv4.tcp_wmem']?.to).toBe(`4096 16384 ${2 ** 26}`);
    expect(lossy['net.ipv4.tcp_wmem']?.reason).toMatch(/< 4 × BDP \(0\.1 % loss: the receiver holds out-of-order data/);
  });
});
