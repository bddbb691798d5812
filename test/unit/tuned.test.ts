import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareTuned, dottedKey, loadTunedProfile, parseTunedConf, tunedWrites, type TunedReader } from '../../src/plan/tuned.js';
import { FIXTURES, snapshotFixture } from '../helpers.js';

/** An in-memory profile tree: { '/usr/lib/tuned/a/tuned.conf': '…' }. */
const memReader =
  (files: Record<string, string | Uint8Array>): TunedReader =>
  (path) => {
    const f = files[path];
    if (f === undefined) return null;
    return typeof f === 'string' ? new TextEncoder().encode(f) : f;
  };
const DIRS = ['/etc/tuned', '/usr/lib/tuned'];
const lib = (name: string): string => `/usr/lib/tuned/${name}/tuned.conf`;
const etc = (name: string): string => `/etc/tuned/${name}/tuned.conf`;

describe('tuned.conf parsing (ConfigParser as tuned configures it)', () => {
  it('reads sections, = only, inline # after whitespace, ; and # comment lines, continuation lines, later duplicates win', () => {
    const c = parseTunedConf(
      ['[main]', 'summary=x # a comment', '; semicolon comment', '[sysctl]', 'net.core.somaxconn = 1024', 'net.ipv4.tcp_rmem=4096', '    87380 16777216', 'net.core.somaxconn=2048', 'Kernel.Key=a#b'].join('\n'),
      'p',
    );
    expect(c.sections.get('main')?.get('summary')).toBe('x');
    const s = c.sections.get('sysctl');
    expect(s?.get('net.core.somaxconn')).toBe('2048');
    expect(s?.get('net.ipv4.tcp_rmem')).toBe('4096\n87380 16777216');
    expect(s?.get('Kernel.Key')).toBe('a#b');
    expect(c.empty).toBe(false);
  });
  it('refuses what tuned refuses, naming the line: no =, an option before any section', () => {
    expect(() => parseTunedConf('[sysctl]\nnet.core.somaxconn 1024\n', 'p')).toThrow(/p: tuned cannot parse this profile: line 2: .*no '='/);
    expect(() => parseTunedConf('net.core.somaxconn=1\n[sysctl]\n', 'p')).toThrow(/line 1: .*before any \[section\]/);
  });
  it('reports binary and non-UTF-8 content as such; an empty file as empty', () => {
    expect(() => parseTunedConf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1]), 'bin')).toThrow(/bin: binary file \(NUL byte at offset 4\)/);
    expect(() => parseTunedConf(new Uint8Array([0x5b, 0xff, 0xfe, 0x5d]), 'latin')).toThrow(/not UTF-8 text/);
    expect(parseTunedConf('', 'e').empty).toBe(true);
    expect(parseTunedConf('# only\n; comments\n\n', 'e').empty).toBe(true);
  });
});

describe('tuned profile loading (include=, merge order, units)', () => {
  it('reads the shipped-format fixture with include=, child values winning', () => {
    const p = loadTunedProfile(join(FIXTURES, 'tuned', 'network-throughput'), { dirs: [] });
    const v = Object.fromEntries(p.sysctl.map((s) => [s.key, s.value]));
    expect(v['net.ipv4.tcp_rmem']).toBe('4096 87380 16777216');
    expect(v['vm.swappiness']).toBe('20');
    expect(v['vm.dirty_ratio']).toBe('40');
    expect(p.files.map((f) => f.split('/').slice(-2, -1)[0])).toEqual(['throughput-performance', 'network-throughput']);
    expect(() => loadTunedProfile('no-such-profile-x', { dirs: [] })).toThrow(/not found/);
  });
  it('a diamond (two includes sharing an ancestor) is not a loop; the ancestor loads once, first', () => {
    const r = memReader({
      [lib('top')]: '[main]\ninclude=left, right\n[sysctl]\nnet.core.somaxconn=4\n',
      [lib('left')]: '[main]\ninclude=base\n[sysctl]\nnet.ipv4.tcp_fin_timeout=30\n',
      [lib('right')]: '[main]\ninclude=base\n[sysctl]\nnet.ipv4.tcp_fin_timeout=20\n',
      [lib('base')]: '[sysctl]\nnet.core.somaxconn=1\nnet.ipv4.tcp_fin_timeout=60\n',
    });
    const p = loadTunedProfile('top', { reader: r, dirs: DIRS });
    expect(p.files).toEqual([lib('base'), lib('left'), lib('right'), lib('top')]);
    expect(Object.fromEntries(p.sysctl.map((s) => [s.key, s.value]))).toEqual({ 'net.core.somaxconn': '4', 'net.ipv4.tcp_fin_timeout': '20' });
    expect(p.notes.join(' ')).toMatch(/base: included again .*shared ancestor/);
  });
  it('a real include loop is an error that names the cycle', () => {
    const r = memReader({ [lib('a')]: '[main]\ninclude=b\n', [lib('b')]: '[main]\ninclude=a\n' });
    expect(() => loadTunedProfile('a', { reader: r, dirs: DIRS })).toThrow(/include loop: .*a\/tuned.conf → .*b\/tuned.conf → .*a\/tuned.conf/);
  });
  it('/etc/tuned/X including X loads the shipped X (the lookup falls through, as tuned’s locator does)', () => {
    const r = memReader({ [etc('x')]: '[main]\ninclude=x\n[sysctl]\nnet.core.somaxconn=9\n', [lib('x')]: '[sysctl]\nnet.core.somaxconn=1\nvm.swappiness=5\n' });
    const p = loadTunedProfile('x', { reader: r, dirs: DIRS });
    expect(p.files).toEqual([lib('x'), etc('x')]);
    expect(Object.fromEntries(p.sysctl.map((s) => [s.key, s.value]))).toEqual({ 'net.core.somaxconn': '9', 'vm.swappiness': '5' });
  });
  it('include= splits on , and ; (not spaces); -name is optional', () => {
    const r = memReader({ [lib('t')]: '[main]\ninclude=a;b, -gone\n', [lib('a')]: '[sysctl]\nnet.a=1\n', [lib('b')]: '[sysctl]\nnet.b=2\n' });
    const p = loadTunedProfile('t', { reader: r, dirs: DIRS });
    expect(p.sysctl.map((s) => s.key)).toEqual(['net.a', 'net.b']);
    expect(p.notes.join(' ')).toMatch(/optional include \(-gone\) not found/);
    expect(() => loadTunedProfile('t', { reader: memReader({ [lib('t')]: '[main]\ninclude=a b\n' }), dirs: DIRS })).toThrow(/"a b" not found/);
  });
  it('replace=true drops the parents’ values in that unit; enabled=false turns it off; type=sysctl units count', () => {
    const base = '[sysctl]\nnet.core.somaxconn=1\nnet.ipv4.tcp_fin_timeout=60\n';
    const rep = loadTunedProfile('c', { reader: memReader({ [lib('b')]: base, [lib('c')]: '[main]\ninclude=b\n[sysctl]\nreplace=true\nnet.core.somaxconn=2\n' }), dirs: DIRS });
    expect(rep.sysctl.map((s) => [s.key, s.value])).toEqual([['net.core.somaxconn', '2']]);
    const off = loadTunedProfile('c', { reader: memReader({ [lib('b')]: base, [lib('c')]: '[main]\ninclude=b\n[sysctl]\nenabled=false\n' }), dirs: DIRS });
    expect(off.sysctl).toEqual([]);
    expect(off.notes.join(' ')).toMatch(/disabled/);
    const typed = loadTunedProfile('c', { reader: memReader({ [lib('c')]: '[my_net]\ntype=sysctl\nnet.core.somaxconn=3\n' }), dirs: DIRS });
    expect(typed.sysctl.map((s) => s.value)).toEqual(['3']);
  });
  it('/-separated keys are the same sysctl as dotted ones; quotes and [variables] are handled; tuned functions stay unresolved', () => {
    const r = memReader({ [lib('v')]: '[variables]\nmax=16777216\n[sysctl]\nnet/core/rmem_max=${max}\nnet.core.rmem_max="${max}"\nnet.ipv4.tcp_rmem="4096 87380 ${max}"\nnet.core.busy_poll=${f:exec:cat:/x}\n' });
    const p = loadTunedProfile('v', { reader: r, dirs: DIRS });
    expect(p.sysctl.map((s) => [s.key, s.value])).toEqual([
      ['net.core.rmem_max', '16777216'],
      ['net.ipv4.tcp_rmem', '4096 87380 16777216'],
      ['net.core.busy_poll', '${f:exec:cat:/x}'],
    ]);
    expect(compareTuned(p, { 'net.core.busy_poll': '0' }).find((c) => c.key === 'net.core.busy_poll')?.status).toBe('unresolved');
    expect(dottedKey('net/ipv4/conf/eth0.100/rp_filter')).toBe('net.ipv4.conf.eth0/100.rp_filter'); // the Snapshot's (sysctl's) spelling
    expect(dottedKey('net.ipv4.tcp_rmem')).toBe('net.ipv4.tcp_rmem');
  });
  it('an empty profile and a profile without [sysctl] say so; a binary profile is refused', () => {
    const e = loadTunedProfile('e', { reader: memReader({ [lib('e')]: '' }), dirs: DIRS });
    expect(e.empty_files).toEqual([lib('e')]);
    expect(e.notes.join(' ')).toMatch(/is empty/);
    expect(e.notes.join(' ')).toMatch(/no \[sysctl\] unit/);
    expect(() => loadTunedProfile('b', { reader: memReader({ [lib('b')]: new Uint8Array([1, 0, 2]) }), dirs: DIRS })).toThrow(/binary file/);
  });
  it('refuses a name tuned would refuse (it takes the basename of safe names only)', () => {
    expect(() => loadTunedProfile('a b', { reader: memReader({}), dirs: DIRS })).toThrow(/tuned accepts only/);
  });
});

describe('comparing with a host (tuned’s > and < modifiers)', () => {
  const prof = (body: string) => loadTunedProfile('p', { reader: memReader({ [lib('p')]: `[sysctl]\n${body}` }), dirs: DIRS });
  it('>2048 against a live 4096 is satisfied (tuned leaves it), against 1024 it raises', () => {
    const p = prof('net.core.somaxconn=>2048\n');
    expect(compareTuned(p, { 'net.core.somaxconn': '4096' })[0]).toMatchObject({ tuned: '>2048', status: 'satisfied', target: null });
    expect(compareTuned(p, { 'net.core.somaxconn': '1024' })[0]).toMatchObject({ status: 'differs', target: '2048' });
    expect(compareTuned(p, { 'net.core.somaxconn': '2048' })[0]).toMatchObject({ status: 'satisfied' });
  });
  it('<N lowers only when below the current value', () => {
    const p = prof('net.ipv4.tcp_fin_timeout=<30\n');
    expect(compareTuned(p, { 'net.ipv4.tcp_fin_timeout': '60' })[0]).toMatchObject({ status: 'lowers', target: '30' });
    expect(compareTuned(p, { 'net.ipv4.tcp_fin_timeout': '10' })[0]).toMatchObject({ status: 'satisfied', target: null });
  });
  it('a vector with > is what tuned cannot compare: it writes the prefix and the kernel refuses', () => {
    const p = prof('net.ipv4.tcp_rmem=>4096 87380 16777216\n');
    expect(compareTuned(p, { 'net.ipv4.tcp_rmem': '4096 131072 33554432' })[0]).toMatchObject({ status: 'invalid' });
    expect(tunedWrites(p, { 'net.ipv4.tcp_rmem': '4096 131072 33554432' }).refused).toHaveLength(1);
  });
  it('keys outside the Snapshot are not captured (not absent); equal values compare without whitespace', () => {
    const p = prof('vm.swappiness=10\nnet.ipv4.tcp_rmem = 4096  131072   33554432\nnet.ipv4.tcp_wmem=4096 16384 1048576\n');
    const snap = snapshotFixture();
    const rows = compareTuned(p, snap.sysctl);
    expect(rows.find((r) => r.key === 'vm.swappiness')).toMatchObject({ current: null, status: 'not-captured' });
    expect(rows.find((r) => r.key === 'net.ipv4.tcp_rmem')?.status).toBe('same');
    const w = rows.find((r) => r.key === 'net.ipv4.tcp_wmem');
    expect(w).toMatchObject({ current: '4096 16384 4194304', status: 'lowers' });
  });
  it('tunedWrites gives what tuned would write on those values (for experiment arms)', () => {
    const p = prof('net.core.somaxconn=>2048\nnet.ipv4.tcp_fin_timeout=30\nnet.ipv4.tcp_sack=1\n');
    expect(tunedWrites(p, { 'net.core.somaxconn': '4096', 'net.ipv4.tcp_fin_timeout': '60', 'net.ipv4.tcp_sack': '1' }).values).toEqual({ 'net.ipv4.tcp_fin_timeout': '30' });
  });
});
