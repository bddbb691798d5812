// Experiment arms: sources parse (and fail clearly), arms are completed over each other's keys,
// runs interleave across all arms, and the report shows every arm against the first.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFixed, parseArmFlag, parseArmSource } from '../../src/lab/arm-sources.js';
import { type ArmContext, completeArms, interleave, resolveArms } from '../../src/lab/arms.js';
import { armsFor, attemptTwice, claimKeys, toolsFor } from '../../src/lab/experiment.js';
import { findExperiment, type BenchSpec } from '../../src/lab/experiments.js';
import { renderMarkdown, type ExperimentResult } from '../../src/lab/report.js';
import { compareArms, checkClaim } from '../../src/lab/stats.js';
import type { LabState } from '../../src/lab/lab.js';
import { NettuneError, usageError } from '../../src/sys/errors.js';
import { FIXTURES, snapshotFixture } from '../helpers.js';

const T: BenchSpec = { kind: 'throughput', duration_s: 10, omit_s: 2, parallel: 1 };
const exit2 = async (p: Promise<unknown>, text: string): Promise<void> => {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(NettuneError);
  expect((err as NettuneError).exitCode).toBe(2);
  expect((err as NettuneError).message).toContain(text);
};

const fakeCtx = (sysctl: Record<string, string>): ArmContext => {
  const snap = snapshotFixture();
  Object.assign(snap.sysctl, sysctl);
  return {
    lab: {} as LabState,
    link: { rate_bps: 1e9, rtt_s: 0.1, jitter_s: 0, loss_pct: 0 },
    snapshot: (role) => Promise.resolve(role === 'router' ? null : snap),
    host: () => Promise.resolve(snap),
  };
};

describe('arm sources', () => {
  it('a sysctl file: the last assignment of a key wins, for both hosts', async () => {
    const a = await parseArmSource('file', join(FIXTURES, 'arms', 'buffers.conf'), T);
    expect(a.fixed?.map((c) => (c.kind === 'sysctl' ? `${c.key}=${c.to}` : ''))).toEqual(['net.ipv4.tcp_rmem=4096 131072 67108864', 'net.ipv4.tcp_wmem=4096 16384 33554432']);
    expect(typeof a.changes === 'object' && 'client' in a.changes && a.changes.server).toHaveLength(2);
  });
  it('bad input fails with the file and line (exit 2)', async () => {
    await exit2(parseArmSource('x', join(FIXTURES, 'arms', 'bad-line.conf'), T), 'bad-line.conf:3');
    await exit2(parseArmSource('x', join(FIXTURES, 'arms', 'glob.conf'), T), 'glob keys');
    await exit2(parseArmSource('x', join(FIXTURES, 'arms', 'missing.conf'), T), 'cannot read');
    await exit2(parseArmSource('x', FIXTURES, T), 'not a regular file');
    await exit2(parseArmSource('x', join(FIXTURES, 'snapshot-6.18.json'), T), 'not a valid nettune plan');
    await exit2(parseArmSource('x', 'plan:manual', T), 'unknown plan:manual');
    await exit2(parseArmSource('x', 'set:', T), 'set: needs');
    await exit2(parseArmSource('x', 'set:net.ipv4.tcp_sack', T), 'expected key=value');
    await exit2(parseArmSource('x', '', T), 'empty source');
    await exit2(parseArmFlag('noequals', T), 'expected NAME=SOURCE');
    await exit2(parseArmFlag('bad name=current', T), 'invalid name');
  });
  it('values are checked against the catalog before any lab exists', async () => {
    const bad = await parseArmSource('x', 'set:net.ipv4.tcp_sack=7', T);
    expect(() => checkFixed(bad)).toThrow(/tcp_sack/);
    const global = await parseArmSource('x', 'set:net.core.rmem_max=67108864,net.ipv4.tcp_sack=0', T);
    expect(checkFixed(global).global).toEqual(['net.core.rmem_max']);
  });
  it('current, defaults and plan:auto resolve once the lab is up', async () => {
    const fixed = await parseArmSource('B', 'set:net.ipv4.tcp_sack=0,net.ipv4.tcp_keepalive_time=60', T);
    const cur = await parseArmSource('cur', 'current', T);
    const def = await parseArmSource('def', 'defaults', T);
    const auto = await parseArmSource('auto', 'plan:auto', T);
    const ctx = fakeCtx({ 'net.ipv4.tcp_sack': '1', 'net.ipv4.tcp_keepalive_time': '7200', 'net.ipv4.tcp_rmem': '4096 131072 6291456' });
    const { changes, missing } = await resolveArms([fixed, cur, def, auto], ctx, (c) => (c.kind === 'sysctl' && c.key === 'net.ipv4.tcp_sack' ? '1' : null));
    const vals = (i: number): Record<string, string> => Object.fromEntries((changes[i]?.client ?? []).map((c) => [c.kind === 'sysctl' ? c.key : '', c.to]));
    expect(vals(1)['net.ipv4.tcp_sack']).toBe('1');
    expect(vals(1)['net.ipv4.tcp_keepalive_time']).toBe('7200');
    expect(vals(2)).toMatchObject({ 'net.ipv4.tcp_sack': '1' });
    expect(missing[2]).toContain('net.ipv4.tcp_keepalive_time');
    // the planner sizes buffers for 1 Gbit/s × 100 ms: tcp_rmem max ≥ 2 × 12.5 MB
    const rmem = vals(3)['net.ipv4.tcp_rmem'];
    expect(Number(rmem?.split(' ')[2])).toBeGreaterThanOrEqual(25_000_000);
    // the mirrors take every key the others touch, including plan:auto's
    expect(Object.keys(vals(1))).toEqual(expect.arrayContaining(Object.keys(vals(3))));
  });
  it('every arm is completed over the union of keys, at the lab baseline', async () => {
    const ctx = fakeCtx({ 'net.ipv4.tcp_sack': '1', 'net.ipv4.tcp_timestamps': '1' });
    const s = (k: string, v: string) => ({ kind: 'sysctl' as const, key: k, from: null, to: v });
    const { arms } = await completeArms([{ client: [s('net.ipv4.tcp_sack', '0')] }, { client: [s('net.ipv4.tcp_timestamps', '0')] }, {}], ctx);
    const asMap = (i: number) => Object.fromEntries((arms[i]?.client ?? []).map((c) => [c.kind === 'sysctl' ? c.key : '', c.to]));
    expect(asMap(0)).toEqual({ 'net.ipv4.tcp_sack': '0', 'net.ipv4.tcp_timestamps': '1' });
    expect(asMap(1)).toEqual({ 'net.ipv4.tcp_sack': '1', 'net.ipv4.tcp_timestamps': '0' });
    expect(asMap(2)).toEqual({ 'net.ipv4.tcp_sack': '1', 'net.ipv4.tcp_timestamps': '1' });
  });
});

describe('runs', () => {
  it('interleave across all arms: ABC ABC …', () => {
    expect(interleave(3, 2)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(interleave(2, 3)).toEqual([0, 1, 0, 1, 0, 1]);
  });
  it('a failed run is retried once; a second failure is returned, bad input is thrown', async () => {
    let n = 0;
    const retried: unknown[] = [];
    const ok = await attemptTwice(() => (++n === 1 ? Promise.reject(new Error('iperf3: unable to connect')) : Promise.resolve(42)), (e) => retried.push(e));
    expect(ok).toEqual({ ok: true, value: 42 });
    expect(retried).toHaveLength(1);
    const fail = await attemptTwice(() => Promise.reject(new Error('down')), () => undefined);
    expect(fail.ok).toBe(false);
    await expect(attemptTwice(() => Promise.reject(usageError('bad')), () => undefined)).rejects.toThrow('bad');
  });
  it('tools are known per experiment before the lab: iperf3, python3 (MPTCP, keepalive), nft, ethtool', () => {
    const get = (n: string) => findExperiment(n) ?? (() => { throw new Error(n); })();
    expect(toolsFor(get('bdp-buffers'), armsFor(get('bdp-buffers'), {}))).toContain('iperf3');
    expect(toolsFor(get('keepalive-dead-peer'), armsFor(get('keepalive-dead-peer'), {}))).toEqual(expect.arrayContaining(['python3', 'nft']));
    expect(toolsFor(get('offloads'), armsFor(get('offloads'), {}))).toContain('ethtool');
    expect(claimKeys(get('sack-loss'))).toEqual(['net.ipv4.tcp_sack']);
  });
});

describe('report with three arms', () => {
  it('shows each arm, its ratio to A and the claim check', () => {
    const arm = (key: string, label: string, samples: number[]) => ({ key, label, source: 'x', settings: { 'client: net.ipv4.tcp_sack': key === 'B' ? '0' : '1' }, samples, median: samples[1] as number, censored: 0, not_settable: key === 'C' ? ['client: net.core.rmem_max'] : [] });
    const a = arm('A', 'on', [100, 101, 99]);
    const b = arm('B', 'off', [90, 91, 89]);
    const c = arm('C', 'tuned', [100, 102, 98]);
    const comp = (x: typeof b) => {
      const k = compareArms(a.samples, x.samples, { higherIsBetter: true });
      return { arm: x.key, label: x.label, ...k, claim: checkClaim(k, 'b-worse', true, x.key), notes: [] };
    };
    const r: ExperimentResult = {
      name: 'sack-loss',
      claim: 'Disabling SACK hurts throughput on a lossy path.',
      lab: { rtt_ms: 50 },
      metric: { name: 'throughput', unit: 'bit/s', higher_is_better: true },
      a,
      b,
      arms: [a, b, c],
      comparisons: [comp(b), comp(c)],
      ratio: null,
      ci95: null,
      verdict: 'worse',
      reps: 3,
      order: ['A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C'],
      started_at: '2026-01-01T00:00:00Z',
      duration_s: 1,
      notes: [],
    };
    const md = renderMarkdown(r);
    expect(md).toContain('**Verdict (B vs A): worse.**');
    expect(md).toContain('**Verdict (C vs A): no detectable difference.**');
    expect(md).toMatch(/\| C: tuned \| 1 \|/);
    expect(md).toContain('| 3 | C | 1 |');
    expect(md).toContain('global knobs');
    expect(md).toMatch(/\| `client: net.ipv4.tcp_sack` \| `1` \| `0` \| `1` \| differs \|/);
  });
});

describe('tuned arms (the plan stage\'s tuned loader)', () => {
  it('tuned:PATH: include= resolved, > honoured against each lab host\'s values, host-only keys kept for the report', async () => {
    const arm = await parseArmSource('tuned', `tuned:${join(FIXTURES, 'tuned', 'lab-gt')}`, T);
    expect(arm.notes?.().join(' ')).toContain('network-throughput');
    const low = fakeCtx({ 'net.ipv4.tcp_max_syn_backlog': '4096', 'net.core.netdev_max_backlog': '2000' });
    if (typeof arm.changes !== 'function') throw new Error('a tuned arm is resolved in the lab');
    const c = await arm.changes(low);
    const vals = Object.fromEntries((c.client ?? []).map((x) => [x.kind === 'sysctl' ? x.key : '', x.to]));
    expect(vals['net.ipv4.tcp_max_syn_backlog']).toBe('8192'); // 4096 < 8192: tuned raises it
    expect(vals['net.core.netdev_max_backlog']).toBeUndefined(); // 2000 ≥ 1000: '>' satisfied
    expect(vals['net.ipv4.tcp_rmem']).toBe('4096 87380 16777216'); // from the included profile
    expect(vals['vm.swappiness']).toBe('20'); // network-throughput overrides throughput-performance
    const high = await arm.changes(fakeCtx({ 'net.ipv4.tcp_max_syn_backlog': '16384' }));
    expect((high.client ?? []).some((x) => x.kind === 'sysctl' && x.key === 'net.ipv4.tcp_max_syn_backlog')).toBe(false);
  });
  it('a missing or broken tuned profile is exit 2', async () => {
    await exit2(parseArmSource('t', 'tuned:no-such-profile-h8', T), 'not found');
    await exit2(parseArmSource('t', 'tuned:', T), 'needs a profile');
    await exit2(parseArmSource('t', 'tuned:bad name!', T), 'tuned accepts only');
  });
});
