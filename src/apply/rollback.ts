// Undoing transactions: restoring before-values newest step first, recording each restored step
// as it goes (so a killed rollback resumes where it stopped), and finding what a crash left
// half-done. Every change of a transaction's status goes through journal.transition(), so two
// processes (rollback and the watchdog, confirm and the watchdog, two recovers) never both act.
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EXIT, errorMessage, NettuneError } from '../sys/errors.js';
import { fault } from '../sys/fault.js';
import { REMOVABLE_KINDS, type SystemIO, systemIO, targetLabel } from './io.js';
import { finishRollback, getTx, openJournal, stepsOf, transition, txWithStatus, type StepRow, type TxRow, type TxStatus, UNFINISHED, updateStep } from './journal.js';
import { type Lock, acquireLock, holderAlive, readLock } from './lock.js';
import { removeBootCheckIfIdle } from './boot-check.js';

const norm = (v: string | null): string | null => (v === null ? null : v.trim().replace(/\s+/g, ' '));

export interface RestoreOutcome {
  failures: string[];
  restored: number;
  /** The journal could not record progress (disk full …): the values were still restored. */
  journalErrors: string[];
}

/** Restores `steps` (newest first) to their before values. Steps already 'restored' (a rollback
 *  that was killed) are skipped. A journal that cannot be written does not stop the restore. */
export async function restore(io: SystemIO, txId: number, steps: readonly StepRow[], log: (l: string) => void): Promise<RestoreOutcome> {
  let db: ReturnType<typeof openJournal> | null = null;
  const journalErrors: string[] = [];
  const mark = (seq: number, u: Parameters<typeof updateStep>[3]): void => {
    try {
      db ??= openJournal();
      updateStep(db, txId, seq, u);
    } catch (err) {
      journalErrors.push((err as Error).message);
    }
  };
  const failures: string[] = [];
  let restored = 0;
  for (const s of [...steps].reverse()) {
    if (s.status !== 'done' && s.status !== 'writing' && s.status !== 'failed' && s.status !== 'restore_failed') continue;
    const label = targetLabel(s.target);
    try {
      if (s.before === null && !REMOVABLE_KINDS.has(s.target.kind)) {
        // The target did not exist when the step was journaled, so the write cannot have changed it.
        if ((await io.read(s.target)) !== null) throw new Error('no recorded value to restore');
      } else {
        await io.write(s.target, s.before);
        const back = await io.read(s.target);
        const same = s.target.kind === 'file' ? back === s.before : norm(back) === norm(s.before);
        if (!same) throw new Error(`read back ${JSON.stringify(back)} instead of ${JSON.stringify(s.before)}`);
      }
      if (s.target.kind === 'file') removeLeftoverTemps(s.target.path);
      mark(s.seq, { status: 'restored' });
      restored++;
      log(`  restored ${label} = ${s.target.kind === 'file' || s.target.kind === 'nft' ? (s.before === null ? '(removed)' : '(previous content)') : (s.before ?? '(removed)')}`);
      fault('rollback-step'); // test-only: a crash after the k-th restored step
    } catch (err) {
      failures.push(`${label}: ${(err as Error).message}`);
      mark(s.seq, { status: 'restore_failed', error: (err as Error).message });
    }
  }
  return { failures, restored, journalErrors };
}

/** Temp files an atomic write of `path` left behind when it was killed (.NAME.PID.MS.tmp). */
function removeLeftoverTemps(path: string): void {
  const re = new RegExp(`^\\.${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d+\\.\\d+\\.tmp$`);
  try {
    for (const f of readdirSync(dirname(path))) if (re.test(f)) rmSync(join(dirname(path), f), { force: true });
  } catch {
    /* directory gone: nothing left */
  }
}

export interface RevertOptions {
  /** Statuses the transaction may be in for this revert to take it. */
  from: readonly TxStatus[];
  /** 'passed': only once its confirm deadline has passed (watchdog, late confirm, boot check). */
  deadline?: 'passed';
  /** A lock the caller already holds. */
  lock?: Lock;
  /** Take over a stale lock (recover, watchdog, boot check). */
  allowStale?: boolean;
  /** Resume a rollback that was killed (status rolling_back, its owner gone). */
  resume?: boolean;
  log: (l: string) => void;
}

export interface RevertResult {
  tx: number;
  status: TxStatus;
  restored: number;
  /** This process did not get the transaction: another one changed its status first. */
  lost: TxStatus | null;
}

/** Restores a transaction's before-values and moves it to `finalStatus`. The claim (status →
 *  rolling_back) is atomic; while it runs, the lock names the transaction, so a kill leaves a
 *  stale lock that every command reports and `recover` resumes. */
export async function revertTransaction(txId: number, finalStatus: TxStatus, o: RevertOptions): Promise<RevertResult> {
  const db = openJournal();
  if (!getTx(db, txId)) throw new NettuneError(`no transaction ${txId}`, EXIT.usage);
  const lock = o.lock ?? acquireLock(`rollback ${txId}`, { allowStale: o.allowStale ?? false });
  try {
    let final = finalStatus;
    lock.setTx(txId); // before the claim: from here a kill leaves a stale lock naming it
    if (!transition(db, txId, o.from, 'rolling_back', { rollbackTo: finalStatus, ...(o.deadline ? { deadline: o.deadline } : {}) })) {
      const now = getTx(db, txId);
      if (!(o.resume && now?.status === 'rolling_back')) {
        lock.setTx(null);
        return { tx: txId, status: now?.status ?? finalStatus, restored: 0, lost: now?.status ?? finalStatus };
      }
      final = now.rollback_to ?? finalStatus;
    }
    fault('rollback-claimed');
    const tx = getTx(db, txId) as TxRow;
    const r = await restore(systemIO(tx.netns), txId, stepsOf(db, txId), o.log);
    if (r.failures.length) {
      finishRollback(db, txId, 'rollback_failed', r.failures.join('; '));
      lock.setTx(null);
      throw new NettuneError(`rollback of transaction ${txId} failed: ${r.failures.join('; ')}`, EXIT.rollbackFailed, `nettune show-tx ${txId} lists every step; once fixed by hand, \`nettune recover --recheck ${txId}\` clears it`);
    }
    finishRollback(db, txId, final);
    removeBootCheckIfIdle(db, tx.boot_unit);
    lock.setTx(null);
    return { tx: txId, status: final, restored: r.restored, lost: null };
  } finally {
    if (!o.lock) lock.release();
  }
}

/** Transactions left half-done: pending (an apply died) or rolling_back (a rollback died), whose
 *  owner (the lock holder naming them) is gone. */
export function unrecovered(db = openJournal()): TxRow[] {
  const h = readLock();
  const live = h && h.tx !== null && holderAlive(h) ? h.tx : null;
  return txWithStatus(db, UNFINISHED).filter((t) => t.id !== live);
}

/** Re-checks a rollback_failed transaction against the live values: steps whose target holds the
 *  before-value again count as restored, the others are restored once more. When every step is
 *  restored the transaction is cleared to rolled_back. */
export async function recheckFailed(txId: number, log: (l: string) => void): Promise<RevertResult> {
  const db = openJournal();
  const tx = getTx(db, txId);
  if (!tx) throw new NettuneError(`no transaction ${txId}`, EXIT.usage);
  if (tx.status !== 'rollback_failed') throw new NettuneError(`transaction ${txId} is ${tx.status}, not rollback_failed`, EXIT.usage);
  const lock = acquireLock(`recheck ${txId}`, { allowStale: true });
  try {
    lock.setTx(txId);
    if (!transition(db, txId, ['rollback_failed'], 'rolling_back', { rollbackTo: 'rolled_back' })) {
      lock.setTx(null);
      return { tx: txId, status: getTx(db, txId)?.status ?? 'rollback_failed', restored: 0, lost: getTx(db, txId)?.status ?? null };
    }
    const io = systemIO(tx.netns);
    for (const s of stepsOf(db, txId)) {
      if (s.status !== 'restore_failed') continue;
      // a target that cannot be read (its namespace was deleted, a tool is gone) stays
      // restore_failed; restore() below then says why, and the transaction stays rollback_failed
      let live: string | null;
      try {
        live = await io.read(s.target);
      } catch (err) {
        log(`  ${targetLabel(s.target)}: cannot read it: ${errorMessage(err)}`);
        continue;
      }
      const same = s.target.kind === 'file' ? live === s.before : norm(live) === norm(s.before);
      if (same) {
        updateStep(db, txId, s.seq, { status: 'restored' });
        log(`  ${targetLabel(s.target)} already holds its before-value`);
      }
    }
    let r: Awaited<ReturnType<typeof restore>>;
    try {
      r = await restore(io, txId, stepsOf(db, txId), log);
    } catch (err) {
      // never left rolling_back (every later command would call it half-rolled-back)
      finishRollback(db, txId, 'rollback_failed', errorMessage(err));
      lock.setTx(null);
      throw new NettuneError(`transaction ${txId} is still inconsistent: ${errorMessage(err)}`, EXIT.rollbackFailed, `nettune show-tx ${txId}`);
    }
    if (r.failures.length) {
      finishRollback(db, txId, 'rollback_failed', r.failures.join('; '));
      lock.setTx(null);
      throw new NettuneError(`transaction ${txId} is still inconsistent: ${r.failures.join('; ')}`, EXIT.rollbackFailed, `nettune show-tx ${txId}`);
    }
    finishRollback(db, txId, 'rolled_back');
    removeBootCheckIfIdle(db, tx.boot_unit);
    lock.setTx(null);
    return { tx: txId, status: 'rolled_back', restored: r.restored, lost: null };
  } finally {
    lock.release();
  }
}
