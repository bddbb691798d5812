// The sampler in a namespace this test creates (and always deletes): counters are the
// namespace's own, read through the one helper process inside it, and traffic there shows as
// rates. Needs root.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSampler } from '../../src/monitor/sampler.js';
import { descendants } from '../../src/sys/signals.js';

const isRoot = process.getuid?.() === 0;
const NS = `nt-h3s${process.pid}${Math.random().toString(36).slice(2, 6)}`;

function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!isRoot)('openSampler --netns (root)', () => {
  beforeAll(() => {
    sh('ip', 'netns', 'add', NS);
    sh('ip', '-n', NS, 'link', 'add', 'ntsv0', 'type', 'veth', 'peer', 'name', 'ntsv1');
    sh('ip', '-n', NS, 'addr', 'add', '198.18.7.1/30', 'dev', 'ntsv0');
    sh('ip', '-n', NS, 'addr', 'add', '198.18.7.2/30', 'dev', 'ntsv1');
    for (const d of ['lo', 'ntsv0', 'ntsv1']) sh('ip', '-n', NS, 'link', 'set', d, 'up');
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('reads the namespace’s own counters and links, with rates of traffic there', async () => {
    const s = await openSampler({ netns: NS, probeAtOpen: false });
    try {
      const a = await s.sample();
      expect(Object.keys(a.links).sort()).toEqual(['lo', 'ntsv0', 'ntsv1']);
      expect(a.qdiscs.map((q) => q.dev)).toContain('ntsv0');
      expect(a.netns).toBe(NS);
      const helpers = descendants().length;
      // 20 pings over the veth pair: bounded, inside the test's own namespace.
      sh('ip', 'netns', 'exec', NS, 'ping', '-q', '-c', '20', '-i', '0.01', '-W', '1', '198.18.7.2');
      const b = await s.sample();
      expect(descendants().length).toBe(helpers); // no process per sample
      const r = s.rates();
      expect(r?.interval_s).toBeGreaterThan(0);
      expect((r?.counters['snmp.Icmp.OutMsgs'] ?? 0) * (r?.interval_s ?? 0)).toBeGreaterThanOrEqual(20);
      expect(b.counters.snmp.Icmp?.OutEchos).toBeGreaterThanOrEqual(20);
      expect(b.errors.filter((e) => e.section !== 'conntrack')).toEqual([]);
    } finally {
      s.close();
    }
  });

  it('a helper that is killed is started again in the same namespace; a deleted namespace stays an error', async () => {
    const s = await openSampler({ netns: NS, probeAtOpen: false });
    try {
      await s.sample();
      const first = descendants();
      expect(first).toHaveLength(1);
      process.kill(first[0]?.pid ?? -1, 'SIGKILL'); // as the OOM killer or a stray kill would
      await new Promise((r) => setTimeout(r, 200));
      const b = await s.sample(); // was: "the sampler's helper process inside it exited", every sample from then on
      expect(Object.keys(b.links).sort()).toEqual(['lo', 'ntsv0', 'ntsv1']);
      expect(b.qdiscs.map((q) => q.dev)).toContain('ntsv0');
      const again = descendants();
      expect(again).toHaveLength(1);
      expect(again[0]?.pid).not.toBe(first[0]?.pid);
    } finally {
      s.close();
    }
    // another namespace under the name is not entered in its place
    const other = `${NS}x`;
    sh('ip', 'netns', 'add', other);
    try {
      const t = await openSampler({ netns: other, probeAtOpen: false });
      try {
        await t.sample();
        sh('ip', 'netns', 'del', other);
        sh('ip', 'netns', 'add', other);
        for (const d of descendants()) process.kill(d.pid, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 200));
        await expect(t.sample()).rejects.toThrow(/helper process inside it exited/);
      } finally {
        t.close();
      }
    } finally {
      spawnSync('ip', ['netns', 'del', other]);
    }
  });

  it('a sampler closed while its helper restarts leaves no helper behind', async () => {
    const s = await openSampler({ netns: NS, probeAtOpen: false });
    await s.sample();
    for (const d of descendants()) process.kill(d.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const pending = s.sample().catch(() => null); // starts the helper again …
    s.close(); // … and the sampler is closed meanwhile
    await pending;
    await new Promise((r) => setTimeout(r, 300));
    expect(descendants()).toEqual([]);
  });

  it('an unknown namespace is bad input (exit 2)', async () => {
    await expect(openSampler({ netns: `${NS}-none`, probeAtOpen: false })).rejects.toMatchObject({ exitCode: 2 });
  });
});
