// The outcome matrix without a lab: the grid, the per-cell experiment, the summary of a finished
// experiment (share of the ceiling, ratio to the first arm), resume checks, the results file, the
// table and the figure, the progress line, and the CLI's input errors (exit 2 before any lab).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requestFromFlags } from '../../src/cli/experiment-matrix.js';
import { ceilingOf, cellExperiment, cellId, cellsOf, checkResumable, failedCell, type MatrixRequest, omitFor, progressLine, summariseCell } from '../../src/lab/matrix.js';
import { matrixResult, readMatrixFile, writeMatrix } from '../../src/lab/matrix-file.js';
import { renderMatrixMarkdown, renderMatrixSvg } from '../../src/lab/matrix-report.js';
import type { ExperimentResult } from '../../src/lab/report.js';
import { NettuneError } from '../../src/sys/errors.js';
import { nettune } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'nettune-matrix-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const req = (over: Partial<MatrixRequest> = {}): MatrixRequest => ({
  kind: 'throughput',
  grid: { rates_bps: [1e8, 1e9], rtts_s: [0.05, 0.01], losses_pct: [0, 0.1], jitter_s: 0 },
  arms: [
    { key: 'A', label: 'defaults', source: 'defaults (catalog)', flag: 'defaults=defaults' },
    { key: 'B', label: 'auto', source: 'plan:auto', flag: 'auto=plan:auto' },
  ],
  reps: 3,
  duration_s: 4,
  omit_s: null,
  ...over,
});

/** An experiment result as the engine returns it, for one cell. */
function result(a: number[], b: number[], partial = false): ExperimentResult {
  const arm = (key: string, label: string, samples: number[], not_settable: string[] = []) => ({ key, label, source: label, settings: {}, samples, median: [...samples].sort((x, y) => x - y)[Math.floor(samples.length / 2)] ?? NaN, not_settable });
  const A = arm('A', 'defaults', a);
  const B = arm('B', 'auto', b, ['client: net.core.rmem_max']);
  const comparison = { arm: 'B', label: 'auto', ratio: B.median / A.median, ci95: [1.1, 1.3] as [number, number], basis: 'interval' as const, bound: null, verdict: 'better' as const, min_effect: 0.02, explanation: '', claim: { outcome: 'not shown' as const, text: '' }, notes: [] };
  return { name: 'matrix-throughput', claim: '', lab: { measured_rtt_min_ms: 50.2 }, metric: { name: 'throughput', unit: 'bit/s', higher_is_better: true }, a: A, b: B, arms: [A, B], comparisons: [comparison], ratio: comparison.ratio, ci95: comparison.ci95, verdict: 'better', reps: 3, order: [], started_at: '', duration_s: 1, notes: partial ? ['run 4 (B: auto) failed twice: iperf3: connection refused'] : [], partial };
}

describe('the grid', () => {
  it('every rate × loss × RTT once, RTT ascending inside each rate and loss', () => {
    const cells = cellsOf({ rates_bps: [1e8, 1e9, 1e8], rtts_s: [0.05, 0.01], losses_pct: [0, 0.1], jitter_s: 0 });
    expect(cells.map((c) => [c.rate_bps, c.loss_pct, c.rtt_s])).toEqual([
      [1e8, 0, 0.01],
      [1e8, 0, 0.05],
      [1e8, 0.1, 0.01],
      [1e8, 0.1, 0.05],
      [1e9, 0, 0.01],
      [1e9, 0, 0.05],
      [1e9, 0.1, 0.01],
      [1e9, 0.1, 0.05],
    ]);
    expect(new Set(cells.map(cellId)).size).toBe(8);
  });
  it('the ceiling is rate × 1448/1500; the omitted start grows with RTT and BDP, 1–6 s', () => {
    expect(ceilingOf(1e9)).toBeCloseTo(965_333_333, -1);
    expect(omitFor({ rate_bps: 1e8, rtt_s: 0.01, loss_pct: 0, jitter_s: 0 })).toBe(1);
    expect(omitFor({ rate_bps: 1e9, rtt_s: 0.1, loss_pct: 0, jitter_s: 0 })).toBe(2);
    expect(omitFor({ rate_bps: 2.5e9, rtt_s: 0.2, loss_pct: 0, jitter_s: 0 })).toBe(4);
    expect(omitFor({ rate_bps: 1e11, rtt_s: 2, loss_pct: 0, jitter_s: 0 })).toBe(6);
  });
  it('each cell is an ordinary experiment on that link: iperf3 throughput, or rr', () => {
    const c = { rate_bps: 1e9, rtt_s: 0.1, loss_pct: 0.1, jitter_s: 0 };
    const d = cellExperiment(req(), c);
    expect(d.link).toEqual({ rate_bps: 1e9, rtt_s: 0.1, jitter_s: 0, loss_pct: 0.1 });
    expect(d.bench).toEqual({ kind: 'throughput', duration_s: 4, omit_s: 2, parallel: 1 });
    expect(cellExperiment(req({ omit_s: 3 }), c).bench).toMatchObject({ omit_s: 3 });
    const rr = cellExperiment(req({ kind: 'rr' }), c);
    expect(rr.bench.kind).toBe('rr');
    expect(rr.metric.higher_is_better).toBe(false);
  });
});

describe('a cell', () => {
  const c = { rate_bps: 1e9, rtt_s: 0.05, loss_pct: 0, jitter_s: 0 };
  it('each arm as a share of the ceiling, with its range and its ratio to the first arm', () => {
    const s = summariseCell(c, 'throughput', result([400e6, 500e6, 450e6], [950e6, 960e6, 940e6]), 1, 4);
    expect(s.status).toBe('ok');
    expect(s.ceiling_bps).toBeCloseTo(965_333_333, -1);
    const [a, b] = s.arms;
    expect(a?.share).toBeCloseTo(450e6 / ceilingOf(1e9), 6);
    expect(a?.share_min).toBeCloseTo(400e6 / ceilingOf(1e9), 6);
    expect(a?.ratio).toBeNull();
    expect(b?.ratio).toBeCloseTo(950 / 450, 6);
    expect(b?.ci95).toEqual([1.1, 1.3]);
    expect(b?.not_settable).toEqual(['client: net.core.rmem_max']);
    expect(s.measured_rtt_min_ms).toBe(50.2);
  });
  it('a run that failed twice makes the cell failed, with the reason, and keeps its runs', () => {
    const s = summariseCell(c, 'throughput', result([400e6, 500e6], [950e6], true), 1, 4);
    expect(s.status).toBe('failed');
    expect(s.reason).toContain('failed twice');
    expect(s.arms[1]?.samples).toEqual([950e6]);
    expect(failedCell(c, 'throughput', 'lab up: no TUN', 4)).toMatchObject({ status: 'failed', reason: 'lab up: no TUN', arms: [] });
  });
});

describe('results file, table, figure', () => {
  const cells = cellsOf(req().grid);
  const done = [summariseCell(cells[0] as never, 'throughput', result([90e6, 91e6, 92e6], [96e6, 96e6, 95e6]), 1, 4), failedCell(cells[1] as never, 'throughput', 'injected fault at matrix-cell', 4)];
  it('round-trips through the file; a partial matrix says what is missing', () => {
    const path = join(tmp, 'out', 'matrix.json');
    const files = writeMatrix(path, matrixResult(req(), done, '2026-12-01T00:00:00.000Z'));
    const back = readMatrixFile(files.json);
    expect(back.complete).toBe(false);
    expect(back.cells.map((x) => x.status)).toEqual(['ok', 'failed']);
    const md = readFileSync(files.markdown, 'utf8');
    expect(md).toContain('| 100 Mbit/s | 10 ms | 0 % | 96.5 Mbit/s | 1 s | 94.3 % (93.2–95.3) | 99.4 % (98.4–99.4) | 1.055 [1.100, 1.300] | ok |');
    expect(md).toContain('FAILED: injected fault at matrix-cell');
    expect(md).toContain('1 of 8 cells finished; 1 failed (run again with --resume to retry them); 6 not run yet.');
    expect(md).toContain('B (auto): net.core.rmem_max');
  });
  it('the figure has one panel per rate and loss, each with its own clip path', () => {
    const all = cells.map((c, i) => summariseCell(c, 'throughput', result([50e6 * (i + 1)], [60e6 * (i + 1)]), 1, 4));
    const svg = renderMatrixSvg(matrixResult(req(), all, ''));
    for (const t of ['100 Mbit/s, loss 0 %', '100 Mbit/s, loss 0.1 %', '1 Gbit/s, loss 0 %', '1 Gbit/s, loss 0.1 %']) expect(svg).toContain(`<title>${t}</title>`);
    const ids = [...svg.matchAll(/clipPath id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(['panel-0', 'panel-1', 'panel-2', 'panel-3']);
    expect(svg.match(/<svg /g)).toHaveLength(5);
    expect(renderMatrixMarkdown(matrixResult(req(), all, ''))).toContain('8 of 8 cells finished.');
  });
  it('a file that is not a matrix result is exit 2', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schema: 'nettune.matrix/1', cells: 'x' }));
    expect(() => readMatrixFile(bad)).toThrow(/not a nettune matrix results file/);
    expect(() => readMatrixFile(join(tmp, 'missing.json'))).toThrow(NettuneError);
  });
  it('resume needs the same experiment, arms, runs, duration and omit; the grid may change', () => {
    const prev = matrixResult(req(), done, '');
    expect(() => checkResumable(prev, req({ grid: { rates_bps: [1e8], rtts_s: [0.01], losses_pct: [0], jitter_s: 0 } }), 'f')).not.toThrow();
    expect(() => checkResumable(prev, req({ reps: 2 }), 'f')).toThrow(/--runs 3/);
    expect(() => checkResumable(prev, req({ kind: 'rr' }), 'f')).toThrow(/experiment throughput/);
    expect(() => checkResumable(prev, req({ arms: [...req().arms].reverse() }), 'f')).toThrow(/made with arms defaults=defaults, auto=plan:auto/);
  });
});

describe('flags', () => {
  const flags = { rate: '100mbit,1gbit', rtt: '10ms,50ms', arm: ['a=defaults', 'b=plan:auto'] };
  it('lists parse with the units module; unset flags come from a resumed file', () => {
    const r = requestFromFlags('throughput', { ...flags, loss: '0,0.1%', runs: 2 }, null);
    expect(r.grid).toEqual({ rates_bps: [1e8, 1e9], rtts_s: [0.01, 0.05], losses_pct: [0, 0.1], jitter_s: 0 });
    expect(r.arms.map((a) => [a.key, a.label, a.source])).toEqual([
      ['A', 'a', 'defaults'],
      ['B', 'b', 'plan:auto'],
    ]);
    expect(requestFromFlags('throughput', {}, r)).toEqual(r);
  });
  const cases: [string, Parameters<typeof requestFromFlags>[1], string][] = [
    ['no --rate', { ...flags, rate: undefined }, '--rate LIST'],
    ['a bare rate', { ...flags, rate: '100' }, 'needs a unit'],
    ['an empty list item', { ...flags, rtt: '10ms,,50ms' }, 'comma-separated'],
    ['one arm', { ...flags, arm: ['a=defaults'] }, 'at least two'],
    ['loss above 50 %', { ...flags, loss: '60' }, 'between 0 and 50'],
    ['jitter above half the smallest RTT', { ...flags, jitter: '6ms' }, 'half of the smallest RTT'],
    ['too many runs', { ...flags, runs: 51 }, '--runs'],
    ['a fractional omit', { ...flags, omit: '1.5s' }, 'whole seconds'],
  ];
  for (const [why, o, text] of cases) {
    it(`${why} is exit 2`, () => {
      let err: unknown;
      try {
        requestFromFlags('throughput', o, null);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NettuneError);
      expect((err as NettuneError).exitCode).toBe(2);
      expect((err as NettuneError).message).toContain(text);
    });
  }
  it('the CLI refuses bad input before any lab (exit 2, one JSON document)', () => {
    for (const [args, text] of [
      [['lat', '--rate', '1gbit', '--rtt', '10ms', '--arm', 'a=defaults', '--arm', 'b=current'], 'one of throughput, rr'],
      [['--rate', '1gbit', '--rtt', '10ms', '--arm', 'a=defaults', '--arm', 'b=set:net.ipv4.tcp_sack=7'], 'tcp_sack'],
      [['--rate', '1gbit', '--rtt', '10ms', '--arm', 'a=defaults', '--arm', 'b=tuned:no-such-profile-h2'], 'not found'],
      [['--resume', join(tmp, 'missing.json')], 'cannot read'],
    ] as const) {
      const r = nettune('experiment', 'matrix', ...args, '--json');
      expect(r.code, r.stderr).toBe(2);
      expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toContain(text);
    }
  });
  it('progress: cell k of n, elapsed, an estimate from the cells run so far', () => {
    expect(progressLine(1, 24, '1 Gbit/s, RTT 10 ms, loss 0 %', 0, 0, 24)).toBe('nettune: matrix: cell 1/24 (1 Gbit/s, RTT 10 ms, loss 0 %): elapsed 0s, estimate after the first cell');
    expect(progressLine(5, 24, 'x', 200, 4, 20)).toBe('nettune: matrix: cell 5/24 (x): elapsed 3m20s, ~16m40s left');
  });
});
