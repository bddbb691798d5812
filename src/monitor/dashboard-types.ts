// What the dashboard's JSON API and event stream carry (/api/state, /api/PART, event data). The
// server builds these (src/monitor/dashboard-live.ts) and the page reads them (web/app.ts), so
// both sides share the one definition.
import type { StepRow, TxRow } from '../apply/journal.js';
import type { ChartPoint, ChartSpec } from './dashboard-series.js';
import type { ReportListing } from './dashboard-reports.js';

export interface HostView {
  hostname: string;
  kernel: string;
  netns: string | null;
  interval_s: number;
  started_at: string;
  version: string;
}

export interface FindingView {
  id: string;
  title: string;
  severity: 'info' | 'warn' | 'critical';
  subject: string | null;
  message: string;
  evidence: string[];
  fix: string[];
  confidence: string;
  /** Where the page fetches the rule's explanation (same text as `nettune rules explain ID`). */
  explain_url: string;
}

export interface FindingsView {
  evaluated_at: string | null;
  /** Seconds between the two samples the rates were judged over (null: since-boot totals). */
  interval_s: number | null;
  summary: { critical: number; warn: number; info: number };
  evaluated: number;
  skipped: number;
  findings: FindingView[];
  error: string | null;
}

export interface DriftView {
  /** The transaction (or plan) compared with, described; null when there is none. */
  baseline: { kind: string; id?: number; status?: string; started_at?: string; source?: string; file?: string } | null;
  note: string | null;
  entries: { key: string; kind: string; expected: string; actual: string | null; drifted: boolean | null; note?: string }[];
  drifted: number;
  holding: number;
  unknown: number;
  checked_at: string | null;
  error: string | null;
}

/** A journal row as the page shows it (the plan and result documents left out), with its steps. */
export type TxView = Pick<TxRow, 'id' | 'started_at' | 'finished_at' | 'status' | 'netns' | 'source' | 'error' | 'confirm_deadline'> & {
  steps: { target: string; before: string | null; wanted: string; after: string | null; status: StepRow['status'] }[];
};

export interface TransactionsView {
  journal: string;
  transactions: TxView[];
  error: string | null;
}

export interface DashboardState {
  host: HostView;
  charts: readonly ChartSpec[];
  series: ChartPoint[];
  findings: FindingsView;
  drift: DriftView;
  transactions: TransactionsView;
  reports: ReportListing | null;
}
