// Lab bookkeeping without root: which files in the labs directory are labs, the delay line's
// per-segment loss counters as `lab status` reports them, the SVG y axis scaling to the data, and
// iperf3's congestion-control field.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIperf } from '../../src/lab/bench.js';
import { delaylineLoss, listLabs, type LabState } from '../../src/lab/lab.js';
import { autoLogY, lineChart } from '../../src/lab/svg.js';

let dir = '';
const saved = process.env.NETTUNE_STATE_DIR;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nettune-h7-labstate-'));
  process.env.NETTUNE_STATE_DIR = dir;
  mkdirSync(join(dir, 'labs'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  if (saved === undefined) delete process.env.NETTUNE_STATE_DIR;
  else process.env.NETTUNE_STATE_DIR = saved;
});

const state = (stats: string[]): LabState => ({
  name: 'h7x',
  topology: 'pair',
  link: { rate_bps: null, rtt_s: 0.01, jitter_s: 0, loss_pct: 1 },
  emulator: 'delayline',
  namespaces: { client: 'nt-h7x-client', server: 'nt-h7x-server', router: null },
  server_addrs: ['198.18.0.2'],
  client_addrs: ['198.18.0.1'],
  delaylines: stats.map((f, i) => ({ pid: 1, dev_a: `ntd${i}a`, dev_b: `ntd${i}b`, stats_file: f })),
  created_at: new Date(0).toISOString(),
});

describe('lab list', () => {
  it('lists lab state files, not the delay lines statistics next to them', () => {
    writeFileSync(join(dir, 'labs', 'h7x.json'), JSON.stringify(state([])));
    writeFileSync(join(dir, 'labs', 'ntdk3x10a.stats.json'), '{}');
    writeFileSync(join(dir, 'labs', 'ntdk3x10a.stats.json.tmp.123'), '{}');
    writeFileSync(join(dir, 'labs', 'Not_A_Lab.json'), '{}');
    // (namespaces of labs other tests run at the same time are listed too: look at files only)
    const labs = listLabs().filter((l) => l.namespaces.length === 0);
    expect(labs.map((l) => l.name)).toEqual(['h7x']);
    expect(labs[0]?.state?.topology).toBe('pair');
  });
});

describe('delay line loss counters', () => {
  it('share and mean burst per direction, in segments', () => {
    const f = join(dir, 'labs', 'ntd0a.stats.json');
    writeFileSync(f, JSON.stringify({ a_to_b: { packets: 900, bytes: 1, dropped_loss: 100, dropped_full: 0, dropped_error: 0, segments: 10000, loss_bursts: 80, split_frames: 70 }, b_to_a: { packets: 10, bytes: 1, dropped_loss: 0, dropped_full: 0, dropped_error: 0, segments: 0, loss_bursts: 0, split_frames: 0 }, loss_mode: 'split' }));
    const l = delaylineLoss(state([f]));
    expect(l).toEqual([
      { link: 0, direction: 'client_to_server', segments: 10000, lost: 100, share: 0.01, bursts: 80, mean_burst_segments: 1.25, requested_share: 0.01 },
      { link: 0, direction: 'server_to_client', segments: 0, lost: 0, share: null, bursts: 0, mean_burst_segments: null, requested_share: 0.01 },
    ]);
  });
  it('no delay line: null; a missing or garbled file: left out', () => {
    expect(delaylineLoss(state([]))).toBeNull();
    const bad = join(dir, 'labs', 'bad.stats.json');
    writeFileSync(bad, '{"a_to_b":');
    expect(delaylineLoss(state([join(dir, 'nope.json'), bad]))).toEqual([]);
  });
});

describe('line chart y axis scales to the data', () => {
  const run = (name: string, v: number) => ({ name, points: Array.from({ length: 8 }, (_, i) => ({ x: i + 1, y: v * (1 + 0.01 * (i % 3)) })) });
  it('arms 3 Mbit/s and 900 Mbit/s: log axis, both visible', () => {
    const series = [run('A', 3e6), run('B', 9e8)];
    expect(autoLogY(series)).toBe(true);
    const svg = lineChart({ title: 't', xLabel: 's', yLabel: 'bit/s', series, refLines: [{ y: 1e9, label: 'link 1 Gbit/s' }] });
    expect(svg).toContain('log scale');
    // the A line sits well above the bottom of the plot: pick its first y coordinate
    const paths = [...svg.matchAll(/<path d="M[\d.]+ ([\d.]+)L/g)].map((m) => Number(m[1]));
    const bottom = Number(/<path d="M[\d.]+ [\d.]+V([\d.]+)H/.exec(svg)?.[1]);
    expect(paths.length).toBe(2);
    expect(bottom - (paths[0] ?? bottom)).toBeGreaterThan(30); // on a linear 0–1 Gbit/s axis: under 1 px
  });
  it('one arm at 3 Mbit/s on a 1 Gbit/s link: linear axis to the data, the link line named, not drawn', () => {
    const svg = lineChart({ title: 't', xLabel: 's', yLabel: 'Mbit/s', series: [run('A', 3)], refLines: [{ y: 1000, label: 'link 1 Gbit/s' }] });
    expect(svg).toContain('link 1 Gbit/s: above the plot');
    expect(svg).not.toContain('log scale');
    expect(svg).not.toMatch(/>1000</);
    expect(svg).toMatch(/>3(\.\d+)?</); // tick labels around the data
  });
  it('close arms stay linear from 0, with the link line drawn', () => {
    const series = [run('A', 280), run('B', 950)];
    expect(autoLogY(series)).toBe(false);
    const svg = lineChart({ title: 't', xLabel: 's', yLabel: 'Mbit/s', series, refLines: [{ y: 1000, label: 'link 1 Gbit/s' }] });
    expect(svg).not.toContain('above the plot');
    expect(svg).toContain('>link 1 Gbit/s<');
    expect(svg).toMatch(/>0</);
  });
});

describe('iperf3 JSON', () => {
  it('reports the sender congestion control', () => {
    const r = parseIperf(JSON.stringify({ intervals: [], end: { sum_received: { bits_per_second: 5 }, sum_sent: { bits_per_second: 6, retransmits: 0 }, sender_tcp_congestion: 'reno' } }), { omit: 0, duration: 1, parallel: 1 });
    expect(r.congestion).toBe('reno');
    expect(r.bps).toBe(5);
  });
});
