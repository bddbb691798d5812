import { describe, expect, it } from 'vitest';
import {
  canonicalFlowHash,
  flowHashLetters,
  indirFromTable,
  indirTable,
  indirText,
  nicArgs,
  parseIndir,
  readNic,
  snapshotNicValue,
  writeNic,
  type Ethtool,
} from '../../src/apply/kind-nic.js';
import { nicLine, parseNicUnit, renderNicUnit } from '../../src/apply/persist.js';
import { parseSet, validateChanges } from '../../src/apply/validate.js';
import { changeCommand } from '../../src/plan/types.js';
import { parseFlowHash, parseRss } from '../../src/probe/parse-ethtool.js';
import { fixture, snapshotFixture } from '../helpers.js';
import { mlx5Link } from './nic-link.js';

/** An ethtool that answers from fixture text (and records what it was asked). */
const fake = (answers: Record<string, { stdout?: string; stderr?: string; ok?: boolean }>, asked: string[][] = []): Ethtool =>
  (args) => {
    asked.push(args);
    const a = answers[args.join(' ')] ?? { ok: false, stderr: 'Operation not supported' };
    return Promise.resolve({ ok: a.ok ?? true, code: a.ok === false ? 1 : 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' });
  };

describe('flow-hash values', () => {
  it('letters are canonical in ethtool field order; bad letters and r with others are refused', () => {
    expect(canonicalFlowHash('nfds')).toEqual({ value: 'sdfn' });
    expect(canonicalFlowHash('r')).toEqual({ value: 'r' });
    expect(canonicalFlowHash('sdx')).toHaveProperty('problem');
    expect(canonicalFlowHash('ssd')).toHaveProperty('problem');
    expect(canonicalFlowHash('sdr')).toHaveProperty('problem');
    expect(canonicalFlowHash('0x3FFFFFFF')).toHaveProperty('problem');
  });
  it('ethtool -n field lines (mlx5 fixtures) read as letters; None (virtio, captured here) is not writable', () => {
    expect(flowHashLetters(parseFlowHash(fixture('ethtool', 'mlx5-flowhash-tcp4.txt')).data)).toBe('sdfn');
    expect(flowHashLetters(parseFlowHash(fixture('ethtool', 'mlx5-flowhash-udp4.txt')).data)).toBe('sd');
    expect(flowHashLetters(parseFlowHash(fixture('ethtool', 'ixgbe-flowhash-udp4-sdfn.txt')).data)).toBe('sdfn');
    expect(flowHashLetters(parseFlowHash(fixture('ethtool', 'virtio-flowhash-tcp4.txt')).data)).toBeNull();
    expect(flowHashLetters(['IP SA', 'Something new'])).toBeNull();
  });
});

describe('indirection values', () => {
  it('parses default / equal N / weight …, refuses the rest', () => {
    expect(parseIndir('default')).toEqual({ mode: 'default' });
    expect(parseIndir(' equal  4 ')).toEqual({ mode: 'equal', n: 4 });
    expect(parseIndir('weight 1 1 2')).toEqual({ mode: 'weight', weights: [1, 1, 2] });
    expect(parseIndir('equal 0')).toMatch(/default/);
    expect(parseIndir('weight 0 0')).toMatch(/non-zero/);
    expect(parseIndir('start 2 equal 2')).toMatch(/default/);
  });
  it('fills tables as ethtool does: equal is round robin, weight contiguous blocks', () => {
    expect(indirTable({ mode: 'equal', n: 3 }, 8, 4)).toEqual([0, 1, 2, 0, 1, 2, 0, 1]);
    expect(indirTable({ mode: 'weight', weights: [1, 1, 2] }, 8, 4)).toEqual([0, 0, 1, 1, 2, 2, 2, 2]);
    expect(indirTable({ mode: 'weight', weights: [1, 3] }, 8, 4)).toEqual([0, 0, 1, 1, 1, 1, 1, 1]);
    expect(indirTable({ mode: 'default' }, 6, 4)).toEqual([0, 1, 2, 3, 0, 1]);
    expect(indirTable({ mode: 'equal', n: 5 }, 8, 4)).toBeNull();
  });
  it('reads a live table back as the spec that rebuilds it exactly (fixtures: mlx5 default, ixgbe weights, ixgbe custom)', () => {
    const mlx = parseRss(fixture('ethtool', 'mlx5-x.txt')).data?.indirection ?? [];
    expect(indirFromTable(mlx, 8)).toEqual({ mode: 'default' });
    expect(indirFromTable(mlx, 16)).toEqual({ mode: 'equal', n: 8 }); // 8 of 16 rings used: not the driver default
    const w = parseRss(fixture('ethtool', 'ixgbe-x-weight.txt')).data?.indirection ?? [];
    const spec = indirFromTable(w, 4);
    expect(spec && indirText(spec)).toBe('weight 2 2 4 8');
    expect(spec && indirTable(spec, w.length, 4)).toEqual(w);
    expect(indirFromTable(parseRss(fixture('ethtool', 'ixgbe-x-custom.txt')).data?.indirection ?? [], 4)).toBeNull();
  });
  it('round-trips through text for every table ethtool -X can make (16 entries, up to 4 rings)', () => {
    for (let n = 1; n <= 4; n++) {
      const t = indirTable({ mode: 'equal', n }, 16, 4) ?? [];
      const back = indirFromTable(t, 4);
      expect(back && indirTable(parseIndir(indirText(back)) as never, 16, 4)).toEqual(t);
    }
    for (const weights of [[1], [1, 1], [3, 1], [0, 2, 1], [1, 0, 0, 5], [2, 2, 4, 8]]) {
      const t = indirTable({ mode: 'weight', weights }, 16, 4) ?? [];
      const back = indirFromTable(t, 4);
      expect(back && indirTable(parseIndir(indirText(back)) as never, 16, 4)).toEqual(t);
    }
  });
});

describe('live read and write through an ethtool runner', () => {
  it('reads flow hash and indirection in canonical form', async () => {
    const e = fake({
      '-n ens1f0np0 rx-flow-hash tcp4': { stdout: fixture('ethtool', 'mlx5-flowhash-tcp4.txt') },
      '-x ens1f0np0': { stdout: fixture('ethtool', 'mlx5-x.txt') },
    });
    expect(await readNic(e, { device: 'ens1f0np0', group: 'flow-hash', setting: 'tcp4' })).toBe('sdfn');
    expect(await readNic(e, { device: 'ens1f0np0', group: 'indirection', setting: 'table' })).toBe('default');
    expect(await readNic(e, { device: 'ens1f0np0', group: 'flow-hash', setting: 'udp6' })).toBeNull();
    expect(await readNic(fake({ '-x eth0': { stdout: fixture('ethtool', 'virtio-x.txt') } }), { device: 'eth0', group: 'indirection', setting: 'table' })).toBeNull();
  });
  it('writes -N and -X argument arrays; a refusal on stderr with exit 0 (ethtool 6.1 -N on veth) is a failure', async () => {
    const asked: string[][] = [];
    const ok = fake({ '-N ens1f0np0 rx-flow-hash udp4 sdfn': {}, '-X ens1f0np0 equal 4': {} }, asked);
    await writeNic(ok, { device: 'ens1f0np0', group: 'flow-hash', setting: 'udp4' }, 'nfds');
    await writeNic(ok, { device: 'ens1f0np0', group: 'indirection', setting: 'table' }, 'equal 4');
    expect(asked).toEqual([
      ['-N', 'ens1f0np0', 'rx-flow-hash', 'udp4', 'sdfn'],
      ['-X', 'ens1f0np0', 'equal', '4'],
    ]);
    const refusing = fake({ '-N va rx-flow-hash tcp4 sdfn': { ok: true, stderr: 'Cannot change RX network flow hashing options: Operation not supported\n' } });
    await expect(writeNic(refusing, { device: 'va', group: 'flow-hash', setting: 'tcp4' }, 'sdfn')).rejects.toThrow(/Cannot change RX network flow hashing/);
    expect(() => nicArgs({ device: 'va', group: 'flow-hash', setting: 'rx-vlan' }, 'sd')).toThrow(/flow type/);
  });
});

describe('the plan-change kind end to end (without a device)', () => {
  it('--set syntax follows the ethtool: targets', () => {
    expect(parseSet('ethtool:eth0:flow-hash:tcp4=sdfn')).toEqual({ kind: 'ethtool', device: 'eth0', group: 'flow-hash', setting: 'tcp4', from: null, to: 'sdfn' });
    expect(parseSet('ethtool:eth0:indirection:table=equal 4')).toEqual({ kind: 'ethtool', device: 'eth0', group: 'indirection', setting: 'table', from: null, to: 'equal 4' });
    expect(parseSet('ethtool:eth0:rx-vlan:hash=0x3FFFFFFF')).toMatch(/flow-hash\|indirection/);
  });
  it('the command a user would type', () => {
    expect(changeCommand({ kind: 'ethtool', device: 'eth0', group: 'flow-hash', setting: 'tcp4', from: 'sd', to: 'sdfn' })).toBe('ethtool -N eth0 rx-flow-hash tcp4 sdfn');
    expect(changeCommand({ kind: 'ethtool', device: 'eth0', group: 'indirection', setting: 'table', from: null, to: 'equal 8' }, 'blue')).toBe('ip netns exec blue ethtool -X eth0 equal 8');
  });
  it('validation before the lock: against what the device reports, with -L changes earlier in the same apply counted', () => {
    const snap = snapshotFixture();
    const l = mlx5Link(snap);
    snap.links.push(l);
    const c = (group: 'flow-hash' | 'indirection' | 'channels', setting: string, to: string) => ({ change: { kind: 'ethtool' as const, device: l.name, group, setting, from: null, to }, reason: 'r', source: 's' });
    const v = validateChanges(
      [
        c('flow-hash', 'udp4', 'nfds'),
        c('flow-hash', 'tcp4', 'sdfn'),
        c('flow-hash', 'rx-vlan', 'sd'),
        c('flow-hash', 'tcp6', 'sdfn'),
        c('channels', 'combined', '16'),
        c('indirection', 'table', 'equal 16'),
        c('indirection', 'table', 'weight 1 1'),
      ],
      snap,
    );
    expect(v.changes.map((x) => [x.target, x.to])).toEqual([
      [{ kind: 'ethtool', device: l.name, group: 'flow-hash', setting: 'udp4' }, 'sdfn'],
      [{ kind: 'ethtool', device: l.name, group: 'channels', setting: 'combined' }, '16'],
      [{ kind: 'ethtool', device: l.name, group: 'indirection', setting: 'table' }, 'equal 16'],
    ]);
    expect(v.skipped).toEqual([{ target: `${l.name} flow-hash tcp4`, reason: 'already sdfn' }]);
    expect(v.errors).toHaveLength(3);
    expect(v.errors[0]).toMatch(/rx-vlan: not an rx-flow-hash flow type/);
    expect(v.errors[1]).toMatch(/no rx-flow-hash for tcp6/);
    expect(v.errors[2]).toMatch(/set twice/);
    // without the -L first, 16 queues are more than the 8 rings in use
    expect(validateChanges([c('indirection', 'table', 'equal 16')], snap).errors[0]).toMatch(/equal 16 needs more than the 8 receive rings/);
    expect(validateChanges([c('indirection', 'table', 'equal 8')], snap).skipped[0]?.reason).toMatch(/already equal 8/);
    // virtio here: one ring, flow hash reads None
    const virtio = validateChanges([{ change: { kind: 'ethtool', device: 'eth0', group: 'indirection', setting: 'table', from: null, to: 'equal 1' }, reason: 'r', source: 's' }], snapshotFixture());
    expect(virtio.errors[0]).toMatch(/no RSS indirection table/);
  });
  it('the Snapshot view (drift) gives the canonical value', () => {
    const l = mlx5Link(snapshotFixture());
    expect(snapshotNicValue(l, 'flow-hash', 'udp4')).toBe('sd');
    expect(snapshotNicValue(l, 'indirection', 'table')).toBe('default');
    expect(snapshotNicValue(l, 'flow-hash', 'sctp4')).toBeUndefined();
  });
  it('persists in the NIC unit as ethtool -N / -X lines that read back to the same lines', () => {
    const a = nicLine({ kind: 'ethtool', device: 'eth0', group: 'flow-hash', setting: 'udp4' }, 'sdfn', null, 'udp hashing');
    const b = nicLine({ kind: 'ethtool', device: 'eth0', group: 'indirection', setting: 'table' }, 'weight 1 1 2', 'blue', 'weights');
    expect(a.argv).toEqual(['/usr/sbin/ethtool', '-N', 'eth0', 'rx-flow-hash', 'udp4', 'sdfn']);
    expect(b.argv).toEqual(['/usr/sbin/ip', 'netns', 'exec', 'blue', '/usr/sbin/ethtool', '-X', 'eth0', 'weight', '1', '1', '2']);
    const text = renderNicUnit([], [a, b], 7, '2026-12-02T00:00:00Z');
    expect(text).toContain("ExecStart=/usr/sbin/ethtool -N eth0 rx-flow-hash udp4 sdfn");
    const back = parseNicUnit(text);
    expect(back.dropped).toEqual([]);
    expect(back.lines).toEqual([a, b]);
    // a later transaction's -X replaces the earlier one (same id), a -N for another flow type does not
    const c = nicLine({ kind: 'ethtool', device: 'eth0', group: 'indirection', setting: 'table' }, 'default', 'blue', 'restored');
    const d = nicLine({ kind: 'ethtool', device: 'eth0', group: 'flow-hash', setting: 'tcp4' }, 'sdfn', null, 'tcp');
    expect(parseNicUnit(renderNicUnit(back.lines, [c, d], 8, 'x')).lines.map((l) => l.argv.slice(-3))).toEqual([
      ['rx-flow-hash', 'udp4', 'sdfn'],
      ['-X', 'eth0', 'default'],
      ['rx-flow-hash', 'tcp4', 'sdfn'],
    ]);
    expect(() => nicLine({ kind: 'ethtool', device: 'eth0', group: 'indirection', setting: 'table' }, 'equal 4; reboot', null, '')).toThrow();
  });
});
