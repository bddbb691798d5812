import { describe, expect, it } from 'vitest';
import { validateChanges } from '../../src/apply/validate.js';
import { buildPlan, type PlanParams } from '../../src/plan/index.js';
import { LATENCY_RX_USECS, RFS_ENTRIES } from '../../src/plan/nic.js';
import type { PlannedChange } from '../../src/plan/schema.js';
import type { Link, Snapshot } from '../../src/snapshot/schema.js';
import { snapshotFixture } from '../helpers.js';
import { mlx5Link } from './nic-link.js';

const params = (workload: PlanParams['workload'], extra: Partial<PlanParams> = {}): PlanParams => ({ workload, link: null, conns: null, dead_peer_s: null, ...extra });

/** A 16-CPU host with the mlx5 port (8 of 63 combined channels, default table, tcp4 sdfn, udp4 sd). */
function host(edit?: (l: Link) => void): Snapshot {
  const s = snapshotFixture();
  s.cpus = { online: 16, list: '0-15' };
  const l = mlx5Link(s);
  edit?.(l);
  s.links.push(l);
  return s;
}

const nicChanges = (p: ReturnType<typeof buildPlan>, dev = 'ens1f0np0'): PlannedChange[] =>
  p.changes.filter((c) => (c.kind === 'ethtool' && c.device === dev) || (c.kind === 'sysfs' && c.path.includes(`/${dev}/`)));
const ethtool = (p: ReturnType<typeof buildPlan>, group: string, dev = 'ens1f0np0') =>
  nicChanges(p, dev).flatMap((c) => (c.kind === 'ethtool' && c.group === group ? [`${c.setting} ${c.from ?? '-'}→${c.to}`] : []));
const skipped = (p: ReturnType<typeof buildPlan>, key: string) => p.skipped.find((s) => s.key === key)?.reason ?? '';

describe('NIC planner (fixtures: mlx5 text layout on a 16-CPU host)', () => {
  it('throughput: queues to the CPU count, rings to max, adaptive coalescing, XPS and RFS; TCP already sdfn, UDP left without --udp-flow-hash', () => {
    const p = buildPlan(host(), params('throughput'));
    expect(ethtool(p, 'channels')).toEqual(['combined 8→16']);
    expect(ethtool(p, 'rings')).toEqual(['rx 1024→8192', 'tx 1024→8192']);
    expect(ethtool(p, 'coalesce')).toEqual([]); // mlx5 fixture: adaptive already on
    expect(skipped(p, 'ethtool:ens1f0np0:coalesce:adaptive-rx')).toBe('already on');
    expect(ethtool(p, 'flow-hash')).toEqual([]);
    expect(skipped(p, 'ethtool:ens1f0np0:flow-hash:tcp4')).toBe('already sdfn');
    expect(skipped(p, 'ethtool:ens1f0np0:flow-hash:udp4')).toMatch(/--udp-flow-hash.*fragment/);
    // the default table follows the channel count by itself: no -X
    expect(skipped(p, 'ethtool:ens1f0np0:indirection:table')).toMatch(/default table.*rebuilt for 16 queues/);
    const xps = nicChanges(p).filter((c) => c.kind === 'sysfs' && c.path.endsWith('xps_cpus'));
    expect(xps).toHaveLength(8);
    expect(xps.every((c) => c.source === 'intent:nic' && /rule nic.xps-unset/.test(c.reason))).toBe(true);
    const flows = nicChanges(p).filter((c) => c.kind === 'sysfs' && c.path.endsWith('rps_flow_cnt'));
    expect(flows.map((c) => c.to)).toEqual(Array.from({ length: 8 }, () => String(RFS_ENTRIES / 8)));
    expect(p.changes.find((c) => c.kind === 'sysctl' && c.key === 'net.core.rps_sock_flow_entries')?.to).toBe(String(RFS_ENTRIES));
    expect(p.notes.join('\n')).toMatch(/nettune-nic.service.*flow hashing and the indirection table have no .link setting/);
  });
  it('latency: adaptive off and a small fixed rx-usecs; rings kept', () => {
    const p = buildPlan(host(), params('latency'));
    expect(ethtool(p, 'coalesce')).toEqual(['adaptive-rx on→off']); // rx-usecs is already 8 µs
    const longTimer = buildPlan(
      host((l) => {
        if (l.ethtool?.coalesce) l.ethtool.coalesce['rx-usecs'] = 64;
      }),
      params('latency'),
    );
    expect(ethtool(longTimer, 'coalesce')).toEqual(['adaptive-rx on→off', `rx-usecs 64→${LATENCY_RX_USECS}`]);
    expect(ethtool(p, 'rings')).toEqual([]);
    expect(skipped(p, 'ethtool:ens1f0np0:rings:rx')).toMatch(/kept/);
  });
  it('throughput with adaptive off turns it on (rx and tx)', () => {
    const p = buildPlan(
      host((l) => {
        if (l.ethtool?.coalesce) Object.assign(l.ethtool.coalesce, { 'adaptive-rx': false, 'adaptive-tx': false });
      }),
      params('throughput'),
    );
    expect(ethtool(p, 'coalesce')).toEqual(['adaptive-rx off→on', 'adaptive-tx off→on']);
  });
  it('flow hashing: TCP on sd becomes sdfn; UDP only with --udp-flow-hash, with the fragmentation caveat', () => {
    const sdOnly = (l: Link) => {
      if (l.ethtool?.flow_hash) l.ethtool.flow_hash.tcp4 = ['IP SA', 'IP DA'];
    };
    const p = buildPlan(host(sdOnly), params('balanced'));
    expect(ethtool(p, 'flow-hash')).toEqual(['tcp4 sd→sdfn']);
    const u = buildPlan(host(sdOnly), params('balanced', { udp_flow_hash: true }));
    expect(ethtool(u, 'flow-hash')).toEqual(['tcp4 sd→sdfn', 'udp4 sd→sdfn']);
    expect(nicChanges(u).find((c) => c.kind === 'ethtool' && c.setting === 'udp4')?.reason).toMatch(/first fragment/);
    expect(u.params.udp_flow_hash).toBe('on');
  });
  it('indirection: a configured table that leaves queues out gets equal N after the channel change; an unrestorable one is left alone', () => {
    const equal4 = (l: Link) => {
      if (l.ethtool?.rss) l.ethtool.rss.indirection = Array.from({ length: 32 }, (_, i) => i % 4);
    };
    const p = buildPlan(host(equal4), params('throughput'));
    expect(ethtool(p, 'indirection')).toEqual(['table equal 4→equal 16']);
    // the plan is valid as a whole: -X equal 16 is judged after -L combined 16
    const v = validateChanges(p.changes.map((c) => ({ change: c, reason: c.reason, source: c.source })), host(equal4));
    expect(v.errors).toEqual([]);
    const order = v.changes.map((c) => (c.target.kind === 'ethtool' ? c.target.group : c.target.kind));
    expect(order.indexOf('channels')).toBeLessThan(order.indexOf('indirection'));
    const custom = buildPlan(
      host((l) => {
        if (l.ethtool?.rss) l.ethtool.rss.indirection = Array.from({ length: 32 }, (_, i) => 7 - (i % 8));
      }),
      params('throughput'),
    );
    expect(ethtool(custom, 'indirection')).toEqual([]);
    expect(skipped(custom, 'ethtool:ens1f0np0:indirection:table')).toMatch(/not one ethtool -X can rebuild/);
  });
  it('respects the device: no channels above its max, nothing lowered, virtio coalescing left to the hypervisor', () => {
    const p = buildPlan(host((l) => l.ethtool?.channels && (l.ethtool.channels.max.combined = 12)), params('throughput'));
    expect(ethtool(p, 'channels')).toEqual(['combined 8→12']);
    const few = snapshotFixture(); // 2 CPUs
    few.links.push(mlx5Link(few));
    expect(skipped(buildPlan(few, params('throughput')), 'ethtool:ens1f0np0:channels:combined')).toMatch(/does not lower/);
    const virtio = buildPlan(snapshotFixture(), params('latency'));
    expect(skipped(virtio, 'ethtool:eth0:coalesce')).toMatch(/hypervisor/);
    expect(skipped(virtio, 'ethtool:eth0:flow-hash:tcp4')).toMatch(/None.*cannot write back/);
  });
  it('--nic names the devices (also virtual ones); unknown names are skipped with the reason', () => {
    const p = buildPlan(host(), params('throughput', { nic: ['eth0', 'nope0'] }));
    expect(nicChanges(p).filter((c) => c.source === 'intent:nic')).toEqual([]); // the mlx5 port was not named (its audit findings still count)
    expect(nicChanges(p, 'eth0').map((c) => (c.kind === 'sysfs' ? c.path : ''))).toEqual(['/sys/class/net/eth0/queues/rx-0/rps_cpus', '/sys/class/net/eth0/queues/rx-0/rps_flow_cnt']);
    expect(skipped(p, 'nic:nope0')).toMatch(/no such device/);
    expect(p.params.nic).toBe('eth0,nope0');
  });
});
