// One writer at a time: an exclusive lock file holding the owner's pid, the owner's start time
// (field 22 of /proc/PID/stat) and the boot id, and the transaction it works on. A lock whose
// owner is gone is stale: its transaction may be incomplete, which `recover` handles. "Gone"
// means: the pid is dead, or the pid now belongs to another process (its start time differs:
// pids are reused), or the machine has rebooted since (the boot id differs).
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { EXIT, environmentError, NettuneError } from '../sys/errors.js';
import { pidAlive } from '../sys/process.js';
import { ensureStateDir, lockPath } from './state.js';

const holderSchema = z.object({
  pid: z.number().int(),
  command: z.string(),
  since: z.string(),
  tx: z.number().int().nullable(),
  /** Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22); null if unknown. */
  start: z.string().nullable().optional(),
  /** /proc/sys/kernel/random/boot_id when the lock was taken. */
  boot: z.string().nullable().optional(),
});
export type LockHolder = z.infer<typeof holderSchema>;

export { pidAlive };

/** Start time of a process (clock ticks after boot), or null when it does not exist. The comm
 *  field (2) may contain spaces and parentheses, so fields are counted after its last ')'. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall; `rest` starts at field 3
  } catch {
    return null;
  }
}

export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** Is the process that wrote `h` still running (same pid, same start time, same boot)? */
export function holderAlive(h: Pick<LockHolder, 'pid' | 'start' | 'boot'>): boolean {
  const boot = bootId();
  if (h.boot && boot && h.boot !== boot) return false;
  if (!pidAlive(h.pid)) return false;
  if (h.start) {
    const now = processStart(h.pid);
    if (now !== null && now !== h.start) return false;
  }
  return true;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const r = holderSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export function readLock(): LockHolder | null {
  if (!existsSync(lockPath())) return null;
  try {
    return parseHolder(readFileSync(lockPath(), 'utf8'));
  } catch {
    return null;
  }
}

/** The lock is held by a live process (exit 3): callers that can wait (the watchdog) retry. */
export class LockBusyError extends NettuneError {
  constructor(message: string, hint: string) {
    super(message, EXIT.environment, hint);
  }
}

export interface Lock {
  holder: LockHolder;
  setTx(tx: number | null): void;
  release(): void;
}

function writeHolder(path: string, holder: LockHolder, flag: 'wx' | 'w'): void {
  const fd = openSync(path, flag, 0o600);
  try {
    writeSync(fd, JSON.stringify(holder));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes the stale lock whose content was `staleText`, and only that one: the file is first
 *  renamed aside (atomic), then compared. If another process had already replaced it with a live
 *  lock, that lock is put back (link() fails rather than overwrite a newer one). */
function removeStale(path: string, staleText: string): void {
  const aside = `${path}.takeover.${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved it already
  }
  let text = '';
  try {
    text = readFileSync(aside, 'utf8');
  } catch {
    /* gone */
  }
  if (text !== staleText) {
    try {
      linkSync(aside, path);
    } catch {
      /* a newer lock exists; it wins */
    }
  }
  rmSync(aside, { force: true });
}

/** Takes the lock or fails with exit 3 naming the holder. A stale lock (owner gone) with a
 *  transaction is only taken over by `allowStale` callers (recover, the watchdog, the boot
 *  check), so a crashed apply or rollback is never ignored; a stale lock without one is taken
 *  over by anyone. */
export function acquireLock(command: string, opts: { allowStale?: boolean } = {}): Lock {
  ensureStateDir();
  const path = lockPath();
  const holder: LockHolder = { pid: process.pid, command, since: new Date().toISOString(), tx: null, start: processStart(process.pid), boot: bootId() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeHolder(path, holder, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw environmentError(`cannot create lock ${path}: ${(err as Error).message}`);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        continue; // released meanwhile
      }
      const other = parseHolder(text);
      if (other && holderAlive(other))
        throw new LockBusyError(`another nettune holds the lock: pid ${other.pid} (${other.command}) since ${other.since}`, `lock file: ${path}`);
      if (other && other.tx !== null && !opts.allowStale)
        throw environmentError(
          `a previous nettune (pid ${other.pid}, ${other.command}, transaction ${other.tx}) died while holding the lock`,
          'run `nettune recover` to finish what it left half-done',
        );
      removeStale(path, text);
      continue;
    }
    return {
      holder,
      setTx(tx: number | null) {
        holder.tx = tx;
        // temp + rename: the lock never exists half-written
        const tmp = `${path}.${process.pid}.tmp`;
        writeHolder(tmp, holder, 'w');
        renameSync(tmp, path);
      },
      release() {
        const cur = readLock();
        if (cur?.pid === process.pid && cur.start === holder.start) rmSync(path, { force: true });
      },
    };
  }
  throw environmentError(`could not take the lock ${path}`);
}

/** For every command: a lock left by a dead apply or rollback means an incomplete transaction. */
export function staleTransaction(): LockHolder | null {
  const h = readLock();
  return h && h.tx !== null && !holderAlive(h) ? h : null;
}
