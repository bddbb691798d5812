// `experiment run workload`: the user's own server and client in a real lab. Bad input is refused
// before anything exists; a real iperf3 workload gives a report with both arms; a client that
// hangs is killed at the hard timeout; a server that never gets ready fails clearly; SIGINT exits
// 130; and in every case no process of the client or the server (nor a daemon that left its
// process group) and no lab namespace remains. Root parts need the heavy lock (run-tests holds
// it); every lab is named h1w… and removed afterwards.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, labNames, netnsWith, runCli } from '../helpers.js';
import { sleep } from '../../src/sys/process.js';

const isRoot = process.getuid?.() === 0;
const state = mkdtempSync(join(tmpdir(), 'nettune-h1wl-'));
const { tag, labs, labName } = labNames('h1w');
const netns = netnsWith;
const env = { NETTUNE_STATE_DIR: state };

/** Live processes whose command line contains `marker`, with their process group. */
function withMarker(marker: string): { pid: number; pgid: number; cmd: string }[] {
  const out: { pid: number; pgid: number; cmd: string }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      // nettune's own command line holds the marker too: it is not the workload
      if (!cmd.includes(marker) || cmd.includes('nettune.mjs')) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      out.push({ pid: Number(e), pgid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]), cmd });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A server that listens on PORT and forks a child into its own session (a daemon leaving the
 *  process group), both sleeping; the marker is an argument so /proc shows it. */
const daemonServer = (port: number, marker: string): string =>
  `python3 -c 'import os, socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", ${port})); s.listen(); os.fork() == 0 and os.setsid(); time.sleep(1000)' ${marker}`;
/** A client that ignores SIGTERM and never ends (only SIGKILL stops it). */
const hangingClient = (marker: string): string => `python3 -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1000)' ${marker}`;

describe('experiment run workload: bad input is refused before anything is built', () => {
  const base = ['experiment', 'run', 'workload'];
  const b = ['--set', 'net.ipv4.tcp_sack=0'];
  const cases: [string, string[], number, RegExp][] = [
    ['unbalanced quote', ['--client', "iperf3 -c '{server}", '--metric', 'json:x', ...b], 2, /unbalanced single quote/],
    ['empty client', ['--client', '  ', '--metric', 'json:x', ...b], 2, /no command to run/],
    ['two capture groups', ['--client', 'iperf3 -c {server}', '--metric', 'regex:(\\d+) (\\d+)', ...b], 2, /exactly one capture group/],
    ['bad json path', ['--client', 'iperf3 -c {server}', '--metric', 'json:end..x', ...b], 2, /empty key/],
    ['unknown metric kind', ['--client', 'iperf3 -c {server}', '--metric', 'jq:.end', ...b], 2, /json:PATH or regex:PATTERN/],
    ['no arm B', ['--client', 'iperf3 -c {server}', '--metric', 'json:x'], 2, /give arm B with --b SOURCE or --set/],
    ['bad --ready', ['--server', 'iperf3 -s', '--client', 'iperf3 -c {server}', '--metric', 'json:x', '--ready', 'tcp:0', ...b], 2, /not a port/],
    ['--ready without server', ['--client', 'iperf3 -c {server}', '--metric', 'json:x', '--ready', 'tcp:5201', ...b], 2, /--ready needs --server/],
    ['bad --timeout', ['--client', 'iperf3 -c {server}', '--metric', 'json:x', '--timeout', '0s', ...b], 2, /--timeout/],
    ['bad --better', ['--client', 'iperf3 -c {server}', '--metric', 'json:x', '--better', 'faster', ...b], 2, /--better/],
    ['missing client program', ['--client', 'nettune-no-such-tool-h1 -c {server}', '--metric', 'json:x', ...b], 3, /nettune-no-such-tool-h1 is not installed/],
    ['missing server program', ['--server', './no/such/server', '--client', 'iperf3 -c {server}', '--metric', 'json:x', ...b], 3, /not an executable file/],
    ['bad spec wins over a missing tool', ['--client', 'nettune-no-such-tool-h1 "x', '--metric', 'json:x', ...b], 2, /unbalanced double quote/],
  ];
  for (const [what, args, code, msg] of cases) {
    it(`${what}: exit ${code}`, () => {
      const name = labName('v');
      const r = runCli([...base, ...args, '--lab', name, '--json'], env);
      expect(r.code, r.stderr).toBe(code);
      const doc = JSON.parse(r.stdout) as { error: { message: string; exit_code: number } };
      expect(doc.error.exit_code).toBe(code);
      expect(doc.error.message).toMatch(msg);
      expect(r.stderr).not.toMatch(/building lab/);
      expect(netns(`nt-${name}-`)).toEqual([]);
    });
  }

  it('workload flags on a built-in experiment are bad usage', () => {
    const r = runCli(['experiment', 'run', 'timestamps', '--client', 'x', '--metric', 'json:x'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--client, --metric: only for `experiment run workload`/);
  });
});

describe.skipIf(!isRoot)('experiment run workload in a lab (root)', () => {
  afterAll(() => {
    for (const l of labs) runCli(['lab', 'down', l], env);
    for (const ns of netns(`nt-${tag}`)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(state, { recursive: true, force: true });
  });

  it('iperf3 as the workload: a report with both arms, the metric from its JSON, nothing left', () => {
    const name = labName('i');
    const dir = mkdtempSync(join(tmpdir(), 'nettune-h1wl-pid-'));
    // the pid file names this test's iperf3 server in /proc (other tests may run iperf3 too)
    const marker = join(dir, `iperf3-${tag}.pid`);
    const args = ['experiment', 'run', 'workload', '--server', `iperf3 -s -1 --pidfile ${marker}`, '--client', 'iperf3 -c {server} -t {duration} -J', '--duration', '2', '--metric', 'json:end.sum_received.bits_per_second', '--unit', 'bit/s'];
    const r = runCli([...args, '--rate', '200mbit', '--rtt', '10ms', '--set', 'net.ipv4.tcp_rmem=4096 65536 131072', '--reps', '2', '--lab', name, '--json'], env, 180_000);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      name: string;
      arms: { key: string; samples: number[]; settings: Record<string, string> }[];
      comparisons: { arm: string; ratio: number; basis: string }[];
      order: string[];
      workload: { server: { argv: string[] }; client: { argv: string[] }; metric: string };
      lab: { rate_bps: number; measured_rtt_min_ms: number };
    };
    expect(doc.name).toBe('workload');
    expect(doc.order).toEqual(['A', 'B', 'A', 'B']);
    expect(doc.arms.map((a) => a.samples.length)).toEqual([2, 2]);
    // A runs at the lab's default buffers, B with a 128 KiB receive buffer: on 200 Mbit/s × 10 ms
    // (BDP 250 kB) B must be clearly slower, and A close to the link rate.
    const [a, b] = doc.arms.map((x) => Math.min(...x.samples)) as [number, number];
    expect(a).toBeGreaterThan(100e6);
    expect(a).toBeLessThan(210e6);
    expect(b).toBeLessThan(a);
    expect(doc.arms[1]?.settings['client: net.ipv4.tcp_rmem']).toBe('4096 65536 131072');
    expect(doc.comparisons[0]?.basis).toBe('ranges');
    expect(doc.workload.server.argv[0]).toMatch(/\/iperf3$/);
    expect(doc.workload.client.argv.slice(1)).toEqual(['-c', '{server}', '-t', '{duration}', '-J']);
    expect(doc.lab.measured_rtt_min_ms).toBeGreaterThan(9);
    expect(netns(`nt-${name}-`)).toEqual([]);
    expect(withMarker(marker)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('wrk against an HTTP server: the metric from a regex over its text output', () => {
    const name = labName('w');
    const r = runCli(
      ['experiment', 'run', 'workload', '--server', 'python3 -m http.server 8080 --bind {server}', '--ready', 'tcp:8080', '--client', 'wrk -t1 -c8 -d{duration}s http://{server}:8080/', '--duration', '2', '--metric', 'regex:^Requests/sec:\\s+([\\d.]+)$', '--unit', 'req/s', '--set', 'net.ipv4.tcp_sack=0', '--reps', '1', '--lab', name, '--json'],
      env,
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { arms: { samples: number[] }[]; metric: { unit: string; higher_is_better: boolean } };
    expect(doc.metric).toMatchObject({ unit: 'req/s', higher_is_better: true });
    for (const a of doc.arms) {
      expect(a.samples).toHaveLength(1);
      expect(a.samples[0]).toBeGreaterThan(10);
    }
    expect(netns(`nt-${name}-`)).toEqual([]);
  }, 120_000);

  it('arguments reach the client literally: ; $( ) backticks | > run nothing', () => {
    const name = labName('l');
    const dir = mkdtempSync(join(tmpdir(), 'nettune-h1wl-lit-'));
    const mark = join(dir, 'pwned');
    const client = `python3 -c 'import sys, json; print(json.dumps({"n": len(sys.argv) - 1, "argv": sys.argv[1:]}))' ';touch ${mark}' "$(touch ${mark})" \`touch ${mark}\` '|' touch ${mark} '>' ${mark}`;
    const r = runCli(['experiment', 'run', 'workload', '--client', client, '--metric', 'json:n', '--set', 'net.ipv4.tcp_sack=0', '--reps', '1', '--lab', name, '--json'], env, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { arms: { samples: number[] }[] };
    expect(doc.arms.map((a) => a.samples)).toEqual([[9], [9]]);
    expect(existsSync(mark)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
    expect(netns(`nt-${name}-`)).toEqual([]);
  }, 120_000);

  it('a client that hangs is killed at the hard timeout; no process of it or the server (nor its daemon) remains', () => {
    const name = labName('h');
    const marker = `h1wl-hang-${tag}`;
    const t0 = Date.now();
    const r = runCli(
      ['experiment', 'run', 'workload', '--server', daemonServer(7301, marker), '--ready', 'tcp:7301', '--client', hangingClient(marker), '--metric', 'json:x', '--timeout', '3s', '--set', 'net.ipv4.tcp_sack=0', '--reps', '1', '--lab', name, '--json'],
      env,
      150_000,
    );
    const took = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(3);
    const doc = JSON.parse(r.stdout) as { partial: boolean; notes: string[]; arms: { samples: number[] }[] };
    expect(doc.partial).toBe(true);
    expect(doc.arms.map((a) => a.samples)).toEqual([[], []]);
    expect(doc.notes.join('\n')).toMatch(/run 1 \(A: baseline\) failed twice: the client did not finish within the 3 s timeout/);
    // retried once: two timeouts, plus lab up and down
    expect(r.stderr).toMatch(/retrying once/);
    expect(took).toBeLessThan(90);
    expect(r.stderr).toMatch(/killed 1 process the workload left in the lab namespaces/); // the setsid daemon
    expect(withMarker(marker)).toEqual([]);
    expect(netns(`nt-${name}-`)).toEqual([]);
  }, 150_000);

  it('a server that never gets ready fails the run clearly within --ready-timeout', () => {
    const name = labName('r');
    const marker = `h1wl-ready-${tag}`;
    const r = runCli(
      ['experiment', 'run', 'workload', '--server', daemonServer(7302, marker), '--ready', 'tcp:7399', '--ready-timeout', '1s', '--client', 'true', '--metric', 'json:x', '--set', 'net.ipv4.tcp_sack=0', '--reps', '1', '--lab', name],
      env,
      120_000,
    );
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/the server was not ready after 1(\.\d)? s: nt-\S+-server has no TCP socket listening on port 7399/);
    expect(withMarker(marker)).toEqual([]);
    expect(netns(`nt-${name}-`)).toEqual([]);
  }, 120_000);

  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${sig} to nettune mid-run: exit ${code}, the client, the server and its daemon gone, no lab left`, async () => {
      const name = labName(sig === 'SIGINT' ? 's' : 't');
      const marker = `h1wl-${sig}-${tag}`;
      const child = spawn(
        process.execPath,
        [BUNDLE, 'experiment', 'run', 'workload', '--server', daemonServer(7303, marker), '--ready', 'tcp:7303', '--client', hangingClient(marker), '--metric', 'json:x', '--timeout', '120s', '--set', 'net.ipv4.tcp_sack=0', '--reps', '1', '--lab', name, '--json'],
        { env: { ...process.env, NETTUNE_NO_INSTALL: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      // the server, its daemon and the client all run: 3 processes with the marker
      // (a wrapper such as a pyenv shim may fork short-lived helpers with the same arguments:
      // wait until exactly the three are there on two polls in a row)
      let stable = 0;
      for (let i = 0; i < 900 && stable < 2; i++) {
        await sleep(150);
        stable = withMarker(marker).length === 3 ? stable + 1 : 0;
      }
      const procs = withMarker(marker);
      expect(procs.length, err).toBe(3);
      expect(new Set(procs.map((p) => p.pgid)).size, 'the daemon left its process group').toBe(3);
      process.kill(child.pid as number, sig); // only nettune, as kill or systemd would
      expect(await exit).toBe(code);
      expect(err).toContain(`stopped by ${sig}`);
      expect((JSON.parse(out) as { error: { exit_code: number } }).error.exit_code).toBe(code);
      expect(withMarker(marker)).toEqual([]);
      expect(netns(`nt-${name}-`)).toEqual([]);
    }, 150_000);
  }
});
