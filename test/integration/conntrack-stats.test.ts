// The Snapshot's per-CPU conntrack stats are what `conntrack -S` (Debian's conntrack, through
// ctnetlink) prints, by name and value: in a namespace of the test's own, with conntrack hooked by
// a `ct state` rule, a few ICMP flows on loopback and entries made with `conntrack -I`, so the
// counters are not all zero. Between the
// two `conntrack -S` reads around the probe nothing sends, so before ≤ Snapshot ≤ after per CPU
// and field, and the values are equal when the two reads are.
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteNamespaces, isRoot, newNetns, nettune } from './state-helpers.js';

const inNs = (ns: string, cmd: string[], input?: string): { code: number | null; out: string; err: string } => {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: 15_000, ...(input !== undefined ? { input } : {}) });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** `conntrack -S` text → per CPU, field → value ("cpu=0   \tfound=0 invalid=3 …"). */
function conntrackS(ns: string): Map<number, Record<string, number>> {
  const r = inNs(ns, ['conntrack', '-S']);
  expect(r.code, r.err).toBe(0);
  const out = new Map<number, Record<string, number>>();
  for (const line of r.out.split('\n').filter((l) => l.trim())) {
    const pairs = line.trim().split(/\s+/).map((w) => /^([a-z_]+)=(\d+)$/.exec(w));
    expect(pairs.every(Boolean), line).toBe(true);
    const row: Record<string, number> = {};
    for (const m of pairs) if (m?.[1] && m[2]) row[m[1]] = Number(m[2]);
    const { cpu, ...rest } = row;
    expect(cpu, line).toBeTypeOf('number');
    out.set(cpu ?? -1, rest);
  }
  return out;
}

describe.skipIf(!isRoot)('conntrack -S and the Snapshot (root, own namespace)', () => {
  afterAll(deleteNamespaces);

  it('has every field conntrack -S prints, per CPU, with the same values', () => {
    const ns = newNetns('cts');
    expect(inNs(ns, ['ip', 'link', 'set', 'lo', 'up']).code).toBe(0);
    // a ct expression makes the namespace track (conntrack hooks are registered per namespace on use)
    const ruleset = 'table inet ctstat {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tct state invalid counter\n\t\tct state established,related accept\n\t}\n}\n';
    const load = inNs(ns, ['nft', '-f', '-'], ruleset);
    expect(load.code, load.err).toBe(0);
    // three ping processes: three ICMP ids, three entries (the packet path does not count
    // `insert` on 6.x); three entries created through ctnetlink (`conntrack -I`) count as inserts
    for (let i = 0; i < 3; i++) expect(inNs(ns, ['ping', '-c', '1', '-W', '1', '-q', '127.0.0.1']).code).toBe(0);
    for (let i = 0; i < 3; i++) {
      const add = inNs(ns, ['conntrack', '-I', '-p', 'udp', '-s', '198.18.0.1', '-d', '198.18.0.2', '--sport', String(40000 + i), '--dport', '53', '-t', '120']);
      expect(add.code, add.err).toBe(0);
    }

    const before = conntrackS(ns);
    const r = nettune(['probe', '--netns', ns, '--json']);
    const after = conntrackS(ns);
    expect(r.code, r.stderr).toBe(0);
    const snap = JSON.parse(r.stdout) as { conntrack: { stats: Record<string, number>[]; count: number | null } | null };
    expect(snap.conntrack).not.toBeNull();
    const stats = snap.conntrack?.stats ?? [];

    // one Snapshot row per CPU conntrack -S lists, in CPU order
    expect([...before.keys()]).toEqual(stats.map((_, i) => i));
    const names = Object.keys(before.get(0) ?? {});
    // the names Debian 12's conntrack prints on 6.x (a kernel that sends others changes this list)
    expect(names).toEqual(expect.arrayContaining(['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart']));
    let inserts = 0;
    for (const [cpu, b] of before) {
      const row = stats[cpu] ?? {};
      const a = after.get(cpu) ?? {};
      for (const name of Object.keys(b)) {
        expect(row, `cpu ${cpu}: the Snapshot has no ${name}`).toHaveProperty(name);
        expect(row[name], `cpu ${cpu} ${name}`).toBeGreaterThanOrEqual(b[name] ?? 0);
        expect(row[name], `cpu ${cpu} ${name}`).toBeLessThanOrEqual(a[name] ?? 0);
      }
      inserts += row.insert ?? 0;
    }
    // nothing sent between the reads: the counters stood still, and the Snapshot has their values
    if (JSON.stringify([...before]) === JSON.stringify([...after]))
      for (const [cpu, b] of before) expect(Object.fromEntries(Object.keys(b).map((k) => [k, stats[cpu]?.[k]]))).toEqual(b);
    expect(inserts).toBeGreaterThanOrEqual(3);
    // and the table: the Snapshot's count is what `conntrack -C` says (nothing expired: 30 s ICMP, 120 s UDP)
    expect(snap.conntrack?.count).toBe(Number(inNs(ns, ['conntrack', '-C']).out.trim()));
    expect(snap.conntrack?.count).toBe(6);
  });
});
