import { describe, expect, it } from 'vitest';
import { counterDelta } from '../../src/rules/delta.js';
import { computeRates, sumRates } from '../../src/monitor/rates.js';
import { createRing } from '../../src/monitor/ring.js';
import { SAMPLE_SCHEMA, type CounterSample } from '../../src/monitor/sampler.js';
import type { SoftnetRow } from '../../src/snapshot/schema.js';

const softnet = (cpu: number, processed: number, dropped = 0, squeeze = 0): SoftnetRow => ({
  cpu,
  processed,
  dropped,
  time_squeeze: squeeze,
  cpu_collision: 0,
  received_rps: 0,
  flow_limit_count: 0,
  backlog_len: 0,
  input_qlen: 0,
  process_qlen: 0,
});

function sample(seq: number, monoMs: number, over: Partial<CounterSample> = {}): CounterSample {
  return {
    schema: SAMPLE_SCHEMA,
    seq,
    mono_ms: monoMs,
    taken_at: new Date(1_700_000_000_000 + monoMs).toISOString(),
    read_ms: 1,
    netns: null,
    netns_inode: 4026531840,
    boot_id: 'b',
    counters: { snmp: {}, snmp6: {}, netstat: {}, sockstat: {}, sockstat6: {}, softnet: [] },
    conntrack: null,
    links: {},
    tcp_mem: null,
    errors: [],
    qdiscs: [],
    ...over,
  };
}

const tcp = (outSegs: number, retrans: number, estab: number) => ({ Tcp: { OutSegs: outSegs, RetransSegs: retrans, CurrEstab: estab } });

describe('counterDelta (the rule engine’s one delta rule)', () => {
  it('gives delta and rate over the interval', () => {
    expect(counterDelta(100, 350, 2.5)).toEqual({ delta: 250, rate: 100 });
    expect(counterDelta(7, 7, 1)).toEqual({ delta: 0, rate: 0 });
  });
  it('has no rate for a counter that went down (reset, 32-bit wrap) or unknown values', () => {
    expect(counterDelta(4294967290, 5, 1)).toBeNull(); // u32 wrap
    expect(counterDelta(1000, 0, 1)).toBeNull(); // reset
    expect(counterDelta(undefined, 5, 1)).toBeNull();
    expect(counterDelta(5, null, 1)).toBeNull();
  });
  it('has no rate without a positive, finite interval', () => {
    expect(counterDelta(1, 2, 0)).toBeNull();
    expect(counterDelta(1, 2, -1)).toBeNull();
    expect(counterDelta(1, 2, null)).toBeNull();
    expect(counterDelta(1, 2, Number.NaN)).toBeNull();
  });
});

describe('computeRates', () => {
  it('uses the exact monotonic interval, not the wall clock', () => {
    const a = sample(1, 1000, { counters: { ...sample(0, 0).counters, snmp: tcp(1000, 10, 3) } });
    const b = sample(2, 1250, { counters: { ...sample(0, 0).counters, snmp: tcp(1500, 20, 9) }, taken_at: '2030-01-01T00:00:00.000Z' });
    const r = computeRates(a, b);
    expect(r?.interval_s).toBeCloseTo(0.25, 9);
    expect(r?.counters['snmp.Tcp.OutSegs']).toBeCloseTo(2000);
    expect(r?.counters['snmp.Tcp.RetransSegs']).toBeCloseTo(40);
    expect(r?.counters).not.toHaveProperty('snmp.Tcp.CurrEstab'); // a gauge: no rate
  });
  it('gives null, never a negative rate, for counters that reset or wrapped', () => {
    const a = sample(1, 0, { counters: { ...sample(0, 0).counters, netstat: { TcpExt: { ListenOverflows: 4294967295, ListenDrops: 10 } } } });
    const b = sample(2, 1000, { counters: { ...sample(0, 0).counters, netstat: { TcpExt: { ListenOverflows: 3, ListenDrops: 12, TCPOFOQueue: 5 } } } });
    const r = computeRates(a, b);
    expect(r?.counters['netstat.TcpExt.ListenOverflows']).toBeNull();
    expect(r?.counters['netstat.TcpExt.ListenDrops']).toBe(2);
    expect(r?.counters['netstat.TcpExt.TCPOFOQueue']).toBeNull(); // new in the second sample
  });
  it('matches softnet rows by CPU number: a missing or new CPU has no rate, the others keep theirs', () => {
    const base = sample(0, 0).counters;
    const a = sample(1, 0, { counters: { ...base, softnet: [softnet(0, 100, 1, 0), softnet(1, 200), softnet(3, 50)] } });
    const b = sample(2, 2000, { counters: { ...base, softnet: [softnet(0, 300, 5, 2), softnet(2, 10), softnet(3, 40)] } });
    const r = computeRates(a, b);
    expect(r?.softnet.map((x) => x.cpu)).toEqual([0, 2, 3]);
    expect(r?.softnet[0]).toMatchObject({ cpu: 0, processed: 100, dropped: 2, time_squeeze: 1 });
    expect(r?.softnet[1]).toMatchObject({ cpu: 2, processed: null }); // came online
    expect(r?.softnet[2]).toMatchObject({ cpu: 3, processed: null }); // went down: wrapped or reset
    expect(r?.softnet.some((x) => x.processed !== null && x.processed < 0)).toBe(false);
  });
  it('has no rates for a device re-created under the same name (new ifindex) or a new device', () => {
    const a = sample(1, 0, { links: { veth0: { ifindex: 5, statistics: { rx_bytes: 100, rx_packets: 1 } }, lo: { ifindex: 1, statistics: { rx_bytes: 10 } } } });
    const b = sample(2, 1000, {
      links: { veth0: { ifindex: 9, statistics: { rx_bytes: 5000, rx_packets: 50 } }, lo: { ifindex: 1, statistics: { rx_bytes: 1010 } }, eth1: { ifindex: 10, statistics: { rx_bytes: 1 } } },
    });
    const r = computeRates(a, b);
    expect(r?.links.veth0).toBeNull();
    expect(r?.links.eth1).toBeNull();
    expect(r?.links.lo?.rx_bytes).toBe(1000);
  });
  it('sums conntrack columns over CPUs and skips the entries level; a CPU row more gives no rate', () => {
    const ct = (rows: Record<string, number>[]) => ({ count: rows[0]?.entries ?? 0, max: 100, stats: rows });
    const a = sample(1, 0, { conntrack: ct([{ entries: 5, drop: 1, insert_failed: 0 }, { entries: 5, drop: 2, insert_failed: 1 }]) });
    const b = sample(2, 500, { conntrack: ct([{ entries: 7, drop: 3, insert_failed: 0 }, { entries: 7, drop: 4, insert_failed: 2 }]) });
    expect(computeRates(a, b)?.conntrack).toEqual({ drop: 8, insert_failed: 2 });
    const c = sample(3, 1000, { conntrack: ct([{ entries: 7, drop: 3, insert_failed: 0 }, { entries: 7, drop: 4, insert_failed: 2 }, { entries: 7, drop: 0, insert_failed: 0 }]) });
    expect(computeRates(b, c)?.conntrack).toEqual({ drop: null, insert_failed: null });
  });
  it('compares qdiscs of the same device, handle and kind only; backlog is a level', () => {
    const q = (kind: string, drops: number, backlog: number) => ({ dev: 'eth0', kind, handle: '1:', parent: null, root: true, bytes: 0, packets: 0, drops, overlimits: 0, requeues: 0, backlog, qlen: 0 });
    const a = sample(1, 0, { qdiscs: [q('htb', 10, 0)] });
    const b = sample(2, 1000, { qdiscs: [q('htb', 30, 3000)] });
    expect(computeRates(a, b)?.qdiscs[0]).toMatchObject({ rates: { drops: 20 }, backlog: 3000 });
    const c = sample(3, 2000, { qdiscs: [q('tbf', 40, 0)] });
    expect(computeRates(b, c)?.qdiscs[0]?.rates.drops).toBeNull();
  });
  it('refuses samples out of order, of another namespace or another boot', () => {
    expect(computeRates(sample(2, 1000), sample(1, 1000))).toBeUndefined();
    expect(computeRates(sample(1, 0), sample(2, 1000, { netns_inode: 1 }))).toBeUndefined();
    expect(computeRates(sample(1, 0), sample(2, 1000, { boot_id: 'other' }))).toBeUndefined();
  });
  it('sumRates is null when any part is unknown', () => {
    expect(sumRates([1, 2, 3])).toBe(6);
    expect(sumRates([1, null])).toBeNull();
    expect(sumRates([])).toBe(0);
  });
});

describe('ring', () => {
  it('keeps the newest N, oldest first', () => {
    const r = createRing<number>(3);
    expect(r.latest()).toBeUndefined();
    for (const n of [1, 2, 3, 4, 5]) r.push(n);
    expect(r.size).toBe(3);
    expect(r.toArray()).toEqual([3, 4, 5]);
    expect(r.latest()).toBe(5);
    expect(r.latest(2)).toBe(3);
    expect(r.latest(3)).toBeUndefined();
    r.clear();
    expect(r.toArray()).toEqual([]);
  });
  it('refuses a capacity below 2', () => {
    expect(() => createRing(1)).toThrow(/≥ 2/);
  });
});
