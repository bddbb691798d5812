#!/usr/bin/env node
// bench/delayline: fidelity and ceiling of the userspace delay line (dist/nettune-delayline).
// Two namespaces joined by the delay line's TUN pair (198.18.201.1 <-> .2, txqueuelen 10000, TCP
// buffers max 128 MB inside the namespaces). In one run it measures:
//   1. idle ping RTT against the requested RTT (1, 10, 100, 200 ms by default);
//   2. iperf3 throughput (-t 5 --omit 2, so the first 2 s of slow start are left out) at RTT
//      1 ms and 100 ms for 1 and 4 streams, without a rate limit and with TBF 1 gbit on each TUN
//      (`tc qdisc add dev X root tbf rate 1gbit burst 512kb latency 400ms`), plus the RTT TCP saw.
// Needs root, iperf3, ping and a built dist/nettune-delayline (node scripts/build.mjs).
// Usage: bench/delayline.mjs [--rtts 1,10,100,200] [--tput-rtts 1,100] [--seconds 5]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'dist', 'nettune-delayline');

function parseArgs(argv) {
  const o = { rtts: [1, 10, 100, 200], tputRtts: [1, 100], seconds: 5 };
  const list = (s) => s.split(',').map(Number);
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--rtts' && v) o.rtts = list(v);
    else if (k === '--tput-rtts' && v) o.tputRtts = list(v);
    else if (k === '--seconds' && v) o.seconds = Number(v);
    else {
      console.error('usage: bench/delayline.mjs [--rtts 1,10,100,200] [--tput-rtts 1,100] [--seconds 5]');
      process.exit(2);
    }
    i++;
  }
  const ok = (x) => Number.isFinite(x) && x >= 0 && x <= 2000;
  if (![...o.rtts, ...o.tputRtts].every(ok) || !(o.seconds >= 1 && o.seconds <= 60)) {
    console.error('bench/delayline: RTTs must be 0..2000 ms and --seconds 1..60');
    process.exit(2);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (process.getuid?.() !== 0) {
  console.error('bench/delayline: needs root (namespaces, TUN devices)');
  process.exit(2);
}
if (!existsSync(BIN)) {
  console.error(`bench/delayline: ${BIN} is missing; run node scripts/build.mjs (needs a C compiler)`);
  process.exit(2);
}
for (const tool of ['iperf3', 'ping', 'ip', 'tc']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench/delayline: ${tool} is not installed`);
    process.exit(2);
  }
}

const tag = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const NS_A = `nt-b${tag}-a`;
const NS_B = `nt-b${tag}-b`;
const DEV_A = `ntdl${tag}a`.slice(0, 15);
const DEV_B = `ntdl${tag}b`.slice(0, 15);
const IP_A = '198.18.201.1';
const IP_B = '198.18.201.2';

function sh(cmd, args, { allowFail = false, timeout = 30_000 } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r;
}
const inNs = (ns, cmd, args, o) => sh('ip', ['netns', 'exec', ns, cmd, ...args], o);

let line = null; // the running delay line

async function startLine(delayUs) {
  const child = spawn(BIN, ['--dev-a', DEV_A, '--dev-b', DEV_B, '--delay-us', String(delayUs), '--seed', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  await new Promise((resolve, reject) => {
    const timer = globalThis.setTimeout(() => reject(new Error('delay line: no "ready" within 5 s')), 5000);
    child.stdout.on('data', (d) => {
      if (String(d).includes('ready')) {
        globalThis.clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      globalThis.clearTimeout(timer);
      reject(new Error(`delay line exited ${code}: ${err.trim()}`));
    });
  });
  line = child;
  for (const [ns, dev, local, peer] of [
    [NS_A, DEV_A, IP_A, IP_B],
    [NS_B, DEV_B, IP_B, IP_A],
  ]) {
    sh('ip', ['link', 'set', dev, 'netns', ns]);
    sh('ip', ['-n', ns, 'addr', 'add', local, 'peer', peer, 'dev', dev]);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'txqueuelen', '10000', 'up']);
  }
}

async function stopLine() {
  if (!line) return;
  const child = line;
  line = null;
  if (child.exitCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([gone, sleep(3000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

function cleanup() {
  if (line && line.exitCode === null) line.kill('SIGKILL');
  for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns]);
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

function pingStats(count, intervalS) {
  const r = inNs(NS_A, 'ping', ['-n', '-q', '-c', String(count), '-i', String(intervalS), '-W', '2', IP_B], { allowFail: true, timeout: 120_000 });
  const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(r.stdout);
  const lost = /(\d+) received/.exec(r.stdout);
  return m ? { min: +m[1], avg: +m[2], max: +m[3], mdev: +m[4], received: lost ? +lost[1] : null } : null;
}

async function iperf(streams, seconds) {
  const server = spawn('ip', ['netns', 'exec', NS_B, 'iperf3', '-s', '-1', '-B', IP_B], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50; i++) {
      if (/:5201\b/.test(inNs(NS_B, 'ss', ['-Hltn'], { allowFail: true }).stdout)) break;
      await sleep(100);
    }
    const r = inNs(NS_A, 'iperf3', ['-c', IP_B, '-t', String(seconds), '--omit', '2', '-P', String(streams), '--json'], {
      allowFail: true,
      timeout: (seconds + 30) * 1000,
    });
    const j = JSON.parse(r.stdout || '{}');
    if (j.error) throw new Error(`iperf3: ${j.error}`);
    const streamsOut = j.end?.streams ?? [];
    const rtts = streamsOut.map((s) => s.sender?.mean_rtt).filter((x) => typeof x === 'number');
    return {
      mbps: (j.end?.sum_received?.bits_per_second ?? NaN) / 1e6,
      retransmits: j.end?.sum_sent?.retransmits ?? null,
      tcpRttMs: rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length / 1000 : NaN,
    };
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pad = (s, n) => String(s).padStart(n);

try {
  for (const ns of [NS_A, NS_B]) {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    inNs(ns, 'sysctl', ['-q', '-w', 'net.ipv4.tcp_rmem=4096 131072 134217728', 'net.ipv4.tcp_wmem=4096 16384 134217728']);
  }

  console.log('bench/delayline: idle ping RTT (requested = 2 × --delay-us; 3 warm-up pings, then mean of N)');
  console.log(`${'requested ms'.padStart(12)} ${'mean ms'.padStart(9)} ${'min'.padStart(8)} ${'max'.padStart(8)} ${'mdev'.padStart(7)} ${'error'.padStart(8)}`);
  for (const rtt of opts.rtts) {
    await startLine(Math.round((rtt * 1000) / 2));
    pingStats(3, 0.05);
    const count = rtt >= 100 ? 30 : 100;
    const p = pingStats(count, rtt >= 100 ? 0.1 : 0.02);
    await stopLine();
    const err = p && rtt > 0 ? ((p.avg - rtt) / rtt) * 100 : NaN;
    console.log(`${pad(rtt, 12)} ${pad(fmt(p?.avg, 3), 9)} ${pad(fmt(p?.min, 3), 8)} ${pad(fmt(p?.max, 3), 8)} ${pad(fmt(p?.mdev, 3), 7)} ${pad(`${fmt(err, 1)} %`, 8)}`);
  }

  console.log(`\niperf3 -t ${opts.seconds} --omit 2 (steady state), TCP buffers max 128 MB, Mbit/s received; RTT = TCP's mean (sender)`);
  console.log(`${'RTT ms'.padStart(6)} ${'idle ping'.padStart(9)} ${'limit'.padStart(9)} ${'streams'.padStart(7)} ${'Mbit/s'.padStart(8)} ${'TCP RTT ms'.padStart(10)} ${'retrans'.padStart(8)}`);
  for (const rtt of opts.tputRtts) {
    await startLine(Math.round((rtt * 1000) / 2));
    pingStats(3, 0.05);
    const idle = pingStats(20, 0.05);
    for (const limit of ['none', 'tbf 1gbit']) {
      if (limit !== 'none') {
        for (const [ns, dev] of [
          [NS_A, DEV_A],
          [NS_B, DEV_B],
        ]) {
          sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', '1gbit', 'burst', '512kb', 'latency', '400ms']);
        }
      }
      for (const streams of [1, 4]) {
        const t = await iperf(streams, opts.seconds);
        console.log(
          `${pad(rtt, 6)} ${pad(fmt(idle?.avg, 3), 9)} ${pad(limit, 9)} ${pad(streams, 7)} ${pad(fmt(t.mbps, 0), 8)} ${pad(fmt(t.tcpRttMs, 2), 10)} ${pad(t.retransmits ?? '–', 8)}`,
        );
      }
    }
    await stopLine();
  }
} finally {
  await stopLine();
  cleanup();
}
