// Writing rendered files to --out: one file (a path, or an existing directory to put it in) or a
// directory tree. Every target is checked before the first write, each file goes through the
// project's atomic output writer (src/sys/fs.ts: never over a non-regular file), and inside a
// directory output nothing is written through a symbolic link.
import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { usageError } from '../sys/errors.js';
import { checkOutputPath, describeFsError, fileTypeName, writeOutputFile } from '../sys/fs.js';
import type { Rendered, RenderedFile } from './types.js';

const lstatOrNull = (path: string): Stats | null => {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw usageError(`${path}: cannot use it: ${describeFsError(err)}`);
  }
};

/** A renderer's relative path, checked: no absolute path, no '..', no empty segment. */
function relativePath(file: RenderedFile): string {
  const p = normalize(file.path);
  if (isAbsolute(p) || p.split(sep).some((s) => s === '..' || s === '') || p === '.') throw new Error(`renderer produced an unsafe path ${JSON.stringify(file.path)}`);
  return p;
}

interface Planned {
  target: string;
  file: RenderedFile;
}

/** Where each file goes under `dir`; refuses a symlink or a non-directory on the way, and a
 *  non-regular file at a target. */
function planDirectory(dir: string, files: readonly RenderedFile[], label: string): Planned[] {
  const root = resolve(dir);
  const st = (() => {
    try {
      return statSync(root); // the directory the user named may be a link to one
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw usageError(`${label}: cannot use it: ${describeFsError(err)}`);
    }
  })();
  if (st && !st.isDirectory()) throw usageError(`${label}: ${fileTypeName(st)}; this format writes a directory`);
  if (!st) {
    const parent = lstatOrNull(dirname(root));
    if (!parent?.isDirectory()) throw usageError(`${label}: cannot create it: ${dirname(root)} is not an existing directory`);
  }
  return files.map((file) => {
    const rel = relativePath(file);
    const target = join(root, rel);
    let at = root;
    for (const part of rel.split(sep).slice(0, -1)) {
      at = join(at, part);
      const s = lstatOrNull(at);
      if (s && !s.isDirectory()) throw usageError(`${label}: ${at} is ${s.isSymbolicLink() ? 'a symbolic link' : fileTypeName(s)}; refusing to write through it`);
    }
    const s = lstatOrNull(target);
    if (s && !s.isFile()) throw usageError(`${label}: ${target} is ${s.isSymbolicLink() ? 'a symbolic link' : fileTypeName(s)}; refusing to replace it`);
    return { target, file };
  });
}

/** Checks --out before the work that produces the files (exit 2 when it cannot be written). */
export function checkOut(out: string, dir: boolean): void {
  const label = `--out ${out}`;
  if (dir) {
    planDirectory(out, [], label);
    return;
  }
  const st = lstatOrNull(resolve(out));
  if (st?.isDirectory()) return;
  checkOutputPath(out, label);
}

/** Writes the files; returns the paths written. */
export function writeRendered(r: Rendered, out: string, dir: boolean): string[] {
  const label = `--out ${out}`;
  if (!dir) {
    const [file] = r.files;
    if (!file || r.files.length !== 1) throw new Error('a single-file format rendered more than one file');
    const st = lstatOrNull(resolve(out));
    const into = st?.isDirectory() ? planDirectory(out, [file], label)[0]?.target : out;
    return [writeOutputFile(into ?? out, file.content, { label, mode: file.mode ?? 0o644 }).path];
  }
  const planned = planDirectory(out, r.files, label);
  const written: string[] = [];
  for (const p of planned) {
    try {
      mkdirSync(dirname(p.target), { recursive: true, mode: 0o755 });
    } catch (err) {
      throw usageError(`${label}: cannot create ${dirname(p.target)}: ${describeFsError(err)}`);
    }
    written.push(writeOutputFile(p.target, p.file.content, { label: `${label}: ${p.file.path}`, mode: p.file.mode ?? 0o644 }).path);
  }
  return written;
}
