// The dashboard's data side: chart points from rates, the reports listing (files written by the
// lab's own report writer) and its refusals, the findings view of a real audit, the history of
// a journal that does not exist (nothing created).
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ExperimentResult, writeReport } from '../../src/lab/report.js';
import { withStateDir } from '../../src/apply/state.js';
import { evaluate } from '../../src/rules/engine.js';
import { allRules } from '../../src/rules/index.js';
import { CHART_IDS, CHARTS, chartPoint, MAX_LINKS } from '../../src/monitor/dashboard-series.js';
import { listReports, readReportFile, ROOT_REPORT_ID } from '../../src/monitor/dashboard-reports.js';
import { findingsView, transactionsView } from '../../src/monitor/dashboard-data.js';
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
  it('the session cookie is derived from the token, never the token itself', () => {
    expect(cookieSecret('a-token-of-16-chars')).not.toContain('a-token');
    expect(cookieSecret('a-token-of-16-chars')).toBe(cookieSecret('a-token-of-16-chars'));
    expect(cookieSecret('a-token-of-16-chars')).not.toBe(cookieSecret('b-token-of-16-chars'));
  });
});
