import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { tcpRules } from '../../src/rules/tcp.js';
import { auditCase, firedIds } from '../helpers.js';

const finding = (r: ReturnType<typeof auditCase>, id: string) => r.findings.find((f) => f.id === id);

describe('tcp rules on the real 6.18 snapshot', () => {
  it('the untouched host has no TCP feature findings', () => {
    const ids = firedIds(auditCase(tcpRules));
    for (const id of ['tcp.window-scaling-off', 'tcp.timestamps-off', 'tcp.sack-off', 'tcp.dsack-off', 'tcp.syncookies-off', 'tcp.fastopen-without-cookie'])
      expect(ids).not.toContain(id);
  });

  it('window scaling off: critical, with the single-stream ceiling at the stated RTT', () => {
    const r = auditCase(tcpRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_window_scaling'] = '0'), link: { rate_bps: 1e9, rtt_s: 0.1 } });
    const f = finding(r, 'tcp.window-scaling-off');
    expect(f?.severity).toBe('critical');
    expect(f?.message).toMatch(/5\.24 Mbit\/s at 100 ms/);
    expect(f?.fix.commands).toContain('sysctl -w net.ipv4.tcp_window_scaling=1');
  });

  it('timestamps, SACK, D-SACK, syncookies off each fire; SACK off is critical on a lossy link', () => {
    const off = (key: string) => (s: Snapshot) => (s.sysctl[key] = '0');
    expect(firedIds(auditCase(tcpRules, { mutate: off('net.ipv4.tcp_timestamps') }))).toContain('tcp.timestamps-off');
    expect(finding(auditCase(tcpRules, { mutate: off('net.ipv4.tcp_sack') }), 'tcp.sack-off')?.severity).toBe('warn');
    expect(finding(auditCase(tcpRules, { mutate: off('net.ipv4.tcp_sack'), link: { rate_bps: 1e9, rtt_s: 0.05, loss_pct: 1 } }), 'tcp.sack-off')?.severity).toBe('critical');
    expect(firedIds(auditCase(tcpRules, { mutate: off('net.ipv4.tcp_dsack') }))).toContain('tcp.dsack-off');
    const cookies = auditCase(tcpRules, { mutate: off('net.ipv4.tcp_syncookies'), workload: 'connections' });
    expect(finding(cookies, 'tcp.syncookies-off')?.severity).toBe('critical');
  });

  it('Fast Open: 0x200 is critical, 0x400 warns, plain 3 is an info caveat, 1 is silent', () => {
    const tfo = (v: string) => firedIds(auditCase(tcpRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_fastopen'] = v) }));
    expect(tfo('515')).toContain('tcp.fastopen-without-cookie'); // 0x203
    expect(tfo('1027')).toContain('tcp.fastopen-all-listeners'); // 0x403
    expect(tfo('3')).toContain('tcp.fastopen-server-caveat');
    expect(tfo('3')).not.toContain('tcp.fastopen-without-cookie');
    expect(tfo('1')).not.toContain('tcp.fastopen-server-caveat');
    const fix = finding(auditCase(tcpRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_fastopen'] = '515') }), 'tcp.fastopen-without-cookie');
    expect(fix?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_fastopen', from: '515', to: '3' }]);
  });

  it('congestion control: bbr advice only where it helps and only when available', () => {
    const cubic = (s: Snapshot) => {
      s.sysctl['net.ipv4.tcp_congestion_control'] = 'cubic';
      s.congestion_control.current = 'cubic';
    };
    expect(firedIds(auditCase(tcpRules, { mutate: cubic, workload: 'throughput' }))).toContain('tcp.cc-bbr-available');
    expect(firedIds(auditCase(tcpRules, { mutate: cubic, workload: 'balanced' }))).not.toContain('tcp.cc-bbr-available');
    expect(firedIds(auditCase(tcpRules, { mutate: cubic, link: { rate_bps: 1e9, rtt_s: 0.08 } }))).toContain('tcp.cc-bbr-available');
    expect(firedIds(auditCase(tcpRules, { workload: 'throughput' }))).not.toContain('tcp.cc-bbr-available'); // already bbr
    expect(firedIds(auditCase(tcpRules, { mutate: cubic, workload: 'throughput', link: { rate_bps: 1e10, rtt_s: 0.001 } }))).not.toContain('tcp.cc-bbr-available');
    const noBbr = (s: Snapshot) => {
      cubic(s);
      s.congestion_control.available = ['reno', 'cubic'];
    };
    const r = auditCase(tcpRules, { mutate: noBbr, workload: 'throughput', link: { rate_bps: 1e9, rtt_s: 0.1, loss_pct: 1 } });
    expect(firedIds(r)).toContain('tcp.cc-bbr-missing');
    expect(firedIds(r)).not.toContain('tcp.cc-bbr-available');
    const sat = auditCase(tcpRules, { mutate: noBbr, link: { rate_bps: 5e7, rtt_s: 0.6 } });
    expect(finding(sat, 'tcp.cc-satellite')?.fix.commands).toContain('modprobe tcp_hybla');
  });

  it('keepalive: dead-peer time computed and shown; short times flagged', () => {
    const r = auditCase(tcpRules, { workload: 'connections' });
    const f = finding(r, 'tcp.keepalive-slow');
    expect(f?.severity).toBe('warn');
    expect(f?.evidence).toContainEqual({ what: 'dead-peer detection time', value: '7875 s', note: '2h 11m 15s' });
    const fast = auditCase(tcpRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_keepalive_time'] = '30') });
    expect(firedIds(fast)).toContain('tcp.keepalive-aggressive');
    expect(firedIds(fast)).not.toContain('tcp.keepalive-slow');
  });

  it('orphans near the limit fire with sockstat evidence', () => {
    const r = auditCase(tcpRules, {
      mutate: (s) => {
        s.sysctl['net.ipv4.tcp_max_orphans'] = '1000';
        (s.counters.sockstat.TCP ??= {}).orphan = 950;
      },
    });
    expect(finding(r, 'tcp.orphans-near-limit')?.severity).toBe('critical');
    expect(firedIds(auditCase(tcpRules))).not.toContain('tcp.orphans-near-limit');
  });

  it('workload changes applicability: notsent_lowat only matters for latency', () => {
    expect(finding(auditCase(tcpRules, { workload: 'latency' }), 'tcp.notsent-lowat-unset')?.severity).toBe('warn');
    const t = auditCase(tcpRules, { workload: 'throughput' });
    expect(firedIds(t)).not.toContain('tcp.notsent-lowat-unset');
    expect(t.skipped).toContainEqual({ id: 'tcp.notsent-lowat-unset', reason: 'not relevant for workload throughput' });
  });

  it('retries2 and slow start after idle follow the workload', () => {
    expect(finding(auditCase(tcpRules, { workload: 'latency' }), 'tcp.retries2-long')?.severity).toBe('warn');
    expect(finding(auditCase(tcpRules, { workload: 'throughput' }), 'tcp.slow-start-after-idle')?.severity).toBe('warn');
    expect(firedIds(auditCase(tcpRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_slow_start_after_idle'] = '0') }))).not.toContain('tcp.slow-start-after-idle');
  });

  it('per-socket congestion control: names what unprivileged processes cannot pick', () => {
    const r = auditCase(tcpRules, { workload: 'throughput' });
    const f = finding(r, 'tcp.cc-per-socket');
    expect(f?.message).toMatch(/not allowed per socket for unprivileged processes: cubic/);
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_allowed_congestion_control', from: 'reno bbr', to: 'reno bbr cubic' }]);
    const all = (s: Snapshot) => {
      s.congestion_control.allowed = [...s.congestion_control.available];
      s.sysctl['net.ipv4.tcp_allowed_congestion_control'] = s.congestion_control.allowed.join(' ');
    };
    expect(firedIds(auditCase(tcpRules, { workload: 'throughput', mutate: all }))).not.toContain('tcp.cc-per-socket');
    expect(firedIds(auditCase(tcpRules, { workload: 'balanced' }))).not.toContain('tcp.cc-per-socket');
  });

  it('MTU probing off: low confidence on plain links, medium with a jumbo link up; silent when on', () => {
    expect(finding(auditCase(tcpRules), 'tcp.mtu-probing-off')?.confidence).toBe('low');
    const jumbo = auditCase(tcpRules, { mutate: (s) => (s.links.find((l) => l.name === 'eth0')!.mtu = 9000) });
    const f = finding(jumbo, 'tcp.mtu-probing-off');
    expect(f?.confidence).toBe('medium');
    expect(f?.message).toMatch(/eth0 has MTU 9000/);
    expect(firedIds(auditCase(tcpRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_mtu_probing'] = '1') }))).not.toContain('tcp.mtu-probing-off');
  });
});
