// Hostile-user findings on the plan-change kinds beyond sysctl that need a real namespace (root):
// each case applies something a user could type, then checks with the real tools that the
// namespace holds what nettune says and that rollback restores it exactly
// (/work/wt/reports/hostile-findings.md, session 19).
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE } from '../helpers.js';
import { ctx, deleteNamespaces, freshDirs, history, isRoot, newNetns, nettune, until } from './state-helpers.js';

const ip = (ns: string, ...args: string[]): string => {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** A namespace with a veth pair p0/p1 on 198.18.9.0/30 and 198.18.9.4/30. */
function twoPaths(role: string): string {
  const ns = newNetns(role);
  ip(ns, 'link', 'set', 'lo', 'up');
  ip(ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
  ip(ns, 'addr', 'add', '198.18.9.2/30', 'dev', 'p0');
  ip(ns, 'addr', 'add', '198.18.9.6/30', 'dev', 'p1');
  ip(ns, 'link', 'set', 'p0', 'up');
  ip(ns, 'link', 'set', 'p1', 'up');
  return ns;
}

const table = (ns: string, id: number): string => ip(ns, '-j', '-4', 'route', 'show', 'table', String(id));

interface Applied {
  tx: number;
  steps: { target: string; before: string | null; after: string | null; adjusted: boolean }[];
}

describe.skipIf(!isRoot)('hostile: kinds beyond sysctl in a namespace (root)', () => {
  beforeEach(freshDirs);
  afterAll(deleteNamespaces);

  it('a route with a metric (a DHCP-style default route) is read as it is: journaled before-value, rollback restores it exactly', () => {
    const ns = twoPaths('metric');
    ip(ns, 'route', 'add', 'default', 'via', '198.18.9.1', 'dev', 'p0', 'table', '100', 'metric', '100');
    const before = table(ns, 100);
    const r = nettune(['apply', '--set', 'route:100:default=via 198.18.9.5 dev p1 metric 100', '--netns', ns, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as Applied;
    expect(res.steps).toEqual([{ target: 'route table 100 default metric 100', before: 'via 198.18.9.1 dev p0 proto boot scope global', wanted: 'via 198.18.9.5 dev p1 proto boot scope global', after: 'via 198.18.9.5 dev p1 proto boot scope global', adjusted: false }]);
    expect(r.stderr).not.toMatch(/the kernel holds/);
    const back = nettune(['rollback', String(res.tx), '--yes']);
    expect(back.code, back.stderr).toBe(0);
    expect(table(ns, 100)).toBe(before);

    // a new route with a metric: rollback removes it again
    const n = nettune(['apply', '--set', 'route:100:198.18.50.0/24=via 198.18.9.1 dev p0 metric 5', '--netns', ns, '--yes', '--json']);
    expect(n.code, n.stderr).toBe(0);
    expect((JSON.parse(n.stdout) as Applied).steps[0]).toMatchObject({ before: null, adjusted: false });
    expect(table(ns, 100)).toContain('198.18.50.0/24');
    expect(nettune(['rollback', String((JSON.parse(n.stdout) as Applied).tx), '--yes']).code).toBe(0);
    expect(table(ns, 100)).toBe(before);
  });

  it('Ctrl-C in the middle of an apply of several kinds restores everything written (exit 4, one JSON document, no lock left)', async () => {
    const ns = twoPaths('sigint');
    const state = (): string =>
      [ip(ns, '-j', 'mptcp', 'endpoint', 'show'), ip(ns, 'mptcp', 'limits', 'show'), ip(ns, '-4', '-j', 'route', 'show', 'table', 'all'), ip(ns, '-4', '-j', 'rule'), spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_time'], { encoding: 'utf8' }).stdout].join('\n');
    // IPv4 only: the veths' IPv6 link-local addresses (and their local routes) appear by themselves
    const before = state();
    const sets = ['net.ipv4.tcp_fin_timeout=23', 'mptcp:endpoint=198.18.9.6,dev=p1,flags=subflow', 'route:100:default=via 198.18.9.1 dev p0', 'rule:1000=from 198.18.9.2 lookup 100', 'net.ipv4.tcp_keepalive_time=811'];
    const child = spawn(process.execPath, [BUNDLE, 'apply', ...sets.flatMap((x) => ['--set', x]), '--netns', ns, '--yes', '--json'], {
      env: { ...process.env, NETTUNE_NO_INSTALL: '1', NETTUNE_STATE_DIR: ctx.state, NETTUNE_STEP_DELAY_MS: '700' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    // interrupt once the MPTCP endpoint (the second write) is there: two kinds written, three to go
    expect(await until(() => ip(ns, 'mptcp', 'endpoint', 'show').includes('198.18.9.6'), 20_000), 'the second write happened').toBe(true);
    child.kill('SIGINT');
    const code = await done;
    expect(code, err).toBe(4);
    const doc = JSON.parse(out) as { error: { message: string; exit_code: number } };
    expect(doc.error.exit_code).toBe(4);
    expect(doc.error.message).toMatch(/interrupted by SIGINT/);
    expect(err).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(state()).toBe(before);
    expect(history()[0]?.status).toBe('failed_rolled_back');
    // the lock was released: the next command neither warns nor needs recover
    const next = nettune(['apply', '--set', 'net.ipv4.tcp_fin_timeout=24', '--netns', ns, '--yes', '--json']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toMatch(/half-applied|recover/);
  });

  it('a transaction whose namespace was deleted: rollback and recover --recheck say why (exit 5, never 70, never left rolling_back); confirm says it had no deadline', () => {
    const ns = twoPaths('gone');
    const r = nettune(['apply', '--set', 'net.ipv4.tcp_fin_timeout=33', '--set', 'mptcp:endpoint=198.18.9.6,dev=p1,flags=subflow', '--netns', ns, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const tx = String((JSON.parse(r.stdout) as Applied).tx);
    expect(spawnSync('ip', ['netns', 'del', ns]).status).toBe(0);
    const back = nettune(['rollback', tx, '--yes', '--json']);
    expect(back.code, back.stderr).toBe(5);
    expect(history()[0]?.status).toBe('rollback_failed');
    const recheck = nettune(['recover', '--recheck', tx, '--json']);
    expect(recheck.code, recheck.stderr).toBe(5);
    expect((JSON.parse(recheck.stdout) as { error: { message: string } }).error.message).toMatch(/still inconsistent.*Cannot open network namespace/);
    expect(history()[0]?.status).toBe('rollback_failed');
    const later = nettune(['history', '--json']);
    expect(later.stderr).not.toMatch(/half-rolled-back/);
    const confirm = nettune(['confirm', tx, '--json']);
    expect(confirm.code, confirm.stderr).toBe(2);
    expect((JSON.parse(confirm.stdout) as { error: { message: string } }).error.message).toBe(`transaction ${tx} is rollback_failed, not awaiting confirmation (it was applied without --confirm)`);
  });
});
