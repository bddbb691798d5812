import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { conntrackRules } from '../../src/rules/conntrack.js';
import { auditCase, firedIds } from '../helpers.js';

const finding = (r: ReturnType<typeof auditCase>, id: string) => r.findings.find((f) => f.id === id);

/** Sets a conntrack table level (count / max / buckets) on the fixture. */
const table = (count: number, max = 262144, buckets = 262144) => (s: Snapshot) => {
  if (!s.conntrack) throw new Error('fixture has conntrack');
  s.conntrack.count = count;
  s.conntrack.max = max;
  s.conntrack.buckets = buckets;
  s.sysctl['net.netfilter.nf_conntrack_count'] = String(count);
  s.sysctl['net.netfilter.nf_conntrack_max'] = String(max);
  s.sysctl['net.netfilter.nf_conntrack_buckets'] = String(buckets);
};

/** Sets a per-CPU conntrack stat on CPU 0. */
const stat = (name: string, v: number) => (s: Snapshot) => {
  const row = s.conntrack?.stats[0];
  if (!row) throw new Error('fixture has conntrack stats');
  row[name] = v;
};

const both =
  (...fs: ((s: Snapshot) => void)[]) =>
  (s: Snapshot) => {
    for (const f of fs) f(s);
  };

const IDS = conntrackRules.map((r) => r.id);

describe('conntrack rules on the real 6.18 snapshot', () => {
  it('the untouched host (empty table, default sizing) only gets the timeout note', () => {
    const ids = firedIds(auditCase(conntrackRules));
    expect(ids).toEqual(['conntrack.established-timeout']);
  });

  it('every conntrack rule is skipped with the reason when conntrack is not loaded', () => {
    const r = auditCase(conntrackRules, { mutate: (s) => (s.conntrack = null), workload: 'connections' });
    expect(r.findings).toEqual([]);
    for (const id of IDS) expect(r.skipped).toContainEqual({ id, reason: 'conntrack is not loaded' });
  });

  it('table-full: warn above 80 %, critical above 95 %, silent below; sizes max and buckets with headroom', () => {
    const warn = finding(auditCase(conntrackRules, { mutate: table(220000) }), 'conntrack.table-full');
    expect(warn?.severity).toBe('warn');
    expect(warn?.evidence).toContainEqual({ what: 'conntrack usage', value: '83.9 %', note: 'count / max' });
    expect(warn?.fix.changes).toEqual([
      { kind: 'sysctl', key: 'net.netfilter.nf_conntrack_max', from: '262144', to: '524288' },
      { kind: 'sysctl', key: 'net.netfilter.nf_conntrack_buckets', from: '262144', to: '524288' },
    ]);
    // without a slab size in the fixture: the 320 B estimate, said so
    expect(warn?.message).toContain('costs up to 164 MiB when full (524288 entries × 320 B, an estimate without the slab size + 524288 buckets × 8 B)');
    const slab = (s: Snapshot) => {
      if (s.conntrack) s.conntrack.slab = { object_size: 248, slab_size: 256, source: 'sysfs' };
    };
    const measured = finding(auditCase(conntrackRules, { mutate: both(table(220_000), slab) }), 'conntrack.table-full');
    expect(measured?.message).toContain('costs up to 132 MiB when full (524288 entries × 256 B from the nf_conntrack slab + 524288 buckets × 8 B)');
    const crit = finding(auditCase(conntrackRules, { mutate: table(260000) }), 'conntrack.table-full');
    expect(crit?.severity).toBe('critical');
    expect(firedIds(auditCase(conntrackRules, { mutate: table(200000) }))).not.toContain('conntrack.table-full');
  });

  it('table-full inside a child namespace gives advice instead of plan changes', () => {
    const r = auditCase(conntrackRules, {
      mutate: both(table(250000), (s) => {
        s.netns.init = false;
        s.netns.name = 'app';
      }),
    });
    const f = finding(r, 'conntrack.table-full');
    expect(f?.fix.changes).toEqual([]);
    expect(f?.fix.commands[0]).toMatch(/initial network namespace/);
    expect(f?.fix.commands).toContain('sysctl -w net.netfilter.nf_conntrack_max=524288');
  });

  it('drops: since boot only → info with the caveat; a rate → warn; drop rate → critical', () => {
    const boot = finding(auditCase(conntrackRules, { mutate: stat('insert_failed', 40) }), 'conntrack.drops');
    expect(boot?.severity).toBe('info');
    expect(boot?.message).toMatch(/insertions failed .* since boot/);
    expect(boot?.evidence.find((e) => e.what === 'conntrack.stats.insert_failed')?.note).toMatch(/since boot/);

    const rate = auditCase(conntrackRules, { mutate: stat('insert_failed', 140), prev: stat('insert_failed', 40), interval_s: 10 });
    const f = finding(rate, 'conntrack.drops');
    expect(f?.severity).toBe('warn');
    expect(f?.evidence).toContainEqual({ what: 'conntrack.stats.insert_failed', value: 140, rate_per_s: 10 });

    const drop = auditCase(conntrackRules, { mutate: stat('drop', 500), prev: stat('drop', 100) });
    expect(finding(drop, 'conntrack.drops')?.severity).toBe('critical');

    // counters present but unchanged over the interval: nothing is happening now
    const still = auditCase(conntrackRules, { mutate: stat('drop', 500), prev: stat('drop', 500) });
    expect(firedIds(still)).not.toContain('conntrack.drops');
    expect(firedIds(auditCase(conntrackRules))).not.toContain('conntrack.drops');
  });

  it('hash-chains: fires when max is more than 8 × buckets, not at the 8 × a hashsize parameter gives', () => {
    const r = auditCase(conntrackRules, { mutate: table(1000, 1048576, 65536) });
    const f = finding(r, 'conntrack.hash-chains');
    expect(f?.severity).toBe('warn');
    expect(f?.evidence).toContainEqual({ what: 'average chain length at a full table', value: 32, note: '2 × max / buckets' });
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.netfilter.nf_conntrack_buckets', from: '65536', to: '1048576' }]);
    expect(firedIds(auditCase(conntrackRules, { mutate: table(1000, 524288, 65536) }))).not.toContain('conntrack.hash-chains');
  });

  it('hash-chains: refused insertions (chaintoolong) fire on their own, info since boot', () => {
    const boot = finding(auditCase(conntrackRules, { mutate: stat('chaintoolong', 3) }), 'conntrack.hash-chains');
    expect(boot?.severity).toBe('info');
    const now = finding(auditCase(conntrackRules, { mutate: stat('chaintoolong', 9), prev: stat('chaintoolong', 3) }), 'conntrack.hash-chains');
    expect(now?.severity).toBe('warn');
  });

  it('established-timeout: warn for connections, info for balanced, proposes a day; silent when already lowered', () => {
    const c = finding(auditCase(conntrackRules, { workload: 'connections' }), 'conntrack.established-timeout');
    expect(c?.severity).toBe('warn');
    expect(c?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.netfilter.nf_conntrack_tcp_timeout_established', from: '432000', to: '86400' }]);
    expect(c?.evidence).toContainEqual({ what: 'keepalive dead-peer time', value: '7875 s', note: 'tcp_keepalive_time + tcp_keepalive_intvl × tcp_keepalive_probes' });
    expect(finding(auditCase(conntrackRules), 'conntrack.established-timeout')?.severity).toBe('info');
    const lowered = auditCase(conntrackRules, { mutate: (s) => (s.sysctl['net.netfilter.nf_conntrack_tcp_timeout_established'] = '86400') });
    expect(firedIds(lowered)).not.toContain('conntrack.established-timeout');
  });

  it('established-timeout: the proposal stays above a longer keepalive dead-peer time', () => {
    const r = auditCase(conntrackRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_keepalive_time'] = '172800') });
    const f = finding(r, 'conntrack.established-timeout');
    expect(f?.fix.changes[0]).toMatchObject({ to: String(172800 + 75 * 9 + 600) });
  });

  it('notrack-candidate: busy non-forwarding host with the connections workload; not on routers, not for balanced', () => {
    const r = auditCase(conntrackRules, { mutate: table(50000), workload: 'connections' });
    const f = finding(r, 'conntrack.notrack-candidate');
    expect(f?.severity).toBe('info');
    expect(f?.fix.changes).toEqual([]);
    expect(f?.fix.commands).toContain('nft add rule inet raw prerouting tcp dport 443 notrack');
    expect(f?.risk).toMatch(/stateful/);
    expect(firedIds(auditCase(conntrackRules, { mutate: table(50000), workload: 'latency' }))).toContain('conntrack.notrack-candidate');
    const router = both(table(50000), (s) => (s.sysctl['net.ipv4.ip_forward'] = '1'));
    expect(firedIds(auditCase(conntrackRules, { mutate: router, workload: 'connections' }))).not.toContain('conntrack.notrack-candidate');
    expect(firedIds(auditCase(conntrackRules, { mutate: table(5000), workload: 'connections' }))).not.toContain('conntrack.notrack-candidate');
    const balanced = auditCase(conntrackRules, { mutate: table(50000) });
    expect(balanced.skipped).toContainEqual({ id: 'conntrack.notrack-candidate', reason: 'not relevant for workload balanced' });
  });
});
