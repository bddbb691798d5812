import { describe, expect, it } from 'vitest';
import type { Link, Snapshot } from '../../src/snapshot/schema.js';
import { cpuMask, nicRules, parseCpuList } from '../../src/rules/nic.js';
import { parseCoalesce, parseMaxCurrent } from '../../src/probe/parse-ethtool.js';
import { auditCase, firedIds, fixture } from '../helpers.js';

const finding = (r: ReturnType<typeof auditCase>, id: string, subject?: string) =>
  r.findings.find((f) => f.id === id && (subject === undefined || f.subject === subject));
const hits = (r: ReturnType<typeof auditCase>, id: string) => r.findings.filter((f) => f.id === id);

const eth0 = (s: Snapshot): Link => {
  const l = s.links.find((x) => x.name === 'eth0');
  if (!l?.ethtool) throw new Error('fixture has no eth0 with ethtool data');
  return l;
};
const eth = (l: Link) => {
  if (!l.ethtool) throw new Error(`${l.name} has no ethtool data`);
  return l.ethtool;
};

/** An 8-queue mlx5 port built from eth0 and the mlx5 ethtool fixtures (rings 1024/8192,
 *  8 of 63 combined channels, adaptive coalescing 8 µs / 128 frames). */
function addMlx5(s: Snapshot, edit?: (l: Link) => void): Link {
  const l = structuredClone(eth0(s));
  l.name = 'ens1f0np0';
  l.ifindex = 5;
  l.driver = 'mlx5_core';
  l.rx_queues = 8;
  l.tx_queues = 8;
  l.rps_cpus = Array.from({ length: 8 }, () => '0');
  l.xps_cpus = Array.from({ length: 8 }, (_, q) => (q % 2 ? '2' : '1')); // mlx5 sets an XPS map per channel
  l.speed_mbps = 25000;
  l.addresses = [];
  const e = eth(l);
  e.rings = parseMaxCurrent(fixture('ethtool', 'mlx5-g.txt')).data;
  e.channels = parseMaxCurrent(fixture('ethtool', 'mlx5-l.txt')).data;
  e.coalesce = parseCoalesce(fixture('ethtool', 'mlx5-c.txt')).data;
  e.driver_info = { ...(e.driver_info ?? {}), driver: 'mlx5_core' };
  edit?.(l);
  s.links.push(l);
  return l;
}
const mlx5 = (s: Snapshot): Link => {
  const l = s.links.find((x) => x.name === 'ens1f0np0');
  if (!l) throw new Error('no mlx5 link');
  return l;
};
const setFeature = (l: Link, name: string, v: { active: boolean; fixed: boolean | null; requested: boolean | null }) => {
  const f = eth(l).features;
  if (f) f[name] = v;
};

describe('nic rules on the real 6.18 snapshot', () => {
  it('the untouched virtio host: only the RPS advice fires', () => {
    for (const workload of ['balanced', 'throughput', 'latency', 'connections'] as const) {
      const ids = firedIds(auditCase(nicRules, { workload }));
      expect(ids.filter((id) => id !== 'nic.rps-unset-single-queue')).toEqual([]);
    }
  });

  it('the mlx5 port built from the fixtures is healthy as shipped', () => {
    const r = auditCase(nicRules, { mutate: (s) => addMlx5(s), workload: 'throughput' });
    expect(r.findings.filter((f) => f.subject === 'ens1f0np0')).toEqual([]);
  });

  it('without ethtool data the ethtool rules are skipped with the reason', () => {
    const r = auditCase(nicRules, { mutate: (s) => s.links.forEach((l) => (l.ethtool = null)) });
    expect(r.skipped).toContainEqual({ id: 'nic.offloads-off', reason: 'no ethtool data in the snapshot' });
    expect(r.skipped).toContainEqual({ id: 'nic.ring-small-with-drops', reason: 'no ethtool data in the snapshot' });
  });
});

describe('nic.offloads-off', () => {
  const gsoGroOff = (s: Snapshot) => {
    setFeature(eth0(s), 'generic-segmentation-offload', { active: false, fixed: false, requested: false });
    setFeature(eth0(s), 'generic-receive-offload', { active: false, fixed: false, requested: false });
  };

  it('fires per link with ethtool -K fixes; warn for throughput, info otherwise', () => {
    const r = auditCase(nicRules, { mutate: gsoGroOff, workload: 'throughput' });
    const f = finding(r, 'nic.offloads-off', 'eth0');
    expect(f?.severity).toBe('warn');
    expect(f?.message).toMatch(/GSO, GRO are off/);
    expect(f?.fix.changes).toEqual([
      { kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gso', from: 'off', to: 'on' },
      { kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro', from: 'off', to: 'on' },
    ]);
    expect(f?.fix.commands).toEqual(['ethtool -K eth0 gso on', 'ethtool -K eth0 gro on']);
    expect(f?.evidence).toContainEqual({ what: 'eth0 ethtool -k generic-receive-offload', value: 'off', note: 'not fixed' });
    expect(finding(auditCase(nicRules, { mutate: gsoGroOff }), 'nic.offloads-off')?.severity).toBe('info');
  });

  it('aggregates (tso, tx) count as changeable through their sub-features; fixed ones are left alone', () => {
    const txOff = (s: Snapshot) => {
      const l = eth0(s);
      setFeature(l, 'tx-checksumming', { active: false, fixed: null, requested: null });
      setFeature(l, 'tx-checksum-ip-generic', { active: false, fixed: false, requested: false });
      setFeature(l, 'tcp-segmentation-offload', { active: false, fixed: null, requested: null });
      setFeature(l, 'tx-tcp-segmentation', { active: false, fixed: false, requested: true });
      setFeature(l, 'tx-tcp6-segmentation', { active: false, fixed: false, requested: true });
    };
    const f = finding(auditCase(nicRules, { mutate: txOff }), 'nic.offloads-off', 'eth0');
    expect(f?.fix.changes.map((c) => (c.kind === 'ethtool' ? c.setting : c.kind))).toEqual(['tx', 'tso']);
    // The device cannot checksum at all: TSO cannot come on either, so nothing to say.
    const fixedOff = (s: Snapshot) => {
      txOff(s);
      setFeature(eth0(s), 'tx-checksum-ip-generic', { active: false, fixed: true, requested: false });
    };
    expect(firedIds(auditCase(nicRules, { mutate: fixedOff }))).not.toContain('nic.offloads-off');
    // rx-checksumming is [fixed] on virtio: off and fixed is not a finding.
    const rxFixed = (s: Snapshot) => setFeature(eth0(s), 'rx-checksumming', { active: false, fixed: true, requested: false });
    expect(firedIds(auditCase(nicRules, { mutate: rxFixed }))).not.toContain('nic.offloads-off');
  });

  it('loopback is never audited', () => {
    const r = auditCase(nicRules, {
      mutate: (s) => {
        const lo = s.links.find((l) => l.name === 'lo');
        if (lo) setFeature(lo, 'generic-receive-offload', { active: false, fixed: false, requested: false });
      },
    });
    expect(firedIds(r)).not.toContain('nic.offloads-off');
  });
});

describe('nic.lro-with-forwarding', () => {
  const lroOn = (s: Snapshot) => setFeature(eth0(s), 'large-receive-offload', { active: true, fixed: false, requested: true });

  it('critical with ip_forward=1, fixed by ethtool -K lro off', () => {
    const r = auditCase(nicRules, {
      mutate: (s) => {
        lroOn(s);
        s.sysctl['net.ipv4.ip_forward'] = '1';
      },
    });
    const f = finding(r, 'nic.lro-with-forwarding', 'eth0');
    expect(f?.severity).toBe('critical');
    expect(f?.confidence).toBe('high');
    expect(f?.evidence).toContainEqual({ what: 'net.ipv4.ip_forward', value: '1' });
    expect(f?.fix.commands).toEqual(['ethtool -K eth0 lro off']);
  });

  it('per-device IPv6 forwarding counts too', () => {
    const r = auditCase(nicRules, {
      mutate: (s) => {
        lroOn(s);
        s.sysctl['net.ipv6.conf.eth0.forwarding'] = '1';
      },
    });
    expect(finding(r, 'nic.lro-with-forwarding', 'eth0')?.evidence).toContainEqual({ what: 'net.ipv6.conf.eth0.forwarding', value: '1' });
  });

  it('a bridge on the host is a weaker signal: warn, low confidence', () => {
    const r = auditCase(nicRules, {
      mutate: (s) => {
        lroOn(s);
        const br = structuredClone(eth0(s));
        br.name = 'br0';
        br.kind = 'bridge';
        br.physical = false;
        br.ethtool = null;
        s.links.push(br);
      },
    });
    const f = finding(r, 'nic.lro-with-forwarding', 'eth0');
    expect(f?.severity).toBe('warn');
    expect(f?.confidence).toBe('low');
  });

  it('does not fire on an end host with LRO on, nor on a router with LRO off', () => {
    expect(firedIds(auditCase(nicRules, { mutate: lroOn }))).not.toContain('nic.lro-with-forwarding');
    expect(firedIds(auditCase(nicRules, { mutate: (s) => (s.sysctl['net.ipv4.ip_forward'] = '1') }))).not.toContain('nic.lro-with-forwarding');
  });
});

describe('nic.rss-queues-below-cpus', () => {
  const oneOfEight = (s: Snapshot) =>
    addMlx5(s, (l) => {
      const ch = eth(l).channels;
      if (ch) ch.current.combined = 1;
      l.rx_queues = 1;
    });

  it('fires when fewer queues than min(max, CPUs) are in use; warn for throughput', () => {
    const r = auditCase(nicRules, { mutate: oneOfEight, workload: 'throughput' });
    const f = finding(r, 'nic.rss-queues-below-cpus', 'ens1f0np0');
    expect(f?.severity).toBe('warn');
    expect(f?.fix.changes).toEqual([{ kind: 'ethtool', device: 'ens1f0np0', group: 'channels', setting: 'combined', from: '1', to: '2' }]);
    expect(f?.fix.commands).toEqual(['ethtool -L ens1f0np0 combined 2']);
    expect(f?.evidence).toContainEqual({ what: 'ens1f0np0 ethtool -l combined', value: '1 of max 63' });
    expect(finding(auditCase(nicRules, { mutate: oneOfEight }), 'nic.rss-queues-below-cpus')?.severity).toBe('info');
  });

  it('targets the CPU count on a bigger host', () => {
    const r = auditCase(nicRules, {
      mutate: (s) => {
        s.cpus = { online: 16, list: '0-15' };
        addMlx5(s);
      },
    });
    expect(finding(r, 'nic.rss-queues-below-cpus', 'ens1f0np0')?.fix.commands).toEqual(['ethtool -L ens1f0np0 combined 16']);
  });

  it('does not fire at 8 queues on 2 CPUs, nor for the 1-queue virtio device', () => {
    expect(firedIds(auditCase(nicRules, { mutate: (s) => addMlx5(s) }))).not.toContain('nic.rss-queues-below-cpus');
    expect(firedIds(auditCase(nicRules))).not.toContain('nic.rss-queues-below-cpus');
  });
});

describe('nic.rps-unset-single-queue', () => {
  it('fires on the fixture eth0 (virtio, one queue, 2 CPUs) with a sysfs change to mask 3', () => {
    const r = auditCase(nicRules);
    const f = finding(r, 'nic.rps-unset-single-queue', 'eth0');
    expect(f?.severity).toBe('info');
    expect(f?.fix.changes).toEqual([{ kind: 'sysfs', path: '/sys/class/net/eth0/queues/rx-0/rps_cpus', from: '0', to: '3' }]);
    expect(f?.fix.commands).toContain('echo 3 > /sys/class/net/eth0/queues/rx-0/rps_cpus');
    expect(f?.fix.commands).toContain('echo 32768 > /sys/class/net/eth0/queues/rx-0/rps_flow_cnt');
    expect(f?.evidence).toContainEqual({ what: '/sys/class/net/eth0/queues/rx-0/rps_cpus', value: '0' });
    // virtual single-queue devices (ifb) are not flagged
    expect(hits(r, 'nic.rps-unset-single-queue').map((h) => h.subject)).toEqual(['eth0']);
  });

  it('does not fire once RPS is set, on one CPU, or for a multi-queue NIC', () => {
    expect(firedIds(auditCase(nicRules, { mutate: (s) => (eth0(s).rps_cpus = ['3']) }))).not.toContain('nic.rps-unset-single-queue');
    expect(firedIds(auditCase(nicRules, { mutate: (s) => (s.cpus = { online: 1, list: '0' }) }))).not.toContain('nic.rps-unset-single-queue');
    const r = auditCase(nicRules, { mutate: (s) => addMlx5(s) });
    expect(finding(r, 'nic.rps-unset-single-queue', 'ens1f0np0')).toBeUndefined();
  });

  it('CPU masks are written like sysfs prints them', () => {
    expect(cpuMask([0, 1])).toBe('3');
    expect(cpuMask(parseCpuList('0-39') ?? [])).toBe('ff,ffffffff');
    expect(cpuMask(parseCpuList('31') ?? [])).toBe('80000000');
    expect(cpuMask(parseCpuList('0,32') ?? [])).toBe('1,00000001');
    expect(parseCpuList('0-3,8')).toEqual([0, 1, 2, 3, 8]);
    expect(parseCpuList('x')).toBeNull();
  });
});

describe('nic.coalesce-extremes', () => {
  const noCoalescing = (s: Snapshot) =>
    addMlx5(s, (l) => {
      const c = eth(l).coalesce;
      if (c) Object.assign(c, { 'adaptive-rx': false, 'rx-usecs': 0, 'rx-frames': 1 });
    });
  const slowTimer = (s: Snapshot) =>
    addMlx5(s, (l) => {
      const c = eth(l).coalesce;
      if (c) Object.assign(c, { 'adaptive-rx': false, 'rx-usecs': 250, 'rx-frames': 128 });
    });

  it('per-packet interrupts: info for throughput, fixed by adaptive-rx on', () => {
    const f = finding(auditCase(nicRules, { mutate: noCoalescing, workload: 'throughput' }), 'nic.coalesce-extremes', 'ens1f0np0');
    expect(f?.severity).toBe('info');
    expect(f?.fix.commands).toEqual(['ethtool -C ens1f0np0 adaptive-rx on']);
    expect(f?.evidence).toContainEqual({ what: 'ens1f0np0 ethtool -c rx-usecs', value: 0 });
  });

  it('without adaptive support the fix is a short timer', () => {
    const r = auditCase(nicRules, {
      mutate: (s) => {
        noCoalescing(s);
        const c = eth(mlx5(s)).coalesce;
        if (c) c['adaptive-rx'] = null;
      },
      workload: 'throughput',
    });
    expect(finding(r, 'nic.coalesce-extremes')?.fix.changes).toEqual([{ kind: 'ethtool', device: 'ens1f0np0', group: 'coalesce', setting: 'rx-usecs', from: '0', to: '8' }]);
  });

  it('a long timer warns for latency', () => {
    const f = finding(auditCase(nicRules, { mutate: slowTimer, workload: 'latency' }), 'nic.coalesce-extremes', 'ens1f0np0');
    expect(f?.severity).toBe('warn');
    expect(f?.message).toMatch(/up to 250 µs/);
    expect(f?.fix.commands).toEqual(['ethtool -C ens1f0np0 rx-usecs 8']);
  });

  it('does not fire for the other workload, with adaptive moderation, or on virtio', () => {
    expect(firedIds(auditCase(nicRules, { mutate: noCoalescing, workload: 'latency' }))).not.toContain('nic.coalesce-extremes');
    expect(firedIds(auditCase(nicRules, { mutate: slowTimer, workload: 'throughput' }))).not.toContain('nic.coalesce-extremes');
    const adaptive = (s: Snapshot) => {
      slowTimer(s);
      const c = eth(mlx5(s)).coalesce;
      if (c) c['adaptive-rx'] = true;
    };
    expect(firedIds(auditCase(nicRules, { mutate: adaptive, workload: 'latency' }))).not.toContain('nic.coalesce-extremes');
    // eth0 is virtio with rx-usecs 0 / rx-frames 1: the host decides, not a finding
    expect(firedIds(auditCase(nicRules, { workload: 'throughput' }))).not.toContain('nic.coalesce-extremes');
    const r = auditCase(nicRules, { workload: 'balanced', mutate: noCoalescing });
    expect(r.skipped).toContainEqual({ id: 'nic.coalesce-extremes', reason: 'not relevant for workload balanced' });
  });
});

describe('nic.ring-small-with-drops', () => {
  const missed = (n: number) => (s: Snapshot) => addMlx5(s, (l) => (l.statistics.rx_missed_errors = n));

  it('drops since boot only: info, with the since-boot note', () => {
    const f = finding(auditCase(nicRules, { mutate: missed(5000) }), 'nic.ring-small-with-drops', 'ens1f0np0');
    expect(f?.severity).toBe('info');
    expect(f?.confidence).toBe('medium');
    expect(f?.evidence[0]).toMatchObject({ what: 'link.ens1f0np0.statistics.rx_missed_errors', value: 5000, rate_per_s: null });
    expect(f?.evidence[0]?.note).toMatch(/since boot/);
    expect(f?.fix.changes).toEqual([{ kind: 'ethtool', device: 'ens1f0np0', group: 'rings', setting: 'rx', from: '1024', to: '8192' }]);
    expect(f?.fix.commands).toEqual(['ethtool -G ens1f0np0 rx 8192']);
  });

  it('drops during the interval: warn with the rate', () => {
    const r = auditCase(nicRules, { mutate: missed(5000), prev: (p) => (mlx5(p).statistics.rx_missed_errors = 4000), interval_s: 10 });
    const f = finding(r, 'nic.ring-small-with-drops', 'ens1f0np0');
    expect(f?.severity).toBe('warn');
    expect(f?.confidence).toBe('high');
    expect(f?.evidence[0]).toMatchObject({ what: 'link.ens1f0np0.statistics.rx_missed_errors', rate_per_s: 100 });
    expect(f?.message).toMatch(/100\.0\/s/);
  });

  it('only rx_dropped growing: still reported, with low confidence', () => {
    const r = auditCase(nicRules, { mutate: (s) => addMlx5(s, (l) => (l.statistics.rx_dropped = 10)) });
    expect(finding(r, 'nic.ring-small-with-drops', 'ens1f0np0')?.confidence).toBe('low');
  });

  it('does not fire when the counter stood still, without drops, or at the maximum ring', () => {
    const still = auditCase(nicRules, { mutate: missed(5000), prev: () => undefined, interval_s: 10 });
    expect(firedIds(still)).not.toContain('nic.ring-small-with-drops');
    expect(firedIds(auditCase(nicRules, { mutate: (s) => addMlx5(s) }))).not.toContain('nic.ring-small-with-drops');
    const atMax = (s: Snapshot) => {
      missed(5000)(s);
      const rings = eth(mlx5(s)).rings;
      if (rings) rings.current.rx = 8192;
    };
    expect(firedIds(auditCase(nicRules, { mutate: atMax }))).not.toContain('nic.ring-small-with-drops');
    // eth0 (virtio) already runs at its maximum of 256
    expect(firedIds(auditCase(nicRules, { mutate: (s) => (eth0(s).statistics.rx_missed_errors = 10) }))).not.toContain('nic.ring-small-with-drops');
  });
});

describe('nic.xps-unset', () => {
  it('fires on a multi-queue NIC with an all-zero XPS map and proposes one queue per CPU group', () => {
    const noXps = (s: Snapshot) => void addMlx5(s, (l) => (l.xps_cpus = l.xps_cpus.map(() => '0')));
    const r = auditCase(nicRules, { workload: 'connections', mutate: noXps });
    const f = finding(r, 'nic.xps-unset', 'ens1f0np0');
    expect(f?.severity).toBe('info');
    // 2 CPUs, 8 queues: queue q uses CPU q mod 2
    expect(f?.fix.changes.map((c) => (c.kind === 'sysfs' ? c.to : ''))).toEqual(['1', '2', '1', '2', '1', '2', '1', '2']);
    expect(f?.fix.commands[0]).toBe('echo 1 > /sys/class/net/ens1f0np0/queues/tx-0/xps_cpus');
  });
  it('stays quiet when the driver set a map, on single-queue NICs, and for the balanced workload', () => {
    expect(firedIds(auditCase(nicRules, { workload: 'connections', mutate: (s) => void addMlx5(s, (l) => (l.xps_cpus = l.xps_cpus.map((_, q) => (q % 2 ? '2' : '1')))) }))).not.toContain('nic.xps-unset');
    expect(firedIds(auditCase(nicRules, { workload: 'connections' }))).not.toContain('nic.xps-unset'); // eth0: 1 tx queue
    expect(firedIds(auditCase(nicRules, { mutate: (s) => void addMlx5(s, (l) => (l.xps_cpus = l.xps_cpus.map(() => '0'))) }))).not.toContain('nic.xps-unset');
  });
});
