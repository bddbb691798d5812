// apply as a transaction: lock → record before → journal each step before writing it → write →
// read back → persist → journal the result. Any failure restores everything written, in reverse.
import { dirname } from 'node:path';
import { NettuneError, EXIT, environmentError } from '../sys/errors.js';
import { fault } from '../sys/fault.js';
import { type Lock, acquireLock } from './lock.js';
import { addStep, beginTx, finishTx, openJournal, setBootUnit, type StepRow, type Target, type TxStatus, updateStep } from './journal.js';
import { REMOVABLE_KINDS, systemIO, targetLabel } from './io.js';
import { ROUTE_ABSENT } from '../plan/multihomed-kinds.js';
import { restore } from './rollback.js';
import { ABSENT, DIRECTORY, missingDirs } from './file-state.js';
import { bootUnitPath, installBootCheck, removeBootCheckIfIdle } from './boot-check.js';
import { nicUnitPath, type NicTarget, nicLine, parseNicUnit, parsePersisted, renderNicUnit, renderPersisted } from './persist.js';
import { sleep } from '../sys/process.js';
import { mptcpLine, mptcpUnitPath, mptcpUnitText, parseMptcpUnit } from './kind-mptcp.js';
import type { MptcpTarget } from '../plan/mptcp-change.js';
import { nftPersistFiles, nftUnitPath } from './kind-nft.js';
import { type RoutePersistPlan, routePersistFiles, routePersistPaths } from './persist-routes-files.js';

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
  /** Where --persist puts the routes and rules (placeRouting, decided before the lock). */
  routePersist?: RoutePersistPlan | null;
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

/** Ctrl-C (SIGINT), SIGTERM or SIGHUP while a transaction runs: the write in flight finishes,
 *  then the next step check throws and everything written is restored like any other failure
 *  (exit 4), instead of the process dying half-applied with the lock left for `recover`. A
 *  second signal is reported and ignored. Only where no other handler owns the signals (an
 *  experiment's stop handler cleans up its own lab). */
function watchInterrupts(log: (line: string) => void): { check: () => void; stop: () => void } {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  if (signals.some((s) => process.listenerCount(s) > 0)) return { check: () => undefined, stop: () => undefined };
  let got: NodeJS.Signals | null = null;
  const handler = (s: NodeJS.Signals): void => {
    if (got) return log(`nettune: ${s} again: still restoring what was written, wait for it`);
    got = s;
    log(`nettune: ${s}: stopping after the write in flight`);
  };
  for (const s of signals) process.on(s, handler);
  return {
    check: () => {
      if (got) throw new StepFailure(`interrupted by ${got}`);
    },
    stop: () => {
      for (const s of signals) process.off(s, handler);
    },
  };
}

export async function applyTransaction(req: ApplyRequest): Promise<ApplyResult> {
  const io = systemIO(req.netns);
  const lock: Lock = acquireLock(`apply ${req.source}`);
  const interrupts = watchInterrupts(req.log);
  let keepLock = false;
  let txId = 0;
  /** What this process journaled and wrote, kept in memory too: if the journal itself fails
   *  (disk full), the rollback still knows every write to undo. */
  const mem: StepRow[] = [];
  const journalStep = (row: Omit<StepRow, 'after' | 'status' | 'error'>): StepRow => {
    addStep(db(), row);
    const m: StepRow = { ...row, after: null, status: 'writing', error: null };
    mem.push(m);
    return m;
  };
  let dbHandle: ReturnType<typeof openJournal> | null = null;
  const db = (): ReturnType<typeof openJournal> => (dbHandle ??= openJournal());
  const t0 = performance.now();
  try {
    fault('after-lock');
    // Record the before-state from the live system, not from the (possibly older) Snapshot.
    const befores: (string | null)[] = [];
    for (const c of req.changes) befores.push(await io.read(c.target));
    const persistBefore = req.persistFile ? await io.read({ kind: 'file', path: req.persistFile }) : null;
    try {
      txId = beginTx(db(), { netns: req.netns, source: req.source, plan: req.plan, before: req.before });
    } catch (err) {
      throw environmentError(`cannot write the journal in ${dirname(db().name)}: ${(err as Error).message}; nothing was changed`, 'free space there (or set NETTUNE_STATE_DIR) and try again');
    }
    lock.setTx(txId);
    fault('after-begin');
    // --persist --confirm: the boot check reverts this transaction if a reboot kills the watchdog
    const bootUnit = req.persistFile && req.confirmS !== null ? bootUnitPath(req.persistFile) : null;
    if (bootUnit) {
      setBootUnit(db(), txId, bootUnit);
      installBootCheck(bootUnit);
    }
    const watchdogPid = req.confirmS !== null && req.startWatchdog ? req.startWatchdog(txId) : null;
    const tWrite = performance.now();

    const results: StepResult[] = [];
    let seq = 0;
    for (const [i, c] of req.changes.entries()) {
      interrupts.check();
      const before = befores[i] ?? null;
      const m = journalStep({ tx_id: txId, seq, target: c.target, before, wanted: c.to });
      if (req.stepDelayMs) await sleep(req.stepDelayMs);
      try {
        await io.write(c.target, c.to);
      } catch (err) {
        m.status = 'failed';
        updateStep(db(), txId, seq, { status: 'failed', error: (err as Error).message });
        // a multi-line value (an nft table) is not repeated: the message stays one line
        throw new StepFailure(`${targetLabel(c.target)}${c.to.includes('\n') ? '' : ` = ${c.to}`}: ${(err as Error).message}`);
      }
      m.status = 'done';
      fault('after-write');
      const after = await io.read(c.target);
      updateStep(db(), txId, seq, { status: 'done', after });
      const adjusted = norm(after) !== norm(c.to) && !(after === null && c.to === ROUTE_ABSENT && REMOVABLE_KINDS.has(c.target.kind));
      if (adjusted) req.log(`  note: ${targetLabel(c.target)}: wrote ${c.to}, the kernel holds ${after ?? '(nothing)'}`);
      results.push({ target: targetLabel(c.target), before, wanted: c.to, after, adjusted });
      seq++;
    }

    const at = new Date().toISOString();
    /** A file step: journaled with the old content first, so rollback restores it exactly; before
     *  it, one step per directory it creates and one for the file's mode and owner (restored
     *  after the content, the directories last). */
    const writeFileStep = async (target: Target & { kind: 'file' }, before: string | null, content: string | null, newMode?: number): Promise<void> => {
      interrupts.check();
      for (const dir of content === null ? [] : missingDirs(target.path)) {
        const d: Target = { kind: 'dir', path: dir };
        journalStep({ tx_id: txId, seq, target: d, before: ABSENT, wanted: DIRECTORY });
        await runStep(d, DIRECTORY);
      }
      const meta: Target = { kind: 'filemeta', path: target.path };
      const metaBefore = await io.read(meta);
      journalStep({ tx_id: txId, seq, target: meta, before: metaBefore, wanted: metaBefore ?? ABSENT });
      await runStep(meta, metaBefore ?? ABSENT); // mode and owner stay; the step records them for rollback
      const m = journalStep({ tx_id: txId, seq, target, before, wanted: content ?? '(removed)' });
      try {
        await io.write(target, content);
      } catch (err) {
        m.status = 'failed';
        updateStep(db(), txId, seq, { status: 'failed', error: (err as Error).message });
        throw new StepFailure(`${target.path}: ${(err as Error).message}`);
      }
      m.status = 'done';
      updateStep(db(), txId, seq, { status: 'done', after: content === null ? null : '(written)' });
      seq++;
      if (content !== null && newMode !== undefined && metaBefore === ABSENT) {
        // a new file that must be executable (an ifupdown hook): its mode is one more step, so
        // rollback puts back the mode the write gave it before it removes the file
        const created = await io.read(meta);
        const m2 = created ? /^\{"mode":"[0-7]{4}",(.*)$/.exec(created) : null;
        const wanted = `{"mode":"${newMode.toString(8).padStart(4, '0')}",${m2?.[1] ?? ''}`;
        if (created && m2 && wanted !== created) {
          journalStep({ tx_id: txId, seq, target: meta, before: created, wanted });
          await runStep(meta, wanted);
        }
      }
    };
    /** A bookkeeping step of a file write (directory, mode/owner): written, marked done. */
    const runStep = async (target: Target, value: string): Promise<void> => {
      const m = mem[mem.length - 1];
      try {
        await io.write(target, value);
      } catch (err) {
        if (m) m.status = 'failed';
        updateStep(db(), txId, seq, { status: 'failed', error: (err as Error).message });
        throw new StepFailure(`${targetLabel(target)}: ${(err as Error).message}`);
      }
      if (m) m.status = 'done';
      updateStep(db(), txId, seq, { status: 'done', after: value });
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
        const unit: Target & { kind: 'file' } = { kind: 'file', path: nicUnitPath(req.persistFile) };
        const unitBefore = await io.read(unit);
        const lines = nic.map((c) => nicLine(c.target as NicTarget, c.to, req.netns, `${c.reason} (${c.source}; transaction ${txId}, ${at})`));
        const previous = parseNicUnit(unitBefore);
        for (const d of previous.dropped) req.log(`  note: ${unit.path}: dropped a line nettune did not write: ${d}`);
        await writeFileStep(unit, unitBefore, renderNicUnit(previous.lines, lines, txId, at));
        persisted.push(unit.path);
      }
      const mp = req.changes.filter((c): c is TxChange & { target: MptcpTarget } => c.target.kind === 'mptcp');
      if (mp.length) {
        // MPTCP endpoints and limits: /etc/systemd/system/nettune-mptcp.service (kind-mptcp.ts)
        const unit: Target & { kind: 'file' } = { kind: 'file', path: mptcpUnitPath(req.persistFile) };
        const unitBefore = await io.read(unit);
        const previous = parseMptcpUnit(unitBefore);
        for (const d of previous.dropped) req.log(`  note: ${unit.path}: dropped a line nettune did not write: ${d}`);
        const lines = mp.map((c) => mptcpLine(c.target, c.to, req.netns, `${c.reason} (${c.source}; transaction ${txId}, ${at})`));
        await writeFileStep(unit, unitBefore, mptcpUnitText(previous.lines, lines, txId, at));
        persisted.push(unit.path);
      }
      if (req.routePersist) {
        // routes and rules: a networkd drop-in, the ifupdown hooks or nettune-route.service, per interface (persist-routes-files.ts)
        const current = new Map<string, string | null>();
        for (const path of routePersistPaths(req.routePersist, req.persistFile)) current.set(path, await io.read({ kind: 'file', path }));
        for (const f of routePersistFiles(req.routePersist, req.persistFile, (p) => current.get(p) ?? null, { tx: txId, at })) {
          await writeFileStep({ kind: 'file', path: f.path }, current.get(f.path) ?? null, f.content, f.mode);
          persisted.push(f.path);
        }
      }
      const nft = req.changes.flatMap((c) => (c.target.kind === 'nft' ? [{ target: c.target, to: c.to }] : []));
      if (nft.length) {
        // /etc/nftables.d/[netns/NS/]TABLE.nft and /etc/systemd/system/nettune-nft.service (same root; kind-nft.ts)
        const unitBefore = await io.read({ kind: 'file', path: nftUnitPath(req.persistFile) });
        for (const f of nftPersistFiles(nft, req.persistFile, req.netns, txId, at, unitBefore)) {
          await writeFileStep({ kind: 'file', path: f.path }, await io.read({ kind: 'file', path: f.path }), f.content);
          persisted.push(f.path);
        }
      }
    }

    interrupts.check();
    const after = req.snapshotAfter ? await req.snapshotAfter().catch(() => null) : null;
    const deadline = req.confirmS !== null ? new Date(Date.now() + req.confirmS * 1000).toISOString() : null;
    const status: TxStatus = deadline ? 'awaiting_confirm' : 'applied';
    const result: ApplyResult = { tx: txId, status, steps: results, persisted, confirm_deadline: deadline, watchdog_pid: watchdogPid };
    fault('journal-commit');
    finishTx(db(), txId, {
      status,
      result,
      after,
      confirm_deadline: deadline,
      timings: { total_ms: Math.round(performance.now() - t0), write_ms: Math.round(performance.now() - tWrite) },
    });
    return result;
  } catch (err) {
    if (txId === 0) throw err;
    // Whatever failed (a write the kernel refused, the journal on a full disk, a bug), nothing
    // stays half-applied: undo every write this process made, newest first.
    const reason = err instanceof StepFailure ? err.message : `${(err as Error).message}`;
    req.log(`nettune: ${reason}; restoring what was written`);
    const r = await restore(io, txId, mem, req.log);
    const status: TxStatus = r.failures.length ? 'rollback_failed' : 'failed_rolled_back';
    let recorded = r.journalErrors.length === 0;
    try {
      finishTx(db(), txId, { status, error: [reason, ...r.failures].join('; ') });
      removeBootCheckIfIdle(db(), req.persistFile && req.confirmS !== null ? bootUnitPath(req.persistFile) : null);
    } catch {
      recorded = false;
    }
    if (!recorded && r.failures.length === 0) {
      // The values are back, but the journal still says 'pending': keep the lock (it names the
      // transaction) so the next command warns, and `recover` settles the record.
      keepLock = true;
      throw new NettuneError(
        `apply failed (${reason}) and was rolled back, but the journal could not record that; the lock is kept so nettune does not forget`,
        EXIT.applyRolledBack,
        `free space in ${dirname(db().name)}, then run \`nettune recover\` (transaction ${txId})`,
      );
    }
    if (r.failures.length) {
      keepLock = !recorded;
      throw new NettuneError(`apply failed (${reason}) and the rollback failed too: ${r.failures.join('; ')}`, EXIT.rollbackFailed, `transaction ${txId}: nettune show-tx ${txId}`);
    }
    throw new NettuneError(`apply failed and was rolled back: ${reason}`, EXIT.applyRolledBack, `transaction ${txId}: nettune show-tx ${txId}`);
  } finally {
    interrupts.stop();
    if (!keepLock) lock.release();
  }
}

class StepFailure extends Error {}
