// The mptcp kind through the one transaction, for real (root, throw-away namespaces): endpoints
// added, changed in place (ip mptcp endpoint change), replaced (delete + add) and limits set; a
// fault after each mptcp write rolls every one of them back to exactly what `ip -j mptcp` showed
// before; a kill mid-way is settled by recover; --confirm's watchdog reverts; --persist writes
// nettune-mptcp.service (systemd-analyze verify) whose commands re-create the state.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseExec } from '../../src/apply/systemd-exec.js';
import { ctx, deleteNamespaces, freshDirs, history, isRoot, killWatchdogs, newNetns, nettune, start, until, watchdogs } from './state-helpers.js';

const ip = (ns: string, ...args: string[]): string => {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** What the kernel holds: each endpoint as `ip -j` prints it (sorted: the kernel lists them in
 *  creation order, and a re-created endpoint moves) and the limits text. */
const mptcpState = (ns: string): string => {
  const rows = (JSON.parse(ip(ns, '-j', 'mptcp', 'endpoint', 'show')) as unknown[]).map((r) => JSON.stringify(r)).sort();
  return `${rows.join(',')} | ${ip(ns, 'mptcp', 'limits', 'show').trim()}`;
};

function setUp(role: string): { ns: string; before: string } {
  freshDirs();
  const ns = newNetns(`mp${role}`);
  ip(ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth2');
  ip(ns, 'link', 'set', 'eth1', 'up');
  ip(ns, 'addr', 'add', '198.18.5.1/24', 'dev', 'eth1');
  // endpoints only on addresses the namespace has (others are refused without --force)
  for (const a of ['198.18.5.8', '198.18.5.9']) ip(ns, 'addr', 'add', `${a}/24`, 'dev', 'eth1');
  ip(ns, 'mptcp', 'endpoint', 'add', '198.18.5.9', 'id', '5', 'signal', 'dev', 'eth1');
  ip(ns, 'mptcp', 'endpoint', 'add', '198.18.5.8', 'id', '4', 'subflow');
  return { ns, before: mptcpState(ns) };
}

/** Four mptcp writes: a new endpoint, a flag changed in place, an endpoint re-created, the limits. */
const SETS = ['mptcp:endpoint=198.18.5.1,dev=eth1,flags=subflow', 'mptcp:endpoint=198.18.5.9,dev=eth1,id=5,flags=signal+backup', 'mptcp:endpoint=198.18.5.8,dev=eth1,subflow', 'mptcp:limits=subflows=3,add_addr_accepted=2'];
const applyArgs = (ns: string, extra: string[] = []): string[] => ['apply', '--netns', ns, ...SETS.flatMap((s) => ['--set', s]), '--yes', ...extra];
const AFTER = [
  '{"address":"198.18.5.9","id":5,"signal":true,"backup":true,"dev":"eth1"}',
  '{"address":"198.18.5.1","id":1,"subflow":true,"dev":"eth1"}',
  '{"address":"198.18.5.8","id":4,"subflow":true,"dev":"eth1"}',
];

describe.skipIf(!isRoot)('mptcp endpoints and limits in the transaction (root, namespaces)', () => {
  afterEach(killWatchdogs);
  afterAll(deleteNamespaces);

  it('applies all four, reads them back, and rollback restores exactly what ip -j showed', () => {
    const { ns, before } = setUp('ok');
    const r = nettune([...applyArgs(ns), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { steps: { target: string; after: string | null; adjusted: boolean }[] };
    expect(res.steps.map((s) => [s.target, s.after, s.adjusted])).toEqual([
      ['mptcp endpoint 198.18.5.1', 'id 1 subflow dev eth1', false],
      ['mptcp endpoint 198.18.5.9', 'id 5 signal backup dev eth1', false],
      ['mptcp endpoint 198.18.5.8', 'id 4 subflow dev eth1', false],
      ['mptcp limits', 'subflows 3 add_addr_accepted 2', false],
    ]);
    const now = mptcpState(ns);
    for (const e of AFTER) expect(now).toContain(e);
    expect(now).toContain('add_addr_accepted 2 subflows 3');
    const rb = nettune(['rollback', '--netns', ns, '--yes']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(mptcpState(ns)).toBe(before);
  });

  for (const n of [1, 2, 3, 4])
    it(`a fault after mptcp write ${n} of 4: exit 4 and every endpoint and the limits are as before`, () => {
      const { ns, before } = setUp(`f${n}`);
      const r = nettune(applyArgs(ns), { NETTUNE_FAULT: `after-write@${n}=error` });
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/injected fault at after-write/);
      expect(mptcpState(ns)).toBe(before);
      expect(history()[0]?.status).toBe('failed_rolled_back');
    });

  it('killed after the third write: recover restores the state before', async () => {
    const { ns, before } = setUp('kill');
    const p = start(applyArgs(ns), { NETTUNE_FAULT: 'after-write@3=kill' });
    expect((await p.done).signal).toBe('SIGKILL');
    expect(mptcpState(ns)).not.toBe(before);
    const rec = nettune(['recover', '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(mptcpState(ns)).toBe(before);
    expect(history().filter((t) => ['pending', 'rolling_back'].includes(t.status))).toEqual([]);
  });

  it('--confirm: the watchdog reverts endpoints and limits when nobody confirms', async () => {
    const { ns, before } = setUp('cf');
    const r = nettune(applyArgs(ns, ['--confirm', '1s', '--json']));
    expect(r.code, r.stderr).toBe(0);
    const { tx, watchdog_pid } = JSON.parse(r.stdout) as { tx: number; watchdog_pid: number };
    watchdogs.push(watchdog_pid);
    expect(mptcpState(ns)).not.toBe(before);
    expect(await until(() => history().find((t) => t.id === tx)?.status === 'reverted_unconfirmed', 15_000)).toBe(true);
    expect(mptcpState(ns)).toBe(before);
  }, 30_000);

  it('--persist writes nettune-mptcp.service (systemd-analyze verify); its commands re-create the state; rollback removes it', () => {
    const { ns, before } = setUp('ps');
    mkdirSync(join(ctx.root, 'etc/sysctl.d'), { recursive: true });
    const r = nettune(applyArgs(ns, ['--persist', '--root', ctx.root, '--json']));
    expect(r.code, r.stderr).toBe(0);
    const unitPath = join(ctx.root, 'etc/systemd/system/nettune-mptcp.service');
    expect((JSON.parse(r.stdout) as { persisted: string[] }).persisted).toContain(unitPath);
    const unit = readFileSync(unitPath, 'utf8');
    const execs = unit.split('\n').filter((l) => l.startsWith('ExecStart=')).map((l) => parseExec(l.slice('ExecStart='.length)));
    expect(execs.flatMap((e) => [...e.errors, ...e.notLiteral])).toEqual([]);
    expect(execs.map((e) => e.argv.join(' '))).toEqual([
      `/usr/sbin/ip -n ${ns} mptcp limits set subflows 3 add_addr_accepted 2`,
      `/usr/sbin/ip -n ${ns} mptcp endpoint add 198.18.5.1 id 1 subflow dev eth1`,
      `/usr/sbin/ip -n ${ns} mptcp endpoint add 198.18.5.9 id 5 signal backup dev eth1`,
      `/usr/sbin/ip -n ${ns} mptcp endpoint add 198.18.5.8 id 4 subflow dev eth1`,
    ]);
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', unitPath], { encoding: 'utf8' });
    if (!verify.error) expect(verify.status, `${verify.stdout}${verify.stderr}`).toBe(0);
    const after = mptcpState(ns);
    // a reboot loses the kernel's endpoints: flush them, run the unit's commands as systemd would
    expect(nettune(['rollback', '--netns', ns, '--yes']).code).toBe(0);
    expect(existsSync(unitPath)).toBe(false);
    ip(ns, 'mptcp', 'endpoint', 'flush');
    for (const e of execs) {
      const [file, ...args] = e.argv;
      const run = spawnSync(file ?? '', args, { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
    }
    const rebuilt = mptcpState(ns);
    for (const e of AFTER) expect(rebuilt).toContain(e);
    expect(rebuilt.split(' | ')[1]).toBe(after.split(' | ')[1]);
    expect(before).not.toBe(rebuilt);
  });

  it('an endpoint as a plan change "absent" (--set and a plan file): deleted, journaled, rollback re-adds exactly it (id, flags, dev); --persist drops its line', () => {
    const { ns, before } = setUp('ab');
    mkdirSync(join(ctx.root, 'etc/sysctl.d'), { recursive: true });
    const unitPath = join(ctx.root, 'etc/systemd/system/nettune-mptcp.service');
    // persisted first, so the removal has a line to drop
    const p0 = nettune(['apply', '--netns', ns, '--set', 'mptcp:endpoint=198.18.5.9,dev=eth1,id=5,flags=signal+backup', '--persist', '--root', ctx.root, '--yes', '--json']);
    expect(p0.code, p0.stderr).toBe(0);
    expect(readFileSync(unitPath, 'utf8')).toMatch(/endpoint add 198\.18\.5\.9 id 5 signal backup dev eth1/);
    const r = nettune(['apply', '--netns', ns, '--set', 'mptcp:endpoint=198.18.5.9,absent', '--persist', '--root', ctx.root, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { tx: number; steps: { target: string; before: string | null; wanted: string; after: string | null; adjusted: boolean }[] };
    expect(res.steps.find((x) => x.target === 'mptcp endpoint 198.18.5.9')).toEqual({ target: 'mptcp endpoint 198.18.5.9', before: 'id 5 signal backup dev eth1', wanted: 'absent', after: null, adjusted: false });
    expect(ip(ns, 'mptcp', 'endpoint', 'show')).not.toMatch(/198\.18\.5\.9 /);
    expect(existsSync(unitPath)).toBe(false); // its only line: a unit without ExecStart= is invalid, so the file goes
    // again: nothing to remove
    const again = nettune(['apply', '--netns', ns, '--set', 'mptcp:endpoint=198.18.5.9,absent', '--yes', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ changes: [], skipped: [{ reason: 'already absent' }] });
    expect(nettune(['rollback', String(res.tx), '--yes']).code).toBe(0);
    expect(ip(ns, 'mptcp', 'endpoint', 'show')).toMatch(/198\.18\.5\.9 id 5 signal backup dev eth1/);
    expect(readFileSync(unitPath, 'utf8')).toMatch(/endpoint add 198\.18\.5\.9 id 5 signal backup dev eth1/);
    // a plan file saying absent (as plan --out writes it), with an injected fault: exit 4, the endpoint back
    const plan = join(ctx.root, 'absent-plan.json');
    const made = nettune(['plan', '--netns', ns, '--workload', 'latency', '--out', plan, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(plan, 'utf8')) as { changes: unknown[] };
    doc.changes = [{ kind: 'mptcp', object: 'endpoint', address: '198.18.5.8', from: 'id 4 subflow', to: 'absent', reason: 'the A arm has no second path', source: 'test' }];
    writeFileSync(plan, JSON.stringify(doc));
    const f = nettune(['apply', plan, '--netns', ns, '--yes'], { NETTUNE_FAULT: 'after-write@1=error' });
    expect(f.code, f.stderr).toBe(4);
    expect(ip(ns, 'mptcp', 'endpoint', 'show')).toMatch(/198\.18\.5\.8 id 4 subflow/);
    const ok = nettune(['apply', plan, '--netns', ns, '--yes']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ip(ns, 'mptcp', 'endpoint', 'show')).not.toMatch(/198\.18\.5\.8 /);
    for (const t of history().filter((x) => x.status === 'applied')) expect(nettune(['rollback', String(t.id), '--yes']).code).toBe(0);
    expect(mptcpState(ns)).toBe(before);
  });
});

