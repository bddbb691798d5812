import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSnapshot, resolveCounter } from '../../src/snapshot/index.js';
import { summarise } from '../../src/show/summary.js';
import { countCpuList, parseWordPairs } from '../../src/probe/index.js';
import { FIXTURES, snapshotFixture } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'nettune-snap-'));
const write = (name: string, text: string): string => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

describe('loadSnapshot', () => {
  it('loads the committed fixture', () => {
    const snap = loadSnapshot(join(FIXTURES, 'snapshot-6.18.json'));
    expect(Object.keys(snap.sysctl).length).toBeGreaterThan(1000);
  });
  it('names the file and the first schema error', () => {
    const snap = snapshotFixture() as unknown as Record<string, unknown>;
    delete snap.sysctl;
    const file = write('broken.json', JSON.stringify(snap));
    expect(() => loadSnapshot(file)).toThrow(new RegExp(`${file}: not a valid snapshot: sysctl: Required`));
    expect(() => loadSnapshot(write('nojson.json', '{"schema":'))).toThrow(/not JSON/);
    expect(() => loadSnapshot(join(tmp, 'absent.json'))).toThrow(/ENOENT/);
    expect(() => loadSnapshot(write('other.json', '{"schema":"something/9"}'))).toThrow(/schema: Invalid literal/);
  });
  it('is exit code 2 (bad input)', () => {
    try {
      loadSnapshot(write('x.json', '[]'));
      expect.unreachable();
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(2);
    }
  });
});

describe('resolveCounter', () => {
  const snap = snapshotFixture();
  it('reads grouped counters and sums per-CPU ones', () => {
    expect(resolveCounter(snap, 'netstat.TcpExt.ListenOverflows')).toBe(snap.counters.netstat.TcpExt?.ListenOverflows);
    expect(resolveCounter(snap, 'softnet.processed')).toBe(snap.counters.softnet.reduce((n, r) => n + r.processed, 0));
    expect(resolveCounter(snap, 'sockstat.TCP.inuse')).toBe(snap.counters.sockstat.TCP?.inuse);
    expect(resolveCounter(snap, 'link.*.statistics.rx_packets')).toBe(snap.links.reduce((n, l) => n + (l.statistics.rx_packets ?? 0), 0));
  });
  it('takes conntrack entries once (global), other stats summed', () => {
    const s = snapshotFixture();
    s.conntrack = { count: 5, max: 10, buckets: 8, stats: [{ entries: 5, drop: 1 }, { entries: 5, drop: 2 }] };
    expect(resolveCounter(s, 'conntrack.stats.entries')).toBe(5);
    expect(resolveCounter(s, 'conntrack.stats.drop')).toBe(3);
    expect(resolveCounter(s, 'conntrack.count')).toBe(5);
    expect(resolveCounter(s, 'conntrack.stats.nonexistent')).toBeNull();
    s.conntrack = null;
    expect(resolveCounter(s, 'conntrack.count')).toBeNull();
  });
  it('is null for what the snapshot lacks', () => {
    expect(resolveCounter(snap, 'netstat.TcpExt.NoSuchCounter')).toBeNull();
  });
});

describe('summarise (show)', () => {
  it('computes keepalive dead-peer time, tcp_mem in bytes and port count', () => {
    const s = snapshotFixture();
    s.sysctl['net.ipv4.tcp_keepalive_time'] = '600';
    s.sysctl['net.ipv4.tcp_keepalive_intvl'] = '10';
    s.sysctl['net.ipv4.tcp_keepalive_probes'] = '6';
    s.sysctl['net.ipv4.tcp_mem'] = '1000 2000 3000';
    s.sysctl['net.ipv4.ip_local_port_range'] = '1024 65535';
    const sum = summarise(s);
    expect(sum.tcp.keepalive?.dead_peer_s).toBe(660);
    expect(sum.tcp.tcp_mem_bytes).toEqual({ min: 1000 * s.memory.page_size, default: 2000 * s.memory.page_size, max: 3000 * s.memory.page_size });
    expect(sum.local_ports).toEqual({ low: 1024, high: 65535, count: 64512 });
    expect(sum.links.find((l) => l.name === 'eth0')?.offloads?.tso).toBe(true);
  });
});

describe('probe helpers', () => {
  it('counts CPU lists', () => {
    expect(countCpuList('0-3,8,10-11')).toBe(7);
    expect(countCpuList('0')).toBe(1);
  });
  it('reads iproute2 6.1 text mptcp limits', () => {
    expect(parseWordPairs('add_addr_accepted 0 subflows 2 \n')).toEqual([{ add_addr_accepted: 0, subflows: 2 }]);
    expect(parseWordPairs('Error: something')).toBeNull();
  });
});
