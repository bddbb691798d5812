import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { parseReservedPorts, portRules } from '../../src/rules/ports.js';
import { auditCase, firedIds } from '../helpers.js';

const finding = (r: ReturnType<typeof auditCase>, id: string) => r.findings.find((f) => f.id === id);

const tw = (n: number) => (s: Snapshot) => {
  (s.counters.sockstat.TCP ??= {}).tw = n;
};
const set =
  (key: string, v: string, ...more: ((s: Snapshot) => void)[]) =>
  (s: Snapshot) => {
    s.sysctl[key] = v;
    for (const f of more) f(s);
  };
const overflow = (n: number) => (s: Snapshot) => {
  (s.counters.netstat.TcpExt ??= {}).TCPTimeWaitOverflow = n;
};

describe('port rules on the real 6.18 snapshot', () => {
  it('the untouched host (default range, no TIME-WAIT) has no port findings', () => {
    expect(firedIds(auditCase(portRules, { workload: 'connections' }))).toEqual([]);
  });

  it('parses ip_local_reserved_ports lists', () => {
    expect(parseReservedPorts('8080,9000-9100')).toEqual([
      [8080, 8080],
      [9000, 9100],
    ]);
    expect(parseReservedPorts('')).toEqual([]);
  });

  it('ephemeral-exhaustion: warn above 50 % of the range, critical above 80 %, silent below', () => {
    const warn = finding(auditCase(portRules, { mutate: tw(16000) }), 'ports.ephemeral-exhaustion');
    expect(warn?.severity).toBe('warn');
    expect(warn?.confidence).toBe('medium');
    expect(warn?.message).toMatch(/57 % of the 28232 ephemeral ports/);
    expect(warn?.message).toMatch(/same address and port/);
    expect(warn?.fix.changes).toEqual([
      { kind: 'sysctl', key: 'net.ipv4.ip_local_port_range', from: '32768 60999', to: '1024 65535' },
      { kind: 'sysctl', key: 'net.ipv4.tcp_tw_reuse', from: '2', to: '1' },
    ]);
    expect(warn?.fix.commands).toContain('sysctl -w net.ipv4.ip_local_port_range="1024 65535"');
    expect(finding(auditCase(portRules, { mutate: tw(25000) }), 'ports.ephemeral-exhaustion')?.severity).toBe('critical');
    expect(firedIds(auditCase(portRules, { mutate: tw(10000) }))).not.toContain('ports.ephemeral-exhaustion');
  });

  it('ephemeral-exhaustion: reserved ports shrink the usable range; no tw_reuse change without timestamps', () => {
    const r = auditCase(portRules, { mutate: set('net.ipv4.ip_local_reserved_ports', '40000-49999', tw(10000)) });
    const f = finding(r, 'ports.ephemeral-exhaustion');
    expect(f?.evidence).toContainEqual({ what: 'ephemeral ports available', value: 18232, note: '28232 in the range, 10000 reserved' });
    const noTs = finding(auditCase(portRules, { mutate: set('net.ipv4.tcp_timestamps', '0', tw(16000)) }), 'ports.ephemeral-exhaustion');
    expect(noTs?.fix.changes.map((c) => (c.kind === 'sysctl' ? c.key : ''))).toEqual(['net.ipv4.ip_local_port_range']);
  });

  it('ephemeral-exhaustion: the proposed range never starts below ip_unprivileged_port_start', () => {
    const f = finding(auditCase(portRules, { mutate: set('net.ipv4.ip_unprivileged_port_start', '2001', tw(16000)) }), 'ports.ephemeral-exhaustion');
    expect(f?.fix.changes[0]).toMatchObject({ key: 'net.ipv4.ip_local_port_range', to: '2002 65535' });
  });

  it('range-narrow: a range below the default 28232 ports is an info finding; the default is silent', () => {
    const r = auditCase(portRules, { mutate: set('net.ipv4.ip_local_port_range', '50000 60999') });
    const f = finding(r, 'ports.range-narrow');
    expect(f?.severity).toBe('info');
    expect(f?.message).toMatch(/11000 ports/);
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.ip_local_port_range', from: '50000 60999', to: '32768 60999' }]);
    expect(firedIds(auditCase(portRules))).not.toContain('ports.range-narrow');
    expect(firedIds(auditCase(portRules, { mutate: set('net.ipv4.ip_local_port_range', '1024 65535') }))).not.toContain('ports.range-narrow');
  });

  it('tw-reuse: many TIME-WAIT with the loopback-only default → warn for connections, info for balanced, skipped for throughput', () => {
    const c = finding(auditCase(portRules, { mutate: tw(5000), workload: 'connections' }), 'ports.tw-reuse');
    expect(c?.severity).toBe('warn');
    expect(c?.message).toMatch(/except over loopback/);
    expect(c?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_tw_reuse', from: '2', to: '1' }]);
    expect(c?.risk).toMatch(/tcp_tw_recycle/);
    expect(c?.fix.commands.join('\n')).not.toMatch(/tw_recycle/);
    expect(finding(auditCase(portRules, { mutate: tw(5000) }), 'ports.tw-reuse')?.severity).toBe('info');
    expect(auditCase(portRules, { mutate: tw(5000), workload: 'throughput' }).skipped).toContainEqual({ id: 'ports.tw-reuse', reason: 'not relevant for workload throughput' });
  });

  it('tw-reuse: silent when already 1 with timestamps or with few TIME-WAIT; timestamps off is called out', () => {
    expect(firedIds(auditCase(portRules, { mutate: set('net.ipv4.tcp_tw_reuse', '1', tw(5000)), workload: 'connections' }))).not.toContain('ports.tw-reuse');
    expect(firedIds(auditCase(portRules, { mutate: tw(500), workload: 'connections' }))).not.toContain('ports.tw-reuse');
    const noTs = finding(
      auditCase(portRules, { mutate: set('net.ipv4.tcp_tw_reuse', '1', set('net.ipv4.tcp_timestamps', '0'), tw(5000)), workload: 'connections' }),
      'ports.tw-reuse',
    );
    expect(noTs?.message).toMatch(/cannot work without timestamps although tcp_tw_reuse=1/);
    expect(noTs?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_timestamps', from: '0', to: '1' }]);
  });

  it('tw-buckets: TIME-WAIT at 90 % of tcp_max_tw_buckets warns and doubles the limit; below is silent', () => {
    const r = auditCase(portRules, { mutate: set('net.ipv4.tcp_max_tw_buckets', '10000', tw(9500)) });
    const f = finding(r, 'ports.tw-buckets');
    expect(f?.severity).toBe('warn');
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_max_tw_buckets', from: '10000', to: '20000' }]);
    expect(firedIds(auditCase(portRules, { mutate: set('net.ipv4.tcp_max_tw_buckets', '10000', tw(5000)) }))).not.toContain('ports.tw-buckets');
  });

  it('tw-buckets: TCPTimeWaitOverflow since boot only → info; growing over the interval → warn', () => {
    const boot = finding(auditCase(portRules, { mutate: overflow(12) }), 'ports.tw-buckets');
    expect(boot?.severity).toBe('info');
    expect(boot?.evidence.find((e) => e.what === 'netstat.TcpExt.TCPTimeWaitOverflow')?.note).toMatch(/since boot/);
    const now = auditCase(portRules, { mutate: overflow(112), prev: overflow(12), interval_s: 10 });
    const f = finding(now, 'ports.tw-buckets');
    expect(f?.severity).toBe('warn');
    expect(f?.evidence).toContainEqual({ what: 'netstat.TcpExt.TCPTimeWaitOverflow', value: 112, rate_per_s: 10 });
  });
});
