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
import { FIXTURES, nettune } from '../helpers.js';

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
