// Where nettune keeps state: journal, lock, confirm watchdogs. NETTUNE_STATE_DIR, default
// /var/lib/nettune; tests always point it at a temp dir.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { environmentError } from '../sys/errors.js';

let scoped: string | null = null;

export const stateDir = (): string => scoped ?? process.env.NETTUNE_STATE_DIR ?? '/var/lib/nettune';

/** Runs `fn` with journal and lock in `dir` (experiments keep their many short transactions out of
 *  the host's journal). Not reentrant; callers are sequential. */
export async function withStateDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = scoped;
  scoped = dir;
  try {
    return await fn();
  } finally {
    scoped = before;
  }
}

export function ensureStateDir(): string {
  const dir = stateDir();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw environmentError(`cannot create state directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'set NETTUNE_STATE_DIR or run as root');
  }
  return dir;
}

export const lockPath = (): string => join(stateDir(), 'lock');
export const journalPath = (): string => join(stateDir(), 'journal.db');
