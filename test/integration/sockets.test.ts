// `nettune sockets`: bad input (any user), and the classification proved in the lab (root): one
// iperf3 stream over a 100 ms emulated link is reported sndbuf with a 4 MiB tcp_wmem max on the
// sender, rwnd with a small tcp_rmem max on the receiver, and cwnd with big buffers behind a TBF
// rate. The test makes its own lab namespaces and always removes them; every stream is bounded.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers.js';
import { sleep } from '../../src/sys/process.js';

const isRoot = process.getuid?.() === 0;
const state = mkdtempSync(join(tmpdir(), 'nettune-sockets-'));
const tag = `so${(process.pid % 1000).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
const nettune = (args: string[]) => runCli(args, { NETTUNE_STATE_DIR: state }, 120_000);
const MiB = 1024 * 1024;

const errorOf = (stdout: string) => (JSON.parse(stdout) as { error: { message: string; exit_code: number } }).error;

interface View {
  state: string;
  peer: string;
  bytes_sent: number | null;
  limited_by: string | null;
  basis: string | null;
  reason: string | null;
  send: { limit_bytes: number | null };
  interval: { shares: Record<string, number | null> } | null;
}

describe('sockets: bad input', () => {
  it('an unknown --netns is exit 2 with one JSON error document', () => {
    const r = nettune(['sockets', '--netns', `nt-${tag}-none`, '--json']);
    expect(r.code).toBe(2);
    expect(errorOf(r.stdout)).toMatchObject({ exit_code: 2, message: expect.stringMatching(/does not exist/) as unknown });
  });

  it.each([['5'], ['0s'], ['2h'], ['soon'], ['-1s']])('--interval %s is exit 2', (v) => {
    const r = nettune(['sockets', `--interval=${v}`, '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(errorOf(r.stdout).exit_code).toBe(2);
  });

  it('--filter with shell metacharacters reaches ss literally: no shell runs it, ss refuses it (exit 2 with its message)', () => {
    const marker = join(state, 'pwned');
    for (const f of [`dport = :22; touch ${marker}`, `dport = :$(touch ${marker})`, `dport = :\`touch ${marker}\``, `-K dport = :22 | touch ${marker}`]) {
      const r = nettune(['sockets', '--filter', f, '--json']);
      expect(r.code, f).toBe(2);
      expect(errorOf(r.stdout).message).toMatch(/ss refused it: .*(does not look like a port|inet prefix is expected)/);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('a filter ss accepts is applied (no socket matches a port nobody uses)', () => {
    const r = nettune(['sockets', '--filter', 'state all dport = :1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { limits: { wmem_max: number } };
    expect(doc).toMatchObject({ filter: 'state all dport = :1', counts: { sockets: 0 }, command: ['ss', '-t', '-i', '-n', '-m', '-O', '--', 'state', 'all', 'dport', '=', ':1'] });
    expect(doc.limits.wmem_max).toBeGreaterThan(0);
  });
});

const netns = (): string[] => {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
};

describe.skipIf(!isRoot || !existsSync('/usr/bin/iperf3'))('sockets: classification in the lab (root)', () => {
  const labs: string[] = [];
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    for (const l of labs) nettune(['lab', 'down', l]);
    for (const ns of netns().filter((n) => n.startsWith(`nt-${tag}`))) spawnSync('ip', ['netns', 'del', ns]);
  });

  const up = (suffix: string, extra: string[]): { client: string; server: string } => {
    const name = `${tag}${suffix}`;
    labs.push(name);
    const r = nettune(['lab', 'up', name, '--rtt', '100ms', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return { client: `nt-${name}-client`, server: `nt-${name}-server` };
  };
  const sysctl = (ns: string, kv: string): void => {
    expect(spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', kv]).status).toBe(0);
  };
  const start = (ns: string, args: string[]): ChildProcess => {
    const p = spawn('ip', ['netns', 'exec', ns, 'timeout', '30', 'iperf3', ...args], { stdio: 'ignore' });
    procs.push(p);
    return p;
  };
  const exited = (p: ChildProcess): Promise<void> => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

  /** One bounded 9 s stream; the sender's sockets are read 5 s in over a 1 s interval. */
  async function stream(ns: { client: string; server: string }): Promise<View> {
    const server = start(ns.server, ['-s', '-1', '-p', '5201']);
    await sleep(500);
    const client = start(ns.client, ['-c', '198.18.0.2', '-p', '5201', '-t', '9']);
    await sleep(5000);
    const r = nettune(['sockets', '--netns', ns.client, '--interval', '1s', '--json']);
    await Promise.all([exited(client), exited(server)]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { sockets: View[]; chronographs: boolean };
    expect(doc.chronographs).toBe(true);
    const data = doc.sockets.filter((s) => s.state === 'ESTAB' && s.peer === '198.18.0.2:5201').sort((a, b) => (b.bytes_sent ?? 0) - (a.bytes_sent ?? 0));
    expect(data.length, JSON.stringify(doc)).toBeGreaterThanOrEqual(1);
    return data[0] as View;
  }

  it('100 ms link: 4 MiB tcp_wmem max on the sender → sndbuf; small tcp_rmem max on the receiver → rwnd', async () => {
    const ns = up('a', []);
    sysctl(ns.client, 'net.ipv4.tcp_wmem=4096 16384 4194304');
    sysctl(ns.server, 'net.ipv4.tcp_rmem=4096 131072 33554432');
    const snd = await stream(ns);
    expect(snd.limited_by, JSON.stringify(snd)).toBe('sndbuf');
    expect(snd.send.limit_bytes).toBe(4 * MiB);
    expect(snd.reason).toMatch(/net\.ipv4\.tcp_wmem/);

    sysctl(ns.client, 'net.ipv4.tcp_wmem=4096 16384 33554432');
    sysctl(ns.server, 'net.ipv4.tcp_rmem=4096 65536 262144');
    const rwnd = await stream(ns);
    expect(rwnd.limited_by, JSON.stringify(rwnd)).toBe('rwnd');
    expect(rwnd.reason).toMatch(/tcp_rmem/);
  }, 90_000);

  it('big buffers behind a 20 Mbit/s TBF → cwnd', async () => {
    const ns = up('b', ['--rate', '20mbit']);
    sysctl(ns.client, 'net.ipv4.tcp_wmem=4096 16384 33554432');
    sysctl(ns.server, 'net.ipv4.tcp_rmem=4096 131072 33554432');
    const v = await stream(ns);
    expect(v.limited_by, JSON.stringify(v)).toBe('cwnd');
    expect(v.interval?.shares.cwnd).toBeGreaterThan(0.5);
  }, 60_000);
});
