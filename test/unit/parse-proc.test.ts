import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  parseConntrackSlab,
  parseConntrackStat,
  parseHeaderValuePairs,
  parseMeminfo,
  parseSlabinfo,
  parseSlabSysfs,
  parseSnmp6,
  parseSockstat,
  parseSoftnet,
  sumColumn,
} from '../../src/probe/parse-proc.js';
import { conntrackStatRow } from '../../src/snapshot/plain.js';
import { fixture, snapshotFixture } from '../helpers.js';

/** Reads the value of Group.Field straight from the fixture text, independently of the parser. */
function fromText(text: string, group: string, field: string): number {
  const ls = text.trim().split('\n').filter((l) => l.startsWith(`${group}:`));
  const names = (ls[0] ?? '').split(/\s+/).slice(1);
  const values = (ls[1] ?? '').split(/\s+/).slice(1);
  return Number(values[names.indexOf(field)]);
}

describe('snmp and netstat (header/value pairs)', () => {
  for (const kernel of ['linux-6.18', 'linux-4.19']) {
    it(`parses every group of ${kernel} without problems`, () => {
      for (const file of ['snmp', 'netstat']) {
        const text = fixture(kernel, file);
        const { data, problems } = parseHeaderValuePairs(text);
        expect(problems).toEqual([]);
        const headers = text.split('\n').filter((_, i) => i % 2 === 0 && _.trim());
        expect(Object.keys(data).length).toBe(new Set(headers.map((h) => h.split(':')[0])).size);
      }
    });
  }

  it('reads the values the kernel printed', () => {
    const text = fixture('linux-6.18', 'netstat');
    const { data } = parseHeaderValuePairs(text);
    expect(data.TcpExt?.ListenOverflows).toBe(fromText(text, 'TcpExt', 'ListenOverflows'));
    expect(data.TcpExt?.TCPRcvQDrop).toBe(fromText(text, 'TcpExt', 'TCPRcvQDrop'));
    const snmp = parseHeaderValuePairs(fixture('linux-6.18', 'snmp')).data;
    expect(snmp.Tcp?.MaxConn).toBe(-1); // the one negative counter
    expect(snmp.Ip?.OutTransmits).toBeTypeOf('number');
  });

  it('knows the older layout: no Ip OutTransmits on 4.19, non-zero listen overflows', () => {
    const snmp = parseHeaderValuePairs(fixture('linux-4.19', 'snmp')).data;
    expect(snmp.Ip?.OutTransmits).toBeUndefined();
    expect(parseHeaderValuePairs(fixture('linux-4.19', 'netstat')).data.TcpExt?.ListenOverflows).toBe(1523);
  });

  it('reports a truncated file instead of throwing', () => {
    const text = fixture('linux-6.18', 'netstat');
    for (let cut = 1; cut < text.length; cut += 97) {
      expect(() => parseHeaderValuePairs(text.slice(0, cut))).not.toThrow();
    }
    const lastNl = text.trimEnd().lastIndexOf('\n');
    const truncated = parseHeaderValuePairs(text.slice(0, lastNl + 40));
    expect(truncated.problems.join(' ')).toMatch(/names but \d+ values/);
    const noValues = parseHeaderValuePairs(text.slice(0, text.indexOf('\n') + 1));
    expect(noValues.problems.join(' ')).toMatch(/header without a value line/);
  });

  it('reports garbage values and out-of-step pairs', () => {
    const r = parseHeaderValuePairs('Tcp: A B\nTcp: 1 x\nUdp: C\nIp: 3\n');
    expect(r.data.Tcp).toEqual({ A: 1 });
    expect(r.problems.some((p) => p.includes('Tcp.B: not a number'))).toBe(true);
    expect(r.problems.some((p) => p.includes('out of step'))).toBe(true);
    expect(parseHeaderValuePairs('this is not procfs').problems.length).toBeGreaterThan(0);
  });
});

describe('snmp6', () => {
  it('groups by protocol prefix', () => {
    const { data, problems } = parseSnmp6(fixture('linux-6.18', 'snmp6'));
    expect(problems).toEqual([]);
    expect(Object.keys(data).sort()).toEqual(expect.arrayContaining(['Icmp6', 'Ip6', 'Udp6', 'UdpLite6']));
    expect(data.Ip6?.InReceives).toBeTypeOf('number');
    expect(data.Udp6?.RcvbufErrors).toBeTypeOf('number');
  });
  it('reports malformed lines', () => {
    const r = parseSnmp6('Ip6InReceives 5\nbroken\nUdp6InErrors x\n');
    expect(r.data).toEqual({ Ip6: { InReceives: 5 } });
    expect(r.problems).toHaveLength(2);
  });
});

describe('sockstat', () => {
  it('reads key/value pairs per protocol', () => {
    const { data, problems } = parseSockstat(fixture('linux-4.19', 'sockstat'));
    expect(problems).toEqual([]);
    expect(data.TCP).toEqual({ inuse: 2051, orphan: 3, tw: 27811, alloc: 2060, mem: 9811 });
    expect(data.sockets?.used).toBe(4107);
    expect(parseSockstat(fixture('linux-6.18', 'sockstat6')).data.TCP6?.inuse).toBeTypeOf('number');
  });
  it('reports a line cut in the middle', () => {
    const r = parseSockstat('TCP: inuse 3 orphan');
    expect(r.data.TCP).toEqual({ inuse: 3 });
    expect(r.problems[0]).toMatch(/odd number/);
  });
});

describe('softnet_stat', () => {
  it('reads the 6.x layout with CPU index and queue lengths', () => {
    const text = fixture('linux-6.18', 'softnet_stat');
    const { data, problems } = parseSoftnet(text);
    expect(problems).toEqual([]);
    expect(data).toHaveLength(text.trim().split('\n').length);
    const cols = (text.split('\n')[1] ?? '').split(' ').map((c) => parseInt(c, 16));
    expect(data[1]).toMatchObject({ cpu: cols[12], processed: cols[0], dropped: cols[1], time_squeeze: cols[2] });
    expect(data[0]?.input_qlen).not.toBeNull();
  });
  it('reads the 11-column layout of 4.19 (no backlog, CPU from row order)', () => {
    const { data, problems } = parseSoftnet(fixture('linux-4.19', 'softnet_stat'));
    expect(problems).toEqual([]);
    expect(data.map((r) => r.cpu)).toEqual([0, 1, 2, 3]);
    expect(data[1]?.dropped).toBe(17);
    expect(data[2]?.time_squeeze).toBe(900);
    expect(data[0]?.backlog_len).toBeNull();
    expect(sumColumn(data, 'received_rps')).toBe(20);
  });
  it('skips malformed rows with a problem', () => {
    const r = parseSoftnet('0000000a 00000000\nzz 1 2 3 4 5 6 7 8 9 10\n');
    expect(r.data).toEqual([]);
    expect(r.problems).toHaveLength(2);
  });
});

describe('nf_conntrack stat', () => {
  it('decodes hex per CPU with the header names of each kernel', () => {
    const now = parseConntrackStat(fixture('linux-6.18', 'nf_conntrack_stat'));
    expect(now.problems).toEqual([]);
    // the names conntrack -S prints for the columns the file calls clashres, icmp_error, chainlength
    expect(Object.keys(now.data[0] ?? {})).toEqual(expect.arrayContaining(['clash_resolve', 'error', 'chaintoolong', 'found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'search_restart']));
    expect(Object.keys(now.data[0] ?? {})).not.toEqual(expect.arrayContaining(['clashres']));
    const old = parseConntrackStat(fixture('linux-4.19', 'nf_conntrack_stat'));
    expect(old.data).toHaveLength(4);
    expect(old.data[0]).toMatchObject({ entries: 4087, searched: 0, drop: 5, insert_failed: 2 });
    expect(sumColumn(old.data, 'found')).toBe(48);
  });
  it('older Snapshots with the file\'s names load with the conntrack -S names', () => {
    const row = { entries: 1, clashres: 2, icmp_error: 3, chainlength: 4, drop: 5 };
    expect(conntrackStatRow(row)).toEqual({ entries: 1, clash_resolve: 2, error: 3, chaintoolong: 4, drop: 5 });
    const snap = snapshotFixture();
    expect(snap.conntrack?.stats[0]).toHaveProperty('chaintoolong');
    expect(snap.conntrack?.stats[0]).not.toHaveProperty('chainlength');
  });
  it('reports short rows and empty files', () => {
    expect(parseConntrackStat('').problems).toEqual(['empty file']);
    expect(parseConntrackStat('entries drop\n00000001\n').problems).toHaveLength(1);
  });
});

describe('nf_conntrack slab', () => {
  const slab = (name: string): string => fixture('slab', name);
  it('reads object and slab size from SLUB sysfs (6.18: sizeof(struct nf_conn) 248, 256 per object in the slab)', () => {
    expect(parseSlabSysfs(slab('object_size-6.18'), slab('slab_size-6.18'))).toEqual({ data: { object_size: 248, slab_size: 256, source: 'sysfs' }, problems: [] });
    expect(parseSlabSysfs('248\n', 'x').data).toBeNull();
    expect(parseSlabSysfs('248', '0').problems).toHaveLength(1);
  });
  it('reads the objsize column of the nf_conntrack row of /proc/slabinfo', () => {
    expect(parseSlabinfo(slab('slabinfo-6.18'))).toEqual({ data: { object_size: null, slab_size: 256, source: 'slabinfo' }, problems: [] });
    // a cache whose name starts the same is not it
    expect(parseSlabinfo('slabinfo - version: 2.1\nnf_conntrack_expect 0 0 208 19 1 : tunables 0 0 0 : slabdata 0 0 0\n').problems).toEqual(['no nf_conntrack row']);
    expect(parseSlabinfo('slabinfo - version: 1.1\n').problems[0]).toMatch(/not slabinfo 2/);
    expect(parseSlabinfo('slabinfo - version: 2.1\nnf_conntrack 0 0 abc\n').data).toBeNull();
  });
  it('the fleet source: sysfs line, whole slabinfo, or nothing', () => {
    expect(parseConntrackSlab('sysfs 248 256\n').data).toEqual({ object_size: 248, slab_size: 256, source: 'sysfs' });
    expect(parseConntrackSlab(slab('slabinfo-6.18')).data?.slab_size).toBe(256);
    expect(parseConntrackSlab('')).toEqual({ data: null, problems: [] });
    expect(parseConntrackSlab('garbage\n').problems).toHaveLength(1);
  });
});

describe('meminfo', () => {
  it('converts kB to bytes', () => {
    const { data } = parseMeminfo(fixture('linux-6.18', 'meminfo'));
    expect(data.MemTotal).toBeGreaterThan(1024 * 1024);
    expect((data.MemTotal ?? 0) % 1024).toBe(0);
    expect(parseMeminfo('HugePages_Total:       0\n').data.HugePages_Total).toBe(0);
  });
});

describe('the scanner for snmp, snmp6 and netstat', () => {
  // Key order and -0 count: toStrictEqual on the entries, problems included.
  const same = (a: unknown, b: unknown): void => expect(JSON.stringify(a, (_, v: unknown) => (Object.is(v, -0) ? '-0' : v))).toBe(JSON.stringify(b, (_, v: unknown) => (Object.is(v, -0) ? '-0' : v)));
  const texts = ['linux-6.18', 'linux-4.19'].flatMap((k) => [fixture(k, 'snmp'), fixture(k, 'netstat')]);
  const snmp6 = [fixture('linux-6.18', 'snmp6')];

  it('gives the line parser\'s answer on the kernels\' files', () => {
    for (const t of texts) same(parseHeaderValuePairs(t), parseHeaderValuePairs(t, { scan: false }));
    for (const t of snmp6) same(parseSnmp6(t), parseSnmp6(t, { scan: false }));
    expect(Object.keys(parseHeaderValuePairs(texts[0] as string).data).length).toBeGreaterThan(3);
  });

  it('gives the line parser\'s answer (problems too) on any edit of them', () => {
    const pieces = [' ', '  ', '\t', '\r', '\n', '\n\n', '-', '-0', '0', '7', '12345678901234567890', ':', 'Ip:', 'TcpExt: ', 'x', '\u00a0', '0x1f', ''];
    const edit = fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.constantFrom(...pieces));
    fc.assert(
      fc.property(fc.constantFrom(...texts, ...snmp6), fc.array(edit, { minLength: 1, maxLength: 4 }), (text, edits) => {
        let t = text;
        for (const [at, del, ins] of edits) {
          const i = at % (t.length + 1);
          t = t.slice(0, i) + ins + t.slice(i + (del % 3 === 0 ? del : 0));
        }
        same(parseHeaderValuePairs(t), parseHeaderValuePairs(t, { scan: false }));
        same(parseSnmp6(t), parseSnmp6(t, { scan: false }));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads integers past 2^53 and negative ones as Number() does', () => {
    const t = 'Tcp: RtoAlgorithm MaxConn InSegs Zero\nTcp: 1 -1 18446744073709551615 -0\n';
    const { data } = parseHeaderValuePairs(t);
    same(data, { Tcp: { RtoAlgorithm: 1, MaxConn: -1, InSegs: Number('18446744073709551615'), Zero: -0 } });
    same(parseSnmp6('Ip6InReceives                   \t123456789012345678\n'), { data: { Ip6: { InReceives: Number('123456789012345678') } }, problems: [] });
  });
});
