import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { bufferRules } from '../../src/rules/buffers.js';
import { SINCE_BOOT_NOTE } from '../../src/rules/util.js';
import { auditCase, firedIds } from '../helpers.js';

const finding = (r: ReturnType<typeof auditCase>, id: string) => r.findings.find((f) => f.id === id);
const SEED = { rate_bps: 10e9, rtt_s: 0.01 }; // BDP 12.5 MB, 2 × BDP = 25 MB
const tcpExt = (s: Snapshot) => (s.counters.netstat.TcpExt ??= {});

describe('buffer rules on the real 6.18 snapshot', () => {
  it('the untouched host has no buffer findings without a link', () => {
    const r = auditCase(bufferRules);
    expect(r.findings).toEqual([]);
    expect(r.rule_errors).toEqual([]);
    expect(r.skipped.map((s) => s.id)).toEqual(expect.arrayContaining(['buffers.rmem-below-bdp', 'buffers.wmem-below-bdp', 'buffers.core-rmem-max-for-apps']));
  });

  it('seed link 10 Gbit/s × 10 ms: tcp_wmem max 4 MiB is below one BDP (critical); tcp_rmem max 32 MiB is enough', () => {
    const r = auditCase(bufferRules, { link: SEED });
    expect(firedIds(r)).not.toContain('buffers.rmem-below-bdp');
    const f = finding(r, 'buffers.wmem-below-bdp');
    expect(f?.severity).toBe('critical');
    expect(f?.message).toMatch(/tcp_wmem max 4 MiB is below one BDP \(BDP 12\.5 MB at 10 Gbit\/s × 10 ms\): one stream tops out near 1\.68 Gbit\/s/);
    const bdp = f?.evidence.find((e) => e.what === 'BDP');
    expect(bdp?.value).toBe(12500000);
    expect(bdp?.note).toMatch(/= 12\.5 MB \(11\.9 MiB\); 2 × BDP = 25 MB/);
    expect(f?.evidence).toContainEqual(expect.objectContaining({ what: 'single-stream ceiling', value: '1.68 Gbit/s' }));
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_wmem', from: '4096 16384 4194304', to: '4096 16384 33554432' }]);
    expect(f?.fix.commands).toContain('sysctl -w net.ipv4.tcp_wmem="4096 16384 33554432"');
  });

  it('between 1 and 2 × BDP warns; the fix keeps min/default and never lowers the max', () => {
    const r = auditCase(bufferRules, { link: SEED, mutate: (s) => (s.sysctl['net.ipv4.tcp_rmem'] = '8192 262144 20971520') });
    const f = finding(r, 'buffers.rmem-below-bdp');
    expect(f?.severity).toBe('warn');
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_rmem', from: '8192 262144 20971520', to: '8192 262144 33554432' }]);
    // 24 MiB ≥ 2 × 12.5 MB = 25 MB? no: 25165824 ≥ 25000000 → nothing to raise
    expect(firedIds(auditCase(bufferRules, { link: SEED, mutate: (s) => (s.sysctl['net.ipv4.tcp_wmem'] = '4096 16384 25165824') }))).not.toContain('buffers.wmem-below-bdp');
  });

  it('tcp_mem in pages: above half of RAM warns, above RAM (bytes written as pages) is critical', () => {
    const warn = finding(auditCase(bufferRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_mem'] = '3000000 4000000 5000000') }), 'buffers.tcp-mem-exceeds-ram');
    expect(warn?.severity).toBe('warn');
    expect(warn?.message).toMatch(/81 % of RAM/);
    const crit = finding(auditCase(bufferRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_mem'] = '8388608 12582912 16777216') }), 'buffers.tcp-mem-exceeds-ram');
    expect(crit?.severity).toBe('critical');
    expect(crit?.message).toMatch(/16777216 pages = 64 GiB, more than the 23\.5 GiB of RAM.*bytes written instead of pages/);
    // the boot default for 24 GiB of 4 KiB pages, as tcp_init_mem computes it
    expect(crit?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_mem', from: '8388608 12582912 16777216', to: '289260 385682 578520' }]);
    expect(firedIds(auditCase(bufferRules))).not.toContain('buffers.tcp-mem-exceeds-ram');
  });

  it('tcp_mem pressure: TCP.mem above tcp_mem[1] warns, above tcp_mem[2] is critical', () => {
    const mem = (pages: number) => (s: Snapshot) => ((s.counters.sockstat.TCP ??= {}).mem = pages);
    const warn = finding(auditCase(bufferRules, { mutate: mem(400000) }), 'buffers.tcp-mem-pressure');
    expect(warn?.severity).toBe('warn');
    expect(warn?.evidence).toContainEqual(expect.objectContaining({ what: 'netstat.TcpExt.TCPMemoryPressures' }));
    expect(warn?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_mem', from: '287898 383866 575796', to: '575796 767732 1151592' }]);
    expect(finding(auditCase(bufferRules, { mutate: mem(600000) }), 'buffers.tcp-mem-pressure')?.severity).toBe('critical');
    expect(firedIds(auditCase(bufferRules))).not.toContain('buffers.tcp-mem-pressure');
  });

  it('tcp_mem pressure episodes: since boot only is info with the note, a rate warns', () => {
    const episodes = (s: Snapshot) => (tcpExt(s).TCPMemoryPressures = 5);
    const boot = finding(auditCase(bufferRules, { mutate: episodes }), 'buffers.tcp-mem-pressure');
    expect(boot?.severity).toBe('info');
    expect(boot?.evidence).toContainEqual({ what: 'netstat.TcpExt.TCPMemoryPressures', value: 5, rate_per_s: null, note: SINCE_BOOT_NOTE });
    const now = finding(auditCase(bufferRules, { mutate: episodes, prev: (s) => (tcpExt(s).TCPMemoryPressures = 3), interval_s: 10 }), 'buffers.tcp-mem-pressure');
    expect(now?.severity).toBe('warn');
    expect(now?.evidence).toContainEqual({ what: 'netstat.TcpExt.TCPMemoryPressures', value: 5, rate_per_s: 0.2 });
    // no new episode during the interval: nothing to report
    expect(firedIds(auditCase(bufferRules, { mutate: episodes, prev: () => undefined }))).not.toContain('buffers.tcp-mem-pressure');
  });

  it('core rmem_max below what the link needs (for SO_RCVBUF users): info, raised to min(tcp_rmem max, 2 × BDP)', () => {
    const r = auditCase(bufferRules, { link: SEED });
    const f = finding(r, 'buffers.core-rmem-max-for-apps');
    expect(f?.severity).toBe('info');
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.rmem_max', from: '4194304', to: '33554432' }]);
    // wmem_max already equals tcp_wmem max (4 MiB): nothing for applications beyond autotuning
    expect(firedIds(r)).not.toContain('buffers.core-wmem-max-for-apps');
    const w = finding(auditCase(bufferRules, { link: SEED, mutate: (s) => (s.sysctl['net.ipv4.tcp_wmem'] = '4096 16384 67108864') }), 'buffers.core-wmem-max-for-apps');
    expect(w?.severity).toBe('info');
    expect(w?.message).toMatch(/applications that set SO_SNDBUF get at most that, while autotuned sockets may grow to 64 MiB and this link wants 25 MB/);
    expect(w?.evidence.map((e) => e.what)).toEqual(['net.core.wmem_max', 'net.ipv4.tcp_wmem', 'BDP']);
    expect(w?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.wmem_max', from: '4194304', to: '33554432' }]);
    // a 1 Gbit/s × 1 ms link needs 250 kB: 4 MiB is plenty
    expect(firedIds(auditCase(bufferRules, { link: { rate_bps: 1e9, rtt_s: 0.001 } }))).not.toContain('buffers.core-rmem-max-for-apps');
    // global knob: not from inside a child namespace
    const ns = auditCase(bufferRules, { link: SEED, mutate: (s) => (s.netns.init = false) });
    expect(ns.skipped).toContainEqual({ id: 'buffers.core-rmem-max-for-apps', reason: 'global knobs are only visible in the initial namespace' });
  });

  it('receive queue drops: since boot → info with the note; with a rate → warn; fix tcp_rmem max', () => {
    const drops = (s: Snapshot) => (tcpExt(s).TCPRcvQDrop = 50);
    const boot = finding(auditCase(bufferRules, { mutate: drops }), 'buffers.rcvq-drops');
    expect(boot?.severity).toBe('info');
    expect(boot?.evidence).toContainEqual({ what: 'netstat.TcpExt.TCPRcvQDrop', value: 50, rate_per_s: null, note: SINCE_BOOT_NOTE });
    expect(boot?.evidence.find((e) => e.what === 'netstat.TcpExt.PruneCalled')?.note).toBeUndefined(); // zero: no note
    const now = finding(auditCase(bufferRules, { mutate: drops, prev: (s) => (tcpExt(s).TCPRcvQDrop = 10), interval_s: 10 }), 'buffers.rcvq-drops');
    expect(now?.severity).toBe('warn');
    expect(now?.message).toMatch(/4\/s over the interval/);
    expect(now?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_rmem', from: '4096 131072 33554432', to: '4096 131072 67108864' }]);
    expect(firedIds(auditCase(bufferRules))).not.toContain('buffers.rcvq-drops');
  });

  it('receive queue drops while TCP memory is past tcp_mem[0]: the fix is tcp_mem', () => {
    const r = auditCase(bufferRules, {
      mutate: (s) => {
        tcpExt(s).RcvPruned = 9;
        (s.counters.sockstat.TCP ??= {}).mem = 300000;
      },
      prev: (s) => (tcpExt(s).RcvPruned = 1),
    });
    const f = finding(r, 'buffers.rcvq-drops');
    expect(f?.severity).toBe('warn');
    expect(f?.message).toMatch(/global limit/);
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_mem', from: '287898 383866 575796', to: '575796 767732 1151592' }]);
  });

  it('UDP receive buffer errors: IPv4 + IPv6 summed; info since boot, warn with a rate; fix rmem_default', () => {
    const errs = (v4: number, v6: number) => (s: Snapshot) => {
      (s.counters.snmp.Udp ??= {}).RcvbufErrors = v4;
      (s.counters.snmp6.Udp6 ??= {}).RcvbufErrors = v6;
    };
    const boot = finding(auditCase(bufferRules, { mutate: errs(7, 0) }), 'buffers.udp-rcvbuf-errors');
    expect(boot?.severity).toBe('info');
    expect(boot?.evidence).toContainEqual({ what: 'snmp.Udp.RcvbufErrors', value: 7, rate_per_s: null, note: SINCE_BOOT_NOTE });
    const now = finding(auditCase(bufferRules, { mutate: errs(107, 20), prev: errs(7, 0), interval_s: 10 }), 'buffers.udp-rcvbuf-errors');
    expect(now?.severity).toBe('warn');
    expect(now?.message).toMatch(/12\/s over the interval/);
    expect(now?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.rmem_default', from: '212992', to: '524288' }]);
    expect(firedIds(auditCase(bufferRules))).not.toContain('buffers.udp-rcvbuf-errors');
    // inside a child namespace the global knobs cannot be changed: advice only
    const ns = finding(auditCase(bufferRules, { mutate: (s) => (errs(7, 0)(s), (s.netns.init = false)) }), 'buffers.udp-rcvbuf-errors');
    expect(ns?.fix.changes).toEqual([]);
    expect(ns?.fix.commands.join('\n')).toMatch(/SO_RCVBUF/);
  });

  it('UDP send buffer errors: info since boot, warn with a rate; fix wmem_default', () => {
    const errs = (n: number) => (s: Snapshot) => ((s.counters.snmp.Udp ??= {}).SndbufErrors = n);
    expect(finding(auditCase(bufferRules, { mutate: errs(3) }), 'buffers.udp-sndbuf-errors')?.severity).toBe('info');
    const now = finding(auditCase(bufferRules, { mutate: errs(30), prev: errs(3) }), 'buffers.udp-sndbuf-errors');
    expect(now?.severity).toBe('warn');
    expect(now?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.core.wmem_default', from: '212992', to: '524288' }]);
    expect(firedIds(auditCase(bufferRules, { mutate: errs(3), prev: errs(3) }))).not.toContain('buffers.udp-sndbuf-errors');
  });

  it('receive autotuning off warns with the ceiling; on is silent', () => {
    const f = finding(auditCase(bufferRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_moderate_rcvbuf'] = '0') }), 'buffers.moderate-rcvbuf-off');
    expect(f?.severity).toBe('warn');
    expect(f?.message).toMatch(/128 KiB, about 52\.4 Mbit\/s per stream at 10 ms/);
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_moderate_rcvbuf', from: '0', to: '1' }]);
    expect(firedIds(auditCase(bufferRules))).not.toContain('buffers.moderate-rcvbuf-off');
  });
});
