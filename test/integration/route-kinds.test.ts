// The route and rule kinds through the one transaction, for real, in throw-away namespaces (root):
// apply --set writes them with ip and reads them back from ip -j; rollback deletes what was added
// and re-adds what was replaced; a fault injected right after each kind's write ends, after
// recover, with the tables and rules exactly as before.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { deleteNamespaces, freshDirs, history, isRoot, newNetns, nettune } from './state-helpers.js';

const ip = (...args: string[]): string => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
/** Everything the kinds touch here: every IPv4 table and the rules, as ip -j prints them. */
const routing = (ns: string): string => ip('-n', ns, '-4', '-j', 'route', 'show', 'table', 'all') + ip('-n', ns, '-j', 'rule', 'show'); // IPv4: IPv6 link-local routes appear on their own (DAD)

function hostWithTwoPaths(): string {
  const ns = newNetns('route');
  ip('-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'q0');
  ip('-n', ns, 'link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'q1');
  for (const d of ['p0', 'q0', 'p1', 'q1']) ip('-n', ns, 'link', 'set', d, 'up');
  ip('-n', ns, 'addr', 'add', '198.18.7.2/30', 'dev', 'p0');
  ip('-n', ns, 'addr', 'add', '198.18.7.6/30', 'dev', 'p1');
  // an existing route the transaction replaces, and must put back as it was
  ip('-n', ns, 'route', 'add', 'default', 'via', '198.18.7.1', 'dev', 'p0', 'table', '100', 'proto', 'static');
  return ns;
}

const SETS = ['route:100:default=via 198.18.7.5 dev p1 proto static', 'route:100:198.18.7.4/30=dev p1 proto static src 198.18.7.6', 'rule:1000=from 198.18.7.6 lookup 100'];
const setArgs = (ns: string): string[] => ['apply', '--netns', ns, ...SETS.flatMap((s) => ['--set', s]), '--yes', '--json'];

describe.skipIf(!isRoot)('route and rule kinds (root, namespaces)', () => {
  beforeEach(freshDirs);
  afterAll(deleteNamespaces);

  it('apply writes and reads back; rollback restores exactly (deletes the added, re-adds the replaced)', () => {
    const ns = hostWithTwoPaths();
    const before = routing(ns);
    const r = nettune(setArgs(ns));
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { tx: number; steps: { target: string; before: string | null; after: string | null; adjusted: boolean }[] };
    expect(res.steps.map((s) => [s.target, s.before, s.after, s.adjusted])).toEqual([
      ['route table 100 default', 'via 198.18.7.1 dev p0 proto static scope global', 'via 198.18.7.5 dev p1 proto static scope global', false],
      ['route table 100 198.18.7.4/30', null, 'dev p1 proto static scope link src 198.18.7.6', false],
      ['rule 1000', null, 'from 198.18.7.6/32 lookup 100', false],
    ]);
    expect(ip('-n', ns, 'route', 'get', '198.18.200.1', 'from', '198.18.7.6')).toMatch(/via 198\.18\.7\.5 dev p1/);
    // the same again changes nothing
    const again = nettune(setArgs(ns));
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ changes: [] });
    const rb = nettune(['rollback', String(res.tx), '--yes', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(routing(ns)).toBe(before);
  });

  it('bad input is exit 2 before anything changes', () => {
    const ns = hostWithTwoPaths();
    const before = routing(ns);
    for (const bad of ['rule:32766=from all lookup 100', 'route:100:default=via 198.18.7.5 dev nosuch', 'route:255:10.0.0.0/8=dev p0', 'route:100:default=dev p0 src 203.0.113.9', 'rule:5=from 198.18.7.6 lookup']) {
      const r = nettune(['apply', '--netns', ns, '--set', 'route:100:10.9.0.0/16=dev p0', '--set', bad, '--yes', '--json']);
      expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
      expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message.split('\n').length).toBeLessThanOrEqual(2);
    }
    expect(routing(ns)).toBe(before);
  });

  for (const [i, kind] of [[1, 'route (replaced)'], [2, 'route (added)'], [3, 'rule']] as const) {
    for (const how of ['kill', 'error'] as const) {
      it(`a fault (${how}) right after the ${kind} write: the tables and rules are back as before`, () => {
        const ns = hostWithTwoPaths();
        const before = routing(ns);
        const r = nettune(setArgs(ns), { NETTUNE_FAULT: `after-write@${i}=${how}` });
        expect(r.code).not.toBe(0);
        if (how === 'kill') {
          expect(routing(ns)).not.toBe(before); // the write happened before the crash
          const rec = nettune(['recover', '--json']);
          expect(rec.code, rec.stderr).toBe(0);
        } else expect(r.code, r.stderr).toBe(4);
        expect(routing(ns)).toBe(before);
        expect(history().filter((t) => ['pending', 'rolling_back'].includes(t.status))).toEqual([]);
      });
    }
  }

  it('--confirm: unconfirmed route and rule changes are reverted by the watchdog', async () => {
    const ns = hostWithTwoPaths();
    const before = routing(ns);
    const r = nettune([...setArgs(ns), '--confirm', '2s']);
    expect(r.code, r.stderr).toBe(0);
    expect(routing(ns)).not.toBe(before);
    const until = Date.now() + 15_000;
    while (routing(ns) !== before && Date.now() < until) await new Promise((res) => setTimeout(res, 250));
    expect(routing(ns)).toBe(before);
  }, 30_000);
});
