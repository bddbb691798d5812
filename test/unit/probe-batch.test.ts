// The probe's command batch (one /bin/sh for many commands) gives what run() gives, command for
// command.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchRunner, runBatch, type BatchJob } from '../../src/probe/batch.js';
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

  it('its scratch directory is gone when the results are (a process that exits right after, e.g. on EPIPE, leaves nothing)', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'nettune-batch-test-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    try {
      const rs = await runBatch([
        { file: '/bin/echo', args: ['x'] },
        { file: '/bin/cat', args: [], opts: { input: 'in' } },
        { file: '/bin/sh', args: ['-c', 'exit 4'] },
      ]);
      expect(rs.map((r) => r.code)).toEqual([0, 0, 4]);
      expect(readdirSync(scratch)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('batchRunner: commands asked in one turn run as one batch, each promise gets its own result', async () => {
    const b = batchRunner();
    const rs = await Promise.all([b.run('/bin/echo', ['1']), b.run('/bin/echo', ['2']), b.run('/bin/sh', ['-c', 'exit 1'])]);
    expect(rs.map((r) => r.stdout)).toEqual(['1\n', '2\n', '']);
    expect(rs[2]).toMatchObject({ ok: false, code: 1 });
  });
});
