// Dependency-free SVG charts for experiment reports: a line chart (throughput over time) and an
// empirical-CDF chart (latency). Output is a standalone SVG string that browsers render directly.
// Pure functions, no I/O.
import { ecdf } from './stats.js';
import { escapeXml, formatNumber, linearFormatter, logTicks, niceTicks, type Ticks } from './svg-axes.js';

export { escapeXml, formatNumber, logTicks, niceTicks, type Ticks } from './svg-axes.js';

export interface Point {
  x: number;
  y: number;
}

export interface LineSeries {
  /** Legend entry. Series that share a name share a colour and a single legend entry. */
  name: string;
  points: readonly Point[];
  /** CSS colour; default: the palette colour of the series name. */
  color?: string;
}

export interface RefLine {
  /** Horizontal reference line at this y (e.g. the link rate). */
  y: number;
  label: string;
}

interface ChartBase {
  title: string;
  xLabel: string;
  /** Pixels; default 720 × 360. */
  width?: number;
  height?: number;
  /** Tick label formatters; default: round numbers with k/M/G/T suffixes from 10 000 up. */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  /** Id of the plot's clip path; charts composed into one document (svg-panels.ts) need distinct ones. */
  clipId?: string;
}

export interface LineChartOptions extends ChartBase {
  yLabel: string;
  series: readonly LineSeries[];
  /** Start the y axis at 0 (default true: sizes of throughput are judged against zero). Linear axis only. */
  yFromZero?: boolean;
  /** Logarithmic y axis. Default: automatic, on when the series' medians differ by more than
   *  LOG_Y_RATIO (a 3 Mbit/s arm next to a 900 Mbit/s one would otherwise be a flat line at 0). */
  logY?: boolean;
  /** Reference lines. On a linear axis one far above the data (more than REF_HEADROOM × its
   *  maximum) is not allowed to squash the data: it is named in a note instead of drawn. */
  refLines?: readonly RefLine[];
  /** A dot at every point too (few points per series, e.g. one per RTT of a matrix). */
  markers?: boolean;
}

/** Series medians further apart than this switch the line chart to a log y axis. */
export const LOG_Y_RATIO = 20;
/** A reference line above REF_HEADROOM × the data maximum is noted, not drawn (linear axis). */
export const REF_HEADROOM = 2;

export interface CdfSeries {
  name: string;
  /** The raw sample; the chart computes the empirical CDF. */
  values: readonly number[];
  color?: string;
}

export interface CdfChartOptions extends ChartBase {
  /** Default "fraction ≤ x". */
  yLabel?: string;
  series: readonly CdfSeries[];
  /** Logarithmic x axis (latency tails). Values ≤ 0 cannot be placed and are left out of the plot, not of the CDF. */
  logX?: boolean;
}

/** Colour-blind-safe palette (Okabe & Ito, without the yellow that vanishes on white). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#8C564B'] as const;

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const CHAR_W = 7; // rough width of a 12px character, for layout
const DEFAULT_W = 720;
const DEFAULT_H = 360;

/** Coordinates with at most two decimals. */
const c = (v: number): string => String(Math.round(v * 100) / 100);


interface Scale {
  (v: number): number;
  ticks: number[];
  format: (v: number) => string;
  min: number;
  max: number;
}

function linearScale(ticks: Ticks, p0: number, p1: number, fmt?: (v: number) => string): Scale {
  const { min, max } = ticks;
  const f = ((v: number) => p0 + ((v - min) / (max - min)) * (p1 - p0)) as Scale;
  f.ticks = ticks.ticks;
  f.format = fmt ?? linearFormatter(ticks.ticks, ticks.step);
  f.min = min;
  f.max = max;
  return f;
}

function logScale(t: { min: number; max: number; ticks: number[] }, p0: number, p1: number, fmt?: (v: number) => string): Scale {
  const l0 = Math.log10(t.min);
  const l1 = Math.log10(t.max);
  const f = ((v: number) => p0 + ((Math.log10(v) - l0) / (l1 - l0)) * (p1 - p0)) as Scale;
  f.ticks = t.ticks;
  f.format = fmt ?? formatNumber;
  f.min = t.min;
  f.max = t.max;
  return f;
}

interface LegendEntry {
  name: string;
  color: string;
  dash?: string;
}

/** Colours by distinct name, in order of first appearance; palette wraps with a dash pattern. */
function assignColours(items: readonly { name: string; color?: string }[]): Map<string, LegendEntry> {
  const map = new Map<string, LegendEntry>();
  for (const it of items) {
    if (map.has(it.name)) continue;
    const i = map.size;
    const entry: LegendEntry = { name: it.name, color: it.color ?? (PALETTE[i % PALETTE.length] as string) };
    if (it.color === undefined && i >= PALETTE.length) entry.dash = '6 3';
    map.set(it.name, entry);
  }
  return map;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  legendRows: { x: number; entry: LegendEntry }[][];
}

const LEGEND_SWATCH = 20;
const LEGEND_GAP = 18;
const legendItemWidth = (e: LegendEntry): number => LEGEND_SWATCH + 6 + e.name.length * CHAR_W + LEGEND_GAP;

function layout(width: number, height: number, legend: readonly LegendEntry[], yTickLabels: readonly string[]): Frame {
  const maxLabel = Math.max(1, ...yTickLabels.map((s) => s.length));
  const left = 28 + maxLabel * CHAR_W + 8;
  const right = width - 20;
  const rows: { x: number; entry: LegendEntry }[][] = [];
  let row: { x: number; entry: LegendEntry }[] = [];
  let x = left;
  for (const entry of legend) {
    const w = legendItemWidth(entry);
    if (row.length > 0 && x + w - LEGEND_GAP > right) {
      rows.push(row);
      row = [];
      x = left;
    }
    row.push({ x, entry });
    x += w;
  }
  if (row.length > 0) rows.push(row);
  // keep the plot at least ~60 % of the height: beyond that, the legend ends in "… and N more"
  const maxRows = Math.max(1, Math.floor((height * 0.3) / 18));
  if (rows.length > maxRows) {
    const shown = rows.slice(0, maxRows);
    const lastRow = shown[maxRows - 1] as { x: number; entry: LegendEntry }[];
    const hidden = legend.length - shown.flat().length + 1;
    const dropped = lastRow.pop() as { x: number; entry: LegendEntry };
    lastRow.push({ x: dropped.x, entry: { name: `… and ${hidden} more`, color: 'none' } });
    rows.splice(0, rows.length, ...shown);
  }
  const top = 40 + rows.length * 18 + 8;
  const bottom = height - 46;
  return { width, height, left, right, top, bottom, legendRows: rows };
}

function frameSvg(f: Frame, title: string, xLabel: string, yLabel: string, xs: Scale, ys: Scale, body: string[], clipId = 'plot-area'): string {
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="${escapeXml(FONT)}" font-size="12">`,
  );
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${f.width}" height="${f.height}" fill="#ffffff"/>`);
  out.push(`<defs><clipPath id="${escapeXml(clipId)}"><rect x="${c(f.left)}" y="${c(f.top)}" width="${c(f.right - f.left)}" height="${c(f.bottom - f.top)}"/></clipPath></defs>`);
  out.push(`<text x="${c(f.width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="600" fill="#222">${escapeXml(title)}</text>`);

  // grid and ticks
  const grid: string[] = [];
  const labels: string[] = [];
  for (const t of ys.ticks) {
    const y = ys(t);
    if (y < f.top - 0.5 || y > f.bottom + 0.5) continue;
    grid.push(`<line x1="${c(f.left)}" y1="${c(y)}" x2="${c(f.right)}" y2="${c(y)}"/>`);
    labels.push(`<text x="${c(f.left - 6)}" y="${c(y + 4)}" text-anchor="end">${escapeXml(ys.format(t))}</text>`);
  }
  for (const t of xs.ticks) {
    const x = xs(t);
    if (x < f.left - 0.5 || x > f.right + 0.5) continue;
    grid.push(`<line x1="${c(x)}" y1="${c(f.top)}" x2="${c(x)}" y2="${c(f.bottom)}"/>`);
    labels.push(`<text x="${c(x)}" y="${c(f.bottom + 17)}" text-anchor="middle">${escapeXml(xs.format(t))}</text>`);
  }
  out.push(`<g stroke="#e3e3e3" stroke-width="1">${grid.join('')}</g>`);
  out.push(`<g fill="#444">${labels.join('')}</g>`);
  // axes
  out.push(
    `<path d="M${c(f.left)} ${c(f.top)}V${c(f.bottom)}H${c(f.right)}" fill="none" stroke="#444" stroke-width="1"/>`,
  );
  const midY = (f.top + f.bottom) / 2;
  out.push(`<text x="${c((f.left + f.right) / 2)}" y="${c(f.height - 10)}" text-anchor="middle" fill="#222">${escapeXml(xLabel)}</text>`);
  out.push(`<text x="16" y="${c(midY)}" text-anchor="middle" fill="#222" transform="rotate(-90 16 ${c(midY)})">${escapeXml(yLabel)}</text>`);

  out.push(...body);

  // legend
  f.legendRows.forEach((row, i) => {
    const y = 44 + i * 18;
    for (const { x, entry } of row) {
      if (entry.color === 'none') {
        out.push(`<text x="${c(x)}" y="${c(y)}" fill="#555">${escapeXml(entry.name)}</text>`);
        continue;
      }
      const dash = entry.dash ? ` stroke-dasharray="${entry.dash}"` : '';
      out.push(
        `<line x1="${c(x)}" y1="${c(y - 4)}" x2="${c(x + LEGEND_SWATCH)}" y2="${c(y - 4)}" stroke="${escapeXml(entry.color)}" stroke-width="3"${dash}/>`,
        `<text x="${c(x + LEGEND_SWATCH + 6)}" y="${c(y)}" fill="#222">${escapeXml(entry.name)}</text>`,
      );
    }
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function noData(f: Frame): string {
  return `<text x="${c((f.left + f.right) / 2)}" y="${c((f.top + f.bottom) / 2)}" text-anchor="middle" fill="#888" font-size="14">no data</text>`;
}

/** [min, max] without spreading (samples can be larger than the engine's argument limit). */
function extent(xs: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

const finitePoint = (p: Point): boolean => Number.isFinite(p.x) && Number.isFinite(p.y);

/** Line chart: one polyline per series (sorted by x), round 1-2-5 ticks, legend under the title. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? DEFAULT_W;
  const height = o.height ?? DEFAULT_H;
  const series = o.series.map((s) => ({ ...s, points: s.points.filter(finitePoint).sort((p, q) => p.x - q.x) }));
  const all = series.flatMap((s) => s.points);
  const refsIn = (o.refLines ?? []).filter((r) => Number.isFinite(r.y));
  const xsData = all.map((p) => p.x);
  const dataY = all.map((p) => p.y);
  const logY = o.logY ?? autoLogY(series);
  const positive = dataY.filter((y) => y > 0);
  const useLog = logY && positive.length > 0;
  const [, dataMax] = dataY.length ? extent(dataY) : [0, 0];
  // On a linear axis a reference far above the data would squash it to a line at 0: note it instead.
  const refs = useLog ? refsIn.filter((r) => r.y > 0) : refsIn.filter((r) => !(dataY.length && dataMax > 0 && r.y > REF_HEADROOM * dataMax));
  const refsAbove = refsIn.filter((r) => !refs.includes(r));
  const xt = all.length ? niceTicks(...extent(xsData)) : niceTicks(0, 1);

  const colours = assignColours(series);
  let ys: Scale;
  let f: Frame;
  if (useLog) {
    const lt = logTicks(...extent([...positive, ...refs.map((r) => r.y)]));
    const yFmt = o.yFormat ?? formatNumber;
    f = layout(width, height, [...colours.values()], lt.ticks.map(yFmt));
    ys = logScale(lt, f.bottom, f.top, yFmt);
  } else {
    const ysData = [...dataY, ...refs.map((r) => r.y)];
    if (o.yFromZero ?? true) ysData.push(0);
    const yt = ysData.length ? niceTicks(...extent(ysData), 5) : niceTicks(0, 1);
    const yFmt = o.yFormat ?? linearFormatter(yt.ticks, yt.step);
    f = layout(width, height, [...colours.values()], yt.ticks.map(yFmt));
    ys = linearScale(yt, f.bottom, f.top, yFmt);
  }
  const xs = linearScale(xt, f.left, f.right, o.xFormat);
  // values ≤ 0 have no place on a log axis: drawn on its bottom edge, and counted in a note
  const yPos = (y: number): number => (useLog && y <= 0 ? f.bottom : ys(y));
  const clamped = useLog ? dataY.filter((y) => y <= 0).length : 0;

  const body: string[] = [];
  if (all.length === 0) body.push(noData(f));
  body.push(`<g clip-path="url(#${escapeXml(o.clipId ?? 'plot-area')})" fill="none" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round" stroke-opacity="0.85">`);
  for (const s of series) {
    const e = colours.get(s.name) as LegendEntry;
    const colour = escapeXml(s.color ?? e.color);
    const dash = e.dash ? ` stroke-dasharray="${e.dash}"` : '';
    if (s.points.length === 1) {
      const p = s.points[0] as Point;
      body.push(`<circle cx="${c(xs(p.x))}" cy="${c(yPos(p.y))}" r="3" fill="${colour}" stroke="none"/>`);
    } else if (s.points.length > 1) {
      const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${c(xs(p.x))} ${c(yPos(p.y))}`).join('');
      body.push(`<path d="${d}" stroke="${colour}"${dash}/>`);
      if (o.markers) for (const p of s.points) body.push(`<circle cx="${c(xs(p.x))}" cy="${c(yPos(p.y))}" r="3" fill="${colour}" stroke="none"/>`);
    }
  }
  body.push('</g>');
  for (const r of refs) {
    const y = ys(r.y);
    body.push(
      `<line x1="${c(f.left)}" y1="${c(y)}" x2="${c(f.right)}" y2="${c(y)}" stroke="#666" stroke-width="1" stroke-dasharray="5 4"/>`,
      `<text x="${c(f.right - 4)}" y="${c(y - 4)}" text-anchor="end" fill="#555" font-size="11">${escapeXml(r.label)}</text>`,
    );
  }
  const notes: string[] = [];
  if (useLog) notes.push('log scale');
  if (refsAbove.length) notes.push(`${refsAbove.map((r) => r.label).join(', ')}: above the plot`);
  if (clamped) notes.push(`${clamped} value${clamped === 1 ? '' : 's'} ≤ 0 on the bottom edge`);
  if (notes.length) body.push(`<text x="${c(f.right - 4)}" y="${c(f.top + 12)}" text-anchor="end" fill="#777" font-size="11">${escapeXml(notes.join(' · '))}</text>`);
  return frameSvg(f, o.title, o.xLabel, o.yLabel, xs, ys, body, o.clipId);
}

/** Log y axis when the medians of the series (grouped by name, i.e. by arm) differ by more than
 *  LOG_Y_RATIO: on a linear axis the smaller ones would be indistinguishable from 0. */
export function autoLogY(series: readonly { name: string; points: readonly Point[] }[]): boolean {
  const byName = new Map<string, number[]>();
  for (const s of series) {
    const ys = byName.get(s.name) ?? [];
    for (const p of s.points) if (Number.isFinite(p.y)) ys.push(p.y);
    byName.set(s.name, ys);
  }
  const medians = [...byName.values()]
    .filter((v) => v.length)
    .map((v) => {
      const sorted = [...v].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)] as number;
    });
  if (medians.length < 2) return false;
  const [lo, hi] = extent(medians);
  return lo > 0 && hi / lo > LOG_Y_RATIO;
}

/**
 * Empirical CDF chart: one step line per series, y from 0 to 1, optional log x axis. Steps closer
 * than half a pixel are merged, so large samples give small files without visible change.
 */
export function cdfChart(o: CdfChartOptions): string {
  const width = o.width ?? DEFAULT_W;
  const height = o.height ?? DEFAULT_H;
  const logX = o.logX ?? false;
  const series = o.series.map((s) => ({ ...s, cdf: ecdf(s.values) }));
  const plotted = series.flatMap((s) => s.cdf.map((p) => p.x)).filter((x) => !logX || x > 0);
  const omitted = logX ? series.reduce((n, s) => n + s.values.filter((v) => Number.isFinite(v) && v <= 0).length, 0) : 0;

  const yt = niceTicks(0, 1, 5);
  const yFmt = o.yFormat ?? linearFormatter(yt.ticks, yt.step);
  const colours = assignColours(series);
  const f = layout(width, height, [...colours.values()], yt.ticks.map(yFmt));
  let xs: Scale;
  if (plotted.length === 0) xs = logX ? logScale(logTicks(1, 10), f.left, f.right, o.xFormat) : linearScale(niceTicks(0, 1), f.left, f.right, o.xFormat);
  else {
    const [lo, hi] = extent(plotted);
    xs = logX ? logScale(logTicks(lo, hi), f.left, f.right, o.xFormat) : linearScale(niceTicks(lo, hi), f.left, f.right, o.xFormat);
  }
  const ys = linearScale(yt, f.bottom, f.top, yFmt);

  const body: string[] = [];
  if (plotted.length === 0) body.push(noData(f));
  body.push(`<g clip-path="url(#${escapeXml(o.clipId ?? 'plot-area')})" fill="none" stroke-width="1.8" stroke-linejoin="round">`);
  for (const s of series) {
    const e = colours.get(s.name) as LegendEntry;
    const colour = escapeXml(s.color ?? e.color);
    const dash = e.dash ? ` stroke-dasharray="${e.dash}"` : '';
    let pPrev = 0; // CDF just left of the first drawn point (mass at x ≤ 0 on a log axis)
    const pts: { px: number; p: number }[] = [];
    for (const { x, p } of s.cdf) {
      if (logX && x <= 0) {
        pPrev = p;
        continue;
      }
      const px = Math.round(xs(x) * 2) / 2;
      const last = pts[pts.length - 1];
      if (last && last.px === px) last.p = p;
      else pts.push({ px, p });
    }
    if (pts.length === 0) continue;
    const first = pts[0] as { px: number; p: number };
    const startX = pPrev > 0 ? f.left : first.px;
    let d = `M${c(startX)} ${c(ys(pPrev))}`;
    if (pPrev > 0) d += `H${c(first.px)}`;
    for (const { px, p } of pts) d += `H${c(px)}V${c(ys(p))}`;
    d += `H${c(f.right)}`;
    body.push(`<path d="${d}" stroke="${colour}"${dash}/>`);
  }
  body.push('</g>');
  if (omitted > 0)
    body.push(
      `<text x="${c(f.right - 4)}" y="${c(f.bottom - 8)}" text-anchor="end" fill="#777" font-size="11">${omitted} value${omitted === 1 ? '' : 's'} ≤ 0 not drawn on the log axis</text>`,
    );
  return frameSvg(f, o.title, o.xLabel, o.yLabel ?? 'fraction ≤ x', xs, ys, body, o.clipId);
}
