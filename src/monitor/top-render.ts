// Draws a TopFrame as plain lines for a WIDTH×HEIGHT screen: every line fits the width, the
// frame never has more lines than the height. At 80×24 it shows every section; more rows show
// more links, CPUs and findings, more columns add per-direction and qdisc columns and more CPUs
// per row. No escape sequences here (top-term.ts puts the lines on the screen).
import { formatBytes, formatSI } from '../units/index.js';
import type { Rate } from './rates.js';
import type { TopCpu, TopFinding, TopFrame, TopLink } from './top-model.js';

export const MIN_WIDTH = 40;
export const MIN_HEIGHT = 10;

/** Cuts a line to `w` characters, marking the cut with "…". */
export function fit(s: string, w: number): string {
  const chars = [...s];
  return chars.length <= w ? s : `${chars.slice(0, Math.max(0, w - 1)).join('')}…`;
}

const ps = (r: Rate): string => `${formatSI(r)}/s`;

/** Cells ("label value") flowed into lines of `width` after a section tag of 5 columns. */
function flow(tag: string, cells: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let cur = tag.padEnd(5);
  let empty = true;
  for (const cell of cells) {
    const add = empty ? cell : `  ${cell}`;
    if (!empty && cur.length + add.length > width) {
      lines.push(cur);
      cur = `${' '.repeat(5)}${cell}`;
    } else cur += add;
    empty = false;
  }
  lines.push(cur);
  return lines.map((l) => fit(l, width));
}

interface Column<T> {
  head: string;
  width: number;
  /** Left-aligned (names) instead of right-aligned (numbers). */
  left?: boolean;
  cell: (row: T) => string;
}

function tableLines<T>(cols: readonly Column<T>[], rows: readonly T[]): { head: string; rows: string[] } {
  const line = (cells: string[]): string => cells.map((c, i) => (cols[i]?.left ? fit(c, (cols[i]?.width ?? 1) - 1).padEnd(cols[i]?.width ?? 0) : fit(c, (cols[i]?.width ?? 1) - 1).padStart(cols[i]?.width ?? 0))).join('');
  return { head: line(cols.map((c) => c.head)), rows: rows.map((r) => line(cols.map((c) => c.cell(r)))) };
}

function linkColumns(width: number): Column<TopLink>[] {
  // < 100 columns: drops and errors summed over both directions; 100–121: per direction;
  // ≥ 122: also the root qdisc's kind and longer device names.
  const split = width >= 100;
  const full = width >= 122;
  const cols: Column<TopLink>[] = [
    { head: 'LINK', width: full ? 16 : split ? 12 : 10, left: true, cell: (l) => l.name },
    { head: 'rx bit/s', width: 9, cell: (l) => formatSI(l.rx_bits_ps) },
    { head: 'tx bit/s', width: 9, cell: (l) => formatSI(l.tx_bits_ps) },
    { head: 'rx pk/s', width: 8, cell: (l) => formatSI(l.rx_packets_ps) },
    { head: 'tx pk/s', width: 8, cell: (l) => formatSI(l.tx_packets_ps) },
  ];
  const sum = (a: Rate, b: Rate): Rate => (a === null || b === null ? null : a + b);
  if (split) {
    cols.push(
      { head: 'rxdrop/s', width: 9, cell: (l) => formatSI(l.rx_drops_ps) },
      { head: 'txdrop/s', width: 9, cell: (l) => formatSI(l.tx_drops_ps) },
      { head: 'rxerr/s', width: 8, cell: (l) => formatSI(l.rx_errors_ps) },
      { head: 'txerr/s', width: 8, cell: (l) => formatSI(l.tx_errors_ps) },
    );
  } else {
    cols.push({ head: 'drop/s', width: 7, cell: (l) => formatSI(sum(l.rx_drops_ps, l.tx_drops_ps)) }, { head: 'err/s', width: 6, cell: (l) => formatSI(sum(l.rx_errors_ps, l.tx_errors_ps)) });
  }
  if (full) cols.push({ head: 'qdisc', width: 12, cell: (l) => l.qdisc?.kind ?? '' });
  cols.push({ head: 'qdrop/s', width: 8, cell: (l) => (l.qdisc ? formatSI(l.qdisc.drops_ps) : '') }, { head: 'backlog', width: 8, cell: (l) => (l.qdisc ? (l.qdisc.backlog_bytes ? formatBytes(l.qdisc.backlog_bytes).replace(' ', '') : '0') : '') });
  return cols;
}

const CPU_COLS: Column<TopCpu>[] = [
  { head: 'CPU', width: 4, cell: (c) => String(c.cpu) },
  { head: 'proc/s', width: 8, cell: (c) => formatSI(c.processed_ps) },
  { head: 'drop/s', width: 8, cell: (c) => formatSI(c.dropped_ps) },
  { head: 'squeeze/s', width: 10, cell: (c) => formatSI(c.time_squeeze_ps) },
];
const CPU_CELL = CPU_COLS.reduce((s, c) => s + c.width, 0);
const CPU_GAP = 4;

/** Softnet per CPU, several CPUs side by side when the width allows. */
function cpuLines(cpus: readonly TopCpu[], width: number): { head: string; rows: string[] } {
  const per = Math.max(1, Math.floor((width + CPU_GAP) / (CPU_CELL + CPU_GAP)));
  const t = tableLines(CPU_COLS, cpus);
  const perLine = Math.min(per, Math.max(1, cpus.length));
  const rowsPerCol = Math.ceil(cpus.length / perLine);
  const rows: string[] = [];
  for (let i = 0; i < rowsPerCol; i++) {
    const parts: string[] = [];
    for (let k = 0; k < perLine; k++) {
      const r = t.rows[k * rowsPerCol + i];
      if (r !== undefined) parts.push(r);
    }
    rows.push(parts.join(' '.repeat(CPU_GAP)));
  }
  return { head: Array.from({ length: perLine }, () => t.head).join(' '.repeat(CPU_GAP)), rows };
}

const MARK: Record<TopFinding['severity'], string> = { critical: '✗', warn: '!', info: 'i' };

function findingLine(f: TopFinding): string {
  return ` ${MARK[f.severity]} ${f.id}${f.subject ? ` [${f.subject}]` : ''}: ${formatSI(f.rate_ps)}/s${f.fix ? ` — ${f.fix}` : ` — ${f.message}`}`;
}

function header(f: TopFrame, intervalS: number, width: number, keys: boolean): string {
  const time = f.taken_at.slice(11, 19);
  const left = `nettune top · ${f.host}${f.netns ? ` · netns ${f.netns}` : ''} · ${f.kernel} · every ${formatSI(intervalS)} s · ${time}`;
  if (!keys) return fit(left, width);
  const right = 'q quits';
  if (left.length + 2 + right.length <= width) return `${left}${' '.repeat(width - left.length - right.length)}${right}`;
  return fit(left, width);
}

interface Section {
  /** Lines always shown. */
  fixed: string[];
  /** Rows shown as far as room allows (in order), with a note for those left out. */
  rows: string[];
  more: (hidden: number) => string;
}

/** Lines of one frame for a `width`×`height` screen. `intervalS`: the requested interval.
 *  `keys`: the frame is on an interactive screen, so the header names the key that quits; a
 *  plain frame (`--once`, a pipe) reads no keys and does not offer one. */
export function renderFrame(f: TopFrame, width: number, height: number, intervalS: number, keys = true): string[] {
  const w = Math.max(MIN_WIDTH, width);
  const h = Math.max(MIN_HEIGHT, height);
  const t = f.tcp;
  const so = f.sockets;
  const tcp = flow(
    'TCP',
    [
      `act-opens ${ps(t.active_opens_ps)}`,
      `pas-opens ${ps(t.passive_opens_ps)}`,
      `out-segs ${ps(t.out_segs_ps)}`,
      `retrans ${ps(t.retrans_segs_ps)}${t.retrans_pct !== null ? ` (${t.retrans_pct.toFixed(2)}%)` : ''}`,
      `timeouts ${ps(t.timeouts_ps)}`,
      `estab ${formatSI(t.curr_estab)}`,
      `ListenOverflows ${ps(t.listen_overflows_ps)}`,
      `ListenDrops ${ps(t.listen_drops_ps)}`,
      `RcvQDrop ${ps(t.rcvq_drop_ps)}`,
      `OFOQueue ${ps(t.ofo_queue_ps)}`,
      `SynCookiesSent ${ps(t.syncookies_sent_ps)}`,
    ],
    w,
  );
  const pages = so.tcp_mem_pages ?? '?';
  const mem = so.tcp_mem ? `mem ${pages} pages of tcp_mem ${so.tcp_mem.join('/')} (${so.tcp_mem_state})` : `mem ${pages} pages (tcp_mem not readable here)`;
  const sock = flow('SOCK', [`tcp ${formatSI(so.tcp_inuse)}`, `orphan ${formatSI(so.tcp_orphan)}`, `TIME-WAIT ${formatSI(so.tcp_tw)}`, `alloc ${formatSI(so.tcp_alloc)}`, `tcp6 ${formatSI(so.tcp6_inuse)}`, `udp ${formatSI(so.udp_inuse)}`, mem], w);
  const c = f.conntrack;
  const ct = c
    ? flow('CT', [`entries ${c.count ?? '?'} / ${c.max ?? '?'}${c.used_pct !== null ? ` (${c.used_pct.toFixed(1)}%)` : ''}`, `insert_failed ${ps(c.insert_failed_ps)}`, `drop ${ps(c.drop_ps)}`, `early_drop ${ps(c.early_drop_ps)}`], w)
    : flow('CT', ['conntrack not loaded in this namespace'], w);

  const linkTable = tableLines(linkColumns(w), f.links);
  const cpus = cpuLines(f.softnet, w);
  const findings =
    f.interval_s === null
      ? [' waiting for the second sample …']
      : f.findings.length
        ? f.findings.map(findingLine)
        : [' none: no audit rule fires on this interval’s counters'];

  const sections: Section[] = [
    { fixed: [linkTable.head], rows: linkTable.rows, more: (n) => `  … ${n} more links (a taller terminal shows them)` },
    { fixed: [...tcp, ...sock, ...ct], rows: [], more: () => '' },
    { fixed: [cpus.head], rows: cpus.rows, more: (n) => `  … ${n} more rows of CPUs` },
    { fixed: [`LIVE FINDINGS (audit rules on the last ${f.interval_s !== null ? `${formatSI(f.interval_s)} s` : 'interval'})`], rows: findings, more: (n) => `  … ${n} more findings` },
  ];
  const head = header(f, intervalS, w, keys);
  let budget = h - 1 - sections.reduce((s, x) => s + x.fixed.length, 0);
  // Room for rows: one at a time, findings first, then links, CPUs, so every section shows its
  // first rows before any shows all of them.
  const shown = sections.map(() => 0);
  const order = [3, 0, 2];
  for (let progress = true; budget > 0 && progress; ) {
    progress = false;
    for (const i of order) {
      const sec = sections[i];
      if (sec && budget > 0 && (shown[i] ?? 0) < sec.rows.length) {
        shown[i] = (shown[i] ?? 0) + 1;
        budget--;
        progress = true;
      }
    }
  }
  // Links that do not all fit: the busiest first.
  const links = sections[0];
  if (links && (shown[0] ?? 0) < f.links.length) {
    const traffic = (l: TopLink): number => (l.rx_bits_ps ?? 0) + (l.tx_bits_ps ?? 0);
    links.rows = tableLines(linkColumns(w), [...f.links].sort((a, b) => traffic(b) - traffic(a) || a.name.localeCompare(b.name))).rows;
  }
  const out = [head];
  sections.forEach((sec, i) => {
    const n = shown[i] ?? 0;
    out.push(...sec.fixed);
    if (n < sec.rows.length && n > 0) out.push(...sec.rows.slice(0, n - 1), sec.more(sec.rows.length - n + 1));
    else out.push(...sec.rows.slice(0, n));
  });
  return out.slice(0, h).map((l) => fit(l, w));
}
