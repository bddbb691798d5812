import { describe, expect, it } from 'vitest';
import { buildPlan, keepaliveFor } from '../../src/plan/index.js';
import { planSchema } from '../../src/plan/schema.js';
import { parseDuration, parseRate, bdpBytes } from '../../src/units/index.js';
import type { LinkSpec } from '../../src/plan/types.js';
import { diffPlan, diffSnapshots } from '../../src/cli/plan.js';
import { findEntry, validateValue } from '../../src/catalog/index.js';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { snapshotFixture } from '../helpers.js';

const link = (rate: string, rtt: string, loss: number | null = null): LinkSpec => {
  const r = parseRate(rate);
  const t = parseDuration(rtt, '--rtt');
  return { rate_bps: r, rtt_s: t, bdp_bytes: bdpBytes(r, t), loss_pct: loss };
};
const plan = (s: Snapshot, workload: 'latency' | 'throughput' | 'connections' | 'balanced', l: LinkSpec | null = null, conns: number | null = null, dead: number | null = null) =>
  buildPlan(s, { workload, link: l, conns, dead_peer_s: dead });
const change = (p: ReturnType<typeof plan>, key: string) => p.changes.find((c) => c.kind === 'sysctl' && c.key === key);
const skip = (p: ReturnType<typeof plan>, key: string) => p.skipped.find((s) => s.key === key);

describe('plan: buffers from the BDP', () => {
  it('seed link 10 Gbit/s × 10 ms: raises tcp_wmem max to 32 MiB, never lowers the 32 MiB tcp_rmem', () => {
    const p = plan(snapshotFixture(), 'throughput', link('10gbit', '10ms'));
    expect(change(p, 'net.ipv4.tcp_wmem')?.to).toBe('4096 16384 33554432');
    expect(change(p, 'net.ipv4.tcp_rmem')).toBeUndefined();
    expect(skip(p, 'net.ipv4.tcp_rmem')?.reason).toMatch(/already ≥ 2 × BDP/);
    expect(change(p, 'net.core.rmem_max')?.to).toBe('33554432');
    expect(planSchema.parse(p)).toBeTruthy();
  });
  it('never lowers a buffer that is already larger (tuned-style 16 MiB would be a regression)', () => {
    const s = snapshotFixture();
    s.sysctl['net.ipv4.tcp_wmem'] = '4096 16384 67108864';
    const p = plan(s, 'throughput', link('1gbit', '10ms'));
    expect(p.changes.filter((c) => c.kind === 'sysctl' && /tcp_[rw]mem$/.test(c.key))).toEqual([]);
  });
  it('caps absurd BDPs at 1 GiB per socket with a note', () => {
    const p = plan(snapshotFixture(), 'throughput', link('100gbit', '200ms'));
    expect(change(p, 'net.ipv4.tcp_rmem')?.to).toBe('4096 131072 1073741824');
    expect(p.notes.join(' ')).toMatch(/capped at 1024 MiB/);
  });
  it('skips global knobs in a child namespace with the reason', () => {
    const s = snapshotFixture();
    s.netns = { name: 'nt-x-client', inode: 1, init: false };
    const p = plan(s, 'throughput', link('10gbit', '10ms'));
    expect(change(p, 'net.core.rmem_max')).toBeUndefined();
    expect(skip(p, 'net.core.rmem_max')?.reason).toMatch(/global knob/);
    expect(change(p, 'net.ipv4.tcp_wmem')).toBeDefined(); // per-namespace
  });
});

describe('plan: congestion control', () => {
  const cubic = (s: Snapshot) => {
    s.sysctl['net.ipv4.tcp_congestion_control'] = 'cubic';
    s.congestion_control.current = 'cubic';
  };
  it('proposes bbr on a long or lossy path when available', () => {
    const s = snapshotFixture();
    cubic(s);
    expect(change(plan(s, 'throughput', link('1gbit', '100ms', 1)), 'net.ipv4.tcp_congestion_control')?.to).toBe('bbr');
    expect(change(plan(s, 'throughput', link('10gbit', '1ms')), 'net.ipv4.tcp_congestion_control')).toBeUndefined();
  });
  it('explains when bbr is not available', () => {
    const s = snapshotFixture();
    cubic(s);
    s.congestion_control.available = ['reno', 'cubic'];
    const p = plan(s, 'throughput', link('1gbit', '100ms'));
    expect(change(p, 'net.ipv4.tcp_congestion_control')).toBeUndefined();
    expect(skip(p, 'net.ipv4.tcp_congestion_control')?.reason).toMatch(/bbr is not available .*modprobe tcp_bbr/);
  });
});

describe('plan: latency and connections', () => {
  it('latency: busy polling, notsent_lowat, slow start after idle, TFO with its caveat', () => {
    const p = plan(snapshotFixture(), 'latency');
    expect(change(p, 'net.core.busy_read')?.to).toBe('50');
    expect(change(p, 'net.ipv4.tcp_notsent_lowat')?.to).toBe('16384');
    expect(change(p, 'net.ipv4.tcp_slow_start_after_idle')?.to).toBe('0');
    expect(change(p, 'net.ipv4.tcp_fastopen')?.reason).toMatch(/idempotent/);
  });
  it('connections --conns 1000000 --dead-peer 90s', () => {
    const p = plan(snapshotFixture(), 'connections', null, 1_000_000, 90);
    expect(change(p, 'net.netfilter.nf_conntrack_max')?.to).toBe('2097152');
    expect(change(p, 'net.netfilter.nf_conntrack_buckets')?.to).toBe('2097152');
    // 60 s idle at least (tcp.keepalive-aggressive), then 3 probes 10 s apart
    expect(change(p, 'net.ipv4.tcp_keepalive_time')?.to).toBe('60');
    expect(change(p, 'net.ipv4.tcp_keepalive_intvl')?.to).toBe('10');
    expect(change(p, 'net.ipv4.tcp_keepalive_probes')?.to).toBe('3');
    // never below RFC 5382's 2 h 4 min (conntrack.established-timeout)
    expect(change(p, 'net.netfilter.nf_conntrack_tcp_timeout_established')?.to).toBe('7440');
    expect(change(p, 'net.ipv4.ip_local_port_range')?.to).toBe('1024 65535');
    expect(change(p, 'net.core.somaxconn')?.to).toBe('16384');
  });
  it('without --dead-peer the keepalive fix comes from the audit rule, and is not also listed as skipped', () => {
    const p = plan(snapshotFixture(), 'connections', null, 1000);
    expect(change(p, 'net.ipv4.tcp_keepalive_time')).toMatchObject({ source: 'rule:tcp.keepalive-slow' });
    expect(skip(p, 'net.ipv4.tcp_keepalive_time')).toBeUndefined();
  });
  it('sizes conntrack from RAM when --conns would not fit', () => {
    const s = snapshotFixture();
    s.memory.total_bytes = 2 * 1024 ** 3;
    const p = plan(s, 'connections', null, 10_000_000);
    expect(Number(change(p, 'net.netfilter.nf_conntrack_max')?.to)).toBeLessThan(1_000_000);
    expect(p.notes.join(' ')).toMatch(/capped at/);
  });
  it('raises somaxconn further when listen overflows were seen, and netdev_max_backlog on softnet drops', () => {
    const s = snapshotFixture();
    (s.counters.netstat.TcpExt ??= {}).ListenOverflows = 12;
    s.counters.softnet[0]!.dropped = 40;
    const p = plan(s, 'connections');
    expect(change(p, 'net.core.somaxconn')?.to).toBe('65535');
    expect(change(p, 'net.core.netdev_max_backlog')?.to).toBe('16384');
  });
  it('keepalive triple meets the target exactly', () => {
    for (const t of [63, 90, 600, 1799, 1800]) {
      const k = keepaliveFor(t);
      expect(k.time + k.intvl * k.probes).toBe(t);
      expect(k.time).toBeGreaterThanOrEqual(60);
    }
  });
});

describe('plan: audit fixes, validity, skipping', () => {
  it('includes fixes of warn/critical findings, attributed to the rule', () => {
    const s = snapshotFixture();
    s.sysctl['net.ipv4.tcp_sack'] = '0';
    const c = change(plan(s, 'balanced'), 'net.ipv4.tcp_sack');
    expect(c).toMatchObject({ to: '1', source: 'rule:tcp.sack-off' });
  });
  it('every proposed value is valid for its catalog entry and differs from the current one', () => {
    const s = snapshotFixture();
    for (const w of ['latency', 'throughput', 'connections', 'balanced'] as const) {
      for (const c of plan(s, w, link('10gbit', '50ms', 0.5), 500_000, 120).changes) {
        if (c.kind !== 'sysctl') continue;
        const e = findEntry(c.key);
        if (e) expect(validateValue(e, c.to), `${c.key}=${c.to}`).toMatchObject({ ok: true });
        expect(s.sysctl[c.key]).not.toBe(c.to);
        expect(c.reason.length).toBeGreaterThan(20);
      }
    }
  });
});

describe('diff and tuned', () => {
  it('diffs snapshots and plans', () => {
    const a = snapshotFixture();
    const b = snapshotFixture();
    b.sysctl['net.core.somaxconn'] = '8192';
    b.links[0]!.mtu = 9000;
    const d = diffSnapshots(a, b);
    expect(d.sysctl).toEqual([{ key: 'net.core.somaxconn', a: '4096', b: '8192' }]);
    expect(d.links).toContainEqual({ name: a.links[0]!.name, field: 'mtu', a: String(a.links[0]!.mtu), b: '9000' });
    const p = plan(a, 'connections', null, 1000);
    const rows = diffPlan(b, p);
    expect(rows.find((r) => r.key === 'net.core.somaxconn')).toMatchObject({ current: '8192', planned: '16384', in_effect: false });
  });
});
