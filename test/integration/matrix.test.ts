// experiment matrix in real labs (root): a failing cell is recorded as failed and the matrix goes
// on; --resume runs only the cells not finished; Ctrl-C keeps the finished cells on disk and
// removes the lab. The failure is injected at the start of a cell (NETTUNE_FAULT=matrix-cell@N).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MatrixResult } from '../../src/lab/matrix.js';
import { sleep } from '../../src/sys/process.js';
import { BUNDLE, runCli } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const state = mkdtempSync(join(tmpdir(), 'nettune-h2mx-'));
const out = mkdtempSync(join(tmpdir(), 'nettune-h2mx-out-'));
const lab = `h2m${(process.pid % 1000).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
const netns = (): string[] => {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(`nt-${lab}-`));
  } catch {
    return [];
  }
};
const grid = ['--rate', '100mbit', '--rtt', '4ms,8ms', '--arm', 'a=defaults', '--arm', 'b=set:net.ipv4.tcp_sack=1', '--runs', '1', '--duration', '1', '--lab', lab];
const read = (f: string): MatrixResult => JSON.parse(readFileSync(f, 'utf8')) as MatrixResult;

describe.skipIf(!isRoot)('experiment matrix (root)', () => {
  afterAll(() => {
    runCli(['lab', 'down', lab], { NETTUNE_STATE_DIR: state });
    for (const ns of netns()) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(state, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('a failing cell is recorded and the matrix goes on; --resume runs only what is not finished', () => {
    const dir = join(out, 'fail');
    const r = runCli(['experiment', 'matrix', ...grid, '--out', dir, '--json'], { NETTUNE_STATE_DIR: state, NETTUNE_FAULT: 'matrix-cell@1=error' }, 240_000);
    expect(r.code, r.stderr).toBe(3);
    const doc = JSON.parse(r.stdout) as MatrixResult & { files: { json: string; markdown: string; svg: string } };
    expect(doc.complete).toBe(false);
    expect(doc.cells.map((c) => [c.rtt_ms, c.status])).toEqual([
      [4, 'failed'],
      [8, 'ok'],
    ]);
    expect(doc.cells[0]?.reason).toBe('injected fault at matrix-cell');
    const ok = doc.cells[1];
    expect(ok?.arms.map((a) => [a.key, a.samples.length])).toEqual([
      ['A', 1],
      ['B', 1],
    ]);
    // 100 Mbit/s: one stream gets close to the ceiling, never far above it
    for (const a of ok?.arms ?? []) {
      expect(a.share as number).toBeGreaterThan(0.5);
      expect(a.share as number).toBeLessThan(1.05);
    }
    expect(ok?.measured_rtt_min_ms as number).toBeGreaterThanOrEqual(7.9);
    expect(r.stderr).toMatch(/cell 1\/2 FAILED: injected fault at matrix-cell; going on/);
    expect(r.stderr).toMatch(/cell 2\/2 \(100 Mbit\/s, RTT 8 ms, loss 0 %\): elapsed \d+s, ~\d+s left/);
    expect(read(doc.files.json).cells).toHaveLength(2); // written incrementally: the file has what the document has
    expect(readFileSync(doc.files.markdown, 'utf8')).toContain('FAILED: injected fault at matrix-cell');
    expect(readFileSync(doc.files.svg, 'utf8')).toMatch(/^<svg /);
    expect(netns()).toEqual([]);

    // Resume: the failed cell runs again, the finished one is kept as it was.
    const again = runCli(['experiment', 'matrix', '--resume', doc.files.json, '--json'], { NETTUNE_STATE_DIR: state }, 240_000);
    expect(again.code, again.stderr).toBe(0);
    const done = JSON.parse(again.stdout) as MatrixResult;
    expect(done.complete).toBe(true);
    expect(done.cells.map((c) => c.status)).toEqual(['ok', 'ok']);
    expect(done.cells[1]).toEqual(ok);
    expect(again.stderr).toContain('1 of 2 cells already done in the resumed file');
    expect(again.stderr).toContain('cell 1/2');
    expect(again.stderr).not.toContain('cell 2/2');
    expect(read(doc.files.json).complete).toBe(true);
    expect(netns()).toEqual([]);
  }, 480_000);

  it('Ctrl-C leaves the finished cells on disk and removes the lab (exit 130)', async () => {
    const dir = join(out, 'int');
    const child = spawn(process.execPath, [BUNDLE, 'experiment', 'matrix', ...grid, '--out', dir], { env: { ...process.env, NETTUNE_NO_INSTALL: '1', NETTUNE_STATE_DIR: state }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const file = join(dir, 'matrix.json');
    // the first cell done, the second one running
    for (let i = 0; i < 1200 && !(existsSync(file) && read(file).cells.length === 1 && /cell 2\/2/.test(stderr)); i++) await sleep(100);
    await sleep(1500);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    const m = read(file);
    expect(m.cells.map((c) => [c.rtt_ms, c.status])).toEqual([[4, 'ok']]);
    expect(m.complete).toBe(false);
    expect(readFileSync(join(dir, 'matrix.md'), 'utf8')).toContain('1 not run yet');
    expect(netns()).toEqual([]);
  }, 240_000);
});
