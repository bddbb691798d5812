#!/usr/bin/env node
// bench/reliability: does bad input ever write, does anything crash, does recovery always end in
// "before" or "after" and never in between? In one run it
//   1. runs the bad-input corpus (test/cli/hostile.test.ts, one row per case in
//      test/cli/hostile-cases.ts) and counts cases tried, writes observed (the temp tree or the
//      throw-away namespace's `sysctl -a` changed) and crashes (exit 70 or killed by a signal);
//   2. kills `apply` with SIGKILL at each step of a 4-key transaction with --persist, in a
//      throw-away namespace with NETTUNE_STATE_DIR and --root in temp dirs: at the fault points
//      (after the lock, after the journal entry, after the k-th write, during the persist rename,
//      before the journal commit) and from outside (kill -9 at k × NETTUNE_STEP_DELAY_MS + ½),
//      runs `recover`, and checks that the namespace's values are all the before-values or all
//      the after-values, and the persisted file is its before or after content.
// Needs root and a built dist/ (node scripts/build.mjs). Run it under the heavy lock:
//   flock /tmp/nettune-heavy.lock node bench/reliability.mjs [--no-corpus]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(root, 'dist', 'nettune.mjs');
const args = process.argv.slice(2);
if (args.some((a) => a !== '--no-corpus')) {
  console.error('usage: bench/reliability.mjs [--no-corpus]');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('bench/reliability: needs root (throw-away namespaces)');
  process.exit(3);
}
if (!existsSync(BUNDLE)) {
  console.error('bench/reliability: build first: node scripts/build.mjs');
  process.exit(3);
}

// ---- 1. the corpus ---------------------------------------------------------------------------
let corpus = null;
if (!args.includes('--no-corpus')) {
  const summary = join(mkdtempSync(join(tmpdir(), 'nettune-rel-')), 'summary.jsonl');
  const t0 = Date.now();
  const r = spawnSync('npx', ['--no-install', 'vitest', 'run', 'test/cli/hostile.test.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NETTUNE_HOSTILE_SUMMARY: summary, NETTUNE_NO_INSTALL: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const rows = existsSync(summary) ? readFileSync(summary, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  corpus = {
    runs: rows.length,
    cases: new Set(rows.map((x) => x.name)).size,
    writes: rows.filter((x) => x.wrote).length,
    crashes: rows.filter((x) => x.crashed).length,
    wrong_exit: rows.filter((x) => x.code !== x.expected).length,
    vitest_exit: r.status,
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  for (const x of rows.filter((y) => y.wrote || y.crashed || y.code !== y.expected)) console.error(`  corpus: ${x.name}${x.json ? ' --json' : ''}: exit ${x.code}${x.wrote ? ', WROTE' : ''}${x.crashed ? ', CRASHED' : ''}`);
}

// ---- 2. kill -9 at each step, then recover ----------------------------------------------------
const KEYS = {
  'net.ipv4.tcp_keepalive_time': '1234',
  'net.ipv4.tcp_keepalive_intvl': '33',
  'net.ipv4.tcp_keepalive_probes': '7',
  'net.ipv4.tcp_fin_timeout': '41',
};
const DELAY = 400;
const ns = `nt-h2rel-${process.pid.toString(36)}`;
const sh = (cmd, a) => spawnSync(cmd, a, { encoding: 'utf8' });
const values = () => Object.keys(KEYS).map((k) => sh('ip', ['netns', 'exec', ns, 'sysctl', '-n', k]).stdout.trim());

function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (existsSync(p) && spawnSync('test', ['-d', p]).status === 0) walk(p);
      else out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

const scenarios = [
  ...['after-lock', 'after-begin', 'after-write@1', 'after-write@2', 'after-write@3', 'after-write@4', 'persist-rename', 'journal-commit'].map((p) => ({ name: `fault ${p}`, fault: `${p}=kill` })),
  ...[0, 1, 2, 3].map((k) => ({ name: `kill -9 during write ${k + 1}`, killAt: k * DELAY + DELAY / 2 })),
];
const results = [];
const r0 = sh('ip', ['netns', 'add', ns]);
if (r0.status !== 0) {
  console.error(`ip netns add ${ns}: ${r0.stderr}`);
  process.exit(3);
}
try {
  const defaults = values();
  for (const sc of scenarios) {
    // a fresh start: the namespace's defaults, an empty state dir and --root
    Object.keys(KEYS).forEach((k, i) => sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${k}=${defaults[i]}`]));
    const state = mkdtempSync(join(tmpdir(), 'nettune-rel-state-'));
    const rootDir = mkdtempSync(join(tmpdir(), 'nettune-rel-root-'));
    const env = { ...process.env, NETTUNE_STATE_DIR: state, NETTUNE_NO_INSTALL: '1', NETTUNE_STEP_DELAY_MS: String(DELAY), ...(sc.fault ? { NETTUNE_FAULT: sc.fault } : {}) };
    const before = values();
    const persisted = join(rootDir, 'etc', 'sysctl.d', '90-nettune.conf');
    const sets = Object.entries(KEYS).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const child = spawn(process.execPath, [BUNDLE, 'apply', ...sets, '--netns', ns, '--persist', '--root', rootDir, '--yes'], { env, stdio: 'ignore' });
    const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
    if (sc.killAt !== undefined) {
      // the transaction starts when the lock file appears; then one step per DELAY ms
      const end = Date.now() + 30_000;
      while (!existsSync(join(state, 'lock')) && Date.now() < end) await sleep(10);
      await sleep(sc.killAt);
      child.kill('SIGKILL');
    }
    const ex = await exited;
    const killed = ex.signal === 'SIGKILL';
    const mid = values();
    const rec = spawnSync(process.execPath, [BUNDLE, 'recover', '--json'], { env: { ...env, NETTUNE_FAULT: '', NETTUNE_STEP_DELAY_MS: '0' }, encoding: 'utf8' });
    const after = values();
    const wanted = Object.values(KEYS);
    const same = (a, b) => a.every((x, i) => x === b[i]);
    const state_ok = same(after, before) || same(after, wanted);
    const content = existsSync(persisted) ? readFileSync(persisted, 'utf8') : null;
    const complete = content !== null && Object.entries(KEYS).every(([k, v]) => new RegExp(`^${k.replace(/\./g, '\\.')}\\s*=\\s*${v}$`, 'm').test(content));
    // before-values go with no persisted file (none existed), after-values with the complete one
    const persist_ok = same(after, before) ? content === null : complete;
    const leftovers = filesUnder(rootDir).filter((p) => p.endsWith('.tmp'));
    results.push({
      scenario: sc.name,
      killed,
      values_when_killed: same(mid, before) ? 'before' : same(mid, wanted) ? 'after' : 'between',
      recover_exit: rec.status,
      values_after_recover: same(after, before) ? 'before' : same(after, wanted) ? 'after' : 'BETWEEN',
      persisted_after_recover: content === null ? 'absent' : complete ? 'complete' : 'PARTIAL',
      tmp_files_left: leftovers.length,
      ok: killed && rec.status === 0 && state_ok && persist_ok,
    });
    rmSync(state, { recursive: true, force: true });
    rmSync(rootDir, { recursive: true, force: true });
  }
} finally {
  sh('ip', ['netns', 'del', ns]);
}

const rec = { tried: results.length, succeeded: results.filter((r) => r.ok).length };
{
  if (corpus) {
    console.log(`bad-input corpus: ${corpus.cases} cases tried (${corpus.runs} runs, ${corpus.seconds} s)`);
    console.log(`  writes observed: ${corpus.writes} (must be 0)`);
    console.log(`  crashes (exit 70 or a signal): ${corpus.crashes} (must be 0)`);
    console.log(`  wrong exit code: ${corpus.wrong_exit}`);
  }
  console.log(`recoveries: ${rec.succeeded}/${rec.tried} succeeded (kill -9 of apply, then recover; values before or after, never between)`);
  for (const r of results)
    console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.scenario.padEnd(26)} killed=${r.killed} at-kill=${r.values_when_killed.padEnd(7)} recover=${r.recover_exit} → ${r.values_after_recover}, persisted ${r.persisted_after_recover}, .tmp left ${r.tmp_files_left}`);
}
process.exitCode = (corpus && (corpus.writes || corpus.crashes)) || rec.succeeded !== rec.tried ? 1 : 0;
