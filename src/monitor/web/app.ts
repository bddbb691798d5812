// The dashboard page's script (bundled for the browser by scripts/build.mjs; no inline script, so
// the page's Content-Security-Policy forbids all inline code). One EventSource: `init` carries
// the whole state, then `sample` every interval and `findings`/`drift`/`transactions`/`reports`
// when they change. Everything is rendered with textContent (never HTML from data).
import uPlot from 'uplot';
import { formatRate } from '../../units/index.js';
import type { ChartId, ChartPoint, ChartSpec } from '../dashboard-series.js';
import type { DashboardState, DriftView, FindingsView, HostView, TransactionsView } from '../dashboard-types.js';
import type { ReportListing } from '../dashboard-reports.js';

const MAX_POINTS = 300;
const COLORS = ['#0b4f8a', '#b35900', '#1e6b2e', '#a4001d', '#5b2a86', '#006d75', '#7a4300', '#3d3d3d'];

type Child = Node | string | null | undefined | false;

function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const byId = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} missing`);
  return el;
};

function replace(el: HTMLElement, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

const num = (v: number): string => (Math.abs(v) >= 1000 ? v.toExponential(2) : String(Number(v.toPrecision(3))));
const fmtValue = (unit: string, v: number | null): string => (v === null ? '—' : unit === 'bit/s' ? formatRate(v) : `${num(v)} ${unit}`);
const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

// ---- charts ------------------------------------------------------------------------------------

interface Chart {
  spec: ChartSpec;
  card: HTMLElement;
  plotEl: HTMLElement;
  latestEl: HTMLElement;
  names: string[];
  xs: number[];
  ys: Map<string, (number | null)[]>;
  plot: uPlot | null;
}

const charts = new Map<ChartId, Chart>();

function plotWidth(c: Chart): number {
  return Math.max(280, c.plotEl.clientWidth || c.card.clientWidth - 24);
}

function build(c: Chart): void {
  c.plot?.destroy();
  const opts: uPlot.Options = {
    width: plotWidth(c),
    height: 200,
    scales: { x: { time: true } },
    series: [{}, ...c.names.map((name, i) => ({ label: name, stroke: COLORS[i % COLORS.length] ?? '#000', width: 1.5, spanGaps: false, value: (_u: uPlot, v: number | null) => fmtValue(c.spec.unit, v) }))],
    axes: [{}, { size: c.spec.unit === 'bit/s' ? 100 : 60, values: (_u: uPlot, vals: number[]) => vals.map((v) => (c.spec.unit === 'bit/s' ? formatRate(v) : num(v))) }],
    legend: { live: true },
  };
  c.plot = new uPlot(opts, data(c), c.plotEl);
}

const data = (c: Chart): uPlot.AlignedData => [c.xs, ...c.names.map((n) => c.ys.get(n) ?? [])];

function addPoint(p: ChartPoint, redraw: boolean): void {
  for (const c of charts.values()) {
    const values = p.charts[c.spec.id] ?? {};
    let rebuild = false;
    for (const name of Object.keys(values))
      if (!c.names.includes(name)) {
        c.names.push(name);
        c.ys.set(name, c.xs.map(() => null));
        rebuild = true;
      }
    c.xs.push(p.t);
    for (const name of c.names) c.ys.get(name)?.push(values[name] ?? null);
    if (c.xs.length > MAX_POINTS) {
      c.xs.shift();
      for (const arr of c.ys.values()) arr.shift();
    }
    c.card.dataset.points = String(c.xs.length);
    c.latestEl.textContent = c.names.length ? c.names.map((n) => `${n}: ${fmtValue(c.spec.unit, values[n] ?? null)}`).join(' · ') : 'no data in this namespace';
    if (!redraw) continue;
    if (rebuild || !c.plot) build(c);
    else c.plot.setData(data(c));
  }
}

function setupCharts(specs: readonly ChartSpec[], series: readonly ChartPoint[]): void {
  const root = byId('charts');
  for (const c of charts.values()) c.plot?.destroy();
  charts.clear();
  root.replaceChildren();
  for (const spec of specs) {
    const plotEl = h('div', { class: 'plot' });
    const latestEl = h('p', { class: 'meta', 'aria-live': 'off' });
    const card = h('figure', { class: 'chart', id: `chart-${spec.id}`, 'data-points': '0' }, h('h3', {}, `${spec.title} (${spec.unit})`), h('p', { class: 'meta' }, spec.source), plotEl, latestEl);
    root.append(card);
    charts.set(spec.id, { spec, card, plotEl, latestEl, names: [], xs: [], ys: new Map(), plot: null });
  }
  for (const p of series) addPoint(p, false);
  for (const c of charts.values()) build(c);
}

let resizeTimer = 0;
window.addEventListener('resize', () => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    for (const c of charts.values()) c.plot?.setSize({ width: plotWidth(c), height: 200 });
  }, 150);
});

// ---- panels ------------------------------------------------------------------------------------

function renderHost(host: HostView): void {
  byId('host').textContent = `${host.hostname}${host.netns ? ` · netns ${host.netns}` : ''} · kernel ${host.kernel} · every ${host.interval_s} s · nettune ${host.version}`;
}

function renderFindings(f: FindingsView): void {
  const s = f.summary;
  byId('findings-summary').textContent = f.error
    ? `audit failed: ${f.error}`
    : `${s.critical} critical, ${s.warn} warn, ${s.info} info · ${f.evaluated} rules evaluated, ${f.skipped} not applicable · ${f.interval_s ? `rates over ${f.interval_s.toFixed(1)} s` : 'counters since boot (rates after the first interval)'} · ${when(f.evaluated_at)}`;
  const items = f.findings.map((x) =>
    h(
      'li',
      { class: x.severity, 'data-rule': x.id },
      h('span', { class: `badge ${x.severity}` }, x.severity),
      ' ',
      h('strong', {}, x.title),
      x.subject ? ` [${x.subject}]` : '',
      ' — ',
      h('a', { href: `#rule/${encodeURIComponent(x.id)}`, class: 'explain finding-id', 'aria-label': `Explain rule ${x.id}` }, x.id),
      h('p', {}, x.message),
      x.evidence.length ? h('ul', { class: 'evidence' }, ...x.evidence.map((e) => h('li', {}, h('code', {}, e)))) : null,
      x.fix.length ? h('details', {}, h('summary', {}, 'Fix'), ...x.fix.map((c) => h('pre', {}, h('code', {}, c)))) : null,
    ),
  );
  // A re-render must not take the keyboard focus away from the finding the user is on.
  const focused = document.activeElement?.closest('#findings-list li[data-rule]')?.getAttribute('data-rule');
  replace(byId('findings-list'), ...(items.length ? items : [h('li', {}, f.error ? 'No audit.' : 'No findings.')]));
  if (focused) explainLink(focused)?.focus();
}

const explainLink = (id: string): HTMLElement | null => document.querySelector<HTMLElement>(`#findings-list li[data-rule="${CSS.escape(id)}"] a.explain`);

function table(head: string[], rows: (string | Node)[][]): HTMLElement {
  return h('table', {}, h('thead', {}, h('tr', {}, ...head.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))));
}

function renderDrift(d: DriftView): void {
  const b = d.baseline;
  byId('drift-summary').textContent = d.error
    ? `drift not available: ${d.error}`
    : b
      ? `${b.kind === 'transaction' ? `transaction ${b.id} (${b.status}, ${when(b.started_at)}, ${b.source})` : `plan ${b.file}`}: ${d.drifted} drifted, ${d.holding} holding, ${d.unknown} not comparable · checked ${when(d.checked_at)}`
      : (d.note ?? 'nothing to compare');
  replace(
    byId('drift-table'),
    d.entries.length
      ? table(
          ['', 'setting', 'applied', 'live now', 'note'],
          d.entries.map((e) => [h('span', { class: `badge ${e.drifted === true ? 'drift' : 'same'}` }, e.drifted === true ? 'drift' : e.drifted === false ? 'holds' : '?'), h('code', {}, e.key), e.expected, e.actual ?? '—', e.note ?? '']),
        )
      : null,
  );
}

function renderTransactions(t: TransactionsView): void {
  const rows = t.transactions.map((x) => [
    String(x.id),
    when(x.started_at),
    x.status,
    x.netns ?? '—',
    x.source,
    x.steps.length
      ? h('details', {}, h('summary', {}, `${x.steps.length} step${x.steps.length === 1 ? '' : 's'}`), table(['target', 'before', 'wanted', 'read back', 'state'], x.steps.map((s) => [h('code', {}, s.target), s.before ?? '—', s.wanted, s.after ?? '—', s.status])))
      : x.error ?? '',
  ]);
  replace(byId('tx-table'), t.error ? h('p', {}, `journal not readable: ${t.error}`) : rows.length ? table(['id', 'started', 'status', 'netns', 'source', 'steps'], rows) : h('p', { class: 'muted' }, `No transactions in ${t.journal}.`));
}

function renderReports(r: ReportListing | null): void {
  byId('reports-summary').textContent = r ? `${r.reports.length} report${r.reports.length === 1 ? '' : 's'} in ${r.dir}${r.problems.length ? ` · not readable: ${r.problems.join('; ')}` : ''}` : 'No --reports DIR given.';
  const items = (r?.reports ?? []).map((x) => {
    const figures = x.files.filter((f) => f.type === 'image/svg+xml');
    const others = x.files.filter((f) => f.type !== 'image/svg+xml');
    const ratio = x.ratio === null ? '' : ` · B/A ${x.ratio.toFixed(3)}${x.ci95 ? ` (95% CI ${x.ci95[0].toFixed(3)}–${x.ci95[1].toFixed(3)})` : ''}`;
    return h(
      'li',
      {},
      h('strong', {}, x.name),
      ` — ${x.verdict}${ratio}${x.partial ? ' · partial' : ''} · ${when(x.started_at)}`,
      x.claim ? h('p', {}, x.claim) : null,
      h('p', { class: 'muted' }, x.arms.map((a) => `${a.key}: ${a.label} median ${fmtValue(x.metric.unit, a.median)}`).join(' · ')),
      h('p', {}, ...others.flatMap((f, i) => [i ? ' · ' : '', h('a', { href: f.url }, f.name)])),
      figures.length ? h('div', { class: 'figures' }, ...figures.map((f) => h('a', { href: f.url }, h('img', { src: f.url, alt: `${x.name}: ${f.name}`})))) : null,
    );
  });
  replace(byId('reports-list'), ...items);
}

// ---- rule explanations -------------------------------------------------------------------------

interface RuleMeta {
  id: string;
  title: string;
  domain: string;
  severity: string;
  severity_note: string | null;
  why: string;
  risk: string;
  sources: string[];
  needs: string[];
  min_kernel: string | null;
}

let returnFocus: HTMLElement | null = null;
let openRule: string | null = null;

async function openExplanation(id: string): Promise<void> {
  const dialog = byId('explain') as HTMLDialogElement;
  const body = byId('explain-body');
  byId('explain-title').textContent = id;
  openRule = id;
  replace(body, h('p', {}, 'loading…'));
  if (!dialog.open) dialog.showModal();
  const res = await fetch(`/api/rules/${encodeURIComponent(id)}`, { headers: { Accept: 'application/json' } });
  if (!res.ok) return replace(body, h('p', {}, `No explanation for ${id} (HTTP ${res.status}).`));
  const r = (await res.json()) as RuleMeta;
  byId('explain-title').textContent = `${r.id} — ${r.title}`;
  replace(
    body,
    h('p', { class: 'muted' }, `domain ${r.domain} · severity ${r.severity}${r.severity_note ? ` (${r.severity_note})` : ''}${r.needs.length ? ` · needs ${r.needs.join(', ')}` : ''}${r.min_kernel ? ` · kernel ≥ ${r.min_kernel}` : ''}`),
    h('h3', {}, 'Why'),
    h('p', {}, r.why),
    h('h3', {}, 'Risk'),
    h('p', {}, r.risk),
    h('h3', {}, 'Sources'),
    h('ul', {}, ...r.sources.map((s) => h('li', {}, /^https?:\/\//.test(s) ? h('a', { href: s, rel: 'noreferrer noopener', target: '_blank' }, s) : s))),
    h('p', { class: 'muted' }, 'Same text as ', h('code', {}, `nettune rules explain ${r.id}`), '.'),
  );
}

function onHash(): void {
  const m = /^#rule\/(.+)$/.exec(location.hash);
  if (!m?.[1]) return;
  if (document.activeElement instanceof HTMLElement && document.activeElement !== document.body) returnFocus = document.activeElement;
  openExplanation(decodeURIComponent(m[1])).catch((err: unknown) => replace(byId('explain-body'), h('p', {}, `Could not load: ${String(err)}`)));
}

const dialogEl = byId('explain') as HTMLDialogElement;
dialogEl.addEventListener('close', () => {
  if (location.hash.startsWith('#rule/')) history.replaceState(null, '', location.pathname);
  // The findings may have been re-rendered meanwhile: then focus the new link of the same rule.
  const back = returnFocus?.isConnected ? returnFocus : openRule ? explainLink(openRule) : null;
  back?.focus();
  returnFocus = null;
  openRule = null;
});
window.addEventListener('hashchange', onHash);

// ---- the event stream --------------------------------------------------------------------------

const status = byId('status');
function setStatus(text: string, cls: 'live' | 'down' | ''): void {
  status.textContent = text;
  status.className = `status ${cls}`;
}

let lastSeq = 0;
const events = new EventSource('/api/events');
const on = <T>(name: string, fn: (d: T) => void): void =>
  events.addEventListener(name, (e) => {
    fn(JSON.parse((e as MessageEvent<string>).data) as T);
  });

on<DashboardState>('init', (s) => {
  renderHost(s.host);
  setupCharts(s.charts, s.series);
  lastSeq = s.series.at(-1)?.seq ?? 0;
  renderFindings(s.findings);
  renderDrift(s.drift);
  renderTransactions(s.transactions);
  renderReports(s.reports);
  setStatus('live', 'live');
  document.body.dataset.ready = 'true';
  onHash();
});
on<ChartPoint>('sample', (p) => {
  if (p.seq <= lastSeq) return;
  lastSeq = p.seq;
  addPoint(p, true);
  setStatus(`live · ${new Date(p.t * 1000).toLocaleTimeString()}`, 'live');
});
on<FindingsView>('findings', renderFindings);
on<DriftView>('drift', renderDrift);
on<TransactionsView>('transactions', renderTransactions);
on<ReportListing>('reports', renderReports);
events.addEventListener('error', () => setStatus(events.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…', 'down'));
