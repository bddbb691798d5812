// The three files routes and rules are persisted in, rendered from fixtures: the systemd-networkd
// drop-in ([Route] / [RoutingPolicyRule] as systemd.network(5) of systemd 252 names them), the
// ifupdown hooks (ip commands per $IFACE) and nettune-route.service (systemd-analyze verify where
// installed); rules with and without a source prefix, IPv6, a table's default route, a connected
// route; each file's entries read back exactly (a later transaction merges with them).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  entryId,
  mergeEntries,
  networkdRouteSection,
  parseRoutingEntries,
  renderIfupdownHook,
  renderNetworkdDropin,
  renderRouteUnit,
  routingAddArgs,
  routingDelArgs,
  type RoutingEntry,
} from '../../src/apply/persist-routes.js';
import { canonicalWanted, type RoutingChange } from '../../src/plan/multihomed-kinds.js';
import { parseExec } from '../../src/apply/systemd-exec.js';

type Spec = { kind: 'route'; family: 'inet' | 'inet6'; table: number; dst: string; metric: number; to: string } | { kind: 'rule'; family: 'inet' | 'inet6'; priority: number; to: string };
const entry = (s: Spec, iface: string | null, comment: string, netns: string | null = null): RoutingEntry => {
  const c = { ...s, from: null } as RoutingChange;
  return {
    target: s.kind === 'route' ? { kind: 'route', family: s.family, table: s.table, dst: s.dst, metric: s.metric } : { kind: 'rule', family: s.family, priority: s.priority },
    value: canonicalWanted(c),
    iface,
    netns,
    comment,
  };
};

const TABLE_DEFAULT = entry({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0, to: 'via 198.18.1.1 dev eth1' }, 'eth1', 'default route of table 100');
const CONNECTED = entry({ kind: 'route', family: 'inet', table: 100, dst: '198.18.1.0/24', metric: 0, to: 'dev eth1 src 198.18.1.2' }, 'eth1', 'connected prefix');
const RULE_FROM = entry({ kind: 'rule', family: 'inet', priority: 1000, to: 'from 198.18.1.2/32 lookup 100' }, 'eth1', 'replies from 198.18.1.2');
const RULE_NO_SOURCE = entry({ kind: 'rule', family: 'inet', priority: 1001, to: 'fwmark 0x10/0xff iif eth1 lookup 100' }, 'eth1', 'marked traffic');
const V6_DEFAULT = entry({ kind: 'route', family: 'inet6', table: 200, dst: '::/0', metric: 1024, to: 'via 2001:db8::1 dev eth1' }, 'eth1', 'IPv6 default of table 200');
const V6_RULE = entry({ kind: 'rule', family: 'inet6', priority: 1002, to: 'from 2001:db8::2/128 lookup 200' }, 'eth1', 'IPv6 replies');
const ALL = [RULE_FROM, TABLE_DEFAULT, CONNECTED, RULE_NO_SOURCE, V6_DEFAULT, V6_RULE];
const H = { tx: 7, at: '2026-12-02T06:00:00.000Z' };

/** The sections of an INI-like file: [name, key=value lines], comments and blanks left out. */
const sections = (text: string): [string, string[]][] => {
  const out: [string, string[]][] = [];
  for (const l of text.split('\n')) {
    if (/^\[.+\]$/.test(l)) out.push([l, []]);
    else if (l && !l.startsWith('#')) out[out.length - 1]?.[1].push(l);
  }
  return out;
};

describe('systemd-networkd drop-in', () => {
  const text = renderNetworkdDropin('/etc/systemd/network/10-eth1.network', 'eth1', ALL, H);

  it('a [Route] per route (routes first), a [RoutingPolicyRule] per rule, every field explicit', () => {
    expect(sections(text)).toEqual([
      ['[Route]', ['Destination=0.0.0.0/0', 'Gateway=198.18.1.1', 'Protocol=boot', 'Scope=global', 'Table=100', 'Metric=0']],
      ['[Route]', ['Destination=198.18.1.0/24', 'Protocol=boot', 'Scope=link', 'PreferredSource=198.18.1.2', 'Table=100', 'Metric=0']],
      // IPv6: Scope= is "not used for IPv6" (systemd.network(5)); the preference is IPv6Preference=
      ['[Route]', ['Destination=::/0', 'Gateway=2001:db8::1', 'Protocol=boot', 'IPv6Preference=medium', 'Table=200', 'Metric=1024']],
      ['[RoutingPolicyRule]', ['From=198.18.1.2/32', 'Table=100', 'Priority=1000', 'Family=ipv4']],
      // no source prefix: no From= (from all), the mark in decimal value/mask
      ['[RoutingPolicyRule]', ['FirewallMark=16/255', 'IncomingInterface=eth1', 'Table=100', 'Priority=1001', 'Family=ipv4']],
      ['[RoutingPolicyRule]', ['From=2001:db8::2/128', 'Table=200', 'Priority=1002', 'Family=ipv6']],
    ]);
    expect(text).toMatch(/^# nettune: written by nettune .*, transaction 7, /);
    expect(text).toContain('# Undo with: nettune rollback 7');
  });

  it('several rules at one priority are one section each; an inverted rule and a typed route', () => {
    const two = entry({ kind: 'rule', family: 'inet', priority: 1500, to: 'from 198.18.2.0/24 lookup 101 ; not from 198.18.3.0/24 unreachable' }, 'eth1', 'two');
    const bh = entry({ kind: 'route', family: 'inet', table: 101, dst: '198.18.9.0/24', metric: 5, to: 'blackhole' }, 'eth1', 'bh');
    const s = sections(renderNetworkdDropin('/run/systemd/network/x.network', 'eth1', [two, bh], H));
    expect(s).toEqual([
      ['[Route]', ['Destination=198.18.9.0/24', 'Type=blackhole', 'Protocol=boot', 'Scope=global', 'Table=101', 'Metric=5']],
      ['[RoutingPolicyRule]', ['From=198.18.2.0/24', 'Table=101', 'Priority=1500', 'Family=ipv4']],
      ['[RoutingPolicyRule]', ['InvertRule=yes', 'From=198.18.3.0/24', 'Type=unreachable', 'Priority=1500', 'Family=ipv4']],
    ]);
  });

  it('what networkd cannot say is refused, not written differently', () => {
    expect(() => networkdRouteSection({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0 }, 'via 198.18.1.1 dev eth2 proto boot scope global', 'eth1')).toThrow(/dev eth2 is not eth1/);
    expect(() => networkdRouteSection({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0 }, 'via 198.18.1.1 dev eth1 proto nosuchproto scope global', 'eth1')).toThrow(/proto nosuchproto/);
    expect(() => networkdRouteSection({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0 }, 'nexthop dev eth1', 'eth1')).toThrow(/MultiPathRoute= needs one/);
    // iproute2's rt_protos names networkd does not know become their numbers
    expect(networkdRouteSection({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0 }, 'via 198.18.1.1 dev eth1 proto bird scope global', 'eth1')).toContain('Protocol=12');
    expect(networkdRouteSection({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0 }, 'nexthop via 198.18.1.1 dev eth1 weight 2 nexthop via 198.18.2.1 dev eth2', 'eth1')).toEqual([
      '[Route]', 'Destination=0.0.0.0/0', 'Protocol=boot', 'Scope=global', 'MultiPathRoute=198.18.1.1@eth1 2', 'MultiPathRoute=198.18.2.1@eth2 1', 'Table=100', 'Metric=0',
    ]);
    expect(() => renderNetworkdDropin('/etc/systemd/network/a.network', 'eth1', [{ ...CONNECTED, netns: 'nsx' }], H)).toThrow(/initial namespace/);
  });

  it('entries read back exactly, with their comments', () => {
    const back = parseRoutingEntries(text);
    expect(back.dropped).toEqual([]);
    expect(back.entries.map(entryId).sort()).toEqual(ALL.map(entryId).sort());
    for (const e of ALL) expect(back.entries.find((b) => entryId(b) === entryId(e))).toEqual(e);
  });
});

describe('ifupdown hooks', () => {
  const up = renderIfupdownHook(ALL, 'up', H);
  const down = renderIfupdownHook(ALL, 'down', H);
  const cmds = (t: string): string[] => t.split('\n').filter((l) => l.startsWith('\tfam ')).map((l) => l.trim());

  it('up: routes (ip route replace) before rules (ip rule add), each guarded by the stanza family', () => {
    expect(up.startsWith('#!/bin/sh\n')).toBe(true);
    expect(up).toContain('[ "${MODE:-}" = start ] || exit 0');
    expect(cmds(up)).toEqual([
      'fam inet && nt_ip -4 route replace 0.0.0.0/0 table 100 metric 0 via 198.18.1.1 dev eth1 proto boot scope global',
      'fam inet && nt_ip -4 route replace 198.18.1.0/24 table 100 metric 0 dev eth1 proto boot scope link src 198.18.1.2',
      'fam inet6 && nt_ip -6 route replace ::/0 table 200 metric 1024 via 2001:db8::1 dev eth1 proto boot scope global pref medium',
      'fam inet && nt_ip -4 rule add from 198.18.1.2/32 lookup 100 priority 1000',
      'fam inet && nt_ip -4 rule add from all fwmark 0x10/0xff iif eth1 lookup 100 priority 1001',
      'fam inet6 && nt_ip -6 rule add from 2001:db8::2/128 lookup 200 priority 1002',
    ]);
  });

  it('down: the same in reverse, as deletions', () => {
    expect(down).toContain('[ "${MODE:-}" = stop ] || exit 0');
    expect(cmds(down)).toEqual([
      'fam inet6 && nt_ip -6 rule del from 2001:db8::2/128 lookup 200 priority 1002',
      'fam inet && nt_ip -4 rule del from all fwmark 0x10/0xff iif eth1 lookup 100 priority 1001',
      'fam inet && nt_ip -4 rule del from 198.18.1.2/32 lookup 100 priority 1000',
      'fam inet6 && nt_ip -6 route del ::/0 table 200 metric 1024',
      'fam inet && nt_ip -4 route del 198.18.1.0/24 table 100 metric 0',
      'fam inet && nt_ip -4 route del 0.0.0.0/0 table 100 metric 0',
    ]);
  });

  it('one case per interface; sh -n accepts both; entries read back from either', () => {
    const other = entry({ kind: 'route', family: 'inet', table: 101, dst: '0.0.0.0/0', metric: 0, to: 'via 198.18.2.1 dev eth2.7' }, 'eth2.7', 'second path');
    const two = renderIfupdownHook([...ALL, other], 'up', H);
    expect(two.split('\n').filter((l) => /^'[^']+'\)$/.test(l))).toEqual(["'eth1')", "'eth2.7')"]);
    for (const t of [two, renderIfupdownHook([...ALL, other], 'down', H)]) {
      const r = spawnSync('sh', ['-n'], { input: t, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(parseRoutingEntries(t).entries.map(entryId).sort()).toEqual([...ALL, other].map(entryId).sort());
    }
    expect(() => renderIfupdownHook([{ ...CONNECTED, iface: null }], 'up', H)).toThrow(/needs an interface/);
    expect(() => renderIfupdownHook([{ ...CONNECTED, iface: "x';id" }], 'up', H)).toThrow(/refusing/);
  });
});

describe('nettune-route.service', () => {
  const unit = renderRouteUnit(ALL, H);
  const lines = (prefix: string): string[] => unit.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));

  it('ExecStart makes routes then rules (each rule deleted first, so a restart adds it once); ExecStop removes them in reverse', () => {
    const start = lines('ExecStart=').map((l) => (l.startsWith('-') ? `-${parseExec(l.slice(1)).argv.join(' ')}` : parseExec(l).argv.join(' ')));
    expect(start).toEqual([
      '/usr/sbin/ip -4 route replace 0.0.0.0/0 table 100 metric 0 via 198.18.1.1 dev eth1 proto boot scope global',
      '/usr/sbin/ip -4 route replace 198.18.1.0/24 table 100 metric 0 dev eth1 proto boot scope link src 198.18.1.2',
      '/usr/sbin/ip -6 route replace ::/0 table 200 metric 1024 via 2001:db8::1 dev eth1 proto boot scope global pref medium',
      '-/usr/sbin/ip -4 rule del from 198.18.1.2/32 lookup 100 priority 1000',
      '/usr/sbin/ip -4 rule add from 198.18.1.2/32 lookup 100 priority 1000',
      '-/usr/sbin/ip -4 rule del from all fwmark 0x10/0xff iif eth1 lookup 100 priority 1001',
      '/usr/sbin/ip -4 rule add from all fwmark 0x10/0xff iif eth1 lookup 100 priority 1001',
      '-/usr/sbin/ip -6 rule del from 2001:db8::2/128 lookup 200 priority 1002',
      '/usr/sbin/ip -6 rule add from 2001:db8::2/128 lookup 200 priority 1002',
    ]);
    expect(lines('ExecStop=')).toHaveLength(6);
    expect(lines('ExecStop=').every((l) => l.startsWith('-/usr/sbin/ip '))).toBe(true);
    expect(parseRoutingEntries(unit).entries.map(entryId).sort()).toEqual(ALL.map(entryId).sort());
  });

  it('a namespace is ip -n NS', () => {
    const ns = renderRouteUnit([{ ...CONNECTED, netns: 'nt-lab-a' }], H);
    expect(ns).toContain('ExecStart=/usr/sbin/ip -n nt-lab-a -4 route replace 198.18.1.0/24 table 100 metric 0 dev eth1');
    expect(() => renderRouteUnit([{ ...CONNECTED, netns: 'bad name' }], H)).toThrow();
  });

  it('systemd-analyze verify accepts it (where systemd is installed)', () => {
    const tool = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => spawnSync(p, ['--version']).status === 0);
    if (!tool) return;
    const dir = mkdtempSync(join(tmpdir(), 'nettune-route-unit-'));
    try {
      const path = join(dir, 'nettune-route.service');
      writeFileSync(path, unit);
      const r = spawnSync(tool, ['verify', '--man=no', path], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/nettune-route\.service:\d+:/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('entries across transactions', () => {
  it('a later entry replaces one with the same target; removed ids go; a line that does not validate is dropped', () => {
    const changed = { ...TABLE_DEFAULT, value: canonicalWanted({ kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0, from: null, to: 'via 198.18.1.254 dev eth1' }) };
    const merged = mergeEntries(ALL, [changed], new Set([entryId(V6_RULE)]));
    expect(merged.map(entryId)).toEqual([...ALL.filter((e) => e !== TABLE_DEFAULT && e !== V6_RULE), changed].map(entryId));
    const bad = `${renderRouteUnit([CONNECTED], H)}# nettune-entry {"target":{"kind":"route","family":"inet","table":100,"dst":"0.0.0.0/0","metric":0},"value":"via 198.18.1.1 dev a;b","iface":null,"netns":null}\n`;
    const back = parseRoutingEntries(bad);
    expect(back.entries).toEqual([CONNECTED]);
    expect(back.dropped).toHaveLength(1);
  });

  it('add and delete argument vectors mirror each other', () => {
    expect(routingAddArgs(RULE_FROM)).toEqual([['-4', 'rule', 'add', 'from', '198.18.1.2/32', 'lookup', '100', 'priority', '1000']]);
    expect(routingDelArgs(RULE_FROM)).toEqual([['-4', 'rule', 'del', 'from', '198.18.1.2/32', 'lookup', '100', 'priority', '1000']]);
    expect(routingDelArgs(CONNECTED)).toEqual([['-4', 'route', 'del', '198.18.1.0/24', 'table', '100', 'metric', '0']]);
  });
});
