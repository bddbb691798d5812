// Files a sampler reads every interval, kept open and read again from offset 0: procfs seq_files
// (/proc/net/snmp, netstat, sockstat, softnet_stat, stat/nf_conntrack), proc_sys files and sysfs
// attributes (statistics/*) all generate their text afresh on a read at offset 0 (fs/seq_file.c
// seq_read_iter: "if request is to read from zero offset, reset iterator to first record"), so a
// sample costs one pread per file instead of open, fstat, read and close, and no buffer per file.
// A file that fails (its device was deleted: ENODEV) is closed and opened again once; a descriptor
// keeps the namespace it was opened in, which is what the sampler wants (/proc/PID/net of its
// helper, or its own).
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

export interface KeptFiles {
  /** The file's whole text; throws as readFileSync does (err.code ENOENT …). */
  read(path: string): string;
  /** A directory's names, listed once and kept until a sweep finds it unused (for directories
   *  whose entries are fixed while they exist, such as a device's statistics/). */
  list(dir: string): string[];
  /** Closes the files not read since the last sweep (a device that went away). */
  sweep(): void;
  /** Open descriptors now. */
  size(): number;
  close(): void;
}

/** Beyond this many files the rest are read the ordinary way (open, read, close). */
const MAX_KEPT = 2048;

export function keptFiles(max = MAX_KEPT): KeptFiles {
  // Each entry carries the sweep generation it was last used in (a Set of used paths, cleared at
  // every sweep, grew its table again on every sample).
  const fds = new Map<string, { fd: number; used: number }>();
  const lists = new Map<string, { names: string[]; used: number }>();
  let gen = 0;
  let buf = Buffer.allocUnsafe(64 * 1024);

  const readAll = (fd: number): string => {
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    // Kernel counter files are ASCII.
    return buf.toString('latin1', 0, n);
  };

  const drop = (path: string): void => {
    const kept = fds.get(path);
    if (kept === undefined) return;
    fds.delete(path);
    try {
      closeSync(kept.fd);
    } catch {
      // already gone
    }
  };

  const fresh = (path: string): string => {
    const fd = openSync(path, 'r');
    if (fds.size >= max) {
      try {
        return readAll(fd);
      } finally {
        closeSync(fd);
      }
    }
    fds.set(path, { fd, used: gen });
    try {
      return readAll(fd);
    } catch (err) {
      drop(path);
      throw err;
    }
  };

  return {
    read: (path) => {
      const kept = fds.get(path);
      if (kept === undefined) return fresh(path);
      kept.used = gen;
      try {
        return readAll(kept.fd);
      } catch {
        drop(path);
        return fresh(path);
      }
    },
    list: (dir) => {
      let kept = lists.get(dir);
      if (!kept) {
        kept = { names: readdirSync(dir), used: gen };
        lists.set(dir, kept);
      }
      kept.used = gen;
      return kept.names;
    },
    sweep: () => {
      fds.forEach((kept, path) => kept.used !== gen && drop(path));
      lists.forEach((kept, dir) => kept.used !== gen && lists.delete(dir));
      gen++;
    },
    size: () => fds.size,
    close: () => {
      for (const path of [...fds.keys()]) drop(path);
      lists.clear();
    },
  };
}
