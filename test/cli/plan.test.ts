// plan, profiles and diff through the bundle.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSchema } from '../../src/plan/schema.js';
import { FIXTURES, nettune } from '../helpers.js';

const SNAP = join(FIXTURES, 'snapshot-6.18.json');
const tmp = mkdtempSync(join(tmpdir(), 'nettune-plan-'));


describe('plan', () => {
  it('writes a valid plan with --out and explains it in human form', () => {
    const out = join(tmp, 'plan.json');
    const r = nettune('plan', '--snapshot', SNAP, '--workload', 'throughput', '--link', '10gbit', '--rtt', '10ms', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/BDP 12\.5 MB \(11\.9 MiB\)/);
    expect(r.stdout).toMatch(/net\.ipv4\.tcp_wmem .*4096 16384 33554432/);
    const plan = planSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    expect(plan.link?.bdp_bytes).toBe(12.5e6);
    const d = nettune('diff', SNAP, out, '--json');
    expect(d.code).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ in_effect: 0 });
  });
  it('--json is one plan document', () => {
    const r = nettune('plan', '--snapshot', SNAP, '--workload', 'connections', '--conns', '1000000', '--json');
    expect(r.code).toBe(0);
    expect(planSchema.parse(JSON.parse(r.stdout)).changes.length).toBeGreaterThan(3);
  });
  it('rejects bad input with exit 2', () => {
    expect(nettune('plan', '--snapshot', SNAP).code).toBe(2); // --workload is required
    expect(nettune('plan', '--snapshot', SNAP, '--workload', 'connections', '--conns', 'many').code).toBe(2);
    expect(nettune('plan', '--snapshot', SNAP, '--workload', 'connections', '--dead-peer', '1s').code).toBe(2);
    expect(nettune('plan', '--snapshot', SNAP, '--workload', 'throughput', '--rtt', '10ms').code).toBe(2);
  });
});

describe('profiles and diff', () => {
  it('lists the intents per workload and compares a tuned profile', () => {
    const p = JSON.parse(nettune('profiles', '--json').stdout) as { profiles: { workload: string; intents: { name: string }[] }[] };
    expect(p.profiles.map((x) => x.workload)).toEqual(['latency', 'throughput', 'connections', 'balanced', 'multihomed']);
    const t = nettune('profiles', '--from-tuned', join(FIXTURES, 'tuned', 'network-throughput'), '--snapshot', SNAP);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/net\.ipv4\.tcp_rmem\s+4096 87380 16777216\s+4096 131072 33554432\s+tuned LOWERS a current value/);
    expect(t.stdout).toMatch(/vm\.swappiness\s+20\s+\(not captured\)\s+not captured in this snapshot/);
    expect(t.stdout).toMatch(/throughput-performance\/tuned\.conf\n.*network-throughput\/tuned\.conf/);
    const j = JSON.parse(nettune('profiles', '--from-tuned', join(FIXTURES, 'tuned', 'network-throughput'), '--snapshot', SNAP, '--json').stdout) as { sysctl: { key: string; status: string }[] };
    expect(j.sysctl.find((r) => r.key === 'net.core.somaxconn')?.status).toBe('lowers');
    expect(nettune('profiles', '--from-tuned', 'no-such-profile').code).toBe(2);
    const r = nettune('profiles', '--from-tuned', join(FIXTURES, 'tuned', 'raise-only'), '--snapshot', SNAP);
    expect(r.stdout).toMatch(/net\.core\.somaxconn\s+>2048\s+4096\s+already satisfied/);
    expect(r.stdout).toMatch(/net\.ipv4\.tcp_fin_timeout\s+<30\s+60\s+tuned LOWERS/);
    const e = nettune('profiles', '--from-tuned', join(FIXTURES, 'tuned', 'empty'), '--snapshot', SNAP);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/is empty/);
  });
  it('diff of a snapshot with itself has no differences; a broken file is exit 2', () => {
    expect(nettune('diff', SNAP, SNAP).stdout).toMatch(/No differences/);
    expect(nettune('diff', SNAP, join(FIXTURES, 'README.md')).code).toBe(2);
  });
});
