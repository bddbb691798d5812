// One writer at a time: an exclusive lock file holding the owner's pid and command. A lock whose
// owner is dead is stale: its transaction may be incomplete, which `recover` handles.
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { environmentError } from '../sys/errors.js';
import { pidAlive } from '../sys/process.js';
import { ensureStateDir, lockPath } from './state.js';

const holderSchema = z.object({ pid: z.number().int(), command: z.string(), since: z.string(), tx: z.number().int().nullable() });
export type LockHolder = z.infer<typeof holderSchema>;

export { pidAlive };

export function readLock(): LockHolder | null {
  if (!existsSync(lockPath())) return null;
  try {
    const r = holderSchema.safeParse(JSON.parse(readFileSync(lockPath(), 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export interface Lock {
  holder: LockHolder;
  setTx(tx: number): void;
  release(): void;
}

/** Takes the lock or fails with exit 3 naming the holder. A stale lock (dead owner) is only
 *  taken over by `allowStale` callers (recover, rollback), so a crashed apply is never ignored. */
export function acquireLock(command: string, opts: { allowStale?: boolean } = {}): Lock {
  ensureStateDir();
  const path = lockPath();
  const holder: LockHolder = { pid: process.pid, command, since: new Date().toISOString(), tx: null };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw environmentError(`cannot create lock ${path}: ${(err as Error).message}`);
      const other = readLock();
      if (other && pidAlive(other.pid))
        throw environmentError(`another nettune holds the lock: pid ${other.pid} (${other.command}) since ${other.since}`, `lock file: ${path}`);
      if (other && other.tx !== null && !opts.allowStale)
        throw environmentError(`a previous nettune (pid ${other.pid}, ${other.command}, transaction ${other.tx}) died while holding the lock`, 'run `nettune recover` to restore the values it had written');
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, JSON.stringify(holder));
    closeSync(fd);
    return {
      holder,
      setTx(tx: number) {
        holder.tx = tx;
        const f = openSync(path, 'w', 0o600);
        writeSync(f, JSON.stringify(holder));
        closeSync(f);
      },
      release() {
        const cur = readLock();
        if (cur?.pid === process.pid) rmSync(path, { force: true });
      },
    };
  }
  throw environmentError(`could not take the lock ${path}`);
}

/** For every command: a lock left by a dead apply means an incomplete transaction. */
export function staleTransaction(): LockHolder | null {
  const h = readLock();
  return h && h.tx !== null && !pidAlive(h.pid) ? h : null;
}
