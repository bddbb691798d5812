// The CLI as users run it: the built bundle, exit codes, --json validity.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshotSchema } from '../../src/snapshot/schema.js';
import { FIXTURES, nettune } from '../helpers.js';

const SNAP = join(FIXTURES, 'snapshot-6.18.json');
const tmp = mkdtempSync(join(tmpdir(), 'nettune-cli-'));


function json(stdout: string): unknown {
  return JSON.parse(stdout); // throws (fails the test) unless stdout is exactly one JSON document
}

describe('probe', () => {
  it('--json prints one valid Snapshot with all net.* keys', () => {
    const r = nettune('probe', '--json');
    expect(r.code).toBe(0);
    const snap = snapshotSchema.parse(json(r.stdout));
    const netKeys = Object.keys(snap.sysctl).filter((k) => k.startsWith('net.'));
    expect(netKeys.length).toBeGreaterThanOrEqual(1000);
    expect(snap.sysctl['fs.file-max']).toMatch(/^\d+$/);
    expect(snap.sysctl['net.ipv4.tcp_rmem']).toMatch(/^\d+ \d+ \d+$/); // tabs normalised
    expect(snap.counters.netstat.TcpExt?.ListenOverflows).toBeTypeOf('number');
    expect(snap.counters.softnet.length).toBe(snap.cpus.online);
    expect(snap.links.map((l) => l.name)).toContain('lo');
    expect(snap.kernel.release).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    expect(snap.congestion_control.available.length).toBeGreaterThan(0);
    expect(snap.netns.inode).toBeTypeOf('number');
  });

  it('values equal what sysctl -n prints', () => {
    const snap = snapshotSchema.parse(json(nettune('probe', '--json').stdout));
    const keys = ['net.ipv4.tcp_rmem', 'net.ipv4.ip_local_port_range', 'net.core.somaxconn', 'net.ipv4.tcp_available_congestion_control'];
    const r = spawnSync('sysctl', ['-n', ...keys], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const expected = r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    expect(keys.map((k) => snap.sysctl[k])).toEqual(expected);
  });

  it('--out writes a file that --snapshot accepts', () => {
    const out = join(tmp, 'snap.json');
    const r = nettune('probe', '--out', out, '--json');
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ written: out });
    const g = nettune('get', 'net.core.somaxconn', '--snapshot', out, '--json');
    expect(g.code).toBe(0);
    expect(json(g.stdout)).toEqual({ 'net.core.somaxconn': readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim() });
  });

  it('a missing namespace is exit 2 with a clear message', () => {
    const r = nettune('probe', '--netns', 'nt-does-not-exist-42');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/network namespace "nt-does-not-exist-42" does not exist/);
    expect(nettune('probe', '--netns', '../etc').code).toBe(2);
  });
});

describe('--snapshot input edge', () => {
  it('names the file and the first schema error, exit 2, one JSON document with --json', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schema: 'nettune.snapshot/1', sysctl: {} }));
    const r = nettune('show', '--snapshot', bad, '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: not a valid snapshot: taken_at`);
    expect(json(r.stdout)).toMatchObject({ error: { exit_code: 2 } });
  });
  it('refuses --netns with --snapshot', () => {
    expect(nettune('show', '--snapshot', SNAP, '--netns', 'x').code).toBe(2);
  });
});

describe('show', () => {
  it('summarises a snapshot in human form and JSON', () => {
    const h = nettune('show', '--snapshot', SNAP);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/congestion control/);
    expect(h.stdout).toMatch(/Conntrack/);
    expect(h.stdout).toMatch(/eth0/);
    const j = json(nettune('show', '--snapshot', SNAP, '--json').stdout) as { tcp: { keepalive: { dead_peer_s: number } } };
    expect(j.tcp.keepalive.dead_peer_s).toBe(7200 + 75 * 9);
  });
  it('runs live', () => {
    expect(nettune('show').code).toBe(0);
  });
});

describe('catalog, explain, get', () => {
  it('catalog --json lists at least 120 entries', () => {
    const r = nettune('catalog', '--json');
    expect(r.code).toBe(0);
    expect((json(r.stdout) as { count: number }).count).toBeGreaterThanOrEqual(120);
    expect(nettune('catalog', '--domain', 'nosuch').code).toBe(2);
  });
  it('explain shows value, default comparison, counters and sources', () => {
    const r = nettune('explain', 'net.ipv4.tcp_rmem', '--snapshot', SNAP, '--json');
    expect(r.code).toBe(0);
    const x = json(r.stdout) as { values: Record<string, string>; entry: { sources: string[] }; counters: Record<string, number | null> };
    expect(x.values['net.ipv4.tcp_rmem']).toBe('4096 131072 33554432');
    expect(x.entry.sources.length).toBeGreaterThan(0);
    expect(Object.values(x.counters).every((v) => typeof v === 'number')).toBe(true);
    const h = nettune('explain', 'net.core.rmem_max', '--snapshot', SNAP);
    expect(h.stdout).toMatch(/SO_RCVBUF/);
    expect(h.stdout).toMatch(/Sources:/);
  });
  it('explain of a pattern lists every matching key', () => {
    const x = json(nettune('explain', 'net.ipv4.conf.*.rp_filter', '--snapshot', SNAP, '--json').stdout) as { values: Record<string, string> };
    expect(Object.keys(x.values)).toEqual(expect.arrayContaining(['net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.eth0.rp_filter']));
  });
  it('unknown key: exit 2 with did-you-mean', () => {
    const r = nettune('explain', 'net.ipv4.tcp_rmen', '--snapshot', SNAP);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown key "net.ipv4.tcp_rmen"/);
    expect(r.stderr).toMatch(/did you mean: net.ipv4.tcp_rmem/);
    const g = nettune('get', 'somaxcon', '--snapshot', SNAP, '--json');
    expect(g.code).toBe(2);
    expect(json(g.stdout)).toMatchObject({ error: { hint: expect.stringMatching(/net.core.somaxconn/) as unknown } });
  });
  it('get prints key = value, --values, and expands patterns', () => {
    expect(nettune('get', 'net.core.somaxconn', 'net/ipv4/tcp_sack', '--snapshot', SNAP).stdout).toBe('net.core.somaxconn = 4096\nnet.ipv4.tcp_sack = 1\n');
    expect(nettune('get', 'net.core.somaxconn', '--values', '--snapshot', SNAP).stdout).toBe('4096\n');
    const all = json(nettune('get', 'net.ipv4.conf.*.forwarding', '--snapshot', SNAP, '--json').stdout) as Record<string, string>;
    expect(Object.keys(all).length).toBeGreaterThanOrEqual(3);
  });
  it('explain knows removed knobs', () => {
    const r = nettune('explain', 'net.ipv4.tcp_tw_recycle', '--snapshot', SNAP);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/REMOVED in Linux 4\.12/);
  });
});

describe('usage', () => {
  it('unknown command and unknown flag are exit 2; help and version exit 0', () => {
    expect(nettune('frobnicate').code).toBe(2);
    expect(nettune('show', '--bogus').code).toBe(2);
    expect(nettune('--help').code).toBe(0);
    expect(nettune('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
