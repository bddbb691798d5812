// Where nettune keeps state: journal, lock, confirm watchdogs. NETTUNE_STATE_DIR, default
// /var/lib/nettune; tests always point it at a temp dir.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { environmentError } from '../sys/errors.js';

export const stateDir = (): string => process.env.NETTUNE_STATE_DIR ?? '/var/lib/nettune';

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
