// `./nettune exporter` and `./nettune dashboard` start Node with the servers' heap flags (a
// young generation of fixed size, the old generation collected at 30 % growth; see the wrapper
// and docs/architecture.md "The exporter's memory"); every other command starts without them.
// The flags are checked on the running process (its /proc/PID/cmdline after the wrapper's exec),
// and the exporter started that way must answer a scrape: a flag this Node does not know stops it
// at start-up.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers.js';

const WRAPPER = join(REPO, 'nettune');
const FLAGS = ['--min-semi-space-size=8', '--max-semi-space-size=8', '--heap-growing-percent=30'];
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
});

/** Starts the wrapper and resolves with the node process's argv once it printed `ready` on stderr. */
async function startThroughWrapper(args: string[], ready: RegExp): Promise<{ child: ChildProcess; argv: string[]; stderr: string }> {
  const child = spawn(WRAPPER, args, { env: { ...process.env, NETTUNE_NO_INSTALL: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${String(ready)} within 60 s: ${stderr}`)), 60_000);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (ready.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${String(code)}: ${stderr}`));
    });
  });
  // The wrapper execs node in its own process: the pid is node's by now.
  const argv = readFileSync(`/proc/${String(child.pid)}/cmdline`, 'utf8').split('\0').filter(Boolean);
  return { child, argv, stderr };
}

const status = (url: string): Promise<number> =>
  new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });

describe('the wrapper starts the servers with their heap flags', () => {
  it('exporter: node gets the flags before the bundle, and serves', async () => {
    const { child, argv, stderr } = await startThroughWrapper(['exporter', '--listen', '127.0.0.1:0'], /serving http:\/\/127\.0\.0\.1:\d+\/metrics/);
    const bundle = argv.findIndex((a) => a.endsWith('dist/nettune.mjs'));
    expect(bundle).toBeGreaterThan(0);
    expect(argv.slice(1, bundle)).toEqual(FLAGS);
    expect(argv.slice(bundle + 1, bundle + 2)).toEqual(['exporter']);
    const port = /serving http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr)?.[1];
    expect(await status(`http://127.0.0.1:${String(port)}/metrics`)).toBe(200);
    child.kill('SIGTERM');
  }, 90_000);

  it('dashboard: the same flags', async () => {
    const { child, argv } = await startThroughWrapper(['dashboard', '--listen', '127.0.0.1:0'], /http:\/\/127\.0\.0\.1:\d+/);
    const bundle = argv.findIndex((a) => a.endsWith('dist/nettune.mjs'));
    expect(argv.slice(1, bundle)).toEqual(FLAGS);
    child.kill('SIGTERM');
  }, 90_000);

  it('other commands: no flags (a one-shot command keeps V8 defaults)', () => {
    // `sh -x` prints the exec line the wrapper runs (rules --json prints and exits).
    const r = spawnSync('sh', ['-x', WRAPPER, 'rules', '--json'], { encoding: 'utf8', env: { ...process.env, NETTUNE_NO_INSTALL: '1' }, timeout: 60_000 });
    expect(r.status).toBe(0);
    const exec = r.stderr.split('\n').filter((l) => /^\+ exec node /.test(l));
    expect(exec).toHaveLength(1);
    expect(exec[0]).not.toContain('semi-space');
  }, 90_000);
});
