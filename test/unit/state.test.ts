// The state machinery without root: guarded transitions in the journal, the lock's owner checks,
// the boot-check unit's rendering and quoting, the fault hook's parsing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderBootUnit, systemdQuote } from '../../src/apply/boot-check.js';
import { beginTx, closeJournal, finishTx, getTx, lastTxIn, openJournal, transition } from '../../src/apply/journal.js';
import { acquireLock, bootId, holderAlive, LockBusyError, processStart, readLock } from '../../src/apply/lock.js';
import { fault } from '../../src/sys/fault.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nettune-unit-state-'));
  process.env.NETTUNE_STATE_DIR = dir;
});
afterEach(() => {
  closeJournal();
  delete process.env.NETTUNE_STATE_DIR;
  delete process.env.NETTUNE_FAULT;
});

const newTx = (netns: string | null = null): number => beginTx(openJournal(), { netns, source: 'test', plan: null, before: null });

describe('journal transitions', () => {
  it('confirm (before the deadline) and revert (after it) cannot both win', () => {
    const db = openJournal();
    const id = newTx();
    const deadline = new Date(Date.now() + 1000);
    finishTx(db, id, { status: 'awaiting_confirm', confirm_deadline: deadline.toISOString() });
    const early = new Date(deadline.getTime() - 1);
    const late = new Date(deadline.getTime());
    expect(transition(db, id, ['awaiting_confirm'], 'rolling_back', { deadline: 'passed', now: early })).toBe(false);
    expect(transition(db, id, ['awaiting_confirm'], 'confirmed', { deadline: 'before', now: late })).toBe(false);
    expect(transition(db, id, ['awaiting_confirm'], 'rolling_back', { deadline: 'passed', now: late, rollbackTo: 'reverted_unconfirmed' })).toBe(true);
    expect(transition(db, id, ['awaiting_confirm'], 'confirmed', { deadline: 'before', now: early })).toBe(false);
    expect(getTx(db, id)).toMatchObject({ status: 'rolling_back', rollback_to: 'reverted_unconfirmed' });
  });

  it('two connections racing for the same transaction: exactly one UPDATE changes it', () => {
    const id = newTx();
    const other = new Database(join(dir, 'journal.db'));
    let wins = 0;
    for (const db of [openJournal(), other]) if (transition(db, id, ['pending'], 'rolling_back', { rollbackTo: 'recovered' })) wins++;
    other.close();
    expect(wins).toBe(1);
  });

  it('the newest transaction of a namespace is never one of another namespace', () => {
    const db = openJournal();
    const a = newTx('nsa');
    newTx('nsb');
    finishTx(db, a, { status: 'applied' });
    expect(lastTxIn(db, ['applied'], 'nsa')?.id).toBe(a);
    expect(lastTxIn(db, ['applied'], null)).toBeNull();
    expect(lastTxIn(db, ['applied'], 'nsb')).toBeNull();
  });
});

describe('lock owners', () => {
  it('knows its own start time and boot id, and a pid with another start time is not the owner', () => {
    const start = processStart(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(holderAlive({ pid: process.pid, start, boot: bootId() })).toBe(true);
    expect(holderAlive({ pid: process.pid, start: `${start ?? ''}1`, boot: bootId() })).toBe(false);
    expect(holderAlive({ pid: process.pid, start, boot: 'another-boot' })).toBe(false);
    expect(processStart(2 ** 22 + 1)).toBeNull();
  });

  it('a second acquire by a live owner is busy; release removes only its own lock', () => {
    const l = acquireLock('test');
    expect(() => acquireLock('again')).toThrow(LockBusyError);
    l.setTx(7);
    expect(readLock()).toMatchObject({ pid: process.pid, tx: 7 });
    l.release();
    expect(readLock()).toBeNull();
  });

  it('a stale lock naming a transaction is only taken over with allowStale', () => {
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: process.pid, command: 'apply', since: 'x', tx: 3, start: '1' }));
    expect(() => acquireLock('apply')).toThrow(/died while holding the lock/);
    const l = acquireLock('recover', { allowStale: true });
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'))).toMatchObject({ command: 'recover', tx: null });
    l.release();
  });
});

describe('boot-check unit', () => {
  it('quotes words for systemd: no variable or specifier expansion, no control characters', () => {
    expect(systemdQuote('/usr/bin/node')).toBe('"/usr/bin/node"');
    expect(systemdQuote('/a b/$HOME/%n/"q"\\')).toBe('"/a b/$$HOME/%%n/\\"q\\"\\\\"');
    expect(() => systemdQuote('a\nExecStart=/bin/sh')).toThrow();
  });

  it('is ordered after systemd-sysctl and before the network, and runs __boot-check', () => {
    const u = renderBootUnit({ node: '/usr/bin/node', script: '/opt/nettune/dist/nettune.mjs', stateDir: '/var/lib/nettune' });
    expect(u).toMatch(/^After=systemd-sysctl\.service local-fs\.target$/m);
    expect(u).toMatch(/^Before=network-pre\.target/m);
    expect(u).toMatch(/^DefaultDependencies=no$/m);
    expect(u).toMatch(/^ExecStart="\/usr\/bin\/node" "\/opt\/nettune\/dist\/nettune\.mjs" __boot-check$/m);
    expect(u).toMatch(/^WantedBy=sysinit\.target$/m);
    expect(u).toMatch(/^KillMode=process$/m);
  });
});

describe('fault hook', () => {
  it('is a no-op without NETTUNE_FAULT, and fires on the N-th time a point is reached', () => {
    expect(() => fault('after-write')).not.toThrow();
    process.env.NETTUNE_FAULT = 'x-point@2=error,y-point=enospc';
    expect(() => fault('x-point')).not.toThrow();
    expect(() => fault('x-point')).toThrow(/injected fault at x-point/);
    expect(() => fault('x-point')).not.toThrow();
    expect(() => fault('y-point')).toThrow(expect.objectContaining({ code: 'ENOSPC' }) as Error);
  });
});
