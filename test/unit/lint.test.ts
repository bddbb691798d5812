// lint: the sysctl.d parser, file order and masking, which assignment wins, and every check, on
// hand-made inputs and on the corpus in test/fixtures/sysctl.d (a root with etc/, run/, usr/lib/ …).
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyse, collectFiles, lint, type LintMessage, type LintResult, systemSources } from '../../src/lint/index.js';
import { canonicalKey, globMatches, parseSysctlConf } from '../../src/lint/parse.js';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { FIXTURES, snapshotFixture } from '../helpers.js';

const CORPUS = join(FIXTURES, 'sysctl.d');
const ETC = join(CORPUS, 'etc', 'sysctl.d');
const at = (dir: string, name: string): string => join(CORPUS, dir, name);

/** Lints in-memory files (name → text) in the given order against the fixture Snapshot. */
function lintTexts(files: Record<string, string>, mutate?: (s: Snapshot) => void) {
  const snap = snapshotFixture();
  mutate?.(snap);
  return analyse(
    Object.entries(files).map(([name, text]) => parseSysctlConf(text, name)),
    { snap },
  );
}

const find = (ms: readonly LintMessage[], file: string, line: number | null, code?: string): LintMessage[] =>
  ms.filter((m) => m.file === file && m.line === line && (!code || m.code === code));

describe('parseSysctlConf', () => {
  it('reads key = value with whitespace trimmed and the value kept as written', () => {
    const p = parseSysctlConf('net.core.somaxconn=4096\n  net.ipv4.tcp_rmem  =  4096\t87380   6291456  \n', 'a.conf');
    expect(p.problems).toEqual([]);
    expect(p.assignments).toEqual([
      { file: 'a.conf', line: 1, key: 'net.core.somaxconn', raw_key: 'net.core.somaxconn', value: '4096', ignore_failure: false, glob: false },
      { file: 'a.conf', line: 2, key: 'net.ipv4.tcp_rmem', raw_key: 'net.ipv4.tcp_rmem', value: '4096\t87380   6291456', ignore_failure: false, glob: false },
    ]);
  });

  it("skips '#' and ';' comments (also indented) and blank lines, but only at line start", () => {
    const p = parseSysctlConf('# a\n; b\n   # c\n\t; d\n\n   \nnet.core.somaxconn = 1024 # not a comment\nkernel.x = a;b\n', 'c.conf');
    expect(p.problems).toEqual([]);
    expect(p.assignments.map((a) => [a.line, a.key, a.value])).toEqual([
      [7, 'net.core.somaxconn', '1024 # not a comment'],
      [8, 'kernel.x', 'a;b'],
    ]);
  });

  it("a leading '-' ignores failures; '-key' alone is a glob exclusion", () => {
    const p = parseSysctlConf('-net.core.default_qdisc = fq_codel\n- net.ipv4.tcp_sack = 1\n-net.ipv4.conf.all.rp_filter\n', 'd.conf');
    expect(p.assignments.map((a) => [a.key, a.ignore_failure])).toEqual([
      ['net.core.default_qdisc', true],
      ['net.ipv4.tcp_sack', true],
    ]);
    expect(p.exclusions).toEqual([{ file: 'd.conf', line: 3, key: 'net.ipv4.conf.all.rp_filter', raw_key: 'net.ipv4.conf.all.rp_filter', glob: false }]);
  });

  it("'/' as the first separator swaps '/' and '.' (sysctl.d(5))", () => {
    expect(canonicalKey('net/ipv4/tcp_rmem')).toBe('net.ipv4.tcp_rmem');
    expect(canonicalKey('net/ipv4/conf/enp3s0.200/forwarding')).toBe('net.ipv4.conf.enp3s0/200.forwarding');
    expect(canonicalKey('net.ipv4.conf.enp3s0/200.forwarding')).toBe('net.ipv4.conf.enp3s0/200.forwarding');
    const p = parseSysctlConf('net/core/somaxconn = 1\n', 'e.conf');
    expect(p.assignments[0]).toMatchObject({ key: 'net.core.somaxconn', raw_key: 'net/core/somaxconn' });
  });

  it('marks glob keys and matches them one segment at a time', () => {
    const p = parseSysctlConf('net.ipv4.conf.*.rp_filter = 1\nnet.ipv4.conf.ifb?.rp_filter = 0\nnet.ipv4.conf.eth[01].rp_filter = 2\n', 'g.conf');
    expect(p.assignments.map((a) => a.glob)).toEqual([true, true, true]);
    expect(globMatches('net.ipv4.conf.*.rp_filter', 'net.ipv4.conf.eth0.rp_filter')).toBe(true);
    expect(globMatches('net.ipv4.conf.*.rp_filter', 'net.ipv4.conf.eth0/100.rp_filter')).toBe(true);
    expect(globMatches('net.ipv4.*', 'net.ipv4.conf.eth0.rp_filter')).toBe(false); // '*' does not cross '.'
    expect(globMatches('net.ipv4.conf.ifb?.rp_filter', 'net.ipv4.conf.ifb1.rp_filter')).toBe(true);
    expect(globMatches('net.ipv4.conf.eth[01].rp_filter', 'net.ipv4.conf.eth2.rp_filter')).toBe(false);
    expect(globMatches('net.ipv4.conf.eth[!0].rp_filter', 'net.ipv4.conf.eth1.rp_filter')).toBe(true);
  });

  it("reports a line without '=' with its line number and text, and carries on", () => {
    const p = parseSysctlConf('net.core.somaxconn = 1\nnet.ipv4.tcp_syncookies 1\nnet.ipv4.tcp_sack = 1\n', 'p.conf');
    expect(p.problems).toEqual([{ file: 'p.conf', line: 2, message: expect.stringMatching(/no '='/) as unknown, text: 'net.ipv4.tcp_syncookies 1' }]);
    expect(p.assignments.map((a) => a.line)).toEqual([1, 3]);
  });

  it('reports malformed keys', () => {
    const p = parseSysctlConf('= 5\nnet..core = 1\nnet.core. somaxconn = 1\n.net.core.x = 1\n--net.x = 1\n', 'k.conf');
    expect(p.problems.map((x) => x.line)).toEqual([1, 2, 3, 4, 5]);
    expect(p.assignments).toEqual([]);
  });

  it('tolerates CRLF, a BOM, a missing final newline and empty files', () => {
    const p = parseSysctlConf('\uFEFF# x\r\nnet.core.somaxconn = 1024\r\n\r\nnet.ipv4.tcp_sack=1', 'w.conf');
    expect(p.problems).toEqual([]);
    expect(p.assignments.map((a) => [a.line, a.key, a.value])).toEqual([
      [2, 'net.core.somaxconn', '1024'],
      [4, 'net.ipv4.tcp_sack', '1'],
    ]);
    expect(parseSysctlConf('', 'empty.conf')).toEqual({ file: 'empty.conf', assignments: [], exclusions: [], problems: [] });
  });

  it('keeps quotes and empty values as written (neither tool strips quotes)', () => {
    const p = parseSysctlConf('net.ipv4.tcp_rmem = "4096 87380 16777216"\nnet.core.default_qdisc =\n', 'q.conf');
    expect(p.assignments.map((a) => a.value)).toEqual(['"4096 87380 16777216"', '']);
  });
});

describe('file order and masking', () => {
  const tmp = (): string => mkdtempSync(join(tmpdir(), 'nettune-lint-'));
  const write = (path: string, text = 'net.core.somaxconn = 4096\n'): void => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  };

  it('orders by file name across directories; an earlier directory masks the same name', () => {
    const root = tmp();
    const [a, b, c] = ['a', 'b', 'c'].map((d) => join(root, d)) as [string, string, string];
    write(join(a, '20-x.conf'));
    write(join(b, '10-y.conf'));
    write(join(b, '20-x.conf'));
    write(join(c, '05-z.conf'));
    write(join(c, '30-w.conf'));
    write(join(c, 'notes.txt'));
    write(join(c, '.hidden.conf'));
    mkdirSync(join(c, 'dir.conf'));
    const { files } = collectFiles({ dirs: [a, b, c], files: [] });
    const read = files.filter((f) => f.status === 'read');
    expect(read.map((f) => [f.order, f.path])).toEqual([
      [0, join(c, '05-z.conf')],
      [1, join(b, '10-y.conf')],
      [2, join(a, '20-x.conf')],
      [3, join(c, '30-w.conf')],
    ]);
    expect(files.find((f) => f.path === join(b, '20-x.conf'))).toMatchObject({ status: 'masked', masked_by: join(a, '20-x.conf'), order: null });
    expect(files).toHaveLength(5);
  });

  it('a symlink to /dev/null disables a name; a directory seen twice by real path is skipped', () => {
    const root = tmp();
    write(join(root, 'usr', '50-v.conf'));
    mkdirSync(join(root, 'etc'));
    symlinkSync('/dev/null', join(root, 'etc', '50-v.conf'));
    symlinkSync(join(root, 'usr'), join(root, 'lib'));
    const { files, search_path } = collectFiles({ dirs: [join(root, 'etc'), join(root, 'usr'), join(root, 'lib'), join(root, 'nope')], files: [] });
    expect(files.map((f) => [f.path, f.status, f.masked_by])).toEqual([
      [join(root, 'etc', '50-v.conf'), 'disabled', null],
      [join(root, 'usr', '50-v.conf'), 'masked', join(root, 'etc', '50-v.conf')],
    ]);
    expect(search_path.map((d) => [d.exists, d.same_as])).toEqual([
      [true, null],
      [true, null],
      [true, join(root, 'usr')],
      [false, null],
    ]);
  });

  it('/etc/sysctl.conf comes last and a symlink to it (99-sysctl.conf) is not read twice', () => {
    const root = tmp();
    write(join(root, 'etc', 'sysctl.conf'));
    write(join(root, 'usr', 'lib', 'sysctl.d', '99-z.conf'));
    write(join(root, 'etc', 'sysctl.d', '10-a.conf'));
    symlinkSync('../sysctl.conf', join(root, 'etc', 'sysctl.d', '99-sysctl.conf'));
    const { files } = collectFiles(systemSources(root));
    expect(files.map((f) => [f.path.slice(root.length), f.status, f.order])).toEqual([
      ['/etc/sysctl.d/10-a.conf', 'read', 0],
      ['/etc/sysctl.d/99-sysctl.conf', 'duplicate', null],
      ['/usr/lib/sysctl.d/99-z.conf', 'read', 1],
      ['/etc/sysctl.conf', 'read', 2],
    ]);
    expect(files[1]?.same_as).toBe(join(root, 'etc', 'sysctl.conf'));
  });

  it('without /etc/sysctl.conf the default search path still works; named files follow the directories', () => {
    const root = tmp();
    write(join(root, 'run', 'sysctl.d', '50-r.conf'));
    expect(collectFiles(systemSources(root)).files.map((f) => f.name)).toEqual(['50-r.conf']);
    write(join(root, 'one.conf'));
    write(join(root, 'two.conf'));
    const order = collectFiles({ dirs: [join(root, 'run', 'sysctl.d')], files: [join(root, 'two.conf'), join(root, 'one.conf')] }).files;
    expect(order.map((f) => f.name)).toEqual(['50-r.conf', 'two.conf', 'one.conf']);
  });

  it('the corpus: the exact order, masks and the duplicate', () => {
    const { files } = collectFiles(systemSources(CORPUS));
    const rel = (p: string | null): string | null => (p === null ? null : p.slice(CORPUS.length + 1));
    expect(files.filter((f) => f.status === 'read').map((f) => rel(f.path))).toEqual([
      'lib/sysctl.d/10-console-messages.conf',
      'etc/sysctl.d/10-network-security.conf',
      'usr/lib/sysctl.d/30-conntrack.conf',
      'etc/sysctl.d/40-ipv6.conf',
      'run/sysctl.d/40-runtime.conf',
      'etc/sysctl.d/50-default.conf',
      'usr/lib/sysctl.d/50-pid-max.conf',
      'etc/sysctl.d/60-tuning-guide.conf',
      'usr/local/lib/sysctl.d/70-app-tuning.conf',
      'etc/sysctl.d/70-old-blog-post.conf',
      'etc/sysctl.d/80-conntrack.conf',
      'etc/sysctl.d/90-windows-edited.conf',
      'etc/sysctl.d/91-incident-fixes.conf',
      'etc/sysctl.d/92-empty.conf',
      'etc/sysctl.d/93-comments-only.conf',
      'etc/sysctl.d/95-kubernetes.conf',
      'etc/sysctl.d/97-rp-filter.conf',
      'usr/lib/sysctl.d/99-protect-links.conf',
      'etc/sysctl.conf',
    ]);
    expect(files.filter((f) => f.status !== 'read').map((f) => [rel(f.path), f.status, rel(f.masked_by ?? f.same_as)])).toEqual([
      ['etc/sysctl.d/60-libvirtd.conf', 'disabled', null],
      ['etc/sysctl.d/99-sysctl.conf', 'duplicate', 'etc/sysctl.conf'],
      ['usr/lib/sysctl.d/50-default.conf', 'masked', 'etc/sysctl.d/50-default.conf'],
      ['usr/lib/sysctl.d/60-libvirtd.conf', 'masked', 'etc/sysctl.d/60-libvirtd.conf'],
      ['lib/sysctl.d/50-pid-max.conf', 'masked', 'usr/lib/sysctl.d/50-pid-max.conf'],
    ]);
  });
});

describe('which assignment wins', () => {
  it('the last explicit assignment wins; every earlier one is reported with the winner', () => {
    const r = lintTexts({ 'a.conf': 'net.core.somaxconn = 1024\nnet.ipv4.tcp_fin_timeout = 30\n', 'b.conf': 'net.core.somaxconn = 65535\nnet.ipv4.tcp_fin_timeout = 30\n' });
    expect(r.effective['net.core.somaxconn']).toEqual({ value: '65535', file: 'b.conf', line: 1 });
    expect(find(r.messages, 'a.conf', 1, 'overridden')[0]?.message).toBe('net.core.somaxconn = 1024 is overridden by b.conf:1 (net.core.somaxconn = 65535)');
    expect(find(r.messages, 'a.conf', 2, 'duplicate')[0]?.message).toMatch(/set again to the same value at b\.conf:2/);
    expect(r.assignments.map((a) => [a.file, a.line, a.winner])).toEqual([
      ['a.conf', 1, false],
      ['a.conf', 2, false],
      ['b.conf', 1, true],
      ['b.conf', 2, true],
    ]);
  });

  it('an explicit key beats any glob whatever the order; -key keeps globs off it; the later of two globs wins', () => {
    const r = lintTexts({
      'a.conf': 'net.ipv4.conf.lo.rp_filter = 0\n',
      'b.conf': 'net.ipv4.conf.*.rp_filter = 1\n-net.ipv4.conf.eth0.rp_filter\n',
      'c.conf': 'net.ipv4.conf.ifb?.rp_filter = 2\n',
    });
    expect(r.effective['net.ipv4.conf.lo.rp_filter']).toMatchObject({ file: 'a.conf', line: 1 });
    expect(r.effective['net.ipv4.conf.eth0.rp_filter']).toBeUndefined();
    expect(r.effective['net.ipv4.conf.all.rp_filter']).toMatchObject({ value: '1', file: 'b.conf' });
    expect(r.effective['net.ipv4.conf.ifb0.rp_filter']).toMatchObject({ value: '2', file: 'c.conf' });
    const glob = r.assignments.find((a) => a.file === 'b.conf');
    expect(glob?.applies_to).toEqual(['net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.default.rp_filter']);
    const over = find(r.messages, 'b.conf', 1, 'overridden')[0]?.message ?? '';
    expect(over).toMatch(/overridden for 3 of 6 matching keys/);
    expect(over).toMatch(/net\.ipv4\.conf\.lo\.rp_filter \(a\.conf:1 = 0, an explicit key wins over any glob whatever the order\)/);
    expect(over).toMatch(/net\.ipv4\.conf\.ifb0\.rp_filter \(c\.conf:1 = 2\)/);
    expect(over).not.toMatch(/eth0/); // excluded on purpose: not reported
  });

  it('a glob expands to every matching key of the snapshot', () => {
    const r = lintTexts({ 'g.conf': 'net.ipv4.conf.*.rp_filter = 1\n' });
    expect(r.assignments[0]?.applies_to).toEqual([
      'net.ipv4.conf.all.rp_filter',
      'net.ipv4.conf.default.rp_filter',
      'net.ipv4.conf.eth0.rp_filter',
      'net.ipv4.conf.ifb0.rp_filter',
      'net.ipv4.conf.ifb1.rp_filter',
      'net.ipv4.conf.lo.rp_filter',
    ]);
    const drift = find(r.messages, 'g.conf', 1, 'drift')[0]?.message ?? '';
    expect(drift).toMatch(/not in effect for 6 keys/);
  });

  it('overriding with an invalid value says the write fails', () => {
    const r = lintTexts({ 'a.conf': 'net.ipv4.ip_local_port_range = 1024 65535\n', 'b.conf': 'net.ipv4.ip_local_port_range = 1024\n' });
    expect(find(r.messages, 'a.conf', 1, 'overridden')[0]?.message).toMatch(/invalid and its write fails/);
    expect(find(r.messages, 'b.conf', 1, 'invalid-value')).toHaveLength(1);
  });
});

describe('checks', () => {
  it('unknown keys with did-you-mean; invalid values; removed knobs; absent keys', () => {
    const r = lintTexts({
      'x.conf': [
        'net.ipv4.tcp_rmen = 4096 131072 6291456',
        'net.ipv4.tcp_keepalive_probes = 300',
        'net.ipv4.tcp_rmem = 4096 131072',
        'net.ipv4.tcp_tw_recycle = 1',
        'net.ipv4.conf.eth7.rp_filter = 1',
        'net.ipv4.tcp_rmem = "4096 131072 6291456"',
        'net.core.somaxconn = 4096 # default',
        'net.ipv4.tcp_sack = ',
      ].join('\n'),
    });
    const m = (line: number) => find(r.messages, 'x.conf', line);
    expect(m(1)[0]).toMatchObject({ severity: 'error', code: 'unknown-key', key: 'net.ipv4.tcp_rmen' });
    expect(m(1)[0]?.suggestions?.[0]).toBe('net.ipv4.tcp_rmem');
    expect(m(2)[0]).toMatchObject({ severity: 'error', code: 'invalid-value', message: 'net.ipv4.tcp_keepalive_probes: 300 is outside what proc_dou8vec_minmax accepts (0 to 255)' });
    expect(m(3)[0]).toMatchObject({ severity: 'error', code: 'invalid-value' });
    expect(m(3)[0]?.message).toMatch(/^net\.ipv4\.tcp_rmem takes 3 integers \(min default max\), got 2/);
    expect(m(4).map((x) => [x.severity, x.code])).toEqual([['error', 'removed-knob']]);
    expect(m(4)[0]?.message).toMatch(/removed in Linux 4\.12/);
    expect(m(5)[0]).toMatchObject({ severity: 'info', code: 'absent-key' });
    expect(m(5)[0]?.message).toMatch(/interface eth7 does not exist/);
    expect(m(6)[0]?.message).toMatch(/quotes are not removed/);
    expect(m(7)[0]?.message).toMatch(/no trailing comments/);
    expect(m(8)[0]).toMatchObject({ severity: 'error', code: 'invalid-value', message: "net.ipv4.tcp_sack: empty value (nothing after '=')" });
  });

  it('drift compares whitespace-normalised and numeric values', () => {
    const r = lintTexts({ 'd.conf': 'net.ipv4.tcp_rmem = 4096   131072\t33554432\nnet.ipv4.tcp_fastopen = 0x1\nnet.core.somaxconn = 1024\n' });
    expect(r.messages.filter((m) => m.code === 'drift').map((m) => [m.line, m.message])).toEqual([
      [3, "net.core.somaxconn = 1024 is not in effect: the kernel has 4096, this kernel's default, so the line was most likely never applied (sysctl --system, or a reboot, applies it)"],
    ]);
  });

  it('global knobs in a non-initial namespace', () => {
    const r = lintTexts({ 'n.conf': 'net.core.netdev_max_backlog = 5000\nnet.core.somaxconn = 8192\n' }, (s) => {
      s.netns = { name: 'ns1', inode: 4026532000, init: false };
      delete s.sysctl['net.core.netdev_max_backlog'];
    });
    expect(find(r.messages, 'n.conf', 1).map((m) => [m.severity, m.code])).toEqual([['warning', 'global-in-netns']]);
    expect(find(r.messages, 'n.conf', 1)[0]?.message).toMatch(/initial network namespace.*ns1/);
    expect(find(r.messages, 'n.conf', 2).map((m) => m.code)).toEqual(['drift']);
  });

  it('a key of a module that is not loaded, and keys outside the snapshot', () => {
    const r = lintTexts({ 'k.conf': 'net.bridge.bridge-nf-call-iptables = 1\nvm.swappiness = 10\n' }, (s) => {
      for (const k of Object.keys(s.sysctl)) if (k.startsWith('net.bridge.')) delete s.sysctl[k];
    });
    expect(find(r.messages, 'k.conf', 1)[0]).toMatchObject({ severity: 'warning', code: 'absent-key' });
    expect(find(r.messages, 'k.conf', 1)[0]?.message).toMatch(/br_netfilter/);
    expect(find(r.messages, 'k.conf', 2)[0]).toMatchObject({ severity: 'info', code: 'not-checked' });
  });

  it('asks the live host about keys outside the snapshot when it can', () => {
    const host: Record<string, string> = { 'vm.swappiness': '60', vm: '' };
    const r = analyse([parseSysctlConf('vm.swappiness = 10\nvm.swapines = 10\nsunrpc.tcp_slot_table_entries = 128\n', 'h.conf')], {
      snap: snapshotFixture(),
      hostLookup: (k) => (k in host ? { exists: true, value: host[k] === '' ? null : (host[k] ?? null) } : { exists: false, value: null }),
    });
    expect(find(r.messages, 'h.conf', 1).map((m) => [m.code, m.message])).toEqual([['drift', expect.stringContaining('the kernel has 60') as unknown]]);
    expect(find(r.messages, 'h.conf', 2)[0]).toMatchObject({ severity: 'error', code: 'unknown-key' });
    expect(find(r.messages, 'h.conf', 3)[0]).toMatchObject({ severity: 'warning', code: 'absent-key' });
  });

  it('tcp_mem in bytes by mistake is implausible', () => {
    const r = lintTexts({ 'm.conf': 'net.ipv4.tcp_mem = 16777216 16777216 16777216\n' });
    expect(find(r.messages, 'm.conf', 1, 'implausible-value')[0]?.message).toMatch(/in pages: 16777216 pages × 4096 B = 64\.0 GiB/);
    expect(find(lintTexts({ 'm.conf': 'net.ipv4.tcp_mem = 287898 383866 575796\n' }).messages, 'm.conf', 1)).toEqual([]);
  });

  it('reports rule findings the configuration would create, at the line that causes them', () => {
    const r = lintTexts({ 'ok.conf': 'net.ipv4.tcp_window_scaling = 1\n', 'sack.conf': '# SACK panic workaround\nnet.ipv4.tcp_sack=0\n' });
    const f = r.messages.filter((m) => m.code === 'rule-finding');
    expect(f).toContainEqual(expect.objectContaining({ file: 'sack.conf', line: 2, severity: 'warning', rule: 'tcp.sack-off', key: 'net.ipv4.tcp_sack' }));
    expect(f.filter((m) => m.file !== 'sack.conf')).toEqual([]); // ok.conf changes nothing
    // Findings the host already has are not the configuration's doing.
    const again = lintTexts({ 'sack.conf': 'net.ipv4.tcp_sack=0\nnet.ipv4.tcp_fin_timeout = 30\n' }, (s) => {
      s.sysctl['net.ipv4.tcp_sack'] = '0';
    });
    expect(again.messages.filter((m) => m.rule === 'tcp.sack-off')).toEqual([]);
  });
});

describe('the corpus', () => {
  let result: LintResult | null = null;
  const corpus = (): LintResult => (result ??= lint(systemSources(CORPUS), { snap: snapshotFixture() }));
  const msgs = (file: string, line: number | null, code?: string): LintMessage[] => find(corpus().messages, file, line, code);

  it('finds the errors a reviewer would', () => {
    const errors = corpus()
      .messages.filter((m) => m.severity === 'error')
      .map((m) => `${(m.file ?? '').slice(CORPUS.length + 1)}:${m.line}: ${m.code}`);
    expect(errors).toEqual([
      'etc/sysctl.d/60-tuning-guide.conf:10: invalid-value',
      'etc/sysctl.d/70-old-blog-post.conf:3: removed-knob',
      'etc/sysctl.d/91-incident-fixes.conf:2: unknown-key',
      'etc/sysctl.d/91-incident-fixes.conf:3: unknown-key',
      'etc/sysctl.d/91-incident-fixes.conf:4: invalid-value',
      'etc/sysctl.d/91-incident-fixes.conf:5: invalid-value',
      'etc/sysctl.d/91-incident-fixes.conf:6: invalid-value',
      'etc/sysctl.d/91-incident-fixes.conf:7: parse-error',
      'etc/sysctl.d/91-incident-fixes.conf:8: invalid-value',
      'etc/sysctl.d/91-incident-fixes.conf:10: unknown-key',
    ]);
    expect(corpus().summary.errors).toBe(10);
    expect(msgs(join(ETC, '91-incident-fixes.conf'), 3)[0]?.suggestions).toEqual(['net.core.somaxconn']);
  });

  it('reports overrides across files with the winning file:line', () => {
    expect(msgs(at('usr/lib/sysctl.d', '30-conntrack.conf'), 3, 'overridden')[0]?.message).toBe(
      `net.netfilter.nf_conntrack_max = 524288 is overridden by ${join(ETC, '80-conntrack.conf')}:3 (net.netfilter.nf_conntrack_max = 1048576)`,
    );
    // /etc/sysctl.conf is applied last, so it beats the tuning guide.
    expect(msgs(join(ETC, '60-tuning-guide.conf'), 4, 'overridden')[0]?.message).toMatch(/by .*\/etc\/sysctl\.conf:31/);
    // Same value in three files: the first two are duplicates of the last.
    for (const [f, l] of [
      [at('run/sysctl.d', '40-runtime.conf'), 2],
      [join(ETC, '95-kubernetes.conf'), 4],
    ] as const)
      expect(msgs(f, l, 'duplicate')[0]?.message).toMatch(/net\.ipv4\.ip_forward is set again to the same value at .*\/etc\/sysctl\.conf:24/);
    // The masked vendor file contributes nothing, so nothing refers to it.
    expect(corpus().assignments.some((a) => a.file.includes('usr/lib/sysctl.d/50-default.conf'))).toBe(false);
    expect(msgs(at('usr/lib/sysctl.d', '50-default.conf'), null, 'masked-file')).toHaveLength(1);
  });

  it('parses the odd syntax of the corpus: slash keys, CRLF, comments, exclusions', () => {
    const r = corpus();
    expect(r.effective['net.core.somaxconn']).toMatchObject({ value: '65535', file: at('usr/local/lib/sysctl.d', '70-app-tuning.conf'), line: 3 });
    expect(r.effective['net.ipv4.tcp_keepalive_time']).toEqual({ value: '600', file: join(ETC, '90-windows-edited.conf'), line: 4 });
    expect(r.effective['net.ipv4.conf.eth0/100.rp_filter']).toMatchObject({ value: '2' });
    expect(r.effective['net.ipv4.tcp_low_latency']).toMatchObject({ value: '1' });
    expect(r.assignments.find((a) => a.key === 'net.ipv4.tcp_low_latency')?.ignore_failure).toBe(true);
    expect(r.exclusions.map((x) => x.key)).toEqual(['net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.eth0.rp_filter']);
    expect(r.assignments.filter((a) => a.file.endsWith('93-comments-only.conf') || a.file.endsWith('92-empty.conf'))).toEqual([]);
  });

  it('expands the rp_filter globs against the snapshot', () => {
    const r = corpus();
    const glob = r.assignments.find((a) => a.key === 'net.ipv4.conf.*.rp_filter');
    expect(glob).toMatchObject({ file: join(ETC, '50-default.conf'), line: 8, glob: true, winner: false, applies_to: [] });
    expect(r.effective['net.ipv4.conf.default.rp_filter']).toMatchObject({ value: '1', line: 7 });
    expect(r.effective['net.ipv4.conf.all.rp_filter']).toMatchObject({ value: '2', file: join(ETC, '10-network-security.conf') });
    expect(r.effective['net.ipv4.conf.ifb1.rp_filter']).toMatchObject({ value: '0', file: join(ETC, '97-rp-filter.conf'), line: 4 });
    expect(r.effective['net.ipv4.conf.eth0.rp_filter']).toBeUndefined();
    expect(r.effective['net.ipv4.conf.eth0.accept_source_route']).toMatchObject({ value: '0', line: 12 });
    expect(msgs(join(ETC, '97-rp-filter.conf'), 9)[0]).toMatchObject({ code: 'absent-key', severity: 'info' });
  });

  it('flags drift, the bytes-for-pages mistake and the rule findings', () => {
    const guide = join(ETC, '60-tuning-guide.conf');
    expect(msgs(guide, 5, 'drift')[0]?.message).toMatch(/net\.core\.wmem_max = 16777216 is not in effect: the kernel has 4194304/);
    expect(msgs(guide, 11, 'drift')[0]?.message).toMatch(/tcp_wmem = 4096 65536 16777216 is not in effect/); // tabs normalised
    expect(msgs(guide, 14, 'implausible-value')).toHaveLength(1);
    expect(msgs(guide, 25, 'rule-finding')[0]).toMatchObject({ rule: 'tcp.fastopen-server-caveat', severity: 'info' });
    expect(msgs(join(ETC, '70-old-blog-post.conf'), 14, 'rule-finding')[0]).toMatchObject({ rule: 'tcp.sack-off', severity: 'warning' });
    expect(msgs(guide, 21)).toEqual([]); // bbr is already the congestion control: nothing to say
  });

  it('summarises by code and keeps messages in application order', () => {
    const r = corpus();
    expect(r.summary).toMatchObject({ files_read: 19, files_masked: 3, files_skipped: 2 });
    const total = Object.values(r.summary.by_code).reduce((a, b) => a + (b ?? 0), 0);
    expect(total).toBe(r.messages.length);
    const order = new Map(r.files.map((f, i) => [f.path, i]));
    const positions = r.messages.map((m) => order.get(m.file ?? '') ?? Infinity);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });
});
