import { describe, expect, it } from 'vitest';
import { nicLine, parseNicUnit, parsePersisted, renderNicUnit, renderPersisted } from '../../src/apply/persist.js';
import { parseSet, validateChanges, type InputChange } from '../../src/apply/validate.js';
import type { PlanChange } from '../../src/plan/types.js';
import { snapshotFixture } from '../helpers.js';

const input = (change: PlanChange, extra: Partial<InputChange> = {}): InputChange => ({ change, reason: 'r', source: 's', ...extra });
const sysctl = (key: string, to: string): PlanChange => ({ kind: 'sysctl', key, from: null, to });

describe('--set parsing', () => {
  it('reads sysctls (dotted or slashed), ethtool and sysfs targets', () => {
    expect(parseSet('net.ipv4.tcp_rmem=4096 131072 6291456')).toEqual(sysctl('net.ipv4.tcp_rmem', '4096 131072 6291456'));
    expect(parseSet('net/core/somaxconn=8192')).toEqual(sysctl('net.core.somaxconn', '8192'));
    expect(parseSet('ethtool:eth0:rings:rx=4096')).toEqual({ kind: 'ethtool', device: 'eth0', group: 'rings', setting: 'rx', from: null, to: '4096' });
    expect(parseSet('sysfs:/sys/class/net/eth0/queues/rx-0/rps_cpus=3')).toEqual({ kind: 'sysfs', path: '/sys/class/net/eth0/queues/rx-0/rps_cpus', from: null, to: '3' });
    expect(parseSet('novalue')).toMatch(/expected key=value/);
    expect(parseSet('ethtool:eth0:bogus:x=1')).toMatch(/ethtool:DEVICE/);
  });
});

describe('validation before anything is written', () => {
  it('collects every error; skips what is already set and global knobs in a child namespace', () => {
    const snap = snapshotFixture();
    const v = validateChanges(
      [
        input(sysctl('net.ipv4.tcp_sack', '1')),
        input(sysctl('net.ipv4.tcp_sack_typo', '1')),
        input(sysctl('net.ipv4.tcp_tw_recycle', '1')),
        input(sysctl('net.ipv4.tcp_rmem', '4096 87380')),
        input(sysctl('net.ipv4.tcp_congestion_control', 'vegas')),
        input(sysctl('net.ipv4.no_such', '1'), { ignoreMissing: true }),
        input(sysctl('net.ipv4.tcp_fin_timeout', '20')),
        input(sysctl('net.ipv4.tcp_fin_timeout', '25')),
      ],
      snap,
    );
    expect(v.errors).toEqual([
      'net.ipv4.tcp_sack_typo: no such key on this kernel/namespace',
      'net.ipv4.tcp_tw_recycle: removed in Linux 4.12',
      expect.stringMatching(/^net\.ipv4\.tcp_rmem takes 3 integers \(min default max\), got 2: the kernel would write only the first 2/) as unknown as string,
      expect.stringMatching(/vegas is not available/) as unknown as string,
      'net.ipv4.tcp_fin_timeout: set twice, to 20 and 25',
    ]);
    expect(v.skipped.map((s) => s.target)).toEqual(['net.ipv4.tcp_sack', 'net.ipv4.no_such']);
    const child = snapshotFixture();
    child.netns = { name: 'nt-x', inode: 5, init: false };
    const c = validateChanges([input(sysctl('net.core.rmem_max', '8388608')), input(sysctl('net.ipv4.tcp_fin_timeout', '20'))], child);
    expect(c.skipped).toEqual([{ target: 'net.core.rmem_max', reason: 'global knob: the kernel only lets the initial namespace set it' }]);
    expect(c.changes.map((x) => x.to)).toEqual(['20']);
  });
  it('checks NIC settings against the device', () => {
    const snap = snapshotFixture();
    const eth: (setting: string, to: string, group?: 'features' | 'rings') => InputChange = (setting, to, group = 'features') =>
      input({ kind: 'ethtool', device: 'eth0', group, setting, from: null, to });
    const v = validateChanges([eth('lro', 'on'), eth('tso', 'maybe'), eth('rx', '9999', 'rings'), eth('gro', 'off')], snap);
    expect(v.errors).toEqual(['ethtool eth0 lro: fixed by the driver, cannot change', 'ethtool eth0 tso: on or off, not maybe', 'ethtool eth0 rings rx 9999: outside 1–256']);
    expect(v.changes).toHaveLength(1);
    const bad = validateChanges([input({ kind: 'sysfs', path: '/etc/passwd', from: null, to: '1' })], snap);
    expect(bad.errors[0]).toMatch(/only writes per-device queue/);
  });
});

describe('persisted files', () => {
  it('sysctl.d: keeps earlier entries and their comments, replaces touched keys, round-trips', () => {
    const first = renderPersisted([], [{ key: 'net.core.somaxconn', value: '8192', comments: ['why one'] }, { key: 'net.ipv4.tcp_sack', value: '1', comments: ['why two'] }], 1, 'T1');
    const second = renderPersisted(parsePersisted(first), [{ key: 'net.core.somaxconn', value: '16384', comments: ['why three'] }], 2, 'T2');
    expect(parsePersisted(second)).toEqual([
      { key: 'net.ipv4.tcp_sack', value: '1', comments: ['why two'] },
      { key: 'net.core.somaxconn', value: '16384', comments: ['why three'] },
    ]);
    expect(second).toMatch(/^# nettune: written by nettune .*transaction 2, T2\./);
  });
  it('NIC unit: one ExecStart per setting, later ones replace earlier ones', () => {
    const a = renderNicUnit([], [nicLine({ kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro' }, 'off', null, 'c1')], 1, 'T');
    const b = renderNicUnit(parseNicUnit(a).lines, [nicLine({ kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro' }, 'on', null, 'c2'), nicLine({ kind: 'sysfs', path: '/sys/class/net/eth0/queues/rx-0/rps_cpus' }, '3', null, 'c3')], 2, 'T');
    expect(b.match(/^ExecStart=/gm)).toHaveLength(2);
    expect(b).toMatch(/ExecStart=\/usr\/sbin\/ethtool -K eth0 gro on/);
    expect(b).toMatch(/\[Install\]\nWantedBy=multi-user.target/);
  });
});
