// lab up/down/list/status, benchmarks and a short experiment, in namespaces the tests create and
// always remove. Needs root.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers.js';
import { pidAlive as alive } from '../../src/sys/process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
const hasDelayline = existsSync(join(ROOT, 'dist', 'nettune-delayline'));
const state = mkdtempSync(join(tmpdir(), 'nettune-lab-'));
const tag = `t${(process.pid % 10000).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
const labs: string[] = [];

const nettune = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { NETTUNE_STATE_DIR: state, ...env }, 180_000);
const lab = (suffix: string): string => {
  const name = `${tag}${suffix}`;
  labs.push(name);
  return name;
};
const netns = (): string[] => {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
};
const ping = (ns: string, addr: string): boolean => spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', addr]).status === 0;

describe.skipIf(!isRoot)('lab (root)', () => {
  afterAll(() => {
    for (const l of labs) nettune(['lab', 'down', l]);
    for (const ns of netns().filter((n) => n.startsWith(`nt-${tag}`))) spawnSync('ip', ['netns', 'del', ns]);
  });

  it('pair with a rate: up, status, throughput near the rate, down leaves nothing behind', () => {
    const name = lab('p');
    const up = nettune(['lab', 'up', name, '--rate', '200mbit', '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(netns()).toEqual(expect.arrayContaining([`nt-${name}-client`, `nt-${name}-server`]));
    expect(ping(`nt-${name}-client`, '198.18.0.2')).toBe(true);
    const st = JSON.parse(nettune(['lab', 'status', name, '--json']).stdout) as { ping: { received: number } };
    expect(st.ping.received).toBe(5);
    const t = nettune(['bench', 'throughput', '--lab', name, '--duration', '3', '--omit', '1', '--json']);
    expect(t.code, t.stderr).toBe(0);
    const bps = (JSON.parse(t.stdout) as { bps: number }).bps;
    expect(bps).toBeGreaterThan(200e6 * 0.9);
    expect(bps).toBeLessThan(200e6 * 1.02);
    expect(nettune(['lab', 'down', name]).code).toBe(0);
    expect(netns().filter((n) => n.startsWith(`nt-${name}-`))).toEqual([]);
    expect(existsSync(join(state, 'labs', `${name}.json`))).toBe(false);
  });

  it('router and multipath topologies route end to end', () => {
    const r = lab('r');
    expect(nettune(['lab', 'up', r, '--topology', 'router']).code).toBe(0);
    expect(ping(`nt-${r}-client`, '198.18.0.6')).toBe(true);
    const m = lab('m');
    expect(nettune(['lab', 'up', m, '--topology', 'multipath']).code).toBe(0);
    expect(ping(`nt-${m}-client`, '198.18.0.2')).toBe(true);
    expect(ping(`nt-${m}-client`, '198.18.0.6')).toBe(true);
    const list = JSON.parse(nettune(['lab', 'list', '--json']).stdout) as { labs: { name: string }[] };
    expect(list.labs.map((l) => l.name)).toEqual(expect.arrayContaining([r, m]));
    nettune(['lab', 'down', r]);
    nettune(['lab', 'down', m]);
    expect(netns().filter((n) => n.startsWith(`nt-${r}-`) || n.startsWith(`nt-${m}-`))).toEqual([]);
  });

  it('a crashed run is cleaned by the next up and by down; up is idempotent', () => {
    const name = lab('c');
    spawnSync('ip', ['netns', 'add', `nt-${name}-client`]); // left over, no state file
    const list = JSON.parse(nettune(['lab', 'list', '--json']).stdout) as { labs: { name: string; state: unknown }[] };
    expect(list.labs.find((l) => l.name === name)?.state).toBeNull();
    expect(nettune(['lab', 'up', name]).code).toBe(0);
    expect(nettune(['lab', 'up', name]).code).toBe(0);
    expect(netns().filter((n) => n.startsWith(`nt-${name}-`)).sort()).toEqual([`nt-${name}-client`, `nt-${name}-server`]);
    expect(nettune(['lab', 'down', name]).code).toBe(0);
    expect(netns().filter((n) => n.startsWith(`nt-${name}-`))).toEqual([]);
  });

  it('a failure while building removes what was built (broken delay line)', () => {
    const name = lab('f');
    const r = nettune(['lab', 'up', name, '--rtt', '10ms'], { NETTUNE_DELAYLINE: '/bin/false' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/delay line did not start|netem/);
    expect(netns().filter((n) => n.startsWith(`nt-${name}-`))).toEqual([]);
  });

  it('bad input is exit 2 before anything is built; load only to loopback or lab addresses', () => {
    expect(nettune(['lab', 'up', 'Bad_Name']).code).toBe(2);
    expect(nettune(['lab', 'up', lab('x'), '--rate', 'fast']).code).toBe(2);
    expect(nettune(['lab', 'up', lab('y'), '--topology', 'star']).code).toBe(2);
    expect(nettune(['bench', 'throughput', '--target', '10.0.0.1']).code).toBe(2);
    expect(nettune(['bench', 'rr', '--target', '8.8.8.8']).code).toBe(2);
    expect(nettune(['bench', 'rr', '--lab', 'nosuchlab']).code).toBe(2);
    expect(nettune(['lab', 'status', 'nosuchlab']).code).toBe(2);
  });

  it('backlog: a burst against a small accept queue, with the ListenOverflows delta', () => {
    const name = lab('b');
    expect(nettune(['lab', 'up', name]).code).toBe(0);
    const r = nettune(['bench', 'backlog', '--lab', name, '--backlog', '8', '--connects', '100', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { connected: number; failed: number; listen_overflows: number };
    expect(j.connected).toBe(9); // backlog + 1 fit the accept queue
    expect(j.failed).toBe(91);
    expect(j.listen_overflows).toBeGreaterThan(0);
    nettune(['lab', 'down', name]);
  });

  it('rr and crr generators report percentiles; loopback works without a lab', () => {
    const r = nettune(['bench', 'rr', '--target', '127.0.0.1', '--duration', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { transactions: number; latency_ms: Record<string, number> };
    expect(j.transactions).toBeGreaterThan(100);
    expect(j.latency_ms.p50).toBeLessThanOrEqual(j.latency_ms.p99 ?? Infinity);
    const c = JSON.parse(nettune(['bench', 'crr', '--target', '127.0.0.1', '--duration', '1', '--json']).stdout) as { tps: number; errors: number };
    expect(c.tps).toBeGreaterThan(50);
  });

  it('experiment list and one short experiment (listen-backlog) with a report', () => {
    const l = JSON.parse(nettune(['experiment', 'list', '--json']).stdout) as { experiments: { name: string; available: boolean }[] };
    expect(l.experiments.map((e) => e.name)).toEqual(
      expect.arrayContaining(['bdp-buffers', 'bbr-vs-cubic-loss', 'timestamps', 'sack-loss', 'tfo', 'keepalive-dead-peer', 'listen-backlog', 'offloads', 'conntrack-full', 'notrack-crr', 'mptcp-two-paths', 'source-routing']),
    );
    const dir = mkdtempSync(join(tmpdir(), 'nettune-report-'));
    const r = nettune(['experiment', 'run', 'listen-backlog', '--reps', '3', '--json', '--report', dir]); // 3: fewer runs claim no interval
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { a: { median: number }; b: { median: number }; ci95: [number, number]; verdict: string; lab: Record<string, unknown> };
    expect(j.a.median).toBe(129); // min(backlog, somaxconn) + 1
    expect(j.b.median).toBe(1000);
    expect(j.verdict).toBe('better');
    expect(j.ci95[0]).toBeGreaterThan(1);
    expect(j.lab.topology).toBe('pair');
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/better/i);
    expect(netns().filter((n) => /^nt-ex\d+-/.test(n))).toEqual([]);
    expect(nettune(['experiment', 'run', 'conntrack-full', '--topology', 'pair']).code).toBe(2); // its claim needs the router
    expect(nettune(['experiment', 'run', 'no-such-experiment']).code).toBe(2);
  });

  it.skipIf(!hasDelayline)('a delayed link: RTT as requested, and down stops the delay line', () => {
    const name = lab('d');
    expect(nettune(['lab', 'up', name, '--rtt', '20ms', '--rate', '100mbit']).code).toBe(0);
    const st = JSON.parse(nettune(['lab', 'status', name, '--json']).stdout) as { ping: { rtt_min_ms: number }; state: { emulator: string; delaylines: { pid: number }[] } };
    expect(st.state.emulator).toBe('delayline');
    // The minimum of the 5 pings: a VM scheduling stall (tens of ms, seen here under load) can
    // delay any single packet, but not the fastest of five.
    expect(st.ping.rtt_min_ms).toBeGreaterThan(19);
    expect(st.ping.rtt_min_ms).toBeLessThan(21.5);
    const pid = st.state.delaylines[0]?.pid ?? 0;
    expect(alive(pid)).toBe(true);
    expect(nettune(['lab', 'down', name]).code).toBe(0);
    expect(alive(pid)).toBe(false);
  });

  it.skipIf(!hasDelayline)('bdp-buffers (short): B reaches ≥ 90 % of the 1 Gbit/s link, A does not', () => {
    const r = nettune(['experiment', 'run', 'bdp-buffers', '--reps', '2', '--duration', '6s', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { link_bps: number; a: { median_bps: number }; b: { median_bps: number }; ci95: [number, number]; verdict: string };
    expect(j.link_bps).toBe(1e9);
    expect(j.b.median_bps).toBeGreaterThan(0.9 * j.link_bps);
    expect(j.a.median_bps).toBeLessThan(j.b.median_bps);
    expect(j.verdict).toBe('better');
    expect(netns().filter((n) => /^nt-ex\d+-/.test(n))).toEqual([]);
  }, 150_000); // 4 runs of 8 s plus lab and apply: 47 s measured with load average 6 on 2 cores

  it('source-routing: strict rp_filter drops asymmetric replies; the multihomed plan makes them symmetric (strict accepts them); loose hides them', () => {
    const r = nettune(['experiment', 'run', 'source-routing', '--reps', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { a: { median: number }; b: { median: number; settings: Record<string, string> }; arms: { median: number }[]; verdict: string };
    expect(j.a.median).toBe(200);
    expect(j.b.median).toBe(0); // the client stays strict: every reply came back on nt0
    expect(j.b.settings['server: rule 1000']).toBe('from 198.18.0.2/32 lookup 100');
    expect(j.arms[2]?.median).toBe(0);
    expect(j.verdict).toBe('better');
  });

  it.skipIf(!hasDelayline)('tfo: server Fast Open halves the repeat-connection time on a 20 ms path', () => {
    const r = nettune(['experiment', 'run', 'tfo', '--reps', '1', '--duration', '4s', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { a: { median: number }; b: { median: number } };
    expect(j.a.median).toBeGreaterThan(38);
    expect(j.b.median).toBeLessThan(24);
  });

  // IPPROTO_MPTCP sockets from nettune's own generator: no mptcpize (Debian 12 does not ship it).
  it.skipIf(!hasDelayline)('mptcp-two-paths: MPTCP gets both paths', () => {
    const r = nettune(['experiment', 'run', 'mptcp-two-paths', '--reps', '1', '--duration', '4s', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      a: { median_bps: number; settings: Record<string, string> };
      b: { median_bps: number; settings: Record<string, string> };
      survival: { survived: boolean; before_bps: number; during_bps: number; after_bps: number; series_bps: number[] };
    };
    expect(j.a.median_bps).toBeLessThan(1e8);
    expect(j.a.median_bps).toBeGreaterThan(0.8e8);
    expect(j.b.median_bps).toBeGreaterThan(1.6e8);
    // B is the planner's: a subflow endpoint on the client's second path, a signal one on the server's
    expect(j.b.settings['client: mptcp endpoint 198.18.0.5']).toBe('id 1 subflow dev nt1');
    expect(j.b.settings['server: mptcp endpoint 198.18.0.6']).toBe('id 1 signal dev nt1');
    // A is the same namespaces with those endpoints removed (plan changes `absent`), over MPTCP sockets too
    expect(j.a.settings['client: mptcp endpoint 198.18.0.5']).toBe('absent');
    expect(j.a.settings['server: mptcp endpoint 198.18.0.6']).toBe('absent');
    // nt0 down mid-transfer: the connection goes on over nt1 (one path's rate), then both again or not
    expect(j.survival.survived).toBe(true);
    expect(j.survival.before_bps).toBeGreaterThan(1.6e8);
    expect(j.survival.during_bps).toBeGreaterThan(0.5e8);
    expect(j.survival.during_bps).toBeLessThan(1.05e8);
  }, 240_000);

  it.skipIf(!hasDelayline)('bench throughput --mptcp on a multipath lab: a second subflow, about twice one path', () => {
    const name = lab('m');
    expect(nettune(['lab', 'up', name, '--topology', 'multipath', '--rate', '50mbit', '--rtt', '4ms']).code).toBe(0);
    // the lab sets no MPTCP endpoints: one signal endpoint on the server's second path, as a user would
    const server = nettune(['apply', '--netns', `nt-${name}-server`, '--set', 'mptcp:endpoint=198.18.0.6,dev=nt1,signal', '--set', 'mptcp:limits=subflows=2', '--yes']);
    expect(server.code, server.stderr).toBe(0);
    expect(nettune(['apply', '--netns', `nt-${name}-client`, '--set', 'mptcp:limits=subflows=2,add_addr_accepted=2', '--yes']).code).toBe(0);
    const r = nettune(['bench', 'throughput', '--lab', name, '--mptcp', '--duration', '3', '--omit', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { bps: number; mptcp_subflows: number | null; series: number[] };
    expect(j.mptcp_subflows).toBe(1);
    expect(j.series).toHaveLength(3);
    expect(j.bps).toBeGreaterThan(1.6 * 50e6 * 0.9);
    expect(j.bps).toBeLessThan(2 * 50e6 * 1.02);
    // lab list shows the lab once: its two delay lines' statistics files are not labs
    const l = JSON.parse(nettune(['lab', 'list', '--json']).stdout) as { labs: { name: string }[] };
    expect(l.labs.map((x) => x.name).filter((n) => !n.startsWith(tag))).toEqual([]);
    expect(l.labs.filter((x) => x.name === name)).toHaveLength(1);
    expect(nettune(['lab', 'down', name]).code).toBe(0);
  });

  it.skipIf(!hasDelayline)('a lossy link: lab status shows per-segment loss near the request, mean burst ≈ 1', () => {
    const name = lab('l');
    expect(nettune(['lab', 'up', name, '--rtt', '4ms', '--loss', '1%']).code).toBe(0);
    const t = nettune(['bench', 'throughput', '--lab', name, '--duration', '3', '--omit', '0', '--congestion', 'bbr', '--json']);
    expect(t.code, t.stderr).toBe(0);
    expect((JSON.parse(t.stdout) as { congestion: string }).congestion).toBe('bbr');
    const st = nettune(['lab', 'status', name, '--json']);
    const loss = (JSON.parse(st.stdout) as { loss: { direction: string; segments: number; share: number; mean_burst_segments: number }[] }).loss;
    const up = loss.find((l) => l.direction === 'client_to_server');
    expect(up?.segments).toBeGreaterThan(20000);
    expect(up?.share).toBeGreaterThan(0.008);
    expect(up?.share).toBeLessThan(0.012);
    expect(up?.mean_burst_segments).toBeLessThan(1.05);
    expect(nettune(['lab', 'status', name]).stdout).toMatch(/loss measured, link 0 client to server: [\d.]+ % of \d+ segments lost, mean burst/);
    expect(nettune(['bench', 'throughput', '--lab', name, '--duration', '2', '--congestion', 'nosuch']).code).toBe(2);
    expect(nettune(['lab', 'down', name]).code).toBe(0);
  });

  it.skipIf(!hasDelayline)('bench keepalive returns as soon as the kernel declares the peer dead', () => {
    const name = lab('k');
    expect(nettune(['lab', 'up', name, '--rtt', '2ms']).code).toBe(0);
    spawnSync('ip', ['netns', 'exec', `nt-${name}-client`, 'sysctl', '-q', '-w', 'net.ipv4.tcp_keepalive_time=1', 'net.ipv4.tcp_keepalive_intvl=1', 'net.ipv4.tcp_keepalive_probes=2']);
    const t0 = Date.now();
    const r = nettune(['bench', 'keepalive', '--lab', name, '--limit', '60s', '--json']);
    const took = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { outcome: string; detected_s: number };
    expect(j.outcome).toBe('dead');
    expect(j.detected_s).toBeGreaterThan(2);
    expect(j.detected_s).toBeLessThan(6);
    expect(took).toBeLessThan(j.detected_s + 8); // not limit + 20 s
    expect(nettune(['lab', 'down', name]).code).toBe(0);
  });
});
