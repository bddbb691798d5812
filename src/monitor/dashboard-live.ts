// What the dashboard shows, kept current: one sampler (src/monitor/sampler.ts) read every
// interval → a chart point per tick; every AUDIT_EVERY_S the rule engine judges the counters over
// the last AUDIT_WINDOW_S; every REFRESH_S a full probe (the sysctl values drift compares), the
// journal's history and the reports directory. Subscribers (event streams) get each change.
import { allRules } from '../rules/index.js';
import { evaluate } from '../rules/engine.js';
import type { Workload } from '../plan/types.js';
import type { Snapshot } from '../snapshot/index.js';
import { errorMessage } from '../sys/errors.js';
import { VERSION } from '../version.js';
import { type ChartPoint, CHARTS, chartPoint } from './dashboard-series.js';
import { emptyFindings, findingsView, transactionsView } from './dashboard-data.js';
import { listReports, readReportFile, type ReportListing } from './dashboard-reports.js';
import type { DashboardEvent, DashboardSource } from './dashboard-server.js';
import type { DashboardState, DriftView, FindingsView, HostView, TransactionsView } from './dashboard-types.js';
import { computeDrift, lastAppliedBaseline } from './drift.js';
import { createRing } from './ring.js';
import { type Sampler, toSnapshot } from './sampler.js';

export const AUDIT_EVERY_S = 5;
export const AUDIT_WINDOW_S = 10;
export const REFRESH_S = 30;
/** Chart points kept (and sent to a page that connects). */
export const POINTS = 300;

export interface LiveOptions {
  sampler: Sampler;
  intervalMs: number;
  reportsDir: string | null;
  workload?: Workload;
  /** The rule's explanation as `rules explain --json` gives it. */
  explain: (id: string) => unknown;
  log: (line: string) => void;
}

export interface Live extends DashboardSource {
  /** Takes the first samples, evaluates, then ticks every interval until stop(). */
  start(): Promise<void>;
  stop(): void;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function createLive(o: LiveOptions): Live {
  const { sampler } = o;
  const points = createRing<ChartPoint>(POINTS);
  const subscribers = new Set<(e: DashboardEvent) => void>();
  const startedAt = new Date().toISOString();
  let findings: FindingsView = emptyFindings();
  let drift: DriftView = { baseline: null, note: 'not checked yet', entries: [], drifted: 0, holding: 0, unknown: 0, checked_at: null, error: null };
  let transactions: TransactionsView = transactionsView();
  let reports: ReportListing | null = o.reportsDir === null ? null : listReports(o.reportsDir);
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let ticks = 0;
  const intervalS = o.intervalMs / 1000;
  const auditEvery = Math.max(1, Math.round(AUDIT_EVERY_S / intervalS));
  const refreshEvery = Math.max(1, Math.round(REFRESH_S / intervalS));
  const windowBack = Math.max(1, Math.round(AUDIT_WINDOW_S / intervalS));

  const publish = (e: DashboardEvent): void => {
    for (const fn of subscribers) fn(e);
  };

  const host = (): HostView => {
    const b = sampler.base();
    return { hostname: b?.hostname ?? '?', kernel: b?.kernel.release ?? '?', netns: sampler.netns, interval_s: intervalS, started_at: startedAt, version: VERSION };
  };

  /** The rule engine on the newest sample against one about AUDIT_WINDOW_S earlier. */
  const audit = (): void => {
    const base = sampler.base();
    const now = sampler.ring.latest();
    if (!base || !now) return;
    const back = Math.min(windowBack, sampler.ring.size - 1);
    const then = back > 0 ? sampler.ring.latest(back) : undefined;
    let next: FindingsView;
    try {
      const r = evaluate(allRules, {
        snap: toSnapshot(base, now),
        prev: then ? toSnapshot(base, then) : null,
        ...(then ? { interval_s: (now.mono_ms - then.mono_ms) / 1000 } : {}),
        workload: o.workload ?? 'balanced',
        link: null,
      });
      next = findingsView(r, now.taken_at);
    } catch (err) {
      next = emptyFindings(errorMessage(err));
    }
    const changed = !same({ ...next, evaluated_at: null }, { ...findings, evaluated_at: null });
    findings = next;
    if (changed) publish({ event: 'findings', data: findings });
  };

  const checkDrift = (snap: Snapshot): void => {
    let next: DriftView;
    try {
      const d = computeDrift(snap, lastAppliedBaseline(sampler.netns));
      next = { ...d, checked_at: snap.taken_at, error: null };
    } catch (err) {
      next = { baseline: null, note: null, entries: [], drifted: 0, holding: 0, unknown: 0, checked_at: snap.taken_at, error: errorMessage(err) };
    }
    const changed = !same({ ...next, checked_at: null }, { ...drift, checked_at: null });
    drift = next;
    if (changed) publish({ event: 'drift', data: drift });
  };

  /** A full probe for drift, then the journal and the reports directory. */
  const refresh = async (): Promise<void> => {
    try {
      checkDrift(await sampler.snapshot());
    } catch (err) {
      o.log(`nettune dashboard: probe for drift failed: ${errorMessage(err)}`);
    }
    const tx = transactionsView();
    if (!same(tx, transactions)) publish({ event: 'transactions', data: (transactions = tx) });
    if (o.reportsDir !== null) {
      const r = listReports(o.reportsDir);
      if (!same(r, reports)) publish({ event: 'reports', data: (reports = r) });
    }
  };

  const tick = async (): Promise<void> => {
    const s = await sampler.sample();
    const p = chartPoint(sampler.rates(), s);
    points.push(p);
    publish({ event: 'sample', data: p });
    ticks++;
    if (ticks % auditEvery === 0) audit();
    if (ticks % refreshEvery === 0) await refresh();
  };

  let lastError: string | null = null;
  const loop = (): void => {
    if (stopped) return;
    const t0 = performance.now();
    tick()
      .then(() => {
        if (lastError !== null) o.log('nettune dashboard: sampling works again');
        lastError = null;
      })
      .catch((err: unknown) => {
        // once per distinct error, not once per tick
        const msg = errorMessage(err);
        if (msg !== lastError) o.log(`nettune dashboard: sample failed: ${msg}`);
        lastError = msg;
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, Math.max(0, o.intervalMs - (performance.now() - t0)));
      });
  };

  const state = (): DashboardState => ({ host: host(), charts: CHARTS, series: points.toArray(), findings, drift, transactions, reports });

  return {
    async start() {
      const first = await sampler.sample();
      points.push(chartPoint(undefined, first));
      audit();
      const base = sampler.base();
      if (base) checkDrift(base);
      timer = setTimeout(loop, o.intervalMs);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      subscribers.clear();
    },
    state,
    part(name) {
      const s = state();
      return name in s ? s[name as keyof DashboardState] : undefined;
    },
    rule: (id) => o.explain(id),
    reportFile: (id, file) => (o.reportsDir === null ? null : readReportFile(o.reportsDir, id, file)),
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}
