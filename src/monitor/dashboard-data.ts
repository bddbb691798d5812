// The dashboard's views of the journal and of an audit: plain data for the page, computed from
// the apply stage's journal and the rule engine's result. Reading only: a host without a journal
// shows "no transactions" and gets no journal created.
import { existsSync } from 'node:fs';
import { listTx, openJournalReadOnly, stepsOf } from '../apply/journal.js';
import { targetLabel } from '../apply/io.js';
import { journalPath } from '../apply/state.js';
import { type AuditResult, formatEvidence } from '../rules/engine.js';
import { errorMessage } from '../sys/errors.js';
import type { FindingsView, TransactionsView, TxView } from './dashboard-types.js';

/** Transactions shown, newest first. */
export const HISTORY_ROWS = 50;

const clip = (s: string | null, n = 200): string | null => (s === null ? null : s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The transaction history with each transaction's steps (file contents are not shown). */
export function transactionsView(limit = HISTORY_ROWS): TransactionsView {
  const journal = journalPath();
  if (!existsSync(journal)) return { journal, transactions: [], error: null };
  try {
    const db = openJournalReadOnly();
    const transactions: TxView[] = listTx(db, limit).map((tx) => ({
      id: tx.id,
      started_at: tx.started_at,
      finished_at: tx.finished_at,
      status: tx.status,
      netns: tx.netns,
      source: tx.source,
      error: tx.error,
      confirm_deadline: tx.confirm_deadline,
      steps: stepsOf(db, tx.id).map((s) => {
        const isFile = s.target.kind === 'file';
        return { target: targetLabel(s.target), before: isFile ? (s.before === null ? '(none)' : '(file)') : clip(s.before), wanted: isFile ? '(file)' : (clip(s.wanted) ?? ''), after: isFile ? null : clip(s.after), status: s.status };
      }),
    }));
    return { journal, transactions, error: null };
  } catch (err) {
    return { journal, transactions: [], error: errorMessage(err) };
  }
}

export const emptyFindings = (error: string | null = null): FindingsView => ({ evaluated_at: null, interval_s: null, summary: { critical: 0, warn: 0, info: 0 }, evaluated: 0, skipped: 0, findings: [], error });

/** An audit as the page lists it: evidence formatted as `nettune audit` prints it. */
export function findingsView(r: AuditResult, at: string): FindingsView {
  return {
    evaluated_at: at,
    interval_s: r.interval_s,
    summary: { ...r.summary },
    evaluated: r.evaluated,
    skipped: r.skipped.length,
    findings: r.findings.map((f) => ({
      id: f.id,
      title: f.title,
      severity: f.severity,
      subject: f.subject,
      message: f.message,
      evidence: f.evidence.map((e) => formatEvidence(e, r.kernel_defaults)),
      fix: f.fix.commands,
      confidence: f.confidence,
      explain_url: `/api/rules/${encodeURIComponent(f.id)}`,
    })),
    error: r.rule_errors.length ? `rule errors: ${r.rule_errors.map((e) => `${e.id}: ${e.message}`).join('; ')}` : null,
  };
}
