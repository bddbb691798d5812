// The input-file reader and the output writer of src/sys/fs.ts against real FIFOs, devices,
// directories, symlinks, large and binary files (in a temp dir; /dev/null, /dev/zero, /dev/full).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NettuneError } from '../../src/sys/errors.js';
import { checkOutputPath, excerpt, MAX_INPUT_BYTES, parseJsonText, readInputFile, readJsonFile, writeFileAtomic, writeOutputFile } from '../../src/sys/fs.js';
import { netnsNameFromEnv, validNetns } from '../../src/sys/names.js';

const dir = mkdtempSync(join(tmpdir(), 'nettune-fs-'));
const fifo = join(dir, 'fifo');
spawnSync('mkfifo', [fifo]);

const usage = (f: () => unknown): NettuneError => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(NettuneError);
    expect((err as NettuneError).exitCode).toBe(2);
    expect((err as NettuneError).message).not.toContain('\n');
    return err as NettuneError;
  }
  throw new Error('expected a usage error');
};

describe('readInputFile', () => {
  it('reads a small UTF-8 text file', () => {
    const p = join(dir, 'ok.txt');
    writeFileSync(p, 'net.ipv4.tcp_sack = 1\n# ü\n');
    expect(readInputFile(p)).toBe('net.ipv4.tcp_sack = 1\n# ü\n');
  });
  it('refuses a FIFO at once (no writer: the open must not block)', () => {
    const t = Date.now();
    expect(usage(() => readInputFile(fifo)).message).toMatch(/FIFO/);
    expect(Date.now() - t).toBeLessThan(1000);
  });
  it('refuses /dev/zero and /dev/null (character devices), a directory, a missing file', () => {
    expect(usage(() => readInputFile('/dev/zero')).message).toMatch(/character device/);
    expect(usage(() => readInputFile('/dev/null')).message).toMatch(/character device/);
    expect(usage(() => readInputFile(dir)).message).toMatch(/directory/);
    expect(usage(() => readInputFile(join(dir, 'nope'), { label: '--snapshot nope' })).message).toBe('--snapshot nope: cannot read: no such file or directory (ENOENT)');
  });
  it('refuses a file over 4 MiB, and accepts exactly 4 MiB', () => {
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc(MAX_INPUT_BYTES + 1, 0x61));
    expect(usage(() => readInputFile(big)).message).toMatch(/4 MiB/);
    writeFileSync(big, Buffer.alloc(MAX_INPUT_BYTES, 0x61));
    expect(readInputFile(big).length).toBe(MAX_INPUT_BYTES);
  });
  it('refuses NUL bytes and invalid UTF-8', () => {
    const b = join(dir, 'bin');
    writeFileSync(b, Buffer.from([0x7b, 0x00, 0x7d]));
    expect(usage(() => readInputFile(b)).message).toMatch(/NUL byte at offset 1/);
    writeFileSync(b, Buffer.from([0x61, 0xff, 0xfe, 0x62]));
    expect(usage(() => readInputFile(b)).message).toMatch(/invalid UTF-8/);
  });
  it('a JSON error is one short line with line and column', () => {
    const p = join(dir, 'bad.json');
    writeFileSync(p, `{\n  "a": ${'x'.repeat(5000)}\n}`);
    const m = usage(() => readJsonFile(p)).message;
    expect(m.length).toBeLessThan(300);
    expect(m).toMatch(/not JSON \(Unexpected token/);
    const r = parseJsonText('{"a": 1,}');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).not.toContain('\n');
  });
  it('excerpt caps and shows control characters', () => {
    expect(excerpt('a\nb\u0000c')).toBe('a\\x0ab\\x00c');
    expect(excerpt('y'.repeat(500)).length).toBe(60);
  });
});

describe('writeOutputFile', () => {
  it('writes a new regular file atomically (no temp file left), 0600 as root', () => {
    const p = join(dir, 'out', 'snap.json');
    mkdirSync(join(dir, 'out'));
    expect(writeOutputFile(p, 'x\n')).toEqual({ path: p, how: 'atomic' });
    expect(readFileSync(p, 'utf8')).toBe('x\n');
    if (process.geteuid?.() === 0) expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'out'))).toEqual(['snap.json']);
  });
  it('writes through /dev/null: it stays a character device', () => {
    expect(writeOutputFile('/dev/null', 'x'.repeat(100_000))).toEqual({ path: '/dev/null', how: 'through' });
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });
  it('writes through a FIFO with a reader; a FIFO without one is exit 2, not a hang', async () => {
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let got = '';
    reader.stdout.on('data', (d: Buffer) => (got += d.toString()));
    const done = new Promise((res) => reader.on('exit', res));
    await new Promise((r) => setTimeout(r, 300)); // cat has opened the FIFO
    writeOutputFile(fifo, 'through the pipe\n');
    await done;
    expect(got).toBe('through the pipe\n');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(usage(() => writeOutputFile(fifo, 'x')).message).toMatch(/no reader/);
  });
  it('follows a symlink: the target is written, the link stays a link', () => {
    const target = join(dir, 'target.json');
    writeFileSync(target, 'old');
    const link = join(dir, 'link.json');
    symlinkSync(target, link);
    expect(writeOutputFile(link, 'new')).toEqual({ path: target, how: 'atomic' });
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe('new');
    const toNull = join(dir, 'to-null');
    symlinkSync('/dev/null', toNull);
    expect(writeOutputFile(toNull, 'x').how).toBe('through');
    expect(lstatSync(toNull).isSymbolicLink()).toBe(true);
  });
  it('refuses a dangling link, a directory, a missing directory, a file as directory, /dev/full', () => {
    const dangling = join(dir, 'dangling');
    symlinkSync(join(dir, 'nowhere'), dangling);
    expect(usage(() => writeOutputFile(dangling, 'x')).message).toMatch(/dangling/);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
    expect(usage(() => writeOutputFile(dir, 'x')).message).toMatch(/is a directory/);
    expect(usage(() => writeOutputFile(`${dir}/`, 'x')).message).toMatch(/file name is needed/);
    expect(usage(() => writeOutputFile(join(dir, 'no', 'x.json'), 'x')).message).toMatch(/does not exist/);
    writeFileSync(join(dir, 'plain'), '');
    expect(usage(() => checkOutputPath(join(dir, 'plain', 'x'))).message).toMatch(/not a directory/);
    expect(usage(() => writeOutputFile('/dev/full', 'x')).message).toMatch(/ENOSPC/);
    expect(usage(() => writeOutputFile('', 'x')).message).toMatch(/file name/);
  });
  it.skipIf(process.geteuid?.() !== 0)('refuses a link planted by another user in a sticky world-writable directory', () => {
    const sticky = join(dir, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep');
    const planted = join(sticky, 'out.json');
    symlinkSync(victim, planted);
    spawnSync('chown', ['-h', '65534', planted]);
    expect(usage(() => writeOutputFile(planted, 'x')).message).toMatch(/protected_symlinks/);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
  });
});

describe('writeFileAtomic', () => {
  it('never renames over a FIFO, a device or a directory', () => {
    expect(() => writeFileAtomic(fifo, 'x')).toThrow(/refusing to replace/);
    expect(() => writeFileAtomic(dir, 'x')).toThrow(/refusing to replace/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('namespace names', () => {
  it('the empty name and unsafe names are refused, naming where they came from', () => {
    for (const bad of ['', ' ', '.', '..', '../x', 'a/b', '-x', 'a b', 'x'.repeat(65), 'a\nb', 'ä'])
      expect(() => validNetns(bad, '--netns')).toThrow(/--netns: invalid network namespace name/);
    expect(validNetns('nt-h2-ok_1.x')).toBe('nt-h2-ok_1.x');
    expect(netnsNameFromEnv({})).toBeNull();
    expect(netnsNameFromEnv({ NETTUNE_NETNS_NAME: 'nt-a' })).toBe('nt-a');
    expect(() => netnsNameFromEnv({ NETTUNE_NETNS_NAME: '' })).toThrow(/NETTUNE_NETNS_NAME/);
  });
});
