// --netns against a namespace this test creates (and always deletes). Needs root.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotSchema } from '../../src/snapshot/schema.js';
import { nettune } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const NS = `nt-t${process.pid}${Math.random().toString(36).slice(2, 6)}-probe`;

function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}


describe.skipIf(!isRoot)('probe --netns (root)', () => {
  const initKeepalive = readFileSync('/proc/sys/net/ipv4/tcp_keepalive_time', 'utf8').trim();

  beforeAll(() => {
    sh('ip', 'netns', 'add', NS);
    sh('ip', '-n', NS, 'link', 'add', 'ntv0', 'type', 'veth', 'peer', 'name', 'ntv1');
    sh('ip', '-n', NS, 'addr', 'add', '198.18.0.1/30', 'dev', 'ntv0');
    sh('ip', '-n', NS, 'link', 'set', 'ntv0', 'up');
    sh('ip', '-n', NS, 'link', 'set', 'ntv1', 'up');
    sh('ip', 'netns', 'exec', NS, 'sysctl', '-q', '-w', 'net.ipv4.tcp_keepalive_time=1234');
    sh('ip', 'netns', 'exec', NS, 'sysctl', '-q', '-w', 'net.ipv4.tcp_sack=0');
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('reads the namespace, not the host', () => {
    const r = nettune('probe', '--netns', NS, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const snap = snapshotSchema.parse(JSON.parse(r.stdout));
    expect(snap.netns.name).toBe(NS);
    expect(snap.netns.init).toBe(false);
    expect(snap.sysctl['net.ipv4.tcp_keepalive_time']).toBe('1234');
    expect(snap.links.map((l) => l.name).sort()).toEqual(['lo', 'ntv0', 'ntv1']);
    const v0 = snap.links.find((l) => l.name === 'ntv0');
    expect(v0?.kind).toBe('veth');
    expect(v0?.addresses).toContainEqual({ family: 'inet', local: '198.18.0.1', prefixlen: 30 });
    expect(v0?.ethtool?.features?.['generic-segmentation-offload']).toBeDefined();
    expect(snap.routes.some((rt) => rt.dst === '198.18.0.0/30')).toBe(true);
    // the host is untouched
    expect(readFileSync('/proc/sys/net/ipv4/tcp_keepalive_time', 'utf8').trim()).toBe(initKeepalive);
  });

  it('explain and show work against the namespace', () => {
    const x = JSON.parse(nettune('explain', 'net.ipv4.tcp_keepalive_time', '--netns', NS, '--json').stdout) as {
      values: Record<string, string>;
      differs_from_default: Record<string, boolean>;
      source: { netns: string };
    };
    expect(x.values['net.ipv4.tcp_keepalive_time']).toBe('1234');
    expect(x.differs_from_default['net.ipv4.tcp_keepalive_time']).toBe(true);
    expect(x.source.netns).toBe(NS);
    const s = nettune('show', '--netns', NS);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`netns ${NS}`));
    expect(s.stdout).toMatch(/1234 s \+ 75 s × 9/);
  });

  it('audit --netns judges the namespace and writes fixes for it', () => {
    const r = nettune('audit', '--netns', NS, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { findings: { id: string; fix: { commands: string[] } }[] };
    const sack = j.findings.find((f) => f.id === 'tcp.sack-off');
    expect(sack?.fix.commands).toEqual([`ip netns exec ${NS} sysctl -w net.ipv4.tcp_sack=1`]);
    // the host itself has SACK on
    expect(readFileSync('/proc/sys/net/ipv4/tcp_sack', 'utf8').trim()).toBe('1');
  });
});
