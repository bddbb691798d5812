// The user's own workload as an experiment's measure step: start the server in the lab's server
// namespace, wait until it is ready, run the client in the client namespace, read the metric from
// its output, and kill everything both left behind. Both commands are argument arrays (split by
// workload-args.ts, never a shell), their programs resolved on PATH before any lab exists, and
// every run is bounded by a hard timeout. Cleanup does not trust process groups alone (a daemon
// calls setsid and leaves its group): after each run every process still inside a lab namespace
// is terminated, then killed.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { environmentError, usageError } from '../sys/errors.js';
import { sleep } from '../sys/process.js';
import { run } from '../sys/run.js';
import { onStop, stopping } from '../sys/signals.js';
import { requireTool, TOOL_PACKAGES, which } from '../sys/tools.js';
import { parseDuration } from '../units/index.js';
import type { Workload } from '../plan/types.js';
import type { LabState } from './lab.js';
import { fillPlaceholders, splitCommand } from './workload-args.js';
import { extractMetric, type MetricSpec } from './workload-metric.js';

/** When the server counts as ready: a listening TCP socket (on PORT, or any), a bound UDP socket
 *  on PORT, or simply a fixed wait (servers that open no socket). */
export type ReadySpec = { kind: 'tcp'; port: number | null } | { kind: 'udp'; port: number } | { kind: 'delay'; s: number };

export interface WorkloadCommand {
  /** argv as the user wrote it after splitting; argv[0] resolved to an absolute path. */
  argv: string[];
  text: string;
}

export interface WorkloadSpec {
  server: WorkloadCommand | null;
  client: WorkloadCommand;
  metric: MetricSpec;
  ready: ReadySpec;
  ready_timeout_s: number;
  /** Hard limit per run (server start → client end); then both are killed. */
  timeout_s: number;
  /** Offered to the commands as {duration}; nettune passes it nowhere itself. */
  duration_s: number;
  /** What plan:auto plans for (the user says what the workload is, as `plan --workload`). */
  plan_workload: Workload;
}

/** Parses --ready: tcp, tcp:PORT, udp:PORT, delay:DUR. */
export function parseReady(text: string): ReadySpec {
  const port = (p: string): number => {
    if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw usageError(`--ready ${text}: ${JSON.stringify(p)} is not a port (1–65535)`);
    return Number(p);
  };
  if (text === 'tcp') return { kind: 'tcp', port: null };
  if (text.startsWith('tcp:')) return { kind: 'tcp', port: port(text.slice(4)) };
  if (text.startsWith('udp:')) return { kind: 'udp', port: port(text.slice(4)) };
  if (text.startsWith('delay:')) {
    const s = parseDuration(text.slice(6), '--ready delay:', { bareSeconds: true });
    if (s > 600) throw usageError(`--ready ${text}: at most 600 s`);
    return { kind: 'delay', s };
  }
  throw usageError(`--ready ${JSON.stringify(text)}: tcp, tcp:PORT, udp:PORT or delay:DURATION`, 'tcp (the default) waits for any listening TCP socket in the server namespace');
}

/** "a TCP socket listening on port 5201" (article: false drops the "a "). */
export const readyText = (r: ReadySpec, article = true): string =>
  r.kind === 'delay' ? `${article ? 'a ' : ''}fixed wait of ${r.s} s` : `${article ? 'a ' : ''}${r.kind.toUpperCase()} socket ${r.kind === 'tcp' ? 'listening' : 'bound'} on ${r.port === null ? 'any port' : `port ${r.port}`}`;

/** Splits a command flag into its words (bad text is exit 2); the program is resolved later. */
export const parseCommand = (text: string, flag: string): WorkloadCommand => ({ argv: splitCommand(text, flag), text });

/** Resolves a command's program: a path must be an executable file, a name is looked up on PATH
 *  (and the sbin directories); missing is exit 3. The run executes exactly the file checked. */
export function resolveCommand(cmd: WorkloadCommand, flag: string): WorkloadCommand {
  const prog = cmd.argv[0] as string;
  let path: string | null;
  if (prog.includes('/')) {
    path = resolve(prog);
    try {
      if (!statSync(path).isFile()) throw new Error('not a file');
      accessSync(path, constants.X_OK);
    } catch {
      throw environmentError(`${flag}: ${prog} is not an executable file`);
    }
  } else {
    path = which(prog);
    if (!path) throw environmentError(`${flag}: ${prog} is not installed (not found on PATH)`, TOOL_PACKAGES[prog] ? `apt-get install ${TOOL_PACKAGES[prog]}` : 'install it, or give its full path');
  }
  return { argv: [path, ...cmd.argv.slice(1)], text: cmd.text };
}

const TAIL_CHARS = 64 * 1024;
const STDOUT_MAX = 16 * 1024 * 1024;

interface Started {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Exit code, or the signal's name, once it has exited. */
  exit: Promise<number | string>;
  exited: () => boolean;
}

/** Starts argv inside namespace `ns` as the leader of its own process group (setsid). */
function startIn(ns: string, argv: readonly string[], keepStdout: boolean): Started {
  const child = spawn(requireTool('ip'), ['netns', 'exec', ns, ...argv], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let done = false;
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    if (keepStdout ? out.length > STDOUT_MAX : out.length > 2 * TAIL_CHARS) out = keepStdout ? out.slice(0, STDOUT_MAX) : out.slice(-TAIL_CHARS);
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 2 * TAIL_CHARS) err = err.slice(-TAIL_CHARS);
  });
  const exit = new Promise<number | string>((r) => {
    child.on('exit', (code, sig) => {
      done = true;
      r(code ?? sig ?? 'unknown');
    });
    child.on('error', (e) => {
      done = true;
      err += e.message;
      r('failed to start');
    });
  });
  return { child, pid: child.pid ?? -1, stdout: () => out, stderr: () => err, exit, exited: () => done };
}

/** The last lines of a process's output, for an error message. */
export function tail(text: string, lines = 5, chars = 600): string {
  const t = text.trim().split('\n').slice(-lines).join(' | ');
  return t.length > chars ? `…${t.slice(-chars)}` : t;
}

const signalGroup = (pid: number, sig: NodeJS.Signals): void => {
  try {
    if (pid > 1) process.kill(-pid, sig);
  } catch {
    // the group is gone
  }
};

/** SIGTERM to the whole process group, SIGKILL to it after `graceMs`. */
async function stopGroup(p: Started | null, graceMs: number): Promise<void> {
  if (!p || p.pid <= 1) return;
  signalGroup(p.pid, 'SIGTERM');
  await Promise.race([p.exit, sleep(graceMs)]);
  signalGroup(p.pid, 'SIGKILL');
  await Promise.race([p.exit, sleep(1000)]);
}

async function pidsIn(ns: string): Promise<number[]> {
  const r = await run(requireTool('ip'), ['netns', 'pids', ns], { timeoutMs: 5000 });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p > 1 && p !== process.pid);
}

/** Terminates every process inside the namespaces (TERM, then KILL after `graceMs`); returns how
 *  many there were. Lab namespaces hold only what the workload started. */
export async function sweepNamespaces(namespaces: readonly string[], graceMs: number): Promise<number> {
  const first = (await Promise.all(namespaces.map(pidsIn))).flat();
  if (!first.length) return 0;
  const send = (pids: number[], sig: NodeJS.Signals): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
    }
  };
  send(first, 'SIGTERM');
  let left = first;
  for (let waited = 0; left.length && waited < graceMs; waited += 100) {
    await sleep(100);
    left = (await Promise.all(namespaces.map(pidsIn))).flat();
  }
  send(left, 'SIGKILL');
  for (let i = 0; i < 20 && left.length; i++) {
    await sleep(100);
    left = (await Promise.all(namespaces.map(pidsIn))).flat();
  }
  if (left.length) throw environmentError(`processes ${left.join(', ')} survived SIGKILL in ${namespaces.join(', ')}`);
  return first.length;
}

/** Listening (TCP) or bound (UDP) local ports in a namespace, from ss. */
async function localPorts(ns: string, proto: 'tcp' | 'udp'): Promise<number[]> {
  const r = await run(requireTool('ss'), ['-N', ns, '-H', '-l', '-n', proto === 'tcp' ? '-t' : '-u'], { timeoutMs: 5000 });
  if (!r.ok) throw environmentError(`ss -N ${ns}: ${r.error ?? 'failed'}`);
  const ports: number[] = [];
  for (const line of r.stdout.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const m = local ? /:(\d+)$/.exec(local) : null;
    if (m) ports.push(Number(m[1]));
  }
  return ports;
}

async function waitReady(spec: WorkloadSpec, ns: string, server: Started, deadline: number): Promise<void> {
  const r = spec.ready;
  const started = Date.now();
  const until = Math.min(deadline, started + spec.ready_timeout_s * 1000);
  const gone = async (): Promise<never> => {
    const code = await server.exit;
    throw environmentError(`the server exited (${code}) before it was ready${tail(server.stderr() || server.stdout()) ? `: ${tail(server.stderr() || server.stdout())}` : ''}`);
  };
  if (r.kind === 'delay') {
    await Promise.race([sleep(Math.min(r.s * 1000, Math.max(0, until - Date.now()))), server.exit]);
    if (server.exited()) await gone();
    return;
  }
  for (;;) {
    if (server.exited()) await gone();
    const ports = await localPorts(ns, r.kind);
    if (r.port === null ? ports.length > 0 : ports.includes(r.port)) return;
    if (stopping()) throw environmentError('stopped');
    if (Date.now() >= until) {
      const out = tail(server.stderr() || server.stdout());
      throw environmentError(`the server was not ready after ${Math.round((Date.now() - started) / 100) / 10} s: ${ns} has no ${readyText(r, false)}${out ? `; its output: ${out}` : ''}`, 'check --ready (tcp:PORT for the port the server listens on) and --ready-timeout');
    }
    await sleep(100);
  }
}

/** One run of the workload in the lab: the metric's value. Throws (exit 3) on a failed run: the
 *  experiment engine retries once. Everything the run started is gone when it returns. */
export async function runWorkload(spec: WorkloadSpec, lab: LabState, log: (line: string) => void): Promise<number> {
  const values = { server: lab.server_addrs[0] ?? '', client: lab.client_addrs[0] ?? '', duration: String(spec.duration_s) };
  const namespaces = [lab.namespaces.client, lab.namespaces.server, ...(lab.namespaces.router ? [lab.namespaces.router] : [])];
  const deadline = Date.now() + spec.timeout_s * 1000;
  let server: Started | null = null;
  let client: Started | null = null;
  const cleanup = async (): Promise<void> => {
    await Promise.all([stopGroup(client, 2000), stopGroup(server, 2000)]);
    const left = await sweepNamespaces(namespaces, 2000);
    if (left) log(`  killed ${left} process${left === 1 ? '' : 'es'} the workload left in the lab namespaces`);
  };
  const drop = onStop('stop the workload', cleanup);
  try {
    if (spec.server) {
      server = startIn(lab.namespaces.server, fillPlaceholders(spec.server.argv, values), false);
      await waitReady(spec, lab.namespaces.server, server, deadline);
    }
    if (stopping()) throw environmentError('stopped');
    client = startIn(lab.namespaces.client, fillPlaceholders(spec.client.argv, values), true);
    const c = client;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([c.exit, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
    const errTail = tail(c.stderr());
    if (outcome === 'timeout') throw environmentError(`the client did not finish within the ${spec.timeout_s} s timeout (--timeout): killed the client and the server${errTail ? `; client stderr: ${errTail}` : ''}`);
    if (outcome !== 0) throw environmentError(`the client ${typeof outcome === 'number' ? `exited with ${outcome}` : `was ended by ${outcome}`}${errTail ? `: ${errTail}` : ''}`);
    try {
      return extractMetric(spec.metric, c.stdout(), c.stderr());
    } catch (err) {
      if (err instanceof Error && errTail) err.message += `; client stderr: ${errTail}`;
      throw err;
    }
  } finally {
    await cleanup();
    drop();
  }
}
