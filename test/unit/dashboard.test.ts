// The dashboard's data side: chart points from rates, the reports listing (files written by the
// lab's own report writer) and its refusals, the findings view of a real audit, the history of
// a journal that does not exist (nothing created).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ExperimentResult, writeReport } from '../../src/lab/report.js';
import { withStateDir } from '../../src/apply/state.js';
import { evaluate } from '../../src/rules/engine.js';
import { allRules } from '../../src/rules/index.js';
import { CHART_IDS, CHARTS, chartPoint, MAX_LINKS } from '../../src/monitor/dashboard-series.js';
import { listReports, readReportFile, ROOT_REPORT_ID } from '../../src/monitor/dashboard-reports.js';
import { closeJournal } from '../../src/apply/journal.js';
import { findingsView, transactionsView } from '../../src/monitor/dashboard-data.js';
import { lastAppliedBaseline } from '../../src/monitor/drift.js';
import { cookieSecret } from '../../src/monitor/dashboard-server.js';
import { snapshotFixture } from '../helpers.js';

const sample = { seq: 7, taken_at: '2026-12-01T00:00:10.000Z', conntrack: { count: 250, max: 1000 } };

describe('chartPoint', () => {
  it('plots link bits/s, retransmits, softnet sums, conntrack use and listen overflows', () => {
    const p = chartPoint(
      {
        interval_s: 1,
        counters: { 'snmp.Tcp.RetransSegs': 3, 'netstat.TcpExt.TCPTimeouts': 0.5, 'netstat.TcpExt.ListenOverflows': 2, 'netstat.TcpExt.ListenDrops': 2 },
        softnet: [
          { dropped: 1, time_squeeze: 0 },
          { dropped: 2, time_squeeze: 4 },
        ],
        links: { eth0: { rx_bytes: 1000, tx_bytes: 250 }, lo: null },
      },
      sample,
    );
    expect(p.seq).toBe(7);
    expect(p.t).toBe(Date.parse(sample.taken_at) / 1000);
    expect(Object.keys(p.charts)).toEqual([...CHART_IDS]);
    expect(CHARTS.map((c) => c.id)).toEqual([...CHART_IDS]);
    expect(p.charts.links).toEqual({ 'eth0 rx': 8000, 'eth0 tx': 2000, 'lo rx': null, 'lo tx': null });
    expect(p.charts.retrans).toEqual({ RetransSegs: 3, TCPTimeouts: 0.5 });
    expect(p.charts.softnet).toEqual({ dropped: 3, time_squeeze: 4 });
    expect(p.charts.conntrack).toEqual({ 'in use': 25 });
    expect(p.charts.listen).toEqual({ ListenOverflows: 2, ListenDrops: 2 });
  });
  it('has no values before the first interval, a gap where one CPU has no rate, no conntrack chart values without conntrack', () => {
    const first = chartPoint(undefined, { ...sample, conntrack: null });
    expect(first.charts.links).toEqual({});
    expect(first.charts.retrans).toEqual({ RetransSegs: null, TCPTimeouts: null });
    expect(first.charts.conntrack).toEqual({});
    const gap = chartPoint({ interval_s: 1, counters: {}, softnet: [{ dropped: 1, time_squeeze: null }], links: {} }, sample);
    expect(gap.charts.softnet).toEqual({ dropped: 1, time_squeeze: null });
  });
  it(`charts at most ${MAX_LINKS} links, by name`, () => {
    const links = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`veth${String(i).padStart(2, '0')}`, { rx_bytes: 1, tx_bytes: 1 }]));
    const p = chartPoint({ interval_s: 1, counters: {}, softnet: [], links }, sample);
    expect(Object.keys(p.charts.links)).toHaveLength(2 * MAX_LINKS);
    expect(Object.keys(p.charts.links)[0]).toBe('veth00 rx');
  });
});

function result(name: string, started: string): ExperimentResult {
  return {
    name,
    claim: 'a claim',
    lab: {},
    metric: { name: 'throughput', unit: 'bit/s', higher_is_better: true },
    a: { label: 'cubic', settings: {}, samples: [1, 2, 3], median: 2, series: [[{ t: 1, v: 1 }, { t: 2, v: 2 }]] },
    b: { label: 'bbr', settings: {}, samples: [2, 3, 4], median: 3, series: [[{ t: 1, v: 2 }, { t: 2, v: 3 }]] },
    ratio: 1.5,
    ci95: [1.2, 1.8],
    verdict: 'better',
    reps: 3,
    order: ['A', 'B'],
    started_at: started,
    duration_s: 10,
    notes: [],
  };
}

describe('reports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nettune-h6-reports-'));
  writeReport(join(dir, 'older'), result('older', '2026-01-01T00:00:00Z'));
  writeReport(join(dir, 'newer'), result('newer', '2026-06-01T00:00:00Z'));
  mkdirSync(join(dir, 'broken'));
  writeFileSync(join(dir, 'broken', 'result.json'), '{"name": 1}');
  mkdirSync(join(dir, 'not-a-report'));
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  symlinkSync(join(dir, 'newer'), join(dir, 'linked'));

  it('lists the reports newest first with their files, and says which could not be read', () => {
    const l = listReports(dir);
    expect(l.reports.map((r) => r.id)).toEqual(['newer', 'older']); // the symlinked directory is not followed
    const r = l.reports[0];
    expect(r).toMatchObject({ name: 'newer', verdict: 'better', ratio: 1.5, ci95: [1.2, 1.8], reps: 3, partial: false });
    expect(r?.arms).toEqual([
      { key: 'A', label: 'cubic', median: 2 },
      { key: 'B', label: 'bbr', median: 3 },
    ]);
    expect(r?.files.map((f) => f.name).sort()).toEqual(['report.md', 'result.json', 'throughput.svg']);
    expect(r?.files.find((f) => f.name === 'throughput.svg')?.url).toBe('/reports/newer/throughput.svg');
    expect(l.problems).toHaveLength(1);
    expect(l.problems[0]).toMatch(/^broken\/result\.json: not an experiment result/);
  });
  it('DIR itself can be the report', () => {
    const one = join(dir, 'older');
    expect(listReports(one).reports.map((r) => r.id)).toEqual([ROOT_REPORT_ID]);
    expect(readReportFile(one, ROOT_REPORT_ID, 'result.json')?.type).toMatch(/application\/json/);
  });
  it('serves only listed report files: no traversal, no other names, no symlinks', () => {
    expect(readReportFile(dir, 'newer', 'throughput.svg')?.body.toString()).toMatch(/^<svg|^<\?xml/);
    expect(readReportFile(dir, 'newer', 'latency-cdf.svg')).toBeNull(); // not written for this result
    for (const [id, file] of [
      ['..', 'result.json'],
      ['newer/..', 'result.json'],
      ['newer', '../secret.txt'],
      ['newer', 'secret.txt'],
      ['-', 'secret.txt'],
      ['linked', 'result.json'],
      ['not-a-report', 'result.json'],
      ['/etc', 'passwd'],
    ] as const)
      expect(readReportFile(dir, id, file), `${id} ${file}`).toBeNull();
    symlinkSync('/etc/hostname', join(dir, 'older', 'report.md.tmp'));
    expect(readReportFile(dir, 'older', 'report.md.tmp')).toBeNull();
  });
  it('DIR\'s own result.json is not read through a symlink either (it was: the dashboard runs as root)', () => {
    const top = mkdtempSync(join(tmpdir(), 'nettune-h13-reports-'));
    const target = join(dir, 'older', 'result.json'); // a valid result elsewhere, as a root-only file could be
    symlinkSync(target, join(top, 'result.json'));
    expect(listReports(top)).toEqual({ dir: top, reports: [], problems: [] });
    rmSync(top, { recursive: true, force: true });
  });
  it('a missing directory is a problem, not an exception', () => {
    expect(listReports(join(dir, 'nope')).problems[0]).toMatch(/no such file or directory/);
  });
});

describe('findings and history views', () => {
  it('formats a real audit as `nettune audit` does, each finding with its explanation URL', () => {
    const snap = snapshotFixture();
    snap.sysctl['net.ipv4.tcp_sack'] = '0';
    const r = evaluate(allRules, { snap });
    const v = findingsView(r, snap.taken_at);
    const sack = v.findings.find((f) => f.id === 'tcp.sack-off');
    expect(sack?.explain_url).toBe('/api/rules/tcp.sack-off');
    expect(sack?.evidence[0]).toMatch(/^net\.ipv4\.tcp_sack = 0/);
    expect(v.summary).toEqual(r.summary);
    expect(v.evaluated).toBe(r.evaluated);
    expect(v.interval_s).toBeNull();
  });
  it('a state directory without a journal shows no transactions and gets no journal created', async () => {
    const state = mkdtempSync(join(tmpdir(), 'nettune-h6-state-'));
    const v = await withStateDir(state, () => Promise.resolve(transactionsView()));
    expect(v).toEqual({ journal: join(state, 'journal.db'), transactions: [], error: null });
    expect(existsSync(join(state, 'journal.db'))).toBe(false);
  });
  it('an older journal is read as it is: not migrated, not switched to WAL (the dashboard and the exporter change nothing)', async () => {
    const state = mkdtempSync(join(tmpdir(), 'nettune-h13-state-'));
    const path = join(state, 'journal.db');
    // the tables before rollback_to and boot_unit were added, in SQLite's default journal mode
    const old = new Database(path);
    old.exec(`CREATE TABLE tx (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, netns TEXT, source TEXT NOT NULL,
                confirm_deadline TEXT, error TEXT, plan_json TEXT, result_json TEXT, before_snapshot BLOB, after_snapshot BLOB, timings_json TEXT);
              CREATE TABLE step (tx_id INTEGER NOT NULL REFERENCES tx(id), seq INTEGER NOT NULL, target_json TEXT NOT NULL, before TEXT, wanted TEXT NOT NULL, after TEXT,
                status TEXT NOT NULL, error TEXT, PRIMARY KEY (tx_id, seq));`);
    old.prepare("INSERT INTO tx (started_at, finished_at, status, source) VALUES ('2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'applied', 'plan.json')").run();
    old.prepare(`INSERT INTO step (tx_id, seq, target_json, before, wanted, after, status) VALUES (1, 1, '{"kind":"sysctl","key":"net.core.somaxconn"}', '4096', '8192', '8192', 'done')`).run();
    old.close();
    const sha = (): string => createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = sha();
    try {
      const v = await withStateDir(state, () => Promise.resolve(transactionsView()));
      expect(v.error).toBeNull();
      expect(v.transactions.map((t) => [t.id, t.status, t.steps.length])).toEqual([[1, 'applied', 1]]);
      const b = await withStateDir(state, () => Promise.resolve(lastAppliedBaseline(null)));
      expect(b).not.toBeNull();
    } finally {
      closeJournal();
    }
    expect(sha()).toBe(before);
    const check = new Database(path, { readonly: true });
    expect((check.prepare('PRAGMA table_info(tx)').all() as { name: string }[]).map((c) => c.name)).not.toContain('rollback_to');
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
    rmSync(state, { recursive: true, force: true });
  });
  it('the session cookie is derived from the token, never the token itself', () => {
    expect(cookieSecret('a-token-of-16-chars')).not.toContain('a-token');
    expect(cookieSecret('a-token-of-16-chars')).toBe(cookieSecret('a-token-of-16-chars'));
    expect(cookieSecret('a-token-of-16-chars')).not.toBe(cookieSecret('b-token-of-16-chars'));
  });
});
