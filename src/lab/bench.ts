// Benchmarks inside a lab (client namespace → server namespace) or against a loopback/lab target:
// throughput (iperf3 --json), rr and crr (nettune's own bounded generator), backlog (a burst of
// connects against a small accept queue) and keepalive (time until a blackholed peer is dead).
// Every load is bounded in count and time and targets only loopback or 198.18.0.0/15.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { probe } from '../probe/index.js';
import { probeInNetns } from '../probe/netns.js';
import { environmentError, usageError } from '../sys/errors.js';
import { run } from '../sys/run.js';
import { requireTool, which } from '../sys/tools.js';
import { IPPROTO_MPTCP, IPPROTO_TCP, sockgenThroughput } from './sockgen.js';

/** Targets nettune may send load to: loopback and the benchmarking range of its own labs. */
export function allowedTarget(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 127 || (a === 198 && (b === 18 || b === 19));
}

export function checkTarget(host: string): string {
  if (!allowedTarget(host)) throw usageError(`refusing to send load to ${host}`, 'targets must be loopback (127.0.0.0/8, ::1) or a lab address in 198.18.0.0/15');
  return host;
}

const tool = requireTool;

/** argv for a command in a namespace (or here when ns is null). */
const inNs = (ns: string | null, cmd: string, args: string[]): [string, string[]] => (ns ? [tool('ip'), ['netns', 'exec', ns, tool(cmd), ...args]] : [tool(cmd), args]);


function startProcess(file: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { child, output: () => out, exited };
}

export interface ThroughputResult {
  bps: number;
  sender_bps: number;
  retransmits: number | null;
  /** Received bits per second for each one-second interval (all streams). */
  series: number[];
  /** Mean snd_cwnd (bytes) of stream 0 per interval, from the sender. */
  cwnd_bytes: number[];
  rtt_mean_ms: number | null;
  omitted_s: number;
  duration_s: number;
  parallel: number;
  /** The sender's congestion control as iperf3 reports it. */
  congestion?: string;
  /** nettune's socket generator only: extra MPTCP subflows mid-transfer (null: plain TCP). */
  mptcp_subflows?: number | null;
}

interface IperfInterval {
  sum?: { bits_per_second?: number; omitted?: boolean };
  streams?: { snd_cwnd?: number; rtt?: number; omitted?: boolean }[];
}
interface IperfJson {
  error?: string;
  intervals?: IperfInterval[];
  end?: {
    sum_received?: { bits_per_second?: number };
    sum_sent?: { bits_per_second?: number; retransmits?: number };
    streams?: { sender?: { mean_rtt?: number } }[];
    sender_tcp_congestion?: string;
  };
}

/** Parses iperf3 --json client output (exported for tests). */
export function parseIperf(text: string, meta: { omit: number; duration: number; parallel: number }): ThroughputResult {
  let doc: IperfJson;
  try {
    doc = JSON.parse(text) as IperfJson;
  } catch {
    throw environmentError(`iperf3 printed no JSON: ${text.slice(0, 200)}`);
  }
  if (doc.error) throw environmentError(`iperf3: ${doc.error}`);
  const intervals = (doc.intervals ?? []).filter((i) => !i.sum?.omitted);
  const rtts = (doc.end?.streams ?? []).map((s) => s.sender?.mean_rtt).filter((x): x is number => typeof x === 'number');
  return {
    bps: doc.end?.sum_received?.bits_per_second ?? 0,
    sender_bps: doc.end?.sum_sent?.bits_per_second ?? 0,
    retransmits: doc.end?.sum_sent?.retransmits ?? null,
    series: intervals.map((i) => i.sum?.bits_per_second ?? 0),
    cwnd_bytes: intervals.map((i) => i.streams?.[0]?.snd_cwnd ?? 0),
    rtt_mean_ms: rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length / 1000 : null,
    omitted_s: meta.omit,
    duration_s: meta.duration,
    parallel: meta.parallel,
    ...(doc.end?.sender_tcp_congestion ? { congestion: doc.end.sender_tcp_congestion } : {}),
  };
}

let portSeq = 0;
const nextPort = (): number => 20000 + ((process.pid * 7 + portSeq++) % 20000);

export interface ThroughputOptions {
  clientNs: string | null;
  serverNs: string | null;
  target: string;
  duration_s: number;
  omit_s: number;
  parallel: number;
  /** Start the iperf3 server (lab or loopback); false when one is already listening at target. */
  startServer: boolean;
  congestion?: string;
  /** Use nettune's own socket generator (src/lab/sockgen.ts) instead of iperf3, with
   *  IPPROTO_MPTCP (true) or IPPROTO_TCP (false) sockets; absent: iperf3. */
  mptcp?: boolean;
}

const CC_NAME = /^[a-z0-9_]{1,15}$/;

/** Checks a per-socket congestion control against the algorithms the (namespace's) kernel has:
 *  a root process may pick any available one per socket (TCP_CONGESTION), allowed list or not. */
export async function checkCongestion(name: string, ns: string | null): Promise<string> {
  if (!CC_NAME.test(name)) throw usageError(`--congestion ${JSON.stringify(name)}: not an algorithm name`, 'lower-case letters, digits and _ (e.g. cubic, bbr, reno)');
  const snap = ns ? await probeInNetns(ns) : await probe();
  const available = snap.congestion_control.available;
  if (available.length && !available.includes(name)) throw usageError(`--congestion ${name}: not available in ${ns ? `namespace ${ns}` : 'this kernel'}`, `available: ${available.join(' ')} (net.ipv4.tcp_available_congestion_control)`);
  return name;
}

export async function throughput(o: ThroughputOptions): Promise<ThroughputResult> {
  checkTarget(o.target);
  if (o.duration_s < 1 || o.duration_s > 300) throw usageError('--duration must be between 1 and 300 s');
  if (o.parallel < 1 || o.parallel > 64) throw usageError('--parallel must be between 1 and 64');
  if (o.congestion) await checkCongestion(o.congestion, o.clientNs);
  const port = nextPort();
  if (o.mptcp !== undefined) {
    if (o.parallel !== 1) throw usageError('the socket generator runs one connection (--parallel 1)');
    if (o.congestion) throw usageError('--congestion is for iperf3 runs, not the socket generator');
    const r = await sockgenThroughput({ clientNs: o.clientNs, serverNs: o.serverNs, target: o.target === 'localhost' ? '127.0.0.1' : o.target, port, proto: o.mptcp ? IPPROTO_MPTCP : IPPROTO_TCP, duration_s: o.duration_s, omit_s: o.omit_s });
    return { bps: r.bps, sender_bps: r.sender_bps, retransmits: null, series: r.series, cwnd_bytes: [], rtt_mean_ms: null, omitted_s: o.omit_s, duration_s: o.duration_s, parallel: 1, mptcp_subflows: r.mptcp_subflows };
  }
  const iperf = (ns: string | null, args: string[]): [string, string[]] => inNs(ns, 'iperf3', args);
  const server = o.startServer ? startProcess(...iperf(o.serverNs, ['-s', '-1', '-p', String(port), '--bind', o.target === 'localhost' ? '127.0.0.1' : o.target])) : null;
  try {
    const args = ['-c', o.target, '-p', String(o.startServer ? port : 5201), '-t', String(o.duration_s), '-O', String(o.omit_s), '-P', String(o.parallel), '--json'];
    if (o.congestion) args.push('-C', o.congestion);
    const [file, argv] = iperf(o.clientNs, args);
    const timeoutMs = (o.duration_s + o.omit_s + 30) * 1000;
    for (let attempt = 0; ; attempt++) {
      const r = await run(file, argv, { timeoutMs });
      if (r.ok || attempt >= 20 || !/unable to connect|Connection refused/i.test(r.stdout + r.stderr)) {
        return parseIperf(r.stdout || r.stderr, { omit: o.omit_s, duration: o.duration_s, parallel: o.parallel });
      }
      await sleep(100); // server not listening yet
    }
  } finally {
    server?.child.kill('SIGKILL');
    await server?.exited;
  }
}

/* ------------------------- request/response generator -------------------------------------- */

export interface RrOptions {
  host: string;
  port: number;
  mode: 'rr' | 'crr';
  duration_s: number;
  /** Upper bound on transactions (all connections together). */
  max_transactions: number;
  connections: number;
  size: number;
}

export interface RrResult {
  mode: 'rr' | 'crr';
  transactions: number;
  errors: number;
  elapsed_s: number;
  tps: number;
  /** Latency of each transaction in ms (sampled: at most 200 000 kept). */
  latencies_ms: number[];
}

/** Fixed-size echo server for rr/crr: answers each request of `size` bytes with `size` bytes.
 *  Runs until `stopAfterMs` (bounded) or SIGTERM. */
export function rrServer(port: number, size: number, stopAfterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const reply = Buffer.alloc(size, 0x61);
    const server = createServer({ noDelay: true }, (sock: Socket) => {
      let pending = 0;
      sock.on('data', (d: Buffer) => {
        pending += d.length;
        while (pending >= size) {
          pending -= size;
          sock.write(reply);
        }
      });
      sock.on('error', () => undefined);
    });
    server.on('error', reject);
    server.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => {
      process.stdout.write('ready\n');
    });
    const stop = (): void => {
      server.close();
      resolve();
    };
    setTimeout(stop, stopAfterMs).unref();
    process.once('SIGTERM', stop);
  });
}

export async function rrClient(o: RrOptions): Promise<RrResult> {
  checkTarget(o.host);
  const request = Buffer.alloc(o.size, 0x62);
  const latencies: number[] = [];
  const deadline = performance.now() + o.duration_s * 1000;
  let done = 0;
  let errors = 0;
  const t0 = performance.now();
  const keep = (ms: number): void => {
    if (latencies.length < 200_000) latencies.push(ms);
  };
  const more = (): boolean => performance.now() < deadline && done + errors < o.max_transactions;

  const oneExchange = (sock: Socket): Promise<void> =>
    new Promise((resolve, reject) => {
      let got = 0;
      const onData = (d: Buffer): void => {
        got += d.length;
        if (got >= o.size) {
          sock.off('data', onData);
          sock.off('error', reject);
          resolve();
        }
      };
      sock.on('data', onData);
      sock.once('error', reject);
      sock.write(request);
    });

  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect({ host: o.host, port: o.port, noDelay: true });
      s.setTimeout(5000, () => s.destroy(new Error('timeout')));
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });

  const worker = async (): Promise<void> => {
    if (o.mode === 'rr') {
      let sock: Socket;
      try {
        sock = await open();
      } catch {
        errors++;
        return;
      }
      while (more()) {
        const s = performance.now();
        try {
          await oneExchange(sock);
          keep(performance.now() - s);
          done++;
        } catch {
          errors++;
          break;
        }
      }
      sock.destroy();
      return;
    }
    while (more()) {
      const s = performance.now();
      try {
        const sock = await open();
        await oneExchange(sock);
        sock.end();
        keep(performance.now() - s);
        done++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  return { mode: o.mode, transactions: done, errors, elapsed_s: elapsed, tps: done / elapsed, latencies_ms: latencies };
}

export interface RrBenchOptions {
  clientNs: string | null;
  serverNs: string | null;
  target: string;
  mode: 'rr' | 'crr';
  duration_s: number;
  connections: number;
  size: number;
  max_transactions: number;
}

/** Runs the generator's server and client as nettune processes in the lab namespaces. */
export async function rrBench(o: RrBenchOptions, self: { node: string; script: string }): Promise<RrResult> {
  checkTarget(o.target);
  const port = nextPort();
  const serverArgs = [self.script, '__rr-server', String(port), String(o.size), String((o.duration_s + 30) * 1000)];
  const server = startProcess(...(o.serverNs ? ([tool('ip'), ['netns', 'exec', o.serverNs, self.node, ...serverArgs]] as [string, string[]]) : ([self.node, serverArgs] as [string, string[]])));
  try {
    for (let i = 0; i < 100 && !server.output().includes('ready'); i++) await sleep(50);
    if (!server.output().includes('ready')) throw environmentError(`rr server did not start: ${server.output().slice(0, 300)}`);
    const clientArgs = [self.script, '__rr-client', JSON.stringify({ host: o.target, port, mode: o.mode, duration_s: o.duration_s, max_transactions: o.max_transactions, connections: o.connections, size: o.size })];
    const [file, argv] = o.clientNs ? [tool('ip'), ['netns', 'exec', o.clientNs, self.node, ...clientArgs]] : [self.node, clientArgs];
    const r = await run(file, argv, { timeoutMs: (o.duration_s + 60) * 1000, maxBuffer: 256 * 1024 * 1024 });
    if (!r.ok) throw environmentError(`rr client failed: ${r.error ?? ''} ${r.stderr.slice(0, 300)}`);
    return JSON.parse(r.stdout) as RrResult;
  } finally {
    server.child.kill('SIGTERM');
    let t: NodeJS.Timeout | undefined;
    await Promise.race([server.exited, new Promise<void>((r) => (t = setTimeout(r, 2000)))]);
    clearTimeout(t);
    server.child.kill('SIGKILL');
  }
}

/* ------------------------------- backlog and keepalive -------------------------------------- */

const BACKLOG_SERVER = `
import socket, sys, time
port, backlog, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(backlog)
print("ready", flush=True)
time.sleep(hold)  # never accept: the accept queue fills
`;

export interface BacklogResult {
  attempted: number;
  connected: number;
  failed: number;
  /** Connects that only completed after a retransmitted SYN (slower than 900 ms). */
  slow: number;
  backlog: number;
  /** TcpExt.ListenOverflows / ListenDrops of the server's namespace during the burst. */
  listen_overflows: number | null;
  listen_drops: number | null;
}

/** The server side's listen counters, from a Snapshot of its namespace (or of this one). */
async function listenCounters(ns: string | null): Promise<{ overflows: number | null; drops: number | null }> {
  const snap = ns ? await probeInNetns(ns) : await probe();
  return { overflows: snap.counters.netstat.TcpExt?.ListenOverflows ?? null, drops: snap.counters.netstat.TcpExt?.ListenDrops ?? null };
}
const delta = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : b - a);

/** A burst of `connects` concurrent connects against a listener with accept backlog `backlog`
 *  that never accepts. */
export async function backlogBench(o: { clientNs: string | null; serverNs: string | null; target: string; backlog: number; connects: number }, self: { node: string; script: string }): Promise<BacklogResult> {
  checkTarget(o.target);
  if (o.connects < 1 || o.connects > 5000) throw usageError('--connects must be between 1 and 5000');
  const port = nextPort();
  const server = startProcess(...inNs(o.serverNs, 'python3', ['-c', BACKLOG_SERVER, String(port), String(o.backlog), '20']));
  try {
    for (let i = 0; i < 100 && !server.output().includes('ready'); i++) await sleep(50);
    if (!server.output().includes('ready')) throw environmentError(`backlog server did not start: ${server.output().slice(0, 300)}`);
    const before = await listenCounters(o.serverNs);
    const args = [self.script, '__connect-burst', JSON.stringify({ host: o.target, port, count: o.connects, timeout_ms: 4000 })];
    const [file, argv] = o.clientNs ? [tool('ip'), ['netns', 'exec', o.clientNs, self.node, ...args]] : [self.node, args];
    const r = await run(file, argv, { timeoutMs: 60_000 });
    if (!r.ok) throw environmentError(`connect burst failed: ${r.stderr.slice(0, 300)}`);
    const res = JSON.parse(r.stdout) as { connected: number; failed: number; slow: number };
    const after = await listenCounters(o.serverNs);
    return { attempted: o.connects, ...res, backlog: o.backlog, listen_overflows: delta(before.overflows, after.overflows), listen_drops: delta(before.drops, after.drops) };
  } finally {
    server.child.kill('SIGKILL');
    await server.exited;
  }
}

/** The client side of the backlog bench: `count` concurrent connects, each bounded by timeout. */
export async function connectBurst(o: { host: string; port: number; count: number; timeout_ms: number }): Promise<{ connected: number; failed: number; slow: number }> {
  checkTarget(o.host);
  let connected = 0;
  let failed = 0;
  let slow = 0;
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from(
      { length: o.count },
      () =>
        new Promise<void>((resolve) => {
          const t = performance.now();
          const s = connect({ host: o.host, port: o.port });
          sockets.push(s);
          const timer = setTimeout(() => {
            failed++;
            s.destroy();
            resolve();
          }, o.timeout_ms);
          s.once('connect', () => {
            clearTimeout(timer);
            connected++;
            if (performance.now() - t > 900) slow++;
            resolve();
          });
          s.once('error', () => {
            clearTimeout(timer);
            failed++;
            resolve();
          });
        }),
    ),
  );
  for (const s of sockets) s.destroy();
  return { connected, failed, slow };
}

const KEEPALIVE_CLIENT = `
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)   # times and counts from the namespace's sysctls
s.settimeout(limit)
print("connected", flush=True)
sys.stdin.readline()                                         # the blackhole is in place
t = time.monotonic()
try:
    s.recv(1)
    print("closed %.3f" % (time.monotonic() - t), flush=True)
except OSError as e:
    # socket.timeout is TimeoutError since 3.10, as is the kernel's ETIMEDOUT: only our own
    # settimeout() expiry has no errno.
    if e.errno is None:
        print("limit %.3f" % (time.monotonic() - t), flush=True)
    else:
        print("dead %.3f %s" % (time.monotonic() - t, e.errno), flush=True)
`;

export interface KeepaliveResult {
  /** Seconds from blackholing the peer until the kernel declared the connection dead (null: not within the limit). */
  detected_s: number | null;
  limit_s: number;
  outcome: 'dead' | 'limit' | 'closed';
}

/** Connects client → server, blackholes the server (nft drop, else link down), and times how long
 *  keepalive takes to declare it dead. The server namespace must be disposable (a lab's). */
export async function keepaliveBench(o: { clientNs: string; serverNs: string; target: string; limit_s: number }): Promise<KeepaliveResult> {
  checkTarget(o.target);
  const port = nextPort();
  const server = startProcess(...inNs(o.serverNs, 'python3', ['-c', 'import socket,sys,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(("0.0.0.0",int(sys.argv[1])));s.listen(8);print("ready",flush=True);c,_=s.accept();time.sleep(float(sys.argv[2]))', String(port), String(o.limit_s + 30)]));
  let client: ReturnType<typeof spawn> | null = null;
  try {
    // The client connects as soon as it starts: the server must be listening first.
    for (let i = 0; i < 100 && !server.output().includes('ready'); i++) await sleep(50);
    if (!server.output().includes('ready')) throw environmentError(`keepalive server did not start: ${server.output().trim().split('\n').pop() ?? ''}`);
    const c = spawn(tool('ip'), ['netns', 'exec', o.clientNs, tool('python3'), '-c', KEEPALIVE_CLIENT, o.target, String(port), String(o.limit_s)], { stdio: ['pipe', 'pipe', 'pipe'] });
    client = c;
    let out = '';
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => c.on('exit', () => r()));
    for (let i = 0; i < 100 && !out.includes('connected'); i++) await sleep(50);
    if (!out.includes('connected')) throw environmentError(`keepalive client could not connect: ${out.trim().split('\n').pop() ?? ''}`);
    const nft = which('nft');
    const blackhole = nft
      ? await run(tool('ip'), ['netns', 'exec', o.serverNs, nft, 'add table ip nettune_blackhole; add chain ip nettune_blackhole in { type filter hook input priority -300; policy drop; }'])
      : await run(tool('ip'), ['-n', o.serverNs, 'link', 'set', 'nt0', 'down']);
    if (!blackhole.ok) throw environmentError(`could not blackhole the server: ${blackhole.stderr.trim()}`);
    c.stdin?.write('go\n');
    // The client exits as soon as it has a verdict (dead, closed, or its own limit); the timer is
    // only a backstop and is cleared, so nothing keeps nettune waiting after the verdict.
    let backstop: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => (backstop = setTimeout(r, (o.limit_s + 20) * 1000)))]);
    clearTimeout(backstop);
    const m = /(dead|limit|closed) ([\d.]+)/.exec(out);
    if (!m) throw environmentError(`keepalive client said: ${out.slice(0, 300)}`);
    const outcome = m[1] as KeepaliveResult['outcome'];
    return { detected_s: outcome === 'dead' ? Number(m[2]) : null, limit_s: o.limit_s, outcome };
  } finally {
    client?.kill('SIGKILL');
    server.child.kill('SIGKILL');
    await server.exited;
    if (which('nft')) await run(tool('ip'), ['netns', 'exec', o.serverNs, tool('nft'), 'delete table ip nettune_blackhole']);
    else await run(tool('ip'), ['-n', o.serverNs, 'link', 'set', 'nt0', 'up']);
  }
}

/* ---------------------------------- TCP Fast Open ------------------------------------------- */

const TFO_SERVER = `
import socket, sys, time
port, hold = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 256)  # only used when tcp_fastopen has 0x2
s.bind(("0.0.0.0", port))
s.listen(1024)
s.settimeout(1)
print("ready", flush=True)
end = time.monotonic() + hold
while time.monotonic() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.recv(64)
    c.sendall(b"x" * 64)
    c.close()
`;

const TFO_CLIENT = `
import json, socket, sys, time
host, port, count, dur = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
lat, errors, end = [], 0, time.monotonic() + dur
for i in range(count):
    if time.monotonic() > end:
        break
    t = time.monotonic()
    s = socket.socket()
    try:
        # Blocking: with a cached cookie the data leaves in the SYN, without one the kernel
        # completes the handshake first. (A timeout would make the socket non-blocking: EINPROGRESS.)
        s.sendto(b"q" * 64, socket.MSG_FASTOPEN, (host, port))
        s.settimeout(3)
        got = 0
        while got < 64:
            d = s.recv(64 - got)
            if not d:
                break
            got += len(d)
        lat.append((time.monotonic() - t) * 1000)
    except OSError:
        errors += 1
    finally:
        s.close()
print(json.dumps({"latencies_ms": lat, "errors": errors}))
`;
import { sleep } from '../sys/process.js';

export interface TfoResult {
  connections: number;
  errors: number;
  /** Connect + request + response time per connection, ms; the first (cookie request) excluded. */
  latencies_ms: number[];
}

/** Repeat connections that send their request with MSG_FASTOPEN: with server-side Fast Open and a
 *  cached cookie the request rides in the SYN and the exchange takes one RTT instead of two. */
export async function tfoBench(o: { clientNs: string | null; serverNs: string | null; target: string; count: number; duration_s: number }): Promise<TfoResult> {
  checkTarget(o.target);
  if (o.count < 2 || o.count > 10_000) throw usageError('the connection count must be between 2 and 10000');
  const port = nextPort();
  const server = startProcess(...inNs(o.serverNs, 'python3', ['-c', TFO_SERVER, String(port), String(o.duration_s + 15)]));
  try {
    for (let i = 0; i < 100 && !server.output().includes('ready'); i++) await sleep(50);
    if (!server.output().includes('ready')) throw environmentError(`fast open server did not start: ${server.output().slice(0, 300)}`);
    const [file, argv] = inNs(o.clientNs, 'python3', ['-c', TFO_CLIENT, o.target, String(port), String(o.count), String(o.duration_s)]);
    const r = await run(file, argv, { timeoutMs: (o.duration_s + 30) * 1000 });
    if (!r.ok) throw environmentError(`fast open client failed: ${r.stderr.slice(0, 300)}`);
    const res = JSON.parse(r.stdout) as { latencies_ms: number[]; errors: number };
    return { connections: res.latencies_ms.length, errors: res.errors, latencies_ms: res.latencies_ms.slice(1) };
  } finally {
    server.child.kill('SIGKILL');
    await server.exited;
  }
}
