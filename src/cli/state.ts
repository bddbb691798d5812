// `confirm`, `rollback`, `recover` and the hidden watchdogs (`__watchdog`, `__boot-check`): the
// commands that move a transaction after apply. Each accepts --netns (checked against the
// transaction's namespace), --yes and --json; with no id they take the newest transaction of the
// given (or current) namespace, never one of another namespace.
import type { Command } from 'commander';
import { z } from 'zod';
import { confirmTransaction, expire, settle, startWatchdog, watchdog } from '../apply/confirm.js';
import { removeBootCheckIfIdle } from '../apply/boot-check.js';
import { systemIO, targetLabel } from '../apply/io.js';
import { IN_EFFECT, getTx, lastTx, lastTxIn, laterTouching, openJournal, stepsOf, txWithStatus, type TxRow, type TxStatus } from '../apply/journal.js';
import { acquireLock, readLock } from '../apply/lock.js';
import { recheckFailed, revertTransaction, unrecovered } from '../apply/rollback.js';
import { environmentError, EXIT, NettuneError, usageError } from '../sys/errors.js';
import { isRoot } from '../sys/tools.js';
import { ask, logErr, parseOptions, print, printJson, withJson } from './common.js';
import { table } from './format.js';

const txOptions = z.object({
  json: z.boolean().optional(),
  netns: z.string().optional(),
  yes: z.boolean().optional(),
});

const where = (netns: string | null): string => (netns === null ? 'the current namespace' : `netns ${netns}`);

/** The transaction a command acts on: the one named (checked against --netns), or the newest in
 *  `statuses` of the given (or current) namespace. */
function pickTx(txArg: string | undefined, netnsOpt: string | undefined, statuses: readonly TxStatus[], what: string): TxRow {
  const db = openJournal();
  if (txArg !== undefined) {
    if (!/^\d{1,15}$/.test(txArg)) throw usageError(`invalid transaction id ${JSON.stringify(txArg.slice(0, 40))}: a whole number (see nettune history)`);
    const tx = getTx(db, Number(txArg));
    if (!tx) throw usageError(`no transaction ${txArg}`);
    if (netnsOpt !== undefined && tx.netns !== netnsOpt) throw usageError(`transaction ${tx.id} was applied in ${where(tx.netns)}, not in netns ${netnsOpt}`);
    return tx;
  }
  const ns = netnsOpt ?? null;
  const tx = lastTxIn(db, statuses, ns);
  if (tx) return tx;
  const elsewhere = lastTx(db, statuses);
  throw usageError(
    `no ${what} transaction in ${where(ns)}`,
    elsewhere ? `the newest one is ${elsewhere.id}, in ${where(elsewhere.netns)}: give its id${elsewhere.netns ? ` or --netns ${elsewhere.netns}` : ''}` : undefined,
  );
}

const needRoot = (what: string): void => {
  if (!isRoot()) throw environmentError(`${what} needs root to change kernel settings`);
};

export function registerState(program: Command): void {
  withJson(program.command('confirm').description('keep a transaction applied with --confirm (default: the newest waiting one of the namespace)').argument('[tx]'))
    .option('--netns <name>', 'the transaction was applied in this namespace')
    .option('--yes', 'accepted for symmetry; confirm never asks')
    .action(async (txArg: string | undefined, raw: unknown) => {
      const opts = parseOptions(txOptions, raw);
      const tx = pickTx(txArg, opts.netns, ['awaiting_confirm'], 'waiting (awaiting_confirm)');
      const r = await confirmTransaction(tx.id, opts.json ? () => undefined : logErr);
      if (opts.json) printJson({ tx: r.tx, status: r.status, netns: tx.netns, already_confirmed: r.already });
      else print(r.already ? `Transaction ${r.tx} was already confirmed.` : `Transaction ${r.tx} confirmed; it stays applied.`);
    });

  withJson(program.command('rollback').description('restore the values a transaction replaced (default: the newest of the namespace), including the persisted file').argument('[tx]'))
    .option('--netns <name>', 'the transaction was applied in this namespace (default: the current one)')
    .option('--yes', 'do not ask')
    .option('--force', 'also when a later transaction changed the same settings')
    .action(async (txArg: string | undefined, raw: unknown) => {
      const opts = parseOptions(txOptions.extend({ force: z.boolean().optional() }), raw);
      const log = opts.json ? () => undefined : print;
      const settled = await settle({ write: isRoot(), log: logErr });
      const db = openJournal();
      if (txArg === undefined) {
        // the newest transaction of this namespace was just reverted as unconfirmed: that was it
        const done = settled.reverted.map((id) => getTx(db, id)).find((t) => t && t.netns === (opts.netns ?? null));
        if (done && !lastTxIn(db, IN_EFFECT, done.netns)?.id) {
          if (opts.json) printJson({ tx: done.id, status: done.status, netns: done.netns, restored: null });
          else print(`Transaction ${done.id} was reverted (it was not confirmed in time); nothing else to roll back in ${where(done.netns)}.`);
          return;
        }
      }
      const tx = pickTx(txArg, opts.netns, IN_EFFECT, 'applied');
      const open = unrecovered(db);
      const resuming = tx.status === 'rolling_back' && open.some((t) => t.id === tx.id);
      const others = open.filter((t) => t.id !== tx.id);
      if (others.length)
        throw environmentError(
          `transaction ${others.map((t) => t.id).join(', ')} was left half-done (${others.map((t) => t.status).join(', ')}); rolling back ${tx.id} on top of it could restore the wrong values`,
          'run `nettune recover` first',
        );
      if (!resuming && !IN_EFFECT.includes(tx.status)) throw usageError(`transaction ${tx.id} is ${tx.status}; nothing to roll back`);
      const steps = stepsOf(db, tx.id).filter((s) => ['done', 'writing', 'failed', 'restore_failed'].includes(s.status));
      const later = laterTouching(db, tx.id, steps.map((s) => s.target));
      if (later.length && !opts.force) throw usageError(`transactions ${later.join(', ')} changed the same settings later; roll those back first, or use --force`);
      needRoot('rollback');
      const io = systemIO(tx.netns);
      const preview = [];
      for (const s of steps) {
        const now = await io.read(s.target).catch(() => null);
        const show = (v: string | null): string => (s.target.kind === 'file' ? (v === null ? '(absent)' : '(file)') : (v ?? '?'));
        preview.push({ target: targetLabel(s.target), now: show(now), restore: s.target.kind === 'file' ? (s.before === null ? '(remove)' : '(previous content)') : (s.before ?? '?') });
      }
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw usageError('rollback changes the system and stdin is not a terminal: give --yes to roll back without being asked');
        process.stderr.write(`Roll back transaction ${tx.id} (${tx.source}, ${tx.started_at}) in ${where(tx.netns)}${resuming ? ', resuming an interrupted rollback' : ''}:\n`);
        process.stderr.write(`${table([['TARGET', 'NOW', 'RESTORE TO'], ...preview.map((p) => [p.target, p.now, p.restore])])}\n`);
        if (!(await ask(`Restore ${preview.length} setting(s)? [y/N] `))) throw usageError('not rolled back (answered no)');
      } else if (!opts.json) print(`Rolling back transaction ${tx.id} in ${where(tx.netns)}:`);
      const r = await revertTransaction(tx.id, resuming ? (tx.rollback_to ?? 'rolled_back') : 'rolled_back', {
        from: resuming ? ['rolling_back'] : IN_EFFECT,
        resume: resuming,
        allowStale: resuming,
        log,
      });
      if (r.lost) throw environmentError(`transaction ${tx.id} changed meanwhile (now ${r.lost}); nothing was rolled back`);
      if (opts.json) printJson({ tx: tx.id, status: r.status, netns: tx.netns, restored: r.restored, steps: preview });
      else print(`Transaction ${tx.id} rolled back (${r.restored} settings restored).`);
    });

  withJson(program.command('recover').description('finish what a killed apply or rollback left half-done, and revert unconfirmed changes past their deadline').argument('[tx]'))
    .option('--netns <name>', 'only transactions of this namespace')
    .option('--yes', 'accepted for symmetry; recover never asks (it only restores recorded before-values)')
    .option('--recheck', 'with TX: re-check a rollback_failed transaction against the live values; clear it when they match, else restore again')
    .action(async (txArg: string | undefined, raw: unknown) => {
      const opts = parseOptions(txOptions.extend({ recheck: z.boolean().optional() }), raw);
      const log = opts.json ? () => undefined : print;
      const db = openJournal();
      if (opts.recheck) {
        if (txArg === undefined) throw usageError('--recheck needs the transaction id (see nettune history)');
        const tx = pickTx(txArg, opts.netns, ['rollback_failed'], 'rollback_failed');
        needRoot('recover');
        const r = await recheckFailed(tx.id, log);
        if (opts.json) printJson({ tx: tx.id, status: r.status, netns: tx.netns, restored: r.restored });
        else print(`Transaction ${tx.id} re-checked: consistent, now ${r.status}.`);
        return;
      }
      const inScope = (t: TxRow): boolean => (opts.netns === undefined || t.netns === opts.netns) && (txArg === undefined || String(t.id) === txArg);
      const open = unrecovered(db).filter(inScope);
      const expired = txWithStatus(db, ['awaiting_confirm']).filter((t) => inScope(t) && t.confirm_deadline !== null && Date.parse(t.confirm_deadline) <= Date.now());
      const done: { tx: number; netns: string | null; was: TxStatus; status: TxStatus; restored: number }[] = [];
      if (open.length || expired.length) needRoot('recover');
      for (const t of open) {
        const final: TxStatus = t.status === 'pending' ? 'recovered' : (t.rollback_to ?? 'rolled_back');
        if (!opts.json) print(`Transaction ${t.id} (${t.source}) in ${where(t.netns)} was left ${t.status === 'pending' ? 'half-applied' : 'half-rolled-back'}:`);
        const r = await revertTransaction(t.id, final, { from: [t.status], resume: t.status === 'rolling_back', allowStale: true, log });
        if (!r.lost) done.push({ tx: t.id, netns: t.netns, was: t.status, status: r.status, restored: r.restored });
      }
      for (const t of expired) {
        if (!opts.json) print(`Transaction ${t.id} in ${where(t.netns)} was not confirmed by ${t.confirm_deadline}:`);
        const r = await expire(t.id, 'awaiting_confirm', log, 10_000);
        if (!r.lost) done.push({ tx: t.id, netns: t.netns, was: 'awaiting_confirm', status: r.status, restored: r.restored });
      }
      // a stale lock that names no unfinished transaction (its journal record was settled)
      const h = readLock();
      if (h && opts.netns === undefined) {
        try {
          acquireLock('recover', { allowStale: true }).release();
        } catch (err) {
          if (!(err instanceof NettuneError)) throw err;
        }
      }
      if (opts.json) printJson({ recovered: done[0]?.tx ?? null, restored: done.reduce((a, d) => a + d.restored, 0), transactions: done });
      else if (!done.length) print(`Nothing to recover${opts.netns ? ` in netns ${opts.netns}` : ''}: no transaction was left incomplete.`);
      else for (const d of done) print(`Recovered transaction ${d.tx}: ${d.restored} settings restored, now ${d.status}.`);
    });

  program
    .command('__watchdog', { hidden: true })
    .argument('<tx>')
    .argument('<seconds>')
    .action(async (tx: string, seconds: string) => {
      await watchdog(Number(tx), Number(seconds));
    });

  // Run by nettune-confirm-check.service at boot, after systemd-sysctl (boot-check.ts).
  program.command('__boot-check', { hidden: true }).action(async () => {
    const db = openJournal();
    let failed = 0;
    for (const t of unrecovered(db)) {
      try {
        const r = await revertTransaction(t.id, t.status === 'pending' ? 'reverted_unconfirmed' : (t.rollback_to ?? 'rolled_back'), { from: [t.status], resume: t.status === 'rolling_back', allowStale: true, log: logErr });
        logErr(`nettune boot check: transaction ${t.id} was left ${t.status}; restored ${r.restored} settings (${r.status})`);
      } catch (err) {
        failed++;
        logErr(`nettune boot check: transaction ${t.id}: ${(err as Error).message}`);
      }
    }
    for (const t of txWithStatus(db, ['awaiting_confirm'])) {
      const left = Date.parse(t.confirm_deadline ?? '') - Date.now();
      if (!(left > 0)) {
        try {
          const r = await expire(t.id, 'awaiting_confirm', logErr, 30_000);
          if (!r.lost) logErr(`nettune boot check: transaction ${t.id} was not confirmed by ${t.confirm_deadline}; reverted (${r.restored} settings restored)`);
        } catch (err) {
          failed++;
          logErr(`nettune boot check: transaction ${t.id}: ${(err as Error).message}`);
        }
      } else {
        const pid = startWatchdog(t.id, left / 1000);
        logErr(`nettune boot check: transaction ${t.id} waits for \`nettune confirm\` until ${t.confirm_deadline}; watchdog pid ${pid ?? '?'}`);
      }
    }
    const units = db.prepare('SELECT DISTINCT boot_unit FROM tx WHERE boot_unit IS NOT NULL').all() as { boot_unit: string }[];
    for (const u of units) removeBootCheckIfIdle(db, u.boot_unit);
    if (failed) throw new NettuneError(`boot check: ${failed} transaction(s) could not be reverted`, EXIT.rollbackFailed, 'nettune history; nettune show-tx ID');
  });
}
