// `nettune exporter --netns NS` for a namespace of the test's own whose devices have names the
// kernel allows but tools stumble on: a quote and a backslash, a control character, UTF-8, and
// the characters of the exposition format's own syntax. iproute2's JSON writer copies a control
// character raw, which is not JSON: one such name made `ip -j link` and `tc -j qdisc` unreadable,
// and the exporter lost every device's kind/driver and every qdisc series of the namespace. The
// scrape must stay valid (`promtool check metrics` silent) and a real Prometheus must read every
// name back as it is. Needs root and Debian's prometheus.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/sys/process.js';
import { freePort, httpGet, type Running, startExporter, stopAllExporters, waitFor } from './exporter-helpers.js';

const isRoot = process.getuid?.() === 0;
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
const NS = `nt-h13o${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
/** Each a veth end (15 bytes at most); the peers are plain names. */
const ODD = ['q"b\\c', 'd\x01e', 'é€', 'x{y}=z,#'];
const PEERS = ODD.map((_, i) => `h13peer${i}`);
const dir = mkdtempSync(join(tmpdir(), 'nettune-odd-'));
let exp: Running;
let prom: ChildProcess | null = null;
let promUrl = '';

const ip = (...args: string[]): void => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};



/** A series' label set from one exposition line, label values unescaped as the format says. */
function labelsOf(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1] ?? ''] = (m[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

describe.skipIf(!isRoot || !hasPrometheus)('devices with odd names, exported from a namespace', () => {
  let scrape = '';
  beforeAll(async () => {
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    ODD.forEach((name, i) => {
      ip('-n', NS, 'link', 'add', name, 'type', 'veth', 'peer', 'name', PEERS[i] ?? '');
      ip('-n', NS, 'link', 'set', name, 'up'); // up: the qdisc (noqueue) is listed by tc
    });
    exp = await startExporter(['--netns', NS], { NETTUNE_STATE_DIR: join(dir, 'state') });
    scrape = (await httpGet(`${exp.url}/metrics`)).body;
  }, 90_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) prom.kill('SIGTERM');
    await sleep(300);
    if (prom && prom.exitCode === null) prom.kill('SIGKILL');
    await stopAllExporters();
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('keeps every device\'s link details and qdisc counters, and the sample has no errors', () => {
    const lines = scrape.split('\n');
    const info = lines.filter((l) => l.startsWith('nettune_network_info{')).map(labelsOf);
    for (const name of ODD) expect(info.find((l) => l.device === name), JSON.stringify(name)).toMatchObject({ kind: 'veth', link_type: 'ether' });
    const qdisc = new Set(lines.filter((l) => l.startsWith('nettune_qdisc_packets_total{')).map((l) => labelsOf(l).device));
    for (const name of [...ODD, 'lo']) expect(qdisc.has(name), JSON.stringify(name)).toBe(true);
    expect(lines).toContain('nettune_sample_errors 0');
  });

  it('promtool check metrics reports nothing on the scrape', () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('a real Prometheus scrapes it and reads every device name back unchanged', async () => {
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: nettune\n    static_configs:\n      - targets: ['127.0.0.1:${exp.port}']\n`);
    prom = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    type Result = { data?: { result: { metric: Record<string, string> }[] } };
    const query = async (e: string): Promise<Result> => JSON.parse((await httpGet(`${promUrl}/api/v1/query?query=${encodeURIComponent(e)}`)).body) as Result;
    await waitFor('a successful scrape', async () => ((await query('up{job="nettune"} == 1')).data?.result.length ?? 0) > 0, 60_000, 300);
    const devices = (await query('nettune_network_receive_bytes_total{job="nettune"}')).data?.result.map((x) => x.metric.device) ?? [];
    expect(devices.sort()).toEqual(['lo', ...ODD, ...PEERS].sort());
    const qdiscs = (await query('nettune_qdisc_packets_total{job="nettune"}')).data?.result.map((x) => x.metric.device) ?? [];
    for (const name of ODD) expect(qdiscs, JSON.stringify(name)).toContain(name);
  }, 90_000);
});
