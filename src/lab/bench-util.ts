// Helpers the lab benchmarks share: allowed targets, commands in a namespace, child processes,
// ports. Every load targets only loopback or 198.18.0.0/15.
import { type ChildProcess, spawn } from 'node:child_process';
import { usageError } from '../sys/errors.js';
import { requireTool } from '../sys/tools.js';

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

export const tool = requireTool;

/** argv for a command in a namespace (or here when ns is null). */
export const inNs = (ns: string | null, cmd: string, args: string[]): [string, string[]] => (ns ? [tool('ip'), ['netns', 'exec', ns, tool(cmd), ...args]] : [tool(cmd), args]);


export function startProcess(file: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { child, output: () => out, exited };
}

let portSeq = 0;
export const nextPort = (): number => 20000 + ((process.pid * 7 + portSeq++) % 20000);
