// Experiment report: Markdown summary, result.json and SVG figures for one A/B experiment.
// renderMarkdown/renderSvgs are pure; writeReport writes the files atomically.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../sys/fs.js';
import { percentiles, type Verdict } from './stats.js';
import { cdfChart, lineChart, PALETTE, type LineSeries, type RefLine } from './svg.js';

export interface ArmResult {
  label: string;
  /** The settings this arm ran with (sysctl key → value, qdisc, …). */
  settings: Record<string, string>;
  /** One value of the metric per rep, in this arm's run order. */
  samples: number[];
  median: number;
  /** Per rep, the per-second time series (t in seconds from the start of the rep, v in the metric's unit). */
  series?: { t: number; v: number }[][];
  /** Individual latencies (ms), for the CDF. */
  latencies_ms?: number[];
  /** Throughput experiments: the median in bits per second. */
  median_bps?: number;
}

export interface ExperimentResult {
  name: string;
  /** What the experiment tests, in one sentence. */
  claim: string;
  /** Lab parameters: link rate, RTT, loss, kernel, … */
  lab: Record<string, string | number | null>;
  metric: { name: string; unit: string; higher_is_better: boolean };
  /** A is the baseline, B the candidate; ratio and interval are B/A. */
  a: ArmResult;
  b: ArmResult;
  ratio: number | null;
  ci95: [number, number] | null;
  verdict: Verdict;
  /** Reps per arm. */
  reps: number;
  /** Run order, e.g. ['A', 'B', 'B', 'A', …]. */
  order: string[];
  started_at: string;
  duration_s: number;
  notes: string[];
  /** Link rate of the lab, bits per second (throughput experiments). */
  link_bps?: number | null;
}

export const REPORT_FILES = { markdown: 'report.md', json: 'result.json', throughput: 'throughput.svg', latencyCdf: 'latency-cdf.svg' } as const;

export type ReportSvgs = Partial<Record<typeof REPORT_FILES.throughput | typeof REPORT_FILES.latencyCdf, string>>;

const SI: readonly [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

const isBitRate = (unit: string): boolean => /^(bits?\/s|bps|b\/s)$/i.test(unit.trim());

/** Four significant digits, trailing zeros dropped. */
const sig = (v: number, digits = 4): string => (Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : String(v));

/** 9.41e9 → "9.41 Gbit/s"; 123 → "123 bit/s". */
export function formatBitRate(bps: number): string {
  if (!Number.isFinite(bps)) return String(bps);
  for (const [s, p] of SI) if (Math.abs(bps) >= s) return `${sig(bps / s, 3)} ${p}bit/s`;
  return `${sig(bps, 3)} bit/s`;
}

/** A value of the metric with its unit, readable: "9.41 Gbit/s", "0.234 ms", "12.3k req/s". */
export function formatValue(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  if (isBitRate(unit)) return formatBitRate(v);
  const u = unit ? ` ${unit}` : '';
  if (Math.abs(v) >= 1e4) for (const [s, p] of SI) if (Math.abs(v) >= s) return `${sig(v / s, 3)}${p}${u}`;
  return `${sig(v)}${u}`;
}

/** Markdown table cell: no pipes or line breaks. */
const cell = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const code = (text: string): string => (text.includes('`') ? cell(text) : `\`${cell(text)}\``);
const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

function table(head: readonly string[], align: readonly ('l' | 'r')[], rows: readonly (readonly string[])[]): string[] {
  return [row(head), row(align.map((a) => (a === 'r' ? '---:' : '---'))), ...rows.map(row)];
}

const hasSeries = (r: ExperimentResult): boolean =>
  [r.a, r.b].some((arm) => (arm.series ?? []).some((s) => s.some((p) => Number.isFinite(p.t) && Number.isFinite(p.v))));
const hasLatencies = (r: ExperimentResult): boolean => [r.a, r.b].some((arm) => (arm.latencies_ms ?? []).some(Number.isFinite));

/** Which arm an order entry names: "A"/"B" (any case) or the arm's label. */
function armOf(entry: string, r: ExperimentResult): 'A' | 'B' | null {
  const e = entry.trim();
  if (e.toUpperCase() === 'A' || e === r.a.label) return 'A';
  if (e.toUpperCase() === 'B' || e === r.b.label) return 'B';
  return null;
}

interface RunRow {
  run: number;
  arm: 'A' | 'B';
  rep: number;
  value: number;
}

/** Samples in run order: the k-th 'A' in `order` is a.samples[k]. Null when order and samples disagree. */
function runsInOrder(r: ExperimentResult): RunRow[] | null {
  const next = { A: 0, B: 0 };
  const out: RunRow[] = [];
  for (const [i, entry] of r.order.entries()) {
    const arm = armOf(entry, r);
    if (arm === null) return null;
    const samples = arm === 'A' ? r.a.samples : r.b.samples;
    const k = next[arm]++;
    if (k >= samples.length) return null;
    out.push({ run: i + 1, arm, rep: k + 1, value: samples[k] as number });
  }
  if (next.A !== r.a.samples.length || next.B !== r.b.samples.length) return null;
  return out;
}

const LATENCY_PCTS = [50, 90, 99, 99.9] as const;

/** The Markdown report: claim, verdict, lab, settings, results, samples in run order, figures, notes. */
export function renderMarkdown(r: ExperimentResult): string {
  const { a, b, metric } = r;
  const unit = metric.unit;
  const L: string[] = [];
  const armHead = (tag: string, arm: ArmResult): string => `${tag}: ${cell(arm.label)}`;

  L.push(`# Experiment: ${r.name}`, '');
  L.push(`**Claim:** ${r.claim}`, '');

  const ratioText = r.ratio === null ? 'not computable' : sig(r.ratio);
  const ciText = r.ci95 === null ? 'not available' : `[${sig(r.ci95[0])}, ${sig(r.ci95[1])}]`;
  L.push(
    `**Verdict: ${r.verdict}.** Median ${metric.name} of B (${b.label}) relative to A (${a.label}): ` +
      `ratio ${ratioText}, 95% CI ${ciText}; ${metric.higher_is_better ? 'higher' : 'lower'} is better.`,
    '',
  );

  L.push('## Results', '');
  const rows: string[][] = [
    ['runs', String(a.samples.length), String(b.samples.length)],
    [`median ${cell(metric.name)}`, formatValue(a.median, unit), formatValue(b.median, unit)],
  ];
  const range = (xs: readonly number[]): string => {
    const f = xs.filter(Number.isFinite);
    return f.length ? `${formatValue(Math.min(...f), unit)} – ${formatValue(Math.max(...f), unit)}` : '—';
  };
  rows.push(['min – max', range(a.samples), range(b.samples)]);
  if (a.median_bps !== undefined || b.median_bps !== undefined) {
    // the median row already shows a bit rate when that is the metric's unit
    if (!isBitRate(unit))
      rows.push([
        'median throughput',
        a.median_bps === undefined ? '—' : formatBitRate(a.median_bps),
        b.median_bps === undefined ? '—' : formatBitRate(b.median_bps),
      ]);
    const link = r.link_bps;
    if (link) {
      const pct = (v: number | undefined): string => (v === undefined ? '—' : `${sig((100 * v) / link, 3)}%`);
      rows.push([`share of the ${formatBitRate(link)} link`, pct(a.median_bps), pct(b.median_bps)]);
    }
  }
  if (hasLatencies(r)) {
    const pa = a.latencies_ms?.length ? percentiles(a.latencies_ms.filter(Number.isFinite), LATENCY_PCTS) : null;
    const pb = b.latencies_ms?.length ? percentiles(b.latencies_ms.filter(Number.isFinite), LATENCY_PCTS) : null;
    rows.push(['latency samples', String(a.latencies_ms?.length ?? 0), String(b.latencies_ms?.length ?? 0)]);
    for (const p of LATENCY_PCTS) {
      const k = `p${p}`;
      rows.push([`latency ${k}`, formatValue(pa?.[k], 'ms'), formatValue(pb?.[k], 'ms')]);
    }
  }
  L.push(...table(['', armHead('A', a), armHead('B', b)], ['l', 'r', 'r'], rows), '');
  L.push(
    ...table(
      ['ratio B/A (median)', '95% CI (bootstrap)', 'verdict'],
      ['r', 'r', 'l'],
      [[ratioText, ciText, `**${r.verdict}**`]],
    ),
    '',
  );
  L.push(
    `Rule: B is called better (or worse) only when the whole 95% interval of B/A lies beyond the minimum ` +
      `effect around 1 on the good (or bad) side; an interval that reaches into that band is "no detectable difference". ` +
      `The interval is a percentile bootstrap, resampling A and B independently.`,
    '',
  );

  L.push('## Lab', '');
  const labRows = Object.entries(r.lab).map(([k, v]) => [code(k), v === null ? '—' : cell(String(v))]);
  if (r.link_bps && !('link' in r.lab) && !('link_bps' in r.lab)) labRows.push([code('link'), formatBitRate(r.link_bps)]);
  if (labRows.length) L.push(...table(['parameter', 'value'], ['l', 'l'], labRows), '');
  else L.push('No lab parameters recorded.', '');

  L.push('## A vs B settings', '');
  const keys = [...new Set([...Object.keys(a.settings), ...Object.keys(b.settings)])];
  if (keys.length) {
    const settingRows = keys.map((k) => {
      const va = a.settings[k];
      const vb = b.settings[k];
      const fmt = (v: string | undefined): string => (v === undefined ? '—' : code(v));
      const differs = va !== vb;
      return [code(k), fmt(va), fmt(vb), differs ? 'differs' : ''];
    });
    L.push(...table(['setting', armHead('A', a), armHead('B', b), ''], ['l', 'l', 'l', 'l'], settingRows), '');
  } else L.push('No settings recorded.', '');

  L.push('## Samples in run order', '');
  L.push(
    `${r.reps} rep${r.reps === 1 ? '' : 's'} per arm, started ${r.started_at}, ${sig(r.duration_s, 3)} s in all. ` +
      `Order: ${r.order.length ? r.order.join(' ') : '—'}.`,
    '',
  );
  const runs = runsInOrder(r);
  if (runs) {
    L.push(
      ...table(
        ['run', 'arm', 'rep', `${cell(metric.name)}`],
        ['r', 'l', 'r', 'r'],
        runs.map((x) => [String(x.run), x.arm, String(x.rep), formatValue(x.value, unit)]),
      ),
      '',
    );
  } else {
    L.push('The run order does not match the samples; samples per arm:', '');
    L.push(`- A: ${a.samples.map((v) => formatValue(v, unit)).join(', ') || '—'}`);
    L.push(`- B: ${b.samples.map((v) => formatValue(v, unit)).join(', ') || '—'}`, '');
  }

  if (hasSeries(r) || hasLatencies(r)) {
    L.push('## Figures', '');
    if (hasSeries(r)) L.push(`![${metric.name} over time, every run](${REPORT_FILES.throughput})`, '');
    if (hasLatencies(r)) L.push(`![latency CDF](${REPORT_FILES.latencyCdf})`, '');
  }

  L.push('## Notes', '');
  if (r.notes.length) L.push(...r.notes.map((n) => `- ${n.replace(/\r?\n/g, ' ')}`), '');
  else L.push('None.', '');
  return L.join('\n');
}

/** The figures the data allows: throughput over time (per-rep series) and the latency CDF. */
export function renderSvgs(r: ExperimentResult): ReportSvgs {
  const out: ReportSvgs = {};
  const colourA = PALETTE[0];
  const colourB = PALETTE[1];
  const nameA = `A: ${r.a.label}`;
  const nameB = `B: ${r.b.label}`;

  if (hasSeries(r)) {
    const bits = isBitRate(r.metric.unit);
    let scale = 1;
    let unitLabel = r.metric.unit;
    if (bits) {
      let max = r.link_bps ?? 0;
      for (const arm of [r.a, r.b]) for (const s of arm.series ?? []) for (const p of s) if (Number.isFinite(p.v)) max = Math.max(max, Math.abs(p.v));
      const si = SI.find(([s]) => max >= s);
      scale = si ? si[0] : 1;
      unitLabel = `${si ? si[1] : ''}bit/s`;
    }
    const series: LineSeries[] = [];
    const add = (arm: ArmResult, name: string, color: string): void => {
      for (const s of arm.series ?? []) series.push({ name, color, points: s.map((p) => ({ x: p.t, y: p.v / scale })) });
    };
    add(r.a, nameA, colourA);
    add(r.b, nameB, colourB);
    const refLines: RefLine[] = bits && r.link_bps ? [{ y: r.link_bps / scale, label: `link ${formatBitRate(r.link_bps)}` }] : [];
    out[REPORT_FILES.throughput] = lineChart({
      title: `${r.name}: ${r.metric.name} over time, every run`,
      xLabel: 'time since start of run (s)',
      yLabel: unitLabel ? `${r.metric.name} (${unitLabel})` : r.metric.name,
      series,
      refLines,
    });
  }

  if (hasLatencies(r)) {
    const la = (r.a.latencies_ms ?? []).filter(Number.isFinite);
    const lb = (r.b.latencies_ms ?? []).filter(Number.isFinite);
    const positive = [...la, ...lb].filter((v) => v > 0);
    let lo = Infinity;
    let hi = 0;
    for (const v of positive) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    out[REPORT_FILES.latencyCdf] = cdfChart({
      title: `${r.name}: latency CDF`,
      xLabel: 'latency (ms)',
      // a log axis once the sample spans more than ~1.5 decades, so the tail stays visible
      logX: positive.length > 0 && hi / lo > 30,
      series: [
        { name: `${nameA} (n=${la.length})`, values: la, color: colourA },
        { name: `${nameB} (n=${lb.length})`, values: lb, color: colourB },
      ],
    });
  }
  return out;
}

/**
 * Write report.md, result.json and the figures into dir (created if missing). Each file is written
 * atomically (temp file, fsync, rename). Returns the paths written.
 */
export function writeReport(dir: string, result: ExperimentResult): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    [REPORT_FILES.json, JSON.stringify(result, null, 2) + '\n'],
    [REPORT_FILES.markdown, renderMarkdown(result)],
    ...Object.entries(renderSvgs(result)),
  ];
  const written: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    writeFileAtomic(path, text);
    written.push(path);
  }
  return written;
}
