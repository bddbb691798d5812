// The planner must not produce what the audit flags: plan every workload (with and without a
// link and flags) on every fixture snapshot, put the plan's values into the snapshot, audit it,
// and no finding may propose changing a key the plan just set.
import { describe, expect, it } from 'vitest';
import { buildPlan, DEAD_PEER_MAX_S, DEAD_PEER_MIN_S } from '../../src/plan/index.js';
import { WORKLOADS, type LinkSpec } from '../../src/plan/types.js';
import { evaluate } from '../../src/rules/engine.js';
import { allRules } from '../../src/rules/index.js';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { bdpBytes } from '../../src/units/index.js';
import { nettune, snapshotFixture } from '../helpers.js';

/** The 6.18 capture, and variants built from it: a 4.19-era host (older defaults, counters that
 *  show trouble), a small-memory host, a child namespace, a host without conntrack. */
const SNAPSHOTS: Record<string, () => Snapshot> = {
  'linux-6.18': snapshotFixture,
  'linux-4.19-busy': () => {
    const s = snapshotFixture();
    s.kernel.release = '4.19.0-27-amd64';
    Object.assign(s.sysctl, {
      'net.core.somaxconn': '128',
      'net.ipv4.tcp_rmem': '4096 87380 6291456',
      'net.ipv4.tcp_wmem': '4096 16384 4194304',
      'net.ipv4.tcp_max_syn_backlog': '512',
      'net.netfilter.nf_conntrack_tcp_timeout_established': '432000',
      'net.ipv4.tcp_congestion_control': 'cubic',
    });
    s.congestion_control = { current: 'cubic', available: ['reno', 'cubic', 'bbr'], allowed: ['reno', 'cubic'] };
    const ext = s.counters.netstat.TcpExt;
    if (ext) Object.assign(ext, { ListenOverflows: 1523, ListenDrops: 1523 });
    if (s.counters.softnet[0]) s.counters.softnet[0].dropped = 42;
    return s;
  },
  'small-memory': () => {
    const s = snapshotFixture();
    s.memory.total_bytes = 2 * 1024 ** 3;
    return s;
  },
  'child-netns': () => {
    const s = snapshotFixture();
    s.netns = { ...s.netns, name: 'nt-h6-test', init: false };
    return s;
  },
  'no-conntrack': () => {
    const s = snapshotFixture();
    s.conntrack = null;
    for (const k of Object.keys(s.sysctl)) if (k.startsWith('net.netfilter.') || k === 'net.nf_conntrack_max') delete s.sysctl[k];
    return s;
  },
};

const link = (rate: number, rtt: number, loss: number | null = null): LinkSpec => ({ rate_bps: rate, rtt_s: rtt, bdp_bytes: bdpBytes(rate, rtt), loss_pct: loss });
const LINKS: (LinkSpec | null)[] = [null, link(1e9, 0.01), link(10e9, 0.1, 0.1), link(100e6, 0.6)];
const FLAGS: { conns: number | null; dead_peer_s: number | null }[] = [
  { conns: null, dead_peer_s: null },
  { conns: 1000, dead_peer_s: 90 },
  { conns: 1_000_000, dead_peer_s: DEAD_PEER_MIN_S },
  { conns: 50_000, dead_peer_s: DEAD_PEER_MAX_S },
];

describe('plan, then audit the planned host', () => {
  for (const [name, make] of Object.entries(SNAPSHOTS))
    it(`${name}: no finding proposes changing a key the plan set (every workload × link × flags)`, () => {
      const conflicts: string[] = [];
      let plans = 0;
      for (const workload of WORKLOADS)
        for (const l of LINKS)
          for (const f of FLAGS) {
            const snap = make();
            const plan = buildPlan(snap, { workload, link: l, ...f });
            plans++;
            const set = new Map<string, string>();
            for (const c of plan.changes) if (c.kind === 'sysctl') set.set(c.key, c.to);
            const after = make();
            for (const [k, v] of set) after.sysctl[k] = v;
            if (after.congestion_control && set.has('net.ipv4.tcp_congestion_control')) after.congestion_control.current = set.get('net.ipv4.tcp_congestion_control') ?? null;
            if (set.has('net.ipv4.tcp_allowed_congestion_control')) after.congestion_control.allowed = (set.get('net.ipv4.tcp_allowed_congestion_control') ?? '').split(' ');
            if (after.conntrack && set.has('net.netfilter.nf_conntrack_max')) after.conntrack.max = Number(set.get('net.netfilter.nf_conntrack_max'));
            if (after.conntrack && set.has('net.netfilter.nf_conntrack_buckets')) after.conntrack.buckets = Number(set.get('net.netfilter.nf_conntrack_buckets'));
            const audit = evaluate(allRules, { snap: after, workload, link: l });
            for (const finding of audit.findings)
              for (const c of finding.fix.changes)
                if (c.kind === 'sysctl' && set.has(c.key) && c.to !== set.get(c.key))
                  conflicts.push(`${workload} link=${l ? `${l.rate_bps}@${l.rtt_s}` : '-'} conns=${f.conns} dead=${f.dead_peer_s}: plan set ${c.key}=${set.get(c.key)}, ${finding.id} (${finding.severity}) proposes ${c.to}`);
          }
      expect(plans).toBe(WORKLOADS.length * LINKS.length * FLAGS.length);
      expect([...new Set(conflicts)]).toEqual([]);
    });

  it('--dead-peer 90s: keepalive 60 + 10 × 3, conntrack timeout 7440 s, and neither is flagged', () => {
    const snap = snapshotFixture();
    const plan = buildPlan(snap, { workload: 'connections', link: null, conns: 1000, dead_peer_s: 90 });
    const to = (k: string) => plan.changes.find((c) => c.kind === 'sysctl' && c.key === k)?.to;
    expect([to('net.ipv4.tcp_keepalive_time'), to('net.ipv4.tcp_keepalive_intvl'), to('net.ipv4.tcp_keepalive_probes')]).toEqual(['60', '10', '3']);
    expect(to('net.netfilter.nf_conntrack_tcp_timeout_established')).toBe('7440');
  });

  it('conntrack.established-timeout flags a timeout below RFC 5382 (the 3600 s the planner used to write)', () => {
    const s = snapshotFixture();
    s.sysctl['net.netfilter.nf_conntrack_tcp_timeout_established'] = '3600';
    const f = evaluate(allRules, { snap: s, workload: 'connections' }).findings.find((x) => x.id === 'conntrack.established-timeout');
    expect(f?.message).toMatch(/below RFC 5382's 2h 4m/);
    expect(f?.fix.changes[0]).toMatchObject({ key: 'net.netfilter.nf_conntrack_tcp_timeout_established' });
    expect(Number((f?.fix.changes[0] as { to: string }).to)).toBeGreaterThanOrEqual(7440);
  });

  it('plan refuses dead-peer targets keepalive cannot meet without tripping the audit (exit 2, with why)', () => {
    const SNAP = 'test/fixtures/snapshot-6.18.json';
    const low = nettune('plan', '--snapshot', SNAP, '--workload', 'connections', '--dead-peer', '30s');
    expect(low.code).toBe(2);
    expect(low.stderr).toMatch(/at least 63 s .*60 s idle before the first probe/);
    const high = nettune('plan', '--snapshot', SNAP, '--workload', 'connections', '--dead-peer', '2h');
    expect(high.code).toBe(2);
    expect(high.stderr).toMatch(/at most 1800 s/);
    expect(nettune('plan', '--snapshot', SNAP, '--workload', 'connections', '--dead-peer', '90s').code).toBe(0);
  });
});
