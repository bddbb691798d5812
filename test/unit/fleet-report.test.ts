// fleet's own logic without hosts: the playbook nettune ships, a playbook report turned into
// hosts (ok, unreachable, failed), the rules × hosts fold, drift per host, the collection on disk,
// and bad input at the CLI edge.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { GATHER_TASK, REACH_TASK, hostsFromReport, renderCollectPlaybook, type FleetCollection } from '../../src/fleet/collect.js';
import { auditFleet, driftFleet } from '../../src/fleet/report.js';
import { readCollection, snapshotFileName, writeCollection } from '../../src/fleet/store.js';
import type { PlaybookReport } from '../../src/fleet/ansible.js';
import { baselineFromPlan } from '../../src/monitor/drift.js';
import { rawSourceCommands } from '../../src/probe/raw.js';
import { nettune, snapshotFixture } from '../helpers.js';

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const stats = (over: Partial<PlaybookReport['stats'][string]> = {}) => ({ ok: 2, changed: 0, unreachable: 0, failures: 0, skipped: 0, ...over });

function collection(): FleetCollection {
  const a = snapshotFixture();
  const b = snapshotFixture();
  b.sysctl['net.ipv4.tcp_slow_start_after_idle'] = '0';
  b.sysctl['net.ipv4.tcp_keepalive_time'] = '600';
  return {
    schema: 'nettune.fleet/1',
    inventory: 'inv',
    limit: null,
    taken_at: a.taken_at,
    ansible: { rc: 4, duration_s: 1, forks: null },
    hosts: [
      { name: 'a', address: '198.18.0.1', status: 'ok', message: null, sources_failed: [], snapshot: a },
      { name: 'b', address: '198.18.0.2', status: 'ok', message: null, sources_failed: [], snapshot: b },
      { name: 'c', address: '198.18.0.3', status: 'unreachable', message: 'ssh: connect to host 198.18.0.3 port 22: No route to host', sources_failed: [], snapshot: null },
    ],
  };
}

describe('the collect playbook', () => {
  it('carries every source command verbatim and unsafe (never templated), raw module only', () => {
    const commands = rawSourceCommands('@@m@@');
    const text = renderCollectPlaybook(commands);
    expect(text.match(/^ {8}- !unsafe /gm)?.length).toBe(Object.keys(commands).length);
    const doc = parse(text, { customTags: [{ tag: '!unsafe', resolve: (s: string) => s }] }) as { tasks: { name: string; 'ansible.builtin.raw': string; loop?: string[] }[] }[];
    const tasks = doc[0]?.tasks ?? [];
    expect(tasks.map((t) => t.name)).toEqual([REACH_TASK, GATHER_TASK]);
    expect(tasks[1]?.loop).toEqual(Object.values(commands));
    expect(text).not.toMatch(/ansible\.builtin\.(command|shell|fetch)/);
  });
});

describe('hostsFromReport', () => {
  it('an unreachable or failed host is a result with ansible\'s message; an ok host gets a Snapshot with its failed sources named', async () => {
    const commands = rawSourceCommands('@@m@@');
    const report: PlaybookReport = {
      plays: [
        {
          tasks: [
            {
              task: { name: REACH_TASK },
              hosts: {
                up: { rc: 0, stdout: '', stderr: '' },
                down: { unreachable: true, msg: 'Failed to connect to the host via ssh: No route to host' },
                broken: { failed: true, rc: 127, msg: 'non-zero return code', stderr: 'sh: 1: true: not found' },
              },
            },
            {
              task: { name: GATHER_TASK },
              hosts: {
                up: {
                  results: [
                    { item: commands.uname, rc: 0, stdout: 'web1 x86_64\n', stderr: '' },
                    { item: commands.snmp, rc: 1, stdout: '', stderr: 'cat: /proc/net/snmp: Permission denied' },
                    { item: commands.sysctl, rc: 0, stdout: 'net.ipv4.tcp_keepalive_time = 600\nkernel.x = 1\n', stderr: '' },
                  ],
                },
              },
            },
          ],
        },
      ],
      stats: { up: stats(), down: stats({ ok: 0, unreachable: 1 }), broken: stats({ ok: 0, failures: 1 }) },
    };
    const hosts = await hostsFromReport(report, [{ name: 'up', address: null }, { name: 'down', address: '198.18.0.9' }, { name: 'broken', address: null }, { name: 'never', address: null }], commands, '@@m@@', '2026-12-01T00:00:00.000Z');
    expect(hosts.map((h) => [h.name, h.status])).toEqual([
      ['up', 'ok'],
      ['down', 'unreachable'],
      ['broken', 'failed'],
      ['never', 'failed'],
    ]);
    expect(hosts[1]?.message).toMatch(/No route to host/);
    expect(hosts[2]?.message).toBe('non-zero return code');
    const up = hosts[0];
    expect(up?.snapshot?.hostname).toBe('web1');
    expect(up?.snapshot?.kernel.machine).toBe('x64');
    expect(up?.snapshot?.sysctl).toEqual({ 'net.ipv4.tcp_keepalive_time': '600' });
    expect(up?.sources_failed).toEqual(['snmp']);
    expect(up?.snapshot?.errors).toContainEqual({ section: 'counters.snmp', source: 'cat /proc/net/snmp', message: 'exit 1: cat: /proc/net/snmp: Permission denied' });
  });
});

describe('auditFleet and driftFleet', () => {
  it('folds findings into rules × hosts: hits per rule, the worst host, unreachable hosts not audited', () => {
    const a = auditFleet(collection(), 'balanced', null);
    expect(a.audited).toEqual(['a', 'b']);
    expect(a.not_audited.map((h) => [h.name, h.status])).toEqual([['c', 'unreachable']]);
    expect(a.not_audited[0]?.message).toMatch(/No route/);
    const ssai = a.rules.find((r) => r.id === 'tcp.slow-start-after-idle');
    expect(ssai?.hosts).toEqual({ a: ssai?.severity });
    expect(ssai?.hits).toBe(1);
    expect(ssai?.worst.host).toBe('a');
    for (const r of a.rules) expect(r.hits).toBe(Object.keys(r.hosts).length);
    const total = a.rules.reduce((n, r) => n + r.hits, 0);
    expect(a.summary.critical + a.summary.warn + a.summary.info).toBe(total);
  });

  it('drift per host against a plan: only the host that differs is drifted', () => {
    const c = collection();
    const plan = {
      schema: 'nettune.plan/1' as const,
      created_at: 'now',
      host: { hostname: 'x', kernel: 'k', netns: null, snapshot_taken_at: 'now' },
      workload: 'balanced' as const,
      link: null,
      params: {},
      changes: [
        { kind: 'sysctl' as const, key: 'net.ipv4.tcp_keepalive_time', from: null, to: '600', reason: 'r', source: 's' },
        { kind: 'sysctl' as const, key: 'net.ipv4.tcp_slow_start_after_idle', from: null, to: '0', reason: 'r', source: 's' },
      ],
      skipped: [],
      notes: [],
    };
    const d = driftFleet(c, baselineFromPlan(plan, 'plan.json'));
    expect(d.drifted_hosts).toEqual(['a']);
    expect(d.hosts.map((h) => [h.host, h.drifted, h.holding])).toEqual([
      ['a', 2, 0],
      ['b', 0, 2],
    ]);
    expect(d.not_checked.map((h) => h.name)).toEqual(['c']);
  });
});

describe('the collection on disk', () => {
  it('round-trips through --out DIR and --from DIR; host names become safe file names', () => {
    const dir = tempDir('nettune-fleet-unit-');
    const c = collection();
    writeCollection(dir, c);
    const back = readCollection(dir);
    expect(back.hosts.map((h) => [h.name, h.status, h.snapshot?.hostname ?? null])).toEqual(c.hosts.map((h) => [h.name, h.status, h.snapshot?.hostname ?? null]));
    expect(snapshotFileName('web1.example.com')).toBe('web1.example.com.snapshot.json');
    expect(snapshotFileName('../etc')).toBe('%2E%2E%2Fetc.snapshot.json');
    expect(snapshotFileName('..')).not.toMatch(/^\.\./);
  });
});

describe('fleet CLI bad input (exit 2, one JSON document)', () => {
  const dir = tempDir('nettune-fleet-cli-');
  it('needs an inventory or a collection, a plan for drift, sane --forks', () => {
    expect(nettune('fleet', 'collect').code).toBe(2);
    expect(nettune('fleet', 'audit', '--inventory', 'x', '--from', dir).code).toBe(2);
    expect(nettune('fleet', 'drift', '--from', dir).stderr).toMatch(/--plan/);
    expect(nettune('fleet', 'collect', '--inventory', 'x', '--forks', '0').code).toBe(2);
    expect(nettune('fleet', 'collect', '--inventory', '-x').code).toBe(2);
    const r = nettune('fleet', 'audit', '--from', dir, '--json');
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toMatch(/no fleet\.json/);
  });
  it('a bad plan is refused before any host is asked', () => {
    writeFileSync(join(dir, 'plan.json'), '{"schema":"nope"}');
    const r = nettune('fleet', 'drift', '--inventory', join(dir, 'missing.ini'), '--plan', join(dir, 'plan.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a valid plan/);
  });
  it.skipIf(!existsSync('/usr/bin/ansible-inventory'))('an inventory ansible cannot parse is exit 2 naming it', () => {
    writeFileSync(join(dir, 'bad.yml'), 'all: [this is: not, an inventory\n');
    const r = nettune('fleet', 'collect', '--inventory', join(dir, 'bad.yml'));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/bad\.yml: ansible cannot read it/);
  });
});
