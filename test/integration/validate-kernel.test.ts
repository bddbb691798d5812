// The validator against this kernel: for every catalogued key a throw-away child namespace has,
// write a set of awkward values (signs, bases, type limits, the catalog's own bounds ± 1, each
// vector field in turn) and compare what the kernel did with what the validator says it does.
// "refuses" must be refused, "accepts" (with or without a nettune problem) must be accepted;
// "depends" (CONFIG_HZ, version) is not compared. Needs root; never touches the init namespace.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog, validateValue } from '../../src/catalog/index.js';

const isRoot = process.getuid?.() === 0;
const NS = `nt-h1val${process.pid}${Math.random().toString(36).slice(2, 6)}-x`;

// Runs inside the namespace: for each key, each value, write it (then restore) and record the
// outcome. Plain node, no nettune code, so the kernel alone answers.
const PROBER = `
const fs = require('fs');
const jobs = JSON.parse(process.argv[1]);
const path = (k) => '/proc/sys/' + k.split('.').map((s) => s.replace(/\\//g, '.')).join('/');
const out = {};
for (const { key, values } of jobs) {
  const p = path(key);
  let orig;
  try { orig = fs.readFileSync(p, 'utf8').trim().replace(/\\s+/g, ' '); } catch (e) { continue; }
  try { fs.writeFileSync(p, orig); } catch (e) { continue; } // read-only here
  const res = {};
  for (const v of values) {
    let ok;
    try { fs.writeFileSync(p, v); ok = true; } catch (e) { ok = e.code; }
    try { fs.writeFileSync(p, orig); } catch (e) {}
    res[v] = ok;
  }
  out[key] = { orig, res };
}
const ctx = {};
for (const k of ['net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_local_port_range', 'net.ipv4.ipfrag_low_thresh', 'net.ipv4.ipfrag_high_thresh', 'net.ipv6.ip6frag_low_thresh', 'net.ipv6.ip6frag_high_thresh', 'net.ipv4.tcp_available_congestion_control', 'net.ipv4.tcp_allowed_congestion_control'])
  try { ctx[k] = fs.readFileSync(path(k), 'utf8').trim().replace(/\\s+/g, ' '); } catch (e) {}
process.stdout.write(JSON.stringify({ out, ctx }));
`;

const TOKENS = ['-1', '-0', '0', '1', '2', '255', '256', '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967295', '4294967296', '18446744073709551615', '18446744073709551616', '0x10', '0X1f', '010', '08', '+5', '5x', '0x', '000000000000000000001'];

function valuesFor(e: (typeof catalog extends () => (infer T)[] ? T : never)): string[] | null {
  if (e.type === 'string') return null;
  const bounds = [e.range, ...(e.field_ranges ?? [])].flatMap((r) => [r?.min, r?.max]).filter((x): x is number => x !== undefined);
  const extra = bounds.flatMap((b) => [String(b - 1), String(b), String(b + 1)]);
  return [...new Set([...TOKENS, ...extra])];
}

describe.skipIf(!isRoot)('the validator agrees with this kernel (root, throw-away namespace)', () => {
  let result: { out: Record<string, { orig: string; res: Record<string, true | string> }>; ctx: Record<string, string> } = { out: {}, ctx: {} };
  const vectorOf = new Map<string, (v: string) => string[]>();

  beforeAll(() => {
    const add = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
    if (add.status !== 0) throw new Error(add.stderr);
    const jobs: { key: string; values: string[] }[] = [];
    for (const e of catalog()) {
      const key = e.key.replace('*', 'default');
      if (!key.startsWith('net.') || e.scope === 'global') continue;
      const vals = valuesFor(e);
      if (!vals) continue;
      jobs.push({ key, values: vals });
    }
    // Vectors: the probe values are written into each field in turn, the others kept as read.
    // The prober gets whole vectors, so expand here once the current value is known: first pass
    // reads the current values with scalar probes only.
    const first = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '-e', PROBER, JSON.stringify(jobs.map((j) => ({ key: j.key, values: [] })))], { encoding: 'utf8', timeout: 60_000 });
    const cur = (JSON.parse(first.stdout) as typeof result).out;
    const expanded = jobs.map((j) => {
      const orig = cur[j.key]?.orig;
      const fields = orig?.split(' ').length ?? 1;
      if (!orig || fields === 1) return j;
      const parts = orig.split(' ');
      const values = j.values.flatMap((v) => parts.map((_, i) => parts.map((p, k) => (k === i ? v : p)).join(' ')));
      vectorOf.set(j.key, (v) => v.split(' '));
      return { key: j.key, values };
    });
    const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '-e', PROBER, JSON.stringify(expanded)], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(r.stderr);
    result = JSON.parse(r.stdout) as typeof result;
  }, 180_000);

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('probed the catalogued per-namespace numeric keys', () => {
    expect(Object.keys(result.out).length).toBeGreaterThan(100);
  });

  it('says "refuses" exactly where the kernel refuses', () => {
    const disagree: string[] = [];
    let compared = 0;
    for (const e of catalog()) {
      const key = e.key.replace('*', 'default');
      const probed = result.out[key];
      if (!probed) continue;
      const sysctl = { ...result.ctx, [key]: probed.orig };
      for (const [value, outcome] of Object.entries(probed.res)) {
        const v = validateValue(e, value, { sysctl, netnsInit: false });
        if (v.problems.some((p) => p.kernel === 'depends')) continue;
        const saysRefused = v.problems.some((p) => p.kernel === 'refuses');
        const refused = outcome !== true;
        compared++;
        if (saysRefused !== refused) disagree.push(`${key}=${JSON.stringify(value)}: kernel ${refused ? `refused (${outcome})` : 'accepted'}, validator ${saysRefused ? 'says refused' : 'says accepted'}${v.problem ? `: ${v.problem}` : ''}`);
      }
    }
    if (process.env.NETTUNE_VERBOSE) process.stderr.write(`validate-kernel: ${compared} writes compared, ${Object.keys(result.out).length} keys\n`);
    expect(compared).toBeGreaterThan(2000);
    expect(disagree).toEqual([]);
  });

  it('congestion control: a child namespace may only pick an allowed algorithm', () => {
    const e = catalog().find((x) => x.key === 'net.ipv4.tcp_congestion_control');
    if (!e) throw new Error('no entry');
    const available = (result.ctx['net.ipv4.tcp_available_congestion_control'] ?? '').split(' ');
    const allowed = (result.ctx['net.ipv4.tcp_allowed_congestion_control'] ?? '').split(' ');
    for (const cc of available) {
      const w = spawnSync('ip', ['netns', 'exec', NS, 'sh', '-c', `echo ${cc} > /proc/sys/net/ipv4/tcp_congestion_control`], { encoding: 'utf8' });
      const v = validateValue(e, cc, { netnsInit: false, congestion: { available, allowed } });
      expect(v.ok, `${cc}: kernel ${w.status === 0 ? 'accepted' : 'refused'}`).toBe(w.status === 0);
    }
  });
});
