// The fleet for real: 3 sshd "hosts" in namespaces (fleet-hosts.ts) and an Ansible controller in
// its own namespace. The exported role is run twice with ansible-playbook (changes, then
// changed=0, values checked inside each host), then fleet collect / drift / audit through
// ansible-playbook, with one host altered by hand and one inventory host nobody answers for.
// Needs root, ansible and openssh-server (run-tests installs them).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, nettune } from '../helpers.js';
import { type FleetLab, startFleetLab } from './fleet-hosts.js';

const isRoot = process.getuid?.() === 0;
const haveTools = ['/usr/bin/ansible-playbook', '/usr/sbin/sshd'].every((p) => existsSync(p));

const PLANNED = {
  'net.ipv4.tcp_keepalive_time': '600',
  'net.ipv4.tcp_slow_start_after_idle': '0',
  'net.ipv4.tcp_wmem': '4096 16384 16777216',
} as const;

interface Stats {
  ok: number;
  changed: number;
  unreachable: number;
  failures: number;
}

describe.skipIf(!isRoot || !haveTools)('fleet through ansible-playbook (root, sshd in namespaces)', () => {
  let lab: FleetLab;
  let plan = '';
  let collected = '';

  beforeAll(async () => {
    lab = await startFleetLab(3);
    plan = join(lab.dir, 'plan.json');
    writeFileSync(
      plan,
      JSON.stringify({
        schema: 'nettune.plan/1',
        created_at: new Date().toISOString(),
        host: { hostname: 'fleet', machine_id: null, kernel: 'any', netns: null, snapshot_taken_at: new Date().toISOString() },
        workload: 'balanced',
        link: null,
        params: {},
        changes: Object.entries(PLANNED).map(([key, to]) => ({ kind: 'sysctl', key, from: null, to, reason: 'fleet test', source: 'intent:test' })),
        skipped: [],
        notes: [],
      }),
    );
  }, 120_000);
  afterAll(() => lab?.teardown());

  const fleet = (args: string[], timeoutMs = 240_000) => lab.inCtl([process.execPath, BUNDLE, 'fleet', ...args], timeoutMs);

  it("the exported role: the first run changes every host, the second reports changed=0, and each host holds the values and its own sysctl.d file", () => {
    const role = join(lab.dir, 'role');
    const exp = nettune('export', plan, '--format', 'ansible', '--out', role);
    expect(exp.code, exp.stderr).toBe(0);
    const inv = lab.inventory('ini', false);
    const play = () => {
      const r = lab.inCtl(['ansible-playbook', '-i', inv, join(role, 'playbook.yml'), '-e', 'nettune_become=false'], 240_000, role);
      const m = [...r.stdout.matchAll(/^(host\d)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)];
      const recap: Record<string, Stats> = Object.fromEntries(m.map((x) => [x[1] ?? '', { ok: Number(x[2]), changed: Number(x[3]), unreachable: Number(x[4]), failures: Number(x[5]) }]));
      return { ...r, recap };
    };
    const first = play();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const second = play();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    console.log(`role run 1: ${JSON.stringify(first.recap)}\nrole run 2: ${JSON.stringify(second.recap)}`);
    for (const h of lab.hosts) {
      expect(first.recap[h.name]?.changed, h.name).toBeGreaterThan(0);
      expect(second.recap[h.name]?.changed, h.name).toBe(0);
      for (const [key, value] of Object.entries(PLANNED)) expect(lab.inHost(h, ['sysctl', '-n', key]).stdout.trim().replace(/\s+/g, ' '), `${h.name} ${key}`).toBe(value);
      // persisted in the host's own /etc/sysctl.d (the private directory), not the machine's
      const persisted = readFileSync(join(h.sysctlDir, '90-nettune.conf'), 'utf8');
      expect(persisted).toMatch(/net\.ipv4\.tcp_keepalive_time\s*=\s*600/);
      expect(lab.inHost(h, ['cat', '/etc/sysctl.d/90-nettune.conf']).stdout).toBe(persisted);
    }
    expect(existsSync('/etc/sysctl.d/90-nettune.conf') && readFileSync('/etc/sysctl.d/90-nettune.conf', 'utf8').includes('fleet test')).toBe(false);
  }, 600_000);

  it('fleet collect (INI inventory, --forks): every host a Snapshot of its own namespace; the unreachable host is reported, not fatal', () => {
    const host2 = lab.hosts[1];
    if (!host2) throw new Error('no host2');
    // drift by hand on one host
    expect(lab.inHost(host2, ['sysctl', '-w', 'net.ipv4.tcp_keepalive_time=7200']).code).toBe(0);
    collected = join(lab.dir, 'collected');
    const r = fleet(['collect', '--inventory', lab.inventory('ini', true), '--forks', '4', '--out', collected, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { hosts: { name: string; status: string; message: string | null; snapshot_file: string | null }[] };
    const status = Object.fromEntries(doc.hosts.map((h) => [h.name, h.status]));
    expect(status).toEqual({ host1: 'ok', host2: 'ok', host3: 'ok', gone: 'unreachable' });
    expect(doc.hosts.find((h) => h.name === 'gone')?.message).toMatch(/ssh|connect|route/i);
    for (const h of lab.hosts) {
      const snap = JSON.parse(readFileSync(join(collected, `${h.name}.snapshot.json`), 'utf8')) as { netns: { inode: number; init: boolean }; links: { name: string; addresses: { local: string }[] }[]; sysctl: Record<string, string>; errors: unknown[] };
      const inode = Number(lab.inHost(h, ['stat', '-L', '-c', '%i', '/proc/self/ns/net']).stdout.trim());
      expect(snap.netns).toMatchObject({ inode, init: false });
      expect(snap.links.find((l) => l.name === 'eth0')?.addresses.map((a) => a.local)).toContain(h.address);
      expect(snap.sysctl['net.ipv4.tcp_keepalive_time']).toBe(h.name === 'host2' ? '7200' : '600');
      expect(snap.errors).toEqual([]);
    }
  }, 300_000);

  it('fleet drift: only the host altered by hand is reported, exit 1 (from the collection, and live from a YAML inventory)', () => {
    const r = fleet(['drift', '--from', collected, '--plan', plan]);
    console.log(r.stdout);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/host2\s+net\.ipv4\.tcp_keepalive_time\s+600\s+7200\s+DRIFT/);
    expect(r.stdout).toMatch(/gone: unreachable/);
    const live = fleet(['drift', '--inventory', lab.inventory('yaml', true), '--plan', plan, '--json']);
    expect(live.code, live.stderr).toBe(1);
    const d = JSON.parse(live.stdout) as { drifted_hosts: string[]; hosts: { host: string; drifted: number; holding: number }[]; not_checked: { name: string; status: string }[] };
    expect(d.drifted_hosts).toEqual(['host2']);
    expect(d.hosts.map((h) => [h.host, h.drifted, h.holding])).toEqual([
      ['host1', 0, 3],
      ['host2', 1, 2],
      ['host3', 0, 3],
    ]);
    expect(d.not_checked).toEqual([expect.objectContaining({ name: 'gone', status: 'unreachable' })]);
  }, 300_000);

  it('fleet audit: a rules × hosts table over the reachable hosts; the unreachable one is listed as not audited', () => {
    const r = fleet(['audit', '--from', collected, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as { audited: string[]; not_audited: { name: string }[]; rules: { id: string; hits: number; hosts: Record<string, string>; worst: { host: string } }[] };
    expect(a.audited).toEqual(['host1', 'host2', 'host3']);
    expect(a.not_audited.map((h) => h.name)).toEqual(['gone']);
    expect(a.rules.length).toBeGreaterThan(0);
    for (const row of a.rules) expect(row.hits).toBe(Object.keys(row.hosts).length);
    // slow_start_after_idle=0 on every host now: nobody is hit by that rule
    expect(a.rules.find((x) => x.id === 'tcp.slow-start-after-idle')).toBeUndefined();
    const text = fleet(['audit', '--from', collected, '--fail-on', 'info']);
    console.log(text.stdout);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/RULE\s+SEVERITY\s+HOSTS\s+host1\s+host2\s+host3\s+WORST/);
    expect(text.stdout).toMatch(/gone: unreachable/);
  }, 120_000);
});
