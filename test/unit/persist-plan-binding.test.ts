// A plan applies only where it was made: host (hostname, machine id), namespace and `from` values.
import { describe, expect, it } from 'vitest';
import { checkBinding, renderDifferences, type LiveChange } from '../../src/apply/binding.js';
import { buildPlan } from '../../src/plan/index.js';
import { planSchema } from '../../src/plan/schema.js';
import { snapshotFixture } from '../helpers.js';

const host = { hostname: 'web1', machine_id: '3d1219c7c4c5404aaa1f6d2a48adfda4', kernel: '6.1.0', netns: null, snapshot_taken_at: 'T' };
const live = { hostname: 'web1', machine_id: '3d1219c7c4c5404aaa1f6d2a48adfda4', netns: null };
const sysctl = (from: string | null, to: string, now: string | null): LiveChange => ({ label: 'net.ipv4.tcp_sack', kind: 'sysctl', from, to, live: now });

describe('plan binding', () => {
  it('the same host, namespace and values: nothing to report', () => {
    expect(checkBinding(host, live, [sysctl('1', '0', '1')])).toEqual({ differences: [], notes: [] });
  });
  it('another hostname, machine id or namespace is a difference each', () => {
    const d = checkBinding(host, { hostname: 'web2', machine_id: 'ffffffffffffffffffffffffffffffff', netns: 'nt-x' }, []).differences;
    expect(d).toEqual([
      { key: 'hostname', plan: 'web1', live: 'web2' },
      { key: 'machine_id', plan: host.machine_id, live: 'ffffffffffffffffffffffffffffffff' },
      { key: 'netns', plan: null, live: 'nt-x' },
    ]);
    expect(renderDifferences(d)[2]).toBe('netns: plan has (none: the initial namespace), live is "nt-x"');
  });
  it('a cloned machine with the same hostname but another machine id is refused', () => {
    expect(checkBinding(host, { ...live, machine_id: '0123456789abcdef0123456789abcdef' }, []).differences.map((x) => x.key)).toEqual(['machine_id']);
  });
  it('a `from` value that changed since planning is listed with the plan\'s and the live value; already applied is fine', () => {
    const r = checkBinding(host, live, [sysctl('1', '0', '0'), { ...sysctl('4096 131072 6291456', '4096 131072 33554432', '4096  87380 6291456'), label: 'net.ipv4.tcp_rmem' }, sysctl(null, '0', '7')]);
    expect(r.differences).toEqual([{ key: 'net.ipv4.tcp_rmem', plan: '4096 131072 6291456', live: '4096  87380 6291456' }]);
    expect(renderDifferences(r.differences)).toEqual(['net.ipv4.tcp_rmem: plan has "4096 131072 6291456", live is "4096  87380 6291456"']);
  });
  it('a target that no longer exists is a difference; CPU masks compare by value', () => {
    const rps = (from: string, now: string | null): LiveChange => ({ label: '/sys/class/net/eth0/queues/rx-0/rps_cpus', kind: 'sysfs', from, to: 'f', live: now });
    expect(checkBinding(host, live, [rps('0', '00'), rps('00000000,00000000', '0')]).differences).toEqual([]);
    expect(checkBinding(host, live, [rps('0', null)]).differences).toEqual([{ key: '/sys/class/net/eth0/queues/rx-0/rps_cpus', plan: '0', live: null }]);
  });
  it('a plan of an older nettune (no machine_id) is checked by hostname, with a note', () => {
    const { machine_id: _m, ...old } = host;
    const r = checkBinding(old, live, []);
    expect(r.differences).toEqual([]);
    expect(r.notes[0]).toMatch(/older nettune.*hostname only/);
    expect(checkBinding({ ...old, hostname: 'web9' }, live, []).differences.map((x) => x.key)).toEqual(['hostname']);
    expect(planSchema.safeParse({ ...buildPlan(snapshotFixture(), { workload: 'balanced', link: null, conns: null, dead_peer_s: null }), host: old }).success).toBe(true);
  });
  it('no machine id on either side (empty /etc/machine-id): hostname only, with a note', () => {
    expect(checkBinding({ ...host, machine_id: null }, live, []).notes[0]).toMatch(/where the plan was made/);
    expect(checkBinding(host, { ...live, machine_id: null }, []).notes[0]).toMatch(/on this host/);
  });
  it('plans record the machine id of the Snapshot they were made from', () => {
    const snap = snapshotFixture();
    snap.machine_id = '3d1219c7c4c5404aaa1f6d2a48adfda4';
    expect(buildPlan(snap, { workload: 'balanced', link: null, conns: null, dead_peer_s: null }).host).toMatchObject({ hostname: snap.hostname, machine_id: snap.machine_id, netns: snap.netns.name });
  });
});
