// The route and rule kinds' value grammar and canonical text: what a user (or the planner) writes
// must be the text a read of the kernel's `ip -j` output gives, or rollback would not restore it.
import { describe, expect, it } from 'vitest';
import { canonicalWanted, parseRouteValue, parseRoutingSet, parseRulesValue, routingCommand } from '../../src/plan/multihomed-kinds.js';
import { canonicalAddress, canonicalRoute, canonicalRule, parsePrefix, parseRoutes, parseRules, prefixContains } from '../../src/probe/parse-routes.js';
import { parseSet, validateChanges } from '../../src/apply/validate.js';
import { snapshotFixture } from '../helpers.js';

describe('canonical route and rule text', () => {
  it('a route given by hand reads back as ip -j prints it (proto, scope, src explicit)', () => {
    // as iproute2 6.1 printed these two routes in a test namespace
    const def = canonicalRoute({ dst: 'default', gateway: '198.18.9.1', dev: 'd0', protocol: 'static', flags: [] });
    const conn = canonicalRoute({ dst: '198.18.9.0/24', dev: 'd0', scope: 'link', prefsrc: '198.18.9.2', flags: [] });
    expect(def).toEqual({ value: 'via 198.18.9.1 dev d0 proto static scope global', unmodeled: [] });
    expect(parseRouteValue('dev d0 via 198.18.9.1 proto static', 'inet').text).toBe(def.value);
    expect(conn.value).toBe('dev d0 proto boot scope link src 198.18.9.2');
    expect(parseRouteValue('dev d0 src 198.18.9.2', 'inet').text).toBe(conn.value);
    const six = canonicalRoute({ dst: 'default', gateway: 'fe80::1', dev: 'd0', metric: 1024, flags: [], pref: 'medium' });
    expect(parseRouteValue('via fe80:0::1 dev d0', 'inet6').text).toBe(six.value);
    // an IPv6 route has no scope (the kernel reports every one as global): as ip -6 -j printed a
    // connected route nettune wrote with src in a test namespace (iproute2 6.1, kernel 6.18)
    const conn6 = canonicalRoute({ dst: '2001:db8:2::/64', dev: 'p1', protocol: 'static', prefsrc: '2001:db8:2::2', metric: 1024, flags: [], pref: 'medium' });
    expect(parseRouteValue('dev p1 proto static src 2001:db8:2::2', 'inet6').text).toBe(conn6.value);
    expect(() => parseRouteValue('dev p1 scope link', 'inet6')).toThrow(/IPv6 routes have no scope/);
    expect(parseRouteValue('dev p1 scope global', 'inet6').text).toBe('dev p1 proto boot scope global pref medium');
  });

  it('fields nettune does not model make a route or rule unmodeled (never silently dropped)', () => {
    expect(canonicalRoute({ dst: '10.0.0.0/8', dev: 'd0', flags: [], metrics: [{ mtu: 1400 }] }).unmodeled).toEqual(['metrics']);
    expect(canonicalRule({ priority: 5, src: 'all', table: '100', uidrange: '1-2' }, 'inet').unmodeled).toEqual(['uidrange']);
  });

  it('rules: host prefixes get their length, table → lookup, fwmark in hex, several sorted', () => {
    const json = { priority: 1001, src: '198.18.9.0', srclen: 24, dst: '10.0.0.0', dstlen: 8, fwmark: '0x5', fwmask: '0xff', iif: 'd0', table: '100' };
    const c = canonicalRule(json, 'inet').value;
    expect(c).toBe('from 198.18.9.0/24 to 10.0.0.0/8 fwmark 0x5/0xff iif d0 lookup 100');
    expect(parseRulesValue('table 100 iif d0 fwmark 5/255 to 10.0.0.0/8 from 198.18.9.0/24', 'inet')[0]?.text).toBe(c);
    expect(canonicalRule({ priority: 1000, src: '198.18.9.2', table: '100' }, 'inet').value).toBe('from 198.18.9.2/32 lookup 100');
    expect(canonicalWanted({ kind: 'rule', family: 'inet', priority: 7, from: null, to: 'from 198.18.0.6 lookup 101 ; from 198.18.0.2 lookup 100' })).toBe('from 198.18.0.2/32 lookup 100 ; from 198.18.0.6/32 lookup 101');
    expect(canonicalRule({ priority: 9, not: null, src: 'all', table: 'main' }, 'inet').value).toBe('not from all lookup 254');
  });

  it('refuses values it could not restore or the kernel would refuse', () => {
    expect(() => parseRouteValue('via 198.18.0.1', 'inet')).toThrow(/needs dev/);
    expect(() => parseRouteValue('via fe80::1 dev d0', 'inet')).toThrow(/not an IPv4/);
    expect(() => parseRouteValue('dev d0 table 5', 'inet')).toThrow(/target/);
    expect(() => parseRouteValue('dev x;id', 'inet')).toThrow(/interface name/);
    expect(() => parseRouteValue('dev d0 mtu 1400', 'inet')).toThrow(/not a route field/);
    expect(() => parseRulesValue('from 1.2.3.4', 'inet')).toThrow(/exactly one of lookup/);
    expect(() => parseRulesValue('from 1.2.3.4 lookup 100 ; ', 'inet')).toThrow(/empty rule/);
  });

  it('--set route:TABLE:DST and rule:PRIORITY, metric into the target, absent', () => {
    expect(parseSet('route:100:default=via 198.18.0.1 dev nt0 metric 7')).toEqual({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 7, from: null, to: 'via 198.18.0.1 dev nt0 proto boot scope global' });
    expect(parseSet('route6:100:2001:db8::/64=dev nt0')).toMatchObject({ family: 'inet6', dst: '2001:db8::/64', metric: 1024 });
    // IPv6 metric 0 is stored as 1024 by the kernel: refused before the lock, not left to leak
    const zero = parseSet('route6:100:2001:db8::/64=dev eth0 metric 0');
    if (typeof zero === 'string') throw new Error(zero);
    expect(validateChanges([{ change: zero, reason: 'r', source: 's' }], snapshotFixture()).errors.join('; ')).toMatch(/metric 0 is not an IPv6 route metric/);
    expect(parseSet('route6:100:2001:db8::5/64=dev nt0')).toMatch(/host bits set below \/64; did you mean 2001:db8::\/64\?/);
    expect(parseSet('rule:1000=from 198.18.0.2 lookup 100')).toEqual({ kind: 'rule', family: 'inet', priority: 1000, from: null, to: 'from 198.18.0.2 lookup 100' });
    expect(parseSet('route:100:default=absent')).toMatchObject({ to: 'absent' });
    expect(parseSet('route:x:default=dev a')).toMatch(/expected route:TABLE:DST/);
    expect(parseSet('route:100:fe80::/64=dev a')).toMatch(/IPv6 goes in route6:/);
    expect(parseSet('rule:abc=from all lookup 5')).toMatch(/expected rule:PRIORITY/);
    expect(parseRoutingSet('sysfs:/x', 'y', 'a')).toBeNull();
  });

  it('the command a user would type', () => {
    expect(routingCommand({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0, from: null, to: 'via 198.18.0.1 dev nt0 proto static scope global' }, 'ns1')).toBe(
      'ip -n ns1 route replace default table 100 via 198.18.0.1 dev nt0 proto static scope global',
    );
    expect(routingCommand({ kind: 'rule', family: 'inet', priority: 1000, from: null, to: 'from 198.18.0.2/32 lookup 100' })).toBe('ip rule add from 198.18.0.2/32 lookup 100 priority 1000');
    expect(routingCommand({ kind: 'route', family: 'inet6', table: 5, dst: '::/0', metric: 1024, from: null, to: 'absent' })).toBe('ip -6 route del default table 5');
  });
});

describe('addresses and prefixes', () => {
  it('IPv6 canonical per RFC 5952, prefixes masked, containment', () => {
    expect(canonicalAddress('2001:0db8:0:0:0:0:0:0001')).toBe('2001:db8::1');
    expect(canonicalAddress('fe80:0:0:1:0:0:0:0')).toBe('fe80:0:0:1::');
    expect(parsePrefix('198.18.0.6/30')).toEqual({ family: 'inet', network: '198.18.0.4', len: 30 });
    expect(parsePrefix('198.18.0.6/33')).toBeNull();
    expect(parsePrefix('default', 'inet6')).toEqual({ family: 'inet6', network: '::', len: 0 });
    const p = parsePrefix('198.18.0.4/30');
    expect(p && prefixContains(p, '198.18.0.5')).toBe(true);
    expect(p && prefixContains(p, '198.18.0.9')).toBe(false);
  });

  it('a Snapshot\'s routes and rules (ip -j, both families) parse; named tables map', () => {
    const r = parseRoutes([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', flags: [], family: 'inet' },
      { type: 'local', dst: '127.0.0.1', dev: 'lo', table: 'local', protocol: 'kernel', scope: 'host', prefsrc: '127.0.0.1', flags: [], family: 'inet' },
      { dst: 'default', gateway: 'fd00::1', dev: 'eth0', metric: 1024, flags: [], pref: 'medium', family: 'inet6' },
    ]);
    expect(r.problems).toEqual([]);
    expect(r.routes.map((x) => [x.family, x.table, x.dst, x.metric])).toEqual([
      ['inet', 254, '0.0.0.0/0', 0],
      ['inet', 255, '127.0.0.1/32', 0],
      ['inet6', 254, '::/0', 1024],
    ]);
    const rules = parseRules([{ priority: 0, src: 'all', table: 'local', family: 'inet' }, { priority: 32766, src: 'all', table: 'main', family: 'inet' }]);
    expect(rules.rules.map((x) => [x.priority, x.lookup])).toEqual([[0, 255], [32766, 254]]);
  });
});
