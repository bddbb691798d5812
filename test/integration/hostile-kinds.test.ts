// Hostile-user findings on the plan-change kinds beyond sysctl that need a real namespace (root):
// each case applies something a user could type, then checks with the real tools that the
// namespace holds what nettune says and that rollback restores it exactly
// (/work/wt/reports/hostile-findings.md, session 19).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { deleteNamespaces, freshDirs, isRoot, newNetns, nettune } from './state-helpers.js';

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

});
