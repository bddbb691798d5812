import { describe, expect, it } from 'vitest';
import { buildContext, evaluate, formatEvidence, kernelAtLeast, kernelVersion } from '../../src/rules/engine.js';
import type { Rule } from '../../src/rules/types.js';
import { bdpBytes, parseDuration, parsePercent, parseRate } from '../../src/units/index.js';
import { changeCommand } from '../../src/plan/types.js';
import { snapshotFixture } from '../helpers.js';

const base: Omit<Rule, 'id' | 'check'> = { domain: 'tcp', title: 't', severity: 'warn', why: 'w', sources: ['s'], risk: 'r' };

describe('units', () => {
  it('parses tc rates, durations and percentages', () => {
    expect(parseRate('10gbit')).toBe(10e9);
    expect(parseRate('1Gbit/s')).toBe(1e9);
    expect(parseRate('100mbit')).toBe(100e6);
    expect(parseRate('125mbps')).toBe(1e9); // tc: bps = bytes per second
    expect(() => parseRate('fast')).toThrow(/not a rate/);
    expect(() => parseRate('0gbit')).toThrow(/positive/);
    expect(parseDuration('10ms', '--rtt')).toBeCloseTo(0.01);
    expect(parseDuration('5s', '--interval')).toBe(5);
    expect(parseDuration('2m', '--x')).toBe(120);
    expect(parseDuration('500us', '--x')).toBeCloseTo(0.0005);
    expect(() => parseDuration('soon', '--rtt')).toThrow(/--rtt "soon": not a duration/);
    expect(parsePercent('0.5%', '--loss')).toBe(0.5);
    expect(() => parsePercent('120', '--loss')).toThrow(/0 to 100/);
  });
  it('computes the seed BDP: 10 Gbit/s × 10 ms = 12.5 MB', () => {
    expect(bdpBytes(parseRate('10gbit'), parseDuration('10ms', '--rtt'))).toBeCloseTo(12.5e6);
  });
});

describe('kernel versions', () => {
  it('compares releases', () => {
    expect(kernelVersion('6.18.44-fc-v782')).toEqual([6, 18, 44]);
    expect(kernelAtLeast('6.18.44-fc', '4.9')).toBe(true);
    expect(kernelAtLeast('4.19.0-21-amd64', '5.4')).toBe(false);
    expect(kernelAtLeast('5.4', '5.4')).toBe(true);
  });
});

describe('context', () => {
  it('gives rates only with an earlier sample, and none across a counter reset', () => {
    const snap = snapshotFixture();
    const prev = snapshotFixture();
    prev.taken_at = new Date(Date.parse(snap.taken_at) - 4000).toISOString();
    (snap.counters.netstat.TcpExt ??= {}).ListenOverflows = 100;
    (prev.counters.netstat.TcpExt ??= {}).ListenOverflows = 60;
    const ctx = buildContext({ snap, prev });
    expect(ctx.interval_s).toBe(4);
    expect(ctx.counter('netstat.TcpExt.ListenOverflows')).toEqual({ total: 100, delta: 40, rate: 10 });
    expect(buildContext({ snap }).counter('netstat.TcpExt.ListenOverflows')).toEqual({ total: 100, rate: null, delta: null });
    prev.counters.netstat.TcpExt.ListenOverflows = 500; // rebooted in between
    expect(buildContext({ snap, prev }).counter('netstat.TcpExt.ListenOverflows').rate).toBeNull();
    expect(ctx.vec('net.ipv4.tcp_rmem')).toEqual([4096, 131072, 33554432]);
    expect(ctx.int('net.ipv4.tcp_congestion_control')).toBeNull();
  });
});

describe('evaluate', () => {
  const always: Rule = { ...base, id: 'x.always', check: (ctx) => ({ message: 'm', evidence: [ctx.knob('net.ipv4.tcp_sack')], changes: [{ kind: 'sysctl', key: 'net.ipv4.tcp_sack', from: '1', to: '0' }], confidence: 'high' }) };
  it('applies workload severity, skip, kernel and needs, and keeps going after a rule throws', () => {
    const rules: Rule[] = [
      { ...always, workloads: { latency: 'critical', throughput: 'skip' } },
      { ...base, id: 'x.new-kernel', min_kernel: '99.0', check: () => null },
      { ...base, id: 'x.link', needs: ['link'], check: () => null },
      { ...base, id: 'x.broken', check: () => { throw new Error('boom'); } },
    ];
    const snap = snapshotFixture();
    const lat = evaluate(rules, { snap, workload: 'latency' });
    expect(lat.findings[0]?.severity).toBe('critical');
    expect(lat.findings[0]?.fix.commands).toEqual(['sysctl -w net.ipv4.tcp_sack=0']);
    expect(lat.skipped).toEqual([
      { id: 'x.new-kernel', reason: 'needs kernel ≥ 99.0' },
      { id: 'x.link', reason: 'needs --link RATE --rtt DUR' },
    ]);
    expect(lat.rule_errors).toEqual([{ id: 'x.broken', message: 'boom' }]);
    expect(evaluate(rules, { snap, workload: 'throughput' }).findings).toEqual([]);
    expect(evaluate(rules, { snap }).summary).toEqual({ info: 0, warn: 1, critical: 0 });
  });
  it('sorts critical first and formats evidence with rates', () => {
    const rules: Rule[] = [
      { ...always, id: 'a.info', severity: 'info' },
      { ...always, id: 'b.crit', severity: 'critical' },
    ];
    expect(evaluate(rules, { snap: snapshotFixture() }).findings.map((f) => f.id)).toEqual(['b.crit', 'a.info']);
    expect(formatEvidence({ what: 'netstat.TcpExt.ListenDrops', value: 12, rate_per_s: 0.5 })).toBe('netstat.TcpExt.ListenDrops = 12 (0.50/s over the interval)');
  });
  it('writes fix commands for the namespace the snapshot came from', () => {
    expect(changeCommand({ kind: 'sysctl', key: 'net.ipv4.tcp_rmem', from: null, to: '4096 131072 67108864' }, 'nt-lab-client')).toBe(
      'ip netns exec nt-lab-client sysctl -w net.ipv4.tcp_rmem="4096 131072 67108864"',
    );
    expect(changeCommand({ kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro', from: 'off', to: 'on' })).toBe('ethtool -K eth0 gro on');
  });
});
