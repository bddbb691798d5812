// A real Prometheus (Debian's, temporary config and data dir, loopback port, always stopped)
// scrapes `nettune exporter --netns NS` for a bounded time while the test overflows an accept
// queue in that namespace of its own: the ListenOverflows rate and the audit finding it causes
// come back through Prometheus' HTTP API. Every PromQL expression of the Grafana dashboard and of
// the alert rules is then sent to the same Prometheus, which must parse it. Needs root.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertExpr } from '../../src/export/alerts.js';
import { dashboardExprs } from '../../src/export/grafana.js';
import { ALERTS } from '../../src/rules/alerts.js';
import { sleep } from '../../src/sys/process.js';
import { freePort, httpGet, type Running, startExporter, stopAllExporters, waitFor } from './exporter-helpers.js';

const isRoot = process.getuid?.() === 0;
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
const NS = `nt-h5x${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}-srv`;
const dir = mkdtempSync(join(tmpdir(), 'nettune-prom-'));
const children: ChildProcess[] = [];
let exp: Running;
let promUrl = '';

/** A listener with backlog 1 that never accepts, and `n` non-blocking connects to it: every SYN
 *  (and each retransmitted SYN) that finds the accept queue full counts a ListenOverflow. Ends
 *  after `seconds`. */
const OVERFLOW = `
import socket, sys, time
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
port = srv.getsockname()[1]
cs = []
for i in range(int(sys.argv[1])):
    c = socket.socket(); c.setblocking(False); c.connect_ex(('127.0.0.1', port)); cs.append(c)
time.sleep(float(sys.argv[2]))
`;


interface PromResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(expr: string): Promise<PromResult> {
  const r = await httpGet(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return JSON.parse(r.body) as PromResult;
}


describe.skipIf(!isRoot || !hasPrometheus)('Prometheus scrapes the exporter', () => {
  beforeAll(async () => {
    expect(spawnSync('ip', ['netns', 'add', NS]).status).toBe(0);
    spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    exp = await startExporter(['--netns', NS], { NETTUNE_STATE_DIR: join(dir, 'state') });
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: nettune\n    static_configs:\n      - targets: ['127.0.0.1:${exp.port}']\n`);
    const prom = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
    children.push(prom);
    await waitFor('prometheus ready', async () => (await httpGet(`${promUrl}/-/ready`)).status === 200, 60_000, 500);
    await waitFor('a first scrape', async () => ((await query('up{job="nettune"} == 1')).data?.result.length ?? 0) > 0, 30_000, 500);
  }, 150_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await sleep(500);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await stopAllExporters();
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a bounded accept-queue overflow in the namespace shows as a ListenOverflows rate and as the audit finding', async () => {
    const gen = spawn('ip', ['netns', 'exec', NS, 'python3', '-c', OVERFLOW, '64', '12'], { stdio: 'ignore' });
    children.push(gen);
    let rate = 0;
    await waitFor(
      'a ListenOverflows rate',
      async () => {
        const r = await query('rate(nettune_netstat_tcpext_listen_overflows_total{job="nettune"}[10s]) > 0');
        rate = Number(r.data?.result[0]?.value[1] ?? 0);
        return rate > 0;
      },
      40_000,
      500,
    );
    expect(rate).toBeGreaterThan(0);
    await waitFor('the audit finding', async () => ((await query('max_over_time(nettune_audit_finding{rule="backlog.listen-overflows"}[1m])')).data?.result.length ?? 0) > 0, 30_000, 500);
    const finding = await query('max_over_time(nettune_audit_finding{rule="backlog.listen-overflows"}[1m])');
    expect(finding.data?.result[0]?.metric.severity).toMatch(/warn|critical/);
    // the namespace is what is exported: the host's own lo is not in it, the namespace's lo is
    const devices = await query('nettune_network_receive_bytes_total{job="nettune"}');
    expect(devices.data?.result.map((x) => x.metric.device)).toEqual(['lo']);
    // 64 connects with SYN retries for 12 s: bounded, and every scrape succeeded meanwhile
    const up = await query('min_over_time(up{job="nettune"}[1m])');
    expect(up.data?.result[0]?.value[1]).toBe('1');
  }, 90_000);

  it('every PromQL expression of the dashboard and the alerts parses in this Prometheus and returns data for the served metrics', async () => {
    const exprs = [...dashboardExprs().map((e) => e.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*')), ...ALERTS.map((a) => alertExpr(a))];
    for (const e of exprs) {
      const r = await query(e);
      expect(r.status, `${e}: ${r.error ?? ''}`).toBe('success');
    }
    // a panel over served metrics has data (the namespace's lo, softnet of the host's CPUs)
    expect((await query(dashboardExprs()[1]?.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*') ?? '')).data?.result.length).toBeGreaterThan(0);
  }, 60_000);
});
