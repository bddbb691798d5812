import { describe, expect, it } from 'vitest';
import { ensureTools, which } from '../../src/sys/tools.js';
import { run } from '../../src/sys/run.js';
import { validIfname, validNetns } from '../../src/sys/names.js';

describe('tools', () => {
  it('finds tools on PATH and in sbin', () => {
    expect(which('sh')).toMatch(/\/sh$/);
    expect(which('nettune-no-such-tool')).toBeNull();
  });
  it('reports a missing tool with the package to install, and installs nothing when not allowed', async () => {
    const lines: string[] = [];
    const missing = await ensureTools(['nettune-no-such-tool', 'sh'], { install: false, log: (l) => lines.push(l) });
    expect(missing).toEqual(['nettune-no-such-tool']);
    expect(lines[0]).toMatch(/missing nettune-no-such-tool .*install with: apt-get install nettune-no-such-tool/);
  });
});

describe('runner', () => {
  it('returns results instead of throwing: ok, exit codes, missing tools, timeouts', async () => {
    expect(await run('sh', ['-c', 'echo hi'])).toMatchObject({ ok: true, stdout: 'hi\n' });
    const fail = await run('sh', ['-c', 'echo oops >&2; exit 3']);
    expect(fail).toMatchObject({ ok: false, code: 3 });
    expect(fail.error).toMatch(/exit 3: oops/);
    expect((await run('nettune-no-such-tool', [])).error).toMatch(/not installed/);
    expect((await run('sleep', ['5'], { timeoutMs: 200 })).error).toMatch(/timed out after 200 ms/);
  });
  it('passes arguments without a shell', async () => {
    const r = await run('printf', ['%s', '$(id); rm -rf /']);
    expect(r.stdout).toBe('$(id); rm -rf /');
  });
});

describe('names', () => {
  it('accepts real interface and namespace names, rejects paths and shell text', () => {
    expect(validIfname('eth0.100')).toBe('eth0.100');
    expect(() => validIfname('a'.repeat(16))).toThrow(/invalid interface name/);
    expect(() => validIfname('../x')).toThrow();
    expect(validNetns('nt-lab-client')).toBe('nt-lab-client');
    expect(() => validNetns('../../etc')).toThrow(/invalid network namespace name/);
    expect(() => validNetns('a b')).toThrow();
  });
});
