// The edges where files come in and go out.
//
// Reading (`readInputFile`): every file a command reads (--snapshot, --since, plan and sysctl.conf
// files, lint paths, tuned profiles, experiment arms …) is opened with O_NONBLOCK (a FIFO without
// a writer does not block the open), the *opened* descriptor is fstat'ed (no check-then-open race)
// and only a regular file of at most MAX_INPUT_BYTES is read, bounded, and decoded as strict UTF-8
// without NUL bytes. Anything else is bad input (exit 2) at once: a FIFO, a device (/dev/zero
// would otherwise grow without end), a directory, a socket, a file too large, a binary file.
//
// Writing (`writeOutputFile`, for --out and every other path a user names):
//   - a missing directory, a directory target, a socket or block device: exit 2, one line;
//   - a character device or FIFO (/dev/null, /dev/stdout through a pipe): written through, opened
//     for writing without O_CREAT and never renamed over (a FIFO without a reader is exit 2
//     instead of a hang);
//   - a symlink is followed deliberately, as a shell's `>` would: the file it points to is
//     written (atomically when regular) and the link stays a link. Exception, as the kernel's
//     fs.protected_symlinks: a link in a sticky world-writable directory (/tmp) owned by someone
//     else than us is refused, so a planted link cannot redirect a root write;
//   - a regular file (or a new one): `writeFileAtomic`.
// `writeFileAtomic` itself never renames over anything but a regular file or a symlink (renaming
// over a link replaces the link, not what it points to).
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { NettuneError, usageError } from './errors.js';
import { fault } from './fault.js';

/** Input files larger than this are refused (the largest real Snapshot is well under 1 MiB). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

const errnoText: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  ENAMETOOLONG: 'file name too long',
  ENXIO: 'no reader on the other end',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
};

/** "no such file or directory (ENOENT)" for an errno error, else the message. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return `${errnoText[e.code] ?? e.code.toLowerCase()} (${e.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** What a non-regular file is, in words. */
export function fileTypeName(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** At most `n` characters of a line for an error message, control characters made visible. */
export function excerpt(line: string, n = 60): string {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > n ? `${clean.slice(0, n - 1)}…` : clean;
}

export interface ReadInputOptions {
  /** How the file was named, for messages: "--snapshot snap.json" (default: the path). */
  label?: string;
  maxBytes?: number;
}

/** Why a user-named input file was refused (checked on the opened fd). */
export class InputFileError extends Error {
  constructor(
    message: string,
    readonly reason: 'open' | 'type' | 'size' | 'binary',
  ) {
    super(message);
    this.name = 'InputFileError';
  }
}

/** The bytes of a user-named input file: opened O_NONBLOCK, a regular file (checked on the fd)
 *  of at most maxBytes, read bounded; throws InputFileError. No text check (see readInputFileRaw). */
export function readInputBytes(path: string, maxBytes = MAX_INPUT_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new InputFileError(`cannot read: ${describeFsError(err)}`, 'open');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputFileError(`cannot read: ${fileTypeName(st)}, not a regular file`, 'type');
    if (st.size > maxBytes) throw new InputFileError(`cannot read: ${st.size} bytes, more than the ${maxBytes / 1048576} MiB an input file may have`, 'size');
    // Read at most maxBytes + 1 (the file may grow between fstat and read).
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 4096)));
    let len = 0;
    for (;;) {
      if (len === buf.length) break;
      let n: number;
      try {
        n = readSync(fd, buf, len, buf.length - len, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw new InputFileError(`cannot read: ${describeFsError(err)}`, 'open');
      }
      if (n === 0) break;
      len += n;
    }
    if (len > maxBytes) throw new InputFileError(`cannot read: more than the ${maxBytes / 1048576} MiB an input file may have`, 'size');
    return buf.subarray(0, len);
  } finally {
    closeSync(fd);
  }
}

/** Reads a user-named input file (see the header): UTF-8 text without NUL; throws InputFileError. */
export function readInputFileRaw(path: string, maxBytes = MAX_INPUT_BYTES): string {
  const bytes = readInputBytes(path, maxBytes);
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new InputFileError(`not a text file: a NUL byte at offset ${nul}`, 'binary');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputFileError('not a text file: invalid UTF-8', 'binary');
  }
}

/** Reads a user-named input file; anything but a small text file is bad input (exit 2) naming
 *  the file as the user gave it. */
export function readInputFile(path: string, opts: ReadInputOptions = {}): string {
  try {
    return readInputFileRaw(path, opts.maxBytes);
  } catch (err) {
    if (err instanceof InputFileError) throw usageError(`${opts.label ?? path}: ${err.message}`);
    throw err;
  }
}

/** Creates the temp file in the target's directory, fsyncs, renames over `path` and fsyncs the
 *  directory. Refuses (EEXIST-like error with code ENOTREG) when `path` exists and is neither a
 *  regular file nor a symlink: a rename would replace the device, FIFO, socket or directory. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  let existing: Stats | null = null;
  try {
    existing = lstatSync(path);
  } catch {
    existing = null;
  }
  if (existing && !existing.isFile() && !existing.isSymbolicLink()) {
    const err = new Error(`${path}: ${fileTypeName(existing)}; refusing to replace it with a regular file`) as NodeJS.ErrnoException;
    err.code = existing.isDirectory() ? 'EISDIR' : 'ENOTREG';
    throw err;
  }
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    fault('persist-rename'); // test-only (NETTUNE_FAULT): a crash between the temp file and the rename
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  try {
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}

export interface WriteOutputOptions {
  /** How the path was named, for messages ("--out x.json"). */
  label?: string;
  /** Mode of a newly written regular file. Default: 0600 when running as root (Snapshots and
   *  plans describe the host), else 0644. */
  mode?: number;
}

export interface WriteOutputResult {
  /** The file that was written (the link target when `path` is a symlink). */
  path: string;
  how: 'atomic' | 'through';
}

const sleepMs = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Writes into an existing FIFO or character device: no O_CREAT, no rename. */
function writeThrough(path: string, data: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const buf = Buffer.from(data);
    let off = 0;
    const deadline = Date.now() + 30_000;
    while (off < buf.length) {
      try {
        off += writeSync(fd, buf, off, buf.length - off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) throw err;
        sleepMs(5); // the reader is slower than us
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Resolves a symlinked output path to its target, applying the protected_symlinks rule. */
function followLink(path: string, st: Stats): string {
  const dir = dirname(path);
  const dst = statSync(dir);
  const euid = process.geteuid?.() ?? -1;
  if ((dst.mode & 0o1002) === 0o1002 && st.uid !== euid && st.uid !== dst.uid)
    throw usageError(`${path}: a symbolic link owned by uid ${st.uid} in the sticky world-writable directory ${dir}; refusing to follow it (as fs.protected_symlinks would)`);
  return realpathSync(path);
}

interface OutputTarget {
  target: string;
  kind: 'new' | 'regular' | 'through';
  type: string;
}

/** Where an output path leads and how it will be written; exit 2 when it cannot be. */
function resolveOutput(path: string, label: string): OutputTarget {
  if (path === '' || path.endsWith('/')) throw usageError(`${label}: a file name is needed, not a directory`);
  let target = resolve(path);
  let st: Stats | null = null;
  let link = false;
  try {
    st = lstatSync(target);
    if (st.isSymbolicLink()) {
      link = true;
      target = followLink(target, st);
      st = statSync(target);
    }
  } catch (err) {
    if (err instanceof NettuneError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && link) throw usageError(`${label}: a symbolic link to a missing file; refusing to create files through a dangling link`);
    if (code !== 'ENOENT') throw usageError(`${label}: cannot write: ${describeFsError(err)}`);
    st = null;
  }
  if (st === null) {
    const dir = dirname(target);
    let dst: Stats;
    try {
      dst = statSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw usageError(`${label}: cannot write: the directory ${dir} ${code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be used: ${describeFsError(err)}`}`);
    }
    if (!dst.isDirectory()) throw usageError(`${label}: cannot write: ${dir} is not a directory`);
    return { target, kind: 'new', type: 'a new file' };
  }
  if (st.isDirectory()) throw usageError(`${label}: is a directory; give a file name`);
  if (st.isFIFO() || st.isCharacterDevice()) return { target, kind: 'through', type: fileTypeName(st) };
  if (!st.isFile()) throw usageError(`${label}: ${fileTypeName(st)}; refusing to write to it`);
  return { target, kind: 'regular', type: fileTypeName(st) };
}

/** Checks an output path before the work that produces its content (exit 2 when it cannot be
 *  written); returns the file that will be written. */
export function checkOutputPath(path: string, label = path): string {
  return resolveOutput(path, label).target;
}

/** Writes `data` to a path the user named (see the header); every refusal is exit 2. */
export function writeOutputFile(path: string, data: string, opts: WriteOutputOptions = {}): WriteOutputResult {
  const label = opts.label ?? path;
  const mode = opts.mode ?? (process.geteuid?.() === 0 ? 0o600 : 0o644);
  const out = resolveOutput(path, label);
  if (out.kind === 'through') {
    try {
      writeThrough(out.target, data);
    } catch (err) {
      throw usageError(`${label}: cannot write to ${out.type}: ${describeFsError(err)}`);
    }
    return { path: out.target, how: 'through' };
  }
  try {
    writeFileAtomic(out.target, data, mode);
  } catch (err) {
    throw usageError(`${label}: cannot write: ${describeFsError(err)}`);
  }
  return { path: out.target, how: 'atomic' };
}

/** JSON.parse with a message fit for one line: the parser's complaint (its quote of the input
 *  capped, control characters shown) and the line:column where the parser names a position. */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      where = ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
    }
    // V8 quotes the input around the error ("…" is not valid JSON): keep the message short.
    return { ok: false, message: `${excerpt(msg.replace(/\s*\(line \d+ column \d+\)$/, ''), 100)}${where}` };
  }
}

/** readInputFile + parseJsonText: the file as a JSON value, or exit 2 naming the file. */
export function readJsonFile(path: string, opts: ReadInputOptions & { what?: string } = {}): unknown {
  const text = readInputFile(path, opts);
  const r = parseJsonText(text);
  if (!r.ok) throw usageError(`${opts.label ?? path}: ${opts.what ? `not ${opts.what}: ` : ''}not JSON (${r.message})`);
  return r.value;
}
