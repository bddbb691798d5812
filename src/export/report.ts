// report: one document for a change-review board, as Markdown and as self-contained HTML, built
// from the same rows: what changes (from → to, scope), why, the evidence (the rule or intent, the
// journal's read-back for a transaction), the built-in lab experiments that test each kind of
// change, what was considered and left, and how to undo it.
import { EXPERIMENTS, type ExperimentDef } from '../lab/experiments.js';
import { formatBytes, formatMs, formatRate } from '../units/index.js';
import { changeId } from './source.js';
import { describeSource, oneLine, scopeOf } from './describe.js';
import type { ExportChange, ExportDoc, Rendered, RenderOptions } from './types.js';

/** The experiments whose B arm changes the same knob (sysctl key, or ethtool setting). */
function experimentsFor(c: ExportChange): ExperimentDef[] {
  return EXPERIMENTS.filter((e) => {
    if (e.b === 'plan-buffers') return c.kind === 'sysctl' && /^net\.(ipv4\.tcp_[rw]mem|core\.[rw]mem_max)$/.test(c.key);
    if (typeof e.b.changes === 'function') return e.b.kinds?.includes(c.kind) ?? false;
    const arms = e.b.changes === 'baseline' ? [] : Object.values(e.b.changes).flat();
    if (e.b.bench?.congestion) return c.kind === 'sysctl' && c.key === 'net.ipv4.tcp_congestion_control';
    return arms.some((a) => (a.kind === 'sysctl' && c.kind === 'sysctl' ? a.key === c.key : a.kind === 'ethtool' && c.kind === 'ethtool' ? a.setting === c.setting && a.group === c.group : false));
  });
}

interface Row {
  target: string;
  from: string;
  to: string;
  scope: string;
  reason: string;
  evidence: string[];
  experiments: { name: string; claim: string }[];
}

function rowsOf(doc: ExportDoc): Row[] {
  return doc.changes.map((c) => {
    const target = changeId(c);
    const step = doc.transaction?.steps.find((s) => s.target === target);
    const evidence = [
      c.source.startsWith('rule:') ? `audit rule ${c.source.slice(5)} (nettune rules explain ${c.source.slice(5)})` : c.source.startsWith('intent:') ? `workload intent ${c.source.slice(7)}${doc.link ? ', computed for the stated link' : ''}` : c.source,
      ...(step ? [`journal: before ${step.before ?? '(none)'}, asked ${step.wanted}, read back ${step.after ?? '(not read)'}, step ${step.status}`] : []),
    ];
    return {
      target,
      from: c.from ?? '(unknown)',
      to: c.to,
      scope: c.kind === 'sysctl' ? scopeOf(c.key) : 'device',
      reason: oneLine(c.reason),
      evidence,
      experiments: experimentsFor(c).map((e) => ({ name: e.name, claim: e.claim })),
    };
  });
}

const facts = (doc: ExportDoc): [string, string][] =>
  [
    ['Source', describeSource(doc)],
    ['Host', doc.host ? `${doc.host.hostname}${doc.host.netns ? ` (netns ${doc.host.netns})` : ''}, kernel ${doc.host.kernel}` : 'not recorded'],
    ['Workload', doc.workload ?? '—'],
    ['Link', doc.link ? `${formatRate(doc.link.rate_bps)} × ${formatMs(doc.link.rtt_s)} RTT, BDP ${formatBytes(doc.link.bdp_bytes)}${doc.link.loss_pct !== null ? `, loss ${doc.link.loss_pct} %` : ''}` : '—'],
    ['Transaction', doc.transaction ? `${doc.transaction.id}: ${doc.transaction.status}, ${doc.transaction.started_at} → ${doc.transaction.finished_at ?? '…'}${doc.transaction.error ? `, error: ${doc.transaction.error}` : ''}` : '—'],
  ].map(([k, v]) => [k ?? '', oneLine(v ?? '')]);

const undo = (doc: ExportDoc): string =>
  doc.transaction
    ? `nettune rollback ${doc.transaction.id} (or: nettune export tx:${doc.transaction.id} --format shell --revert)`
    : 'apply it with nettune apply FILE --confirm 5m; every transaction can be undone with nettune rollback ID';

// ---- Markdown ------------------------------------------------------------------------------

const mdCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));
const mdTable = (head: string[], rows: string[][]): string[] => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)];

function markdown(doc: ExportDoc, rows: Row[]): string {
  const out = [`# Change review: ${mdCell(doc.label)}`, '', ...mdTable(['', ''], facts(doc)), '', `## What changes (${rows.length})`, ''];
  out.push(...(rows.length ? mdTable(['#', 'target', 'from', 'to', 'scope'], rows.map((r, i) => [String(i + 1), `\`${r.target}\``, r.from, r.to, r.scope])) : ['Nothing.']), '');
  out.push('## Why, and the evidence', '');
  rows.forEach((r, i) => {
    out.push(`### ${i + 1}. \`${r.target}\`: ${mdCell(r.from)} → ${mdCell(r.to)}`, '', `- **Why:** ${mdCell(r.reason)}`, ...r.evidence.map((e) => `- **Evidence:** ${mdCell(e)}`));
    if (r.experiments.length) for (const e of r.experiments) out.push(`- **Experiment:** \`nettune experiment run ${e.name}\` tests it on this kernel: ${mdCell(e.claim)}`);
    else out.push('- **Experiment:** no built-in experiment tests this change');
    out.push('');
  });
  if (doc.skipped.length) out.push(`## Considered, not changed (${doc.skipped.length})`, '', ...mdTable(['key', 'why not', 'source'], doc.skipped.map((s) => [s.key, s.reason, s.source])), '');
  if (doc.transaction) out.push('## Journal steps', '', ...mdTable(['target', 'before', 'wanted', 'read back', 'state'], doc.transaction.steps.map((s) => [s.target, s.before ?? '(none)', s.wanted, s.after ?? '', s.status])), '');
  if (doc.notes.length) out.push('## Notes', '', ...doc.notes.map((n) => `- ${mdCell(oneLine(n))}`), '');
  out.push('## Undo', '', mdCell(undo(doc)), '');
  return out.join('\n');
}

// ---- HTML ----------------------------------------------------------------------------------

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
const hTable = (head: string[], rows: string[][]): string =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

function html(doc: ExportDoc, rows: Row[]): string {
  const parts = [
    `<h1>Change review: ${esc(doc.label)}</h1>`,
    hTable(['', ''], facts(doc)),
    `<h2>What changes (${rows.length})</h2>`,
    rows.length ? hTable(['#', 'target', 'from', 'to', 'scope'], rows.map((r, i) => [String(i + 1), r.target, r.from, r.to, r.scope])) : '<p>Nothing.</p>',
    '<h2>Why, and the evidence</h2>',
    ...rows.map(
      (r, i) =>
        `<h3>${i + 1}. <code>${esc(r.target)}</code>: ${esc(r.from)} → ${esc(r.to)}</h3><ul><li><b>Why:</b> ${esc(r.reason)}</li>${r.evidence.map((e) => `<li><b>Evidence:</b> ${esc(e)}</li>`).join('')}${
          r.experiments.length ? r.experiments.map((e) => `<li><b>Experiment:</b> <code>nettune experiment run ${esc(e.name)}</code> tests it on this kernel: ${esc(e.claim)}</li>`).join('') : '<li><b>Experiment:</b> no built-in experiment tests this change</li>'
        }</ul>`,
    ),
    ...(doc.skipped.length ? [`<h2>Considered, not changed (${doc.skipped.length})</h2>`, hTable(['key', 'why not', 'source'], doc.skipped.map((s) => [s.key, s.reason, s.source]))] : []),
    ...(doc.transaction ? ['<h2>Journal steps</h2>', hTable(['target', 'before', 'wanted', 'read back', 'state'], doc.transaction.steps.map((s) => [s.target, s.before ?? '(none)', s.wanted, s.after ?? '', s.status]))] : []),
    ...(doc.notes.length ? ['<h2>Notes</h2>', `<ul>${doc.notes.map((n) => `<li>${esc(oneLine(n))}</li>`).join('')}</ul>`] : []),
    '<h2>Undo</h2>',
    `<p>${esc(undo(doc))}</p>`,
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Change review: ${esc(doc.label)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}code{font-family:ui-monospace,monospace}h3{font-size:1rem;margin-top:1.5rem}</style>
</head><body>
${parts.join('\n')}
</body></html>
`;
}

export function renderReport(doc: ExportDoc, opts: RenderOptions): Rendered {
  const rows = rowsOf(doc);
  return {
    files: [
      { path: `${opts.name}-report.md`, content: markdown(doc, rows) },
      { path: `${opts.name}-report.html`, content: html(doc, rows) },
    ],
    notes: rows.some((r) => r.experiments.length) ? ['the report names the experiments that test these changes; their results come from running them (nettune experiment run NAME --report DIR)'] : [],
  };
}
