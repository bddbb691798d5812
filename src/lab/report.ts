// Experiment report: Markdown summary, result.json and SVG figures for one A/B experiment.
// renderMarkdown/renderSvgs are pure; writeReport writes the files atomically.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../sys/fs.js';
import { type ClaimCheck, type Comparison, DEFAULT_MIN_EFFECT, percentiles, type Verdict } from './stats.js';
import { type SurvivalResult, survivalMarkdown } from './mptcp-survival.js';
import { cdfChart, lineChart, PALETTE, type LineSeries, type RefLine } from './svg.js';

export interface ArmResult {
  /** A, B, C, … in the order the arms were given (A is the one the others are compared with). */
  key?: string;
  label: string;
  /** Where the arm's settings come from (built-in, a plan file, tuned:NAME, …). */
  source?: string;
  /** The settings this arm ran with (sysctl key → value, qdisc, …). */
  settings: Record<string, string>;
  /** One value of the metric per rep, in this arm's run order. */
  samples: number[];
  median: number;
  /** Runs that reached the time limit (recorded at the limit; the true value is larger). */
  censored?: number;
  /** Keys this arm asked for that a lab namespace cannot set (global knobs), "role: key". */
  not_settable?: string[];
  /** Per rep, the per-second time series (t in seconds from the start of the rep, v in the metric's unit). */
  series?: { t: number; v: number }[][];
  /** Individual latencies (ms), for the CDF. */
  latencies_ms?: number[];
  /** Throughput experiments: the median in bits per second. */
  median_bps?: number;
  /** What the benchmark counted, per counter one value per run of this arm (e.g. the router's
   *  conntrack drops, the flood's flows). */
  counters?: Record<string, number[]>;
}

/** One arm compared with the first (see stats.compareArms). */
export interface ComparisonResult extends Comparison {
  arm: string;
  label: string;
  claim: ClaimCheck;
  notes: string[];
}

export interface ExperimentResult {
  name: string;
  /** What the experiment tests, in one sentence. */
  claim: string;
  /** Lab parameters: link rate, RTT, loss, kernel, … */
  lab: Record<string, string | number | null>;
  metric: { name: string; unit: string; higher_is_better: boolean; integer?: boolean };
  /** A is the baseline, B the candidate; ratio and interval are B/A. */
  a: ArmResult;
  b: ArmResult;
  /** All arms (A, B, C, …); absent in results written before arms were generalised. */
  arms?: ArmResult[];
  /** Each arm after the first compared with the first. */
  comparisons?: ComparisonResult[];
  ratio: number | null;
  ci95: [number, number] | null;
  verdict: Verdict;
  /** The smallest relative change the verdict calls better or worse. */
  min_effect?: number;
  /** Reps per arm. */
  reps: number;
  /** Run order, e.g. ['A', 'B', 'B', 'A', …]. */
  order: string[];
  started_at: string;
  duration_s: number;
  notes: string[];
  /** Link rate of the lab, bits per second (throughput experiments). */
  link_bps?: number | null;
  /** A run failed twice and the experiment stopped early; the results cover the completed runs. */
  partial?: boolean;
  /** MPTCP survival: one transfer while a path went down and up (mptcp-two-paths). */
  survival?: SurvivalResult | { error: string };
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

/** The arms of a result, keyed A, B, C, … (older results have only a and b). */
export function armsOf(r: ExperimentResult): (ArmResult & { key: string })[] {
  const arms = r.arms?.length ? r.arms : [r.a, r.b];
  return arms.map((a, i) => ({ ...a, key: a.key ?? String.fromCharCode(65 + i) }));
}

/** Each arm after the first compared with it (older results: B vs A from the top-level fields). */
export function comparisonsOf(r: ExperimentResult): ComparisonResult[] {
  if (r.comparisons) return r.comparisons;
  return [
    {
      arm: 'B',
      label: r.b.label,
      ratio: r.ratio,
      ci95: r.ci95,
      basis: r.ci95 ? 'interval' : 'none',
      bound: null,
      verdict: r.verdict,
      min_effect: r.min_effect ?? DEFAULT_MIN_EFFECT,
      explanation: r.ci95 ? 'percentile bootstrap of the median ratio, 95 % interval' : 'no interval',
      claim: { outcome: 'not shown', text: 'not judged against the claim (result from an older nettune)' },
      notes: [],
    },
  ];
}

const hasSeries = (r: ExperimentResult): boolean => armsOf(r).some((arm) => (arm.series ?? []).some((s) => s.some((p) => Number.isFinite(p.t) && Number.isFinite(p.v))));
const hasLatencies = (r: ExperimentResult): boolean => armsOf(r).some((arm) => (arm.latencies_ms ?? []).some(Number.isFinite));

interface RunRow {
  run: number;
  arm: string;
  rep: number;
  value: number;
}

/** Samples in run order: the k-th 'B' in `order` is arm B's k-th sample. Null when order and samples disagree. */
function runsInOrder(r: ExperimentResult): RunRow[] | null {
  const arms = armsOf(r);
  const next = new Map<string, number>();
  const out: RunRow[] = [];
  for (const [i, entry] of r.order.entries()) {
    const e = entry.trim();
    const arm = arms.find((a) => a.key === e.toUpperCase() || a.label === e);
    if (!arm) return null;
    const k = next.get(arm.key) ?? 0;
    next.set(arm.key, k + 1);
    if (k >= arm.samples.length) return null;
    out.push({ run: i + 1, arm: arm.key, rep: k + 1, value: arm.samples[k] as number });
  }
  if (arms.some((a) => (next.get(a.key) ?? 0) !== a.samples.length)) return null;
  return out;
}

const LATENCY_PCTS = [50, 90, 99, 99.9] as const;

/** A value of the result's metric: counts as integers (a median of two may end in .5). */
function metricValue(r: ExperimentResult, v: number | null | undefined): string {
  if (r.metric.integer && v !== null && v !== undefined && Number.isFinite(v)) return `${Number.isInteger(v) ? String(v) : v.toFixed(1)} ${r.metric.unit}`;
  return formatValue(v, r.metric.unit);
}

/** "ratio 1.03, 95% CI [0.98, 1.07]" / "B/A ≤ 0.557 (bound)" / "ratio 1.03, too few runs for an interval". */
export function comparisonText(c: ComparisonResult): string {
  if (c.ratio === null) return 'no ratio';
  if (c.bound) return `${c.arm}/A ${c.bound.op} ${sig(c.bound.value, 3)} (a bound: an arm was cut off at its limit)`;
  if (c.basis === 'ranges') return `ratio ${sig(c.ratio)}, too few runs for an interval (verdict from the observed ranges only)`;
  return `ratio ${sig(c.ratio)}, 95% CI ${c.ci95 ? `[${sig(c.ci95[0])}, ${sig(c.ci95[1])}]` : 'not available'}`;
}

/** The Markdown report: claim, verdict, lab, settings, results, samples in run order, figures, notes. */
export function renderMarkdown(r: ExperimentResult): string {
  const { metric } = r;
  const unit = metric.unit;
  const arms = armsOf(r);
  const comps = comparisonsOf(r);
  const L: string[] = [];
  const armHead = (arm: ArmResult & { key: string }): string => `${arm.key}: ${cell(arm.label)}`;

  L.push(`# Experiment: ${r.name}`, '');
  L.push(`**Claim:** ${r.claim}`, '');
  for (const c of comps) {
    const tag = comps.length > 1 || c.arm !== 'B' ? `Verdict (${c.arm} vs A)` : 'Verdict';
    L.push(
      `**${tag}: ${c.verdict}.** Median ${metric.name} of ${c.arm} (${c.label}) relative to A (${arms[0]?.label ?? 'A'}): ` +
        `${comparisonText(c)}; ${metric.higher_is_better ? 'higher' : 'lower'} is better; minimum effect ${sig(c.min_effect * 100, 3)} %.`,
      '',
      `**Claim check (${c.arm}): ${c.claim.outcome}** — ${c.claim.text}.`,
      '',
      ...c.notes.map((n) => `**Note (${c.arm}):** ${n}.\n`),
    );
  }
  if (r.partial) L.push('**Partial result:** a run failed twice and the experiment stopped; everything below covers the runs that completed.', '');

  L.push('## Results', '');
  const range = (xs: readonly number[]): string => {
    const f = xs.filter(Number.isFinite);
    return f.length ? `${metricValue(r, Math.min(...f))} – ${metricValue(r, Math.max(...f))}` : '—';
  };
  const rows: string[][] = [
    ['source', ...arms.map((a) => cell(a.source ?? '—'))],
    ['runs', ...arms.map((a) => String(a.samples.length))],
    [`median ${cell(metric.name)}`, ...arms.map((a) => (a.samples.length ? metricValue(r, a.median) : '—'))],
    ['min – max', ...arms.map((a) => range(a.samples))],
  ];
  if (arms.some((a) => a.censored)) rows.push(['runs cut off at the limit', ...arms.map((a) => String(a.censored ?? 0))]);
  if (arms.some((a) => a.median_bps !== undefined)) {
    // the median row already shows a bit rate when that is the metric's unit
    if (!isBitRate(unit)) rows.push(['median throughput', ...arms.map((a) => (a.median_bps === undefined ? '—' : formatBitRate(a.median_bps)))]);
    const link = r.link_bps;
    if (link) rows.push([`share of the ${formatBitRate(link)} link`, ...arms.map((a) => (a.median_bps === undefined ? '—' : `${sig((100 * a.median_bps) / link, 3)}%`))]);
  }
  if (hasLatencies(r)) {
    const ps = arms.map((a) => (a.latencies_ms?.length ? percentiles(a.latencies_ms.filter(Number.isFinite), LATENCY_PCTS) : null));
    rows.push(['latency samples', ...arms.map((a) => String(a.latencies_ms?.length ?? 0))]);
    for (const p of LATENCY_PCTS) rows.push([`latency p${p}`, ...ps.map((x) => formatValue(x?.[`p${p}`], 'ms'))]);
  }
  L.push(...table(['', ...arms.map(armHead)], ['l', ...arms.map(() => 'r' as const)], rows), '');
  L.push(
    ...table(
      ['arm', `ratio to A (median)`, '95% CI (bootstrap)', 'basis', 'verdict', 'claim'],
      ['l', 'r', 'r', 'l', 'l', 'l'],
      comps.map((c) => [
        `${c.arm}: ${cell(c.label)}`,
        c.ratio === null ? 'not computable' : c.bound ? `${c.bound.op} ${sig(c.bound.value, 3)}` : sig(c.ratio),
        c.ci95 ? `[${sig(c.ci95[0])}, ${sig(c.ci95[1])}]` : c.basis === 'ranges' ? 'too few runs for an interval' : c.basis === 'bound' ? 'none (bound)' : 'not available',
        c.basis,
        `**${c.verdict}**`,
        c.claim.outcome,
      ]),
    ),
    '',
  );
  const me = comps[0]?.min_effect ?? r.min_effect ?? DEFAULT_MIN_EFFECT;
  L.push(
    `Rule: an arm is called better (or worse) than A only when the whole 95% interval of its ratio to A lies beyond the minimum ` +
      `effect (${sig(me * 100, 3)} %) around 1 on the good (or bad) side; an interval that reaches into that band is "no detectable difference". ` +
      `The interval is a percentile bootstrap, resampling each arm independently. With fewer than 3 runs in an arm no interval is claimed: ` +
      `the verdict then needs every run of the arm beyond every run of A by the minimum effect (observed ranges only). ` +
      `When an arm was cut off at a time limit, its true value is unknown beyond that bound, so only a bound on the ratio is given.`,
    '',
  );
  for (const c of comps) L.push(`- ${c.arm}: ${c.explanation}.`);
  L.push('');
  const counterNames = [...new Set(arms.flatMap((a) => Object.keys(a.counters ?? {})))];
  if (counterNames.length) {
    L.push('## Counters', '', 'What the benchmark and the lab counted in each run (one value per run of the arm, in its run order).', '');
    const perRun = (a: ArmResult, n: string): string => (a.counters?.[n] ?? []).map((v) => (Number.isInteger(v) ? String(v) : sig(v))).join(', ') || '—';
    L.push(...table(['counter', ...arms.map(armHead)], ['l', ...arms.map(() => 'r' as const)], counterNames.map((n) => [code(n), ...arms.map((a) => perRun(a, n))])), '');
  }

  L.push('## Lab', '');
  const labRows = Object.entries(r.lab).map(([k, v]) => [code(k), v === null ? '—' : cell(String(v))]);
  if (r.link_bps && !('link' in r.lab) && !('link_bps' in r.lab)) labRows.push([code('link'), formatBitRate(r.link_bps)]);
  if (labRows.length) L.push(...table(['parameter', 'value'], ['l', 'l'], labRows), '');
  else L.push('No lab parameters recorded.', '');

  L.push(`## Settings per arm`, '');
  const keys = [...new Set(arms.flatMap((a) => Object.keys(a.settings)))];
  if (keys.length) {
    const settingRows = keys.map((k) => {
      const vs = arms.map((a) => a.settings[k]);
      const fmt = (v: string | undefined): string => (v === undefined ? '—' : code(v.replace(/\s*\n\s*/g, ' ').trim())); // a multi-line value (an nft table) on one line
      return [code(k), ...vs.map(fmt), new Set(vs).size > 1 ? 'differs' : ''];
    });
    L.push(...table(['setting', ...arms.map(armHead), ''], ['l', ...arms.map(() => 'l' as const), 'l'], settingRows), '');
  } else L.push('No settings recorded.', '');
  for (const a of arms) if (a.not_settable?.length) L.push(`- ${a.key} asked for keys a lab namespace cannot set (global knobs, left at the host's value): ${a.not_settable.map(code).join(', ')}`);
  if (arms.some((a) => a.not_settable?.length)) L.push('');

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
        runs.map((x) => [String(x.run), x.arm, String(x.rep), metricValue(r, x.value)]),
      ),
      '',
    );
  } else {
    L.push('The run order does not match the samples; samples per arm:', '');
    for (const a of arms) L.push(`- ${a.key}: ${a.samples.map((v) => metricValue(r, v)).join(', ') || '—'}`);
    L.push('');
  }

  if (hasSeries(r) || hasLatencies(r)) {
    L.push('## Figures', '');
    if (hasSeries(r)) L.push(`![${metric.name} over time, every run](${REPORT_FILES.throughput})`, '');
    if (hasLatencies(r)) L.push(`![latency CDF](${REPORT_FILES.latencyCdf})`, '');
  }

  L.push('## Notes', '');
  if (r.survival) L.push(...survivalMarkdown(r.survival));
  if (r.notes.length) L.push(...r.notes.map((n) => `- ${n.replace(/\r?\n/g, ' ')}`), '');
  else L.push('None.', '');
  return L.join('\n');
}

/** The figures the data allows: throughput over time (per-rep series) and the latency CDF. */
export function renderSvgs(r: ExperimentResult): ReportSvgs {
  const out: ReportSvgs = {};
  const arms = armsOf(r).map((a, i) => ({ arm: a, name: `${a.key}: ${a.label}`, color: PALETTE[i % PALETTE.length] as string }));

  if (hasSeries(r)) {
    const bits = isBitRate(r.metric.unit);
    let scale = 1;
    let unitLabel = r.metric.unit;
    if (bits) {
      let max = r.link_bps ?? 0;
      for (const { arm } of arms) for (const s of arm.series ?? []) for (const p of s) if (Number.isFinite(p.v)) max = Math.max(max, Math.abs(p.v));
      const si = SI.find(([s]) => max >= s);
      scale = si ? si[0] : 1;
      unitLabel = `${si ? si[1] : ''}bit/s`;
    }
    const series: LineSeries[] = [];
    const add = (arm: ArmResult, name: string, color: string): void => {
      for (const s of arm.series ?? []) series.push({ name, color, points: s.map((p) => ({ x: p.t, y: p.v / scale })) });
    };
    for (const a of arms) add(a.arm, a.name, a.color);
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
    const ls = arms.map((a) => (a.arm.latencies_ms ?? []).filter(Number.isFinite));
    const positive = ls.flat().filter((v) => v > 0);
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
      series: arms.map((a, i) => ({ name: `${a.name} (n=${ls[i]?.length ?? 0})`, values: ls[i] ?? [], color: a.color })),
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
