// The userspace delay line (dist/nettune-delayline) between two namespaces this test creates and
// always deletes: requested RTT, random loss, clean exit. Needs root and a built delay line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'nettune-delayline');
const isRoot = process.getuid?.() === 0;
const tag = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const NS_A = `nt-t${tag}-a`;
const NS_B = `nt-t${tag}-b`;
const DEV_A = `ntdl${tag}a`.slice(0, 15);
const DEV_B = `ntdl${tag}b`.slice(0, 15);
const IP_A = '198.18.200.1';
const IP_B = '198.18.200.2';

function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Line {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

const running: Line[] = [];

/** Starts the delay line, waits for "ready", then moves/addresses/ups the two TUN devices. */
async function startLine(...args: string[]): Promise<Line> {
  return startLineEnv({}, ...args);
}

async function startLineEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Line> {
  const child = spawn(BIN, ['--dev-a', DEV_A, '--dev-b', DEV_B, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const line: Line = { child, stdout: '', stderr: '', exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  running.push(line);
  child.stderr?.on('data', (d: Buffer) => (line.stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "ready" within 5 s: ${line.stderr}`)), 5000);
    child.stdout?.on('data', (d: Buffer) => {
      line.stdout += d.toString();
      if (line.stdout.includes('\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void line.exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`delay line exited ${code}: ${line.stderr}`));
    });
  });
  expect(line.stdout).toBe('ready\n');
  for (const [ns, dev, local, peer] of [
    [NS_A, DEV_A, IP_A, IP_B],
    [NS_B, DEV_B, IP_B, IP_A],
  ] as const) {
    sh('ip', 'link', 'set', dev, 'netns', ns);
    sh('ip', '-n', ns, 'addr', 'add', local, 'peer', peer, 'dev', dev);
    sh('ip', '-n', ns, 'link', 'set', dev, 'txqueuelen', '10000', 'up');
  }
  return line;
}

/** SIGTERM, then wait (bounded) for the exit code. */
async function stopLine(line: Line): Promise<number | null> {
  if (line.child.exitCode === null) line.child.kill('SIGTERM');
  const code = await Promise.race([line.exit, sleep(5000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    line.child.kill('SIGKILL');
    throw new Error('delay line did not exit within 5 s of SIGTERM');
  }
  return code;
}

function ping(count: number, interval: string, ...extra: string[]) {
  const r = spawnSync('ip', ['netns', 'exec', NS_A, 'ping', '-n', '-q', '-c', String(count), '-i', interval, ...extra, IP_B], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const rx = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(r.stdout);
  if (!rx) throw new Error(`ping: ${r.stdout}${r.stderr}`);
  return { sent: Number(rx[1]), received: Number(rx[2]), minMs: rtt ? Number(rtt[1]) : NaN, avgMs: rtt ? Number(rtt[2]) : NaN };
}

const devExists = (ns: string, dev: string): boolean => spawnSync('ip', ['-n', ns, 'link', 'show', dev]).status === 0;

describe.skipIf(!isRoot || !existsSync(BIN))('nettune-delayline (root)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nettune-dl-'));

  beforeAll(() => {
    sh('ip', 'netns', 'add', NS_A);
    sh('ip', 'netns', 'add', NS_B);
  });

  // A test that fails before stopLine leaves its line running and its TUN devices in the
  // namespaces; the next test's devices have the same names, so stop it and remove them here.
  afterEach(async () => {
    for (const l of running.splice(0)) {
      if (l.child.exitCode === null && l.child.signalCode === null) {
        l.child.kill('SIGKILL');
        await Promise.race([l.exit, sleep(2000)]);
      }
    }
    for (const [ns, dev] of [
      [NS_A, DEV_A],
      [NS_B, DEV_B],
    ] as const) {
      if (devExists(ns, dev)) spawnSync('ip', ['-n', ns, 'link', 'del', dev]);
    }
  });

  afterAll(async () => {
    try {
      for (const l of running) {
        if (l.child.exitCode === null && l.child.signalCode === null) {
          l.child.kill('SIGKILL');
          await Promise.race([l.exit, sleep(2000)]);
        }
      }
    } finally {
      spawnSync('ip', ['netns', 'del', NS_A]);
      spawnSync('ip', ['netns', 'del', NS_B]);
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('rejects bad arguments with exit code 2', () => {
    for (const args of [[], ['--dev-a', 'x'], ['--dev-a', 'a b', '--dev-b', 'y'], ['--dev-a', 'x', '--dev-b', 'y', '--loss-ppm', '2000000'], ['--dev-a', 'x', '--dev-b', 'x']]) {
      const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 5000 });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).not.toBe('');
    }
  });

  it('adds the requested delay: --delay-us 5000 gives a 10 ms RTT (±10 %)', async () => {
    const line = await startLine('--delay-us', '5000', '--seed', '1');
    ping(3, '0.05'); // warm-up (neighbour/route caches)
    const p = ping(20, '0.05');
    expect(p.received).toBe(20);
    // The line must never deliver early, and its own added latency stays within 10 % (the fastest
    // round trip); scheduling on a loaded 2-core machine only adds to the mean, so that is bounded
    // more loosely.
    expect(p.minMs).toBeGreaterThan(9.9);
    expect(p.minMs).toBeLessThan(11);
    expect(p.avgMs).toBeLessThan(13);
    expect(await stopLine(line)).toBe(0);
  });

  it('drops packets at the requested rate (10 % per direction) and counts them', async () => {
    const stats = join(tmp, 'stats.json');
    const line = await startLine('--delay-us', '500', '--loss-ppm', '100000', '--seed', '1', '--stats-file', stats);
    const n = 200;
    const p = ping(n, '0.01', '-W', '1');
    // A round trip survives with 0.9² = 0.81: expect 19 % lost; ±4 σ of the binomial (σ ≈ 2.8 %).
    const lost = (p.sent - p.received) / p.sent;
    const sigma = Math.sqrt((0.19 * 0.81) / n);
    expect(lost).toBeGreaterThan(0.19 - 4 * sigma);
    expect(lost).toBeLessThan(0.19 + 4 * sigma);
    expect(await stopLine(line)).toBe(0);
    // the final statistics are written on exit
    const s = JSON.parse(readFileSync(stats, 'utf8')) as Record<'a_to_b' | 'b_to_a', Record<string, number>>;
    for (const dir of ['a_to_b', 'b_to_a'] as const) {
      for (const k of ['packets', 'bytes', 'dropped_loss', 'dropped_full']) expect(Number.isInteger(s[dir][k]), `${dir}.${k}`).toBe(true);
      expect(s[dir].dropped_full).toBe(0);
    }
    const a = s.a_to_b;
    const seen = (a.packets ?? 0) + (a.dropped_loss ?? 0);
    expect(seen).toBeGreaterThanOrEqual(n);
    const rate = (a.dropped_loss ?? 0) / seen;
    const sd = Math.sqrt((0.1 * 0.9) / seen);
    expect(rate).toBeGreaterThan(0.1 - 4 * sd);
    expect(rate).toBeLessThan(0.1 + 4 * sd);
  });

  const hasIperf = spawnSync('sh', ['-c', 'command -v iperf3']).status === 0;

  /** 2 s of one bulk TCP stream A → B (BBR: it keeps sending at 2 % loss, and TSO builds 64 KB GSO frames), then the final
   *  statistics and the sender's TCP counters. */
  async function lossyTransfer(mode: string | null): Promise<{ a: Record<string, number>; outSegs: number; retransSegs: number; mode: string }> {
    const stats = join(tmp, `stats-${mode ?? 'default'}.json`);
    const line = await startLineEnv(mode ? { NETTUNE_DELAYLINE_LOSS_MODE: mode } : {}, '--delay-us', '1000', '--loss-ppm', '20000', '--seed', '7', '--stats-file', stats);
    const server = spawn('ip', ['netns', 'exec', NS_B, 'iperf3', '-s', '-1', '-B', IP_B, '-p', '5291'], { stdio: 'ignore' });
    try {
      await sleep(300);
      spawnSync('ip', ['netns', 'exec', NS_A, 'nstat', '-n']);
      const r = spawnSync('ip', ['netns', 'exec', NS_A, 'iperf3', '-c', IP_B, '-p', '5291', '-t', '2', '-C', 'bbr', '--json'], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      const nstat = spawnSync('ip', ['netns', 'exec', NS_A, 'nstat', '-a', '-j'], { encoding: 'utf8' }).stdout;
      const k = (JSON.parse(nstat) as { kernel: Record<string, number> }).kernel;
      expect(await stopLine(line)).toBe(0);
      const s = JSON.parse(readFileSync(stats, 'utf8')) as { a_to_b: Record<string, number>; loss_mode: string };
      return { a: s.a_to_b, outSegs: k.TcpOutSegs ?? 0, retransSegs: k.TcpRetransSegs ?? 0, mode: s.loss_mode };
    } finally {
      server.kill('SIGKILL');
    }
  }

  it.skipIf(!hasIperf)('loss is per TCP segment, not per GSO frame: 2 % loss, mean burst ≈ 1/(1 − p)', async () => {
    const { a, outSegs, retransSegs, mode } = await lossyTransfer(null);
    expect(mode).toBe('split');
    const segs = a.segments ?? 0;
    expect(segs).toBeGreaterThan(20000);
    expect(a.split_frames).toBeGreaterThan(0); // GSO frames arrived and were split on loss
    const share = (a.dropped_loss ?? 0) / segs;
    const sd = Math.sqrt((0.02 * 0.98) / segs);
    expect(share).toBeGreaterThan(0.02 - 5 * sd);
    expect(share).toBeLessThan(0.02 + 5 * sd);
    const burst = (a.dropped_loss ?? 0) / (a.loss_bursts ?? 1);
    expect(burst).toBeGreaterThan(0.95);
    expect(burst).toBeLessThan(1.02 / 0.98 + 0.05);
    // TCP's own view: about one retransmission per lost segment
    expect(retransSegs / outSegs).toBeGreaterThan(0.012);
    expect(retransSegs / outSegs).toBeLessThan(0.03);
  });

  it.skipIf(!hasIperf)('the old whole-frame drop (LOSS_MODE=frame) loses bursts; notso makes every read one segment', async () => {
    const frame = await lossyTransfer('frame');
    expect(frame.mode).toBe('frame');
    expect((frame.a.dropped_loss ?? 0) / (frame.a.loss_bursts ?? 1)).toBeGreaterThan(3);
    const notso = await lossyTransfer('notso');
    expect(notso.mode).toBe('notso');
    expect(notso.a.split_frames).toBe(0);
    expect(notso.a.segments).toBe((notso.a.packets ?? 0) + (notso.a.dropped_loss ?? 0) + (notso.a.dropped_full ?? 0) + (notso.a.dropped_error ?? 0));
    expect((notso.a.dropped_loss ?? 0) / (notso.a.loss_bursts ?? 1)).toBeLessThan(1.1);
  });

  it('exits 0 on SIGTERM and its devices disappear', async () => {
    const line = await startLine('--delay-us', '0');
    expect(ping(5, '0.05').received).toBe(5); // zero delay: plain forwarding
    expect(devExists(NS_A, DEV_A)).toBe(true);
    expect(devExists(NS_B, DEV_B)).toBe(true);
    const pid = line.child.pid;
    expect(await stopLine(line)).toBe(0);
    expect(devExists(NS_A, DEV_A)).toBe(false);
    expect(devExists(NS_B, DEV_B)).toBe(false);
    expect(pid !== undefined && existsSync(`/proc/${pid}`)).toBe(false);
  });
});
