// Hostile route `--set` values are refused before the lock (exit 2), never left to the kernel:
// table 0 is RT_TABLE_UNSPEC (reading it lists every table, writing it goes to main), and a
// control character in the value is refused, not taken as a blank.
import { describe, expect, it } from 'vitest';
import { type InputChange, parseSet, validateChanges } from '../../src/apply/validate.js';
import { canonicalRule } from '../../src/probe/parse-routes.js';
import type { RoutingChange } from '../../src/plan/multihomed-kinds.js';
import { snapshotFixture } from '../helpers.js';

const errorsOf = (arg: string): string[] => {
  const c = parseSet(arg);
  if (typeof c === 'string') return [c];
  return validateChanges([{ change: c, reason: 'r', source: 's' }], snapshotFixture()).errors;
};

describe('--set route: refused before the lock', () => {
  it('table 0 (unspec) is not a table nettune writes', () => {
    expect(errorsOf('route:0:default=via 192.0.2.1 dev eth0').join('; ')).not.toBe('');
    expect(errorsOf('route:0:10.9.0.0/16=dev eth0').join('; ')).not.toBe('');
  });
  it('a newline in the value', () => {
    expect(errorsOf('route:100:default=via 192.0.2.1\ndev eth0').join('; ')).not.toBe('');
  });
  it('the well-formed form still passes', () => {
    expect(errorsOf('route:100:default=via 192.0.2.1 dev eth0')).toEqual([]);
  });
});

describe('host bits in a prefix are refused, naming the network (hostile15)', () => {
  const planErrors = (change: RoutingChange): string => validateChanges([{ change, reason: 'r', source: 'plan' }], snapshotFixture()).errors.join('; ');
  it('a plan file route whose destination has host bits (IPv4: the kernel refuses it)', () => {
    expect(planErrors({ kind: 'route', family: 'inet', table: 100, dst: '198.18.5.7/24', metric: 0, from: null, to: 'dev eth0' })).toMatch(/host bits set below \/24; did you mean 198\.18\.5\.0\/24\?.*Invalid prefix for given prefix length/);
  });
  it('a plan file route6 whose destination has host bits (the kernel would mask them)', () => {
    expect(planErrors({ kind: 'route', family: 'inet6', table: 100, dst: 'fd00::7/64', metric: 1024, from: null, to: 'dev eth0' })).toMatch(/did you mean fd00::\/64\?.*mask/);
  });
  it('a plan file route whose destination is not spelled canonically names the spelling', () => {
    expect(planErrors({ kind: 'route', family: 'inet', table: 100, dst: 'default', metric: 0, from: null, to: 'dev eth0' })).toMatch(/write the destination as 0\.0\.0\.0\/0/);
  });
  it('a plan file rule whose selector has host bits (from and to, both families)', () => {
    expect(planErrors({ kind: 'rule', family: 'inet', priority: 1000, from: null, to: 'from 198.18.5.7/24 lookup 100' })).toMatch(/did you mean 198\.18\.5\.0\/24\?/);
    expect(planErrors({ kind: 'rule', family: 'inet6', priority: 1000, from: null, to: 'from all to fd00::1:0/64 lookup 100' })).toMatch(/did you mean fd00::\/64\?/);
  });
  it('--set route and rule with host bits', () => {
    expect(errorsOf('route:100:198.18.5.7/24=dev eth0').join('; ')).toMatch(/did you mean 198\.18\.5\.0\/24\?/);
    expect(errorsOf('rule:1000=from 198.18.5.7/24 lookup 100').join('; ')).toMatch(/did you mean 198\.18\.5\.0\/24\?/);
  });
  it('network prefixes, host prefixes and bare addresses still pass', () => {
    expect(planErrors({ kind: 'route', family: 'inet', table: 100, dst: '198.18.5.0/24', metric: 0, from: null, to: 'dev eth0' })).toBe('');
    expect(errorsOf('rule:1000=from 198.18.5.7 lookup 100')).toEqual([]);
    expect(errorsOf('rule:1000=from 198.18.5.7/32 to 10.0.0.0/8 lookup 100')).toEqual([]);
    expect(errorsOf('route6:100:fd00:1::/64=dev eth0')).toEqual([]);
  });
});

describe('an off-link gateway is refused before the lock (hostile15)', () => {
  it('a gateway outside every prefix the device reaches, with the prefixes and the ways out', () => {
    expect(errorsOf('route:100:default=via 203.0.113.1 dev eth0').join('; ')).toMatch(/gateway 203\.0\.113\.1 is off-link: eth0 reaches 192\.0\.2\.0\/24 directly.*Nexthop has invalid gateway.*onlink/);
    expect(errorsOf('route6:100:default=via 2001:db8:9::1 dev eth0').join('; ')).toMatch(/off-link.*No route to host/);
    expect(errorsOf('route:100:default=nexthop via 192.0.2.1 dev eth0 nexthop via 203.0.113.1 dev eth0').join('; ')).toMatch(/gateway 203\.0\.113\.1 is off-link/);
  });
  it('on the link: a connected prefix, onlink, IPv6 link-local, a device route earlier in the same apply', () => {
    expect(errorsOf('route:100:default=via 192.0.2.1 dev eth0')).toEqual([]);
    expect(errorsOf('route:100:default=via 203.0.113.1 dev eth0 onlink')).toEqual([]);
    expect(errorsOf('route6:100:default=via fe80::1 dev eth0')).toEqual([]);
    const two = (first: string, second: string): string[] =>
      validateChanges(
        [first, second].map((a) => ({ change: parseSet(a) as RoutingChange, reason: 'r', source: 's' })),
        snapshotFixture(),
      ).errors;
    expect(two('route:100:203.0.113.0/24=dev eth0', 'route:100:default=via 203.0.113.1 dev eth0')).toEqual([]);
    expect(two('route:100:default=via 203.0.113.1 dev eth0', 'route:100:203.0.113.0/24=dev eth0').join('; ')).toMatch(/off-link/); // the kernel writes in order
    expect(two('route:101:203.0.113.0/24=dev eth0', 'route:100:default=via 203.0.113.1 dev eth0').join('; ')).toMatch(/off-link/); // another table is not looked in
  });
});

describe('hostile findings F4, F10 (hostile15)', () => {
  it('a table id above 32 bits is exit 2, not exit 70', () => {
    expect(errorsOf('route:4294967296:198.18.50.0/24=dev eth0').join('; ')).toMatch(/above 4294967295/);
    expect(errorsOf('route:4294967295:198.18.50.0/24=dev eth0')).toEqual([]);
  });
  it('proto and scope numbers are 0–255; names are iproute2 own', () => {
    expect(errorsOf('route:100:198.18.50.0/24=dev eth0 proto 300').join('; ')).toMatch(/proto 300: a number 0–255/);
    expect(errorsOf('route:100:198.18.50.0/24=dev eth0 proto nosuchproto').join('; ')).toMatch(/proto nosuchproto/);
    expect(errorsOf('route:100:198.18.50.0/24=dev eth0 scope 256').join('; ')).toMatch(/scope 256/);
    expect(errorsOf('route:100:198.18.50.0/24=dev eth0 proto 200')).toEqual([]);
    expect(errorsOf('route:100:198.18.50.0/24=dev eth0 proto dhcp')).toEqual([]);
  });
  it('a field given twice is refused, not last-wins', () => {
    expect(errorsOf('route:100:198.18.50.0/24=dev eth0 dev lo').join('; ')).toMatch(/dev given twice/);
    expect(errorsOf('rule:1000=from 198.18.5.1 lookup 100 from 198.18.5.2').join('; ')).toMatch(/from given twice/);
    expect(errorsOf('rule:1000=from all table 100 lookup 101').join('; ')).toMatch(/given twice/);
    expect(errorsOf('route:100:10.9.0.0/16=nexthop via 192.0.2.1 dev eth0 nexthop via 192.0.2.3 dev eth0')).toEqual([]);
  });
  it('a blackhole rule read back with -N (action 6) is canonical blackhole', () => {
    expect(canonicalRule({ priority: 1500, src: 'all', action: '6' }, 'inet').value).toBe('from all blackhole');
  });
  it('"set twice" of a multi-line value stays one line', () => {
    const snap = snapshotFixture();
    const t = (x: string): InputChange => ({ change: { kind: 'nft', family: 'inet', table: 'nettune_raw', from: null, to: `table inet nettune_raw {\n\tchain ${x} {\n\t}\n}\n` }, reason: 'r', source: 's' });
    const e = validateChanges([t('a'), t('b')], snap).errors.join('; ');
    expect(e).toBe('nft table inet nettune_raw: set twice, to two different values');
  });
});

describe('sysfs masks and one-line messages (F18, F19, F20; hostile15)', () => {
  const sysfs = (path: string, to: string): string => validateChanges([{ change: { kind: 'sysfs', path, from: null, to }, reason: 'r', source: 'plan' }], snapshotFixture()).errors.join('; ');
  const rps = '/sys/class/net/eth0/queues/rx-0/rps_cpus';
  it('a CPU mask naming CPUs the host does not have is refused, the value not repeated in full', () => {
    const e = sysfs(rps, Array(600).fill('ffffffff').join(','));
    expect(e).toMatch(/names CPU 19199; this host has CPUs/);
    expect(e.length).toBeLessThan(300);
    expect(sysfs(rps, 'f'.repeat(5000))).toMatch(/expected a hex mask \(32-bit groups/); // bitmap_parse takes 8 digits a group
    expect(sysfs(rps, '4')).toMatch(/names CPU 2/);
    expect(sysfs(rps, '3')).toBe('');
  });
  it('a mask of only commas, or with empty groups, is refused', () => {
    expect(sysfs(rps, ',,,,')).toMatch(/expected a hex mask/);
    expect(sysfs(rps, '1,,2')).toMatch(/expected a hex mask/);
    expect(sysfs('/sys/class/net/eth0/queues/rx-0/rps_flow_cnt', 'ff')).toMatch(/expected a decimal number/);
    expect(sysfs('/sys/class/net/eth0/queues/rx-0/rps_flow_cnt', '4096')).toBe('');
  });
  it('a newline in an ethtool field stays inside one quoted line', () => {
    const e = validateChanges([{ change: { kind: 'ethtool', device: 'p0\nx', group: 'features', setting: 'tso', from: null, to: 'on' }, reason: 'r', source: 'plan' }], snapshotFixture()).errors.join('; ');
    expect(e).toBe('ethtool "p0\\nx": no such device');
    const f = validateChanges([{ change: { kind: 'ethtool', device: 'eth0', group: 'features', setting: 'rx\ntx', from: null, to: '2\n3' }, reason: 'r', source: 'plan' }], snapshotFixture()).errors.join('; ');
    expect(f.split('\n')).toHaveLength(1);
  });
});
