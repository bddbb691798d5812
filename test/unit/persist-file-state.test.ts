// The persisted files' mode, owner and directories as transaction steps (src/apply/file-state.ts).
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ABSENT, DIRECTORY, missingDirs, persistPathProblem, readDir, readFileMeta, writeDir, writeFileMeta, writePersisted } from '../../src/apply/file-state.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nettune-fstate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

describe('persisted file state', () => {
  it('new content keeps the mode (and owner) of the file it replaces; a new file is 0644', () => {
    const f = join(dir, 'a.conf');
    writeFileSync(f, 'old');
    chmodSync(f, 0o600);
    writePersisted(f, 'new');
    expect(statSync(f).mode & 0o7777).toBe(0o600);
    const g = join(dir, 'b.conf');
    writePersisted(g, 'x');
    expect(statSync(g).mode & 0o7777).toBe(0o644);
    writePersisted(g, null);
    expect(() => lstatSync(g)).toThrow();
  });
  it('never replaces a symlink or a directory; refuses them before the lock', () => {
    const t = join(dir, 'target');
    writeFileSync(t, 'theirs');
    const l = join(dir, 'link.conf');
    symlinkSync(t, l);
    expect(() => writePersisted(l, 'mine')).toThrow(/symbolic link/);
    expect(persistPathProblem(l, 'file')?.message).toMatch(/is a symbolic link/);
    mkdirSync(join(dir, 'd.conf'));
    expect(persistPathProblem(join(dir, 'd.conf'), 'file')?.message).toMatch(/is a directory/);
    expect(persistPathProblem(join(dir, 'new', 'deeper', 'x.conf'), 'file')).toBeNull();
    writeFileSync(join(dir, 'plain'), '');
    expect(persistPathProblem(join(dir, 'plain', 'x.conf'), 'file')?.message).toMatch(/not a directory/);
  });
  it('mode and owner round-trip through a step value', () => {
    const f = join(dir, 'm.conf');
    expect(readFileMeta(f)).toBe(ABSENT);
    writeFileSync(f, '');
    chmodSync(f, 0o640);
    const v = readFileMeta(f);
    expect(JSON.parse(v)).toMatchObject({ mode: '0640' });
    chmodSync(f, 0o777);
    writeFileMeta(f, v);
    expect(readFileMeta(f)).toBe(v);
    expect(() => writeFileMeta(f, '{"mode":"9999"}')).toThrow(/cannot restore/);
    writeFileMeta(join(dir, 'gone'), ABSENT); // nothing to do
  });
  it.skipIf(!isRoot)('as root the owner is restored too', () => {
    const f = join(dir, 'o.conf');
    writeFileSync(f, '');
    chownSync(f, 1234, 5678);
    const v = readFileMeta(f);
    chownSync(f, 0, 0);
    writeFileMeta(f, v);
    expect(lstatSync(f)).toMatchObject({ uid: 1234, gid: 5678 });
  });
  it('directories: the missing ones outermost first; created, and removed again only while empty', () => {
    const deep = join(dir, 'etc', 'systemd', 'system', 'u.service');
    expect(missingDirs(deep)).toEqual([join(dir, 'etc'), join(dir, 'etc', 'systemd'), join(dir, 'etc', 'systemd', 'system')]);
    for (const d of missingDirs(deep)) writeDir(d, DIRECTORY);
    expect(readDir(join(dir, 'etc', 'systemd', 'system'))).toBe(DIRECTORY);
    writeFileSync(join(dir, 'etc', 'other'), '');
    writeDir(join(dir, 'etc', 'systemd', 'system'), ABSENT);
    writeDir(join(dir, 'etc', 'systemd'), ABSENT);
    expect(() => writeDir(join(dir, 'etc'), ABSENT)).toThrow(/holds other files; left in place/);
    writeDir(join(dir, 'etc', 'systemd'), ABSENT); // already gone: fine (a resumed rollback)
    expect(readDir(join(dir, 'etc', 'systemd'))).toBe(ABSENT);
  });
});
