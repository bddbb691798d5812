// The sampler's one long-lived helper process: `tc -s -j -force -batch -`, asked "qdisc show" on
// its stdin once per sample (iproute2 writes each batch command's JSON as one line and flushes
// it), so qdisc drops and backlog cost no process per tick. For --netns it is started once under
// `ip netns exec NS`, which makes it the process inside the namespace whose /proc/PID/net/* and
// /proc/PID/root/sys/class/net the counter reader reads.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readlinkSync, realpathSync, statSync } from 'node:fs';
import { parseToolJson } from '../probe/assemble.js';
import { checkNetns, NETNS_DIR } from '../probe/netns.js';
import { environmentError } from '../sys/errors.js';
import { sleep } from '../sys/process.js';
import { requireTool } from '../sys/tools.js';

/** One qdisc's counters from `tc -s -j qdisc show` (bytes … requeues count up; backlog and qlen
 *  are levels). */
export interface QdiscCounters {
  dev: string;
  kind: string;
  handle: string;
  parent: string | null;
  root: boolean;
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  backlog: number;
  qlen: number;
}

export interface Holder {
  pid: number;
  /** The qdiscs now, or why they could not be read. */
  qdiscs(): Promise<{ data: QdiscCounters[]; error: string | null }>;
  alive(): boolean;
  close(): void;
}

const QUERY_TIMEOUT_MS = 2000;
const START_TIMEOUT_MS = 5000;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** `tc -s -j qdisc show` output → counters; entries without a device are skipped. */
export function parseQdiscJson(text: string): QdiscCounters[] {
  const doc = parseToolJson(text);
  if (!Array.isArray(doc)) throw new Error('tc -j qdisc: expected a JSON array');
  const out: QdiscCounters[] = [];
  for (const q of doc) {
    if (typeof q !== 'object' || q === null) continue;
    const r = q as Record<string, unknown>;
    const dev = str(r.dev);
    if (!dev) continue;
    out.push({
      dev,
      kind: str(r.kind) ?? '?',
      handle: str(r.handle) ?? '',
      parent: str(r.parent),
      root: r.root === true,
      bytes: num(r.bytes),
      packets: num(r.packets),
      drops: num(r.drops),
      overlimits: num(r.overlimits),
      requeues: num(r.requeues),
      backlog: num(r.backlog),
      qlen: num(r.qlen),
    });
  }
  return out;
}

/** The inode of a namespace file (/run/netns/NS, /proc/PID/ns/net), null when it cannot be stat'ed. */
export const netnsInode = (path: string): number | null => {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
};

/** Starts the helper (in `netns` when given: the name is checked first, exit 2 when unknown). */
export async function startHolder(netns: string | null): Promise<Holder> {
  const tc = requireTool('tc');
  const tcArgs = ['-s', '-j', '-force', '-batch', '-'];
  if (netns !== null) checkNetns(netns);
  const [file, args] = netns === null ? [tc, tcArgs] : [requireTool('ip'), ['netns', 'exec', netns, tc, ...tcArgs]];
  const child: ChildProcessWithoutNullStreams = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let exited: string | null = null;
  let stderr = '';
  child.on('exit', (code, sig) => (exited = `exited (${sig ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
  child.on('error', (err) => (exited = err.message));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  child.stdin.on('error', () => undefined); // a dead helper is reported by alive()/qdiscs()
  const pid = child.pid;
  const close = (): void => {
    if (exited === null) child.kill('SIGTERM');
  };
  if (pid === undefined) throw environmentError(`cannot start ${file}: ${exited ?? 'no pid'}`);

  if (netns !== null) {
    // ip netns exec enters the namespace, remounts /sys for it, then execs tc under the same
    // pid: wait for the exec (before it, /proc/PID/root/sys may be the half-remounted one).
    const want = netnsInode(`${NETNS_DIR}/${netns}`);
    const tcReal = realpathSync(tc);
    const exe = (): string | null => {
      try {
        return readlinkSync(`/proc/${pid}/exe`);
      } catch {
        return null;
      }
    };
    const t0 = Date.now();
    while (netnsInode(`/proc/${pid}/ns/net`) !== want || exe() !== tcReal) {
      if (exited !== null || Date.now() - t0 > START_TIMEOUT_MS) {
        close();
        const hint = process.getuid?.() === 0 ? `is ${NETNS_DIR}/${netns} a network namespace? (ip netns list)` : 'entering a namespace needs root';
        throw environmentError(`cannot enter network namespace ${netns}: ip netns exec ${exited ?? 'did not enter it in time'}`, hint);
      }
      await sleep(5);
    }
  }

  let buf = '';
  let waiting: ((line: string | null) => void) | null = null;
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const nl = buf.indexOf('\n');
    if (nl >= 0 && waiting) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiting;
      waiting = null;
      w(line);
    }
  });
  child.on('exit', () => waiting?.(null));
  let chain: Promise<unknown> = Promise.resolve();

  const ask = (): Promise<{ data: QdiscCounters[]; error: string | null }> =>
    new Promise((resolve) => {
      if (exited !== null) return resolve({ data: [], error: `tc helper ${exited}` });
      buf = '';
      const timer = setTimeout(() => {
        waiting = null;
        resolve({ data: [], error: `tc -s -j qdisc show: no answer within ${QUERY_TIMEOUT_MS} ms` });
      }, QUERY_TIMEOUT_MS);
      waiting = (line) => {
        clearTimeout(timer);
        if (line === null) return resolve({ data: [], error: `tc helper ${exited ?? 'exited'}` });
        try {
          resolve({ data: parseQdiscJson(line), error: null });
        } catch (err) {
          resolve({ data: [], error: `tc -s -j qdisc show: ${(err as Error).message}` });
        }
      };
      child.stdin.write('qdisc show\n');
    });

  return {
    pid,
    qdiscs: () => {
      const p = chain.then(ask);
      chain = p;
      return p;
    },
    alive: () => exited === null,
    close,
  };
}
