#!/usr/bin/env node
// bench/exporter: `nettune exporter` against Debian's prometheus-node-exporter restricted to the
// same collectors (netstat with every field, sockstat, softnet, conntrack, netdev), both on
// loopback, scraped alternately in one run: scrape latency (median, p90) and CPU per scrape of
// each server (on-CPU time of every thread of the process and its children, from schedstat, inside
// its scrapes and over the whole alternation), the ratio, and the series of each by collector. The
// alternation runs twice: early (after --warm-scrapes, while V8 still optimises nettune's code on
// its worker threads) and in steady state (after --steady-scrapes). nettune is started through the
// ./nettune wrapper, as users start it. Then 50 concurrent scrapers for 60 s against nettune, and
// the same against node_exporter: failed scrapes, resident memory along the way, and for nettune
// how many counter samples served them and the V8 heap in use (nettune_exporter_heap_used_bytes).
//   node bench/exporter.mjs [--pairs 120] [--load-seconds 60] [--warm-scrapes 100] [--steady-scrapes 1500] [--scrapers 50]
// Resident memory is read from /proc/PID/status once a second from the moment the load starts:
// idle is just before it, start the first reading (1 s into the load), end the last, and the
// minimum and maximum over every reading in between (none of the load is left out).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { clearInterval, setInterval } from 'node:timers';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const PAIRS = arg('pairs', 120);
const LOAD_S = arg('load-seconds', 60);
const WARM_SCRAPES = arg('warm-scrapes', 100);
const STEADY_SCRAPES = arg('steady-scrapes', 1500);
const SCRAPERS = arg('scrapers', 50);
// nettune is started as a user starts it: through the ./nettune wrapper (which gives the servers their V8 heap flags).
const WRAPPER = join(dirname(fileURLToPath(import.meta.url)), '..', 'nettune');
const TICK_S = 0.01; // USER_HZ is 100 on Linux
const sleep = (ms) => delay(ms);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function get(url) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request(url, { timeout: 30_000 }, (res) => {
      let n = 0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        n += d.length;
        body += d;
      });
      res.on('end', () => resolve({ ok: res.statusCode === 200, ms: performance.now() - t0, bytes: n, body }));
    });
    req.on('error', (e) => resolve({ ok: false, ms: performance.now() - t0, error: e.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const statOf = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
/** The process and every descendant (nettune's tc helper counts as nettune's CPU). */
const family = (pid) => {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(statOf(d)[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
};
const cpuTicks = (pids) =>
  pids.reduce((sum, pid) => {
    const rest = statOf(pid);
    return sum + Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14, 15)
  }, 0);
/** Nanoseconds on a CPU of every thread of these processes (/proc/PID/task/TID/schedstat, field
 *  1): exact, where utime+stime come in 10 ms ticks. A thread that ended in between is missed. */
const cpuNs = (pids) => {
  let ns = 0;
  for (const pid of pids) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended
      }
    }
  }
  return ns;
};
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const seriesLines = (text) => text.split('\n').filter((l) => l && !l.startsWith('#'));
/** Series per collector: the netstat/snmp, sockstat, softnet, conntrack and link families each
 *  server has for the same sources, what only nettune has, and the servers' own metrics. */
const GROUPS = [
  ['netstat', /^(nettune|node)_netstat_/],
  ['sockstat', /^(nettune|node)_sockstat_/],
  ['softnet', /^(nettune|node)_softnet_/],
  ['conntrack', /^(nettune_conntrack_|node_nf_conntrack_)/],
  ['netdev', /^(nettune|node)_network_[a-z_]+_total[{ ]/],
  ['tuning, audit, drift, qdiscs, link facts', /^nettune_(sysctl|tcp_|audit_|drift|qdisc_|network_|snapshot_|sample_)/],
  ['self (build, scrape, process, runtime)', /^(nettune_(build|scrape|exporter)_|node_(exporter|scrape)_|go_|process_|promhttp_)/],
];
const bySource = (text) => {
  const out = Object.fromEntries(GROUPS.map(([g]) => [g, 0]));
  out.other = 0;
  for (const l of seriesLines(text)) {
    const g = GROUPS.find(([, re]) => re.test(l));
    out[g ? g[0] : 'other']++;
  }
  return out;
};
const metricValue = (text, name) => {
  const l = seriesLines(text).find((x) => x.startsWith(`${name} `));
  return l ? Number(l.slice(name.length + 1)) : NaN;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function waitUp(url) {
  for (let i = 0; i < 300; i++) {
    if ((await get(url)).ok) return;
    await sleep(200);
  }
  throw new Error(`${url} did not come up`);
}

const procs = [];
const stopAll = () => procs.forEach((p) => p.exitCode === null && !p.killed && p.kill('SIGTERM'));
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

const [pN, pE] = [await freePort(), await freePort()];
const nettune = spawn(WRAPPER, ['exporter', '--listen', `127.0.0.1:${pN}`], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NETTUNE_NO_INSTALL: '1' } });
// (--web.max-requests=0: node_exporter answers 503 past 40 parallel scrapes by default, and the
// load below runs 50; nettune has no such limit below its 256 connections.)
const nodeExp = spawn(
  'prometheus-node-exporter',
  ['--web.max-requests=0', '--collector.disable-defaults', '--collector.netstat', '--collector.netstat.fields=.*', '--collector.sockstat', '--collector.softnet', '--collector.conntrack', '--collector.netdev', `--web.listen-address=127.0.0.1:${pE}`],
  { stdio: 'ignore' },
);
procs.push(nettune, nodeExp);
const urls = { nettune: `http://127.0.0.1:${pN}/metrics`, node_exporter: `http://127.0.0.1:${pE}/metrics` };
await waitUp(urls.nettune);
await waitUp(urls.node_exporter);
const pids = { nettune: family(nettune.pid), node_exporter: family(nodeExp.pid) };
const counts = {};
const groups = {};
for (const k of Object.keys(urls)) {
  for (let i = 0; i < WARM_SCRAPES; i++) await get(urls[k]);
  const body = (await get(urls[k])).body;
  counts[k] = seriesLines(body).length;
  groups[k] = bySource(body);
}

/** PAIRS alternating scrapes of both servers, 50 ms apart: latency, CPU inside each scrape and
 *  CPU over the whole alternation (what either process does between scrapes included: V8's
 *  garbage collection and optimising compiler run on threads of their own, after the answer). */
async function alternate() {
  const lat = { nettune: [], node_exporter: [] };
  const cpu = { nettune: 0, node_exporter: 0 };
  const ns = { nettune: 0, node_exporter: 0 };
  const whole0 = { nettune: cpuNs(pids.nettune), node_exporter: cpuNs(pids.node_exporter) };
  for (let i = 0; i < PAIRS; i++) {
    for (const k of i % 2 ? ['node_exporter', 'nettune'] : ['nettune', 'node_exporter']) {
      const c0 = cpuTicks(pids[k]);
      const n0 = cpuNs(pids[k]);
      const r = await get(urls[k]);
      cpu[k] += cpuTicks(pids[k]) - c0;
      ns[k] += cpuNs(pids[k]) - n0;
      if (!r.ok) throw new Error(`${k} scrape failed: ${r.error ?? ''}`);
      lat[k].push(r.ms);
      await sleep(50);
    }
  }
  const whole = { nettune: (cpuNs(pids.nettune) - whole0.nettune) / 1e6 / PAIRS, node_exporter: (cpuNs(pids.node_exporter) - whole0.node_exporter) / 1e6 / PAIRS };
  const row = (k) => ({ median_ms: +quantile(lat[k], 0.5).toFixed(2), p90_ms: +quantile(lat[k], 0.9).toFixed(2), cpu_ms_per_scrape: +(ns[k] / 1e6 / PAIRS).toFixed(2), tick_ms_per_scrape: +((cpu[k] * TICK_S * 1000) / PAIRS).toFixed(2), whole_ms_per_scrape: +whole[k].toFixed(2), series: counts[k] });
  return { a: row('nettune'), b: row('node_exporter') };
}

function report(title, { a, b }) {
  console.log(`${title} (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
  console.log('                   median ms   p90 ms   CPU ms/scrape   whole-run CPU ms/scrape   series');
  for (const [k, r] of [['nettune', a], ['node_exporter', b]]) console.log(`${k.padEnd(18)} ${String(r.median_ms).padStart(9)} ${String(r.p90_ms).padStart(8)} ${String(r.cpu_ms_per_scrape).padStart(15)} ${String(r.whole_ms_per_scrape).padStart(25)} ${String(r.series).padStart(8)}`);
  console.log(`ratio nettune/node_exporter: latency ${(a.median_ms / b.median_ms).toFixed(2)}×, CPU ${(a.cpu_ms_per_scrape / b.cpu_ms_per_scrape).toFixed(2)}×, whole-run CPU ${(a.whole_ms_per_scrape / b.whole_ms_per_scrape).toFixed(2)}×, series ${(a.series / b.series).toFixed(2)}×`);
  console.log(`CPU from schedstat (ns, every thread); cross-check from utime+stime ticks: nettune ${a.tick_ms_per_scrape} ms, node_exporter ${b.tick_ms_per_scrape} ms per scrape (${(a.tick_ms_per_scrape / b.tick_ms_per_scrape).toFixed(2)}×)`);
}

// Early: after WARM_SCRAPES scrapes V8 is still optimising nettune's code on its worker threads
// (their CPU counts as nettune's). Steady: after STEADY_SCRAPES, when it has settled (one scrape
// every 15 s reaches that in about six hours).
const early = await alternate();
report(`bench/exporter: ${PAIRS} alternating scrape pairs on loopback after ${WARM_SCRAPES} scrapes of each (early, V8 still compiling)`, early);
for (const k of Object.keys(urls)) for (let i = WARM_SCRAPES + PAIRS; i < STEADY_SCRAPES; i++) await get(urls[k]);
const steady = await alternate();
report(`bench/exporter: ${PAIRS} alternating scrape pairs after ${STEADY_SCRAPES} scrapes of each (steady state)`, steady);
console.log(`processes measured: nettune ${pids.nettune.length} (exporter + tc helper), node_exporter ${pids.node_exporter.length}`);
console.log('series by source            nettune  node_exporter');
for (const g of [...GROUPS.map(([x]) => x), 'other']) console.log(`${g.padEnd(42)} ${String(groups.nettune[g]).padStart(5)} ${String(groups.node_exporter[g]).padStart(6)}`);

// Load: SCRAPERS concurrent loops for LOAD_S seconds against one server; its RSS every second from
// the start. nettune first (the figures the issue asks for), then node_exporter under the same load
// for comparison.
const self = async () => {
  const body = (await get(urls.nettune)).body ?? '';
  return { heap: metricValue(body, 'nettune_exporter_heap_used_bytes'), samples: metricValue(body, 'nettune_exporter_samples_total'), scrapes: metricValue(body, 'nettune_exporter_scrapes_total') };
};
const mib = (bytes) => (bytes / 1048576).toFixed(1);
async function load(k, pid) {
  const rssIdle = rssKiB(pid);
  let ok = 0;
  let failed = 0;
  const errors = new Map();
  const t0 = Date.now();
  const end = t0 + LOAD_S * 1000;
  const rss = []; // [seconds into the load, KiB]
  const ticker = setInterval(() => rss.push([Math.round((Date.now() - t0) / 1000), rssKiB(pid)]), 1000);
  await Promise.all(
    Array.from({ length: SCRAPERS }, async () => {
      while (Date.now() < end) {
        const r = await get(urls[k]);
        if (r.ok) ok++;
        else {
          failed++;
          errors.set(r.error ?? 'status', (errors.get(r.error ?? 'status') ?? 0) + 1);
        }
      }
    }),
  );
  clearInterval(ticker);
  const kib = rss.map(([, x]) => x);
  const [rssStart, rssEnd] = [kib[0] ?? rssIdle, kib[kib.length - 1] ?? rssIdle];
  const pct = (x) => `${x >= rssStart ? '+' : ''}${(((x - rssStart) / rssStart) * 100).toFixed(1)} %`;
  console.log(`load ${k}: ${SCRAPERS} concurrent scrapers for ${LOAD_S} s: ${ok} scrapes ok, ${failed} failed${failed ? ` (${[...errors].map(([e, n]) => `${e}: ${n}`).join(', ')})` : ''}`);
  console.log(`load ${k}: RSS MiB idle before the load ${mib(rssIdle * 1024)}; start (1 s into the load) ${mib(rssStart * 1024)}, end ${mib(rssEnd * 1024)} (${pct(rssEnd)}), min ${mib(Math.min(...kib) * 1024)}, max ${mib(Math.max(...kib) * 1024)} (${pct(Math.max(...kib))}) over ${kib.length} readings, one a second`);
  console.log(`load ${k}: RSS MiB every 10 s: ${rss.filter(([t], j) => j === 0 || t % 10 === 0).map(([t, x]) => `${t} s ${mib(x * 1024)}`).join(', ')}`);
  return failed;
}
const idle = await self();
let failed = await load('nettune', nettune.pid);
const after = await self();
console.log(`load nettune: served by ${after.samples - idle.samples - 1} counter samples (concurrent scrapes share one); V8 heap used (MiB, between collections) ${mib(idle.heap)} idle, ${mib(after.heap)} after the load`);
failed += await load('node_exporter', nodeExp.pid);
stopAll();
process.exit(failed ? 1 : 0);
