// Kind nft on fixtures captured here (test/fixtures/nft: rulesets loaded into a test namespace with
// nft 1.0.6 and listed back with `nft list` / `nft -j list`): the NOTRACK renderer against nft's
// own listing, the ruleset parser, the stateful-filter check, and the table validator.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { docFromPlan } from '../../src/export/source.js';
import { renderSystemd } from '../../src/export/systemd.js';
import { ansibleKinds } from '../../src/export/ansible-kinds.js';
import { nftBootFile, nftFileStem, nftScript, nftShellCommand, nftTableProblem, nftTableShape, nftTextShape, nftPersistFiles, textChains, unitLines } from '../../src/apply/kind-nft.js';
import { parseNftJson } from '../../src/probe/parse-nft.js';
import { iptablesLine, mergeRanges, parseNotrack, renderNotrackIptables, renderNotrackTable, type NotrackSpec } from '../../src/plan/notrack.js';
import { notrackWarnings } from '../../src/plan/notrack-check.js';
import { planNotrack, withNotrack } from '../../src/plan/notrack-plan.js';
import { emptyPlan } from '../../src/plan/index.js';
import { planSchema } from '../../src/plan/schema.js';
import { snapshotSchema } from '../../src/snapshot/schema.js';
import { validateChanges } from '../../src/apply/validate.js';
import { fixture, snapshotFixture } from '../helpers.js';

const fx = (name: string): string => readFileSync(new URL(`../fixtures/nft/${name}`, import.meta.url), 'utf8');
const ruleset = (name: string) => {
  const p = parseNftJson(fx(name));
  expect(p.problems).toEqual([]);
  if (!p.data) throw new Error('no ruleset');
  return p.data;
};
const spec = (args: string[], direction?: string): NotrackSpec => {
  const s = parseNotrack(args, direction);
  if (typeof s === 'string') throw new Error(s);
  return s;
};
const T = { kind: 'nft', family: 'inet', table: 'nettune_raw' } as const;

describe('--notrack parsing', () => {
  it('reads protocol groups, ranges and repeats; merges what nft would merge', () => {
    expect(spec(['tcp:80,443,udp:53'])).toEqual({ direction: 'in', services: [{ proto: 'tcp', ports: [[80, 80], [443, 443]] }, { proto: 'udp', ports: [[53, 53]] }] });
    expect(spec(['udp:5000-5010', 'tcp:443', 'udp:53'], 'both').services).toEqual([{ proto: 'tcp', ports: [[443, 443]] }, { proto: 'udp', ports: [[53, 53], [5000, 5010]] }]);
    expect(mergeRanges([[81, 81], [80, 80], [90, 100], [95, 120]])).toEqual([[80, 81], [90, 120]]);
  });
  it('refuses bad protocols, ports, ranges and directions with one line each', () => {
    expect(parseNotrack(['80'], undefined)).toMatch(/start with a protocol/);
    expect(parseNotrack(['icmp:1'], undefined)).toMatch(/unknown protocol "icmp"/);
    expect(parseNotrack(['tcp:0'], undefined)).toMatch(/outside 1-65535/);
    expect(parseNotrack(['tcp:65536'], undefined)).toMatch(/outside 1-65535/);
    expect(parseNotrack(['tcp:90-80'], undefined)).toMatch(/runs backwards/);
    expect(parseNotrack(['tcp:80,'], undefined)).toMatch(/not a port/);
    expect(parseNotrack(['tcp:http'], undefined)).toMatch(/not a port/);
    expect(parseNotrack(['tcp:80'], 'sideways')).toMatch(/in, out or both/);
    expect(parseNotrack([], undefined)).toMatch(/at least one/);
  });
});

describe('the NOTRACK table', () => {
  it('is byte for byte what nft 1.0.6 lists after loading it, for each direction', () => {
    expect(renderNotrackTable(spec(['tcp:80,443,udp:53'], 'in'))).toBe(fx('notrack-in.nft'));
    expect(renderNotrackTable(spec(['tcp:80,81,443,8000-8100,udp:53,5000-5010'], 'both'))).toBe(fx('notrack-both.nft'));
    expect(renderNotrackTable(spec(['udp:53'], 'out'))).toBe(fx('notrack-out.nft'));
  });
  it('in = dport on prerouting + sport on output; out is the mirror', () => {
    const read = (d: string) => ruleset(`notrack-${d}.json`).tables[0]?.chains.map((c) => [c.name, c.hook, c.prio, c.rules.map((r) => r.text)]);
    expect(read('in')).toEqual([
      ['prerouting', 'prerouting', -300, ['tcp dport { 80, 443 } notrack', 'udp dport 53 notrack']],
      ['output', 'output', -300, ['tcp sport { 80, 443 } notrack', 'udp sport 53 notrack']],
    ]);
    expect(read('out')).toEqual([
      ['prerouting', 'prerouting', -300, ['udp sport 53 notrack']],
      ['output', 'output', -300, ['udp dport 53 notrack']],
    ]);
  });
  it('has the iptables equivalent for both families (multiport only for several ports, ranges with :)', () => {
    const lines = renderNotrackIptables(spec(['tcp:80,443', 'udp:5000-5010'], 'in')).map(iptablesLine);
    expect(lines).toContain('iptables -t raw -A PREROUTING -p tcp -m multiport --dports 80,443 -m comment --comment nettune_raw -j CT --notrack');
    expect(lines).toContain('ip6tables -t raw -A OUTPUT -p udp --sport 5000:5010 -m comment --comment nettune_raw -j CT --notrack');
    expect(lines).toHaveLength(8);
    // multiport takes 15 ports: 20 single ports are two rules per chain and family
    const many = spec([`tcp:${Array.from({ length: 20 }, (_, i) => 1000 + 2 * i).join(',')}`], 'in');
    expect(renderNotrackIptables(many).filter((c) => c.tool === 'iptables' && c.args[3] === 'PREROUTING')).toHaveLength(2);
  });
});

describe('a plan file\'s nft change', () => {
  it('whose table was edited by hand while its NOTRACK spec stayed is not a valid plan (the warnings and the iptables fallback follow the spec)', () => {
    const sp = spec(['tcp:80']);
    const plan = withNotrack(emptyPlan(snapshotFixture()), snapshotFixture(), sp);
    expect(planSchema.safeParse(JSON.parse(JSON.stringify(plan))).success).toBe(true);
    const edited = JSON.parse(JSON.stringify(plan)) as { changes: { to: string; notrack?: unknown }[] };
    const c = edited.changes[0];
    if (!c) throw new Error('no change');
    c.to = c.to.replace(/80/g, '22');
    const r = planSchema.safeParse(edited);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['changes.0.notrack', expect.stringMatching(/not what this NOTRACK spec renders/)]]);
    delete c.notrack; // the text on its own is a table like any other
    expect(planSchema.safeParse(edited).success).toBe(true);
  });
});

describe('nft -j list ruleset parsing', () => {
  it('keeps tables, base chains (hook, priority, policy) and rules (matches, verdicts)', () => {
    const r = ruleset('stateful.json');
    expect(r.version).toBe('1.0.6');
    const input = r.tables[0]?.chains[0];
    expect(input).toMatchObject({ name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'drop' });
    expect(input?.rules.map((x) => x.text)).toEqual([
      'ct state established,related accept',
      'ct state invalid drop',
      'meta iifname lo accept',
      'tcp dport 22 accept',
      'tcp dport { 80, 443 } ct state new accept',
      'meta l4proto { icmp, ipv6-icmp } accept',
    ]);
    expect(input?.rules[0]).toMatchObject({ handle: 4, verdict: { kind: 'accept', target: null }, matches: [{ key: 'ct state', op: 'in', values: ['established', 'related'] }] });
    const nat = ruleset('reject.json').tables.find((t) => t.name === 'nat');
    expect(nat?.chains[0]).toMatchObject({ type: 'nat', hook: 'postrouting', prio: 100 });
    expect(nat?.chains[0]?.rules[0]).toMatchObject({ nat: true, text: 'meta oifname eth0 masquerade' });
    expect(ruleset('router.json').tables[0]?.chains[1]).toMatchObject({ name: 'allowed', hook: null, rules: [{ text: 'tcp dport 8080 accept' }] });
    expect(ruleset('empty.json').tables).toEqual([]);
  });
  it('says why when the text is not a ruleset', () => {
    expect(parseNftJson('Error: Operation not permitted').problems[0]).toMatch(/not JSON/);
    expect(parseNftJson('{"x":1}').problems[0]).toMatch(/no "nftables" array/);
  });
  it('a Snapshot from before the field parses with nft null', () => {
    const snap = snapshotSchema.parse(JSON.parse(readFileSync(new URL('../fixtures/snapshot-6.18.json', import.meta.url), 'utf8')));
    expect(snap.nft).toBeNull();
  });
});

describe('stateful filtering that would drop the untracked traffic', () => {
  it('ct state established,related accept + policy drop: warns with the rule to add after it', () => {
    const w = notrackWarnings(ruleset('stateful.json'), spec(['tcp:80,443,udp:53']));
    expect(w.map((x) => [x.chain, x.traffic, x.dropped_by, x.fix])).toEqual([
      ['inet filter input', 'tcp dport 80,443', 'policy drop', 'nft add rule inet filter input position 4 ct state untracked accept'],
      ['inet filter input', 'udp dport 53', 'policy drop', 'nft add rule inet filter input position 4 ct state untracked accept'],
    ]);
    // the forward chain has no stateful accept (drops tracked traffic too): not this warning
    expect(notrackWarnings(ruleset('stateful.json'), spec(['tcp:22']))).toEqual([]);
  });
  it('no warning once ct state untracked accept is there', () => {
    expect(notrackWarnings(ruleset('untracked.json'), spec(['tcp:80,443'], 'both'))).toEqual([]);
  });
  it('a final reject or drop rule counts like the policy; an accepted port does not warn; NAT is named', () => {
    const w = notrackWarnings(ruleset('reject.json'), spec(['tcp:80', 'udp:53']));
    expect(w.map((x) => [x.chain, x.traffic, x.dropped_by])).toEqual([
      ['ip filter INPUT', 'tcp dport 80', 'counter reject'],
      ['ip filter OUTPUT', 'tcp sport 80', 'drop'],
      ['ip filter OUTPUT', 'udp sport 53', 'drop'],
      ['ip nat POSTROUTING', 'all untracked traffic', 'nat'],
    ]);
  });
  it('follows jumps: a router accepts requests to 8080 untracked (jump allowed) but not the replies from it', () => {
    // the replies (sport 8080) were accepted only as established: untracked, the policy drops them
    expect(notrackWarnings(ruleset('router.json'), spec(['tcp:8080'], 'both')).map((x) => [x.traffic, x.dropped_by])).toEqual([['tcp sport 8080', 'policy drop']]);
    const w = notrackWarnings(ruleset('router.json'), spec(['tcp:9090'], 'both'));
    expect(w.map((x) => [x.chain, x.traffic])).toEqual([
      ['inet fw fw_forward', 'tcp dport 9090'],
      ['inet fw fw_forward', 'tcp sport 9090'],
    ]);
  });
  it('our own table is never the culprit; nothing to say without a ruleset', () => {
    expect(notrackWarnings(ruleset('stateful-notrack.json'), spec(['tcp:80,443'])).map((x) => x.chain)).toEqual(['inet filter input']);
    expect(notrackWarnings(null, spec(['tcp:80']))).toEqual([]);
  });
});

describe('the plan change', () => {
  it('carries the table, the intent and the notes; skips a table already in place', () => {
    const snap = { ...snapshotFixture(), nft: ruleset('stateful.json') };
    const p = planNotrack(snap, spec(['tcp:80,443']));
    expect(p.change).toMatchObject({ kind: 'nft', family: 'inet', table: 'nettune_raw', from: null, to: fx('notrack-in.nft').replace(/\s*udp [ds]port 53 notrack/g, ''), source: 'cli:--notrack' });
    expect(p.notes.some((n) => n.startsWith('warning: inet filter input accepts tcp dport 80,443'))).toBe(true);
    const plan = withNotrack(emptyPlan(snap), snap, spec(['tcp:80,443']));
    expect(planSchema.parse(JSON.parse(JSON.stringify(plan))).workload).toBeNull();
    const again = planNotrack({ ...snap, nft: ruleset('stateful-notrack.json') }, spec(['tcp:80,443']));
    expect(again.change).toBeNull();
    expect(again.skipped[0]?.reason).toMatch(/already holds tcp 80,443/);
  });
  it('passes the one validator; a table that is not nettune_WORD or carries commands does not', () => {
    const snap = snapshotFixture();
    const to = renderNotrackTable(spec(['tcp:80']));
    expect(validateChanges([{ change: { kind: 'nft', family: 'inet', table: 'nettune_raw', from: null, to }, reason: 'r', source: 's' }], snap).changes).toHaveLength(1);
    expect(nftTableProblem({ ...T, table: 'filter' }, to)).toMatch(/only its own tables/);
    expect(nftTableProblem(T, to.replace('table inet nettune_raw', 'table ip nettune_raw'))).toMatch(/must start with/);
    expect(nftTableProblem(T, `${to}flush ruleset\n`)).toMatch(/after the table's closing brace/);
    expect(nftTableProblem(T, to.replace('\tchain output {', '\tflush ruleset\n\tchain output {'))).toMatch(/is a command/);
    expect(nftTableProblem(T, to.replace(/}\n$/, ''))).toMatch(/unbalanced/);
    expect(nftTableProblem(T, `${to}\u0007`)).toMatch(/control character/);
  });
  it('refuses text that would escape the table on the line that closes it, or hide a brace from the count', () => {
    const to = renderNotrackTable(spec(['tcp:80']));
    expect(nftTableProblem(T, to)).toBeNull();
    expect(nftTableProblem(T, `${to}# a comment after the table\n`)).toBeNull();
    const body = to.replace(/}\n$/, '');
    // txcheck's repro: the last line "}" → "}; delete table inet keepme"
    expect(nftTableProblem(T, `${body}}; delete table inet keepme\n`)).toMatch(/after the table's closing brace/);
    expect(nftTableProblem(T, to.replace('notrack\n', 'notrack; }; }; delete table inet keepme\n'))).toMatch(/after the table's closing brace|is a command/);
    // a brace in a comment is not a brace to nft: "} # {" closes the table
    expect(nftTableProblem(T, `${body}} # {\ndelete table inet keepme\n}\n`)).toMatch(/after the table's closing brace/);
    expect(nftTableProblem(T, `${body}}; delete table inet keepme # {\n}\n`)).toMatch(/after the table's closing brace/);
    // a brace inside a string is not one either, and nft strings have no escapes
    expect(nftTableProblem(T, to.replace('notrack\n', 'notrack comment "}"\n'))).toBeNull();
    expect(nftTableProblem(T, to.replace('notrack\n', 'notrack comment "x\n'))).toMatch(/unterminated string|unbalanced/);
    // include/define are taken in every block by nft's parser
    expect(nftTableProblem(T, to.replace('notrack\n', 'notrack\n\t\tinclude "/tmp/x.nft"\n'))).toMatch(/not allowed/);
    expect(nftTableProblem(T, to.replace('\tchain output {', '\tdefine X = 1\n\tchain output {'))).toMatch(/is a command|not allowed/);
  });
});

describe('apply, persist and drift helpers', () => {
  it('the batch creates-or-replaces (or deletes) the table in one nft -f', () => {
    expect(nftScript(T, null)).toBe('table inet nettune_raw {}\ndelete table inet nettune_raw\n');
    expect(nftScript(T, 'table inet nettune_raw {\n}\n')).toBe('table inet nettune_raw {}\ndelete table inet nettune_raw\ntable inet nettune_raw {\n}\n');
    expect(nftShellCommand(T, 'table inet nettune_raw {\n}\n', 'ns1')).toBe(
      "printf '%s\\n' 'table inet nettune_raw {}' 'delete table inet nettune_raw' 'table inet nettune_raw {' '}' | ip netns exec ns1 nft -f -",
    );
  });
  it('the text and the Snapshot JSON have the same shape', () => {
    const live = ruleset('notrack-both.json').tables[0];
    if (!live) throw new Error('no table');
    expect(nftTextShape(fx('notrack-both.nft'))).toBe('output@output:4 prerouting@prerouting:4');
    expect(nftTableShape(live)).toBe(nftTextShape(fx('notrack-both.nft')));
    expect(textChains(fx('router.nft'))).toEqual([
      { name: 'fw_forward', hook: 'forward', rules: 2 },
      { name: 'allowed', hook: null, rules: 1 },
    ]);
  });
  it('persists the batch under the --persist root and a unit that keeps other tables', () => {
    const to = fx('notrack-in.nft');
    const before = '[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.d/nettune_other.nft\nExecStart=/usr/sbin/nft -f /etc/nftables.d/nettune_raw.nft\n';
    const files = nftPersistFiles([{ target: T, to }], '/tmp/r/etc/sysctl.d/90-nettune.conf', null, 7, '2026-12-02T00:00:00Z', before);
    expect(files.map((f) => f.path)).toEqual(['/tmp/r/etc/nftables.d/nettune_raw.nft', '/tmp/r/etc/systemd/system/nettune-nft.service']);
    expect(files[0]?.content).toContain(`delete table inet nettune_raw\n${to}`);
    expect(files[0]?.content.startsWith('#!/usr/sbin/nft -f\n')).toBe(true);
    expect(unitLines(files[1]?.content ?? null).map((l) => l.table)).toEqual(['nettune_other', 'nettune_raw']);
    expect(files[1]?.content).toContain('After=nftables.service');
  });
  it('tables of one name in two families get a file each (neither overwrites the other at boot)', () => {
    const ip6 = { kind: 'nft' as const, family: 'ip6' as const, table: 'nettune_raw' };
    const to6 = 'table ip6 nettune_raw {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tudp dport 547 notrack\n\t}\n}\n';
    const files = nftPersistFiles([{ target: T, to: fx('notrack-in.nft') }, { target: ip6, to: to6 }], '/tmp/r/etc/sysctl.d/90-nettune.conf', 'ns1', 8, '2026-12-02T00:00:00Z', null);
    expect(files.map((f) => f.path)).toEqual(['/tmp/r/etc/nftables.d/netns/ns1/nettune_raw.nft', '/tmp/r/etc/nftables.d/netns/ns1/ip6-nettune_raw.nft', '/tmp/r/etc/systemd/system/nettune-nft.service']);
    expect(files[1]?.content).toContain(`delete table ip6 nettune_raw\n${to6}`);
    expect(unitLines(files[2]?.content ?? null).map((l) => l.line)).toEqual([
      'ExecStart=/usr/sbin/ip netns exec ns1 /usr/sbin/nft -f /etc/nftables.d/netns/ns1/nettune_raw.nft',
      'ExecStart=/usr/sbin/ip netns exec ns1 /usr/sbin/nft -f /etc/nftables.d/netns/ns1/ip6-nettune_raw.nft',
    ]);
    // a later apply of the inet table alone keeps the ip6 table's line
    const later = nftPersistFiles([{ target: T, to: fx('notrack-in.nft') }], '/tmp/r/etc/sysctl.d/90-nettune.conf', 'ns1', 9, '2026-12-02T00:00:00Z', files[2]?.content ?? null);
    expect(unitLines(later[1]?.content ?? null).map((l) => nftFileStem(l))).toEqual(['ip6-nettune_raw', 'nettune_raw']);
  });
  it('the systemd export names the files as apply --persist does, so each ExecStart finds its file', () => {
    const plan = planSchema.parse(JSON.parse(fixture('export', 'plan.json')));
    const to6 = 'table ip6 nettune_raw {\n\tchain output {\n\t\ttype filter hook output priority raw; policy accept;\n\t}\n}\n';
    plan.changes = [
      { kind: 'nft', family: 'inet', table: 'nettune_raw', from: null, to: fx('notrack-in.nft'), reason: 'inet', source: 'test' },
      { kind: 'nft', family: 'ip6', table: 'nettune_raw', from: null, to: to6, reason: 'ip6', source: 'test' },
    ];
    const r = renderSystemd(docFromPlan(plan, 'plan.json'), { revert: false, name: 'nettune', include: null });
    const files = r.files.filter((f) => f.path.startsWith('nftables.d/')).map((f) => f.path);
    expect(files).toEqual(['nftables.d/nettune_raw.nft', 'nftables.d/ip6-nettune_raw.nft']);
    const unit = r.files.find((f) => f.path === 'nettune-nft.service')?.content ?? '';
    expect(unitLines(unit).map((l) => nftBootFile(l, l.netns))).toEqual(files);
  });
  it('the Ansible role names the batch files as apply --persist does (inet and ip6 tables of one name get one file each)', () => {
    const plan = planSchema.parse(JSON.parse(fixture('export', 'plan.json')));
    const to6 = 'table ip6 nettune_raw {\n\tchain output {\n\t\ttype filter hook output priority raw; policy accept;\n\t}\n}\n';
    plan.changes = [
      { kind: 'nft', family: 'inet', table: 'nettune_raw', from: null, to: fx('notrack-in.nft'), reason: 'inet', source: 'test' },
      { kind: 'nft', family: 'ip6', table: 'nettune_raw', from: null, to: to6, reason: 'ip6', source: 'test' },
    ];
    const k = ansibleKinds('nettune', docFromPlan(plan, 'plan.json'), (v) => JSON.stringify(v));
    expect(k.files.map((f) => f.path)).toEqual(['files/nft/nettune_raw.nft', 'files/nft/ip6-nettune_raw.nft']);
    expect(k.files[1]?.content).toContain('table ip6 nettune_raw {}');
  });
  it('keeps one boot file and one unit line per namespace, family and table (no table of another namespace overwritten)', () => {
    const persist = '/tmp/r/etc/sysctl.d/90-nettune.conf';
    const to = fx('notrack-in.nft');
    const a = nftPersistFiles([{ target: T, to }], persist, 'blue', 1, '2026-12-02T00:00:00Z', null);
    const b = nftPersistFiles([{ target: T, to: to.replace(/80/g, '8080') }], persist, 'green', 2, '2026-12-02T00:00:01Z', a[1]?.content ?? null);
    expect(a[0]?.path).toBe('/tmp/r/etc/nftables.d/netns/blue/nettune_raw.nft');
    expect(b[0]?.path).toBe('/tmp/r/etc/nftables.d/netns/green/nettune_raw.nft');
    expect(b[1]?.content.split('\n').filter((l) => l.startsWith('ExecStart='))).toEqual([
      'ExecStart=/usr/sbin/ip netns exec blue /usr/sbin/nft -f /etc/nftables.d/netns/blue/nettune_raw.nft',
      'ExecStart=/usr/sbin/ip netns exec green /usr/sbin/nft -f /etc/nftables.d/netns/green/nettune_raw.nft',
    ]);
    // a namespace's file does not suggest the *.nft include (it would load it into the initial namespace)
    expect(a[0]?.content).not.toContain('include');
    expect(a[0]?.content).toContain('For network namespace blue');
    // inet and ip tables of the same name, in one transaction: two files, two lines
    const ip = { kind: 'nft' as const, family: 'ip' as const, table: 'nettune_raw' };
    const both = nftPersistFiles([{ target: T, to }, { target: ip, to: to.replace('table inet', 'table ip') }], persist, null, 3, '2026-12-02T00:00:02Z', b[1]?.content ?? null);
    expect(both.map((f) => f.path)).toEqual(['/tmp/r/etc/nftables.d/nettune_raw.nft', '/tmp/r/etc/nftables.d/ip-nettune_raw.nft', '/tmp/r/etc/systemd/system/nettune-nft.service']);
    expect(unitLines(both[2]?.content ?? null).map((l) => `${l.netns ?? '-'} ${l.family} ${l.table}`)).toEqual(['blue inet nettune_raw', 'green inet nettune_raw', '- inet nettune_raw', '- ip nettune_raw']);
    // a line of the older layout (a namespace's table directly in nftables.d) is that namespace's inet table: replaced, not kept twice
    const old = '[Service]\nExecStart=/usr/sbin/ip netns exec blue /usr/sbin/nft -f /etc/nftables.d/nettune_raw.nft\n';
    const again = nftPersistFiles([{ target: T, to }], persist, 'blue', 4, '2026-12-02T00:00:03Z', old);
    expect(unitLines(again[1]?.content ?? null).map((l) => l.line)).toEqual(['ExecStart=/usr/sbin/ip netns exec blue /usr/sbin/nft -f /etc/nftables.d/netns/blue/nettune_raw.nft']);
  });
});
