// An experiment on the user's own link (--rtt reaches the lab: the RTT is measured) with three
// arms from different sources, interleaved ABC ABC; global knobs are listed per arm. Needs root.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers.js';
import type { ExperimentResult } from '../../src/lab/report.js';

const isRoot = process.getuid?.() === 0;
const state = mkdtempSync(join(tmpdir(), 'nettune-h8arms-'));
const name = `h8a${(process.pid % 1000).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
const netns = (): string[] => {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(`nt-${name}-`));
  } catch {
    return [];
  }
};

describe.skipIf(!isRoot)('experiment arms and parameters (root)', () => {
  afterAll(() => {
    runCli(['lab', 'down', name], { NETTUNE_STATE_DIR: state });
    for (const ns of netns()) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(state, { recursive: true, force: true });
  });

  it('--rtt 30ms reaches the lab; three arms interleave; global knobs are listed, not dropped', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'nettune-h8tmp-'));
    const r = runCli(
      ['experiment', 'run', 'timestamps', '--rtt', '30ms', '--rate', '200mbit', '--reps', '2', '--duration', '1', '--lab', name, '--arm', 'big=set:net.core.rmem_max=67108864,net.ipv4.tcp_timestamps=1', '--json'],
      { NETTUNE_STATE_DIR: state, TMPDIR: tmp },
      240_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as ExperimentResult;
    expect(doc.lab.rtt_ms).toBe(30);
    expect(doc.lab.rate_bps).toBe(2e8);
    // the delay line adds 15 ms each way: ping's fastest reply is 30 ms plus a little
    expect(doc.lab.measured_rtt_min_ms as number).toBeGreaterThanOrEqual(29.5);
    expect(doc.lab.measured_rtt_min_ms as number).toBeLessThan(36);
    expect(doc.order).toEqual(['A', 'B', 'C', 'A', 'B', 'C']);
    expect(doc.arms?.map((a) => [a.key, a.label, a.samples.length])).toEqual([
      ['A', 'timestamps on', 2],
      ['B', 'timestamps off', 2],
      ['C', 'big', 2],
    ]);
    for (const a of doc.arms ?? []) for (const s of a.samples) expect(s).toBeLessThan(2e8 * 1.05);
    expect(doc.comparisons?.map((c) => [c.arm, c.basis])).toEqual([
      ['B', 'ranges'],
      ['C', 'ranges'],
    ]);
    expect(doc.arms?.[2]?.not_settable).toEqual(['client: net.core.rmem_max', 'server: net.core.rmem_max']);
    expect(doc.notes.join(' ')).toContain('net.core.rmem_max');
    expect(netns()).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  }, 240_000);
});
