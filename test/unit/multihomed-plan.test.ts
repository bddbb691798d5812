// The multihomed planner on a Snapshot: one table and one rule per source, ids free of what the
// Snapshot uses, routes before rules, rp_filter only where strict, ARP knobs only on a shared
// subnet, nothing proposed twice on a re-plan, and --iface refused before anything runs.
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/index.js';
import { checkIfacesIn, parseIfaces } from '../../src/plan/multihomed.js';
import type { Snapshot } from '../../src/snapshot/index.js';
import { snapshotFixture } from '../helpers.js';

function host(addrs: Record<string, [string, number]>, sysctl: Record<string, string> = {}, extra: Partial<Pick<Snapshot, 'routes' | 'rules'>> = {}): Snapshot {
  const s = snapshotFixture();
  const base = s.links.find((l) => l.name !== 'lo') ?? s.links[0];
  if (!base) throw new Error('fixture has no link');
  s.links = Object.entries(addrs).map(([name, [local, prefixlen]]) => ({ ...base, name, addresses: [{ family: 'inet', local, prefixlen }] }));
  s.sysctl = { ...s.sysctl, 'net.ipv4.conf.all.rp_filter': '0', ...Object.fromEntries(Object.keys(addrs).flatMap((n) => [[`net.ipv4.conf.${n}.rp_filter`, '0'], [`net.ipv4.conf.${n}.arp_filter`, '0'], [`net.ipv4.conf.${n}.arp_ignore`, '0'], [`net.ipv4.conf.${n}.arp_announce`, '0']])), ...sysctl };
  s.routes = extra.routes ?? [{ dst: 'default', gateway: '198.18.0.1', dev: 'nt0', flags: [], family: 'inet' }];
  s.rules = extra.rules ?? [
    { priority: 0, src: 'all', table: 'local', family: 'inet' },
    { priority: 32766, src: 'all', table: 'main', family: 'inet' },
    { priority: 32767, src: 'all', table: 'default', family: 'inet' },
  ];
  return s;
}
const IFACES = ['nt0=198.18.0.2/30,gw=198.18.0.1', 'nt1=198.18.0.6/30,gw=198.18.0.5'];
const plan = (snap: Snapshot, flags = IFACES) => {
  const ifaces = parseIfaces(flags);
  checkIfacesIn(snap, ifaces);
  return buildPlan(snap, { workload: 'multihomed', link: null, conns: null, dead_peer_s: null, ifaces });
};
const mine = (p: ReturnType<typeof plan>) => p.changes.filter((c) => c.source === 'intent:multihomed');

describe('plan --workload multihomed', () => {
  it('a table and a rule per source, routes before rules, ids free of the Snapshot', () => {
    const snap = host(
      { nt0: ['198.18.0.2', 30], nt1: ['198.18.0.6', 30] },
      {},
      {
        routes: [{ dst: '10.0.0.0/8', dev: 'nt0', table: '100', flags: [], family: 'inet' }],
        rules: [{ priority: 0, src: 'all', table: 'local', family: 'inet' }, { priority: 1000, src: 'all', table: '100', family: 'inet' }, { priority: 32766, src: 'all', table: 'main', family: 'inet' }],
      },
    );
    const p = plan(snap);
    expect(mine(p).map((c) => (c.kind === 'route' ? `route ${c.table} ${c.dst} = ${c.to}` : c.kind === 'rule' ? `rule ${c.priority} = ${c.to}` : c.kind))).toEqual([
      'route 101 198.18.0.0/30 = dev nt0 proto static scope link src 198.18.0.2',
      'route 101 0.0.0.0/0 = via 198.18.0.1 dev nt0 proto static scope global',
      'route 102 198.18.0.4/30 = dev nt1 proto static scope link src 198.18.0.6',
      'route 102 0.0.0.0/0 = via 198.18.0.5 dev nt1 proto static scope global',
      'rule 1001 = from 198.18.0.2/32 lookup 101',
      'rule 1002 = from 198.18.0.6/32 lookup 102',
    ]);
    expect(p.params.ifaces).toBe(IFACES.join(' '));
    for (const c of mine(p)) expect(c.reason.length).toBeGreaterThan(60);
  });

  it('rp_filter loose only where max(all, IF) is strict', () => {
    const p = plan(host({ nt0: ['198.18.0.2', 30], nt1: ['198.18.0.6', 30] }, { 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.nt0.rp_filter': '1', 'net.ipv4.conf.nt1.rp_filter': '2' }));
    const rp = mine(p).filter((c) => c.kind === 'sysctl');
    expect(rp.map((c) => (c.kind === 'sysctl' ? `${c.key}=${c.to}` : ''))).toEqual(['net.ipv4.conf.nt0.rp_filter=2']);
    expect(rp[0]?.reason).toMatch(/max\(conf\.all\.rp_filter 0, conf\.nt0\.rp_filter 1\) = 1/);
    expect(p.skipped.find((s) => s.key === 'net.ipv4.conf.nt1.rp_filter')?.reason).toMatch(/already 2 \(loose\)/);
    const all = plan(host({ nt0: ['198.18.0.2', 30], nt1: ['198.18.0.6', 30] }, { 'net.ipv4.conf.all.rp_filter': '1' }));
    expect(mine(all).filter((c) => c.kind === 'sysctl').map((c) => (c.kind === 'sysctl' ? c.key : ''))).toEqual(['net.ipv4.conf.nt0.rp_filter', 'net.ipv4.conf.nt1.rp_filter']);
  });

  it('two interfaces on one subnet get arp_filter, arp_ignore and arp_announce; separate subnets none', () => {
    const shared = plan(host({ eth0: ['198.18.5.10', 24], eth1: ['198.18.5.11', 24] }), ['eth0=198.18.5.10/24,gw=198.18.5.1', 'eth1=198.18.5.11/24,gw=198.18.5.1']);
    const keys = mine(shared).flatMap((c) => (c.kind === 'sysctl' ? [`${c.key}=${c.to}`] : []));
    expect(keys).toEqual(['net.ipv4.conf.eth0.arp_filter=1', 'net.ipv4.conf.eth0.arp_ignore=1', 'net.ipv4.conf.eth0.arp_announce=2', 'net.ipv4.conf.eth1.arp_filter=1', 'net.ipv4.conf.eth1.arp_ignore=1', 'net.ipv4.conf.eth1.arp_announce=2']);
    expect(mine(plan(host({ nt0: ['198.18.0.2', 30], nt1: ['198.18.0.6', 30] }))).some((c) => c.kind === 'sysctl' && /arp_/.test(c.key))).toBe(false);
  });

  it('a re-plan after apply proposes nothing: the existing rule and table are reused', () => {
    const snap = host({ nt0: ['198.18.0.2', 30], nt1: ['198.18.0.6', 30] }, {}, {
      routes: [
        { dst: '198.18.0.0/30', dev: 'nt0', table: '100', protocol: 'static', scope: 'link', prefsrc: '198.18.0.2', flags: [], family: 'inet' },
        { dst: 'default', gateway: '198.18.0.1', dev: 'nt0', table: '100', protocol: 'static', flags: [], family: 'inet' },
        { dst: '198.18.0.4/30', dev: 'nt1', table: '101', protocol: 'static', scope: 'link', prefsrc: '198.18.0.6', flags: [], family: 'inet' },
        { dst: 'default', gateway: '198.18.0.5', dev: 'nt1', table: '101', protocol: 'static', flags: [], family: 'inet' },
      ],
      rules: [{ priority: 1000, src: '198.18.0.2', table: '100', family: 'inet' }, { priority: 1001, src: '198.18.0.6', table: '101', family: 'inet' }],
    });
    const p = plan(snap);
    expect(mine(p)).toEqual([]);
    expect(p.skipped.filter((s) => s.source === 'intent:multihomed').map((s) => s.key)).toEqual(expect.arrayContaining(['route table 100 default', 'rule 1001']));
  });

  it('--iface is refused (exit 2) before anything runs', () => {
    const bad = (f: string[]): string => {
      try {
        parseIfaces(f);
        return 'accepted';
      } catch (err) {
        expect((err as { exitCode?: number }).exitCode ?? 2).toBe(2);
        return (err as Error).message;
      }
    };
    expect(bad(['nt0=198.18.0.2/30'])).toMatch(/expected IF=ADDR\/PREFIX,gw=GATEWAY/);
    expect(bad(['nt0=198.18.0.2/30,gw=198.18.1.1'])).toMatch(/not inside 198\.18\.0\.0\/30/);
    expect(bad(['nt0=198.18.0.2/33,gw=198.18.0.1'])).toMatch(/out of range/);
    expect(bad(['nt0=198.18.0.2/30,gw=fe80::1'])).toMatch(/not an IPv4/);
    expect(bad(['nt0=198.18.0.2/30,gw=198.18.0.2'])).toMatch(/own address/);
    expect(bad(['a;b=198.18.0.2/30,gw=198.18.0.1'])).toMatch(/not an interface name/);
    expect(bad([IFACES[0] as string, IFACES[0] as string])).toMatch(/given twice/);
    expect(() => checkIfacesIn(host({ nt0: ['198.18.0.2', 29] }), parseIfaces(['nt0=198.18.0.3/29,gw=198.18.0.1']))).toThrow(/does not hold 198\.18\.0\.3\/29/);
    // an interface address keeps its host bits; the subnet's network and broadcast addresses are not hosts
    expect(bad(['nt0=198.18.0.0/30,gw=198.18.0.1'])).toMatch(/198\.18\.0\.0 is the network address of 198\.18\.0\.0\/30.*198\.18\.0\.1–198\.18\.0\.2/);
    expect(bad(['nt0=198.18.0.3/30,gw=198.18.0.1'])).toMatch(/broadcast address/);
    expect(bad(['nt0=198.18.0.1/30,gw=198.18.0.3'])).toMatch(/gw 198\.18\.0\.3 is the broadcast address/);
    expect(bad(['nt0=198.18.0.0/31,gw=198.18.0.1'])).toBe('accepted'); // RFC 3021: both addresses of a /31 are hosts
    expect(() => checkIfacesIn(host({ nt0: ['198.18.0.2', 30] }), parseIfaces(IFACES))).toThrow(/nt1: no such interface/);
  });

  it('IPv6: a link-local or global gateway, no scope on the connected route, nothing again on a re-plan', () => {
    const snap = host({ nt0: ['198.18.0.2', 30], nt1: ['198.18.0.6', 30] });
    snap.links = snap.links.map((l, i) => ({ ...l, addresses: [{ family: 'inet6', local: `2001:db8:${i + 1}::2`, prefixlen: 64 }] }));
    const six = ['nt0=2001:db8:1::2/64,gw=fe80::1', 'nt1=2001:0db8:2::2/64,gw=2001:db8:2::1'];
    const p = plan(snap, six);
    expect(mine(p).map((c) => (c.kind === 'route' ? `route6 ${c.table} ${c.dst} ${c.metric} = ${c.to}` : c.kind === 'rule' ? `rule6 ${c.priority} = ${c.to}` : c.kind))).toEqual([
      'route6 100 2001:db8:1::/64 1024 = dev nt0 proto static scope global src 2001:db8:1::2 pref medium',
      'route6 100 ::/0 1024 = via fe80::1 dev nt0 proto static scope global pref medium',
      'route6 101 2001:db8:2::/64 1024 = dev nt1 proto static scope global src 2001:db8:2::2 pref medium',
      'route6 101 ::/0 1024 = via 2001:db8:2::1 dev nt1 proto static scope global pref medium',
      'rule6 1000 = from 2001:db8:1::2/128 lookup 100',
      'rule6 1001 = from 2001:db8:2::2/128 lookup 101',
    ]);
    // no rp_filter/ARP knobs for IPv6
    expect(mine(p).filter((c) => c.kind === 'sysctl')).toEqual([]);
    // the Snapshot after applying it, as ip -6 -j prints those routes and rules
    const applied = host({ nt0: ['198.18.0.2', 30], nt1: ['198.18.0.6', 30] }, {}, {
      routes: [
        { dst: '2001:db8:1::/64', dev: 'nt0', table: '100', protocol: 'static', prefsrc: '2001:db8:1::2', metric: 1024, flags: [], pref: 'medium', family: 'inet6' },
        { dst: 'default', gateway: 'fe80::1', dev: 'nt0', table: '100', protocol: 'static', metric: 1024, flags: [], pref: 'medium', family: 'inet6' },
        { dst: '2001:db8:2::/64', dev: 'nt1', table: '101', protocol: 'static', prefsrc: '2001:db8:2::2', metric: 1024, flags: [], pref: 'medium', family: 'inet6' },
        { dst: 'default', gateway: '2001:db8:2::1', dev: 'nt1', table: '101', protocol: 'static', metric: 1024, flags: [], pref: 'medium', family: 'inet6' },
      ],
      rules: [
        { priority: 0, src: 'all', table: 'local', family: 'inet6' },
        { priority: 1000, src: '2001:db8:1::2', table: '100', family: 'inet6' },
        { priority: 1001, src: '2001:db8:2::2', table: '101', family: 'inet6' },
        { priority: 32766, src: 'all', table: 'main', family: 'inet6' },
      ],
    });
    applied.links = snap.links;
    const again = plan(applied, six);
    expect(mine(again)).toEqual([]);
    expect(again.skipped.map((s) => s.key)).toEqual(expect.arrayContaining(['route6 table 100 default', 'route6 table 101 2001:db8:2::/64', 'rule6 1000', 'rule6 1001']));
    expect(() => parseIfaces(['nt0=2001:db8:1::2/64,gw=2001:db8:9::1'])).toThrow(/not inside 2001:db8:1::\/64 nor link-local/);
    expect(() => parseIfaces(['nt0=198.18.0.2/30,gw=fe80::1'])).toThrow(/not an IPv4 address/);
  });
});
