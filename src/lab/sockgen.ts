// nettune's own bulk-transfer generator over IPPROTO_MPTCP (262) or IPPROTO_TCP sockets. iperf3
// cannot open MPTCP sockets by itself (it needs mptcpize's LD_PRELOAD, which Debian 12's mptcpd
// 0.12 does not ship) and Node cannot open them either, so both ends are small python3 programs:
// socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) is all the kernel needs (Documentation/networking/
// mptcp.rst: "an MPTCP socket is created with IPPROTO_MPTCP"; the in-kernel path manager adds the
// subflows). Bounded in bytes and time; the server measures goodput (bytes it received per second
// after the omitted slow start), the client reports MPTCP_INFO's subflow count.
import { environmentError, usageError } from '../sys/errors.js';
import { requireTool } from '../sys/tools.js';
import { sleep } from '../sys/process.js';
import { startProcess } from './bench-util.js';

export const IPPROTO_MPTCP = 262; // include/uapi/linux/in.h
export const IPPROTO_TCP = 6;

const SERVER = `
import json, socket, sys, time
port, proto, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(8)
s.settimeout(hold)
print("ready", flush=True)
c, _ = s.accept()
c.settimeout(hold)
buf = bytearray(1 << 20)
buckets, total, t0 = [], 0, None
while True:
    n = c.recv_into(buf)
    if n == 0:
        break
    now = time.monotonic()
    if t0 is None:
        t0 = now
    i = int(now - t0)
    while len(buckets) <= i:
        buckets.append(0)
    buckets[i] += n
    total += n
elapsed = time.monotonic() - t0 if t0 is not None else 0.0
print(json.dumps({"bytes": total, "buckets": buckets, "elapsed_s": elapsed}), flush=True)
c.close()
`;

const CLIENT = `
import json, socket, sys, time
host, port, proto, seconds, max_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
s.settimeout(5)
for attempt in range(50):
    try:
        s.connect((host, port))
        break
    except ConnectionRefusedError:
        time.sleep(0.1)
else:
    raise SystemExit("could not connect")
s.settimeout(seconds + 10)
chunk = b"n" * (1 << 17)
sent, t0 = 0, time.monotonic()
end = t0 + seconds
subflows = None
while time.monotonic() < end and sent < max_bytes:
    sent += s.send(chunk)
    if subflows is None and time.monotonic() - t0 > seconds / 2:
        try:
            info = s.getsockopt(284, 1, 256)  # SOL_MPTCP, MPTCP_INFO: struct mptcp_info
            subflows = info[0] if len(info) > 0 else None  # mptcpi_subflows: subflows beyond the first
        except OSError:
            subflows = -1  # not an MPTCP connection (TCP socket, or fell back to TCP)
elapsed = time.monotonic() - t0
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print(json.dumps({"sent": sent, "elapsed_s": elapsed, "subflows": subflows}), flush=True)
`;

export interface SockgenResult {
  /** Goodput the server received over the measured window (after omit_s). */
  bps: number;
  sender_bps: number;
  series: number[];
  /** Extra MPTCP subflows in use mid-transfer (mptcpi_subflows); null: not an MPTCP connection. */
  mptcp_subflows: number | null;
}

const lastJson = (text: string): unknown => {
  const line = text.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) return null;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return null;
  }
};

/** One bounded transfer client → server (each end in its namespace, or here when null). */
export async function sockgenThroughput(o: { clientNs: string | null; serverNs: string | null; target: string; port: number; proto: number; duration_s: number; omit_s: number; max_bytes?: number; /** Called as the client starts. */ onStart?: () => void }): Promise<SockgenResult> {
  if (o.duration_s < 1 || o.duration_s > 300) throw usageError('--duration must be between 1 and 300 s');
  const seconds = o.duration_s + o.omit_s;
  const maxBytes = o.max_bytes ?? 64 * 2 ** 30; // 64 GiB: far above what the time allows, still a bound
  const py = requireTool('python3');
  const inNs = (ns: string | null, args: string[]): [string, string[]] => (ns ? [requireTool('ip'), ['netns', 'exec', ns, py, ...args]] : [py, args]);
  const server = startProcess(...inNs(o.serverNs, ['-c', SERVER, String(o.port), String(o.proto), String(seconds + 20)]));
  let client: ReturnType<typeof startProcess> | null = null;
  let backstop: NodeJS.Timeout | undefined;
  try {
    for (let i = 0; i < 100 && !server.output().includes('ready'); i++) await sleep(50);
    if (!server.output().includes('ready')) throw environmentError(`socket generator server did not start: ${server.output().trim().split('\n').pop() ?? ''}`);
    client = startProcess(...inNs(o.clientNs, ['-c', CLIENT, o.target, String(o.port), String(o.proto), String(seconds), String(maxBytes)]));
    o.onStart?.();
    const timedOut = await Promise.race([Promise.all([client.exited, server.exited]).then(() => false), new Promise<boolean>((r) => (backstop = setTimeout(() => r(true), (seconds + 30) * 1000)))]);
    if (timedOut) throw environmentError(`socket generator did not finish within ${seconds + 30} s`);
    const s = lastJson(server.output()) as { bytes: number; buckets: number[]; elapsed_s: number } | null;
    const c = lastJson(client.output()) as { sent: number; elapsed_s: number; subflows: number | null } | null;
    if (!s || !c) throw environmentError(`socket generator failed: ${(client.output() + server.output()).trim().split('\n').slice(-2).join(' | ')}`);
    // whole seconds after the omitted ones; the last bucket is partial (the client stops mid-second)
    const measured = s.buckets.slice(o.omit_s, o.omit_s + o.duration_s).filter((_, i, a) => i < a.length - 1 || a.length === o.duration_s);
    const series = measured.map((b) => b * 8);
    const bps = series.length ? series.reduce((a, b) => a + b, 0) / series.length : (s.bytes * 8) / Math.max(s.elapsed_s, 1e-9);
    return { bps, sender_bps: (c.sent * 8) / Math.max(c.elapsed_s, 1e-9), series, mptcp_subflows: c.subflows === null || c.subflows < 0 ? null : c.subflows };
  } finally {
    clearTimeout(backstop);
    for (const p of [client, server]) {
      if (!p) continue;
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
}
