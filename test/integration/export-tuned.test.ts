// export --format tuned, loaded and merged by Debian tuned 2.20's own profile loader (its Python
// modules; the daemon is never started): no error, the merged [sysctl] equals the plan, and every
// [net] option is one tuned's net plugin knows and parses.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, nettune } from '../helpers.js';

const PLAN = join(FIXTURES, 'export', 'plan.json');
const LOADER = join(FIXTURES, 'export', 'tuned-load.py');
const tmp = mkdtempSync(join(tmpdir(), 'nettune-export-tuned-'));

interface Loaded {
  name: string;
  options: Record<string, string>;
  units: Record<string, { type: string; devices: string; options: Record<string, string>; unknown_options?: string[]; parsed?: Record<string, Record<string, string> | null> }>;
}

function load(dirs: string[], profile: string): Loaded {
  const r = spawnSync('python3', [LOADER, dirs.join(':'), profile], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/ERROR|Traceback/);
  return JSON.parse(r.stdout) as Loaded;
}

const plan = JSON.parse(readFileSync(PLAN, 'utf8')) as { changes: { kind: string; key?: string; to: string }[] };
const planSysctl: Record<string, string> = Object.fromEntries(plan.changes.filter((c) => c.kind === 'sysctl').map((c) => [c.key ?? '', c.to]));

describe('export --format tuned', () => {
  it('tuned’s loader merges it without error; [sysctl] equals the plan; [net] and [sysfs] carry the NIC settings', () => {
    const out = join(tmp, 'alone');
    expect(nettune('export', PLAN, '--format', 'tuned', '--out', out).code).toBe(0);
    const p = load(['/usr/lib/tuned', out], 'nettune');
    expect(p.options.summary).toMatch(/^nettune: plan .*plan\.json for workload throughput on vm$/);
    expect(p.units.sysctl?.options).toEqual(planSysctl);
    const net = p.units.net_eth0;
    expect(net).toMatchObject({ type: 'net', devices: 'eth0', unknown_options: [] });
    expect(net?.parsed).toEqual({ features: { gro: 'on' }, ring: { rx: '1024' }, channels: { combined: '2' }, coalesce: { 'rx-usecs': '50' } });
    expect(p.units.sysfs?.options).toEqual({ '/sys/class/net/eth0/queues/rx-0/rps_cpus': '3' });
    // and nettune's own tuned reader sees the same values: each differs from the fixture host's
    const f = nettune('profiles', '--from-tuned', join(out, 'nettune'), '--snapshot', join(FIXTURES, 'snapshot-6.18.json'), '--json');
    expect(f.code, f.stderr).toBe(0);
    const rows = (JSON.parse(f.stdout) as { sysctl: { key: string; tuned: string; status: string }[] }).sysctl;
    expect(Object.fromEntries(rows.map((x) => [x.key, x.tuned]))).toEqual(planSysctl);
    expect(Object.fromEntries(rows.map((x) => [x.key, x.status]))).toEqual({
      'net.ipv4.tcp_wmem': 'differs',
      'net.core.rmem_max': 'differs',
      'net.core.wmem_max': 'differs',
      'net.ipv4.tcp_slow_start_after_idle': 'lowers',
    });
  });

  it('--include builds on a shipped profile: included values first, the plan’s win', () => {
    const out = join(tmp, 'incl');
    const r = nettune('export', PLAN, '--format', 'tuned', '--include', 'network-throughput', '--name', 'nt-throughput', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'nt-throughput', 'tuned.conf'), 'utf8')).toMatch(/^\[main\]\nsummary=.*\ninclude=network-throughput$/m);
    const p = load(['/usr/lib/tuned', out], 'nt-throughput');
    const sysctl = p.units.sysctl?.options ?? {};
    // network-throughput sets tcp_wmem to 4096 16384 16777216; the plan's value wins
    expect(sysctl['net.ipv4.tcp_wmem']).toBe('4096 16384 33554432');
    expect(sysctl['net.ipv4.tcp_rmem']).toBe('"4096 87380 16777216"'); // from network-throughput (quoted there; tuned unquotes at apply)
    expect(sysctl['net.core.somaxconn']).toBe('>2048'); // from throughput-performance, two levels down
    for (const [k, v] of Object.entries(planSysctl)) expect(sysctl[k]).toBe(v);
  });

  it('prints tuned.conf without --out; bad --include and values tuned would misread are exit 2', () => {
    const r = nettune('export', PLAN, '--format', 'tuned');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[sysctl\]\n(#.*\n)?net\.ipv4\.tcp_wmem=4096 16384 33554432$/m);
    expect(nettune('export', PLAN, '--format', 'tuned', '--include', 'a b').code).toBe(2);
    expect(nettune('export', PLAN, '--format', 'sysctl.d', '--include', 'x').code).toBe(2);
  });
});
