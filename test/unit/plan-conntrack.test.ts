// Conntrack sizing in the connections plan on fixture Snapshots: the memory a full table costs
// (slab size × entries + 8 B × buckets, before → after), Little's law for the TIME_WAIT backlog
// with --conn-rate, the RFC floors on forwarding/NAT hosts, and the skipped reasons.
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/index.js';
import { planSchema } from '../../src/plan/schema.js';
import { CONNTRACK_ENTRY_BYTES_FALLBACK, RFC4787_UDP_MIN_S, RFC5382_TRANSITORY_MIN_S, RFC5508_ICMP_MIN_S } from '../../src/plan/conntrack.js';
import { renderConntrackFigure } from '../../src/cli/plan.js';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { runCli, snapshotFixture } from '../helpers.js';

const CT = 'net.netfilter.nf_conntrack_';
const withSlab = (s: Snapshot = snapshotFixture()): Snapshot => {
  if (!s.conntrack) throw new Error('fixture has conntrack');
  s.conntrack.slab = { object_size: 248, slab_size: 256, source: 'sysfs' };
  return s;
};
const plan = (s: Snapshot, conns: number | null, rate: number | null = null, dead: number | null = null) => buildPlan(s, { workload: 'connections', link: null, conns, conn_rate: rate, dead_peer_s: dead });
type P = ReturnType<typeof plan>;
const change = (p: P, key: string) => p.changes.find((c) => c.kind === 'sysctl' && c.key === `${CT}${key}`);
const skip = (p: P, key: string) => p.skipped.find((s) => s.key === `${CT}${key}`);
const middlebox = (s: Snapshot): Snapshot => {
  s.sysctl['net.ipv4.ip_forward'] = '1';
  return s;
};

describe('conntrack memory in the plan', () => {
  it('--conns 500000 on 6.18 (256 B slab objects): 262 144 → 1 048 576 entries and buckets, 66 MiB → 264 MiB when full', () => {
    const p = plan(withSlab(), 500_000);
    expect(change(p, 'max')?.to).toBe('1048576'); // 500 000 × 1.25 = 625 000 → next power of two
    expect(change(p, 'buckets')?.to).toBe('1048576');
    expect(p.conntrack).toEqual({
      entry_bytes: 256,
      entry_source: 'slab_size',
      bucket_bytes: 8,
      before: { max: 262144, buckets: 262144, bytes_full: 262144 * 256 + 262144 * 8 },
      after: { max: 1048576, buckets: 1048576, bytes_full: 1048576 * 256 + 1048576 * 8 },
      churn: null,
    });
    expect(p.conntrack?.after.bytes_full).toBe(264 * 1024 * 1024);
    expect(change(p, 'max')?.reason).toContain('66 MiB (262 144 × 256 B + 262 144 × 8 B) now → 264 MiB (1 048 576 × 256 B + 1 048 576 × 8 B)');
    expect(change(p, 'buckets')?.reason).toContain('2 MiB → 8 MiB (8 B each: one hlist_nulls_head pointer');
    expect(planSchema.parse(p).conntrack).toEqual(p.conntrack);
    expect(renderConntrackFigure(p.conntrack!)).toEqual([
      'Conntrack memory when full, at 256 B per entry (nf_conntrack slab) and 8 B per bucket:',
      '  before: 262 144 entries × 256 B + 262 144 buckets × 8 B = 66 MiB',
      '  after:  1 048 576 entries × 256 B + 1 048 576 buckets × 8 B = 264 MiB',
    ]);
  });

  it('without a slab size (no root, an older Snapshot) the fallback is used and labelled an estimate', () => {
    const p = plan(snapshotFixture(), 500_000);
    expect(p.conntrack).toMatchObject({ entry_bytes: CONNTRACK_ENTRY_BYTES_FALLBACK, entry_source: 'fallback' });
    expect(change(p, 'max')?.reason).toMatch(/an estimate: the Snapshot has no nf_conntrack slab size/);
    expect(p.notes.join('\n')).toMatch(/conntrack memory is an estimate at ~320 B per entry/);
  });

  it('a 32-bit kernel has 4-byte buckets', () => {
    const s = withSlab();
    s.kernel.machine = 'ia32';
    expect(plan(s, 500_000).conntrack?.bucket_bytes).toBe(4);
  });

  it('caps the table at 10 % of RAM with the per-entry cost of this kernel', () => {
    const s = withSlab();
    s.memory.total_bytes = 2 * 1024 ** 3;
    const p = plan(s, 10_000_000);
    // 10 % of 2 GiB / (256 + 8) B = 813 E3 → power of two 1 048 576, halved so it stays under 10 %
    expect(change(p, 'max')?.to).toBe('524288');
    expect(p.conntrack!.after.bytes_full!).toBeLessThanOrEqual(0.1 * 2 * 1024 ** 3);
    expect(p.notes.join(' ')).toMatch(/capped at 524 288 entries/);
  });

  it('a child namespace: max and buckets are global (skipped, the figure unchanged), the timeouts are its own', () => {
    const s = withSlab();
    s.netns = { name: 'nt-x', inode: 1, init: false };
    const p = plan(s, 500_000, 2000);
    expect(change(p, 'max')).toBeUndefined();
    expect(change(p, 'buckets')).toBeUndefined();
    expect(skip(p, 'max')?.reason).toMatch(/global knob/);
    expect(p.conntrack?.after).toEqual(p.conntrack?.before);
    expect(change(p, 'tcp_timeout_time_wait')?.to).toBe('60');
    expect(change(p, 'tcp_timeout_established')?.to).toBe('86400');
  });

  it('without conntrack nothing is sized and there is no figure', () => {
    const s = snapshotFixture();
    s.conntrack = null;
    const p = plan(s, 500_000, 2000);
    expect(p.conntrack).toBeUndefined();
    expect(skip(p, 'max')?.reason).toBe('conntrack is not loaded');
  });
});

describe("Little's law with --conn-rate", () => {
  it('2000/s with 500 000 connections: TIME_WAIT 120 → 60 s on a host tracking its own connections; max sized for both', () => {
    const p = plan(withSlab(), 500_000, 2000);
    const tw = change(p, 'tcp_timeout_time_wait');
    expect(tw?.to).toBe('60');
    expect(tw?.reason).toContain('2 000/s × 120 s = 240 000 entries (58.6 MiB); at 60 s 2 000 × 60 = 120 000 (29.3 MiB), 120 000 entries and 29.3 MiB less');
    expect(tw?.reason).toContain('TCP_TIMEWAIT_LEN = 60 s');
    expect(tw?.reason).toContain('120 s now, nf_conntrack-sysctl.rst default 120 s');
    // entries ≈ rate × (lifetime + TIME_WAIT) = 2000 × (250 + 60) = 620 000; × 1.25 = 775 000 → 1 048 576
    expect(change(p, 'max')?.reason).toContain('2 000/s × (250 s + 60 s) = 500 000 established + 120 000 in TIME_WAIT = 620 000');
    expect(change(p, 'max')?.to).toBe('1048576');
    expect(p.conntrack?.churn).toEqual({
      conn_rate_per_s: 2000,
      lifetime_s: 250,
      time_wait_before_s: 120,
      time_wait_after_s: 60,
      time_wait_entries_before: 240_000,
      time_wait_entries_after: 120_000,
      time_wait_bytes_before: 240_000 * 256,
      time_wait_bytes_after: 120_000 * 256,
    });
    expect(renderConntrackFigure(p.conntrack!)[3]).toBe("  TIME_WAIT at 2 000/s (Little's law, rate × timeout): 120 s → 240 000 entries (58.6 MiB); 60 s → 120 000 (29.3 MiB); mean connection lifetime --conns / rate = 250 s");
  });

  it('--udp-rate: one-shot UDP flows hold rate × nf_conntrack_udp_timeout entries, counted in the table size', () => {
    const p = buildPlan(withSlab(), { workload: 'connections', link: null, conns: 500_000, conn_rate: 2000, udp_rate: 20_000, dead_peer_s: null });
    // 500 000 + 2 000 × 60 + 20 000 × 30 = 1 220 000 × 1.25 = 1 525 000 → 2 097 152
    expect(change(p, 'max')?.to).toBe('2097152');
    expect(change(p, 'max')?.reason).toContain('+ UDP 20 000/s × 30 s (nf_conntrack_udp_timeout) = 600 000 = 1 220 000');
    expect(p.conntrack?.udp).toEqual({ rate_per_s: 20_000, timeout_s: 30, entries: 600_000, bytes: 600_000 * 256 });
    expect(p.notes.join('\n')).toContain('plan --notrack udp:53');
    expect(renderConntrackFigure(p.conntrack!).at(-1)).toBe("  UDP at 20 000/s (Little's law, rate × nf_conntrack_udp_timeout): 30 s → 600 000 entries (146.5 MiB)");
    // the timeout itself is not lowered for it
    expect(change(p, 'udp_timeout')).toBeUndefined();
    expect(planSchema.parse(p).conntrack?.udp?.entries).toBe(600_000);
  });

  it('a high rate grows the table beyond --conns alone', () => {
    // 20 000/s: 20 000 × 60 = 1 200 000 in TIME_WAIT + 500 000 = 1 700 000 × 1.25 = 2 125 000 → 4 194 304 (vs 1 048 576)
    expect(change(plan(withSlab(), 500_000, 20_000), 'max')?.to).toBe('4194304');
  });

  it('a rate whose TIME_WAIT backlog is small next to the table changes nothing, saying why', () => {
    const p = plan(withSlab(), 500_000, 10);
    expect(change(p, 'tcp_timeout_time_wait')).toBeUndefined();
    expect(skip(p, 'tcp_timeout_time_wait')?.reason).toMatch(/would free 600 of 501 200 expected entries \(< 10 %\): not worth it/);
  });

  it('without --conn-rate TIME_WAIT is left, naming what is missing', () => {
    const p = plan(withSlab(), 500_000);
    expect(change(p, 'tcp_timeout_time_wait')).toBeUndefined();
    expect(skip(p, 'tcp_timeout_time_wait')?.reason).toMatch(/no --conn-rate/);
    expect(p.conntrack?.churn).toBeNull();
  });

  it('every proposed timeout passes the one value validator (nothing lands in skipped as rejected)', () => {
    for (const s of [withSlab(), middlebox(withSlab())]) {
      const p = plan(s, 500_000, 2000, 90);
      expect(p.skipped.filter((x) => /rejected/.test(x.reason))).toEqual([]);
    }
  });
});

describe('RFC floors on a forwarding or NAT host', () => {
  it('TIME_WAIT is never lowered below RFC 5382 REQ-5 (4 min) on a router, even at a high rate', () => {
    const p = plan(middlebox(withSlab()), 500_000, 20_000);
    expect(change(p, 'tcp_timeout_time_wait')).toBeUndefined();
    expect(skip(p, 'tcp_timeout_time_wait')?.reason).toMatch(/already at or below the floor of 240 s: this host forwards or translates \(net\.ipv4\.ip_forward=1\): RFC 5382 REQ-5/);
    // the table is sized for the TIME_WAIT backlog at the timeout kept: 20 000 × 120 + 500 000 = 2.9 M × 1.25 → 4 194 304
    expect(change(p, 'max')?.to).toBe('4194304');
  });

  it('nft nat rules make a host a middlebox too', () => {
    const s = withSlab();
    s.nft = { version: '1.0.6', tables: [{ family: 'ip', name: 'nat', chains: [{ name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept', rules: [] }] }] };
    expect(skip(plan(s, 500_000, 20_000), 'tcp_timeout_time_wait')?.reason).toMatch(/nft nat rules/);
  });

  it('timeouts someone lowered below the floor and the default are raised back; defaults below a floor are never lowered further', () => {
    const s = middlebox(withSlab());
    s.sysctl[`${CT}udp_timeout_stream`] = '30';
    s.sysctl[`${CT}icmp_timeout`] = '5';
    s.sysctl[`${CT}tcp_timeout_time_wait`] = '10';
    const p = plan(s, 500_000, 2000);
    expect(change(p, 'udp_timeout_stream')?.to).toBe(String(RFC4787_UDP_MIN_S));
    expect(change(p, 'udp_timeout_stream')?.reason).toMatch(/RFC 4787 REQ-5/);
    // the documented default (30 s) is below RFC 5508's 60 s: back to the default, not beyond
    expect(change(p, 'icmp_timeout')?.to).toBe('30');
    expect(change(p, 'icmp_timeout')?.reason).toMatch(/RFC 5508 REQ-2/);
    expect(change(p, 'tcp_timeout_time_wait')?.to).toBe('120');
    expect(skip(p, 'udp_timeout')?.reason).toMatch(/already below RFC 4787 REQ-5.*never lowered further/);
    expect(skip(p, 'tcp_timeout_close_wait')?.reason).toMatch(/already below RFC 5382 REQ-5/);
  });

  it('no proposal in any case goes below its floor', () => {
    const floors: Record<string, number> = {
      tcp_timeout_established: 7440,
      tcp_timeout_time_wait: 60,
      tcp_timeout_syn_sent: 0,
      udp_timeout_stream: RFC4787_UDP_MIN_S,
      icmp_timeout: 0,
    };
    for (const s of [withSlab(), middlebox(withSlab())])
      for (const rate of [null, 10, 2000, 1_000_000])
        for (const dead of [null, 63, 90, 1800]) {
          const p = plan(s, 500_000, rate, dead);
          for (const c of p.changes) {
            if (c.kind !== 'sysctl' || !c.key.startsWith(CT) || !c.key.includes('timeout')) continue;
            const short = c.key.slice(CT.length);
            const mb = s.sysctl['net.ipv4.ip_forward'] === '1';
            const floor = short === 'tcp_timeout_time_wait' && mb ? 120 : (floors[short] ?? 0);
            expect(Number(c.to), `${short} rate ${rate} dead ${dead}`).toBeGreaterThanOrEqual(floor);
            expect(Number(c.to)).toBeGreaterThanOrEqual(Math.min(mb ? RFC5382_TRANSITORY_MIN_S : 0, Number(c.from)));
          }
        }
    expect(RFC5508_ICMP_MIN_S).toBe(60);
  });
});

describe('--conn-rate on the command line', () => {
  it('a bad rate is exit 2 with one line, before probing', () => {
    for (const bad of ['fast', '-5', '0', '1e3', '2000/min']) {
      const r = runCli(['plan', '--workload', 'connections', '--conns', '1000', '--conn-rate', bad, '--json']);
      expect(r.code, bad).toBe(2);
      expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toMatch(/--conn-rate|conn-rate|connections per second/);
    }
  });
  it('--udp-rate is checked like --conn-rate', () => {
    const r = runCli(['plan', '--workload', 'connections', '--udp-rate', 'lots', '--json', '--snapshot', 'test/fixtures/snapshot-6.18.json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/--udp-rate.*new UDP flows per second/);
  });
  it('--conn-rate without the connections workload is exit 2, not silently ignored', () => {
    const r = runCli(['plan', '--workload', 'latency', '--conn-rate', '2000', '--json', '--snapshot', 'test/fixtures/snapshot-6.18.json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('--conn-rate goes with --workload connections');
  });
  it('N and N/s are the same rate, and the plan JSON records it', () => {
    const a = runCli(['plan', '--workload', 'connections', '--conns', '1000', '--conn-rate', '2000/s', '--json', '--snapshot', 'test/fixtures/snapshot-6.18.json']);
    const b = runCli(['plan', '--workload', 'connections', '--conns', '1000', '--conn-rate', '2000', '--json', '--snapshot', 'test/fixtures/snapshot-6.18.json']);
    expect(a.code, a.stderr).toBe(0);
    const pa = JSON.parse(a.stdout) as { params: Record<string, unknown>; conntrack: { churn: { conn_rate_per_s: number } } };
    const pb = JSON.parse(b.stdout) as typeof pa;
    expect(pa.params.conn_rate_per_s).toBe(2000);
    expect(pa.conntrack.churn).toEqual(pb.conntrack.churn);
  });
});
