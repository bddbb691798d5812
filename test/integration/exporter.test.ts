// The real exporter on loopback (no root needed): a live scrape passes `promtool check metrics`
// with nothing reported, holds the families the issue lists, and the HTTP edges refuse what they
// must; bad flags are exit 2, a port in use exit 3 naming it. The Grafana dashboard and the alert
// rules name only metrics this scrape serves.
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { alertExpr } from '../../src/export/alerts.js';
import { dashboardExprs } from '../../src/export/grafana.js';
import { metricNamesIn } from '../../src/monitor/metrics-names.js';
import { ALERTS } from '../../src/rules/alerts.js';
import { runCli } from '../helpers.js';
import { familiesOf, httpGet, type Running, startExporter, stopAllExporters } from './exporter-helpers.js';

const state = mkdtempSync(join(tmpdir(), 'nettune-exporter-state-'));
let exp: Running;
let scrape = '';

beforeAll(async () => {
  exp = await startExporter([], { NETTUNE_STATE_DIR: state });
  await httpGet(`${exp.url}/metrics`);
  scrape = (await httpGet(`${exp.url}/metrics`)).body;
}, 90_000);
afterAll(async () => {
  await stopAllExporters();
  rmSync(state, { recursive: true, force: true });
});

/** The content of the one file `nettune export FORMAT --json` writes, as a user would get it. */
function exportedFile(format: 'grafana' | 'alerts'): string {
  const r = runCli(['export', format, '--json'], { NETTUNE_STATE_DIR: state });
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as { files: { content: string }[] };
  expect(doc.files).toHaveLength(1);
  return doc.files[0]?.content ?? '';
}

/** Every PromQL expression in a Grafana dashboard: each target's `expr` and each template
 *  variable's query (`label_values(EXPR, label)` unwrapped to EXPR). */
function grafanaExprs(dash: unknown): string[] {
  const out: string[] = [];
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) for (const x of o) walk(x);
    else if (o !== null && typeof o === 'object')
      for (const [k, v] of Object.entries(o)) {
        if (k === 'expr' && typeof v === 'string') out.push(v);
        else if (k === 'definition' && typeof v === 'string') out.push(v.replace(/^label_values\((.*),\s*\w+\)$/, '$1'));
        else walk(v);
      }
  };
  walk(dash);
  return out;
}

describe('a live scrape', () => {
  it('promtool check metrics reports nothing', () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('holds the families: netstat/snmp fields, sockstat, softnet per CPU, links, tuning state, build and scrape time', () => {
    const f = familiesOf(scrape);
    for (const name of [
      'nettune_netstat_tcpext_listen_overflows_total',
      'nettune_netstat_tcp_retrans_segs_total',
      'nettune_netstat_udp_rcvbuf_errors_total',
      'nettune_netstat_ip6_in_receives_total',
      'nettune_sockstat_tcp_inuse',
      'nettune_sockstat_tcp_mem_pages',
      'nettune_softnet_processed_total',
      'nettune_network_receive_bytes_total',
      'nettune_sysctl_value',
      'nettune_tcp_congestion_control_info',
      'nettune_qdisc_info',
      'nettune_build_info',
      'nettune_scrape_duration_seconds',
    ])
      expect(f.has(name), name).toBe(true);
    expect(scrape).toMatch(/^nettune_softnet_processed_total\{cpu="0"\} \d+/m);
    expect(scrape).toMatch(/^nettune_network_receive_bytes_total\{device="lo"\} \d+/m);
    expect(scrape).toMatch(/^nettune_sysctl_value\{key="net\.ipv4\.tcp_rmem",field="max"\} \d+/m);
    expect(scrape).toMatch(/^nettune_sysctl_value\{key="net\.core\.somaxconn",field=""\} \d+/m);
    // every TcpExt field of this kernel is served, none filtered out
    const tcpext = [...scrape.matchAll(/^# TYPE nettune_netstat_tcpext_/gm)].length;
    expect(tcpext).toBeGreaterThan(100);
  });

  it('each sequential scrape takes its own sample; scrapes that arrive together share one, none fails', async () => {
    const value = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const samples = async (): Promise<number> => value((await httpGet(`${exp.url}/metrics`)).body, 'nettune_exporter_samples_total');
    const a = await samples();
    const b = await samples();
    const c = await samples();
    expect([b - a, c - b]).toEqual([1, 1]);
    // 20 connections open first (Node's agent keeps them alive), so the 20 scrapes leave at once.
    const twenty = (path: string): Promise<Awaited<ReturnType<typeof httpGet>>[]> => Promise.all(Array.from({ length: 20 }, () => httpGet(`${exp.url}${path}`)));
    await twenty('/healthz');
    const together = await twenty('/metrics');
    expect(together.every((r) => r.status === 200)).toBe(true);
    const d = await samples();
    // The scrape in flight and the one queued behind it serve most of them; never one each.
    expect(d - c).toBeGreaterThanOrEqual(2);
    expect(d - c).toBeLessThanOrEqual(10);
    expect(value(scrape, 'nettune_exporter_heap_used_bytes')).toBeGreaterThan(1e6);
  });

  it('the files `export grafana` and `export alerts` write hold exactly the expressions checked here and in Prometheus', () => {
    const grafana = exportedFile('grafana');
    const dash = JSON.parse(grafana) as { panels: { type: string; title: string }[] };
    expect(new Set(grafanaExprs(dash))).toEqual(new Set(dashboardExprs()));
    const rows = dash.panels.filter((p) => p.type === 'row').map((p) => p.title.toLowerCase()).join(' | ');
    for (const topic of ['links', 'tcp', 'softnet', 'conntrack', 'tcp_mem', 'findings', 'drift']) expect(rows, topic).toContain(topic);
    const alerts = parseYaml(exportedFile('alerts')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    expect(alerts.groups.flatMap((g) => g.rules.map((r) => r.expr)).sort()).toEqual(ALERTS.map((a) => alertExpr(a)).sort());
  });

  it('the dashboard and the alert rules name only metrics this scrape serves', () => {
    const f = familiesOf(scrape);
    // Families that exist only where the host has them: conntrack (module loaded), drift (something applied), findings (a rule firing).
    const conditional = /^nettune_(conntrack_|drift|audit_finding|netstat_tcpext_tcp_memory_pressures)/;
    const exported = parseYaml(exportedFile('alerts')) as { groups: { rules: { expr: string }[] }[] };
    const used = [...grafanaExprs(JSON.parse(exportedFile('grafana'))), ...exported.groups.flatMap((g) => g.rules.map((r) => r.expr))].flatMap(metricNamesIn);
    expect(used.length).toBeGreaterThan(30);
    for (const name of used) if (!conditional.test(name)) expect(f.has(name), name).toBe(true);
  });

  it('/healthz answers ok; other paths 404; other methods 405; traversal 400; oversized headers 431', async () => {
    expect(await httpGet(`${exp.url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await httpGet(`${exp.url}/nope`)).status).toBe(404);
    expect((await httpGet(`${exp.url}/`)).status).toBe(404);
    expect((await httpGet(`${exp.url}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await httpGet(exp.url, { rawPath: '/%2e%2e/metrics' })).status).toBe(400);
    expect((await httpGet(exp.url, { rawPath: '/../etc/passwd' })).status).toBe(400);
    expect((await httpGet(`${exp.url}/metrics`, { headers: { 'X-Big': 'a'.repeat(20_000) } })).status).toBe(431);
    const m = await httpGet(`${exp.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('--json', () => {
  it('a signal ends the exporter with its run summary as the one document (not an interruption error)', async () => {
    const e = await startExporter(['--json'], { NETTUNE_STATE_DIR: state });
    expect((await httpGet(`${e.url}/metrics`)).status).toBe(200);
    expect((await httpGet(`${e.url}/metrics`)).status).toBe(200);
    expect(await e.stop()).toBe(143);
    const lines = e.stdout().trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(doc).toMatchObject({ listen: `127.0.0.1:${e.port}`, netns: null, stopped_by: 'SIGTERM', scrapes: 2, failed: 0 });
    expect(doc.error).toBeUndefined();
  }, 90_000);
});

describe('bad input', () => {
  it('bad --listen is exit 2 before anything starts', () => {
    for (const bad of ['nohost', '127.0.0.1:99999', 'example.com:80', '[::1]']) {
      const r = runCli(['exporter', '--listen', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--listen/);
    }
  });

  it('a port in use is exit 3 naming the port, with one JSON document under --json', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = runCli(['exporter', '--listen', `127.0.0.1:${port}`, '--json'], { NETTUNE_STATE_DIR: state });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`port ${port} is already in use`);
      expect((JSON.parse(r.stdout) as { error: { exit_code: number } }).error.exit_code).toBe(3);
    } finally {
      blocker.close();
    }
  }, 90_000);

  it('an unknown --netns, a bad --plan, --workload or --refresh are exit 2', () => {
    expect(runCli(['exporter', '--netns', 'nt-h5-does-not-exist']).code).toBe(2);
    const bad = join(state, 'bad-plan.json');
    writeFileSync(bad, '{"schema":"nettune.plan/1"}');
    const r = runCli(['exporter', '--plan', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a valid plan');
    expect(runCli(['exporter', '--workload', 'fast']).code).toBe(2);
    expect(runCli(['exporter', '--refresh', '1s']).code).toBe(2);
  });
});
