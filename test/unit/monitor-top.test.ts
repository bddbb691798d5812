import { describe, expect, it } from 'vitest';
import { computeRates } from '../../src/monitor/rates.js';
import { SAMPLE_SCHEMA, type CounterSample } from '../../src/monitor/sampler.js';
import { buildFrame, liveFindings, type TopFrame } from '../../src/monitor/top-model.js';
import { fit, renderFrame } from '../../src/monitor/top-render.js';
import { ESC, frameOutput, keyOf } from '../../src/monitor/top-term.js';
import type { Finding } from '../../src/rules/types.js';
import { formatSI } from '../../src/units/index.js';
import { snapshotFixture } from '../helpers.js';

const empty = (): CounterSample['counters'] => ({ snmp: {}, snmp6: {}, netstat: {}, sockstat: {}, sockstat6: {}, softnet: [] });

function sample(seq: number, monoMs: number, k: number): CounterSample {
  const links: CounterSample['links'] = {};
  for (let i = 0; i < 12; i++) links[`veth${i}`] = { ifindex: 10 + i, statistics: { rx_bytes: k * 1e6 * (i + 1), tx_bytes: k * 5e5, rx_packets: k * 1000, tx_packets: k * 500, rx_dropped: k * i, tx_dropped: 0, rx_errors: 0, tx_errors: 0 } };
  return {
    schema: SAMPLE_SCHEMA,
    seq,
    mono_ms: monoMs,
    taken_at: '2026-12-01T23:30:00.000Z',
    read_ms: 1,
    netns: 'blue',
    netns_inode: 1,
    boot_id: 'b',
    counters: {
      ...empty(),
      snmp: { Tcp: { ActiveOpens: 10 * k, PassiveOpens: 20 * k, OutSegs: 1000 * k, RetransSegs: 5 * k, CurrEstab: 42 } },
      netstat: { TcpExt: { ListenOverflows: 37 * k, ListenDrops: 37 * k, TCPTimeouts: k, TCPRcvQDrop: 0, TCPOFOQueue: 3 * k, SyncookiesSent: 0 } },
      sockstat: { TCP: { inuse: 50, orphan: 1, tw: 7, alloc: 60, mem: 30000 }, UDP: { inuse: 3 } },
      softnet: Array.from({ length: 8 }, (_, cpu) => ({ cpu, processed: k * 100 * (cpu + 1), dropped: cpu === 3 ? k * 9 : 0, time_squeeze: k, cpu_collision: 0, received_rps: 0, flow_limit_count: 0, backlog_len: 0, input_qlen: 0, process_qlen: 0 })),
    },
    conntrack: { count: 900, max: 1000, stats: [{ entries: 900, insert_failed: k, drop: 2 * k, early_drop: 0 }] },
    links,
    tcp_mem: [20000, 28000, 40000],
    errors: [],
    qdiscs: [{ dev: 'veth0', kind: 'htb', handle: '1:', parent: null, root: true, bytes: 0, packets: 0, drops: 4 * k, overlimits: 0, requeues: 0, backlog: 3028, qlen: 2 }],
  };
}

const finding = (id: string, rate: number | null, fix: string): Finding => ({
  id,
  domain: 'backlog',
  title: id,
  severity: 'warn',
  subject: null,
  message: `${id} message`,
  evidence: [{ what: 'netstat.TcpExt.ListenOverflows', value: 100, rate_per_s: rate }],
  why: '',
  sources: [],
  fix: { changes: [], commands: [fix] },
  risk: '',
  confidence: 'high',
});

function frame(): TopFrame {
  const base = snapshotFixture();
  base.sysctl['net.ipv4.tcp_mem'] = '1 2 3'; // the sample's own reading wins
  const a = sample(1, 0, 1);
  const b = sample(2, 1000, 2);
  const findings = [finding('backlog.listen-overflows', 37, 'sysctl -w net.core.somaxconn=4096'), finding('tcp.static', null, 'x'), finding('conntrack.drops', 2, 'sysctl -w net.netfilter.nf_conntrack_max=2000'), finding('softnet.drops', 9, 'sysctl -w net.core.netdev_max_backlog=2000')];
  return buildFrame({ base, sample: b, rates: computeRates(a, b), findings });
}

describe('top frame (data)', () => {
  it('turns one interval into rates per link, TCP, sockets, conntrack and softnet', () => {
    const f = frame();
    const v0 = f.links.find((l) => l.name === 'veth0');
    expect(v0).toMatchObject({ rx_bits_ps: 8e6, tx_bits_ps: 4e6, rx_packets_ps: 1000, rx_drops_ps: 0, qdisc: { kind: 'htb', drops_ps: 4, backlog_bytes: 3028, qlen: 2 } });
    expect(f.links.find((l) => l.name === 'veth5')?.rx_drops_ps).toBe(5);
    expect(f.tcp).toMatchObject({ active_opens_ps: 10, passive_opens_ps: 20, out_segs_ps: 1000, retrans_segs_ps: 5, retrans_pct: 0.5, listen_overflows_ps: 37, timeouts_ps: 1, curr_estab: 42 });
    expect(f.sockets).toMatchObject({ tcp_inuse: 50, tcp_tw: 7, tcp_mem_pages: 30000, tcp_mem: [20000, 28000, 40000], tcp_mem_state: 'pressure' });
    expect(f.conntrack).toMatchObject({ count: 900, max: 1000, used_pct: 90, insert_failed_ps: 1, drop_ps: 2 });
    expect(f.softnet[3]).toEqual({ cpu: 3, processed_ps: 400, dropped_ps: 9, time_squeeze_ps: 1 });
  });
  it('live findings are those whose evidence grew in the interval, with the rate and the fix', () => {
    const f = frame();
    expect(f.findings.map((x) => x.id)).toEqual(['backlog.listen-overflows', 'conntrack.drops', 'softnet.drops']);
    expect(f.findings[0]).toMatchObject({ rate_ps: 37, counter: 'netstat.TcpExt.ListenOverflows', fix: 'sysctl -w net.core.somaxconn=4096' });
    expect(liveFindings([finding('x', 0, 'y')])).toEqual([]);
  });
  it('before the second sample every rate is unknown (–), never 0', () => {
    const f = buildFrame({ base: snapshotFixture(), sample: sample(1, 0, 1), rates: undefined, findings: [] });
    expect(f.interval_s).toBeNull();
    expect(f.links[0]?.rx_bits_ps).toBeNull();
    expect(renderFrame(f, 80, 24, 1).join('\n')).toMatch(/waiting for the second sample/);
  });
});

describe('top screen (render)', () => {
  it('fits 80×24 and shows every section, the first findings and what it left out', () => {
    const lines = renderFrame(frame(), 80, 24, 1);
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    const text = lines.join('\n');
    for (const s of ['nettune top', 'netns blue', 'LINK', 'TCP ', 'SOCK', 'CT ', 'CPU', 'LIVE FINDINGS']) expect(text).toContain(s);
    expect(text).toMatch(/backlog\.listen-overflows: 37\/s — sysctl -w net\.core\.somaxconn=4096/);
    expect(text).toMatch(/retrans 5\/s \(0\.50%\)/);
    expect(text).toMatch(/tcp_mem 20000\/28000\/40000 \(pressure\)/);
    expect(text).toMatch(/entries 900 \/ 1000 \(90\.0%\)/);
    expect(text).toMatch(/… \d+ more links/);
    // the busiest links first when not all fit: veth11 carries the most
    expect(lines.findIndex((l) => l.startsWith('veth11'))).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith('veth0 '))).toBe(false);
  });
  it('offers the q key only on an interactive screen: a plain frame reads no keys', () => {
    expect(renderFrame(frame(), 100, 30, 1)[0]).toMatch(/ q quits$/);
    const plain = renderFrame(frame(), 100, 30, 1, false);
    expect(plain[0]).toMatch(/^nettune top · /);
    expect(plain.join('\n')).not.toContain('q quits');
  });

  it('uses a larger terminal: all links, per-direction and qdisc columns, more CPUs per row', () => {
    const lines = renderFrame(frame(), 140, 50, 1);
    expect(lines.length).toBeLessThanOrEqual(50);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(140);
    const text = lines.join('\n');
    expect(text).not.toMatch(/more links/);
    expect(text).toMatch(/rxdrop\/s.*txdrop\/s.*qdisc/);
    expect(lines.find((l) => l.startsWith('veth0'))).toMatch(/htb/);
    expect((lines.find((l) => l.includes('squeeze/s')) ?? '').match(/squeeze\/s/g)?.length).toBe(4);
    expect(text).toMatch(/softnet\.drops: 9\/s/);
  });
  it('at 100 columns: per-direction drops and errors, every column whole', () => {
    const lines = renderFrame(frame(), 100, 30, 1);
    const head = lines.find((l) => l.startsWith('LINK')) ?? '';
    expect(head).toMatch(/rxdrop\/s.*txerr\/s.*qdrop\/s\s+backlog$/);
    expect(head).not.toContain('…');
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(100);
  });
  it('never exceeds a tiny terminal', () => {
    const lines = renderFrame(frame(), 20, 5, 1);
    expect(lines.length).toBeLessThanOrEqual(10);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(40);
  });
  it('fit cuts with an ellipsis', () => {
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('abc', 4)).toBe('abc');
  });
  it('formatSI keeps columns narrow', () => {
    expect(formatSI(null)).toBe('–');
    expect(formatSI(0)).toBe('0');
    expect(formatSI(0.989)).toBe('0.989');
    expect(formatSI(37)).toBe('37');
    expect(formatSI(1234)).toBe('1.23k');
    expect(formatSI(999.7)).toBe('1k');
    expect(formatSI(12_345_678)).toBe('12.3M');
  });
});

describe('top terminal', () => {
  it('draws from home, erases each line and the rest, without a final newline', () => {
    const out = frameOutput(['a', 'b']);
    expect(out).toBe(`${ESC.home}a${ESC.eraseLine}\r\nb${ESC.eraseLine}${ESC.eraseDown}`);
  });
  it('q, Q, Ctrl-C and Ctrl-D quit; Ctrl-L redraws', () => {
    for (const k of ['q', 'Q', '\x03', '\x04']) expect(keyOf(Buffer.from(k, 'latin1'))).toBe('quit');
    expect(keyOf('\x0c')).toBe('redraw');
    expect(keyOf('x')).toBe('other');
  });
});
