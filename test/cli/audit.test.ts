// audit and rules as users run them: the bundle, exit codes, --json, --format markdown.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, snapshotFixture, nettune } from '../helpers.js';

const SNAP = join(FIXTURES, 'snapshot-6.18.json');
const tmp = mkdtempSync(join(tmpdir(), 'nettune-audit-'));


interface AuditJson {
  findings: { id: string; severity: string; evidence: { what: string; rate_per_s?: number | null }[]; fix: { commands: string[] } }[];
  summary: Record<string, number>;
  interval_s: number | null;
  evaluated: number;
}

describe('audit', () => {
  it('--json on a captured snapshot: one document with findings, evidence and fixes', () => {
    const r = nettune('audit', '--snapshot', SNAP, '--json', '--workload', 'connections');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as AuditJson;
    expect(j.evaluated).toBeGreaterThan(10);
    const ka = j.findings.find((f) => f.id === 'tcp.keepalive-slow');
    expect(ka?.severity).toBe('warn');
    expect(ka?.fix.commands[0]).toMatch(/^sysctl -w net\.ipv4\.tcp_keepalive_time=/);
  });

  it('--fail-on sets exit 1 only when a finding reaches the level', () => {
    expect(nettune('audit', '--snapshot', SNAP, '--fail-on', 'info').code).toBe(1);
    const bad = snapshotFixture();
    bad.sysctl['net.ipv4.tcp_window_scaling'] = '0';
    const file = join(tmp, 'noscale.json');
    writeFileSync(file, JSON.stringify(bad));
    const r = nettune('audit', '--snapshot', file, '--fail-on', 'critical');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/CRITICAL \(\d+\)/);
    expect(r.stdout).toMatch(/tcp\.window-scaling-off/);
    expect(r.stdout).toMatch(/\d+ critical, \d+ warn, \d+ info — \d+ rules evaluated/);
  });

  it('--format markdown', () => {
    const r = nettune('audit', '--snapshot', SNAP, '--format', 'markdown');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('# nettune audit')).toBe(true);
    expect(r.stdout).toMatch(/\| evidence \| value \| rate\/s \|/);
  });

  it('rates from --since: counters judged over the interval', () => {
    const prev = snapshotFixture();
    prev.taken_at = new Date(Date.parse(prev.taken_at) - 10_000).toISOString();
    const earlier = join(tmp, 'earlier.json');
    writeFileSync(earlier, JSON.stringify(prev));
    const r = nettune('audit', '--snapshot', SNAP, '--since', earlier, '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as AuditJson).interval_s).toBe(10);
    const other = snapshotFixture();
    other.hostname = 'elsewhere';
    const o = join(tmp, 'other.json');
    writeFileSync(o, JSON.stringify(other));
    const m = nettune('audit', '--snapshot', SNAP, '--since', o);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/taken on elsewhere/);
  });

  it('a live audit with --interval samples twice', () => {
    const r = nettune('audit', '--interval', '1s', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/sampling counters for 1 s/);
    const j = JSON.parse(r.stdout) as AuditJson;
    expect(j.interval_s).toBeGreaterThan(0.9);
    expect(j.interval_s).toBeLessThan(10);
  });

  it('bad flags are exit 2 before anything is probed', () => {
    for (const args of [
      ['--link', '10gbit'],
      ['--link', 'fast', '--rtt', '10ms'],
      ['--link', '10gbit', '--rtt', 'soon'],
      ['--workload', 'gaming'],
      ['--snapshot', SNAP, '--interval', '5s'],
      ['--fail-on', 'sometimes'],
      ['--loss', '1%'],
    ]) {
      const r = nettune('audit', ...args, '--json');
      expect(r.code, args.join(' ')).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { exit_code: 2 } });
    }
  });

  it('the seed link: 10 Gbit/s × 10 ms is shown with its BDP', () => {
    const r = nettune('audit', '--snapshot', SNAP, '--link', '10gbit', '--rtt', '10ms');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/link 10 Gbit\/s × 10 ms \(BDP 12\.5 MB = 11\.9 MiB\)/);
  });
});

describe('rules', () => {
  it('lists rules and explains one', () => {
    const r = nettune('rules', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { count: number; rules: { id: string; why: string; sources: string[] }[] };
    expect(j.count).toBe(j.rules.length);
    expect(j.rules.every((x) => x.why.length > 40 && x.sources.length > 0)).toBe(true);
    const e = nettune('rules', 'explain', 'tcp.sack-off');
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/RFC 2018/);
    const u = nettune('rules', 'explain', 'tcp.sack-of');
    expect(u.code).toBe(2);
  });
});
