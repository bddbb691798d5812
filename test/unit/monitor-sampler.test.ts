// The sampler on this host's real /proc and /sys (read-only): what a sample holds, that no
// process is started per sample, and that the audit engine judges two samples' rates.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSampler, type Sampler, toSnapshot } from '../../src/monitor/sampler.js';
import { parseQdiscJson } from '../../src/monitor/sampler-holder.js';
import { evaluate } from '../../src/rules/engine.js';
import { allRules } from '../../src/rules/index.js';
import { descendants } from '../../src/sys/signals.js';
import { snapshotFixture } from '../helpers.js';
import { sleep } from '../../src/sys/process.js';

let s: Sampler;
beforeAll(async () => {
  s = await openSampler({ ring: 5, probeAtOpen: false });
});
afterAll(() => s.close());

describe('openSampler (this host)', () => {
  it('reads every counter source with an exact monotonic timestamp', async () => {
    const a = await s.sample();
    expect(a.seq).toBe(1);
    expect(a.counters.snmp.Tcp?.OutSegs).toBeTypeOf('number');
    expect(a.counters.netstat.TcpExt?.ListenOverflows).toBeTypeOf('number');
    expect(a.counters.sockstat.TCP?.inuse).toBeTypeOf('number');
    expect(a.counters.softnet.length).toBeGreaterThan(0);
    expect(Object.keys(a.links).sort()).toEqual(readdirSync('/sys/class/net').sort());
    expect(a.links.lo?.ifindex).toBe(1);
    expect(a.links.lo?.statistics.rx_bytes).toBeTypeOf('number');
    expect(a.qdiscs.some((q) => q.dev === 'lo')).toBe(true);
    expect(a.tcp_mem).toHaveLength(3); // the global limit the sockstat pages count against
    expect(a.mono_ms).toBeGreaterThan(0);
    expect(Date.parse(a.taken_at)).toBeGreaterThan(0);
    expect(a.errors.filter((e) => e.section !== 'conntrack')).toEqual([]);
  });

  it('spawns no process per sample: only the one helper it started at open', async () => {
    const before = descendants().map((d) => d.pid);
    for (let i = 0; i < 5; i++) await s.sample();
    expect(descendants().map((d) => d.pid)).toEqual(before);
    expect(before.length).toBe(1);
  });

  it('keeps the last N samples and gives rates over the exact interval', async () => {
    await sleep(50);
    const b = await s.sample();
    expect(s.ring.size).toBe(5);
    expect(s.ring.latest()).toBe(b);
    const r = s.rates();
    expect(r).toBeDefined();
    expect(r?.interval_s).toBeCloseTo((b.mono_ms - (s.ring.latest(1)?.mono_ms ?? 0)) / 1000, 9);
    expect(r?.interval_s).toBeGreaterThan(0.04);
    expect(r?.counters['snmp.Tcp.OutSegs']).toBeGreaterThanOrEqual(0);
    expect(r?.links.lo?.rx_bytes).toBeGreaterThanOrEqual(0);
    expect(r?.softnet.length).toBe(b.counters.softnet.length);
  });

  it('feeds the audit rule engine: two samples on a base Snapshot give findings with rates', () => {
    const base = snapshotFixture();
    const prev = s.ring.latest(1);
    const cur = s.ring.latest();
    if (!prev || !cur) throw new Error('no samples');
    // A listen overflow burst of 40 in the interval: the engine's own rule must see it as a rate.
    const bump = (x: typeof cur, n: number) => ({ ...x, counters: { ...x.counters, netstat: { ...x.counters.netstat, TcpExt: { ...x.counters.netstat.TcpExt, ListenOverflows: n, ListenDrops: n } } } });
    const interval = (cur.mono_ms - prev.mono_ms) / 1000;
    const res = evaluate(allRules, { snap: toSnapshot(base, bump(cur, 1040)), prev: toSnapshot(base, bump(prev, 1000)), interval_s: interval });
    expect(res.interval_s).toBeCloseTo(interval, 9);
    const f = res.findings.find((x) => x.id === 'backlog.listen-overflows');
    expect(f?.evidence.find((e) => e.what === 'netstat.TcpExt.ListenOverflows')?.rate_per_s).toBeCloseTo(40 / interval, 6);
  });
});

describe('parseQdiscJson', () => {
  it('reads tc -s -j qdisc show (iproute2 6.1, captured here)', () => {
    const text =
      '[{"kind":"noqueue","handle":"0:","dev":"lo","root":true,"refcnt":2,"options":{},"bytes":0,"packets":0,"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0},{"kind":"pfifo_fast","handle":"0:","dev":"eth0","root":true,"refcnt":2,"options":{"bands":3,"priomap":[1,2,2,2,1,2,0,0,1,1,1,1,1,1,1,1],"multiqueue":false},"bytes":3703634,"packets":34458,"drops":7,"overlimits":0,"requeues":2,"backlog":1514,"qlen":1}]';
    const q = parseQdiscJson(text);
    expect(q).toHaveLength(2);
    expect(q[1]).toEqual({ dev: 'eth0', kind: 'pfifo_fast', handle: '0:', parent: null, root: true, bytes: 3703634, packets: 34458, drops: 7, overlimits: 0, requeues: 2, backlog: 1514, qlen: 1 });
    expect(() => parseQdiscJson('{}')).toThrow(/array/);
  });
  it('reads a device name with a raw control character (iproute2 6.1 copies it into the JSON unescaped)', () => {
    // captured from `tc -s -j qdisc show` in a namespace with `ip link add $'d\x01e' type veth …`
    const text = '[{"kind":"noqueue","handle":"0:","dev":"d\x01e","root":true,"refcnt":2,"options":{},"bytes":0,"packets":0,"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0}]\n';
    expect(parseQdiscJson(text).map((q) => q.dev)).toEqual(['d\x01e']);
    expect(() => parseQdiscJson('[{"dev":"a"')).toThrow(SyntaxError); // still not JSON when it is not
  });
});
