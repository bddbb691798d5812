#!/usr/bin/env node
// Builds the committed per-kernel, per-memory Snapshots in test/fixtures/snapshots/ from the one
// real capture (test/fixtures/snapshot-6.18.json, a 24 GB 6.18 VM): kernel release, memory and the
// sysctl values that kernel really boots with on that much memory, so `explain`, `show`, `audit`
// and `lint` can be tested on 4.19, 5.10 and 6.18 with 2 GB and 24 GB.
//
//   node scripts/make-kernel-snapshots.mjs        # rewrites test/fixtures/snapshots/*.json
//
// The boot-time values are computed here with the kernel's own formulas, written independently of
// src/catalog/defaults.ts (which the tests check against these files):
//   tcp_mem  = net/ipv4/tcp.c tcp_init_mem(): p = max(128, nr_free_buffer_pages / 16), [p/4*3, p, 2*(p/4*3)]
//   udp_mem  = net/ipv4/udp.c udp_init(): the same with / 8
//   tcp_[rw]mem[2] = tcp_init(): max(initial, min(cap, nr_free_buffer_pages << (PAGE_SHIFT - 7)))
//   fs.file-max = fs/file_table.c files_maxfiles_init(): (pages - 1.5 × used at boot) × 4 / 10
//   nf_conntrack_buckets/max = nf_conntrack_core.c nf_conntrack_init_start(), before and after
//     commit d532bcd0b269 (5.15); nf_conntrack_expect_max = 4 × max(1, buckets / 256)
//   tcp_max_orphans / tcp_max_tw_buckets = ehash / 2, tcp_max_syn_backlog = max(128, ehash / 256)
//     before 5.4, / 128 since ("tcp: increase tcp_max_syn_backlog max value"); the ehash size is
//     alloc_large_system_hash("TCP established", …, scale 17): one bucket per 128 KiB, power of 2.
// Literal defaults by version (sources in src/catalog/data/defaults.ts): rmem_max/wmem_max 212992
// before 6.18 (a6d4f25888b8), somaxconn 128 before 5.4 (19f92a030ca6), tcp_rmem[1] 87380 before
// 4.20 (a337531b942b), tcp_rmem[2] cap 6 MiB before 6.16, tcp_limit_output_bytes 262144 before 5.0
// and 1048576 before 6.16, optmem_max 20480 before 6.8 (4944566706b2), tcp_challenge_ack_limit
// 1000 before 6.0 (79e3602caa6f), tcp_fastopen_blackhole_timeout_sec 3600 before 5.14
// (213ad73d0607), ipv6 route.max_size 4096 before 6.3 (af6d10345ca7), nf_conntrack_udp_timeout_stream 180
// before 5.0 (the catalog's date for it); tcp_ehash_entries and
// tcp_child_ehash_entries exist only since 6.1 ("tcp: Introduce optional per-netns ehash").
//
// Assumed for the boot: nr_free_buffer_pages = 99.5 % of MemTotal and 0.1 % of memory in use when
// files_maxfiles_init runs (both measured on the 24 GB capture: 384602 × 16 / MemTotal pages and
// 2466165 vs MemTotal / 10 KiB). Each snapshot also has a few knobs set away from the default, as
// an administrator would (TUNED below), so the tests see "differs from default" too.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const base = JSON.parse(readFileSync(join(root, 'test/fixtures/snapshot-6.18.json'), 'utf8'));
const outDir = join(root, 'test/fixtures/snapshots');
mkdirSync(outDir, { recursive: true });

const PAGE = 4096;
const GiB = 2 ** 30;
/** MemTotal as such VMs report it (a little below the configured size). */
const MEMORY = { '2g': 2_012_344_320, '24g': 25_276_063_744 };
const KERNELS = {
  '4.19': { release: '4.19.0-27-amd64', version: '#1 SMP Debian 4.19.316-1 (2024-06-25)' },
  '5.10': { release: '5.10.0-30-amd64', version: '#1 SMP Debian 5.10.218-1 (2024-06-01)' },
  '6.18': { release: '6.18.44-fc-v782', version: '#1 SMP PREEMPT_DYNAMIC @0' },
};
/** Knobs an administrator changed on each host (the tests expect "differs from default"). */
const TUNED = {
  '4.19-2g': { 'net.core.somaxconn': '4096' },
  '4.19-24g': { 'net.ipv4.tcp_rmem': '4096 87380 16777216' },
  '5.10-2g': { 'net.core.rmem_max': '4194304' }, // the example: 4 MB on 5.10 is not the default
  '5.10-24g': { 'net.netfilter.nf_conntrack_max': '524288' },
  '6.18-2g': { 'net.ipv4.tcp_mem': '287898 383866 575796' }, // a 24 GB host's tcp_mem copied to a 2 GB one
  '6.18-24g': { 'net.core.rmem_max': '212992' }, // pinned to the pre-6.18 value by an old sysctl.d file
};

const lt = (v, w) => {
  const [a, b] = v.split('.').map(Number);
  const [c, d] = w.split('.').map(Number);
  return a < c || (a === c && b < d);
};
const memTriple = (pages, div) => {
  const p = Math.max(128, Math.floor(pages / div));
  const l = Math.floor(p / 4) * 3;
  return `${l} ${p} ${l * 2}`;
};
const pow2ceil = (n) => 2 ** Math.ceil(Math.log2(n));

function build(kver, mem) {
  const s = JSON.parse(JSON.stringify(base));
  const k = KERNELS[kver];
  const total = MEMORY[mem];
  const pages = Math.floor(total / PAGE);
  const free = Math.floor(pages * 0.995);
  s.kernel = { ...s.kernel, release: k.release, version: k.version };
  s.memory = { total_bytes: total, available_bytes: Math.floor(total * 0.95), page_size: PAGE };
  s.hostname = `k${kver.replace('.', '')}-${mem}`;
  const sc = s.sysctl;
  sc['net.ipv4.tcp_mem'] = memTriple(free, 16);
  sc['net.ipv4.udp_mem'] = memTriple(free, 8);
  const limit = Math.floor((free * PAGE) / 128);
  const rInit = lt(kver, '4.20') ? 87380 : 131072;
  const rCap = lt(kver, '6.16') ? 6291456 : 33554432;
  sc['net.ipv4.tcp_rmem'] = `${PAGE} ${rInit} ${Math.max(rInit, Math.min(rCap, limit))}`;
  sc['net.ipv4.tcp_wmem'] = `${PAGE} 16384 ${Math.max(65536, Math.min(4194304, limit))}`;
  const used = Math.floor(pages * 0.001);
  const fileMax = Math.max(8192, Math.floor(((pages - Math.floor(used * 1.5)) * (PAGE / 1024)) / 10));
  sc['fs.file-max'] = String(fileMax);
  sc['fs.file-nr'] = `169 0 ${fileMax}`;
  // conntrack
  const gibPages = GiB / PAGE;
  const old = lt(kver, '5.15');
  let buckets = Math.floor((pages * PAGE) / 16384 / 8);
  if (pages > 4 * gibPages) buckets = old ? 65536 : 262144;
  else if (pages > gibPages) buckets = old ? 16384 : 65536;
  buckets = Math.max(buckets, old ? 32 : 1024);
  const ctMax = (old ? 4 : 1) * buckets;
  sc['net.netfilter.nf_conntrack_buckets'] = String(buckets);
  sc['net.netfilter.nf_conntrack_max'] = String(ctMax);
  sc['net.nf_conntrack_max'] = String(ctMax);
  sc['net.netfilter.nf_conntrack_expect_max'] = String(4 * Math.max(1, Math.floor(buckets / 256)));
  // TCP established hash: one bucket per 128 KiB of memory, power of two, at most 512 Ki.
  const ehash = Math.min(524288, pow2ceil(Math.ceil((pages * PAGE) / 131072)));
  sc['net.ipv4.tcp_max_orphans'] = String(ehash / 2);
  sc['net.ipv4.tcp_max_tw_buckets'] = String(ehash / 2);
  sc['net.ipv4.tcp_max_syn_backlog'] = String(Math.max(128, ehash / (lt(kver, '5.4') ? 256 : 128)));
  if (lt(kver, '6.1')) {
    delete sc['net.ipv4.tcp_ehash_entries'];
    delete sc['net.ipv4.tcp_child_ehash_entries'];
  } else sc['net.ipv4.tcp_ehash_entries'] = String(ehash);
  // literal defaults by version
  const literal = {
    'net.core.rmem_max': lt(kver, '6.18') ? '212992' : '4194304',
    'net.core.wmem_max': lt(kver, '6.18') ? '212992' : '4194304',
    'net.core.somaxconn': lt(kver, '5.4') ? '128' : '4096',
    'net.core.optmem_max': lt(kver, '6.8') ? '20480' : '131072',
    'net.ipv4.tcp_limit_output_bytes': lt(kver, '5.0') ? '262144' : lt(kver, '6.16') ? '1048576' : '4194304',
    'net.ipv4.tcp_challenge_ack_limit': lt(kver, '6.0') ? '1000' : '2147483647',
    'net.ipv4.tcp_fastopen_blackhole_timeout_sec': lt(kver, '5.14') ? '3600' : '0',
    'net.ipv6.route.max_size': lt(kver, '6.3') ? '4096' : '2147483647',
    'net.netfilter.nf_conntrack_udp_timeout_stream': lt(kver, '5.0') ? '180' : '120',
  };
  for (const [key, v] of Object.entries(literal)) if (key in sc) sc[key] = v;
  Object.assign(sc, TUNED[`${kver}-${mem}`] ?? {});
  if (s.conntrack) {
    s.conntrack.max = Number(sc['net.netfilter.nf_conntrack_max']);
    s.conntrack.buckets = buckets;
  }
  return s;
}

for (const kver of Object.keys(KERNELS))
  for (const mem of Object.keys(MEMORY)) {
    const file = join(outDir, `linux-${kver}-${mem}.json`);
    writeFileSync(file, `${JSON.stringify(build(kver, mem), null, 1)}\n`);
    console.log(`wrote ${file}`);
  }
