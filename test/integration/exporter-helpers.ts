// Starting the real `nettune exporter` (and stopping it, also on failure) for the exporter tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { sleep } from '../../src/sys/process.js';
import { BUNDLE } from '../helpers.js';

export interface Running {
  child: ChildProcess;
  port: number;
  url: string;
  stderr: () => string;
  stdout: () => string;
  stop: () => Promise<number | null>;
}

const running = new Set<Running>();

/** Starts the exporter on a free loopback port and waits for its "serving" line. */
export async function startExporter(args: string[] = [], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Running> {
  const child = spawn(process.execPath, [BUNDLE, 'exporter', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, NETTUNE_NO_INSTALL: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exporter did not start within ${timeoutMs} ms: ${err}`)), timeoutMs);
    const check = (): void => {
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exporter exited ${code} before listening: ${err}`));
    });
  });
  const r: Running = {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    stderr: () => err,
    stdout: () => out,
    stop: async () => {
      running.delete(r);
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  running.add(r);
  return r;
}

export async function stopAllExporters(): Promise<void> {
  await Promise.all([...running].map((r) => r.stop()));
}

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request with optional extra headers (oversized ones included). */
export function httpGet(url: string, o: { method?: string; headers?: Record<string, string>; rawPath?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // rawPath: sent as written (the URL class would resolve %2e%2e before sending)
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: o.rawPath ?? `${u.pathname}${u.search}`, method: o.method ?? 'GET', headers: o.headers ?? {}, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Metric names (families) of an exposition text. */
export const familiesOf = (text: string): Set<string> => new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ''));

/** A loopback port free now (for a Prometheus the test starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `ok` every `pollMs` until it holds (a throw counts as not yet), or fails after `timeoutMs`. */
export async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs: number, pollMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await ok().catch(() => false)) return;
    await sleep(pollMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}
