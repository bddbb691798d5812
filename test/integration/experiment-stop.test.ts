// SIGINT/SIGTERM to `experiment run` and `bench` clean up what they started (the lab, the delay
// line's process group, iperf3, the apply-state temp dir) and exit 130/143; a failing experiment
// removes its temp dir too. Needs root; every lab is named h8s… and removed afterwards.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, labNames, netnsWith, runCli } from '../helpers.js';
import { descendants } from '../../src/sys/signals.js';
import { pidAlive as alive, sleep } from '../../src/sys/process.js';

const isRoot = process.getuid?.() === 0;
const state = mkdtempSync(join(tmpdir(), 'nettune-h8stop-'));
const { tag, labs, labName } = labNames('h8s');
const netns = netnsWith;

interface Started {
  pid: number;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [BUNDLE, ...args], { env: { ...process.env, NETTUNE_NO_INSTALL: '1', NETTUNE_STATE_DIR: state, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : null))));
  return { pid: child.pid as number, stderr: () => err, stdout: () => out, exit };
}

async function waitFor(what: string, cond: () => boolean, ms: number, p: Started): Promise<void> {
  const t0 = Date.now();
  let exited: number | null | undefined;
  void p.exit.then((c) => (exited = c));
  while (!cond()) {
    if (exited !== undefined) throw new Error(`exited (${exited}) before ${what}: ${p.stderr()}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}: ${p.stderr()}`);
    await sleep(100);
  }
}

const commOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

describe.skipIf(!isRoot)('stopping cleans up (root)', () => {
  afterAll(() => {
    for (const l of labs) runCli(['lab', 'down', l], { NETTUNE_STATE_DIR: state });
    for (const ns of netns(`nt-${tag}`)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(state, { recursive: true, force: true });
  });

  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${sig} during experiment run: exit ${code}, no namespaces, delay line, iperf3 or temp dir left`, async () => {
      const name = labName(sig === 'SIGINT' ? 'i' : 't');
      const tmp = mkdtempSync(join(tmpdir(), 'nettune-h8tmp-'));
      const p = start(['experiment', 'run', 'timestamps', '--rtt', '10ms', '--reps', '3', '--duration', '20', '--lab', name], { TMPDIR: tmp });
      // Wait until the first run's iperf3 is up (a descendant named iperf3) and the delay line runs.
      await waitFor('iperf3 under the experiment', () => descendants(p.pid).some((d) => commOf(d.pid) === 'iperf3'), 90_000, p);
      const procs = descendants(p.pid);
      const delayline = procs.filter((d) => commOf(d.pid).startsWith('nettune-delayl'));
      expect(delayline.length, 'a delay line for the 10 ms link').toBeGreaterThan(0);
      expect(readdirSync(tmp).filter((f) => f.startsWith('nettune-exp-'))).toHaveLength(1);
      process.kill(p.pid, sig); // only nettune, as `kill` or systemd would: not its process group
      expect(await p.exit).toBe(code);
      expect(p.stderr()).toContain(`stopped by ${sig}`);
      expect(netns(`nt-${name}-`)).toEqual([]);
      for (const d of procs) expect(alive(d.pid), `${commOf(d.pid)} ${d.pid}`).toBe(false);
      expect(readdirSync(tmp)).toEqual([]);
      rmSync(tmp, { recursive: true, force: true });
    }, 180_000);
  }

  it('SIGTERM during bench throughput: exit 143, iperf3 gone, the lab (not the bench\'s) stays', async () => {
    const name = labName('b');
    expect(runCli(['lab', 'up', name, '--rate', '100mbit'], { NETTUNE_STATE_DIR: state }).code).toBe(0);
    const p = start(['bench', 'throughput', '--lab', name, '--duration', '30', '--json']);
    await waitFor('iperf3 under bench', () => descendants(p.pid).filter((d) => commOf(d.pid) === 'iperf3').length >= 2, 30_000, p);
    const procs = descendants(p.pid);
    process.kill(p.pid, 'SIGTERM');
    expect(await p.exit).toBe(143);
    for (const d of procs) expect(alive(d.pid)).toBe(false);
    expect((JSON.parse(p.stdout()) as { error: { exit_code: number } }).error.exit_code).toBe(143);
    expect(netns(`nt-${name}-`)).toHaveLength(2);
    expect(runCli(['lab', 'down', name], { NETTUNE_STATE_DIR: state }).code).toBe(0);
  }, 90_000);

  it('a failing experiment removes its lab and its temp dir (exit 2 for a key the lab lacks)', () => {
    const name = labName('f');
    const tmp = mkdtempSync(join(tmpdir(), 'nettune-h8tmp-'));
    const r = runCli(['experiment', 'run', 'timestamps', '--set', 'net.ipv4.tcp_no_such_knob_h8=1', '--reps', '1', '--duration', '1', '--lab', name], { NETTUNE_STATE_DIR: state, TMPDIR: tmp }, 120_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('tcp_no_such_knob_h8');
    expect(netns(`nt-${name}-`)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  }, 120_000);
});
