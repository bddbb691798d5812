// The kernel default as a function of the Snapshot (src/catalog/defaults.ts + data/defaults.ts):
// version spans, stable backports, memory formulas, hash-size formulas, and the data's agreement
// with the catalog entries' own default/changes fields.
import { describe, expect, it } from 'vitest';
import { DEFAULT_HISTORY } from '../../src/catalog/data/defaults.js';
import { describeDefault, differsFromDefault, isKernelDefault, kernelDefault, parseKernelVersion } from '../../src/catalog/defaults.js';
import { catalog, findEntry, normaliseKey } from '../../src/catalog/index.js';
import type { Snapshot } from '../../src/snapshot/index.js';
import { snapshotFixture } from '../helpers.js';

const GiB = 2 ** 30;

/** The 6.18 fixture as if taken on another kernel / memory size (values untouched). */
function host(release: string, memBytes = 25276063744, version = '#1 SMP'): Snapshot {
  const s = snapshotFixture();
  s.kernel.release = release;
  s.kernel.version = version;
  s.memory.total_bytes = memBytes;
  return s;
}
const def = (key: string, s: Snapshot): string => describeDefault(kernelDefault(key, s) ?? (null as never));

describe('kernel versions', () => {
  it('parses releases as distributions print them', () => {
    expect(parseKernelVersion('6.18.44-fc-v782')).toEqual([6, 18, 44]);
    expect(parseKernelVersion('5.10.0-23-amd64')).toEqual([5, 10, 0]);
    expect(parseKernelVersion('4.19')).toEqual([4, 19, 0]);
    expect(parseKernelVersion('unknown')).toBeNull();
  });

  it('literal defaults follow the version spans (rmem_max 6.18, somaxconn 5.4)', () => {
    expect(def('net.core.rmem_max', host('6.18.44'))).toBe('4194304');
    expect(def('net.core.rmem_max', host('6.17.1'))).toBe('212992');
    expect(def('net.core.rmem_max', host('5.10.0-23-amd64'))).toBe('212992');
    expect(def('net.core.somaxconn', host('5.4.0'))).toBe('4096');
    expect(def('net.core.somaxconn', host('4.19.0-27-amd64'))).toBe('128');
    expect(def('net.ipv4.tcp_limit_output_bytes', host('4.19.0'))).toBe('262144');
    expect(def('net.ipv4.tcp_limit_output_bytes', host('5.10.0'))).toBe('1048576');
    expect(def('net.ipv4.tcp_limit_output_bytes', host('6.16.0'))).toBe('4194304');
  });

  it('the issue case: 5.10 on 2 GB marks rmem_max = 4194304 as changed, 212992 as default', () => {
    const s = host('5.10.0-23-amd64', 2 * GiB);
    expect(differsFromDefault('net.core.rmem_max', s, '4194304')).toBe(true);
    expect(differsFromDefault('net.core.rmem_max', s, '212992')).toBe(false);
  });

  it('a stable backport with a named sublevel decides by the sublevel, from the release or the version string', () => {
    expect(def('net.ipv6.route.max_size', host('6.1.72'))).toBe('4096');
    expect(def('net.ipv6.route.max_size', host('6.1.73'))).toBe('2147483647');
    expect(def('net.ipv6.route.max_size', host('6.1.0-18-amd64', GiB, '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)'))).toBe('2147483647');
    expect(def('net.ipv6.route.max_size', host('5.10.0-23-amd64'))).toBe('4096'); // no backport named for 5.10
    // Sublevel unknown in a series that has a backport: both values are the default.
    expect(kernelDefault('net.ipv6.route.max_size', host('6.1.0-18-amd64'))?.choices).toEqual(['4096', '2147483647']);
  });

  it('a stable backport without a sublevel accepts both values on older series', () => {
    const s = host('5.10.0-23-amd64');
    expect(kernelDefault('net.ipv4.tcp_challenge_ack_limit', s)?.status).toBe('choices');
    expect(differsFromDefault('net.ipv4.tcp_challenge_ack_limit', s, '1000')).toBe(false);
    expect(differsFromDefault('net.ipv4.tcp_challenge_ack_limit', s, '2147483647')).toBe(false);
    expect(differsFromDefault('net.ipv4.tcp_challenge_ack_limit', s, '100')).toBe(true);
    expect(def('net.ipv4.tcp_challenge_ack_limit', host('6.0.0'))).toBe('2147483647');
  });

  it('an unparsable release falls back to the newest kernel and says so', () => {
    const d = kernelDefault('net.core.rmem_max', host('unknown'));
    expect(d?.value).toBe('4194304');
    expect(d?.how).toMatch(/kernel version unknown/);
  });
});

describe('formulas from memory', () => {
  it('tcp_mem/udp_mem: the kernel shape within the memory bounds is default, anything else differs', () => {
    const s = snapshotFixture(); // 24 GB, tcp_mem 287898 383866 575796 as the kernel computed it
    expect(differsFromDefault('net.ipv4.tcp_mem', s)).toBe(false);
    expect(differsFromDefault('net.ipv4.udp_mem', s)).toBe(false);
    expect(differsFromDefault('net.ipv4.tcp_mem', s, '287898 383866 575797')).toBe(true); // wrong shape
    expect(differsFromDefault('net.ipv4.tcp_mem', s, '786432 1048576 1572864')).toBe(true); // hand-set
    // The same value on a 2 GB host is far above what that host computes.
    expect(differsFromDefault('net.ipv4.tcp_mem', host('6.18.44', 2 * GiB))).toBe(true);
    expect(kernelDefault('net.ipv4.tcp_mem', s)?.status).toBe('estimate');
  });

  it('tcp_rmem/tcp_wmem max: capped by version, limited by memory on small hosts', () => {
    expect(def('net.ipv4.tcp_rmem', host('6.18.44'))).toBe('4096 131072 33554432');
    expect(def('net.ipv4.tcp_rmem', host('6.15.0'))).toBe('4096 131072 6291456');
    expect(def('net.ipv4.tcp_rmem', host('4.19.0'))).toBe('4096 87380 6291456');
    expect(def('net.ipv4.tcp_wmem', host('4.19.0'))).toBe('4096 16384 4194304');
    // 6.18 on 2 GB: 1/128 of ~2 GB free buffer memory is below the 32 MiB cap.
    const small = kernelDefault('net.ipv4.tcp_rmem', host('6.18.44', 2 * GiB));
    expect(small?.status).toBe('estimate');
    expect(small?.bounds?.[2]?.max).toBe(16777216);
    // A 256 MB host: tcp_wmem max falls below 4 MiB.
    const tiny = kernelDefault('net.ipv4.tcp_wmem', host('6.18.44', 256 * 2 ** 20));
    expect(tiny?.bounds?.[2]?.max).toBe(2097152);
  });

  it('fs.file-max is about a tenth of memory in KiB', () => {
    const s = snapshotFixture();
    expect(differsFromDefault('fs.file-max', s)).toBe(false); // 2466165 on 24 GB
    expect(differsFromDefault('fs.file-max', s, '9223372036854775807')).toBe(true); // systemd's LONG_MAX
    expect(differsFromDefault('fs.file-max', host('6.18.44', 2 * GiB))).toBe(true);
  });

  it('conntrack buckets/max: memory tiers and the 5.15 change', () => {
    expect(def('net.netfilter.nf_conntrack_buckets', host('6.18.44'))).toBe('262144');
    expect(def('net.netfilter.nf_conntrack_max', host('6.18.44'))).toBe('262144');
    expect(def('net.netfilter.nf_conntrack_buckets', host('6.18.44', 2 * GiB))).toBe('65536');
    expect(def('net.netfilter.nf_conntrack_max', host('6.18.44', 2 * GiB))).toBe('65536');
    expect(def('net.netfilter.nf_conntrack_buckets', host('5.10.0', 2 * GiB))).toBe('16384');
    expect(def('net.netfilter.nf_conntrack_max', host('5.10.0', 2 * GiB))).toBe('65536');
    expect(def('net.netfilter.nf_conntrack_buckets', host('4.19.0', 24 * GiB))).toBe('65536');
    expect(def('net.netfilter.nf_conntrack_max', host('4.19.0', 24 * GiB))).toBe('262144');
    expect(def('net.netfilter.nf_conntrack_expect_max', host('5.10.0', 2 * GiB))).toBe('256');
    // A "4 GB" VM has MemTotal just under 4 GiB: the 1 GiB tier.
    expect(def('net.netfilter.nf_conntrack_buckets', host('6.18.44', 4 * GiB - 200 * 2 ** 20))).toBe('65536');
    // Below 1 GiB: 1/16384 of memory in 8-byte heads, rounded up to whole pages.
    expect(def('net.netfilter.nf_conntrack_buckets', host('6.18.44', 512 * 2 ** 20))).toMatch(/^(3584|4096)$|^≈ 4096$/);
  });
});

describe('formulas from the TCP established-hash size', () => {
  it('uses net.ipv4.tcp_ehash_entries when the Snapshot has it (6.1+)', () => {
    const s = snapshotFixture();
    expect(def('net.ipv4.tcp_max_orphans', s)).toBe('131072');
    expect(def('net.ipv4.tcp_max_tw_buckets', s)).toBe('131072');
    expect(def('net.ipv4.tcp_max_syn_backlog', s)).toBe('2048');
    s.sysctl['net.ipv4.tcp_ehash_entries'] = '16384';
    expect(def('net.ipv4.tcp_max_syn_backlog', s)).toBe('128');
  });

  it('a child namespace sharing the global table reads it negative; with its own table orphans are unknown', () => {
    const s = snapshotFixture();
    s.netns = { name: 'x', inode: 1, init: false };
    s.sysctl['net.ipv4.tcp_ehash_entries'] = '-262144';
    expect(def('net.ipv4.tcp_max_tw_buckets', s)).toBe('131072');
    s.sysctl['net.ipv4.tcp_ehash_entries'] = '1024';
    expect(def('net.ipv4.tcp_max_tw_buckets', s)).toBe('512');
    expect(kernelDefault('net.ipv4.tcp_max_orphans', s)?.status).toBe('unknown');
  });

  it('without the hash size (before 6.1) says what the default depends on instead of guessing', () => {
    const s = host('5.10.0');
    delete s.sysctl['net.ipv4.tcp_ehash_entries'];
    const d = kernelDefault('net.ipv4.tcp_max_syn_backlog', s);
    expect(d?.status).toBe('unknown');
    expect(d?.how).toMatch(/established-hash size.*6\.1/);
    expect(differsFromDefault('net.ipv4.tcp_max_syn_backlog', s)).toBeNull();
  });
});

describe('build options and per-key exceptions', () => {
  it('netdev_budget_usecs is two jiffies: any CONFIG_HZ value is the default', () => {
    const s = snapshotFixture();
    for (const v of ['8000', '2000', '6666', '20000']) expect(differsFromDefault('net.core.netdev_budget_usecs', s, v)).toBe(false);
    expect(differsFromDefault('net.core.netdev_budget_usecs', s, '4000')).toBe(true);
  });

  it('conf.all.accept_source_route is 0 while the pattern entry says 1; loopback use_tempaddr is -1', () => {
    const s = snapshotFixture();
    expect(def('net.ipv4.conf.all.accept_source_route', s)).toBe('0');
    expect(def('net.ipv4.conf.default.accept_source_route', s)).toBe('1');
    expect(differsFromDefault('net.ipv6.conf.lo.use_tempaddr', s)).toBe(false);
  });

  it('a computed default without a formula is unknown, not a guess', () => {
    const d = kernelDefault('net.ipv4.tcp_congestion_control', snapshotFixture());
    expect(d?.status).toBe('unknown');
    expect(isKernelDefault(d ?? (null as never), 'cubic')).toBeNull();
  });
});

describe('the indexed catalog lookup', () => {
  it('answers as findEntry does for every key of the fixture and every catalog key', async () => {
    const { findEntry: indexed, findEntryReference } = await import('../../src/catalog/defaults.js');
    for (const k of [...Object.keys(snapshotFixture().sysctl), ...catalog().map((e) => e.key)]) expect(indexed(k)?.key, k).toBe(findEntryReference(k)?.key);
  });
});

describe('keys as sysctl(8) spells them', () => {
  it("the slash form swaps '.' and '/' (a dotted interface name), as sysctl does", () => {
    expect(normaliseKey('net/ipv4/conf/eth0.100/rp_filter')).toBe('net.ipv4.conf.eth0/100.rp_filter');
    expect(normaliseKey('net.ipv4.conf.eth0/100.rp_filter')).toBe('net.ipv4.conf.eth0/100.rp_filter');
    expect(normaliseKey('net/core/rmem_max')).toBe('net.core.rmem_max');
  });
});

describe('the data agrees with the catalog entries', () => {
  const entries = catalog();

  it('every key in the history is in the catalog, and every span cites a source', () => {
    for (const [key, spans] of Object.entries(DEFAULT_HISTORY)) {
      expect(findEntry(key), key).toBeDefined();
      for (const s of spans) {
        expect(s.source.length, key).toBeGreaterThan(5);
        expect(s.value !== undefined || s.formula !== undefined, `${key}: value or formula`).toBe(true);
      }
    }
  });

  it("an entry's default is its newest span: a literal equals it, a formula means null", () => {
    for (const e of entries) {
      const spans = DEFAULT_HISTORY[e.key];
      if (!spans) continue;
      const last = spans[spans.length - 1];
      if (last?.value !== undefined && !last.formula) expect(e.default, e.key).toBe(last.value);
      else expect(e.default, e.key).toBeNull();
    }
  });

  it('every literal from/to in `changes` matches the spans around that version', () => {
    for (const e of entries) {
      const spans = DEFAULT_HISTORY[e.key];
      for (const c of e.changes ?? []) {
        if (!c.to || !/^-?\d+$/.test(c.to) || !/^-?\d+$/.test(c.from ?? '')) continue;
        if (!spans) continue; // field-level changes (tcp_rmem) are checked by the formula tests
        const at = spans.find((s) => s.since === c.version);
        if (spans.every((s) => s.formula)) continue;
        expect(at?.value, `${e.key} ${c.version}`).toBe(c.to);
        const before = spans[spans.indexOf(at ?? (null as never)) - 1];
        expect(before?.value, `${e.key} before ${c.version}`).toBe(c.from);
      }
    }
  });

  it('no catalog text quotes the build machine (this VM, 24 GB, its numbers)', () => {
    const hostNumbers = /\b(287898|383866|575796|575799|767732|1151598|2466165|67584)\b/;
    for (const e of entries) {
      const text = [e.default_note ?? '', e.summary, e.tradeoff, ...(e.changes ?? []).map((c) => c.note)].join(' ');
      expect(text, e.key).not.toMatch(/this (VM|machine)\b|this 24 GB|24 GB (VM|machine|host)|this 6\.18|this fresh|on this host|this host (shows|has)/i);
      expect(text, e.key).not.toMatch(hostNumbers);
    }
  });
});
