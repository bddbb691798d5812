// The lab: network namespaces nt-NAME-client / -server (/ -router) joined by emulated links, with
// addresses from 198.18.0.0/15. Delay, jitter and loss come from netem when the kernel has it and
// otherwise from nettune's userspace delay line over TUN; rate from TBF. Idempotent and leak-free:
// `up` first removes whatever a crashed run left, `down` removes namespaces, processes and state.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { stateDir } from '../apply/state.js';
import { environmentError, usageError } from '../sys/errors.js';
import { writeFileAtomic } from '../sys/fs.js';
import { pidAlive, sleep } from '../sys/process.js';
import { run } from '../sys/run.js';
import { ensureTools, installAllowed, isRoot, requireTool } from '../sys/tools.js';

export const TOPOLOGIES = ['pair', 'router', 'multipath'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

export const LAB_NAME = /^[a-z0-9][a-z0-9-]{0,15}$/;

export interface LinkEmulation {
  rate_bps: number | null;
  /** Round-trip time added by the link (each direction gets half). */
  rtt_s: number;
  jitter_s: number;
  loss_pct: number;
}

export const labStateSchema = z.object({
  name: z.string(),
  topology: z.enum(TOPOLOGIES),
  link: z.object({ rate_bps: z.number().nullable(), rtt_s: z.number(), jitter_s: z.number(), loss_pct: z.number() }),
  emulator: z.enum(['none', 'netem', 'delayline']),
  namespaces: z.object({ client: z.string(), server: z.string(), router: z.string().nullable() }),
  /** Addresses the client reaches the server at (first = primary path). */
  server_addrs: z.array(z.string()),
  client_addrs: z.array(z.string()),
  delaylines: z.array(z.object({ pid: z.number().int(), dev_a: z.string(), dev_b: z.string(), stats_file: z.string() })),
  created_at: z.string(),
});
export type LabState = z.infer<typeof labStateSchema>;

const labsDir = (): string => join(stateDir(), 'labs');
const statePath = (name: string): string => join(labsDir(), `${name}.json`);
export const nsName = (lab: string, role: string): string => `nt-${lab}-${role}`;

export function validLabName(name: string): string {
  if (!LAB_NAME.test(name)) throw usageError(`invalid lab name ${JSON.stringify(name)}`, '1–16 lower-case letters, digits and "-", starting with a letter or digit');
  return name;
}

/** The delay line binary: $NETTUNE_DELAYLINE, else dist/nettune-delayline next to the bundle (or
 *  the source tree's dist when run from tests). */
export function delaylinePath(): string | null {
  const given = process.env.NETTUNE_DELAYLINE;
  if (given) return existsSync(given) ? given : null;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, 'nettune-delayline'), join(here, '..', '..', 'dist', 'nettune-delayline'), join(process.cwd(), 'dist', 'nettune-delayline')]) {
    if (existsSync(p)) return p;
  }
  return null;
}

const tool = requireTool;

/** On a machine that had no C compiler when nettune was built: install one (as root, unless
 *  NETTUNE_NO_INSTALL) and compile the delay line with the project's build script. */
async function buildDelayline(): Promise<string | null> {
  if (process.env.NETTUNE_DELAYLINE) return null;
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = [join(here, '..'), join(here, '..', '..')].find((d) => existsSync(join(d, 'scripts', 'build.mjs')));
  if (!repo) return null;
  const missing = await ensureTools(['cc'], { install: installAllowed(), log: (l) => process.stderr.write(`${l}\n`) });
  if (missing.length) return null;
  process.stderr.write('nettune: compiling the delay line …\n');
  await run(process.execPath, [join(repo, 'scripts', 'build.mjs')], { timeoutMs: 300_000, cwd: repo });
  return delaylinePath();
}

/** Runs ip/tc and fails loudly: a lab half set up is worse than none. */
async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(tool(cmd), args, { timeoutMs: 20_000 });
  if (!r.ok) throw environmentError(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || r.error || 'failed'}`);
  return r.stdout;
}

const ip = (...args: string[]): Promise<string> => must('ip', args);
const inNs = (ns: string, cmd: string, ...args: string[]): Promise<string> => must('ip', ['netns', 'exec', ns, tool(cmd), ...args]);

export function readLab(name: string): LabState | null {
  try {
    const r = labStateSchema.safeParse(JSON.parse(readFileSync(statePath(name), 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** Namespaces that look like a lab's, whether or not a state file exists (crashed runs). */
export function labNamespaces(name?: string): string[] {
  let all: string[] = [];
  try {
    all = readdirSync('/run/netns');
  } catch {
    return [];
  }
  return all.filter((n) => (name ? n.startsWith(`nt-${name}-`) && /^(client|server|router)$/.test(n.slice(`nt-${name}-`.length)) : /^nt-[a-z0-9-]+-(client|server|router)$/.test(n)));
}

export function listLabs(): { name: string; state: LabState | null; namespaces: string[] }[] {
  const names = new Set<string>();
  try {
    for (const f of readdirSync(labsDir())) if (f.endsWith('.json') && !f.endsWith('.stats.json')) names.add(f.slice(0, -5));
  } catch {
    // no labs yet
  }
  for (const ns of labNamespaces()) names.add(ns.replace(/^nt-/, '').replace(/-(client|server|router)$/, ''));
  // The labs directory also holds the delay lines' statistics (ntd….stats.json): not labs.
  return [...names].filter((n) => LAB_NAME.test(n)).sort().map((name) => ({ name, state: readLab(name), namespaces: labNamespaces(name) }));
}

const alive = pidAlive;

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 30 && alive(pid); i++) await sleep(100);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Removes everything of a lab: processes inside its namespaces, delay lines, namespaces, state. */
export async function labDown(name: string, log: (l: string) => void = () => undefined): Promise<{ removed: string[] }> {
  validLabName(name);
  const removed: string[] = [];
  const state = readLab(name);
  for (const dl of state?.delaylines ?? []) {
    await stopPid(dl.pid);
    rmSync(dl.stats_file, { force: true });
  }
  for (const ns of labNamespaces(name)) {
    const pids = await run(tool('ip'), ['netns', 'pids', ns]);
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) await stopPid(pid);
    const del = await run(tool('ip'), ['netns', 'del', ns]);
    if (!del.ok) log(`nettune: ip netns del ${ns}: ${del.stderr.trim()}`);
    else removed.push(ns);
  }
  rmSync(statePath(name), { force: true });
  return { removed };
}

/** Does this kernel have netem? Tried once on a throwaway dummy-free path: a qdisc on lo of a
 *  fresh namespace. */
async function netemAvailable(probeNs: string): Promise<boolean> {
  const r = await run(tool('ip'), ['netns', 'exec', probeNs, tool('tc'), 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
  if (r.ok) await run(tool('ip'), ['netns', 'exec', probeNs, tool('tc'), 'qdisc', 'del', 'dev', 'lo', 'root']);
  return r.ok;
}

const needsEmulation = (l: LinkEmulation): boolean => l.rtt_s > 0 || l.jitter_s > 0 || l.loss_pct > 0;

/** TBF for the rate: burst well above one 64 KB GSO packet; the queue holds about one BDP
 *  (at least 1 MB) in bytes, so GSO super-packets are counted by size. */
async function shape(ns: string, dev: string, l: LinkEmulation): Promise<void> {
  if (l.rate_bps === null) return;
  const bdp = (l.rate_bps * Math.max(l.rtt_s, 0.001)) / 8;
  const limit = Math.max(1_048_576, Math.round(bdp));
  const burst = Math.max(524_288 / 8, Math.round(l.rate_bps / 8 / 250)); // ≥ 512 kbit, ≥ one HZ=250 tick of tokens
  await inNs(ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${Math.round(l.rate_bps)}bit`, 'burst', `${burst}`, 'limit', `${limit}`);
}

interface Wire {
  /** Namespace and device name (inside it) of each end. */
  a: { ns: string; dev: string; addr: string };
  b: { ns: string; dev: string; addr: string };
}

/** One emulated point-to-point link between two namespaces. Returns a delay line record when it
 *  started one. */
async function buildWire(w: Wire, l: LinkEmulation, emulator: LabState['emulator'], tag: string): Promise<LabState['delaylines'][number] | null> {
  let record: LabState['delaylines'][number] | null = null;
  if (emulator === 'delayline') {
    const bin = delaylinePath() ?? (await buildDelayline());
    if (!bin) throw environmentError('no netem in this kernel and the nettune delay line could not be built', 'install a C compiler (apt-get install gcc libc6-dev), then run ./nettune once');
    const devA = `ntd${tag}a`;
    const devB = `ntd${tag}b`;
    const statsFile = join(labsDir(), `${devA}.stats.json`);
    const args = ['--dev-a', devA, '--dev-b', devB, '--delay-us', String(Math.round((l.rtt_s / 2) * 1e6)), '--jitter-us', String(Math.round(l.jitter_s * 1e6)), '--loss-ppm', String(Math.round(l.loss_pct * 1e4)), '--stats-file', statsFile];
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const ready = await new Promise<string | null>((resolve) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => resolve(`no "ready" within 5 s${err ? `: ${err.trim()}` : ''}`), 5000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve(null);
        }
      });
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(`exited with ${code}: ${err.trim()}`);
      });
    });
    if (ready !== null || child.pid === undefined) throw environmentError(`delay line did not start: ${ready ?? 'no pid'}`);
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.unref();
    record = { pid: child.pid, dev_a: devA, dev_b: devB, stats_file: statsFile };
    for (const [end, dev] of [
      [w.a, devA],
      [w.b, devB],
    ] as const) {
      await ip('link', 'set', dev, 'netns', end.ns);
      await ip('-n', end.ns, 'link', 'set', dev, 'name', end.dev);
    }
    await ip('-n', w.a.ns, 'addr', 'add', w.a.addr, 'peer', w.b.addr, 'dev', w.a.dev);
    await ip('-n', w.b.ns, 'addr', 'add', w.b.addr, 'peer', w.a.addr, 'dev', w.b.dev);
  } else {
    await ip('link', 'add', `ntv${tag}a`, 'netns', w.a.ns, 'type', 'veth', 'peer', 'name', `ntv${tag}b`, 'netns', w.b.ns);
    await ip('-n', w.a.ns, 'link', 'set', `ntv${tag}a`, 'name', w.a.dev);
    await ip('-n', w.b.ns, 'link', 'set', `ntv${tag}b`, 'name', w.b.dev);
    await ip('-n', w.a.ns, 'addr', 'add', `${w.a.addr}/30`, 'dev', w.a.dev);
    await ip('-n', w.b.ns, 'addr', 'add', `${w.b.addr}/30`, 'dev', w.b.dev);
  }
  for (const end of [w.a, w.b]) {
    await ip('-n', end.ns, 'link', 'set', end.dev, 'txqueuelen', '10000');
    await ip('-n', end.ns, 'link', 'set', end.dev, 'up');
    if (emulator === 'netem') {
      const args = ['qdisc', 'replace', 'dev', end.dev, 'root', 'handle', '1:', 'netem', 'delay', `${Math.round((l.rtt_s / 2) * 1e6)}us`];
      if (l.jitter_s > 0) args.push(`${Math.round((l.jitter_s) * 1e6)}us`);
      if (l.loss_pct > 0) args.push('loss', `${l.loss_pct}%`);
      if (l.rate_bps !== null) args.push('rate', `${Math.round(l.rate_bps)}bit`);
      args.push('limit', '100000');
      await inNs(end.ns, 'tc', ...args);
    } else await shape(end.ns, end.dev, l);
  }
  return record;
}

export interface LabUpOptions {
  name: string;
  topology: Topology;
  link: LinkEmulation;
  log?: (l: string) => void;
}

export async function labUp(o: LabUpOptions): Promise<LabState> {
  validLabName(o.name);
  if (!isRoot()) throw environmentError('lab up needs root (network namespaces, TUN, tc)');
  const log = o.log ?? (() => undefined);
  if (readLab(o.name) || labNamespaces(o.name).length) {
    log(`nettune: lab ${o.name} exists (or a crashed run left parts of it); removing it first`);
    await labDown(o.name, log);
  }
  mkdirSync(labsDir(), { recursive: true });
  const ns = { client: nsName(o.name, 'client'), server: nsName(o.name, 'server'), router: o.topology === 'router' ? nsName(o.name, 'router') : null };
  const delaylines: LabState['delaylines'] = [];
  const state: LabState = {
    name: o.name,
    topology: o.topology,
    link: o.link,
    emulator: 'none',
    namespaces: ns,
    server_addrs: [],
    client_addrs: [],
    delaylines,
    created_at: new Date().toISOString(),
  };
  try {
    for (const n of [ns.client, ns.server, ns.router]) {
      if (!n) continue;
      await ip('netns', 'add', n);
      await ip('-n', n, 'link', 'set', 'lo', 'up');
    }
    state.emulator = needsEmulation(o.link) ? ((await netemAvailable(ns.client)) ? 'netem' : 'delayline') : 'none';
    writeFileAtomic(statePath(o.name), JSON.stringify(state, null, 2)); // so a failure below is cleaned by down
    // A short unique tag keeps root-namespace device names (≤ 15 chars) from colliding between labs.
    const tag = (n: number): string => `${(Date.now() % 46656).toString(36)}${process.pid % 36}${n}`.slice(0, 6);
    const addWire = async (w: Wire, n: number): Promise<void> => {
      const rec = await buildWire(w, o.link, state.emulator, tag(n));
      if (rec) {
        delaylines.push(rec);
        writeFileAtomic(statePath(o.name), JSON.stringify(state, null, 2));
      }
    };
    if (o.topology === 'pair') {
      await addWire({ a: { ns: ns.client, dev: 'nt0', addr: '198.18.0.1' }, b: { ns: ns.server, dev: 'nt0', addr: '198.18.0.2' } }, 0);
      state.client_addrs = ['198.18.0.1'];
      state.server_addrs = ['198.18.0.2'];
    } else if (o.topology === 'router' && ns.router) {
      await addWire({ a: { ns: ns.client, dev: 'nt0', addr: '198.18.0.1' }, b: { ns: ns.router, dev: 'nt0', addr: '198.18.0.2' } }, 0);
      // The second hop is a plain veth: the emulated link is client–router.
      await buildWire({ a: { ns: ns.router, dev: 'nt1', addr: '198.18.0.5' }, b: { ns: ns.server, dev: 'nt0', addr: '198.18.0.6' } }, { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 }, 'none', tag(1));
      await inNs(ns.router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      await ip('-n', ns.client, 'route', 'add', '198.18.0.4/30', 'via', '198.18.0.2');
      await ip('-n', ns.server, 'route', 'add', '198.18.0.0/30', 'via', '198.18.0.5');
      state.client_addrs = ['198.18.0.1'];
      state.server_addrs = ['198.18.0.6'];
    } else {
      await addWire({ a: { ns: ns.client, dev: 'nt0', addr: '198.18.0.1' }, b: { ns: ns.server, dev: 'nt0', addr: '198.18.0.2' } }, 0);
      await addWire({ a: { ns: ns.client, dev: 'nt1', addr: '198.18.0.5' }, b: { ns: ns.server, dev: 'nt1', addr: '198.18.0.6' } }, 1);
      // MPTCP endpoints and limits are not set here: they are plan changes (`nettune plan
      // --mptcp-paths nt0,nt1` in each namespace), applied through the transaction (mptcp-arm.ts).
      state.client_addrs = ['198.18.0.1', '198.18.0.5'];
      state.server_addrs = ['198.18.0.2', '198.18.0.6'];
    }
    writeFileAtomic(statePath(o.name), JSON.stringify(state, null, 2));
    return state;
  } catch (err) {
    await labDown(o.name, log);
    throw err;
  }
}

export interface LabStatus {
  name: string;
  state: LabState | null;
  namespaces: string[];
  /** Processes alive per delay line. */
  delaylines_alive: boolean[];
  ping: { sent: number; received: number; rtt_avg_ms: number | null; rtt_min_ms: number | null; rtt_max_ms: number | null } | null;
  /** Bytes per second through the client's link devices over the sample second. */
  rate_now_bps: number | null;
  /** Loss the delay lines measured since the lab came up, per link and direction (null: no delay line). */
  loss: DelaylineLoss[] | null;
}

/** One delay line direction's counters, in TCP segments (a GSO frame counts its segments). */
export interface DelaylineLoss {
  link: number;
  direction: 'client_to_server' | 'server_to_client';
  segments: number;
  lost: number;
  /** lost / segments; null before any segment. */
  share: number | null;
  bursts: number;
  /** Mean run of consecutive lost segments; 1/(1-p) for independent loss. */
  mean_burst_segments: number | null;
  requested_share: number;
}

const dirStatsSchema = z.object({ segments: z.number().optional(), dropped_loss: z.number(), loss_bursts: z.number().optional(), packets: z.number() });
const statsSchema = z.object({ a_to_b: dirStatsSchema, b_to_a: dirStatsSchema });

/** Reads the delay lines' statistics files (written once a second and on exit; dev_a is the
 *  client side of every emulated link). */
export function delaylineLoss(state: LabState): DelaylineLoss[] | null {
  if (!state.delaylines.length) return null;
  const out: DelaylineLoss[] = [];
  state.delaylines.forEach((dl, link) => {
    let parsed: z.infer<typeof statsSchema> | null = null;
    try {
      const r = statsSchema.safeParse(JSON.parse(readFileSync(dl.stats_file, 'utf8')));
      parsed = r.success ? r.data : null;
    } catch {
      parsed = null;
    }
    if (!parsed) return;
    for (const [key, direction] of [
      ['a_to_b', 'client_to_server'],
      ['b_to_a', 'server_to_client'],
    ] as const) {
      const d = parsed[key];
      const segments = d.segments ?? d.packets + d.dropped_loss;
      const bursts = d.loss_bursts ?? 0;
      out.push({ link, direction, segments, lost: d.dropped_loss, share: segments ? d.dropped_loss / segments : null, bursts, mean_burst_segments: bursts ? d.dropped_loss / bursts : null, requested_share: state.link.loss_pct / 100 });
    }
  });
  return out;
}

async function linkBytes(ns: string): Promise<number | null> {
  const r = await run(tool('ip'), ['-n', ns, '-j', '-s', 'link', 'show']);
  if (!r.ok) return null;
  const links = JSON.parse(r.stdout) as { ifname?: string; stats64?: { rx?: { bytes?: number }; tx?: { bytes?: number } } }[];
  return links.filter((l) => l.ifname !== 'lo').reduce((n, l) => n + (l.stats64?.rx?.bytes ?? 0) + (l.stats64?.tx?.bytes ?? 0), 0);
}

export async function labStatus(name: string): Promise<LabStatus> {
  validLabName(name);
  const state = readLab(name);
  const namespaces = labNamespaces(name);
  const status: LabStatus = { name, state, namespaces, delaylines_alive: (state?.delaylines ?? []).map((d) => alive(d.pid)), ping: null, rate_now_bps: null, loss: state ? delaylineLoss(state) : null };
  if (!state || !namespaces.includes(state.namespaces.client)) return status;
  const b0 = await linkBytes(state.namespaces.client);
  const t0 = performance.now();
  const target = state.server_addrs[0] ?? '198.18.0.2';
  const p = await run(tool('ip'), ['netns', 'exec', state.namespaces.client, tool('ping'), '-n', '-q', '-c', '5', '-i', '0.2', '-W', '2', target], { timeoutMs: 15_000 });
  const b1 = await linkBytes(state.namespaces.client);
  const dt = (performance.now() - t0) / 1000;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(p.stdout);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(p.stdout);
  status.ping = m
    ? { sent: Number(m[1]), received: Number(m[2]), rtt_min_ms: rtt ? Number(rtt[1]) : null, rtt_avg_ms: rtt ? Number(rtt[2]) : null, rtt_max_ms: rtt ? Number(rtt[3]) : null }
    : null;
  if (b0 !== null && b1 !== null && dt > 0) status.rate_now_bps = ((b1 - b0) * 8) / dt / 2; // rx+tx counted both ways
  status.loss = delaylineLoss(state); // after the pings: the stats file is rewritten every second
  return status;
}

/** Adds a route inside one of a lab's namespaces (experiments that need asymmetric paths). */
export async function labRoute(state: LabState, role: 'client' | 'server' | 'router', args: readonly string[]): Promise<void> {
  const ns = role === 'router' ? state.namespaces.router : state.namespaces[role];
  if (!ns) throw usageError(`lab ${state.name} has no ${role}`);
  await ip('-n', ns, 'route', 'replace', ...args);
}
