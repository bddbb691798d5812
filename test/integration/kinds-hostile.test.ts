// Hostile input to the route and mptcp kinds, for real (root, throw-away namespaces): what the
// kernel would refuse after the lock (exit 4) or silently accept and never use is refused before
// the lock (exit 2, one message, no transaction journaled, the namespace untouched). Each refusal
// is checked against the kernel itself, so nettune refuses exactly what `ip` would refuse.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { deleteNamespaces, freshDirs, history, isRoot, newNetns, nettune } from './state-helpers.js';

const ipRun = (ns: string, ...args: string[]): { ok: boolean; out: string; err: string } => {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
};
const ip = (ns: string, ...args: string[]): string => {
  const r = ipRun(ns, ...args);
  if (!r.ok) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.err}`);
  return r.out;
};
/** An IPv6 table; one that does not exist prints "[" and an error ("[]" once the kernel made it). */
const table6 = (ns: string, t: string): string => {
  const o = ipRun(ns, '-6', '-j', 'route', 'show', 'table', t).out.trim();
  return o === '' || o === '[' ? '[]' : o;
};
/** What the cases may touch: every IPv4 table, the IPv6 tables 100–102 (main and local gain
 *  link-local and multicast routes on their own), the rules and the MPTCP endpoints. */
const routing = (ns: string): string =>
  [ip(ns, '-4', '-j', 'route', 'show', 'table', 'all'), ...['100', '101', '102'].map((t) => table6(ns, t)), ip(ns, '-j', 'rule', 'show'), ip(ns, '-j', 'mptcp', 'endpoint', 'show')].join('\n');

/** p0 with 198.18.7.2/30 and 2001:db8:7::2/64 (no DAD, so the IPv6 prefix is usable at once). */
function host(): string {
  const ns = newNetns('hk');
  ip(ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'q0');
  for (const d of ['p0', 'q0']) ip(ns, 'link', 'set', d, 'up');
  ip(ns, 'addr', 'add', '198.18.7.2/30', 'dev', 'p0');
  ip(ns, '-6', 'addr', 'add', '2001:db8:7::2/64', 'dev', 'p0', 'nodad');
  return ns;
}

const message = (stdout: string): string => (JSON.parse(stdout) as { error: { message: string } }).error.message;

describe.skipIf(!isRoot)('hostile route and mptcp input is refused before the lock (root, namespaces)', () => {
  beforeEach(freshDirs);
  afterAll(deleteNamespaces);

  it('an off-link gateway is exit 2 with the prefixes the device reaches, where the kernel says "Nexthop has invalid gateway"', () => {
    const ns = host();
    const before = routing(ns);
    for (const [set, kernelArgs, kernelSays, re] of [
      ['route:100:default=via 203.0.113.1 dev p0', ['-4', 'route', 'add', 'default', 'via', '203.0.113.1', 'dev', 'p0', 'table', '100'], /Nexthop has invalid gateway/, /gateway 203\.0\.113\.1 is off-link: p0 reaches 198\.18\.7\.0\/30 directly.*Nexthop has invalid gateway.*onlink/],
      ['route:100:10.9.0.0/16=nexthop via 198.18.7.1 dev p0 nexthop via 198.51.100.1 dev p0', ['-4', 'route', 'add', '10.9.0.0/16', 'table', '100', 'nexthop', 'via', '198.18.7.1', 'dev', 'p0', 'nexthop', 'via', '198.51.100.1', 'dev', 'p0'], /Nexthop has invalid gateway/, /gateway 198\.51\.100\.1 is off-link/],
      ['route6:100:default=via 2001:db8:9::1 dev p0', ['-6', 'route', 'add', 'default', 'via', '2001:db8:9::1', 'dev', 'p0', 'table', '100'], /No route to host/, /gateway 2001:db8:9::1 is off-link: p0 reaches [^;]*2001:db8:7::\/64[^;]* directly.*No route to host/],
      // the connected route comes after the route that needs it: at that point the kernel refuses
      ['route:101:default=via 198.51.100.1 dev p0', ['-4', 'route', 'add', 'default', 'via', '198.51.100.1', 'dev', 'p0', 'table', '101'], /Nexthop has invalid gateway/, /gateway 198\.51\.100\.1 is off-link/],
    ] as const) {
      const k = ipRun(ns, ...kernelArgs);
      expect(k.ok, `the kernel accepted ${kernelArgs.join(' ')}`).toBe(false);
      expect(k.err).toMatch(kernelSays);
      const extra = set.startsWith('route:101') ? ['--set', 'route:101:198.51.100.0/24=dev p0'] : [];
      const r = nettune(['apply', '--netns', ns, '--set', set, ...extra, '--yes', '--json']);
      expect(r.code, r.stderr).toBe(2);
      expect(message(r.stdout)).toMatch(re);
    }
    expect(history()).toEqual([]); // nothing journaled: refused before the lock
    expect(routing(ns)).toBe(before);
  });

  it('a gateway on the link is taken: onlink, a device route earlier in the same apply, an IPv6 link-local gateway, a device route in main', () => {
    const ns = host();
    const before = routing(ns);
    const r = nettune([
      'apply',
      '--netns',
      ns,
      '--set',
      'route:100:default=via 203.0.113.1 dev p0 onlink',
      '--set',
      'route:101:198.51.100.0/24=dev p0',
      '--set',
      'route:101:default=via 198.51.100.1 dev p0',
      '--set',
      'route6:100:default=via fe80::1 dev p0',
      '--set',
      'route6:101:default=via 2001:db8:7::1 dev p0',
      '--yes',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(ip(ns, '-4', 'route', 'show', 'table', '101')).toMatch(/default via 198\.51\.100\.1 dev p0/);
    const main = nettune(['apply', '--netns', ns, '--set', 'route:main:198.51.100.128/25=dev p0', '--yes', '--json']);
    expect(main.code, main.stderr).toBe(0);
    // the gateway is looked up in main after the route's own table (fib_check_nh)
    const viaMain = nettune(['apply', '--netns', ns, '--set', 'route:102:default=via 198.51.100.129 dev p0', '--yes', '--json']);
    expect(viaMain.code, viaMain.stderr).toBe(0);
    for (const t of history()) expect(nettune(['rollback', String(t.id), '--yes', '--json']).code).toBe(0);
    expect(routing(ns)).toBe(before);
  });

  it('an MPTCP endpoint on an address no interface has: exit 2 naming the addresses there; --force adds it with a warning', () => {
    const ns = host();
    ip(ns, 'link', 'set', 'lo', 'up');
    // the kernel itself takes such an endpoint (it checks only the grammar)
    expect(ipRun(ns, 'mptcp', 'endpoint', 'add', '198.18.7.77', 'subflow').ok).toBe(true);
    ip(ns, 'mptcp', 'endpoint', 'flush');
    const before = routing(ns);
    for (const [set, re] of [
      ['mptcp:endpoint=198.18.7.77,dev=p0,flags=subflow', /mptcp endpoint 198\.18\.7\.77: no interface in \S+ has this address \(IPv4 addresses here: (127\.0\.0\.1 \(lo\), )?198\.18\.7\.2 \(p0\)\).*never creates a subflow.*--force/],
      ['mptcp:endpoint=2001:db8:7::77,flags=signal', /mptcp endpoint 2001:db8:7::77: no interface .*2001:db8:7::2 \(p0\)/],
    ] as const) {
      const r = nettune(['apply', '--netns', ns, '--set', set, '--yes', '--json']);
      expect(r.code, r.stderr).toBe(2);
      expect(message(r.stdout)).toMatch(re);
    }
    expect(history()).toEqual([]);
    expect(routing(ns)).toBe(before);
    // on the interface's own address it is taken
    const ok = nettune(['apply', '--netns', ns, '--set', 'mptcp:endpoint=198.18.7.2,dev=p0,flags=subflow', '--yes', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const forced = nettune(['apply', '--netns', ns, '--set', 'mptcp:endpoint=198.18.7.77,dev=p0,flags=subflow', '--force', '--yes', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/warning: mptcp endpoint 198\.18\.7\.77: no interface .*added anyway: --force/);
    expect(ip(ns, 'mptcp', 'endpoint', 'show')).toMatch(/198\.18\.7\.77 id \d+ subflow dev p0/);
    for (const t of history()) expect(nettune(['rollback', String(t.id), '--yes', '--json']).code).toBe(0);
    expect(routing(ns)).toBe(before);
  });
});
