// explain, show, audit and lint on Snapshots of three kernels (4.19, 5.10, 6.18) and two memory
// sizes (2 GB, 24 GB) built by scripts/make-kernel-snapshots.mjs: each gives that kernel's
// default on that host, and "differs" exactly for the knobs the generator tuned. Plus `get` in
// a namespace, on an unreadable key, with globs and with '/'-separated keys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, nettune, snapshotFixture } from '../helpers.js';

const snap = (name: string): string => join(FIXTURES, 'snapshots', `linux-${name}.json`);

interface Explained {
  values: Record<string, string>;
  differs_from_default: Record<string, boolean | null>;
  default: { status: string; value: string | null; choices: string[] } | null;
}
const explain = (key: string, file: string): Explained => {
  const r = nettune('explain', key, '--snapshot', file, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Explained;
};

/** key → [default value (or status when not exact), differs from default] per snapshot. */
const EXPECTED: Record<string, Record<string, [string, boolean | null]>> = {
  '4.19-2g': {
    'net.core.rmem_max': ['212992', false],
    'net.core.somaxconn': ['128', true], // tuned to 4096
    'net.ipv4.tcp_rmem': ['4096 87380 6291456', false],
    'net.ipv4.tcp_limit_output_bytes': ['262144', false],
    'net.netfilter.nf_conntrack_buckets': ['16384', false],
    'net.netfilter.nf_conntrack_max': ['65536', false],
    'net.ipv4.tcp_mem': ['estimate', false],
    'net.ipv4.tcp_max_syn_backlog': ['unknown', null], // no tcp_ehash_entries before 6.1
  },
  '4.19-24g': {
    'net.ipv4.tcp_rmem': ['4096 87380 6291456', true], // tuned max 16 MiB
    'net.netfilter.nf_conntrack_buckets': ['65536', false],
    'net.netfilter.nf_conntrack_max': ['262144', false],
    'net.core.somaxconn': ['128', false],
    'fs.file-max': ['estimate', false],
  },
  '5.10-2g': {
    'net.core.rmem_max': ['212992', true], // the issue's example: 4 MB is not 5.10's default
    'net.ipv4.tcp_rmem': ['4096 131072 6291456', false],
    'net.core.somaxconn': ['4096', false],
    'net.netfilter.nf_conntrack_buckets': ['16384', false],
    'net.netfilter.nf_conntrack_max': ['65536', false],
    'net.ipv6.route.max_size': ['4096', false],
    'net.ipv4.tcp_mem': ['estimate', false],
  },
  '5.10-24g': {
    'net.netfilter.nf_conntrack_max': ['262144', true], // tuned to 524288
    'net.netfilter.nf_conntrack_buckets': ['65536', false],
    'net.ipv4.tcp_limit_output_bytes': ['1048576', false],
    'net.core.rmem_max': ['212992', false],
  },
  '6.18-2g': {
    'net.ipv4.tcp_mem': ['estimate', true], // a 24 GB host's tcp_mem
    'net.core.rmem_max': ['4194304', false],
    'net.ipv4.tcp_rmem': ['estimate', false], // max limited by 2 GB of memory
    'net.netfilter.nf_conntrack_max': ['65536', false],
    'net.ipv4.tcp_max_syn_backlog': ['128', false],
    'net.ipv4.tcp_max_orphans': ['8192', false],
  },
  '6.18-24g': {
    'net.core.rmem_max': ['4194304', true], // pinned to 212992
    'net.ipv4.tcp_rmem': ['4096 131072 33554432', false],
    'net.netfilter.nf_conntrack_max': ['262144', false],
    'net.ipv4.tcp_max_syn_backlog': ['2048', false],
    'net.ipv4.tcp_mem': ['estimate', false],
  },
};

describe('explain gives each kernel and memory size its own default', () => {
  for (const [name, keys] of Object.entries(EXPECTED))
    it(name, () => {
      for (const [key, [want, differs]] of Object.entries(keys)) {
        const x = explain(key, snap(name));
        const d = x.default;
        if (want === 'estimate' || want === 'unknown') expect(d?.status, `${name} ${key}`).toBe(want);
        else expect(d?.value, `${name} ${key}`).toBe(want);
        expect(x.differs_from_default[key], `${name} ${key}`).toBe(differs);
      }
    });

  it('the human text names the kernel and gives no number for what the snapshot cannot know', () => {
    const r = nettune('explain', 'net.core.rmem_max', '--snapshot', snap('5.10-2g'));
    expect(r.stdout).toMatch(/current\s+4194304\s+\(differs from default\)/);
    expect(r.stdout).toMatch(/default\s+212992/);
    expect(r.stdout).toMatch(/Linux 5\.10: the default before 6\.18/);
    const b = nettune('explain', 'net.ipv4.tcp_max_syn_backlog', '--snapshot', snap('4.19-24g'));
    expect(b.stdout).toMatch(/default\s+not known for this snapshot/);
    expect(b.stdout).toMatch(/established-hash size/);
  });
});

describe('show, audit and lint use the same defaults', () => {
  it('show lists exactly the tuned knobs as changed from the defaults', () => {
    for (const [name, keys] of Object.entries(EXPECTED)) {
      const r = nettune('show', '--snapshot', snap(name), '--json');
      expect(r.code, r.stderr).toBe(0);
      const changed = (JSON.parse(r.stdout) as { changed_from_default: { key: string; default: string }[] }).changed_from_default.map((c) => c.key);
      for (const [key, [, differs]] of Object.entries(keys)) expect(changed.includes(key), `${name} ${key}`).toBe(differs === true);
    }
    const text = nettune('show', '--snapshot', snap('5.10-2g')).stdout;
    expect(text).toMatch(/Changed from this kernel's defaults[\s\S]*net\.core\.rmem_max\s+4194304\s+212992/);
  });

  it('audit reports each cited knob against this kernel’s default', () => {
    const r = nettune('audit', '--snapshot', snap('6.18-2g'), '--json');
    const j = JSON.parse(r.stdout) as { kernel_defaults: Record<string, { default: string; differs: boolean | null }> };
    for (const [key, d] of Object.entries(j.kernel_defaults)) {
      const want = EXPECTED['6.18-2g']?.[key];
      if (want) expect(d.differs, key).toBe(want[1]);
    }
    // A knob the audit cites on 4.19 is judged by 4.19's default, not 6.18's.
    const old = JSON.parse(nettune('audit', '--snapshot', snap('4.19-2g'), '--workload', 'connections', '--json').stdout) as {
      kernel_defaults: Record<string, { default: string; differs: boolean | null }>;
    };
    if (old.kernel_defaults['net.core.somaxconn']) expect(old.kernel_defaults['net.core.somaxconn']).toEqual({ default: '128', differs: true });
  });

  it('lint: drift back to the default says so, and restating a versioned default is info', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nettune-h5-lint-'));
    try {
      const f = join(dir, '90-net.conf');
      writeFileSync(f, 'net.core.rmem_max = 8388608\nnet.core.somaxconn = 4096\n');
      const lint = (name: string): { code: string; key: string | null; message: string }[] =>
        (JSON.parse(nettune('lint', f, '--snapshot', snap(name), '--json').stdout) as { messages: { code: string; key: string | null; message: string }[] }).messages;
      // 6.18 24 GB has rmem_max 212992 (tuned), not the file's value and not the default: plain drift.
      const m618 = lint('6.18-24g');
      expect(m618.find((m) => m.code === 'drift' && m.key === 'net.core.rmem_max')?.message).toMatch(/\(not applied since the file changed/);
      expect(m618.find((m) => m.code === 'kernel-default' && m.key === 'net.core.somaxconn')?.message).toMatch(/own default/);
      // 5.10 24 GB still has 5.10's default 212992: the file was never applied.
      const m510 = lint('5.10-24g');
      expect(m510.find((m) => m.code === 'drift' && m.key === 'net.core.rmem_max')?.message).toMatch(/this kernel's default, so the line was most likely never applied/);
      expect(m510.some((m) => m.code === 'kernel-default' && m.key === 'net.core.somaxconn')).toBe(true); // 4096 since 5.4
      // On 4.19 somaxconn 4096 is a real change, not the default.
      expect(lint('4.19-24g').some((m) => m.code === 'kernel-default' && m.key === 'net.core.somaxconn')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('catalog lists the newest default and marks versioned and computed ones', () => {
    const r = nettune('catalog', '--search', 'rmem_max');
    expect(r.stdout).toMatch(/net\.core\.rmem_max\s.*4194304 \(since 6\.18\)/);
    const j = JSON.parse(nettune('catalog', '--json').stdout) as { entries: { key: string; default_history: { since?: string; value?: string }[] | null }[] };
    expect(j.entries.find((e) => e.key === 'net.core.somaxconn')?.default_history).toEqual([
      expect.objectContaining({ value: '128' }),
      expect.objectContaining({ since: '5.4', value: '4096' }),
    ]);
  });
});

describe('get and explain in a namespace, unreadable keys, globs and slashes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nettune-h5-get-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A child-namespace Snapshot: global knobs are absent from its /proc/sys.
  const child = snapshotFixture();
  child.netns = { name: 'h5ns', inode: 4026532999, init: false };
  for (const k of Object.keys(child.sysctl)) if (k.startsWith('net.core.') && k !== 'net.core.somaxconn') delete child.sysctl[k];
  delete child.sysctl['net.ipv4.tcp_mem'];
  const childFile = join(dir, 'child.json');
  writeFileSync(childFile, JSON.stringify(child));

  it('a global knob asked in a namespace says it is global, not "unknown key; did you mean itself"', () => {
    const r = nettune('get', 'net.core.rmem_max', '--snapshot', childFile);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/net\.core\.rmem_max is global \(init namespace only\)/);
    expect(r.stderr).not.toMatch(/did you mean/);
  });

  it('show and explain in a namespace say "global (init namespace only)" instead of "?"', () => {
    const s = nettune('show', '--snapshot', childFile).stdout;
    expect(s).toMatch(/core rmem\/wmem_max\s+global \(init namespace only\) \/ global \(init namespace only\)/);
    expect(s).toMatch(/tcp_mem low\/pres\/high\s+global \(init namespace only\)/);
    expect(s).toMatch(/netdev_max_backlog global \(init namespace only\)/);
    const x = nettune('explain', 'net.core.rmem_max', '--snapshot', childFile).stdout;
    expect(x).toMatch(/current\s+global \(init namespace only\)/);
  });

  it('an unreadable key says why (EIO), exit 3', () => {
    const r = nettune('get', 'net.ipv6.conf.all.stable_secret', '--snapshot', join(FIXTURES, 'snapshot-6.18.json'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/exists but could not be read: EIO/);
  });

  it('globs inside a segment and /-separated keys work', () => {
    const g = nettune('get', 'net.ipv4.tcp_*mem', '--snapshot', join(FIXTURES, 'snapshot-6.18.json'), '--json');
    expect(Object.keys(JSON.parse(g.stdout) as object)).toEqual(['net.ipv4.tcp_mem', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']);
    const all = JSON.parse(nettune('get', 'net.ipv4.tcp_*', '--snapshot', join(FIXTURES, 'snapshot-6.18.json'), '--json').stdout) as object;
    expect(Object.keys(all).length).toBeGreaterThan(50);
    expect(Object.keys(all).every((k) => k.startsWith('net.ipv4.tcp_'))).toBe(true);
    const s = nettune('get', 'net/ipv4/tcp_rmem', '--snapshot', join(FIXTURES, 'snapshot-6.18.json'));
    expect(s.stdout.trim()).toBe('net.ipv4.tcp_rmem = 4096 131072 33554432');
    const none = nettune('get', 'net.ipv4.tcp_zz*', '--snapshot', join(FIXTURES, 'snapshot-6.18.json'));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no key matches/);
  });
});
