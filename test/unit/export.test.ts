// export: sources (plan, transaction, current) into one ExportDoc, and the sysctl.d renderer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StepRow, TxRow } from '../../src/apply/journal.js';
import { parseSysctlConf } from '../../src/lint/parse.js';
import { planSchema } from '../../src/plan/schema.js';
import { checkChanges, docFromCurrent, docFromPlan, docFromTransaction } from '../../src/export/source.js';
import { renderSysctlD } from '../../src/export/sysctld.js';
import { renderAnsible } from '../../src/export/ansible.js';
import { renderReport } from '../../src/export/report.js';
import type { ExportChange } from '../../src/export/types.js';
import { FIXTURES, snapshotFixture } from '../helpers.js';

export const planFixture = () => planSchema.parse(JSON.parse(readFileSync(join(FIXTURES, 'export', 'plan.json'), 'utf8')));
const opts = { revert: false, name: 'nettune', include: null };

describe('export sources', () => {
  it('a plan keeps every change with its reason and source', () => {
    const doc = docFromPlan(planFixture(), 'plan.json');
    expect(doc.changes.map((c) => c.kind)).toEqual(['sysctl', 'sysctl', 'sysctl', 'sysctl', 'ethtool', 'ethtool', 'ethtool', 'ethtool', 'sysfs']);
    expect(doc.host).toEqual({ hostname: 'vm', kernel: '6.18.44-fc-v782', netns: null });
  });

  it('refuses values the validator refuses, keys that are not keys and newlines, naming each', () => {
    const bad: ExportChange[] = [
      { kind: 'sysctl', key: 'net.ipv4.tcp_rmem', from: null, to: '4096 1', reason: 'r', source: 's' },
      { kind: 'sysctl', key: 'net.core.somaxconn', from: null, to: '1\nkernel.x = 1', reason: 'r', source: 's' },
      { kind: 'sysctl', key: 'net core', from: null, to: '1', reason: 'r', source: 's' },
      { kind: 'ethtool', device: 'eth 0', group: 'features', setting: 'gro', from: null, to: 'on', reason: 'r', source: 's' },
      { kind: 'sysfs', path: '/etc/passwd', from: null, to: '1', reason: 'r', source: 's' },
      { kind: 'sysctl', key: 'net.core.somaxconn', from: null, to: '1024', reason: 'r', source: 's' },
      { kind: 'sysctl', key: 'net.core.somaxconn', from: null, to: '2048', reason: 'r', source: 's' },
    ];
    let message = '';
    try {
      checkChanges(bad, 'p.json');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^p\.json: nothing was exported/);
    expect(message).toMatch(/net\.ipv4\.tcp_rmem = 4096 1: /);
    expect(message).toMatch(/net\.core\.somaxconn: a control character/);
    expect(message).toMatch(/"net core": not a sysctl key/);
    expect(message).toMatch(/ethtool eth 0 features gro: invalid interface name/);
    expect(message).toMatch(/\/etc\/passwd: .*only writes/);
    expect(message).toMatch(/net\.core\.somaxconn: set twice, to "1024" and "2048"/);
  });

  it('a route destination that is not a canonical prefix is refused (the shell splits its command words on blanks)', () => {
    const route = (dst: string): ExportChange => ({ kind: 'route', family: 'inet', table: 100, dst, metric: 0, from: null, to: 'via 198.18.0.1 dev eth0', reason: 'r', source: 's' });
    expect(() => checkChanges([route('198.18.0.0/24 table 5'), route('default'), route('198.18.0.1/24')], 'p.json')).toThrow(
      /"198\.18\.0\.0\/24 table 5" is not a canonical IPv4 prefix(.|\n)*"default" is not a canonical(.|\n)*"198\.18\.0\.1\/24" is not a canonical/,
    );
    expect(() => checkChanges([route('198.18.0.0/24'), route('0.0.0.0/0')], 'p.json')).not.toThrow();
  });

  it('a transaction: before → what the kernel held, the plan’s reasons, failed steps left out with a note', () => {
    const plan = planFixture();
    const tx: TxRow = { id: 7, started_at: '2026-12-01T10:00:00.000Z', finished_at: '2026-12-01T10:00:01.000Z', status: 'rolled_back', netns: null, source: 'plan.json', confirm_deadline: null, error: null, plan, result: null, rollback_to: null, boot_unit: null };
    const step = (seq: number, target: StepRow['target'], before: string | null, wanted: string, after: string | null, status: StepRow['status'] = 'restored'): StepRow => ({ tx_id: 7, seq, target, before, wanted, after, status, error: status === 'failed' ? 'EINVAL' : null });
    const steps = [
      step(1, { kind: 'sysctl', key: 'net.core.rmem_max' }, '4194304', '33554432', '33554432'),
      step(2, { kind: 'sysctl', key: 'net.ipv4.tcp_notsent_lowat' }, '4294967295', '131071', '131071'),
      step(3, { kind: 'ethtool', device: 'eth0', group: 'rings', setting: 'rx' }, '256', '1000', '1024'),
      step(4, { kind: 'sysctl', key: 'net.core.wmem_max' }, '4194304', '33554432', null, 'failed'),
      step(5, { kind: 'file', path: '/etc/sysctl.d/90-nettune.conf' }, null, 'x', 'x'),
    ];
    const doc = docFromTransaction(tx, steps, snapshotFixture());
    expect(doc.changes).toEqual([
      expect.objectContaining({ key: 'net.core.rmem_max', from: '4194304', to: '33554432', source: 'intent:buffers' }),
      expect.objectContaining({ key: 'net.ipv4.tcp_notsent_lowat', from: '4294967295', to: '131071', source: 'tx:7', reason: 'set by transaction 7 (plan.json)' }),
      expect.objectContaining({ kind: 'ethtool', from: '256', to: '1024', source: 'rule:nic.ring-small' }),
    ]);
    expect(doc.notes).toContain('ethtool eth0 rings rx: asked 1000, the kernel holds 1024 (exported as held)');
    expect(doc.notes).toContain('net.core.wmem_max: left out: the write failed (EINVAL) in transaction 7');
    expect(doc.notes).toContain('transaction 7 is rolled_back: its values are not in effect on the host now');
    expect(doc.transaction?.steps).toHaveLength(5);
  });

  it('current: the live values that differ from this kernel’s default, unknown defaults listed as skipped', () => {
    const snap = snapshotFixture();
    snap.sysctl['net.core.somaxconn'] = '8192';
    snap.sysctl['net.ipv4.tcp_fin_timeout'] = '15';
    const doc = docFromCurrent(snap);
    const keys = doc.changes.map((c) => (c.kind === 'sysctl' ? c.key : ''));
    expect(keys).toContain('net.core.somaxconn');
    expect(keys).toContain('net.ipv4.tcp_fin_timeout');
    expect(doc.skipped.map((x) => x.key)).toContain('net.ipv4.tcp_congestion_control'); // build-time default
    expect(keys).not.toContain('net.core.rmem_max'); // 4194304 is 6.18's default
    const s = doc.changes.find((c) => c.kind === 'sysctl' && c.key === 'net.core.somaxconn');
    expect(s).toMatchObject({ from: '4096', to: '8192', source: 'current' });
    expect(s?.reason).toMatch(/^live value differs from the kernel default \(4096/);
    expect(doc.notes[0]).toMatch(/differ from the kernel defaults; \d+ keys without a catalogued default were not considered/);
  });
});

describe('sysctl.d', () => {
  it('one file: each setting under why, evidence and scope; parses back to exactly the plan’s sysctls', () => {
    const doc = docFromPlan(planFixture(), 'plan.json');
    const r = renderSysctlD(doc, opts);
    expect(r.files).toHaveLength(1);
    const f = r.files[0]!;
    expect(f.path).toBe('90-nettune.conf');
    expect(f.content).toMatch(/# why: .*\n# evidence: intent:buffers; before: 4194304\n# scope: \[global\] .*\nnet\.core\.rmem_max = 33554432\n/);
    expect(f.content).toMatch(/# scope: \[netns\] .*\nnet\.ipv4\.tcp_wmem = 4096 16384 33554432\n/);
    const parsed = parseSysctlConf(f.content, f.path);
    expect(parsed.problems).toEqual([]);
    expect(Object.fromEntries(parsed.assignments.map((a) => [a.key, a.value]))).toEqual(
      Object.fromEntries(doc.changes.flatMap((c) => (c.kind === 'sysctl' ? [[c.key, c.to]] : []))),
    );
    expect(r.notes).toHaveLength(5);
    expect(r.notes[0]).toMatch(/^ethtool eth0 features gro = on: a NIC setting, which sysctl.d cannot hold/);
  });

  it('a reason with a newline stays one comment line; the same source renders the same bytes', () => {
    const plan = planFixture();
    plan.changes[0] = { ...plan.changes[0]!, reason: 'first\nnet.core.somaxconn = 1' };
    const doc = docFromPlan(plan, 'plan.json');
    const a = renderSysctlD(doc, opts).files[0]!.content;
    expect(parseSysctlConf(a, 'x').assignments.map((x) => x.key)).not.toContain('net.core.somaxconn');
    expect(renderSysctlD(docFromPlan(plan, 'plan.json'), opts).files[0]!.content).toBe(a);
  });
});

describe('ansible', () => {
  it('no Jinja reaches Ansible from a plan’s reason; a device name with a brace is refused', () => {
    const plan = planFixture();
    plan.changes[0] = { ...plan.changes[0]!, reason: "{{ lookup('pipe', 'id') }} {% raw %}" };
    const r = renderAnsible(docFromPlan(plan, 'plan.json'), opts);
    const defaults = r.files.find((f) => f.path === 'roles/nettune/defaults/main.yml')?.content ?? '';
    expect(defaults).toContain(`reason: "(( lookup('pipe', 'id') )) (% raw %)"`);
    expect(defaults).not.toMatch(/\{\{|\{%/);
    plan.changes.push({ kind: 'ethtool', device: 'e{{x}}', group: 'features', setting: 'gro', from: null, to: 'on', reason: 'r', source: 's' });
    expect(() => renderAnsible(docFromPlan(plan, 'plan.json'), opts)).toThrow(/cannot be passed through Ansible's templating/);
    expect(() => renderAnsible(docFromPlan(planFixture(), 'plan.json'), { ...opts, name: 'my-role' })).toThrow(/role name/);
  });
});

describe('report', () => {
  it('Markdown and HTML from the same rows: from → to, why, evidence, the experiments that test each change; HTML escapes', () => {
    const plan = planFixture();
    plan.changes[0] = { ...plan.changes[0]!, reason: '<script>alert(1)</script> | pipe' };
    const r = renderReport(docFromPlan(plan, 'plan.json'), opts);
    expect(r.files.map((f) => f.path)).toEqual(['nettune-report.md', 'nettune-report.html']);
    const [md, html] = r.files.map((f) => f.content);
    expect(md).toMatch(/^# Change review: plan\.json$/m);
    expect(md).toMatch(/^\| Link \| 10 Gbit\/s × 10 ms RTT, BDP /m);
    expect(md).toMatch(/^### 2\. `net\.core\.rmem_max`: 4194304 → 33554432$/m);
    expect(md).toMatch(/^- \*\*Evidence:\*\* audit rule tcp\.slow-start-after-idle \(nettune rules explain tcp\.slow-start-after-idle\)$/m);
    expect(md).toMatch(/^- \*\*Experiment:\*\* `nettune experiment run bdp-buffers` tests it/m);
    expect(md).toMatch(/### 5\. `ethtool eth0 features gro`: off → on\n\n.*\n.*\n- \*\*Experiment:\*\* `nettune experiment run offloads`/);
    expect(md).toContain('&lt;script&gt;alert(1)&lt;/script&gt; \\| pipe');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toMatch(/^<!doctype html>/);
  });
});
