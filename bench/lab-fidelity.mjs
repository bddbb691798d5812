#!/usr/bin/env node
// bench/lab-fidelity: how faithfully `nettune lab` emulates the link it was asked for, measured
// through the lab itself (delay line or netem, TBF). Prints requested vs measured RTT, rate and
// loss (ping round trips, and per TCP segment: the delay line's counters next to TCP's own
// RetransSegs / OutSegs, for each way of handling GSO frames under loss), the throughput ceiling
// each of those ways costs, and the delay line's ceiling at 100 ms. Needs root; builds and
// removes its own labs (nt-fid*-*); traffic only inside them (198.18.0.0/15).
// Usage: bench/lab-fidelity.mjs [quick] [loss] [--json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('quick');
const lossOnly = process.argv.includes('loss'); // only the per-segment loss and ceiling sections
const env = { ...process.env, NETTUNE_NO_INSTALL: '1', NETTUNE_STATE_DIR: mkdtempSync(join(tmpdir(), 'nettune-fid-')) };
const lab = `fid${process.pid % 1000}`;

function nettune(args, extraEnv = {}) {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'nettune.mjs'), ...args], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`nettune ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const inClient = (cmd, args) => spawnSync('ip', ['netns', 'exec', `nt-${lab}-client`, cmd, ...args], { encoding: 'utf8', timeout: 300_000 });
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const up = (flags, extraEnv = {}) => nettune(['lab', 'up', lab, ...flags], extraEnv);
const down = () => nettune(['lab', 'down', lab]);
const bigBuffers = () => {
  for (const ns of ['client', 'server'])
    spawnSync('ip', ['netns', 'exec', `nt-${lab}-${ns}`, 'sysctl', '-q', '-w', 'net.ipv4.tcp_rmem=4096 131072 268435456', 'net.ipv4.tcp_wmem=4096 16384 268435456']);
};

function ping(count, interval) {
  const r = inClient('ping', ['-n', '-q', '-c', String(count), '-i', String(interval), '-W', '2', '198.18.0.2']);
  const loss = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(r.stdout);
  return { sent: Number(loss?.[1]), received: Number(loss?.[2]), avg: Number(rtt?.[2]), mdev: Number(rtt?.[4]) };
}

const rows = [];
try {
  if (!lossOnly) console.log('RTT (ping, idle link, 40 samples)');
  for (const ms of lossOnly ? [] : quick ? [1, 10, 100] : [1, 5, 10, 50, 100, 200]) {
    up(['--rtt', `${ms}ms`]);
    const p = ping(40, 0.05);
    console.log(`  requested ${String(ms).padStart(4)} ms  measured ${p.avg.toFixed(3).padStart(8)} ms (mdev ${p.mdev.toFixed(3)})  error ${pct(p.avg / ms - 1)}`);
    rows.push({ kind: 'rtt', requested_ms: ms, measured_ms: p.avg });
    down();
  }
  if (!lossOnly) console.log('Rate (iperf3, 1 stream, 1 ms RTT, 8 s after 2 s omitted; TCP goodput ceiling = rate × 1448/1500)');
  for (const rate of lossOnly ? [] : quick ? ['100mbit', '1gbit'] : ['10mbit', '100mbit', '500mbit', '1gbit']) {
    up(['--rate', rate, '--rtt', '1ms']);
    bigBuffers();
    const r = JSON.parse(nettune(['bench', 'throughput', '--lab', lab, '--duration', '8', '--omit', '2', '--json']));
    const bps = Number(rate.replace(/[a-z]+$/, '')) * (rate.endsWith('gbit') ? 1e9 : 1e6);
    console.log(`  requested ${rate.padStart(8)}  goodput ${(r.bps / 1e6).toFixed(1).padStart(7)} Mbit/s  vs rate ${pct(r.bps / bps - 1)}  vs goodput ceiling ${pct(r.bps / (bps * 1448 / 1500) - 1)}`);
    rows.push({ kind: 'rate', requested_bps: bps, goodput_bps: r.bps });
    down();
  }
  if (!lossOnly) console.log('Loss (ping round trips; each direction drops independently: expected round-trip loss 1 − (1 − p)²)');
  for (const p of lossOnly ? [] : quick ? [1] : [0.5, 1, 5]) {
    up(['--loss', `${p}%`]);
    const n = quick ? 2000 : 5000;
    const r = ping(n, 0.002);
    const observed = 1 - r.received / r.sent;
    const expected = 1 - (1 - p / 100) ** 2;
    console.log(`  per direction ${p} %  round-trip loss ${(observed * 100).toFixed(2)} % over ${r.sent}  expected ${(expected * 100).toFixed(2)} %  relative error ${pct(observed / expected - 1)}`);
    rows.push({ kind: 'loss', requested_pct: p, observed_rt_pct: observed * 100, expected_rt_pct: expected * 100 });
    down();
  }
  // GSO frames under loss. split (default): one loss draw per TCP segment, a frame with some
  // lost segments is split in the delay line; notso: TSO is not offered on the link, the kernel
  // segments before the device; frame: the old whole-frame drop (~44 segments at a time).
  const modes = ['split', 'notso', 'frame'];
  const nstat = () => {
    const r = inClient('nstat', ['-a', '-j']);
    const k = JSON.parse(r.stdout).kernel;
    return { out: k.TcpOutSegs ?? 0, retrans: k.TcpRetransSegs ?? 0 };
  };
  const lossy = (mode, loss, rtt, cc, parallel, seconds) => {
    up(['--rtt', rtt, '--loss', `${loss}%`], { NETTUNE_DELAYLINE_LOSS_MODE: mode });
    bigBuffers();
    const a = nstat();
    const r = JSON.parse(nettune(['bench', 'throughput', '--lab', lab, '--duration', String(seconds), '--omit', '1', '--parallel', String(parallel), '--congestion', cc, '--json']));
    const b = nstat();
    spawnSync('sleep', ['1.2']); // the delay line rewrites its statistics once a second
    const st = JSON.parse(nettune(['lab', 'status', lab, '--json']));
    const l = st.loss.find((x) => x.direction === 'client_to_server');
    down();
    return { bps: r.bps, dl_share: l.share, dl_burst: l.mean_burst_segments, dl_segments: l.segments, tcp_share: (b.retrans - a.retrans) / Math.max(1, b.out - a.out), tcp_out: b.out - a.out };
  };
  console.log(`Loss per TCP segment (10 ms RTT, 1 % per direction, CUBIC, 1 stream, ${quick ? 3 : 8} s after 1 s omitted)`);
  console.log('  independent per-segment loss: share 1.000 %, mean burst 1/(1 − p) = 1.010 segments');
  for (const mode of modes) {
    const r = lossy(mode, 1, '10ms', 'cubic', 1, quick ? 3 : 8);
    console.log(`  ${mode.padEnd(5)}  delay line: ${(r.dl_share * 100).toFixed(3)} % of ${r.dl_segments} segments lost, mean burst ${r.dl_burst?.toFixed(3) ?? '-'}  ·  TCP: RetransSegs/OutSegs ${(r.tcp_share * 100).toFixed(3)} % of ${r.tcp_out}  ·  goodput ${(r.bps / 1e6).toFixed(1)} Mbit/s`);
    rows.push({ kind: 'segment-loss', mode, requested_pct: 1, ...r });
  }
  console.log('Ceiling each way costs (2 ms RTT, 0.1 % loss, BBR so that TCP does not back off, 5 s after 1 s omitted; "no loss" = GSO pass-through)');
  const ceil = [['no loss', 'split', 0], ...modes.filter((m) => m !== 'frame').map((m) => [m, m, 0.1])];
  for (const parallel of quick ? [1] : [1, 4]) {
    for (const [label, mode, loss] of ceil) {
      const r = lossy(mode, loss, '2ms', 'bbr', parallel, quick ? 3 : 5);
      console.log(`  ${label.padEnd(7)} ${parallel} stream(s): ${(r.bps / 1e6).toFixed(0).padStart(5)} Mbit/s  (delay line lost ${(r.dl_share * 100).toFixed(3)} %, mean burst ${r.dl_burst?.toFixed(2) ?? '-'})`);
      rows.push({ kind: 'loss-ceiling', mode: label, parallel, loss_pct: loss, ...r });
    }
  }
  if (!lossOnly) console.log('Delay line ceiling at 100 ms RTT (no rate limit, 256 MB buffers, 10 s after 3 s omitted)');
  if (!lossOnly) up(['--rtt', '100ms']);
  if (!lossOnly) bigBuffers();
  for (const parallel of lossOnly ? [] : [1, 4]) {
    const r = JSON.parse(nettune(['bench', 'throughput', '--lab', lab, '--duration', quick ? '6' : '10', '--omit', '3', '--parallel', String(parallel), '--json']));
    console.log(`  ${parallel} stream(s): ${(r.bps / 1e6).toFixed(0)} Mbit/s, retransmits ${r.retransmits}, mean RTT ${r.rtt_mean_ms?.toFixed(1)} ms`);
    rows.push({ kind: 'ceiling', parallel, bps: r.bps, rtt_ms: r.rtt_mean_ms });
  }
  if (!lossOnly) down();
} finally {
  spawnSync(process.execPath, [join(root, 'dist', 'nettune.mjs'), 'lab', 'down', lab], { env });
}
if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
