// Shared by the state and fault-injection tests: throw-away namespaces (unique names, always
// deleted), a temp state dir per test, and the CLI run against them.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE, runCli, type CliResult } from '../helpers.js';

export const isRoot = process.getuid?.() === 0;
const tag = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const namespaces: string[] = [];

let serial = 0;
export function newNetns(role: string): string {
  const name = `nt-h3${tag}${(serial++).toString(36)}-${role}`.slice(0, 60);
  const r = spawnSync('ip', ['netns', 'add', name]);
  if (r.status !== 0) throw new Error(`ip netns add ${name}: ${r.stderr.toString()}`);
  namespaces.push(name);
  return name;
}

export function deleteNamespaces(): void {
  for (const ns of namespaces.splice(0)) spawnSync('ip', ['netns', 'del', ns]);
}

export const get = (ns: string, key: string): string =>
  spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', key], { encoding: 'utf8' }).stdout.trim().replace(/\s+/g, ' ');

export const ctx = { state: '', root: '' };
export function freshDirs(): void {
  ctx.state = mkdtempSync(join(tmpdir(), 'nettune-h3-state-'));
  ctx.root = mkdtempSync(join(tmpdir(), 'nettune-h3-root-'));
}

export const nettune = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): CliResult => runCli(args, { NETTUNE_STATE_DIR: ctx.state, ...extraEnv });

/** Watchdog pids the tests started (through apply --confirm), killed by pid at the end. */
export const watchdogs: number[] = [];
export function killWatchdogs(): void {
  for (const pid of watchdogs.splice(0))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
}

export function start(args: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; stderr: () => string; done: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [BUNDLE, ...args], { env: { ...process.env, NETTUNE_NO_INSTALL: '1', NETTUNE_STATE_DIR: ctx.state, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, stderr: () => err, done };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(100);
  }
  return cond();
}

export interface TxSummary {
  id: number;
  status: string;
  netns: string | null;
  confirm_deadline: string | null;
  boot_unit: string | null;
}
export const history = (): TxSummary[] => (JSON.parse(nettune(['history', '--json']).stdout) as { transactions: TxSummary[] }).transactions;
export const txStatus = (id: number): string | undefined => history().find((t) => t.id === id)?.status;
