// Which configuration files `lint` reads, in which order (see the precedence notes in index.ts).
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { usageError } from '../sys/errors.js';
import { InputFileError, readInputFileRaw } from '../sys/fs.js';
import { basename, join } from 'node:path';
import { type ParsedSysctlFile, parseSysctlConf } from './parse.js';
import { SYSTEM_DIRS, SYSTEM_TAIL_FILE, type LintFile, type LintMessage, type SearchDir, type Sources } from './types.js';

/** The default search path, optionally under another root (an image or a chroot). */
export function systemSources(root = '/'): Sources {
  return { dirs: SYSTEM_DIRS.map((d) => join(root, d)), files: [join(root, SYSTEM_TAIL_FILE)], optionalFiles: true };
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function real(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** A directory entry that counts as a configuration file: `*.conf`, not hidden (systemd ignores
 *  hidden files), a regular file or /dev/null after following symlinks. */
function fileKind(path: string): 'file' | 'null' | null {
  try {
    const st = statSync(path);
    if (st.isFile()) return 'file';
    if (st.isCharacterDevice() && real(path) === '/dev/null') return 'null';
    return null;
  } catch {
    return null;
  }
}

/** Lists the files in application order with the masking and de-duplication described at the top
 *  of this file. Reads directories only (no file contents). */
export function collectFiles(src: Sources): { search_path: SearchDir[]; files: LintFile[] } {
  const searchPath: SearchDir[] = [];
  const seenDirs = new Map<string, string>();
  const byName = new Map<string, LintFile>();
  const masked: LintFile[] = [];
  for (const dir of src.dirs) {
    const r = real(dir);
    let isDir = false;
    try {
      isDir = r !== null && statSync(r).isDirectory();
    } catch {
      isDir = false;
    }
    if (!r || !isDir) {
      searchPath.push({ dir, exists: false, same_as: null });
      continue;
    }
    const earlier = seenDirs.get(r);
    searchPath.push({ dir, exists: true, same_as: earlier ?? null });
    if (earlier) continue;
    seenDirs.set(r, dir);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      names = [];
    }
    for (const name of names.sort(byteOrder)) {
      if (!name.endsWith('.conf') || name.startsWith('.')) continue;
      const path = join(dir, name);
      const kind = fileKind(path);
      if (!kind) continue;
      const winner = byName.get(name);
      const f: LintFile = {
        path,
        dir,
        name,
        status: kind === 'null' ? 'disabled' : 'read',
        order: null,
        masked_by: null,
        same_as: null,
        realpath: real(path),
      };
      if (winner) {
        f.status = 'masked';
        f.masked_by = winner.path;
        masked.push(f);
      } else byName.set(name, f);
    }
  }
  const ordered = [...byName.values()].sort((a, b) => byteOrder(a.name, b.name));
  for (const path of src.files) {
    if (src.optionalFiles && fileKind(path) !== 'file') continue;
    ordered.push({ path, dir: null, name: basename(path), status: 'read', order: null, masked_by: null, same_as: null, realpath: real(path) });
  }
  // The same file reached twice (Debian's 99-sysctl.conf → ../sysctl.conf): keep the last.
  const lastByReal = new Map<string, number>();
  ordered.forEach((f, i) => {
    if (f.status === 'read' && f.realpath) lastByReal.set(f.realpath, i);
  });
  ordered.forEach((f, i) => {
    if (f.status !== 'read' || !f.realpath) return;
    const last = lastByReal.get(f.realpath);
    if (last !== undefined && last !== i) {
      f.status = 'duplicate';
      f.same_as = ordered[last]?.path ?? null;
    }
  });
  let n = 0;
  for (const f of ordered) if (f.status === 'read') f.order = n++;
  return { search_path: searchPath, files: [...ordered, ...masked] };
}

/** Reads the files collectFiles chose; unreadable ones are marked and reported. */
export function readFiles(files: LintFile[]): { parsed: ParsedSysctlFile[]; messages: LintMessage[] } {
  const parsed: ParsedSysctlFile[] = [];
  const messages: LintMessage[] = [];
  for (const f of files) {
    if (f.status !== 'read') continue;
    let text: string;
    try {
      text = readInputFileRaw(f.path);
    } catch (err) {
      // A FIFO, a device, a file over 4 MiB or a binary file named as a config is bad input.
      if (err instanceof InputFileError && err.reason !== 'open') throw usageError(`${f.path}: ${err.message}`);
      f.status = 'unreadable';
      f.error = err instanceof InputFileError ? err.message.replace(/^cannot read: /, '') : (err as Error).message;
      messages.push({ file: f.path, line: null, severity: 'error', code: 'read-error', message: `cannot read: ${f.error}`, key: null });
      continue;
    }
    parsed.push(parseSysctlConf(text, f.path));
  }
  let n = 0;
  for (const f of files) f.order = f.status === 'read' ? n++ : null;
  return { parsed, messages };
}
