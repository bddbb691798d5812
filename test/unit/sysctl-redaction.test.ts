// Secrets never reach a Snapshot: keys /proc/sys keeps mode 0600 and known secrets are listed as
// redacted (present, no value); an unset stable_secret (EIO) is 'unset', not a probe error.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifySysctls, isSecret, modesFromFind, readSysctlKey, readSysctls, SPECIAL_MODES_FIND, statMode, walkSysctls } from '../../src/probe/sysctl.js';
import { runBatch } from '../../src/probe/batch.js';
import { run } from '../../src/sys/run.js';
import { snapshotSchema } from '../../src/snapshot/schema.js';
import { snapshotFixture } from '../helpers.js';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'nettune-sysctl-'));
  mkdirSync(join(root, 'net', 'ipv4'), { recursive: true });
  mkdirSync(join(root, 'net', 'ipv6', 'conf', 'lo'), { recursive: true });
  mkdirSync(join(root, 'fs'));
  mkdirSync(join(root, 'vm'));
  const put = (p: string, v: string, mode: number): void => {
    writeFileSync(join(root, p), v);
    chmodSync(join(root, p), mode);
  };
  put('net/ipv4/tcp_sack', '1\n', 0o644);
  put('net/ipv4/tcp_fastopen_key', '01234567-89abcdef-01234567-89abcdef\n', 0o600);
  put('net/ipv4/some_private', '42\n', 0o600);
  put('net/ipv4/tcp_fastopen_key_relaxed', 'x\n', 0o644);
  put('net/ipv6/conf/lo/stable_secret', 'fe80::1\n', 0o644); // secret by name even if readable
  put('net/ipv4/route_flush', '', 0o200);
  for (const k of ['fs/file-max', 'fs/nr_open', 'fs/file-nr', 'vm/min_free_kbytes']) put(k, '1\n', 0o644);
  return root;
}

describe('sysctl secrets', () => {
  it('mode-0600 keys and named secrets are redacted, never in values', () => {
    const r = readSysctls(tree());
    expect(r.values['net.ipv4.tcp_sack']).toBe('1');
    expect(r.redacted).toEqual({ 'net.ipv4.tcp_fastopen_key': 'secret', 'net.ipv4.some_private': 'secret', 'net.ipv6.conf.lo.stable_secret': 'secret' });
    expect(JSON.stringify(r)).not.toContain('01234567');
    expect(JSON.stringify(r)).not.toContain('fe80::1');
    expect(r.values).not.toHaveProperty('net.ipv4.route_flush');
    expect(r.values['net.ipv4.tcp_fastopen_key_relaxed']).toBe('x');
    expect(r.errors).toEqual([]);
  });
  it('isSecret: by name or by a mode without group/other read', () => {
    expect(isSecret('net.ipv4.tcp_fastopen_key', 0o100644)).toBe(true);
    expect(isSecret('net.ipv6.conf.eth0.stable_secret', null)).toBe(true);
    expect(isSecret('net.core.bpf_jit_harden', 0o100600)).toBe(true);
    expect(isSecret('net.ipv4.tcp_sack', 0o100644)).toBe(false);
  });
  it('the lint host lookup never returns a secret', () => {
    const root = tree();
    expect(readSysctlKey('net.ipv4.some_private', root)).toEqual({ exists: true, value: null });
    expect(readSysctlKey('net.ipv4.tcp_sack', root)).toEqual({ exists: true, value: '1' });
  });
  it.skipIf(process.geteuid?.() !== 0)('live: the fastopen key is redacted and unset stable_secrets are not probe errors', () => {
    const r = readSysctls();
    expect(r.redacted['net.ipv4.tcp_fastopen_key']).toBe('secret');
    expect(r.values).not.toHaveProperty('net.ipv4.tcp_fastopen_key');
    expect(r.redacted['net.ipv6.conf.lo.stable_secret']).toMatch(/^(unset|secret)$/);
    expect(r.errors.filter((e) => e.source.includes('stable_secret'))).toEqual([]);
  });
  it('an older Snapshot without the field still loads (empty redaction list)', () => {
    const s = snapshotFixture();
    expect(s.sysctl_redacted).toEqual({});
    const { sysctl_redacted: _r, ...old } = s;
    expect(snapshotSchema.parse(old).sysctl_redacted).toEqual({});
  });
});

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
    expect(byFind.redacted).toEqual({ 'net.ipv4.tcp_fastopen_key': 'secret', 'net.ipv4.some_private': 'secret', 'net.ipv6.conf.lo.stable_secret': 'secret' });
    expect(byFind.values).not.toHaveProperty('net.ipv4.route_flush');
  });

  it('find runs inside the probe\'s command batch (no newline in its arguments) and prints the same list there', async () => {
    const root = tree();
    const args = SPECIAL_MODES_FIND(root);
    expect(args.some((a) => a.includes('\n'))).toBe(false);
    const [batched, alone] = await runBatch([
      { file: 'find', args },
      { file: 'find', args: ['/nonexistent-dir'] },
    ]);
    expect(batched).toEqual(await run('find', args));
    expect(alone?.ok).toBe(false);
    expect(batched?.stdout.split('\n').filter(Boolean).sort()).toEqual([`200 ${root}/net/ipv4/route_flush`, `600 ${root}/net/ipv4/some_private`, `600 ${root}/net/ipv4/tcp_fastopen_key`].sort());
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
