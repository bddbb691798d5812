// The two netfilter experiments in CI size, through the CLI: conntrack-full (a UDP flood fills the
// router's emulated table; A's TCP connects fail, B is the planner's NOTRACK for the flood) and
// notrack-crr (crr through the stateful router, B the planner's NOTRACK for the service port).
// Asserts the report's structure and the router counters that show conntrack at work; which arm
// wins is asserted only where the mechanism makes it certain. Needs root; each run is bounded
// (3 runs per arm of 1 s plus the connect timeout) and removes its lab.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labNames, netnsWith, runCli } from '../helpers.js';
import type { ExperimentResult } from '../../src/lab/report.js';

const isRoot = process.getuid?.() === 0;
const state = mkdtempSync(join(tmpdir(), 'nettune-ctexp-'));
const { tag, labs, labName } = labNames('ctx');
const env = { NETTUNE_STATE_DIR: state };

function runExperiment(name: string, lab: string): { doc: ExperimentResult & { report_files: string[] }; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nettune-ctexp-report-'));
  const r = runCli(['experiment', 'run', name, '--reps', '3', '--duration', '1', '--lab', lab, '--report', dir, '--json'], env, 300_000);
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  return { doc: JSON.parse(r.stdout) as ExperimentResult & { report_files: string[] }, dir };
}

const median = (xs: readonly number[] | undefined): number => {
  const s = [...(xs ?? [])].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : NaN;
};

function expectStructure(doc: ExperimentResult, dir: string): void {
  expect(doc.a.samples).toHaveLength(3);
  expect(doc.b.samples).toHaveLength(3);
  expect(doc.order).toEqual(['A', 'B', 'A', 'B', 'A', 'B']);
  expect(['better', 'worse', 'no detectable difference']).toContain(doc.verdict);
  expect(doc.comparisons?.[0]?.claim.outcome).toMatch(/supported|contradicted|not shown/);
  // 3 runs per arm: an interval, unless the ratio itself cannot be formed
  if (doc.ratio !== null) expect(doc.ci95).toHaveLength(2);
  expect(doc.lab.topology).toBe('router');
  expect(doc.b.source).toMatch(/planner|plan/);
  expect(Object.keys(doc.b.settings).join(' ')).toMatch(/router: nft table inet nettune_raw/);
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  expect(md).toMatch(/## Counters/);
  expect(md).toMatch(/Verdict/);
  expect(existsSync(join(dir, 'result.json'))).toBe(true);
}

describe.skipIf(!isRoot)('netfilter experiments (root)', () => {
  afterAll(() => {
    for (const l of labs) runCli(['lab', 'down', l], env);
    for (const ns of netnsWith(`nt-${tag}`)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(state, { recursive: true, force: true });
  });

  it('conntrack-full: the full table refuses A\'s connects and counts the drops; B untracks the flood', () => {
    const { doc, dir } = runExperiment('conntrack-full', labName('f'));
    expectStructure(doc, dir);
    const a = doc.a.counters ?? {};
    const b = doc.b.counters ?? {};
    for (const k of ['connects_attempted', 'connects_completed', 'connect_success_pct', 'flood_flows_sent', 'limit_drops', 'router_entries_after_fill', 'untracked_packets', 'kernel_drop', 'kernel_early_drop', 'kernel_insert_failed'])
      expect(a[k], k).toHaveLength(3);
    // A: the flood filled the router's table to its limit and the limiting rule dropped packets
    // (2048, or a few above it when two CPUs admit new flows at the same count)
    expect(a.router_entries_after_fill?.every((n) => n >= 2048 && n <= 2056), JSON.stringify(a)).toBe(true);
    expect(a.limit_drops?.every((n) => n > 0)).toBe(true);
    expect(a.untracked_packets?.every((n) => n === 0)).toBe(true);
    // B: the flood's datagrams (and replies) passed untracked, so its table never filled
    expect(b.untracked_packets?.every((n) => n > 1000)).toBe(true);
    expect(b.router_entries_after_fill?.every((n) => n < 2048)).toBe(true);
    expect(median(a.connect_success_pct)).toBeLessThan(median(b.connect_success_pct));
    expect(doc.metric.name).toBe('failed connects');
    expect(netnsWith(`nt-${tag}f-`)).toEqual([]);
  });

  it('notrack-crr: A creates a conntrack entry per connection, B none; a rate, an interval and latencies', () => {
    const { doc, dir } = runExperiment('notrack-crr', labName('c'));
    expectStructure(doc, dir);
    expect(doc.a.median).toBeGreaterThan(10);
    expect(doc.b.median).toBeGreaterThan(10);
    const a = doc.a.counters ?? {};
    const b = doc.b.counters ?? {};
    expect(a.new_flows_admitted?.every((n) => n > 10)).toBe(true);
    expect(a.untracked_packets?.every((n) => n === 0)).toBe(true);
    expect(b.new_flows_admitted?.every((n) => n === 0)).toBe(true);
    expect(b.untracked_packets?.every((n) => n > 10)).toBe(true);
    expect(doc.report_files.some((f) => f.endsWith('latency-cdf.svg'))).toBe(true);
    expect(netnsWith(`nt-${tag}c-`)).toEqual([]);
  });
});
