// The mptcp kind without root: the value model (iproute2 6.1's -j rows → canonical values and
// back), --set parsing, validation before the lock, the boot unit (systemd-analyze verify where
// systemd is installed), the planner and the MPTcpExt rules on the real 6.18 Snapshot fixture.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mptcpLine, mptcpUnitText, parseMptcpSet, parseMptcpUnit, renderMptcpUnit, validateMptcp } from '../../src/apply/kind-mptcp.js';
import { parseSet, validateChanges } from '../../src/apply/validate.js';
import { canonicalAddress, endpointFromRow, endpointValue, mptcpCommand, parseEndpointValue } from '../../src/plan/mptcp-change.js';
import { parseMptcpPaths, planMptcp } from '../../src/plan/mptcp.js';
import { mptcpRules } from '../../src/rules/mptcp.js';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { auditCase, snapshotFixture } from '../helpers.js';

// Rows exactly as iproute2 6.1 printed them here (ip -j mptcp endpoint show, kernel 6.18)
const ROWS = [
  { address: '198.18.5.1', id: 1, subflow: true, dev: 'eth1' },
  { address: '198.18.6.1', id: 7, signal: true, backup: true, dev: 'eth1' },
  { address: '198.18.9.1', port: 5000, id: 2, signal: true },
];

const withMptcp = (s: Snapshot): Snapshot => {
  s.mptcp = { endpoints: structuredClone(ROWS), limits: { add_addr_accepted: 0, subflows: 2 } };
  const eth0 = s.links.find((l) => l.name === 'eth0');
  if (!eth0) throw new Error('fixture has eth0');
  s.links.push({ ...structuredClone(eth0), name: 'eth1', ifindex: 9, addresses: [{ family: 'inet', local: '198.18.5.1', prefixlen: 24 }] });
  s.links.push({ ...structuredClone(eth0), name: 'eth2', ifindex: 10, addresses: [{ family: 'inet', local: '198.18.7.1', prefixlen: 24 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }] });
  return s;
};

describe('mptcp value model', () => {
  it('an endpoint value is what ip mptcp endpoint show prints after the address, and reads back to itself', () => {
    const values = ROWS.map((r) => endpointValue(endpointFromRow(r) as NonNullable<ReturnType<typeof endpointFromRow>>));
    expect(values).toEqual(['id 1 subflow dev eth1', 'id 7 signal backup dev eth1', 'port 5000 id 2 signal']);
    for (const v of values) expect(endpointValue(parseEndpointValue(v) as Exclude<ReturnType<typeof parseEndpointValue>, string>)).toBe(v);
    expect(parseEndpointValue('id 1 laminar')).toMatch(/unknown word/);
    expect(canonicalAddress('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(canonicalAddress('198.18.5.300')).toBeNull();
    expect(mptcpCommand({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1', from: null, to: 'id 1 subflow dev eth1' }, 'ns1')).toBe('ip -n ns1 mptcp endpoint add 198.18.5.1 id 1 subflow dev eth1');
  });

  it('--set mptcp:endpoint= and mptcp:limits= parse; bad ones are one-line errors', () => {
    expect(parseSet('mptcp:endpoint=198.18.5.2,dev=eth1,flags=subflow+backup')).toEqual({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.2', from: null, to: 'dev eth1 subflow backup' });
    expect(parseSet('mptcp:limits=subflows=2,add_addr_accepted=2')).toEqual({ kind: 'mptcp', object: 'limits', address: null, from: null, to: 'subflows 2 add_addr_accepted 2' });
    expect(parseMptcpSet('mptcp:endpoint', '198.18.5.2,flags=laminar', 'x')).toMatch(/unknown flag "laminar"/);
    expect(parseMptcpSet('mptcp:limits', 'subflow=2', 'x')).toMatch(/expected mptcp:endpoint=/);
    expect(parseMptcpSet('mptcp:thing', '1', 'x')).toMatch(/expected/);
  });

  it('validation completes the id and the other limit, and refuses what the kernel or ip-mptcp(8) refuse', () => {
    const snap = withMptcp(snapshotFixture());
    const out = (r: ReturnType<typeof validateMptcp>): string => ('change' in r ? r.change.to : 'skip' in r ? r.skip : r.error);
    const v = (to: string, address: string | null = '198.18.5.2', object: 'endpoint' | 'limits' = 'endpoint') => validateMptcp({ kind: 'mptcp', object, address, from: null, to }, snap);
    expect(out(v('dev eth1 subflow'))).toBe('id 3 subflow dev eth1'); // ids 1, 2, 7 taken
    expect(out(v('id 1 subflow dev eth1', '198.18.5.1'))).toBe('already id 1 subflow dev eth1');
    expect(out(v('subflow backup', '198.18.5.1'))).toBe('id 1 subflow backup'); // keeps its id
    expect(out(v('signal fullmesh'))).toMatch(/signal and fullmesh cannot be combined/);
    expect(out(v('port 80 subflow'))).toMatch(/port is only valid on a signal endpoint/);
    expect(out(v('subflow dev nope'))).toMatch(/no device nope/);
    expect(out(v('id 7 subflow'))).toBe('mptcp endpoint 198.18.5.2: id 7 is taken by 198.18.6.1');
    expect(out(v('subflow', '198.18.5.300'))).toMatch(/not an IPv4 or IPv6 address/);
    expect(out(v('subflows 9', null, 'limits'))).toBe("mptcp limits: subflows 9 is above the kernel's maximum of 8");
    expect(out(v('subflows 4', null, 'limits'))).toBe('subflows 4 add_addr_accepted 0');
    expect(out(v('subflows 2 add_addr_accepted 0', null, 'limits'))).toBe('already subflows 2 add_addr_accepted 0');
    const none = snapshotFixture();
    delete none.sysctl['net.mptcp.enabled'];
    expect(out(validateMptcp({ kind: 'mptcp', object: 'limits', address: null, from: null, to: 'subflows 2' }, none))).toMatch(/no MPTCP/);
  });

  it('the boot unit: limits first, one ExecStart per endpoint, merged with earlier transactions, verified by systemd-analyze', () => {
    const lim = mptcpLine({ kind: 'mptcp', object: 'limits', address: null }, 'subflows 2 add_addr_accepted 2', null, 'why\nExecStart=/bin/evil');
    const ep = mptcpLine({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1' }, 'id 1 subflow dev eth1', null, 'path 2');
    const first = renderMptcpUnit([], [ep], 1, '2026-12-02T00:00:00Z');
    const text = renderMptcpUnit(parseMptcpUnit(first).lines, [lim], 2, '2026-12-02T00:00:01Z');
    expect(text.split('\n').filter((l) => l.startsWith('ExecStart='))).toEqual(['ExecStart=/usr/sbin/ip mptcp limits set subflows 2 add_addr_accepted 2', 'ExecStart=/usr/sbin/ip mptcp endpoint add 198.18.5.1 id 1 subflow dev eth1']);
    expect(text).not.toMatch(/^ExecStart=\/bin\/evil/m);
    expect(parseMptcpUnit(`${text}\nExecStart=/bin/sh -c id\n`).dropped).toEqual(['ExecStart=/bin/sh -c id']);
    expect(() => mptcpLine({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1' }, 'id 1 subflow dev a;b c', null, '')).toThrow();
    const tool = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => spawnSync(p, ['--version']).status === 0);
    if (!tool) return;
    const dir = mkdtempSync(join(tmpdir(), 'nettune-mptcp-unit-'));
    writeFileSync(join(dir, 'nettune-mptcp.service'), text);
    const r = spawnSync(tool, ['verify', '--man=no', join(dir, 'nettune-mptcp.service')], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});

describe('plan --mptcp-paths', () => {
  it('client: a subflow endpoint per address of each extra path, bound to its device; limits for them', () => {
    const snap = withMptcp(snapshotFixture());
    const p = planMptcp(snap, { paths: ['eth1', 'eth2'], role: 'client' });
    expect(p.changes.map((c) => c.change)).toEqual([
      { kind: 'mptcp', object: 'endpoint', address: '198.18.7.1', from: null, to: 'id 3 subflow dev eth2' },
      { kind: 'mptcp', object: 'limits', address: null, from: 'subflows 2 add_addr_accepted 0', to: 'subflows 2 add_addr_accepted 1' },
    ]);
    const s = planMptcp(snap, { paths: ['eth1', 'eth2'], role: 'server' });
    expect(s.changes.map((c) => c.change.to)).toEqual(['id 3 signal dev eth2']);
    expect(s.notes.join(' ')).toMatch(/already allow these paths/);
    expect(() => planMptcp(snap, { paths: ['eth1', 'nope'], role: 'client' })).toThrow(/no interface "nope"/);
  });

  it('enables MPTCP and the in-kernel path manager where they are off', () => {
    const snap = withMptcp(snapshotFixture());
    snap.sysctl['net.mptcp.enabled'] = '0';
    snap.sysctl['net.mptcp.path_manager'] = 'userspace';
    const keys = planMptcp(snap, { paths: ['eth1', 'eth2'], role: 'client' }).changes.map((c) => (c.change.kind === 'sysctl' ? `${c.change.key}=${c.change.to}` : c.change.kind));
    expect(keys.slice(0, 2)).toEqual(['net.mptcp.enabled=1', 'net.mptcp.path_manager=kernel']);
  });
});

describe('MPTcpExt rules', () => {
  it('joins rejected in the interval: warn, evidence from the counter delta, fix raises the subflows limit', () => {
    const r = auditCase(mptcpRules, {
      mutate: (s) => void withMptcp(s),
      prev: (p) => {
        const m = p.counters.netstat.MPTcpExt;
        if (m) m.MPJoinRejected = (m.MPJoinRejected ?? 0) - 5;
      },
    });
    const f = r.findings.find((x) => x.id === 'routing.mptcp-joins-rejected');
    expect(f?.severity).toBe('warn');
    expect(f?.fix.changes).toEqual([{ kind: 'mptcp', object: 'limits', address: null, from: 'subflows 2 add_addr_accepted 0', to: 'subflows 4 add_addr_accepted 0' }]);
    expect(JSON.stringify(f?.evidence)).toMatch(/MPJoinRejected/);
  });

  it('ADD_ADDR dropped in the interval: routing.mptcp-add-addr-dropped raises add_addr_accepted', () => {
    const r = auditCase(mptcpRules, {
      mutate: (s) => {
        withMptcp(s);
        const m = s.counters.netstat.MPTcpExt;
        if (m) Object.assign(m, { MPJoinRejected: 0, AddAddrDrop: 7 });
      },
      prev: (p) => {
        const m = p.counters.netstat.MPTcpExt;
        if (m) m.AddAddrDrop = 3;
      },
    });
    expect(r.findings.map((x) => x.id)).toEqual(['routing.mptcp-add-addr-dropped']);
    expect(r.findings[0]?.fix.changes).toEqual([{ kind: 'mptcp', object: 'limits', address: null, from: 'subflows 2 add_addr_accepted 0', to: 'subflows 2 add_addr_accepted 2' }]);
  });

  it('no rejected joins, no dropped ADD_ADDR: nothing fires', () => {
    const r = auditCase(mptcpRules, {
      mutate: (s) => {
        withMptcp(s);
        const m = s.counters.netstat.MPTcpExt;
        if (m) Object.assign(m, { MPJoinRejected: 0, AddAddrDrop: 0 });
      },
    });
    expect(r.findings.filter((x) => x.id.startsWith('routing.mptcp-') && !x.id.includes('subflow-limit') && !x.id.includes('disabled'))).toEqual([]);
  });
});

describe('an MPTCP endpoint as "absent" (hostile15)', () => {
  it('--set mptcp:endpoint=ADDR,absent parses; absent with other settings is refused', () => {
    expect(parseSet('mptcp:endpoint=198.18.5.2,absent')).toEqual({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.2', from: null, to: 'absent' });
    expect(parseSet('mptcp:endpoint=198.18.5.2,absent,dev=eth1')).toMatch(/absent stands alone/);
  });
  it('validation: present → a removal, absent already → skipped; the address check does not apply', () => {
    const snap = snapshotFixture();
    snap.sysctl['net.mptcp.enabled'] = '1';
    snap.mptcp = { endpoints: [{ address: '198.18.5.2', id: 3, subflow: true }], limits: { subflows: 2, add_addr_accepted: 0 } };
    const v = (address: string) => validateChanges([{ change: { kind: 'mptcp', object: 'endpoint', address, from: null, to: 'absent' }, reason: 'r', source: 's' }], snap);
    expect(v('198.18.5.2')).toMatchObject({ errors: [], changes: [{ to: 'absent' }] });
    expect(v('198.18.5.7')).toMatchObject({ errors: [], changes: [], skipped: [{ reason: 'already absent' }] });
  });
  it('persist: the endpoint line goes from the unit; the command a user would type deletes by id', () => {
    const prev = [mptcpLine({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1' }, 'id 1 subflow dev eth1', null, 'path 2')];
    const gone = mptcpLine({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1' }, 'absent', null, 'removed');
    expect(renderMptcpUnit(prev, [gone], 7, '2026-12-02T00:00:00Z')).not.toMatch(/198\.18\.5\.1/);
    expect(mptcpCommand({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1', from: 'id 4 subflow dev eth1', to: 'absent' }, 'ns1')).toBe('ip -n ns1 mptcp endpoint delete id 4');
  });
});

describe('--mptcp-paths hostile input (F5, hostile15)', () => {
  it('a newline in the argument stays inside one quoted line; loopback is not a path', () => {
    const msg = (f: () => unknown): string => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const m = msg(() => parseMptcpPaths('p0,p1\nx'));
    expect(m).toMatch(/"p1\\nx" is not an interface name/);
    expect(m.split('\n')).toHaveLength(1);
    const snap = snapshotFixture();
    snap.sysctl['net.mptcp.enabled'] = '1';
    expect(msg(() => planMptcp(snap, { paths: ['lo', 'eth0'], role: 'client' }))).toMatch(/lo is the loopback device/);
  });
});

describe('the MPTCP unit once every endpoint is removed (hostile15)', () => {
  it('no line left: no unit text (systemd refuses a oneshot without ExecStart=)', () => {
    const prev = [mptcpLine({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1' }, 'id 1 subflow dev eth1', null, 'path 2')];
    const gone = mptcpLine({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1' }, 'absent', null, 'removed');
    expect(mptcpUnitText(prev, [gone], 7, '2026-12-02T00:00:00Z')).toBeNull();
    expect(mptcpUnitText(prev, [], 7, '2026-12-02T00:00:00Z')).toMatch(/ExecStart=.*198\.18\.5\.1/);
  });
});
