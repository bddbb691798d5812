// The journal never disagrees with the kernel: confirm vs watchdog (exactly one wins), late
// confirms, a dead watchdog or a reboot inside the confirm window (next command, boot check),
// rollback picking, asking and resuming, stale locks, rollback_failed re-checks. Root, in
// throw-away namespaces, with a temp state dir and --root for persisted files.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ctx, deleteNamespaces, freshDirs, get, history, isRoot, killWatchdogs, newNetns, nettune, sleep, start, txStatus, until, watchdogs } from './state-helpers.js';

const KA = 'net.ipv4.tcp_keepalive_time';

function applyConfirm(ns: string, value: string, confirm: string, extra: string[] = []): { tx: number; confirm_deadline: string; watchdog_pid: number } {
  const r = nettune(['apply', '--netns', ns, '--set', `${KA}=${value}`, '--confirm', confirm, '--yes', '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  const res = JSON.parse(r.stdout) as { tx: number; confirm_deadline: string; watchdog_pid: number };
  watchdogs.push(res.watchdog_pid);
  return res;
}

const settledStatus = async (id: number): Promise<string | undefined> => {
  await until(() => !['awaiting_confirm', 'rolling_back', 'pending'].includes(txStatus(id) ?? ''), 10_000);
  return txStatus(id);
};

describe.skipIf(!isRoot)('state: confirm, watchdog, boot check, rollback, recover (root, namespaces)', () => {
  beforeEach(freshDirs);
  afterEach(killWatchdogs);
  afterAll(deleteNamespaces);

  it('confirm racing the watchdog around the deadline: exactly one wins, and the output says which (8 rounds)', async () => {
    const ns = newNetns('race');
    const before = get(ns, KA);
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = applyConfirm(ns, String(700 + i), '2s');
      // confirm sent from 1.6 s before to 1.6 s after the deadline: the ends are sure outcomes
      // (CLI start-up is ~0.5 s here), the middle rounds race the watchdog
      const target = Date.parse(res.confirm_deadline) - 1600 + Math.round((i * 3200) / 7);
      await sleep(Math.max(0, target - Date.now()));
      const c = nettune(['confirm', String(res.tx), '--netns', ns]);
      const status = await settledStatus(res.tx);
      if (c.code === 0) {
        expect(c.stdout).toMatch(/confirmed; it stays applied/);
        expect(status).toBe('confirmed');
        await sleep(300);
        expect(get(ns, KA)).toBe(String(700 + i));
        outcomes.push('confirmed');
        expect(nettune(['rollback', String(res.tx), '--netns', ns, '--yes']).code).toBe(0);
      } else {
        expect(c.code, c.stderr).toBe(3);
        expect(c.stderr).toMatch(/was not confirmed before its deadline .* and was reverted/);
        expect(c.stdout).not.toMatch(/confirmed;/);
        expect(status).toBe('reverted_unconfirmed');
        expect(get(ns, KA)).toBe(before);
        outcomes.push('reverted');
      }
      expect(get(ns, KA)).toBe(before);
    }
    console.log(`confirm race outcomes: ${outcomes.join(' ')}`);
    expect(outcomes).toContain('confirmed');
    expect(outcomes).toContain('reverted');
  }, 120_000);

  it('a late confirm whose watchdog was killed reverts the change itself and exits 3', async () => {
    const ns = newNetns('late');
    const before = get(ns, KA);
    const res = applyConfirm(ns, '710', '1s');
    process.kill(res.watchdog_pid, 'SIGKILL');
    await sleep(1500);
    expect(get(ns, KA)).toBe('710'); // nobody reverted it yet
    const c = nettune(['confirm', '--netns', ns, String(res.tx), '--json']);
    expect(c.code).toBe(3);
    expect(JSON.parse(c.stdout)).toMatchObject({ error: { exit_code: 3 } });
    expect(c.stderr).toMatch(/was not confirmed before its deadline.*reverted/);
    expect(get(ns, KA)).toBe(before);
    expect(txStatus(res.tx)).toBe('reverted_unconfirmed');
    // confirming again says the same, it does not flip anything
    expect(nettune(['confirm', String(res.tx)]).code).toBe(3);
  });

  it('watchdog killed inside the window: read-only commands say what will revert it, the next apply reverts it', async () => {
    const ns = newNetns('wdog');
    const before = get(ns, KA);
    const res = applyConfirm(ns, '720', '1s');
    process.kill(res.watchdog_pid, 'SIGKILL');
    await sleep(6500); // deadline + the 5 s grace a live watchdog would have had
    const h = nettune(['history']);
    expect(h.stderr).toMatch(new RegExp(`transaction ${res.tx} was not confirmed by .* its watchdog is gone: the next apply, rollback, confirm or recover`));
    expect(get(ns, KA)).toBe('720');
    const a = nettune(['apply', '--netns', ns, '--set', 'net.ipv4.tcp_fin_timeout=33', '--yes']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(new RegExp(`transaction ${res.tx} was not confirmed .* reverted it now`));
    expect(get(ns, KA)).toBe(before);
    expect(get(ns, 'net.ipv4.tcp_fin_timeout')).toBe('33');
    expect(txStatus(res.tx)).toBe('reverted_unconfirmed');
  }, 30_000);

  it('--persist --confirm installs a boot check after systemd-sysctl; confirm removes it', () => {
    const ns = newNetns('unit');
    mkdirSync(join(ctx.root, 'etc/sysctl.d'), { recursive: true });
    const res = applyConfirm(ns, '730', '60s', ['--persist', '--root', ctx.root]);
    const unit = join(ctx.root, 'etc/systemd/system/nettune-confirm-check.service');
    const link = join(ctx.root, 'etc/systemd/system/sysinit.target.wants/nettune-confirm-check.service');
    const text = readFileSync(unit, 'utf8');
    expect(text).toMatch(/^After=systemd-sysctl\.service/m);
    expect(text).toMatch(/^Type=oneshot$/m);
    expect(text).toMatch(new RegExp(`^Environment="NETTUNE_STATE_DIR=${ctx.state}"$`, 'm'));
    expect(text).toMatch(/^ExecStart="[^"]+node[^"]*" "[^"]+nettune\.mjs" __boot-check$/m);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(history()[0]?.boot_unit).toBe(unit);
    const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    if (v.error === undefined) {
      // verify also reports problems of unrelated units on this machine; ours must be clean
      const ours = `${v.stdout}${v.stderr}`.split('\n').filter((l) => l.includes('nettune-confirm-check'));
      expect(ours, `${v.stdout}${v.stderr}`).toEqual([]);
    }
    const c = nettune(['confirm', '--netns', ns]);
    expect(c.code, c.stderr).toBe(0);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(link)).toBe(false);
    expect(txStatus(res.tx)).toBe('confirmed');
  });

  it('reboot inside the window (watchdog gone): the command the boot unit runs reverts the expired transaction and its persisted file', async () => {
    const ns = newNetns('boot');
    const before = get(ns, KA);
    mkdirSync(join(ctx.root, 'etc/sysctl.d'), { recursive: true });
    const persisted = join(ctx.root, 'etc/sysctl.d/90-nettune.conf');
    writeFileSync(persisted, 'net.ipv4.tcp_fin_timeout = 31\n');
    const res = applyConfirm(ns, '740', '1s', ['--persist', '--root', ctx.root]);
    process.kill(res.watchdog_pid, 'SIGKILL');
    const unit = join(ctx.root, 'etc/systemd/system/nettune-confirm-check.service');
    const text = readFileSync(unit, 'utf8');
    await sleep(1500);
    expect(readFileSync(persisted, 'utf8')).toMatch(/tcp_keepalive_time = 740/);
    // run exactly what ExecStart= says, with the unit's Environment=
    const words = [...(/^ExecStart=(.*)$/m.exec(text)?.[1] ?? '').matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
    const env: Record<string, string> = {};
    for (const m of text.matchAll(/^Environment="([^=]+)=(.*)"$/gm)) env[m[1] ?? ''] = m[2] ?? '';
    const [bin, ...args] = words;
    const b = spawnSync(bin ?? '', args, { encoding: 'utf8', env: { ...process.env, ...env } });
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toMatch(new RegExp(`transaction ${res.tx} was not confirmed by .*; reverted`));
    expect(get(ns, KA)).toBe(before);
    expect(readFileSync(persisted, 'utf8')).toBe('net.ipv4.tcp_fin_timeout = 31\n');
    expect(txStatus(res.tx)).toBe('reverted_unconfirmed');
    expect(existsSync(unit)).toBe(false);
  });

  it('boot check inside the window starts a watchdog that reverts at the deadline', async () => {
    const ns = newNetns('boot2');
    const before = get(ns, KA);
    mkdirSync(join(ctx.root, 'etc/sysctl.d'), { recursive: true });
    const res = applyConfirm(ns, '745', '3s', ['--persist', '--root', ctx.root]);
    process.kill(res.watchdog_pid, 'SIGKILL');
    const b = nettune(['__boot-check']);
    expect(b.code, b.stderr).toBe(0);
    const pid = Number(/watchdog pid (\d+)/.exec(b.stderr)?.[1]);
    expect(pid).toBeGreaterThan(0);
    watchdogs.push(pid);
    expect(get(ns, KA)).toBe('745');
    expect(await until(() => get(ns, KA) === before, 10_000)).toBe(true);
    expect(await settledStatus(res.tx)).toBe('reverted_unconfirmed');
    expect(existsSync(join(ctx.root, 'etc/systemd/system/nettune-confirm-check.service'))).toBe(false);
  });

  it('rollback picks the newest transaction of the given (or current) namespace, shows it, and asks unless --yes', () => {
    const a = newNetns('pa');
    const b = newNetns('pb');
    const beforeA = get(a, KA);
    expect(nettune(['apply', '--netns', a, '--set', `${KA}=750`, '--yes']).code).toBe(0);
    expect(nettune(['apply', '--netns', b, '--set', `${KA}=751`, '--yes']).code).toBe(0);
    const none = nettune(['rollback', '--yes']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(new RegExp(`no applied transaction in the current namespace\\n.*the newest one is 2, in netns ${b}: give its id or --netns ${b}`));
    const noTty = nettune(['rollback', '--netns', b]);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/stdin is not a terminal: give --yes/);
    expect(get(b, KA)).toBe('751');
    expect(nettune(['rollback', '--netns', '', '--yes']).code).toBe(2);
    const wrong = nettune(['rollback', '2', '--netns', a, '--yes']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(new RegExp(`transaction 2 was applied in netns ${b}, not in netns ${a}`));
    const r = nettune(['rollback', '--netns', a, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tx: 1, status: 'rolled_back', netns: a, restored: 1, steps: [{ target: KA, now: '750', restore: beforeA }] });
    expect(get(a, KA)).toBe(beforeA);
    expect(get(b, KA)).toBe('751');
    const c = nettune(['confirm', '--netns', a, '--json']);
    expect(c.code).toBe(2);
    expect(JSON.parse(c.stdout)).toMatchObject({ error: { exit_code: 2 } });
  });

  it('a killed rollback is reported, blocks other rollbacks and applies, and recover resumes it', async () => {
    const ns = newNetns('rbk');
    const keys = [KA, 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_probes'];
    const before = keys.map((k) => get(ns, k));
    expect(nettune(['apply', '--netns', ns, '--set', `${KA}=760`, '--set', 'net.ipv4.tcp_fin_timeout=26', '--set', 'net.ipv4.tcp_keepalive_probes=6', '--yes']).code).toBe(0);
    expect(nettune(['apply', '--netns', ns, '--set', 'net.ipv4.tcp_sack=0', '--yes']).code).toBe(0);
    const p = start(['rollback', '1', '--netns', ns, '--yes'], { NETTUNE_FAULT: 'rollback-step@1=kill' });
    expect((await p.done).signal).toBe('SIGKILL');
    expect(get(ns, 'net.ipv4.tcp_keepalive_probes')).toBe(before[2]); // newest step restored first
    expect(get(ns, KA)).toBe('760');
    expect(txStatus(1)).toBe('rolling_back');
    expect(nettune(['history']).stderr).toMatch(/transaction 1 .* was left half-rolled-back.*run `nettune recover`/);
    const other = nettune(['rollback', '2', '--netns', ns, '--yes']);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/transaction 1 was left half-done .*\n.*nettune recover/);
    expect(nettune(['apply', '--netns', ns, '--set', 'net.ipv4.tcp_sack=1', '--yes']).code).toBe(3);
    const rec = nettune(['recover', '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toMatchObject({ transactions: [{ tx: 1, was: 'rolling_back', status: 'rolled_back', restored: 2 }] });
    expect(keys.map((k) => get(ns, k))).toEqual(before);
    expect(get(ns, 'net.ipv4.tcp_sack')).toBe('0'); // transaction 2 untouched
    expect(nettune(['rollback', '--netns', ns, '--yes']).code).toBe(0);
    expect(get(ns, 'net.ipv4.tcp_sack')).toBe('1');
  });

  it('stale locks: a dead pid or a reused pid (other start time) is taken over; a live holder is not', () => {
    const ns = newNetns('lock');
    const lock = join(ctx.state, 'lock');
    const sleeper = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }); // a pid that has exited
    const deadPid = Number(sleeper.stdout.trim());
    writeFileSync(lock, JSON.stringify({ pid: deadPid, command: 'apply x', since: '2026-01-01T00:00:00.000Z', tx: null }));
    expect(nettune(['apply', '--netns', ns, '--set', `${KA}=770`, '--yes']).code).toBe(0);
    // pid 1 is alive but is not the process that wrote the lock (start time differs)
    writeFileSync(lock, JSON.stringify({ pid: 1, command: 'apply y', since: '2026-01-01T00:00:00.000Z', tx: null, start: '999999999' }));
    expect(nettune(['apply', '--netns', ns, '--set', `${KA}=771`, '--yes']).code).toBe(0);
    // a reused pid whose lock names a transaction: refused until recover
    writeFileSync(lock, JSON.stringify({ pid: 1, command: 'apply z', since: '2026-01-01T00:00:00.000Z', tx: 2, start: '999999999' }));
    const r = nettune(['apply', '--netns', ns, '--set', `${KA}=772`, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/died while holding the lock/);
    // pid 1 with its real start time: a live holder
    const stat = readFileSync('/proc/1/stat', 'utf8');
    const start1 = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(lock, JSON.stringify({ pid: 1, command: 'apply w', since: '2026-01-01T00:00:00.000Z', tx: null, start: start1 }));
    const live = nettune(['apply', '--netns', ns, '--set', `${KA}=773`, '--yes']);
    expect(live.code).toBe(3);
    expect(live.stderr).toMatch(/another nettune holds the lock: pid 1/);
    expect(get(ns, KA)).toBe('771');
  });

  it('a rollback_failed transaction that is in fact consistent is cleared by recover --recheck', () => {
    const ns = newNetns('rchk');
    const before = get(ns, KA);
    expect(nettune(['apply', '--netns', ns, '--set', `${KA}=780`, '--yes']).code).toBe(0);
    // the value is restored, then the step is recorded as failed (an error after the write)
    const rb = nettune(['rollback', '--netns', ns, '--yes'], { NETTUNE_FAULT: 'rollback-step=error' });
    expect(rb.code).toBe(5);
    expect(rb.stderr).toMatch(/recover --recheck 1/);
    expect(get(ns, KA)).toBe(before);
    expect(txStatus(1)).toBe('rollback_failed');
    expect(nettune(['recover', '--recheck']).code).toBe(2);
    const r = nettune(['recover', '1', '--recheck', '--netns', ns, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tx: 1, status: 'rolled_back' });
    expect(txStatus(1)).toBe('rolled_back');
  });
});
