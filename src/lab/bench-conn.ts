// Connection-level benchmarks inside a lab: backlog (a burst of connects against a small accept
// queue, with the server's ListenOverflows/ListenDrops), keepalive (time until a blackholed peer
// is declared dead) and TCP Fast Open (repeat connections with MSG_FASTOPEN). Bounded in count and
// time; targets only loopback or 198.18.0.0/15.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { probe } from '../probe/index.js';
import { probeInNetns } from '../probe/netns.js';
import { environmentError, usageError } from '../sys/errors.js';
import { sleep } from '../sys/process.js';
import { run } from '../sys/run.js';
import { which } from '../sys/tools.js';
import { checkTarget, inNs, nextPort, startProcess, tool } from './bench-util.js';

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
