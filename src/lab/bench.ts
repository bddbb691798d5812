// Benchmarks inside a lab (client namespace → server namespace) or against a loopback/lab target:
// throughput (iperf3 --json, or nettune's MPTCP/TCP socket generator in sockgen.ts) and rr/crr
// (nettune's own bounded generator). The connection-level ones (backlog, keepalive, Fast Open)
// are in bench-conn.ts and re-exported here. Every load is bounded in count and time and targets
// only loopback or 198.18.0.0/15.
import { createServer, connect, type Socket } from 'node:net';
import { probe } from '../probe/index.js';
import { probeInNetns } from '../probe/netns.js';
import { environmentError, usageError } from '../sys/errors.js';
import { sleep } from '../sys/process.js';
import { run } from '../sys/run.js';
import { checkTarget, inNs, nextPort, startProcess, tool } from './bench-util.js';
import { IPPROTO_MPTCP, IPPROTO_TCP, sockgenThroughput } from './sockgen.js';

export { allowedTarget, checkTarget } from './bench-util.js';
export { backlogBench, connectBurst, keepaliveBench, tfoBench, type BacklogResult, type KeepaliveResult, type TfoResult } from './bench-conn.js';

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
  const server = o.startServer ? startProcess(...iperf(o.serverNs, ['-s', '-1', '--forceflush', '-p', String(port), '--bind', o.target === 'localhost' ? '127.0.0.1' : o.target])) : null;
  try {
    // iperf3 -s says "Server listening on PORT" once bound (--forceflush: a pipe is otherwise
    // block-buffered and the line would only come at exit); under load that can take seconds.
    if (server) {
      let exited = false;
      void server.exited.then(() => (exited = true));
      for (let i = 0; i < 200 && !exited && !/Server listening/.test(server.output()); i++) await sleep(50);
      if (exited) throw environmentError(`iperf3 server exited: ${server.output().trim().split('\n').pop() ?? ''}`);
    }
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
  /** The server's port (default: a fresh one); fixed where a ruleset names it. */
  port?: number;
}

/** Runs the generator's server and client as nettune processes in the lab namespaces. */
export async function rrBench(o: RrBenchOptions, self: { node: string; script: string }): Promise<RrResult> {
  checkTarget(o.target);
  const port = o.port ?? nextPort();
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
