// Conntrack timeouts planned and applied for real (root, throw-away namespaces): `plan --netns NS
// --workload connections --conns --conn-rate` proposes the TIME_WAIT and established timeouts
// (per namespace) and skips max/buckets (global, read-only there); `apply --netns NS PLAN --yes`
// writes them, they read back from the namespace's /proc/sys, and `rollback` restores every key
// exactly. A forwarding namespace keeps TIME_WAIT above RFC 5382's floor and gets a UDP stream
// timeout someone lowered raised back to RFC 4787's 2 minutes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ctx, deleteNamespaces, freshDirs, get, isRoot, newNetns, nettune } from './state-helpers.js';

const CT = 'net.netfilter.nf_conntrack_';
const sysctlW = (ns: string, kv: string): void => {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', kv], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
};

interface PlanDoc {
  host: { netns: string | null };
  changes: { kind: string; key?: string; from: string | null; to: string; reason: string }[];
  skipped: { key: string; reason: string }[];
  conntrack?: { entry_bytes: number; entry_source: string; before: { max: number; bytes_full: number }; after: { max: number; bytes_full: number }; churn: { time_wait_entries_before: number; time_wait_entries_after: number } | null; udp?: { rate_per_s: number; timeout_s: number; entries: number } };
}

function planIn(ns: string, extra: string[] = []): { doc: PlanDoc; file: string; human: string } {
  const file = join(ctx.state, `plan-${ns}.json`);
  const args = ['plan', '--netns', ns, '--workload', 'connections', '--conns', '500000', '--conn-rate', '2000/s', ...extra];
  const r = nettune([...args, '--out', file, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const human = nettune(args);
  expect(human.code, human.stderr).toBe(0);
  return { doc: JSON.parse(r.stdout) as PlanDoc, file, human: human.stdout };
}

function applyAndRollBack(ns: string, file: string, doc: PlanDoc, wanted: Record<string, string>): void {
  const keys = doc.changes.filter((c) => c.kind === 'sysctl').map((c) => c.key ?? '');
  const before = Object.fromEntries(keys.map((k) => [k, get(ns, k)]));
  const r = nettune(['apply', '--netns', ns, file, '--yes', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const res = JSON.parse(r.stdout) as { tx: number };
  for (const [k, v] of Object.entries(wanted)) expect(get(ns, k), k).toBe(v);
  const back = nettune(['rollback', String(res.tx), '--yes']);
  expect(back.code, back.stderr).toBe(0);
  expect(Object.fromEntries(keys.map((k) => [k, get(ns, k)]))).toEqual(before);
}

describe.skipIf(!isRoot)('conntrack timeouts: plan, apply, read back, roll back (root, namespaces)', () => {
  afterAll(deleteNamespaces);

  it('a namespace tracking its own connections: TIME_WAIT 120 → 60 s by Little\'s law, established 5 d → 1 d; max and buckets left to the initial namespace', () => {
    freshDirs();
    const ns = newNetns('ctplan');
    const { doc, file, human } = planIn(ns);
    expect(doc.host.netns).toBe(ns);
    const tw = doc.changes.find((c) => c.key === `${CT}tcp_timeout_time_wait`);
    expect(tw).toMatchObject({ from: get(ns, `${CT}tcp_timeout_time_wait`), to: '60' });
    expect(tw?.reason).toContain('2 000/s × 120 s = 240 000 entries');
    expect(doc.changes.find((c) => c.key === `${CT}tcp_timeout_established`)?.to).toBe('86400');
    expect(doc.changes.some((c) => c.key === `${CT}max` || c.key === `${CT}buckets`)).toBe(false);
    expect(doc.skipped.find((s) => s.key === `${CT}max`)?.reason).toMatch(/global knob/);
    // the memory figure from this kernel's slab (probed as root inside the namespace)
    expect(doc.conntrack?.entry_source).toBe('slab_size');
    expect(doc.conntrack?.entry_bytes).toBeGreaterThanOrEqual(200);
    expect(doc.conntrack?.after).toEqual(doc.conntrack?.before);
    expect(doc.conntrack?.churn).toMatchObject({ time_wait_entries_before: 240_000, time_wait_entries_after: 120_000 });
    expect(human).toMatch(/Conntrack memory when full, at \d+ B per entry \(nf_conntrack slab\)/);
    expect(human).toContain("TIME_WAIT at 2 000/s (Little's law, rate × timeout): 120 s → 240 000 entries");

    applyAndRollBack(ns, file, doc, { [`${CT}tcp_timeout_time_wait`]: '60', [`${CT}tcp_timeout_established`]: '86400' });
    expect(get(ns, `${CT}tcp_timeout_time_wait`)).toBe('120');
    expect(get(ns, `${CT}tcp_timeout_established`)).toBe('432000');
  });

  it('a forwarding namespace: TIME_WAIT kept (RFC 5382 floor), a lowered UDP stream timeout back to 120 s (RFC 4787)', () => {
    freshDirs();
    const ns = newNetns('ctfwd');
    sysctlW(ns, 'net.ipv4.ip_forward=1');
    sysctlW(ns, `${CT}udp_timeout_stream=30`);
    const { doc, file, human } = planIn(ns, ['--udp-rate', '5000']);
    // one-shot UDP flows by Little's law at this namespace's own udp_timeout
    expect(doc.conntrack?.udp).toMatchObject({ rate_per_s: 5000, timeout_s: Number(get(ns, `${CT}udp_timeout`)), entries: 5000 * Number(get(ns, `${CT}udp_timeout`)) });
    expect(human).toMatch(/UDP at 5 000\/s \(Little's law, rate × nf_conntrack_udp_timeout\): 30 s → 150 000 entries/);
    expect(doc.changes.find((c) => c.key === `${CT}tcp_timeout_time_wait`)).toBeUndefined();
    expect(doc.skipped.find((s) => s.key === `${CT}tcp_timeout_time_wait`)?.reason).toMatch(/RFC 5382 REQ-5/);
    const udp = doc.changes.find((c) => c.key === `${CT}udp_timeout_stream`);
    expect(udp).toMatchObject({ from: '30', to: '120' });
    expect(udp?.reason).toMatch(/RFC 4787 REQ-5/);
    applyAndRollBack(ns, file, doc, { [`${CT}udp_timeout_stream`]: '120' });
    expect(get(ns, `${CT}udp_timeout_stream`)).toBe('30');
  });
});
