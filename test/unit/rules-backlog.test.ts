import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { backlogRules } from '../../src/rules/backlog.js';
import { SINCE_BOOT_NOTE } from '../../src/rules/util.js';
import { auditCase, firedIds } from '../helpers.js';

const finding = (r: ReturnType<typeof auditCase>, id: string) => r.findings.find((f) => f.id === id);
const tcpExt = (s: Snapshot) => (s.counters.netstat.TcpExt ??= {});
const listen = (drops: number, overflows = drops) => (s: Snapshot) => {
  tcpExt(s).ListenDrops = drops;
  tcpExt(s).ListenOverflows = overflows;
};
const softnet = (cpu: number, field: 'dropped' | 'time_squeeze', n: number) => (s: Snapshot) => {
  const row = s.counters.softnet.find((r) => r.cpu === cpu);
  if (!row) throw new Error(`no softnet row for cpu ${cpu}`);
  row[field] = n;
};

describe('backlog rules on the real 6.18 snapshot', () => {
  it('the untouched host has no backlog findings', () => {
    for (const workload of ['balanced', 'connections', 'throughput'] as const) {
      const r = auditCase(backlogRules, { workload });
      expect(r.findings).toEqual([]);
      expect(r.rule_errors).toEqual([]);
    }
  });

  it('listen overflows since boot: info, with the note, the somaxconn caveat and the ss hint', () => {
    const f = finding(auditCase(backlogRules, { mutate: listen(12) }), 'backlog.listen-overflows');
    expect(f?.severity).toBe('info');
    expect(f?.evidence).toContainEqual({ what: 'netstat.TcpExt.ListenDrops', value: 12, rate_per_s: null, note: SINCE_BOOT_NOTE });
    expect(f?.evidence).toContainEqual({ what: 'net.core.somaxconn', value: '4096' });
    expect(f?.evidence).toContainEqual({ what: 'net.ipv4.tcp_max_syn_backlog', value: '2048' });
    expect(f?.message).toMatch(/listen\(backlog\) is capped by somaxconn \(4096\), so raising somaxconn alone does not help/);
    expect(f?.fix.commands.join('\n')).toMatch(/ss -lnt shows Send-Q = its backlog/);
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.somaxconn', from: '4096', to: '8192' }]);
  });

  it('listen overflows with a rate: warn, critical for the connections workload; unchanged counters are silent', () => {
    const c = { mutate: listen(100, 80), prev: listen(60, 40), interval_s: 10 };
    const f = finding(auditCase(backlogRules, c), 'backlog.listen-overflows');
    expect(f?.severity).toBe('warn');
    expect(f?.message).toMatch(/4\/s over the interval; 40 in the interval were accept-queue overflows/);
    expect(f?.evidence).toContainEqual({ what: 'netstat.TcpExt.ListenOverflows', value: 80, rate_per_s: 4, note: 'accept queue full (part of ListenDrops)' });
    expect(finding(auditCase(backlogRules, { ...c, workload: 'connections' }), 'backlog.listen-overflows')?.severity).toBe('critical');
    expect(firedIds(auditCase(backlogRules, { mutate: listen(100), prev: listen(100) }))).not.toContain('backlog.listen-overflows');
  });

  it('somaxconn below 4096: info, warn for connections; fixed to 4096', () => {
    const low = (s: Snapshot) => (s.sysctl['net.core.somaxconn'] = '128');
    const f = finding(auditCase(backlogRules, { mutate: low }), 'backlog.somaxconn-low');
    expect(f?.severity).toBe('info');
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.somaxconn', from: '128', to: '4096' }]);
    expect(finding(auditCase(backlogRules, { mutate: low, workload: 'connections' }), 'backlog.somaxconn-low')?.severity).toBe('warn');
    // listen overflows with a low somaxconn are fixed to the default first
    const both = finding(auditCase(backlogRules, { mutate: (s) => (low(s), listen(5)(s)) }), 'backlog.listen-overflows');
    expect(both?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.somaxconn', from: '128', to: '4096' }]);
  });

  it('small tcp_max_syn_backlog: only for connections; warn without syncookies, info (no change) with them', () => {
    const small = (cookies: string) => (s: Snapshot) => {
      s.sysctl['net.ipv4.tcp_max_syn_backlog'] = '256';
      s.sysctl['net.ipv4.tcp_syncookies'] = cookies;
    };
    const off = finding(auditCase(backlogRules, { mutate: small('0'), workload: 'connections' }), 'backlog.syn-backlog-low');
    expect(off?.severity).toBe('warn');
    expect(off?.message).toMatch(/refused once a SYN queue holds more than 192 requests/);
    expect(off?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_max_syn_backlog', from: '256', to: '8192' }]);
    const on = finding(auditCase(backlogRules, { mutate: small('1'), workload: 'connections' }), 'backlog.syn-backlog-low');
    expect(on?.severity).toBe('info');
    expect(on?.message).toMatch(/not consulted/);
    expect(on?.fix.changes).toEqual([]);
    const balanced = auditCase(backlogRules, { mutate: small('0') });
    expect(firedIds(balanced)).not.toContain('backlog.syn-backlog-low');
    expect(balanced.skipped).toContainEqual({ id: 'backlog.syn-backlog-low', reason: 'not relevant for workload balanced' });
  });

  it('softnet drops since boot: info with the note and the CPU that dropped', () => {
    const f = finding(auditCase(backlogRules, { mutate: softnet(1, 'dropped', 30) }), 'backlog.softnet-dropped');
    expect(f?.severity).toBe('info');
    expect(f?.message).toMatch(/on CPU 1:/);
    expect(f?.evidence).toContainEqual({ what: 'softnet.dropped', value: 30, rate_per_s: null, note: SINCE_BOOT_NOTE });
    expect(f?.evidence).toContainEqual({ what: 'softnet.cpu1.dropped', value: 30 });
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.netdev_max_backlog', from: '1000', to: '2048' }]);
  });

  it('softnet drops with a rate: warn, per-CPU rates; global knob skipped inside a namespace', () => {
    const f = finding(auditCase(backlogRules, { mutate: softnet(1, 'dropped', 30), prev: softnet(1, 'dropped', 10), interval_s: 10 }), 'backlog.softnet-dropped');
    expect(f?.severity).toBe('warn');
    expect(f?.evidence).toContainEqual({ what: 'softnet.cpu1.dropped', value: 30, rate_per_s: 2 });
    expect(firedIds(auditCase(backlogRules, { mutate: softnet(1, 'dropped', 30), prev: () => undefined }))).not.toContain('backlog.softnet-dropped');
    const ns = auditCase(backlogRules, { mutate: (s) => (softnet(1, 'dropped', 30)(s), (s.netns.init = false)) });
    expect(ns.skipped).toContainEqual({ id: 'backlog.softnet-dropped', reason: 'global knobs are only visible in the initial namespace' });
  });

  it('time_squeeze: names only the CPUs that squeezed during the interval; warn for throughput, info since boot', () => {
    const old = softnet(1, 'time_squeeze', 50); // squeezed long ago, same in both samples
    const c = { mutate: (s: Snapshot) => (old(s), softnet(0, 'time_squeeze', 25)(s)), prev: softnet(0, 'time_squeeze', 5), interval_s: 10 };
    const f = finding(auditCase(backlogRules, { ...c, workload: 'throughput' }), 'backlog.softnet-squeeze');
    expect(f?.severity).toBe('warn');
    expect(f?.message).toMatch(/on CPU 0:/);
    expect(f?.evidence).toContainEqual({ what: 'softnet.cpu0.time_squeeze', value: 25, rate_per_s: 2 });
    expect(f?.evidence.map((e) => e.what)).not.toContain('softnet.cpu1.time_squeeze');
    // budget 300 → 600; budget_usecs is already 8000 (two jiffies at HZ=250): left alone
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.netdev_budget', from: '300', to: '600' }]);
    expect(finding(auditCase(backlogRules, c), 'backlog.softnet-squeeze')?.severity).toBe('info'); // balanced
    const boot = finding(auditCase(backlogRules, { mutate: old, workload: 'throughput' }), 'backlog.softnet-squeeze');
    expect(boot?.severity).toBe('info');
    expect(boot?.message).toMatch(/50 since boot\) on CPU 1:/);
    const hz1000 = finding(auditCase(backlogRules, { mutate: (s) => (old(s), (s.sysctl['net.core.netdev_budget_usecs'] = '2000')) }), 'backlog.softnet-squeeze');
    expect(hz1000?.fix.changes).toContainEqual({ kind: 'sysctl', key: 'net.core.netdev_budget_usecs', from: '2000', to: '4000' });
    expect(firedIds(auditCase(backlogRules, { mutate: old, prev: () => undefined, workload: 'throughput' }))).not.toContain('backlog.softnet-squeeze');
  });

  it('netdev_max_backlog at the default on a ≥ 10 Gbit/s throughput link: info, scaled with the rate', () => {
    const f = finding(auditCase(backlogRules, { workload: 'throughput', link: { rate_bps: 10e9, rtt_s: 0.01 } }), 'backlog.netdev-max-backlog-low');
    expect(f?.severity).toBe('info');
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.netdev_max_backlog', from: '1000', to: '4096' }]);
    const fast = finding(auditCase(backlogRules, { workload: 'throughput', link: { rate_bps: 100e9, rtt_s: 0.001 } }), 'backlog.netdev-max-backlog-low');
    expect(fast?.fix.changes[0]).toMatchObject({ to: '16384' });
    expect(firedIds(auditCase(backlogRules, { workload: 'throughput', link: { rate_bps: 1e9, rtt_s: 0.01 } }))).not.toContain('backlog.netdev-max-backlog-low');
    expect(firedIds(auditCase(backlogRules, { workload: 'balanced', link: { rate_bps: 10e9, rtt_s: 0.01 } }))).not.toContain('backlog.netdev-max-backlog-low');
    expect(firedIds(auditCase(backlogRules, { workload: 'throughput', link: { rate_bps: 10e9, rtt_s: 0.01 }, mutate: (s) => (s.sysctl['net.core.netdev_max_backlog'] = '4096') }))).not.toContain(
      'backlog.netdev-max-backlog-low',
    );
  });
});
