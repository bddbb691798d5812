// export --format shell: a POSIX sh script (checked with sh -n, run with Debian's dash). As root it
// runs for real inside a throw-away namespace of this test's own against namespaced keys and a
// veth of its own: twice (the second run changes nothing), --check changes nothing, and the
// --revert script made from a real `nettune apply --netns` transaction restores its before-values.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docFromPlan } from '../../src/export/source.js';
import { renderShell } from '../../src/export/shell.js';
import { planSchema } from '../../src/plan/schema.js';
import { FIXTURES, runCli } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const tmp = mkdtempSync(join(tmpdir(), 'nettune-export-shell-'));
const state = join(tmp, 'state');
const nettune = (...args: string[]) => runCli(args, { NETTUNE_STATE_DIR: state });
const PLAN = join(FIXTURES, 'export', 'plan.json');

const shN = (file: string): { code: number | null; err: string } => {
  const r = spawnSync('sh', ['-n', file], { encoding: 'utf8' });
  return { code: r.status, err: r.stderr };
};

describe('export --format shell', () => {
  it('is valid POSIX sh, executable with --out, and says it is not persistent', () => {
    const out = join(tmp, 'plan.sh');
    const r = nettune('export', PLAN, '--format', 'shell', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(shN(out)).toEqual({ code: 0, err: '' });
    expect(statSync(out).mode & 0o777).toBe(0o755);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^#!\/bin\/sh\n/);
    expect(text).toMatch(/^set -eu$/m);
    expect(text).toMatch(/^nt_sysctl 'net\.ipv4\.tcp_wmem' '4096 16384 33554432'$/m);
    expect(text).toMatch(/^nt_set 'ethtool eth0 rings rx' "\$\(nt_current_get 'eth0' -g 'RX'\)" '1024' ethtool -G 'eth0' 'rx' '1024'$/m);
  });

  it('a device name with quotes and semicolons stays one literal argument', () => {
    const plan = planSchema.parse(JSON.parse(readFileSync(PLAN, 'utf8')));
    plan.changes = [{ kind: 'ethtool', device: "x';id;'", group: 'features', setting: 'gro', from: 'off', to: 'on', reason: "it's $(id) `id`", source: 's' }];
    const script = renderShell(docFromPlan(plan, 'p.json'), { revert: false, name: 'n', include: null }).files[0]?.content ?? '';
    expect(script).toContain(`ethtool -K 'x'\\'';id;'\\''' 'gro' 'on'`);
    const file = join(tmp, 'quoted.sh');
    writeFileSync(file, script);
    expect(shN(file).code).toBe(0);
  });

  it('--revert needs a transaction', () => {
    const r = nettune('export', PLAN, '--format', 'shell', '--revert');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--revert needs a transaction \(tx:ID\)/);
  });
});

describe.skipIf(!isRoot)('the shell script, run in a throw-away namespace (root)', () => {
  const NS = `nt-h7${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}-sh`;
  const ns = (...args: string[]): string => spawnSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' }).stdout.trim().replace(/\s+/g, ' ');
  const runIn = (file: string, ...args: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync('ip', ['netns', 'exec', NS, 'sh', file, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const values = (): string[] => [
    ns('sysctl', '-n', 'net.ipv4.tcp_slow_start_after_idle'),
    ns('sysctl', '-n', 'net.ipv4.tcp_wmem'),
    /generic-receive-offload: (\w+)/.exec(ns('ethtool', '-k', 'h7v0'))?.[1] ?? '?',
    ns('cat', '/sys/class/net/h7v0/queues/rx-0/rps_cpus'),
  ];

  beforeAll(() => {
    expect(spawnSync('ip', ['netns', 'add', NS]).status).toBe(0);
    expect(spawnSync('ip', ['-n', NS, 'link', 'add', 'h7v0', 'type', 'veth', 'peer', 'name', 'h7v1']).status).toBe(0);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('apply script: the first run changes, the second changes nothing; --revert restores the transaction’s before-values', () => {
    const before = values();
    const a = nettune('apply', '--netns', NS, '--yes', '--set', 'net.ipv4.tcp_slow_start_after_idle=0', '--set', 'net.ipv4.tcp_wmem=4096 16384 8388608', '--set', 'ethtool:h7v0:features:gro=on', '--set', 'sysfs:/sys/class/net/h7v0/queues/rx-0/rps_cpus=1', '--json');
    expect(a.code, a.stderr).toBe(0);
    const tx = (JSON.parse(a.stdout) as { tx: number }).tx;
    const applied = values();
    expect(applied).toEqual(['0', '4096 16384 8388608', 'on', '1']);

    const revert = join(tmp, 'revert.sh');
    expect(nettune('export', `tx:${tx}`, '--format', 'shell', '--revert', '--out', revert).code).toBe(0);
    expect(shN(revert).code).toBe(0);
    const check = runIn(revert, '--check');
    expect(check.code, check.err).toBe(0);
    expect(check.out).toMatch(/would change net\.ipv4\.tcp_slow_start_after_idle: 0 -> 1/);
    expect(values()).toEqual(applied);
    const r1 = runIn(revert);
    expect(r1.code, r1.err).toBe(0);
    expect(r1.out).toMatch(/^nettune: 4 changed, 0 already set$/m);
    expect(values()).toEqual(before);
    expect(runIn(revert).out).toMatch(/^nettune: 0 changed, 4 already set$/m);

    const apply = join(tmp, 'apply.sh');
    expect(nettune('export', `tx:${tx}`, '--format', 'shell', '--out', apply).code).toBe(0);
    const first = runIn(apply);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^changed ethtool h7v0 features gro: off -> on$/m);
    expect(first.out).toMatch(/^nettune: 4 changed, 0 already set$/m);
    expect(values()).toEqual(applied);
    const second = runIn(apply);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toBe('nettune: 0 changed, 4 already set\n');
    process.stderr.write(`shell export in ${NS}: revert ${r1.out.trim().split('\n').pop() ?? ''}; apply first: ${first.out.trim().split('\n').pop() ?? ''}; second: ${second.out.trim()}\n`);
  });
});

// Routes, rules and MPTCP endpoints: a revert restores the "before" state whatever the host holds
// now (a route the transaction added and that is already gone is left gone, not an error; an
// endpoint the transaction created is removed), and the apply script is idempotent for them too.
describe.skipIf(!isRoot)('routes, rules and MPTCP endpoints in the shell script (root)', () => {
  const NS = `nt-h8${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}-sh`;
  const ns = (...args: string[]): string => spawnSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' }).stdout.trim().replace(/\s+/g, ' ');
  const ipn = (...args: string[]): number | null => spawnSync('ip', ['-n', NS, ...args]).status;
  const runIn = (file: string, ...args: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync('ip', ['netns', 'exec', NS, 'sh', file, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  /** The state the changes touch, read with the kernel's own tools. */
  const state = (): { t100: string; t101: string; rules: string; endpoints: string; limits: string } => ({
    t100: ns('ip', '-4', 'route', 'show', 'table', '100'),
    t101: ns('ip', '-4', 'route', 'show', 'table', '101'),
    rules: ns('ip', '-4', 'rule', 'show', 'priority', '1000'),
    endpoints: ns('ip', 'mptcp', 'endpoint', 'show'),
    limits: ns('ip', 'mptcp', 'limits', 'show'),
  });

  beforeAll(() => {
    expect(spawnSync('ip', ['netns', 'add', NS]).status).toBe(0);
    expect(ipn('link', 'add', 'h8v0', 'type', 'veth', 'peer', 'name', 'h8v1')).toBe(0);
    expect(ipn('addr', 'add', '198.18.8.1/24', 'dev', 'h8v0')).toBe(0);
    expect(ipn('addr', 'add', '198.18.9.1/24', 'dev', 'h8v1')).toBe(0);
    for (const d of ['h8v0', 'h8v1']) expect(ipn('link', 'set', d, 'up')).toBe(0);
    // table 101 has a default route before the transaction (replaced by it, restored by the revert)
    expect(ipn('route', 'add', 'default', 'via', '198.18.8.2', 'dev', 'h8v0', 'table', '101', 'proto', 'static')).toBe(0);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('--revert deletes what the transaction created (a route already gone too), restores what it replaced; apply twice changes once', () => {
    const before = state();
    expect(before.endpoints).toBe('');
    const a = nettune(
      'apply', '--netns', NS, '--yes', '--json',
      '--set', 'route:100:default=via 198.18.9.2 dev h8v1 proto static',
      '--set', 'route:101:default=via 198.18.8.3 dev h8v0 proto static',
      '--set', 'rule:1000=from 198.18.9.1 lookup 100',
      '--set', 'mptcp:endpoint=198.18.9.1,dev=h8v1,flags=subflow',
      '--set', 'mptcp:limits=subflows=3,add_addr_accepted=1',
    );
    expect(a.code, a.stderr).toBe(0);
    const tx = (JSON.parse(a.stdout) as { tx: number }).tx;
    const applied = state();
    expect(applied.t100).toBe('default via 198.18.9.2 dev h8v1 proto static');
    expect(applied.t101).toBe('default via 198.18.8.3 dev h8v0 proto static');
    expect(applied.rules).toBe('1000: from 198.18.9.1 lookup 100');
    expect(applied.endpoints).toMatch(/^198\.18\.9\.1 id \d+ subflow dev h8v1$/);
    expect(applied.limits).toBe('add_addr_accepted 1 subflows 3');

    const revert = join(tmp, 'revert-routes.sh');
    const e = nettune('export', `tx:${tx}`, '--format', 'shell', '--revert', '--out', revert);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).not.toMatch(/leaves it/);
    expect(shN(revert).code).toBe(0);
    const check = runIn(revert, '--check');
    expect(check.code, check.err).toBe(0);
    expect(check.out).toMatch(/^would delete route table 100 default$/m);
    expect(check.out).toMatch(/^would change mptcp endpoint 198\.18\.9\.1: id \d+ subflow dev h8v1 -> \(absent\)$/m);
    expect(state()).toEqual(applied);

    // the route the transaction added is already gone (deleted by hand, a reboot, networkd …)
    expect(ipn('route', 'del', 'default', 'table', '100')).toBe(0);
    const r1 = runIn(revert);
    expect(r1.code, `${r1.out}\n${r1.err}`).toBe(0);
    expect(r1.out).toMatch(/^nettune: 4 changed, 1 already set$/m);
    expect(state()).toEqual(before);
    const r2 = runIn(revert);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out).toMatch(/^nettune: 0 changed, 5 already set$/m);

    const apply = join(tmp, 'apply-routes.sh');
    expect(nettune('export', `tx:${tx}`, '--format', 'shell', '--out', apply).code).toBe(0);
    const first = runIn(apply);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^nettune: 5 changed, 0 already set$/m);
    const again = state();
    expect({ ...again, endpoints: '' }).toEqual({ ...applied, endpoints: '' });
    expect(again.endpoints).toMatch(/^198\.18\.9\.1 id \d+ subflow dev h8v1$/);
    const second = runIn(apply);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toBe('nettune: 0 changed, 5 already set\n');
    // and the revert of the state the script made, once more from whatever is there
    expect(runIn(revert).out).toMatch(/^nettune: 5 changed, 0 already set$/m);
    expect(state()).toEqual(before);
    process.stderr.write(`shell routes in ${NS}: revert with the route gone: ${r1.out.trim().split('\n').pop() ?? ''}; again: ${r2.out.trim()}; apply: ${first.out.trim().split('\n').pop() ?? ''}; second: ${second.out.trim()}\n`);
  });

  it('a transaction that removed an MPTCP endpoint: the script removes it (if there), --revert re-adds exactly the journaled one', () => {
    expect(ipn('mptcp', 'endpoint', 'add', '198.18.8.1', 'id', '5', 'signal', 'dev', 'h8v0')).toBe(0);
    const a = nettune('apply', '--netns', NS, '--yes', '--json', '--set', 'mptcp:endpoint=198.18.8.1,absent');
    expect(a.code, a.stderr).toBe(0);
    const tx = (JSON.parse(a.stdout) as { tx: number }).tx;
    expect(ns('ip', 'mptcp', 'endpoint', 'show')).toBe('');
    const revert = join(tmp, 'revert-endpoint.sh');
    const apply = join(tmp, 'apply-endpoint.sh');
    expect(nettune('export', `tx:${tx}`, '--format', 'shell', '--revert', '--out', revert).code).toBe(0);
    const e = nettune('export', `tx:${tx}`, '--format', 'shell', '--out', apply);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).not.toMatch(/left out/);
    const r = runIn(revert);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^nettune: 1 changed, 0 already set$/m);
    expect(ns('ip', 'mptcp', 'endpoint', 'show')).toBe('198.18.8.1 id 5 signal dev h8v0');
    const f = runIn(apply);
    expect(f.code, f.err).toBe(0);
    expect(f.out).toMatch(/^changed mptcp endpoint 198\.18\.8\.1: id 5 signal dev h8v0 -> \(absent\)$/m);
    expect(ns('ip', 'mptcp', 'endpoint', 'show')).toBe('');
    expect(runIn(apply).out).toBe('nettune: 0 changed, 1 already set\n');
  });
});
