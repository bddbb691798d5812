// The route and rule kinds through the one transaction, for real, in throw-away namespaces (root):
// apply --set writes them with ip and reads them back from ip -j; rollback deletes what was added
// and re-adds what was replaced; a fault injected right after each kind's write ends, after
// recover, with the tables and rules exactly as before.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ctx, deleteNamespaces, freshDirs, history, isRoot, newNetns, nettune } from './state-helpers.js';

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

/** For each [N, kind]: a fault right after the N-th write (kill: then `recover`; error: exit 4 at
 *  once) leaves `what` exactly as before. */
function faultAfterEachWrite(what: string, host: () => string, state: (ns: string) => string, args: (ns: string) => string[], cases: readonly (readonly [number, string])[]): void {
  for (const [i, kind] of cases) {
    for (const how of ['kill', 'error'] as const) {
      it(`a fault (${how}) right after the ${kind} write: ${what} are back as before`, () => {
        const ns = host();
        const before = state(ns);
        const r = nettune(args(ns), { NETTUNE_FAULT: `after-write@${i}=${how}` });
        expect(r.code).not.toBe(0);
        if (how === 'kill') {
          expect(state(ns)).not.toBe(before); // the write happened before the crash
          const rec = nettune(['recover', '--json']);
          expect(rec.code, rec.stderr).toBe(0);
        } else expect(r.code, r.stderr).toBe(4);
        expect(state(ns)).toBe(before);
        expect(history().filter((t) => ['pending', 'rolling_back'].includes(t.status))).toEqual([]);
      });
    }
  }
}

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

  faultAfterEachWrite('the tables and rules', hostWithTwoPaths, routing, setArgs, [[1, 'route (replaced)'], [2, 'route (added)'], [3, 'rule']]);

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

// ── IPv6 ──────────────────────────────────────────────────────────────────────────────────────
// The route6:/rule6: forms and the multihomed planner with IPv6 addresses, for real: addresses from
// 2001:db8::/32 (RFC 3849) and destinations in the benchmarking prefix 2001:2::/48 (RFC 5180),
// no automatic link-local addresses (addrgenmode none) and no DAD (nodad), so nothing appears on
// its own while the test compares; a table default via a link-local gateway (how IPv6 routers are
// usually known) and one via a global gateway, a connected route with src, and rules.

/** Every IPv6 table and the IPv6 rules, as ip -6 -j prints them. */
const routing6 = (ns: string): string => ip('-n', ns, '-6', '-j', 'route', 'show', 'table', 'all') + ip('-n', ns, '-6', '-j', 'rule', 'show');

function hostWithTwoPaths6(): string {
  const ns = newNetns('route6');
  ip('-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'q0');
  ip('-n', ns, 'link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'q1');
  for (const d of ['p0', 'q0', 'p1', 'q1']) ip('-n', ns, 'link', 'set', d, 'addrgenmode', 'none');
  for (const d of ['p0', 'q0', 'p1', 'q1']) ip('-n', ns, 'link', 'set', d, 'up');
  ip('-n', ns, '-6', 'addr', 'add', '2001:db8:1::2/64', 'dev', 'p0', 'nodad');
  ip('-n', ns, '-6', 'addr', 'add', '2001:db8:2::2/64', 'dev', 'p1', 'nodad');
  // an existing default in table 100 (via a global gateway) that the link-local one replaces
  ip('-n', ns, '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1', 'dev', 'p0', 'table', '100', 'proto', 'static');
  return ns;
}

const SETS6 = [
  'route6:100:default=via fe80::1 dev p0 proto static',
  'route6:100:2001:db8:1::/64=dev p0 proto static src 2001:db8:1::2',
  'route6:101:default=via 2001:db8:2::1 dev p1 proto static',
  'rule6:1000=from 2001:db8:2::2 lookup 101',
];
const setArgs6 = (ns: string): string[] => ['apply', '--netns', ns, ...SETS6.flatMap((s) => ['--set', s]), '--yes', '--json'];
const table6 = (ns: string, t: number): unknown => JSON.parse(ip('-n', ns, '-6', '-j', 'route', 'show', 'table', String(t))) as unknown;

describe.skipIf(!isRoot)('IPv6 routes and rules (route6:, rule6:, multihomed; root, namespaces)', () => {
  beforeEach(freshDirs);
  afterAll(deleteNamespaces);

  it('apply writes and reads back (ip -6 -j); the route is used; rollback restores exactly', () => {
    const ns = hostWithTwoPaths6();
    const before = routing6(ns);
    const r = nettune(setArgs6(ns));
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { tx: number; steps: { target: string; before: string | null; after: string | null; adjusted: boolean }[] };
    expect(res.steps.map((s) => [s.target, s.before, s.after, s.adjusted])).toEqual([
      ['route6 table 100 default', 'via 2001:db8:1::1 dev p0 proto static scope global pref medium', 'via fe80::1 dev p0 proto static scope global pref medium', false],
      ['route6 table 100 2001:db8:1::/64', null, 'dev p0 proto static scope global src 2001:db8:1::2 pref medium', false],
      ['route6 table 101 default', null, 'via 2001:db8:2::1 dev p1 proto static scope global pref medium', false],
      ['rule6 1000', null, 'from 2001:db8:2::2/128 lookup 101', false],
    ]);
    // what the kernel holds, as ip -6 -j prints it
    expect(table6(ns, 100)).toEqual([
      { dst: '2001:db8:1::/64', dev: 'p0', protocol: 'static', prefsrc: '2001:db8:1::2', metric: 1024, flags: [], pref: 'medium' },
      { dst: 'default', gateway: 'fe80::1', dev: 'p0', protocol: 'static', metric: 1024, flags: [], pref: 'medium' },
    ]);
    expect(table6(ns, 101)).toEqual([{ dst: 'default', gateway: '2001:db8:2::1', dev: 'p1', protocol: 'static', metric: 1024, flags: [], pref: 'medium' }]);
    expect(JSON.parse(ip('-n', ns, '-6', '-j', 'rule', 'show'))).toContainEqual({ priority: 1000, src: '2001:db8:2::2', table: '101' });
    // traffic from the second address now leaves by p1 through its own gateway
    expect(ip('-n', ns, '-6', 'route', 'get', '2001:2::9', 'from', '2001:db8:2::2')).toMatch(/via 2001:db8:2::1 dev p1 table 101/);
    // the same again changes nothing
    const again = nettune(setArgs6(ns));
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ changes: [] });
    const rb = nettune(['rollback', String(res.tx), '--yes', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(routing6(ns)).toBe(before);
  });

  it('bad IPv6 input is exit 2 before anything changes', () => {
    const ns = hostWithTwoPaths6();
    const before = routing6(ns);
    for (const bad of ['route6:100:2001:db8:1::/64=dev p0 scope link', 'route6:100:default=via 198.18.7.5 dev p0', 'route6:100:default=dev p0 src 2001:db8:9::9', 'rule6:1000=from 198.18.7.6 lookup 100', 'route:100:2001:db8:1::/64=dev p0', 'route6:100:2001:2:0:1::/64=dev p0 metric 0']) {
      const r = nettune(['apply', '--netns', ns, '--set', 'route6:100:2001:2::/48=dev p0', '--set', bad, '--yes', '--json']);
      expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
    }
    expect(routing6(ns)).toBe(before);
  });

  faultAfterEachWrite('the IPv6 tables and rules', hostWithTwoPaths6, routing6, setArgs6, [[1, 'route6 (replaced, link-local gateway)'], [2, 'route6 (added, connected)'], [4, 'rule6']]);

  it('plan --workload multihomed with IPv6 --iface (link-local and global gateways): applied exactly, re-plan proposes nothing, rollback restores', () => {
    const ns = hostWithTwoPaths6();
    const before = routing6(ns);
    const ifaces = ['--iface', 'p0=2001:db8:1::2/64,gw=fe80::1', '--iface', 'p1=2001:db8:2::2/64,gw=2001:db8:2::1'];
    const planned = nettune(['plan', '--netns', ns, '--workload', 'multihomed', ...ifaces, '--json']);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as { changes: { kind: string; family?: string; table?: number; priority?: number }[] };
    const routingChanges = plan.changes.filter((c) => c.kind === 'route' || c.kind === 'rule');
    // table 100 is taken (its default route): the planner uses 101 and 102
    expect(routingChanges.map((c) => `${c.kind} ${c.family ?? ''} ${c.table ?? c.priority ?? ''}`)).toEqual(['route inet6 101', 'route inet6 101', 'route inet6 102', 'route inet6 102', 'rule inet6 1000', 'rule inet6 1001']);
    const file = join(ctx.state, 'plan6.json');
    writeFileSync(file, planned.stdout);
    const r = nettune(['apply', file, '--netns', ns, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { tx: number; steps: { target: string; adjusted: boolean }[] };
    expect(res.steps.filter((s) => s.adjusted)).toEqual([]);
    expect(ip('-n', ns, '-6', 'route', 'get', '2001:2::9', 'from', '2001:db8:1::2')).toMatch(/via fe80::1 dev p0 table 101/);
    expect(ip('-n', ns, '-6', 'route', 'get', '2001:2::9', 'from', '2001:db8:2::2')).toMatch(/via 2001:db8:2::1 dev p1 table 102/);
    const replan = nettune(['plan', '--netns', ns, '--workload', 'multihomed', ...ifaces, '--json']);
    expect(replan.code, replan.stderr).toBe(0);
    expect((JSON.parse(replan.stdout) as { changes: { kind: string }[] }).changes.filter((c) => c.kind === 'route' || c.kind === 'rule')).toEqual([]);
    const rb = nettune(['rollback', String(res.tx), '--yes', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(routing6(ns)).toBe(before);
  });
});
