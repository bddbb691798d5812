// Ctrl-C / SIGTERM clean up what a command started. A command that starts things (labs, child
// processes, temp directories) calls installStopHandlers() and registers its cleanups with
// onStop(); on the first SIGINT/SIGTERM/SIGHUP the handler:
//   1. kills every process this nettune process started, directly or indirectly, and the process
//      group of each that runs in its own group (the delay line is spawned detached),
//   2. runs the registered cleanups once, newest first, each bounded in time (e.g. lab down),
//   3. kills whatever a cleanup or the interrupted command still started meanwhile,
//   4. exits 128 + signal number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
// Further signals while it cleans up are reported and otherwise ignored, so a second Ctrl-C does
// not leave half-removed namespaces behind. The interrupted command's own code keeps running
// until the exit; code that would start new work checks stopping() first.
import { readdirSync, readFileSync, writeSync } from 'node:fs';
import { sleep } from './process.js';

export type Cleanup = () => unknown;

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof SIGNALS;

interface Entry {
  label: string;
  fn: Cleanup;
}

const stack: Entry[] = [];
let installed = false;
let stoppingSignal: StopSignal | null = null;
let jsonErrors = false;
let stopDocument: ((sig: StopSignal) => unknown) | null = null;
let logLine: (line: string) => void = (l) => process.stderr.write(`${l}\n`);

/** Registers a cleanup; returns a function that unregisters it (call it once the thing is gone). */
export function onStop(label: string, fn: Cleanup): () => void {
  const e: Entry = { label, fn };
  stack.push(e);
  return () => {
    const i = stack.indexOf(e);
    if (i >= 0) stack.splice(i, 1);
  };
}

/** The signal being handled, or null while the command runs normally. */
export const stopping = (): StopSignal | null => stoppingSignal;

/** A promise that never settles once a stop is under way (the handler exits the process), so an
 *  interrupted command does not go on to print errors or results of half-finished work. */
export async function haltIfStopping(): Promise<void> {
  if (stoppingSignal) await new Promise<never>(() => undefined);
}

/** PID → parent PID and process group of every process, from /proc/PID/stat. */
function processTable(): Map<number, { ppid: number; pgid: number }> {
  const out = new Map<number, { ppid: number; pgid: number }>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // comm (field 2) may hold spaces and parentheses: the fields after the last ')' are fixed.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(e), { ppid: Number(rest[1]), pgid: Number(rest[2]) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Every live descendant of `root` (children, grandchildren, …), with its process group. */
export function descendants(root: number = process.pid): { pid: number; pgid: number }[] {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, p] of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const out: { pid: number; pgid: number }[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift() as number;
    const p = table.get(pid);
    if (!p) continue;
    out.push({ pid, pgid: p.pgid });
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Sends `signal` to every descendant, and to the process group of each that leads its own
 *  group (not ours). Returns how many processes it signalled. */
export function killDescendants(signal: NodeJS.Signals): number {
  const ownGroup = ownPgid();
  const procs = descendants();
  for (const { pid, pgid } of procs) {
    try {
      if (pgid !== ownGroup && pgid > 1) process.kill(-pgid, signal);
    } catch {
      // group gone
    }
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
  return procs.length;
}

function ownPgid(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return -1;
  }
}

async function withTimeout(p: unknown, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  try {
    return await Promise.race([Promise.resolve(p).then(() => 'done' as const), t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Terminates the descendants (TERM, then KILL for those still there after `graceMs`). */
async function stopDescendants(graceMs: number): Promise<number> {
  const n = killDescendants('SIGTERM');
  for (let waited = 0; waited < graceMs && descendants().length; waited += 100) await sleep(100);
  if (descendants().length) killDescendants('SIGKILL');
  return n;
}

/** Runs the registered cleanups once, newest first; each may take up to `perCleanupMs`. */
export async function runCleanups(perCleanupMs = 30_000): Promise<void> {
  while (stack.length) {
    const e = stack.pop() as Entry;
    try {
      const r = await withTimeout(e.fn(), perCleanupMs);
      if (r === 'timeout') logLine(`nettune: cleanup "${e.label}" did not finish within ${perCleanupMs / 1000} s`);
    } catch (err) {
      logLine(`nettune: cleanup "${e.label}" failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

async function handle(sig: StopSignal): Promise<void> {
  if (stoppingSignal) {
    logLine(`nettune: ${sig} again: still cleaning up, please wait`);
    return;
  }
  stoppingSignal = sig;
  const code = 128 + SIGNALS[sig];
  logLine(`nettune: ${sig}: stopping; cleaning up what this command started …`);
  await stopDescendants(1500);
  const what = stack.map((e) => e.label).reverse();
  await runCleanups();
  await stopDescendants(1000);
  logLine(`nettune: stopped by ${sig}${what.length ? ` (cleaned up: ${what.join(', ')})` : ''}`);
  // fd 1 directly: in JSON mode the CLI holds stdout until the command ends, which it never does.
  const doc = stopDocument ? stopDocument(sig) : { error: { message: `interrupted by ${sig}; cleaned up`, hint: null, exit_code: code } };
  if (jsonErrors && doc !== undefined) writeSync(1, `${JSON.stringify(doc)}\n`);
  process.exit(code);
}

/** In JSON mode (installStopHandlers({ json: true })), the document a stop prints instead of the
 *  interruption error, made after the cleanups have run: for a server a signal is how it ends,
 *  so its run summary is the command's one document. `undefined`: nothing (the command has
 *  printed its one document already). */
export function setStopDocument(fn: (sig: StopSignal) => unknown): void {
  stopDocument = fn;
}

/** Installs the SIGINT/SIGTERM/SIGHUP handlers (once per process). `json`: print the interruption
 *  as the command's one JSON error document. */
export function installStopHandlers(o: { json?: boolean; log?: (line: string) => void } = {}): void {
  if (o.json) jsonErrors = true;
  if (o.log) logLine = o.log;
  if (installed) return;
  installed = true;
  for (const sig of Object.keys(SIGNALS) as StopSignal[]) process.on(sig, () => void handle(sig));
}
