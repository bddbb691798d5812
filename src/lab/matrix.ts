// The outcome matrix: one experiment (single-stream throughput, or request/response latency) run
// in every cell of a grid of links (rate × RTT × loss), with the same arms interleaved inside each
// cell. Each cell is one ordinary experiment run by the experiment engine (experiment.ts builds
// the cell's lab, applies the arms through the apply stage, interleaves ABC ABC, compares each arm
// with the first, removes the lab). This module only walks the grid: it summarises each cell
// (share of the link's goodput ceiling, ratio to the first arm with its CI), records a failing cell
// as failed and goes on, and hands every finished cell to the caller, which writes the results
// file at once, so `--resume FILE` skips the cells already done and Ctrl-C leaves them on disk.
import { errorMessage, usageError } from '../sys/errors.js';
import { fault } from '../sys/fault.js';
import { stopping } from '../sys/signals.js';
import type { ParsedArm } from './arm-sources.js';
import { type RunOptions, runExperiment } from './experiment.js';
import type { BenchSpec, ExperimentDef, MetricSpec } from './experiments.js';
import type { LinkEmulation } from './lab.js';
import type { ExperimentResult } from './report.js';

export const MATRIX_SCHEMA = 'nettune.matrix/1';
export const MATRIX_KINDS = ['throughput', 'rr'] as const;
export type MatrixKind = (typeof MATRIX_KINDS)[number];

/** TCP goodput on a 1500-byte MTU with timestamps: 1448 payload bytes per 1500-byte packet (the
 *  delay line carries IP packets without a link header, and TBF counts those bytes). */
export const GOODPUT_PER_RATE = 1448 / 1500;
export const ceilingOf = (rate_bps: number): number => rate_bps * GOODPUT_PER_RATE;

export interface MatrixGrid {
  rates_bps: number[];
  rtts_s: number[];
  losses_pct: number[];
  jitter_s: number;
}

export interface CellSpec {
  rate_bps: number;
  rtt_s: number;
  loss_pct: number;
  jitter_s: number;
}

/** A cell's identity in the results file (what --resume matches on). */
export const cellId = (c: CellSpec): string => `rate=${c.rate_bps} rtt=${c.rtt_s} loss=${c.loss_pct} jitter=${c.jitter_s}`;

/** Every cell, grouped by rate, then loss, then RTT ascending (the order the figure reads in). */
export function cellsOf(g: MatrixGrid): CellSpec[] {
  const out: CellSpec[] = [];
  const seen = new Set<string>();
  for (const rate_bps of g.rates_bps)
    for (const loss_pct of g.losses_pct)
      for (const rtt_s of [...g.rtts_s].sort((a, b) => a - b)) {
        const c = { rate_bps, rtt_s, loss_pct, jitter_s: g.jitter_s };
        if (!seen.has(cellId(c))) out.push(c);
        seen.add(cellId(c));
      }
  return out;
}

export interface MatrixArmCell {
  key: string;
  label: string;
  samples: number[];
  median: number | null;
  min: number | null;
  max: number | null;
  /** Throughput: median / the cell's goodput ceiling (null for rr, or without runs). */
  share: number | null;
  share_min: number | null;
  share_max: number | null;
  /** median / the first arm's median, with the engine's interval (null for the first arm). */
  ratio: number | null;
  ci95: [number, number] | null;
  basis: string | null;
  verdict: string | null;
  /** Keys this arm asked for that a lab namespace cannot set ("role: key"). */
  not_settable: string[];
}

export interface MatrixCell {
  id: string;
  rate_bps: number;
  rtt_ms: number;
  loss_pct: number;
  jitter_ms: number;
  /** rate × 1448/1500 (throughput), null for rr. */
  ceiling_bps: number | null;
  status: 'ok' | 'failed';
  reason: string | null;
  measured_rtt_min_ms: number | null;
  omit_s: number | null;
  duration_s: number;
  arms: MatrixArmCell[];
  notes: string[];
  finished_at: string;
}

export interface MatrixArmInfo {
  key: string;
  label: string;
  source: string;
  /** The flag as given (NAME=SOURCE), so a resumed run can check it has the same arms. */
  flag: string;
}

export interface MatrixRequest {
  kind: MatrixKind;
  grid: MatrixGrid;
  arms: MatrixArmInfo[];
  reps: number;
  /** Measured seconds per run (after the omitted start). */
  duration_s: number;
  /** Seconds omitted at the start of each run; null: from the cell's RTT and BDP (omitFor). */
  omit_s: number | null;
}

export interface MatrixResult extends MatrixRequest {
  schema: typeof MATRIX_SCHEMA;
  metric: MetricSpec;
  started_at: string;
  updated_at: string;
  /** Every cell of the grid has status ok. */
  complete: boolean;
  cells: MatrixCell[];
}

const BPS: MetricSpec = { name: 'throughput', unit: 'bit/s', higher_is_better: true };
const P99: MetricSpec = { name: 'p99 request/response latency', unit: 'ms', higher_is_better: false };
export const metricOf = (kind: MatrixKind): MetricSpec => (kind === 'throughput' ? BPS : P99);

/**
 * Seconds of each throughput run left out (iperf3 --omit) so the figure is the steady state, not
 * slow start: about log2(BDP in segments / initial window of 10) round trips to open the window,
 * plus four for BBR's drain and the first probing cycle; at least 1 s, at most 6 s.
 */
export function omitFor(c: CellSpec): number {
  const segments = (c.rate_bps * c.rtt_s) / 8 / 1448;
  const rtts = Math.log2(Math.max(1, segments / 10)) + 4;
  return Math.min(6, Math.max(1, Math.ceil(rtts * c.rtt_s)));
}

/** The experiment one cell runs: its link, its benchmark, no built-in arms of its own. */
export function cellExperiment(req: Pick<MatrixRequest, 'kind' | 'duration_s' | 'omit_s' | 'reps'>, c: CellSpec): ExperimentDef {
  const link: LinkEmulation = { rate_bps: c.rate_bps, rtt_s: c.rtt_s, jitter_s: c.jitter_s, loss_pct: c.loss_pct };
  const bench: BenchSpec =
    req.kind === 'throughput'
      ? { kind: 'throughput', duration_s: req.duration_s, omit_s: req.omit_s ?? omitFor(c), parallel: 1 }
      : { kind: 'rr', duration_s: req.duration_s, connections: 1, size: 64 };
  const placeholder = { label: 'arm', changes: {} };
  return {
    name: `matrix-${req.kind}`,
    claim: req.kind === 'throughput' ? 'How close each arm brings one TCP stream to the link\'s goodput ceiling.' : 'Request/response latency (p99) of each arm on this link.',
    topology: 'pair',
    link,
    bench,
    metric: metricOf(req.kind),
    a: placeholder,
    b: placeholder,
    reps: req.reps,
    expect: 'b-better',
    notes: req.kind === 'throughput' ? [`One iperf3 stream per run; the first ${bench.kind === 'throughput' ? bench.omit_s : 0} s of each run are omitted (slow start).`] : ['One connection, 64-byte requests and responses, back to back (nettune\'s rr generator).'],
  };
}

const finiteOr = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** A finished experiment as one row of the matrix. */
export function summariseCell(c: CellSpec, kind: MatrixKind, r: ExperimentResult, omit_s: number | null, duration_s: number): MatrixCell {
  const ceiling = kind === 'throughput' ? ceilingOf(c.rate_bps) : null;
  const share = (v: number | null): number | null => (ceiling && v !== null ? v / ceiling : null);
  const arms = (r.arms ?? [r.a, r.b]).map((a, i): MatrixArmCell => {
    const comp = i === 0 ? undefined : r.comparisons?.[i - 1];
    const median = a.samples.length ? finiteOr(a.median) : null;
    const min = a.samples.length ? Math.min(...a.samples) : null;
    const max = a.samples.length ? Math.max(...a.samples) : null;
    return {
      key: a.key ?? String.fromCharCode(65 + i),
      label: a.label,
      samples: a.samples,
      median,
      min,
      max,
      share: share(median),
      share_min: share(min),
      share_max: share(max),
      ratio: comp?.ratio ?? null,
      ci95: comp?.ci95 ?? null,
      basis: comp?.basis ?? null,
      verdict: comp?.verdict ?? null,
      not_settable: a.not_settable ?? [],
    };
  });
  const failures = r.notes.filter((n) => /failed twice/.test(n));
  return {
    ...cellHead(c, ceiling, duration_s),
    status: r.partial ? 'failed' : 'ok',
    reason: r.partial ? (failures.join('; ') || 'a run failed twice') : null,
    measured_rtt_min_ms: typeof r.lab.measured_rtt_min_ms === 'number' ? r.lab.measured_rtt_min_ms : null,
    omit_s,
    arms,
    notes: r.notes.filter((n) => !/^Link overridden/.test(n)),
  };
}

function cellHead(c: CellSpec, ceiling: number | null, duration_s: number): Pick<MatrixCell, 'id' | 'rate_bps' | 'rtt_ms' | 'loss_pct' | 'jitter_ms' | 'ceiling_bps' | 'duration_s' | 'finished_at'> {
  return { id: cellId(c), rate_bps: c.rate_bps, rtt_ms: c.rtt_s * 1000, loss_pct: c.loss_pct, jitter_ms: c.jitter_s * 1000, ceiling_bps: ceiling, duration_s, finished_at: new Date().toISOString() };
}

/** A cell that could not run (lab, tools, an arm the namespace refused …): recorded, not fatal. */
export function failedCell(c: CellSpec, kind: MatrixKind, reason: string, duration_s: number): MatrixCell {
  return { ...cellHead(c, kind === 'throughput' ? ceilingOf(c.rate_bps) : null, duration_s), status: 'failed', reason, measured_rtt_min_ms: null, omit_s: null, arms: [], notes: [] };
}

/** Checks that a results file being resumed was made with the same experiment and arms. */
export function checkResumable(prev: MatrixResult, req: MatrixRequest, file: string): void {
  const differs: string[] = [];
  if (prev.kind !== req.kind) differs.push(`experiment ${prev.kind}, not ${req.kind}`);
  const flags = (r: MatrixRequest): string => r.arms.map((a) => a.flag).join(' ');
  if (flags(prev) !== flags(req)) differs.push(`arms ${prev.arms.map((a) => a.flag).join(', ')}`);
  if (prev.reps !== req.reps) differs.push(`--runs ${prev.reps}`);
  if (prev.duration_s !== req.duration_s) differs.push(`--duration ${prev.duration_s}s`);
  if (prev.omit_s !== req.omit_s) differs.push(`--omit ${prev.omit_s ?? 'auto'}`);
  if (differs.length) throw usageError(`--resume ${file}: it was made with ${differs.join(', ')}`, 'give the same experiment, --arm flags, --runs, --duration and --omit (or none of them: they are taken from the file)');
}

export interface MatrixRunOptions {
  req: MatrixRequest;
  /** Parsed arms, in the order of req.arms (the first is the one the others are compared with). */
  arms: ParsedArm[];
  /** Finished cells from a resumed results file, by id (only status ok ones are kept). */
  done: Map<string, MatrixCell>;
  lab: string;
  log: (line: string) => void;
  self: RunOptions['self'];
  /** Called after every cell with all cells so far (done ones in grid order): write them now. */
  onCell: (cells: MatrixCell[]) => void;
  /** For the progress estimate (tests pass a fake clock). */
  now?: () => number;
}

const fmtClock = (s: number): string => {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
};

/** "cell 3/24 (…): elapsed 2m10s, ~8m40s left" — the estimate from the cells run so far. */
export function progressLine(k: number, n: number, what: string, elapsed_s: number, ranThisTime: number, leftToRun: number): string {
  const left = ranThisTime > 0 ? `~${fmtClock((elapsed_s / ranThisTime) * leftToRun)} left` : 'estimate after the first cell';
  return `nettune: matrix: cell ${k}/${n} (${what}): elapsed ${fmtClock(elapsed_s)}, ${left}`;
}

const describeCell = (c: CellSpec): string =>
  `${c.rate_bps >= 1e9 ? `${c.rate_bps / 1e9} Gbit/s` : `${c.rate_bps / 1e6} Mbit/s`}, RTT ${Math.round(c.rtt_s * 1e6) / 1000} ms, loss ${c.loss_pct} %${c.jitter_s ? `, jitter ${c.jitter_s * 1000} ms` : ''}`;

/** Runs every cell not already done; a failing cell is recorded as failed and the next one runs. */
export async function runMatrix(o: MatrixRunOptions): Promise<MatrixCell[]> {
  const now = o.now ?? (() => performance.now() / 1000);
  const cells = cellsOf(o.req.grid);
  const results = new Map<string, MatrixCell>();
  for (const c of cells) {
    const prev = o.done.get(cellId(c));
    if (prev?.status === 'ok') results.set(cellId(c), prev);
  }
  const inOrder = (): MatrixCell[] => cells.map((c) => results.get(cellId(c))).filter((x): x is MatrixCell => x !== undefined);
  if (results.size) o.log(`nettune: matrix: ${results.size} of ${cells.length} cells already done in the resumed file; running the other ${cells.length - results.size}`);
  const t0 = now();
  let ran = 0;
  const toRun = cells.filter((c) => !results.has(cellId(c)));
  for (const [i, c] of toRun.entries()) {
    if (stopping()) break;
    const k = cells.indexOf(c) + 1;
    o.log(progressLine(k, cells.length, describeCell(c), now() - t0, ran, toRun.length - i));
    const def = cellExperiment(o.req, c);
    const omit = def.bench.kind === 'throughput' ? def.bench.omit_s : null;
    let cell: MatrixCell;
    try {
      fault('matrix-cell');
      const [first, second, ...rest] = o.arms;
      const r = await runExperiment(def, {
        reps: o.req.reps,
        link: def.link,
        lab: o.lab,
        arms: [first, second].flatMap((arm, index) => (arm ? [{ index, arm }] : [])),
        extra: rest,
        log: (l) => o.log(`  ${l.replace(/^nettune: /, '')}`),
        self: o.self,
      });
      cell = summariseCell(c, o.req.kind, r, omit, o.req.duration_s);
    } catch (err) {
      if (stopping()) break;
      cell = failedCell(c, o.req.kind, errorMessage(err), o.req.duration_s);
    }
    ran++;
    if (cell.status === 'failed') o.log(`nettune: matrix: cell ${k}/${cells.length} FAILED: ${cell.reason ?? ''}; going on with the next cell`);
    results.set(cell.id, cell);
    o.onCell(inOrder());
  }
  return inOrder();
}
