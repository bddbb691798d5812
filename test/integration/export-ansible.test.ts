// export --format ansible: the rendered role passes Debian's ansible-lint with no violation and the
// playbook passes ansible-playbook --syntax-check; as root, the role runs for real (connection
// local) inside a network namespace this test made, with its files under a temp dir: --check
// changes nothing, the first run changes, the second reports changed=0, values read back in the
// namespace. Nothing touches the init namespace (global knobs are skipped there by the role).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, nettune, runCli } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const tmp = mkdtempSync(join(tmpdir(), 'nettune-export-ansible-'));
const PLAN = join(FIXTURES, 'export', 'plan.json');
const ansibleEnv = { ...process.env, ANSIBLE_HOME: join(tmp, 'ansible-home'), ANSIBLE_LOCAL_TEMP: join(tmp, 'ansible-tmp'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', ANSIBLE_RETRY_FILES_ENABLED: '0' };

function run(cmd: string, args: string[], cwd = tmp, timeout = 120_000): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: ansibleEnv });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('export --format ansible', () => {
  const out = join(tmp, 'role');
  beforeAll(() => {
    const r = nettune('export', PLAN, '--format', 'ansible', '--out', out);
    expect(r.code, r.stderr).toBe(0);
  });

  it('writes the role and the playbook', () => {
    for (const f of ['playbook.yml', 'tasks/main.yml', 'handlers/main.yml', 'defaults/main.yml', 'meta/main.yml', 'templates/nettune-nic.service.j2', 'README.md'])
      expect(readFileSync(join(out, f.startsWith('playbook') ? f : join('roles', 'nettune', f)), 'utf8').length).toBeGreaterThan(50);
    const tasks = readFileSync(join(out, 'roles/nettune/tasks/main.yml'), 'utf8');
    expect(tasks).toMatch(/ansible\.posix\.sysctl:\n(.*\n)*\s+sysctl_file: "\{\{ nettune_sysctl_file \}\}"/);
    expect(readFileSync(join(out, 'roles/nettune/defaults/main.yml'), 'utf8')).toMatch(/- key: "net\.core\.rmem_max"\n\s+value: "33554432"\n\s+scope: "global"/);
  });

  it('ansible-lint (Debian 6.13, production profile) reports no violation', () => {
    const r = run('ansible-lint', ['--offline', '-p', '--nocolor'], out);
    expect(r.out).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    expect(r.code, r.out).toBe(0);
  });

  it('the playbook passes ansible-playbook --syntax-check', () => {
    const r = run('ansible-playbook', ['--syntax-check', '-i', 'localhost,', 'playbook.yml'], out);
    expect(r.code, r.out).toBe(0);
  });

  it('a role name ansible-lint would refuse is exit 2; --out is required (a directory)', () => {
    expect(nettune('export', PLAN, '--format', 'ansible', '--name', 'Bad-Name', '--out', join(tmp, 'x')).code).toBe(2);
    const r = nettune('export', PLAN, '--format', 'ansible');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/writes a directory: give --out DIR/);
  });
});

describe.skipIf(!isRoot)('the exported role, run for real in a throw-away namespace (root)', () => {
  const NS = `nt-h7${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}-ans`;
  const role = join(tmp, 'netns-role');
  const files = join(tmp, 'host-files');
  const ns = (...args: string[]): string => spawnSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' }).stdout.trim().replace(/\s+/g, ' ');

  beforeAll(() => {
    expect(spawnSync('ip', ['netns', 'add', NS]).status).toBe(0);
    expect(spawnSync('ip', ['-n', NS, 'link', 'add', 'h7v0', 'type', 'veth', 'peer', 'name', 'h7v1']).status).toBe(0);
    const plan = JSON.parse(readFileSync(PLAN, 'utf8')) as { host: { netns: string | null }; changes: unknown[] };
    plan.host.netns = NS;
    plan.changes = [
      { kind: 'sysctl', key: 'net.ipv4.tcp_slow_start_after_idle', from: '1', to: '0', reason: 'idle restarts', source: 'rule:tcp.slow-start-after-idle' },
      { kind: 'sysctl', key: 'net.ipv4.tcp_wmem', from: '4096 16384 4194304', to: '4096 16384 33554432', reason: 'BDP', source: 'intent:buffers' },
      { kind: 'sysctl', key: 'net.core.netdev_max_backlog', from: '1000', to: '4000', reason: 'global: skipped in a child namespace', source: 'intent:backlog' },
      { kind: 'ethtool', device: 'h7v0', group: 'features', setting: 'gro', from: 'off', to: 'on', reason: 'GRO {{ 7 * 7 }}', source: 'rule:nic.gro-off' },
      { kind: 'ethtool', device: 'h7v0', group: 'channels', setting: 'rx', from: '1', to: '2', reason: 'two queues', source: 'rule:nic.single-queue' },
      { kind: 'sysfs', path: '/sys/class/net/h7v0/queues/rx-0/rps_cpus', from: '0', to: '1', reason: 'RPS', source: 'rule:queues.rps-off' },
    ];
    const file = join(tmp, 'netns-plan.json');
    writeFileSync(file, JSON.stringify(plan));
    expect(nettune('export', file, '--format', 'ansible', '--out', role).code).toBe(0);
    writeFileSync(join(role, 'inventory.ini'), 'target ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
    writeFileSync(
      join(role, 'vars.json'),
      JSON.stringify({ nettune_sysctl_file: join(files, 'sysctl.d', '90-nettune.conf'), nettune_nic_unit_path: join(files, 'nettune-nic.service'), nettune_nic_boot_unit: false, nettune_become: false }),
    );
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  const play = (...extra: string[]): { code: number | null; out: string; changed: number } => {
    const r = run('ip', ['netns', 'exec', NS, 'ansible-playbook', '-i', 'inventory.ini', 'playbook.yml', '-e', '@vars.json', ...extra], role, 240_000);
    const m = /target\s+: ok=\d+\s+changed=(\d+)/.exec(r.out);
    return { ...r, changed: m ? Number(m[1]) : -1 };
  };

  it('--check --diff changes nothing; the first run changes, the second reports changed=0', () => {
    const check = play('--check', '--diff');
    expect(check.code, check.out).toBe(0);
    expect(check.changed).toBeGreaterThan(0);
    expect(ns('sysctl', '-n', 'net.ipv4.tcp_slow_start_after_idle')).toBe('1');

    const first = play();
    expect(first.code, first.out).toBe(0);
    expect(first.changed).toBeGreaterThanOrEqual(4); // 2 sysctls, the directory, the unit, the handler
    expect(first.out).toMatch(/skipping: \[target\] => \(item=net\.core\.netdev_max_backlog = 4000\)/);
    expect(ns('sysctl', '-n', 'net.ipv4.tcp_slow_start_after_idle')).toBe('0');
    expect(ns('sysctl', '-n', 'net.ipv4.tcp_wmem')).toBe('4096 16384 33554432');
    expect(ns('ethtool', '-k', 'h7v0')).toMatch(/generic-receive-offload: on/);
    expect(ns('cat', '/sys/class/net/h7v0/queues/rx-0/rps_cpus')).toBe('1');
    expect(ns('ethtool', '-l', 'h7v0')).toMatch(/Current hardware settings: RX: 2/);
    const persisted = readFileSync(join(files, 'sysctl.d', '90-nettune.conf'), 'utf8');
    expect(persisted).toMatch(/^net\.ipv4\.tcp_wmem=4096 16384 33554432$/m);
    expect(persisted).not.toMatch(/netdev_max_backlog/);
    const unit = readFileSync(join(files, 'nettune-nic.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/sbin\/ethtool -K h7v0 gro on$/m);
    expect(unit).toMatch(/^# GRO \(\( 7 \* 7 \)\) \(rule:nic\.gro-off\)$/m); // a reason is never templated

    const second = play();
    expect(second.code, second.out).toBe(0);
    expect(second.changed).toBe(0);
    process.stderr.write(`ansible-playbook in ${NS}: --check changed=${check.changed}, first run changed=${first.changed}, second run changed=${second.changed}\n`);
  });
});

// nft tables, routes and policy rules, MPTCP limits and endpoints: the role's tasks applied for real
// to a namespace host (ansible-playbook run inside it, connection local), read back with ip -j and
// nft -j; run twice (the second reports changed=0); then the --revert role of the same transaction
// restores the namespace as it was before (what the transaction created removed), twice too.
const TABLE = readFileSync(join(FIXTURES, 'nft', 'notrack-in.nft'), 'utf8');
const kindsPlan = (netns: string | null): string => {
  const plan = JSON.parse(readFileSync(PLAN, 'utf8')) as { host: { netns: string | null }; changes: unknown[] };
  plan.host.netns = netns;
  plan.changes = [
    { kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0, from: null, to: 'via 198.18.7.2 dev h7k1 proto static scope global', reason: 'replies leave by h7k1', source: 'intent:multihomed' },
    { kind: 'route', family: 'inet', table: 100, dst: '198.18.7.0/24', metric: 0, from: null, to: 'dev h7k1 proto static scope link src 198.18.7.1', reason: 'connected prefix', source: 'intent:multihomed' },
    { kind: 'rule', family: 'inet', priority: 1000, from: null, to: 'from 198.18.7.1/32 lookup 100', reason: 'source routing', source: 'intent:multihomed' },
    { kind: 'nft', family: 'inet', table: 'nettune_raw', from: null, to: TABLE, reason: 'NOTRACK {{ 7 * 7 }}', source: 'cli:--notrack' },
    { kind: 'mptcp', object: 'limits', address: null, from: null, to: 'subflows 3 add_addr_accepted 1', reason: 'admit the endpoint', source: 'intent:mptcp' },
    { kind: 'mptcp', object: 'endpoint', address: '198.18.7.1', from: null, to: 'id 1 subflow dev h7k1', reason: 'second path', source: 'intent:mptcp' },
  ];
  const file = join(tmp, `kinds-plan-${netns ?? 'host'}.json`);
  writeFileSync(file, JSON.stringify(plan));
  return file;
};

describe('export --format ansible: nft, routes, rules, MPTCP', () => {
  it('renders the tasks and the nft file (never templated); ansible-lint passes; no "not rendered" note', () => {
    const out = join(tmp, 'kinds-role');
    const r = nettune('export', kindsPlan(null), '--format', 'ansible', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/not rendered yet|cannot express|cannot hold/);
    expect(readFileSync(join(out, 'roles/nettune/files/nft/nettune_raw.nft'), 'utf8')).toContain(`table inet nettune_raw {}\ndelete table inet nettune_raw\n${TABLE}`);
    const defaults = readFileSync(join(out, 'roles/nettune/defaults/main.yml'), 'utf8');
    expect(defaults).toMatch(/nettune_mptcp_endpoints:\n {2}- address: "198\.18\.7\.1"\n {4}value: "id 1 subflow dev h7k1"/);
    expect(defaults).not.toContain('{{ 7 * 7 }}');
    const lint = run('ansible-lint', ['--offline', '-p', '--nocolor'], out);
    expect(lint.out).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    expect(lint.code, lint.out).toBe(0);
  });

  it('--revert is for a transaction; --format tuned --revert is refused', () => {
    expect(nettune('export', kindsPlan(null), '--format', 'ansible', '--revert', '--out', join(tmp, 'rv')).stderr).toMatch(/--revert needs a transaction/);
    expect(nettune('export', 'tx:1', '--format', 'tuned', '--revert').code).toBe(2);
  });
});

describe.skipIf(!isRoot)('nft, routes, rules and MPTCP from the role, for real in a throw-away namespace (root)', () => {
  const NS = `nt-h7${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}-ak`;
  const stateDir = join(tmp, 'kinds-state');
  const cli = (...args: string[]) => runCli(args, { NETTUNE_STATE_DIR: stateDir });
  const ns = (...args: string[]): string => spawnSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' }).stdout.trim();
  /** What the changes touch, read back with the kernel's own tools (JSON where they have it). */
  const state = () => ({
    // a table that never had a route: ip prints "[" and "FIB table does not exist" (exit 2); one emptied again: []
    routes: ((): string => {
      const t = ns('ip', '-j', '-4', 'route', 'show', 'table', '100');
      return t === '[' ? '[]' : t;
    })(),
    rules: ns('ip', '-j', '-N', '-4', 'rule', 'show', 'priority', '1000'),
    nft: ((JSON.parse(ns('nft', '-j', 'list', 'tables')) as { nftables: { table?: { family: string; name: string } }[] }).nftables)
      .flatMap((x) => (x.table ? [`${x.table.family} ${x.table.name}`] : [])),
    chains: spawnSync('ip', ['netns', 'exec', NS, 'nft', 'list', 'table', 'inet', 'nettune_raw'], { encoding: 'utf8' }).stdout,
    endpoints: ns('ip', 'mptcp', 'endpoint', 'show'),
    limits: ns('ip', 'mptcp', 'limits', 'show'),
  });
  const play = (dir: string, ...extra: string[]): { code: number | null; out: string; changed: number } => {
    const r = run('ip', ['netns', 'exec', NS, 'ansible-playbook', '-i', 'inventory.ini', 'playbook.yml', '-e', '@vars.json', ...extra], dir, 240_000);
    const m = /target\s+: ok=\d+\s+changed=(\d+)/.exec(r.out);
    return { ...r, changed: m ? Number(m[1]) : -1 };
  };
  const setUp = (dir: string): void => {
    writeFileSync(join(dir, 'inventory.ini'), 'target ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
    const files = join(tmp, 'kinds-host-files');
    writeFileSync(join(dir, 'vars.json'), JSON.stringify({ nettune_sysctl_file: join(files, 'sysctl.d', '90-nettune.conf'), nettune_nic_unit_path: join(files, 'nettune-nic.service'), nettune_nic_boot_unit: false, nettune_become: false, nettune_nft_dir: join(files, 'nftables.d') }));
  };

  beforeAll(() => {
    expect(spawnSync('ip', ['netns', 'add', NS]).status).toBe(0);
    for (const a of [['link', 'add', 'h7k0', 'type', 'veth', 'peer', 'name', 'h7k1'], ['addr', 'add', '198.18.7.1/24', 'dev', 'h7k1'], ['link', 'set', 'h7k0', 'up'], ['link', 'set', 'h7k1', 'up']])
      expect(spawnSync('ip', ['-n', NS, ...a]).status).toBe(0);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('applies them (read back with ip -j / nft -j), a second run changes nothing, the --revert role restores the namespace', () => {
    const before = state();
    expect(before.nft).toEqual([]);
    // a real transaction gives the role its source and the revert its before-values
    const a = cli('apply', kindsPlan(NS), '--netns', NS, '--yes', '--json');
    expect(a.code, a.stderr).toBe(0);
    const tx = (JSON.parse(a.stdout) as { tx: number }).tx;
    const applied = state();
    expect(cli('rollback', String(tx), '--netns', NS, '--yes', '--json').code).toBe(0);
    expect(state()).toEqual(before);
    expect(applied.nft).toEqual(['inet nettune_raw']);
    expect(applied.chains).toBe(TABLE);

    const role = join(tmp, 'kinds-tx-role');
    const revert = join(tmp, 'kinds-tx-revert');
    expect(cli('export', `tx:${tx}`, '--format', 'ansible', '--out', role).code).toBe(0);
    const rv = cli('export', `tx:${tx}`, '--format', 'ansible', '--revert', '--out', revert);
    expect(rv.code, rv.stderr).toBe(0);
    expect(rv.stdout).not.toMatch(/leaves it/);
    setUp(role);
    setUp(revert);
    for (const dir of [role, revert]) expect(run('ansible-lint', ['--offline', '-p', '--nocolor'], dir).code).toBe(0);

    const check = play(role, '--check', '--diff');
    expect(check.code, check.out).toBe(0);
    expect(check.changed).toBeGreaterThan(0); // nft -c, limits and endpoint would change
    expect(state()).toEqual(before);

    const first = play(role);
    expect(first.code, first.out).toBe(0);
    expect(first.changed).toBe(6); // tasks (not items): the directory, the file, the table, the routing read-back, limits, endpoint
    const made = state();
    expect(made).toEqual({ ...applied, endpoints: made.endpoints });
    expect(made.endpoints).toMatch(/^198\.18\.7\.1 id \d+ subflow dev h7k1\s*$/);
    expect(JSON.parse(made.rules)).toEqual([{ priority: 1000, src: '198.18.7.1', table: '100' }]);
    const second = play(role);
    expect(second.code, second.out).toBe(0);
    expect(second.changed).toBe(0);

    const r1 = play(revert);
    expect(r1.code, r1.out).toBe(0);
    expect(r1.changed).toBe(5); // the file removed, the table deleted, the routing read-back, limits, endpoint
    expect(state()).toEqual(before);
    const r2 = play(revert);
    expect(r2.code, r2.out).toBe(0);
    expect(r2.changed).toBe(0);
    process.stderr.write(`ansible kinds in ${NS}: --check changed=${check.changed}, first=${first.changed}, second=${second.changed}; revert first=${r1.changed}, second=${r2.changed}\n`);
  });
});
