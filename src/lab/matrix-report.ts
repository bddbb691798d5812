// The outcome matrix as a Markdown table and as one SVG (goodput as a share of each cell's ceiling,
// per arm, over RTT; one panel per rate and loss). Pure: the caller writes the files.
import { cellsOf, type MatrixArmCell, type MatrixCell, type MatrixResult } from './matrix.js';
import { formatBitRate } from './report.js';
import { lineChart, PALETTE } from './svg.js';
import { panelGrid } from './svg-panels.js';

const sig = (v: number, d = 3): string => String(Number(v.toPrecision(d)));
export const pct = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
const ms = (v: number): string => `${sig(v)} ms`;
const cellText = (t: string): string => t.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const row = (cells: readonly string[]): string => `| ${cells.map(cellText).join(' | ')} |`;

export const rateText = (bps: number): string => formatBitRate(bps);

/** One arm in one cell: share of the ceiling (throughput) or the p99 latency (rr), with the range. */
export function armText(m: MatrixResult, a: MatrixArmCell | undefined): string {
  if (!a || a.median === null) return '—';
  if (m.kind === 'throughput' && a.share !== null) {
    const range = a.samples.length > 1 ? ` (${(Number(a.share_min) * 100).toFixed(1)}–${(Number(a.share_max) * 100).toFixed(1)})` : '';
    return `${pct(a.share)}${range}`;
  }
  const range = a.samples.length > 1 && a.min !== null && a.max !== null ? ` (${sig(a.min)}–${sig(a.max)})` : '';
  return `${ms(a.median)}${range}`;
}

/** Ratio to the first arm: "1.02 [0.98, 1.05]" (interval), "1.02 (ranges)" (too few runs). */
export function ratioText(a: MatrixArmCell | undefined): string {
  if (!a || a.ratio === null) return '—';
  if (a.ci95) return `${a.ratio.toFixed(3)} [${a.ci95[0].toFixed(3)}, ${a.ci95[1].toFixed(3)}]`;
  return `${a.ratio.toFixed(3)}${a.basis === 'ranges' ? ' (ranges)' : ''}`;
}

export function renderMatrixMarkdown(m: MatrixResult): string {
  const L: string[] = [];
  const first = m.arms[0];
  L.push(`# Outcome matrix: ${m.kind}`, '');
  L.push(`Arms: ${m.arms.map((a) => `**${a.key}** ${a.label} (\`${a.source}\`)`).join(', ')}. ${m.reps} run${m.reps === 1 ? '' : 's'} per arm per cell, interleaved (${m.arms.map((a) => a.key).join('')} ${m.arms.map((a) => a.key).join('')} …); ${m.duration_s} s measured per run${m.kind === 'throughput' ? `, after ${m.omit_s === null ? 'an omitted start scaled to the cell\'s RTT and BDP (see the omit column)' : `${m.omit_s} s omitted`}` : ''}.`, '');
  if (m.kind === 'throughput') L.push(`Each arm: median goodput as a share of the cell's ceiling (rate × 1448/1500, one TCP stream with timestamps on 1500-byte packets), range of the runs in brackets. Ratios: median of the arm / median of ${first ? `${first.key} (${first.label})` : 'the first arm'}, with the bootstrap 95 % interval from 3 runs per arm up, otherwise "(ranges)": too few runs for an interval.`, '');
  else L.push('Each arm: median of the runs\' p99 request/response latency (range in brackets); lower is better. Ratios as for throughput (arm / first arm).', '');
  const others = m.arms.slice(1);
  const head = ['rate', 'RTT', 'loss', ...(m.kind === 'throughput' ? ['ceiling', 'omit'] : []), ...m.arms.map((a) => `${a.key}: ${a.label}`), ...others.map((a) => `${a.key}/${first?.key ?? 'A'}`), 'status'];
  L.push(row(head), row(head.map((_, i) => (i === head.length - 1 ? '---' : '---:'))));
  for (const c of m.cells) {
    const byKey = new Map(c.arms.map((a) => [a.key, a]));
    L.push(
      row([
        rateText(c.rate_bps),
        ms(c.rtt_ms),
        `${c.loss_pct} %`,
        ...(m.kind === 'throughput' ? [c.ceiling_bps ? rateText(c.ceiling_bps) : '—', c.omit_s !== null ? `${c.omit_s} s` : '—'] : []),
        ...m.arms.map((a) => armText(m, byKey.get(a.key))),
        ...others.map((a) => ratioText(byKey.get(a.key))),
        c.status === 'ok' ? 'ok' : `FAILED: ${c.reason ?? ''}`,
      ]),
    );
  }
  L.push('');
  if (!m.cells.length) L.push('No cell has finished yet.', '');
  const notSettable = new Map<string, Set<string>>();
  for (const c of m.cells) for (const a of c.arms) for (const k of a.not_settable) notSettable.set(a.key, (notSettable.get(a.key) ?? new Set()).add(k.replace(/^(client|server|router): /, '')));
  if (notSettable.size) {
    L.push('## Not settable in a lab namespace', '', 'Keys these arms ask for that a child network namespace cannot set (global knobs, or not net.*): they ran at the host\'s value.', '');
    for (const a of m.arms) if (notSettable.get(a.key)?.size) L.push(`- ${a.key} (${a.label}): ${[...(notSettable.get(a.key) ?? [])].join(', ')}`);
    L.push('');
  }
  const failed = m.cells.filter((c) => c.status === 'failed');
  const total = cellsOf(m.grid).length;
  L.push(`${m.cells.length - failed.length} of ${total} cells finished${failed.length ? `; ${failed.length} failed (run again with --resume to retry them)` : ''}${m.cells.length < total ? `; ${total - m.cells.length} not run yet` : ''}.`, '');
  return L.join('\n');
}

/** The figure: one panel per rate (and loss), x = RTT, one line per arm. */
export function renderMatrixSvg(m: MatrixResult): string {
  const panelWidth = 560;
  const panelHeight = 320;
  const groups = new Map<string, MatrixCell[]>();
  for (const c of m.cells) {
    const k = `${c.rate_bps}|${c.loss_pct}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const losses = new Set(m.cells.map((c) => c.loss_pct));
  const panels = [...groups.values()].map((cells, i) => {
    const c0 = cells[0] as MatrixCell;
    const series = m.arms.map((a, j) => ({
      name: `${a.key}: ${a.label}`,
      color: PALETTE[j % PALETTE.length] as string,
      points: cells.flatMap((c) => {
        const arm = c.arms.find((x) => x.key === a.key);
        const y = m.kind === 'throughput' ? arm?.share : arm?.median;
        return y === null || y === undefined ? [] : [{ x: c.rtt_ms, y: m.kind === 'throughput' ? y * 100 : y }];
      }),
    }));
    return lineChart({
      title: `${rateText(c0.rate_bps)}${losses.size > 1 || c0.loss_pct ? `, loss ${c0.loss_pct} %` : ''}`,
      xLabel: 'RTT (ms)',
      yLabel: m.kind === 'throughput' ? 'goodput, % of ceiling' : 'p99 latency (ms)',
      series,
      width: panelWidth,
      height: panelHeight,
      markers: true,
      logY: false,
      clipId: `panel-${i}`,
      ...(m.kind === 'throughput' ? { refLines: [{ y: 100, label: 'ceiling (rate × 1448/1500)' }] } : {}),
    });
  });
  return panelGrid({
    title: `Outcome matrix: ${m.kind === 'throughput' ? 'goodput as a share of the ceiling' : 'p99 request/response latency'}, per arm, over RTT`,
    subtitle: `${m.reps} run${m.reps === 1 ? '' : 's'} per arm per cell (median); ${m.cells.filter((c) => c.status === 'ok').length} of ${cellsOf(m.grid).length} cells finished`,
    panels,
    columns: losses.size > 1 ? losses.size : Math.min(2, panels.length),
    panelWidth,
    panelHeight,
  });
}
