// `apply --confirm` (commit confirmed): the transaction waits in awaiting_confirm until its
// deadline. Exactly one of `confirm` and the revert wins, because both go through one guarded
// UPDATE (journal.transition): confirm only while the deadline is ahead, the revert only once it
// has passed. Whoever comes second learns what happened and says so. The revert is done by the
// watchdog (a detached process), or — if that died or the machine rebooted — by a late
// `confirm`, the next apply/rollback/recover, or the boot check.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { EXIT, NettuneError, usageError } from '../sys/errors.js';
import { sleep } from '../sys/process.js';
import { getTx, openJournal, transition, txWithStatus, type TxRow } from './journal.js';
import { LockBusyError, holderAlive, readLock } from './lock.js';
import { removeBootCheckIfIdle } from './boot-check.js';
import { journalPath } from './state.js';
import { revertTransaction, unrecovered, type RevertResult } from './rollback.js';

const passed = (tx: TxRow, now = Date.now()): boolean => tx.confirm_deadline !== null && Date.parse(tx.confirm_deadline) <= now;

/** Reverts an unconfirmed transaction (from awaiting_confirm once its deadline passed, or from
 *  pending when its applier died), waiting while another nettune holds the lock (bounded). */
export async function expire(txId: number, from: 'awaiting_confirm' | 'pending', log: (l: string) => void, waitMs = 60_000): Promise<RevertResult> {
  const end = Date.now() + waitMs;
  for (;;) {
    try {
      return await revertTransaction(txId, 'reverted_unconfirmed', { from: [from], ...(from === 'awaiting_confirm' ? { deadline: 'passed' as const } : {}), allowStale: true, log });
    } catch (err) {
      if (!(err instanceof LockBusyError) || Date.now() > end) throw err;
      await sleep(200);
    }
  }
}

/** Waits (bounded) until a transaction another process is rolling back has finished. */
async function settled(txId: number, ms: number): Promise<TxRow | null> {
  const db = openJournal();
  const end = Date.now() + ms;
  let tx = getTx(db, txId);
  while (tx?.status === 'rolling_back' && Date.now() < end) {
    const h = readLock();
    if (!h || h.tx !== txId || !holderAlive(h)) break; // its rollback died: recover resumes it
    await sleep(100);
    tx = getTx(db, txId);
  }
  return tx;
}

export interface ConfirmResult {
  tx: number;
  status: 'confirmed';
  already: boolean;
}

/** `nettune confirm`: keeps the transaction if its deadline is still ahead. Otherwise exit 3,
 *  saying it was reverted (reverting it here first when nobody else has yet). */
export async function confirmTransaction(txId: number, log: (l: string) => void): Promise<ConfirmResult> {
  const db = openJournal();
  if (transition(db, txId, ['awaiting_confirm'], 'confirmed', { deadline: 'before', finished: true })) {
    removeBootCheckIfIdle(db, getTx(db, txId)?.boot_unit ?? null);
    return { tx: txId, status: 'confirmed', already: false };
  }
  let tx = getTx(db, txId);
  if (!tx) throw usageError(`no transaction ${txId}`);
  if (tx.status === 'confirmed') return { tx: txId, status: 'confirmed', already: true };
  // applied without --confirm: nothing to confirm, whatever became of it since (a failed rollback
  // is not a missed deadline, and is not to be reverted again here)
  if (tx.confirm_deadline === null && tx.status !== 'pending') throw usageError(`transaction ${txId} is ${tx.status}, not awaiting confirmation (it was applied without --confirm)`);
  if (tx.status === 'awaiting_confirm' || (tx.status === 'pending' && tx.confirm_deadline === null)) {
    if (tx.status === 'pending') throw usageError(`transaction ${txId} is still being applied; confirm it once apply has finished`);
    // late, and the watchdog has not reverted it (yet, or it died): revert it now
    await expire(txId, 'awaiting_confirm', log);
    tx = getTx(db, txId);
  }
  if (tx?.status === 'rolling_back') tx = await settled(txId, 60_000);
  if (tx?.status === 'reverted_unconfirmed')
    throw new NettuneError(
      `transaction ${txId} was not confirmed before its deadline (${tx.confirm_deadline ?? '?'}) and was reverted${tx.finished_at ? ` at ${tx.finished_at}` : ''}; its changes are no longer in effect`,
      EXIT.environment,
      `apply it again if you still want it: nettune show-tx ${txId}`,
    );
  if (tx?.status === 'rolling_back')
    throw new NettuneError(`transaction ${txId} missed its deadline and its revert was interrupted`, EXIT.environment, 'run `nettune recover` to finish the revert');
  if (tx?.status === 'rollback_failed')
    throw new NettuneError(`transaction ${txId} missed its deadline and reverting it failed: ${tx.error ?? ''}`, EXIT.rollbackFailed, `nettune show-tx ${txId}`);
  throw usageError(`transaction ${txId} is ${tx?.status ?? 'gone'}, not awaiting confirmation`);
}

/** Starts the confirm watchdog for a transaction: a detached process (`nettune __watchdog TX S`)
 *  that outlives the applier; returns its pid. */
export function startWatchdog(tx: number, confirmS: number): number | null {
  const script = process.argv[1];
  if (!script) return null;
  const child = spawn(process.execPath, [script, '__watchdog', String(tx), String(Math.max(1, Math.ceil(confirmS)))], { detached: true, stdio: 'ignore', env: process.env });
  child.unref();
  return child.pid ?? null;
}

/** The hidden watchdog process `apply --confirm` starts: reverts the transaction unless it is
 *  confirmed in time; it outlives the applier (kill -9 included). */
export async function watchdog(txId: number, confirmS: number): Promise<void> {
  const db = openJournal();
  const started = Date.now();
  const hardStop = started + (confirmS + 300) * 1000;
  while (Date.now() < hardStop) {
    const row = getTx(db, txId);
    if (!row) return;
    if (row.status === 'awaiting_confirm') {
      if (passed(row)) {
        await expire(txId, 'awaiting_confirm', () => undefined);
        return;
      }
    } else if (row.status === 'pending') {
      const holder = readLock();
      // The applier died mid-way: revert once the confirm time has passed.
      if ((!holder || !holderAlive(holder)) && Date.now() - started >= confirmS * 1000) {
        await expire(txId, 'pending', () => undefined);
        return;
      }
    } else return; // confirmed, failed, rolled back, being rolled back by someone else …
    await sleep(200);
  }
}

export interface Settled {
  reverted: number[];
  /** Human lines for stderr. */
  notes: string[];
}

/** Run by every command that touches the journal: unconfirmed transactions whose deadline has
 *  passed are reverted now (`write`: root, a command that may change the system), or reported
 *  with what will revert them. Half-done transactions are reported with `nettune recover`. */
export async function settle(o: { write: boolean; log: (l: string) => void }): Promise<Settled> {
  const out: Settled = { reverted: [], notes: [] };
  // no journal yet, or one this user may not read (apply --dry-run without root): nothing to say
  if (!existsSync(journalPath())) return out;
  let db: ReturnType<typeof openJournal>;
  try {
    db = openJournal();
  } catch (err) {
    if (o.write) throw err;
    return out;
  }
  const now = Date.now();
  for (const tx of txWithStatus(db, ['awaiting_confirm'])) {
    if (!passed(tx, now)) continue;
    if (o.write) {
      try {
        const r = await expire(tx.id, 'awaiting_confirm', o.log, 10_000);
        if (!r.lost) {
          out.reverted.push(tx.id);
          out.notes.push(`nettune: transaction ${tx.id} was not confirmed by ${tx.confirm_deadline} and its watchdog did not revert it (killed, or the machine rebooted): reverted it now (${r.restored} settings restored)`);
        }
      } catch (err) {
        out.notes.push(`nettune: transaction ${tx.id} passed its confirm deadline unconfirmed; reverting it failed: ${(err as Error).message}`);
      }
    } else if (now - Date.parse(tx.confirm_deadline ?? '') > 5000)
      out.notes.push(
        `nettune: transaction ${tx.id} was not confirmed by ${tx.confirm_deadline} and its watchdog is gone: the next apply, rollback, confirm or recover run as root reverts it (now: nettune recover)`,
      );
  }
  for (const tx of unrecovered(db))
    out.notes.push(`nettune: transaction ${tx.id} (${tx.source}${tx.netns ? `, netns ${tx.netns}` : ''}) was left ${tx.status === 'pending' ? 'half-applied' : 'half-rolled-back'}: its nettune died before finishing; run \`nettune recover\` to finish it`);
  for (const n of out.notes) o.log(n);
  return out;
}
