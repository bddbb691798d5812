// Shared by the dashboard tests: start the real CLI's dashboard (optionally inside a namespace
// with `ip netns exec`), wait for its --json start document, stop it by pid (always).
import { type ChildProcess, spawn } from 'node:child_process';
import { BUNDLE } from '../helpers.js';

export interface StartDoc {
  url: string;
  listen: { host: string; port: number };
  loopback: boolean;
  token_required: boolean;
  token?: string;
  netns: string | null;
  interval_s: number;
  reports: string | null;
}

export interface RunningDashboard {
  proc: ChildProcess;
  doc: StartDoc;
  stderr: () => string;
  stop: () => Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Resolves with the start document, or rejects with the exit code and stderr when the dashboard
 *  exits (or does not start within `timeoutMs`). */
export function startDashboard(args: readonly string[], o: { env?: NodeJS.ProcessEnv; netns?: string; timeoutMs?: number } = {}): Promise<RunningDashboard> {
  const cmd = o.netns ? ['ip', ['netns', 'exec', o.netns, process.execPath, BUNDLE, 'dashboard', '--json', ...args]] : [process.execPath, [BUNDLE, 'dashboard', '--json', ...args]];
  const proc = spawn(cmd[0] as string, cmd[1] as string[], { env: { ...process.env, NETTUNE_NO_INSTALL: '1', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(t);
    running.delete(proc);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`dashboard did not start in time; stderr: ${err}`));
    }, o.timeoutMs ?? 30_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve({ proc, doc: JSON.parse(out.slice(0, nl)) as StartDoc, stderr: () => err, stop });
      } catch (e) {
        void stop();
        reject(new Error(`bad start document ${out}: ${String(e)}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      running.delete(proc);
      reject(Object.assign(new Error(`dashboard exited ${code}: ${err}`), { code, stderr: err }));
    });
  });
}

/** Stops every dashboard a test file started that is still running. */
export async function stopAllDashboards(): Promise<void> {
  for (const p of [...running]) {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await new Promise((r) => {
      if (p.exitCode !== null || p.signalCode !== null) return r(null);
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      p.on('exit', () => {
        clearTimeout(t);
        r(null);
      });
    });
    running.delete(p);
  }
}
