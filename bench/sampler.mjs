#!/usr/bin/env node
// bench/sampler: CPU time of one sample of the monitor's sampler in a running process, against
// collecting the same counters with the tools it replaces: `nstat -az` + `ss -s` + `cat` of the
// same /proc and /sys files, in a shell. Side by side in one run: blocks of samples alternate
// with blocks of shell runs (ABBA…), and the ratio is the median over block pairs.
//   A) sampler without qdiscs            vs  sh -c 'nstat -az; ss -s; cat FILES'
//   B) sampler with qdiscs (tc helper)   vs  the same + `tc -s -j qdisc show`
// CPU time: the sampler's is this process's user+system time (getrusage, exact) plus, in B, the
// tc helper's on-CPU time (/proc/PID/schedstat, ns); the shell's is the children's user+system
// time this process collected (/proc/self/stat cutime+cstime, clock ticks; a block is long
// enough that a tick is a few percent of it). Goal: ratio ≤ 1. Usage: bench/sampler.mjs [pairs=15]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pairs = Number(process.argv[2] ?? 15);
if (!Number.isInteger(pairs) || pairs < 3 || pairs > 500) {
  console.error('usage: bench/sampler.mjs [pairs 3..500]');
  process.exit(2);
}
const BLOCK_SHELL = 25; // shell runs per block (≈ 200 ms of CPU: 20 clock ticks)
const BLOCK_SAMPLES = 100; // samples per block

// The sampler as the CLI bundles it, built once from the sources into a temp file.
const { build } = await import(pathToFileURL(join(root, 'node_modules', 'esbuild', 'lib', 'main.js')).href);
const dir = mkdtempSync(join(tmpdir(), 'nettune-bench-sampler-'));
const out = join(dir, 'sampler.mjs');
await build({ entryPoints: [join(root, 'src', 'monitor', 'sampler.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'error', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
const { openSampler } = await import(pathToFileURL(out).href);

const which = (t) => ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, t)).find((p) => spawnSync(p, ['-V'], { stdio: 'ignore' }).error === undefined);
for (const t of ['nstat', 'ss', 'tc']) {
  if (!which(t)) {
    console.error(`bench/sampler: ${t} is not installed (iproute2)`);
    process.exit(3);
  }
}

// The files the sampler reads, for cat.
const proc = ['snmp', 'snmp6', 'netstat', 'sockstat', 'sockstat6', 'softnet_stat', 'stat/nf_conntrack'].map((f) => `/proc/net/${f}`);
const sys = readdirSync('/sys/class/net').flatMap((d) => [`/sys/class/net/${d}/ifindex`, ...readdirSync(`/sys/class/net/${d}/statistics`).map((f) => `/sys/class/net/${d}/statistics/${f}`)]);
const files = [...proc, '/proc/sys/net/netfilter/nf_conntrack_max', ...sys].filter((f) => {
  try {
    readFileSync(f);
    return true;
  } catch {
    return false;
  }
});
const shellA = `nstat -az >/dev/null; ss -s >/dev/null; cat ${files.join(' ')} >/dev/null`;
const shellB = `${shellA}; tc -s -j qdisc show >/dev/null`;

const TICK_MS = 1000 / 100; // USER_HZ
const childrenMs = () => {
  const st = readFileSync('/proc/self/stat', 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_MS; // cutime, cstime (fields 16, 17)
};
const selfMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const schedMs = (pid) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
// The helper's pid: the only child process this bench keeps running.
const helperPid = () => {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) return Number(e);
    } catch {
      // gone
    }
  }
  return null;
};

function shellBlock(script) {
  const c0 = childrenMs();
  for (let i = 0; i < BLOCK_SHELL; i++) {
    const r = spawnSync('/bin/sh', ['-c', script], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`sh -c '${script.slice(0, 60)}…' exited ${r.status}`);
  }
  return (childrenMs() - c0) / BLOCK_SHELL;
}

async function sampleBlock(s, helper) {
  const h0 = helper ? schedMs(helper) : 0;
  const c0 = selfMs();
  for (let i = 0; i < BLOCK_SAMPLES; i++) await s.sample();
  return (selfMs() - c0 + (helper ? schedMs(helper) - h0 : 0)) / BLOCK_SAMPLES;
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

async function scenario(label, s, helper, script) {
  for (let i = 0; i < 20; i++) await s.sample(); // warm up (JIT, page cache)
  shellBlock(script);
  const node = [];
  const shell = [];
  const ratios = [];
  for (let i = 0; i < pairs; i++) {
    let n;
    let sh;
    if (i % 2 === 0) {
      n = await sampleBlock(s, helper);
      sh = shellBlock(script);
    } else {
      sh = shellBlock(script);
      n = await sampleBlock(s, helper);
    }
    node.push(n);
    shell.push(sh);
    ratios.push(n / sh);
  }
  const ratio = median(ratios);
  console.log(`  ${label}`);
  console.log(`    sampler, one sample          ${median(node).toFixed(3).padStart(8)} ms CPU (median of ${pairs} blocks of ${BLOCK_SAMPLES})`);
  console.log(`    shell, one collection        ${median(shell).toFixed(3).padStart(8)} ms CPU (median of ${pairs} blocks of ${BLOCK_SHELL})`);
  console.log(`    ratio sampler / shell        ${ratio.toFixed(3).padStart(8)}  (range ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}; goal ≤ 1)`);
  return ratio;
}

console.log(`bench/sampler: ${pairs} alternating block pairs; ${files.length} files (${proc.length} /proc/net, ${sys.length} sysfs) per collection`);
const plain = await openSampler({ probeAtOpen: false, qdiscs: false, ring: 4 });
const a = await scenario('A) counters: sampler (no qdiscs) vs nstat -az + ss -s + cat', plain, null, shellA);
plain.close();
const withQ = await openSampler({ probeAtOpen: false, ring: 4 });
const b = await scenario('B) with qdiscs: sampler + its tc helper vs the same + tc -s -j qdisc show', withQ, helperPid(), shellB);
withQ.close();
rmSync(dir, { recursive: true, force: true });
console.log(`ratio sampler / (nstat -az + ss -s + cat): ${a.toFixed(3)} (goal ≤ 1); with qdiscs: ${b.toFixed(3)}`);
