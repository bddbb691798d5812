// The traffic of the conntrack experiments: a bounded flood of short UDP flows (client side) with
// a DNS-like responder (server side); the TCP listener is nettune's rr server. Each flow is one
// 32-byte datagram from its own, explicitly bound source port, so no two flows share a 5-tuple and
// every one is a new conntrack entry on a router that tracks them; the responder answers each
// datagram once (a request/reply exchange: the entry sees a reply but is never ASSURED, which for
// UDP needs traffic both ways for more than 2 s — nf_conntrack_proto_udp.c, nf_conntrack_udp_packet).
// Bounded in flows, rate and seconds; targets only lab addresses (checkTarget).
import { environmentError, usageError } from '../sys/errors.js';
import { sleep } from '../sys/process.js';
import { checkTarget, inNs, startProcess, tool } from './bench-util.js';

const FLOOD = `
import json, socket, sys, time
host, port, flows, fill, rate, max_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
t0 = time.monotonic()
t_fill = None
sent = errors = 0
payload = b"q" * 32
for i in range(flows):
    now = time.monotonic()
    if now - t0 > max_s:
        break
    if t_fill is not None and rate > 0:
        due = t_fill + (i - fill) / rate
        if due > now:
            time.sleep(due - now)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("0.0.0.0", 20000 + i % 40000))
        s.sendto(payload, (host, port))
        sent += 1
    except OSError:
        errors += 1
    finally:
        s.close()
    if t_fill is None and i + 1 >= fill:
        t_fill = time.monotonic()
        print(json.dumps({"filled": sent, "fill_s": t_fill - t0}), flush=True)
print(json.dumps({"sent": sent, "errors": errors, "elapsed_s": time.monotonic() - t0}), flush=True)
`;

const RESPONDER = `
import socket, sys, time
port, hold = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port))
s.settimeout(0.2)
print("ready", flush=True)
end = time.monotonic() + hold
while time.monotonic() < end:
    try:
        d, a = s.recvfrom(2048)
    except socket.timeout:
        continue
    s.sendto(d, a)
`;

export type Proc = ReturnType<typeof startProcess>;

/** The UDP responder, or nettune's own rr server as the TCP listener (it accepts every connect;
 *  a connect that sends nothing just waits until the client closes it), in a namespace; both say
 *  "ready" once listening. */
export async function startListener(kind: 'udp-responder' | 'tcp-acceptor', ns: string, port: number, hold_s: number, self: { node: string; script: string }): Promise<Proc> {
  const p =
    kind === 'udp-responder'
      ? startProcess(...inNs(ns, 'python3', ['-c', RESPONDER, String(port), String(hold_s)]))
      : startProcess(tool('ip'), ['netns', 'exec', ns, self.node, self.script, '__rr-server', String(port), '64', String(hold_s * 1000)]);
  for (let i = 0; i < 100 && !p.output().includes('ready'); i++) await sleep(50);
  if (!p.output().includes('ready')) {
    await stop(p);
    throw environmentError(`${kind} did not start in ${ns}: ${p.output().trim().split('\n').pop() ?? 'no output'}`);
  }
  return p;
}

export async function stop(p: Proc | null): Promise<void> {
  if (!p) return;
  p.child.kill('SIGKILL');
  await p.exited;
}

export interface FloodOptions {
  ns: string;
  target: string;
  port: number;
  /** Total flows (datagrams from distinct source ports), at most 40 000. */
  flows: number;
  /** The first `fill` flows go as fast as the sender can; then `rate` flows per second. */
  fill: number;
  rate: number;
  max_s: number;
}

export interface FloodResult {
  sent: number;
  errors: number;
  elapsed_s: number;
}

export interface Flood {
  /** Resolves once the first `fill` flows are out (or the flood ended before that). */
  filled: Promise<{ filled: number; fill_s: number } | null>;
  done: () => Promise<FloodResult>;
  /** Stops it now (cleanup on failure). */
  kill: () => Promise<void>;
}

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

export function startFlood(o: FloodOptions): Flood {
  checkTarget(o.target);
  if (!(o.flows >= 1 && o.flows <= 40_000)) throw usageError('the flood is 1 to 40000 flows');
  if (!(o.fill >= 1 && o.fill <= o.flows)) throw usageError('the flood fills with 1 to all of its flows');
  if (!(o.rate >= 0 && o.rate <= 100_000) || !(o.max_s > 0 && o.max_s <= 300)) throw usageError('flood rate 0–100000 flows/s, at most 300 s');
  const p = startProcess(...inNs(o.ns, 'python3', ['-c', FLOOD, o.target, String(o.port), String(o.flows), String(o.fill), String(o.rate), String(o.max_s)]));
  const filled = (async () => {
    for (;;) {
      const f = jsonLines(p.output()).find((j) => 'filled' in j);
      if (f) return { filled: Number(f.filled), fill_s: Number(f.fill_s) };
      if (p.child.exitCode !== null || p.child.signalCode !== null) return null;
      await sleep(20);
    }
  })();
  let backstop: NodeJS.Timeout | undefined;
  const done = async (): Promise<FloodResult> => {
    const ended = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => (backstop = setTimeout(() => r(false), (o.max_s + 10) * 1000)))]);
    clearTimeout(backstop);
    if (!ended) await stop(p);
    const last = jsonLines(p.output()).find((j) => 'sent' in j);
    if (!last) throw environmentError(`UDP flood failed: ${p.output().trim().split('\n').pop() ?? 'no output'}`);
    return { sent: Number(last.sent), errors: Number(last.errors), elapsed_s: Number(last.elapsed_s) };
  };
  return { filled, done, kill: () => stop(p) };
}
