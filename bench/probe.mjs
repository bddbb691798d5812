#!/usr/bin/env node
// bench/probe: wall time of `./nettune probe --json` against bench/probe-baseline.sh, the shell
// script that collects the same data with the tools the probe replaces (sysctl, cat /proc/net/*,
// ip -j, tc -j, ethtool), run alternately so both see the same machine noise. Prints both
// medians and the ratio (target ≤ 2×), plus the script's sysctl line alone and the floor Node
// itself sets (`node -e 0`, and without NODE_EXTRA_CA_CERTS when that is set: Node 20 loads the
// file at start-up, and ./nettune drops it) for context. Every case runs in the environment the
// bench was started in. With --old DIR (another checkout of nettune, built: e.g. `git archive`
// of an earlier commit) its `./nettune probe --json` runs in the same alternation, so a change is
// judged against the build before it under the same load, and the load average is printed.
// Usage: bench/probe.mjs [pairs=20] [--old DIR] (at least 15 pairs for a reported ratio)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism as os_cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const oldAt = argv.indexOf('--old');
const oldDir = oldAt >= 0 ? argv.splice(oldAt, 2)[1] : undefined;
const pairs = Number(argv[0] ?? 20);
if (!Number.isInteger(pairs) || pairs < 3 || pairs > 1000 || argv.length > 1 || (oldAt >= 0 && !oldDir)) {
  console.error('usage: bench/probe.mjs [pairs 3..1000] [--old DIR]');
  process.exit(2);
}
if (oldDir !== undefined && !existsSync(join(oldDir, 'nettune'))) {
  console.error(`bench/probe: --old ${oldDir}: no nettune there`);
  process.exit(2);
}

const SCRIPT = 'bench/probe-baseline.sh (shell)';
const cases = {
  [SCRIPT]: ['/bin/sh', [join(root, 'bench', 'probe-baseline.sh')]],
  'its sysctl line alone': ['sysctl', ['--deprecated', 'net', 'fs.file-max', 'fs.nr_open', 'fs.file-nr', 'vm.min_free_kbytes']],
  './nettune probe --json': [join(root, 'nettune'), ['probe', '--json']],
  'node dist/nettune.mjs probe --json': [process.execPath, [join(root, 'dist', 'nettune.mjs'), 'probe', '--json']],
  'node -e 0 (Node start-up floor)': [process.execPath, ['-e', '0']],
};
const OLD = '--old: DIR/nettune probe --json';
if (oldDir !== undefined) cases[OLD] = [join(resolve(oldDir), 'nettune'), ['probe', '--json']];
const NO_CA = 'node -e 0 without NODE_EXTRA_CA_CERTS';
if (process.env.NODE_EXTRA_CA_CERTS !== undefined) cases[NO_CA] = [process.execPath, ['-e', '0'], { NODE_EXTRA_CA_CERTS: undefined }];

function time([cmd, args, envOver = {}]) {
  const env = { ...process.env, NETTUNE_NO_INSTALL: '1', ...envOver };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadBefore = load();
for (const c of Object.values(cases)) time(c); // warm caches and build once
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < pairs; i++) {
  const order = i % 2 === 0 ? Object.keys(cases) : Object.keys(cases).reverse();
  for (const k of order) samples[k].push(time(cases[k]));
}

const base = median(samples[SCRIPT]);
console.log(`bench/probe: ${pairs} alternating runs each, medians (load average ${loadBefore} before, ${load()} after; ${os_cpus()} CPUs)`);
for (const [k, xs] of Object.entries(samples)) {
  console.log(`  ${k.padEnd(40)} ${median(xs).toFixed(1).padStart(7)} ms   ${(median(xs) / base).toFixed(2)}× the shell script`);
}
const ratio = median(samples['./nettune probe --json']) / base;
console.log(`ratio ./nettune probe --json / shell script: ${ratio.toFixed(2)} (target ≤ 2)`);
if (oldDir !== undefined) console.log(`ratio of --old ${oldDir} in the same run: ${(median(samples[OLD]) / base).toFixed(2)}`);
