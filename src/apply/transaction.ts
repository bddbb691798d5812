// apply as a transaction: lock → record before → journal each step before writing it → write →
// read back → persist → journal the result. Any failure restores everything written, in reverse.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NettuneError, EXIT } from '../sys/errors.js';
import { type Lock, acquireLock } from './lock.js';
import {
  addStep,
  beginTx,
  finishTx,
  getTx,
  openJournal,
  setStatus,
  stepsOf,
  type StepRow,
  type Target,
  type TxStatus,
  updateStep,
} from './journal.js';
import { type SystemIO, systemIO, targetLabel } from './io.js';
import { NIC_UNIT_NAME, type NicTarget, nicLine, parseNicUnit, parsePersisted, renderNicUnit, renderPersisted } from './persist.js';
import { sleep } from '../sys/process.js';

export interface TxChange {
  target: Target;
  to: string;
  reason: string;
  source: string;
}

export interface ApplyRequest {
  changes: TxChange[];
  netns: string | null;
  /** Write the persisted sysctl.d file here (sysctl changes only). */
  persistFile: string | null;
  source: string;
  plan: unknown;
  before: unknown;
  confirmS: number | null;
  /** Slows each write down (NETTUNE_STEP_DELAY_MS), so crash recovery can be tested. */
  stepDelayMs?: number;
  log: (line: string) => void;
  /** Starts the confirm watchdog for a transaction; returns its pid. */
  startWatchdog?: (tx: number) => number | null;
  /** Takes the after-Snapshot for the journal. */
  snapshotAfter?: () => Promise<unknown>;
}

export interface StepResult {
  target: string;
  before: string | null;
  wanted: string;
  after: string | null;
  /** The kernel stored something else than what was written (clamped, rounded, normalised). */
  adjusted: boolean;
}

export interface ApplyResult {
  tx: number;
  status: TxStatus;
  steps: StepResult[];
  /** Files written for boot: the sysctl.d file and, for NIC settings, the systemd unit. */
  persisted: string[];
  confirm_deadline: string | null;
  watchdog_pid: number | null;
}

const norm = (v: string | null): string | null => (v === null ? null : v.trim().replace(/\s+/g, ' '));

/** Restores `steps` (newest first) to their before values; returns the failures. */
async function restore(io: SystemIO, txId: number, steps: readonly StepRow[], log: (l: string) => void): Promise<string[]> {
  const db = openJournal();
  const failures: string[] = [];
  for (const s of [...steps].reverse()) {
    if (s.status !== 'done' && s.status !== 'writing' && s.status !== 'failed') continue;
    const label = targetLabel(s.target);
    try {
      if (s.before === null && s.target.kind !== 'file') throw new Error('no recorded value to restore');
      await io.write(s.target, s.before);
      const back = await io.read(s.target);
      const same = s.target.kind === 'file' ? back === s.before : norm(back) === norm(s.before);
      if (!same) throw new Error(`read back ${JSON.stringify(back)} instead of ${JSON.stringify(s.before)}`);
      updateStep(db, txId, s.seq, { status: 'restored' });
      log(`  restored ${label} = ${s.target.kind === 'file' ? (s.before === null ? '(removed)' : '(previous content)') : s.before}`);
    } catch (err) {
      failures.push(`${label}: ${(err as Error).message}`);
      updateStep(db, txId, s.seq, { status: 'restore_failed', error: (err as Error).message });
    }
  }
  return failures;
}

export async function applyTransaction(req: ApplyRequest): Promise<ApplyResult> {
  const io = systemIO(req.netns);
  const lock: Lock = acquireLock(`apply ${req.source}`);
  const db = openJournal();
  let txId = 0;
  const t0 = performance.now();
  try {
    // Record the before-state from the live system, not from the (possibly older) Snapshot.
    const befores: (string | null)[] = [];
    for (const c of req.changes) befores.push(await io.read(c.target));
    const persistBefore = req.persistFile ? await io.read({ kind: 'file', path: req.persistFile }) : null;
    txId = beginTx(db, { netns: req.netns, source: req.source, plan: req.plan, before: req.before });
    lock.setTx(txId);
    const watchdogPid = req.confirmS !== null && req.startWatchdog ? req.startWatchdog(txId) : null;
    const tWrite = performance.now();

    const results: StepResult[] = [];
    let seq = 0;
    for (const [i, c] of req.changes.entries()) {
      const before = befores[i] ?? null;
      addStep(db, { tx_id: txId, seq, target: c.target, before, wanted: c.to });
      if (req.stepDelayMs) await sleep(req.stepDelayMs);
      try {
        await io.write(c.target, c.to);
      } catch (err) {
        updateStep(db, txId, seq, { status: 'failed', error: (err as Error).message });
        throw new StepFailure(`${targetLabel(c.target)} = ${c.to}: ${(err as Error).message}`);
      }
      const after = await io.read(c.target);
      updateStep(db, txId, seq, { status: 'done', after });
      const adjusted = norm(after) !== norm(c.to);
      if (adjusted) req.log(`  note: ${targetLabel(c.target)}: wrote ${c.to}, the kernel holds ${after ?? '(nothing)'}`);
      results.push({ target: targetLabel(c.target), before, wanted: c.to, after, adjusted });
      seq++;
    }

    const at = new Date().toISOString();
    /** A file step: journaled with the old content first, so rollback restores it exactly. */
    const writeFileStep = async (target: Target & { kind: 'file' }, before: string | null, content: string): Promise<void> => {
      addStep(db, { tx_id: txId, seq, target, before, wanted: content });
      try {
        mkdirSync(dirname(target.path), { recursive: true });
        await io.write(target, content);
      } catch (err) {
        updateStep(db, txId, seq, { status: 'failed', error: (err as Error).message });
        throw new StepFailure(`${target.path}: ${(err as Error).message}`);
      }
      updateStep(db, txId, seq, { status: 'done', after: '(written)' });
      seq++;
    };
    const persisted: string[] = [];
    if (req.persistFile) {
      const sysctls = req.changes.filter((c): c is TxChange & { target: { kind: 'sysctl'; key: string } } => c.target.kind === 'sysctl');
      if (sysctls.length) {
        const now = sysctls.map((c) => ({ key: c.target.key, value: c.to, comments: [`${c.reason} (${c.source}; transaction ${txId}, ${at})`] }));
        await writeFileStep({ kind: 'file', path: req.persistFile }, persistBefore, renderPersisted(parsePersisted(persistBefore), now, txId, at));
        persisted.push(req.persistFile);
      }
      const nic = req.changes.filter((c) => c.target.kind === 'ethtool' || c.target.kind === 'sysfs');
      if (nic.length) {
        // /etc/sysctl.d/90-nettune.conf → /etc/systemd/system/nettune-nic.service (same root)
        const unit: Target & { kind: 'file' } = { kind: 'file', path: join(dirname(dirname(req.persistFile)), 'systemd', 'system', NIC_UNIT_NAME) };
        const unitBefore = await io.read(unit);
        const lines = nic.map((c) => nicLine(c.target as NicTarget, c.to, req.netns, `${c.reason} (${c.source}; transaction ${txId}, ${at})`));
        const previous = parseNicUnit(unitBefore);
        for (const d of previous.dropped) req.log(`  note: ${unit.path}: dropped a line nettune did not write: ${d}`);
        await writeFileStep(unit, unitBefore, renderNicUnit(previous.lines, lines, txId, at));
        persisted.push(unit.path);
      }
    }

    const after = req.snapshotAfter ? await req.snapshotAfter().catch(() => null) : null;
    const deadline = req.confirmS !== null ? new Date(Date.now() + req.confirmS * 1000).toISOString() : null;
    const status: TxStatus = deadline ? 'awaiting_confirm' : 'applied';
    const result: ApplyResult = { tx: txId, status, steps: results, persisted, confirm_deadline: deadline, watchdog_pid: watchdogPid };
    finishTx(db, txId, {
      status,
      result,
      after,
      confirm_deadline: deadline,
      timings: { total_ms: Math.round(performance.now() - t0), write_ms: Math.round(performance.now() - tWrite) },
    });
    return result;
  } catch (err) {
    if (!(err instanceof StepFailure) || txId === 0) throw err;
    req.log(`nettune: ${err.message}; restoring what was written`);
    const failures = await restore(io, txId, stepsOf(db, txId), req.log);
    const status: TxStatus = failures.length ? 'rollback_failed' : 'failed_rolled_back';
    finishTx(db, txId, { status, error: [err.message, ...failures].join('; ') });
    if (failures.length)
      throw new NettuneError(`apply failed (${err.message}) and the rollback failed too: ${failures.join('; ')}`, EXIT.rollbackFailed, `transaction ${txId}: nettune show-tx ${txId}`);
    throw new NettuneError(`apply failed and was rolled back: ${err.message}`, EXIT.applyRolledBack, `transaction ${txId}: nettune show-tx ${txId}`);
  } finally {
    lock.release();
  }
}

class StepFailure extends Error {}

/** Restores a finished (or crashed) transaction's before-values, newest step first. */
export async function revertTransaction(txId: number, newStatus: TxStatus, log: (l: string) => void, lock?: Lock): Promise<{ restored: number }> {
  const db = openJournal();
  const tx = getTx(db, txId);
  if (!tx) throw new NettuneError(`no transaction ${txId}`, EXIT.usage);
  const own = lock ?? acquireLock(`revert ${txId}`, { allowStale: true });
  try {
    const steps = stepsOf(db, txId);
    const failures = await restore(systemIO(tx.netns), txId, steps, log);
    if (failures.length) {
      setStatus(db, txId, 'rollback_failed', failures.join('; '));
      throw new NettuneError(`rollback of transaction ${txId} failed: ${failures.join('; ')}`, EXIT.rollbackFailed, `nettune show-tx ${txId} lists every step and its state`);
    }
    finishTx(db, txId, { status: newStatus, confirm_deadline: null });
    return { restored: steps.filter((s) => s.status === 'done' || s.status === 'writing').length };
  } finally {
    if (!lock) own.release();
  }
}
