// The tuned arm of the outcome matrix: the shipped copy of Debian 12's network-throughput
// (tuned 2.20.0-1) loads with its include, and tuned's conditional units (uname_regex,
// cpuinfo_regex) are left out where tuned would skip them instead of being read as sysctls.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTunedProfile, type TunedReader } from '../../src/plan/tuned.js';
import { FIXTURES } from '../helpers.js';

const memReader =
  (files: Record<string, string>): TunedReader =>
  (path) =>
    files[path] !== undefined ? new TextEncoder().encode(files[path]) : null;

describe('tuned network-throughput (Debian 12 copy in test/fixtures/tuned/debian12)', () => {
  it('merges throughput-performance then network-throughput: the values Debian ships', () => {
    const p = loadTunedProfile(join(FIXTURES, 'tuned', 'debian12', 'network-throughput'), { dirs: [] });
    expect(p.files.map((f) => f.split('/').slice(-2, -1)[0])).toEqual(['throughput-performance', 'network-throughput']);
    expect(p.sysctl.map((s) => `${s.key}=${s.op === '=' ? '' : s.op}${s.value}`)).toEqual([
      'vm.dirty_ratio=40',
      'vm.dirty_background_ratio=10',
      'vm.swappiness=10',
      'net.core.somaxconn=>2048',
      'net.ipv4.tcp_rmem=4096 87380 16777216',
      'net.ipv4.tcp_wmem=4096 16384 16777216',
    ]);
  });
});

describe('conditional units (tuned units/manager.py: uname_regex, cpuinfo_regex)', () => {
  const profile = (unit: string): TunedReader =>
    memReader({
      '/usr/lib/tuned/p/tuned.conf': `[variables]\narm=aarch64\n[sysctl]\nnet.core.somaxconn=4096\n[sysctl.extra]\ntype=sysctl\n${unit}\nkernel.numa_balancing=0\n`,
    });
  const keys = (unit: string, uname: string): { keys: string[]; notes: string[] } => {
    const p = loadTunedProfile('p', { reader: profile(unit), dirs: ['/usr/lib/tuned'], uname });
    return { keys: p.sysctl.map((s) => s.key), notes: p.notes };
  };
  const x86 = 'Linux h 6.18.44 #1 SMP x86_64';
  const arm = 'Linux h 6.18.44 #1 SMP aarch64';
  it('uname_regex that does not match: the unit is left out, with a note; its options are not sysctls', () => {
    const r = keys('uname_regex=${arm}', x86);
    expect(r.keys).toEqual(['net.core.somaxconn']);
    expect(r.notes.join(' ')).toMatch(/\[sysctl\.extra\] left out: applies only where uname matches "aarch64"/);
  });
  it('uname_regex that matches: the unit applies', () => {
    expect(keys('uname_regex=${arm}', arm).keys).toEqual(['net.core.somaxconn', 'kernel.numa_balancing']);
  });
  it('cpuinfo_regex (not checked outside the probe): left out, saying so', () => {
    const r = keys('uname_regex=aarch64\ncpuinfo_regex=CPU part\\s+:\\s+0x0?af', arm);
    expect(r.keys).toEqual(['net.core.somaxconn']);
    expect(r.notes.join(' ')).toMatch(/\/proc\/cpuinfo matches .*which nettune does not check/);
  });
});
