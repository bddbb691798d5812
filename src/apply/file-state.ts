// The persisted files as the transaction sees them: content (target kind 'file'), mode and owner
// ('filemeta'), and the directories the transaction itself created ('dir'). Each is a step read
// before it is written and restored exactly by rollback / recover, newest first: the content,
// then mode and owner, then the directories (removed only when the transaction created them).
//
// A symlink (or anything but a regular file) at a persist path is refused before the lock: the
// file is nettune's own, and as root a link there could point the write anywhere (/etc/shadow).
import { chmodSync, chownSync, lstatSync, mkdirSync, rmdirSync, rmSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { fileTypeName, writeFileAtomic } from '../sys/fs.js';
import { usageError, type NettuneError } from '../sys/errors.js';

/** What a 'dir' or 'filemeta' step holds when the path does not exist. */
export const ABSENT = 'absent';
export const DIRECTORY = 'directory';

const lstatOrNull = (path: string): Stats | null => {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
};

/** Why `path` cannot be a persisted file (exit 2, before the lock), or null. */
export function persistPathProblem(path: string, label: string): NettuneError | null {
  let st: Stats | null;
  try {
    st = lstatOrNull(path);
  } catch (err) {
    return usageError(`${label} ${path}: cannot be checked: ${(err as Error).message}`);
  }
  if (st === null || st.isFile()) {
    // a parent that exists but is not a directory would fail the write later
    for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
      const d = lstatOrNull(dir);
      if (d === null) continue;
      if (!d.isDirectory() && !d.isSymbolicLink()) return usageError(`${label} ${path}: ${dir} is ${fileTypeName(d)}, not a directory`);
      break;
    }
    return null;
  }
  if (st.isSymbolicLink())
    return usageError(`${label} ${path} is a symbolic link; nettune does not write its boot files through links`, 'replace the link with a regular file (or remove it), or point --persist-file at the real file');
  return usageError(`${label} ${path} is ${fileTypeName(st)}; refusing to replace it with a regular file`);
}

/** Writes new content for a persisted file, keeping the mode and owner of the file it replaces
 *  (0644 root for a new one); null removes it. Never replaces a symlink or non-regular file. */
export function writePersisted(path: string, content: string | null): void {
  const st = lstatOrNull(path);
  if (st && !st.isFile()) throw new Error(`${path} is ${fileTypeName(st)} now; refusing to replace it`);
  if (content === null) {
    if (st) rmSync(path);
    return;
  }
  const mode = st ? st.mode & 0o7777 : 0o644;
  writeFileAtomic(path, content, mode);
  if (st) chownSync(path, st.uid, st.gid);
  chmodSync(path, mode); // the umask applied when the temp file was created
}

/** Mode and owner of a regular file as a step value ({"mode":"0644","uid":0,"gid":0}), or ABSENT. */
export function readFileMeta(path: string): string {
  const st = lstatOrNull(path);
  if (!st) return ABSENT;
  if (!st.isFile()) return `(${fileTypeName(st)})`;
  return JSON.stringify({ mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid });
}

export function writeFileMeta(path: string, value: string): void {
  if (value === ABSENT) return; // the content step removed the file (or it never came to be)
  const m = /^\{"mode":"([0-7]{4})","uid":(\d+),"gid":(\d+)\}$/.exec(value);
  if (!m) throw new Error(`cannot restore the mode and owner ${JSON.stringify(value)}`);
  const st = lstatOrNull(path);
  if (!st?.isFile()) throw new Error(`${path}: no regular file to restore the mode and owner of`);
  chownSync(path, Number(m[2]), Number(m[3]));
  chmodSync(path, parseInt(m[1] ?? '644', 8));
}

export function readDir(path: string): string {
  const st = lstatOrNull(path);
  return st === null ? ABSENT : st.isDirectory() ? DIRECTORY : `(${fileTypeName(st)})`;
}

/** DIRECTORY creates it (one level, 0755); ABSENT removes it again, only while it is empty. */
export function writeDir(path: string, value: string): void {
  if (value === DIRECTORY) {
    if (readDir(path) !== DIRECTORY) mkdirSync(path, { mode: 0o755 });
    return;
  }
  if (value !== ABSENT) throw new Error(`cannot restore ${path} to ${JSON.stringify(value)}`);
  try {
    rmdirSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new Error(`${path} was created by this transaction but now holds other files; left in place`);
    throw err;
  }
}

/** The directories above `path` that do not exist yet, outermost first (what a write creates). */
export function missingDirs(path: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(path); dir !== dirname(dir) && lstatOrNull(dir) === null; dir = dirname(dir)) out.unshift(dir);
  return out;
}
