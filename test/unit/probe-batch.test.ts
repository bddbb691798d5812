// The probe's command batch (one /bin/sh for many commands) gives what run() gives, command for
// command; and the sysctl modes from one find(1) classify the tree as stat does.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchRunner, runBatch, type BatchJob } from '../../src/probe/batch.js';
import { classifySysctls, modesFromFind, readSysctls, SPECIAL_MODES_FIND, statMode, walkSysctls } from '../../src/probe/sysctl.js';
import { run } from '../../src/sys/run.js';

const JOBS: BatchJob[] = [
  { file: '/bin/echo', args: ['a b', '*', '$HOME', "it's"] },
  { file: '/bin/sh', args: ['-c', 'echo out; echo "err line" >&2; echo more >&2; exit 3'] },
  { file: '/bin/cat', args: [], opts: { input: 'from stdin\nline 2' } },
  { file: '/bin/sh', args: ['-c', 'printf "no newline"'] },
  { file: '/nonexistent/tool', args: ['x'] },
  { file: '/bin/echo', args: ['two\nlines'] }, // cannot be one batch parameter: run() alone
  { file: '/bin/sh', args: ['-c', 'kill -TERM $$'] },
];

describe('runBatch', () => {
  it('each command: exactly the RunResult run() gives (stdout, stderr, exit, stdin, not installed)', async () => {
    const batched = await runBatch(JOBS);
    const alone = await Promise.all(JOBS.map((j) => run(j.file, j.args, j.opts)));
    // run() words a signal death with execFile's message; the batch words it the same way
    expect(batched).toEqual(alone);
    expect(batched[0]).toEqual({ ok: true, code: 0, stdout: "a b * $HOME it's\n", stderr: '' });
    expect(batched[1]?.error).toBe("/bin/sh -c echo out; echo \"err line\" >&2; echo more >&2; exit 3: exit 3: err line");
  });

  it('a command that outlives the timeout is killed with the rest of its group and reported as timed out', async () => {
    const t0 = Date.now();
    const [slow, quick] = await runBatch([
      { file: '/bin/sleep', args: ['30'], opts: { timeoutMs: 1000 } },
      { file: '/bin/echo', args: ['quick'], opts: { timeoutMs: 1000 } },
    ]);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(slow).toMatchObject({ ok: false, code: null, error: '/bin/sleep: timed out after 1000 ms' });
    expect(quick).toEqual({ ok: true, code: 0, stdout: 'quick\n', stderr: '' });
    const left = await run('pgrep', ['-f', '^/bin/sleep 30$']);
    expect(left.stdout).toBe('');
  });

  it('batchRunner: commands asked in one turn run as one batch, each promise gets its own result', async () => {
    const b = batchRunner();
    const rs = await Promise.all([b.run('/bin/echo', ['1']), b.run('/bin/echo', ['2']), b.run('/bin/sh', ['-c', 'exit 1'])]);
    expect(rs.map((r) => r.stdout)).toEqual(['1\n', '2\n', '']);
    expect(rs[2]).toMatchObject({ ok: false, code: 1 });
  });
});

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'nettune-sysctl-modes-'));
  mkdirSync(join(root, 'net', 'ipv4', 'conf', 'eth0.100'), { recursive: true });
  mkdirSync(join(root, 'fs'));
  mkdirSync(join(root, 'vm'));
  const put = (p: string, v: string, mode: number): void => {
    writeFileSync(join(root, p), v);
    chmodSync(join(root, p), mode);
  };
  put('net/ipv4/tcp_sack', '1\n', 0o644);
  put('net/ipv4/tcp_rmem', '4096\t131072\t6291456\n', 0o644);
  put('net/ipv4/conf/eth0.100/forwarding', '0\n', 0o644);
  put('net/ipv4/some_private', '42\n', 0o600);
  put('net/ipv4/tcp_fastopen_key', '00-11\n', 0o600);
  put('net/ipv4/route_flush', '', 0o200);
  for (const k of ['fs/file-max', 'fs/nr_open', 'fs/file-nr', 'vm/min_free_kbytes']) put(k, '1\n', 0o644);
  return root;
}

describe('sysctl modes from find(1)', () => {
  it('classify the walk exactly as a stat of every file does', async () => {
    const root = tree();
    const found = await run('find', SPECIAL_MODES_FIND(root));
    expect(found.ok).toBe(true);
    const modeOf = modesFromFind(found.stdout);
    expect(modeOf).not.toBeNull();
    const walked = walkSysctls(root);
    const byFind = classifySysctls(walked.reads, modeOf ?? statMode, root);
    expect(byFind).toEqual(readSysctls(root));
    expect(byFind.values['net.ipv4.conf.eth0/100.forwarding']).toBe('0');
    expect(byFind.redacted).toEqual({ 'net.ipv4.some_private': 'secret', 'net.ipv4.tcp_fastopen_key': 'secret' });
    expect(byFind.values).not.toHaveProperty('net.ipv4.route_flush');
  });

  it('output that is not find -printf "%m %p" is refused (the probe then stats)', () => {
    expect(modesFromFind('600 /proc/sys/net/core/bpf_jit_harden\n200 /proc/sys/net/ipv4/route/flush\n')?.('/proc/sys/net/ipv4/route/flush')).toBe(0o200);
    expect(modesFromFind('find: unknown predicate `-printf\'\n')).toBeNull();
  });

  it.skipIf(process.geteuid?.() !== 0)('live: /proc/sys/net classified by find equals classified by stat', async () => {
    const found = await run('find', SPECIAL_MODES_FIND());
    const walked = walkSysctls();
    const a = classifySysctls(walked.reads, modesFromFind(found.stdout) ?? (() => -1));
    const b = classifySysctls(walked.reads, statMode);
    expect(Object.keys(a.values).sort()).toEqual(Object.keys(b.values).sort());
    expect(a.redacted).toEqual(b.redacted);
    expect(a.errors).toEqual(b.errors);
  });
});
