// The fleet's Snapshot from raw text must be the live probe's Snapshot: the remote commands are run
// here by /bin/sh (what ssh hands them to on a host) and their text goes through snapshotFromRaw.
import { describe, expect, it } from 'vitest';
import { probe } from '../../src/probe/index.js';
import { ethtoolFromRaw, rawSourceCommands, snapshotFromRaw, sysctlFromRaw, sysfsFromRaw, type RawSource } from '../../src/probe/raw.js';
import { snapshotSchema, type ProbeError } from '../../src/snapshot/schema.js';
import { run } from '../../src/sys/run.js';

async function gatherHere(): Promise<Record<string, RawSource>> {
  const out: Record<string, RawSource> = {};
  await Promise.all(
    Object.entries(rawSourceCommands()).map(async ([name, cmd]) => {
      const r = await run('/bin/sh', ['-c', cmd], { timeoutMs: 30_000 });
      out[name] = { rc: r.code, stdout: r.stdout, stderr: r.stderr };
    }),
  );
  return out;
}

const VOLATILE = /(_count|file-nr|nf_conntrack_count|random\.|\.entropy)/;

describe('snapshotFromRaw', () => {
  it('builds from the remote commands the Snapshot the live probe builds', async () => {
    const [live, raw] = await Promise.all([probe(), gatherHere().then((s) => snapshotFromRaw(s))]);
    expect(snapshotSchema.safeParse(raw).success).toBe(true);
    const stable = (s: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(s).filter(([k]) => !VOLATILE.test(k)));
    expect(stable(raw.sysctl)).toEqual(stable(live.sysctl));
    expect(raw.sysctl_redacted).toEqual(live.sysctl_redacted);
    expect(raw.hostname).toBe(live.hostname);
    expect(raw.kernel).toEqual(live.kernel);
    expect(raw.netns).toEqual(live.netns);
    expect(raw.machine_id).toBe(live.machine_id);
    expect(raw.boot_id).toBe(live.boot_id);
    expect(raw.cpus).toEqual(live.cpus);
    expect(raw.memory.page_size).toBe(live.memory.page_size);
    expect(raw.conntrack === null).toBe(live.conntrack === null);
    expect(raw.conntrack?.slab).toEqual(live.conntrack?.slab);
    expect(Object.keys(raw.counters.snmp)).toEqual(Object.keys(live.counters.snmp));
    expect(raw.routes).toEqual(live.routes);
    const linkView = (s: typeof live) => s.links.map((l) => ({ ...l, statistics: Object.keys(l.statistics).sort() }));
    expect(linkView(raw)).toEqual(linkView(live));
    expect(raw.net_managers).toEqual(live.net_managers);
    expect(raw.errors).toEqual(live.errors);
  }, 60_000);

  it('reports a source that failed or was never gathered as an error, and still builds', async () => {
    const snap = await snapshotFromRaw({ snmp: { rc: 1, stdout: '', stderr: 'cat: /proc/net/snmp: No such file or directory\n' } });
    expect(snapshotSchema.safeParse(snap).success).toBe(true);
    expect(snap.errors).toContainEqual({ section: 'counters.snmp', source: 'cat /proc/net/snmp', message: 'exit 1: cat: /proc/net/snmp: No such file or directory' });
    expect(snap.errors.some((e) => e.section === 'links.ethtool' && /not installed/.test(e.message))).toBe(true);
    expect(snap.errors.some((e) => e.section === 'sysctl' && /not gathered/.test(e.message))).toBe(true);
  });

  it('keeps only net.* and the probe\'s extra keys, and redacts secrets by name, by mode and when unset', () => {
    const errors: ProbeError[] = [];
    const { values, redacted } = sysctlFromRaw(
      {
        rc: 0,
        stdout: 'kernel.hostname = x\nnet.ipv4.tcp_rmem = 4096\t131072  6291456\nnet.ipv4.tcp_fastopen_key = <redacted>\nnet.core.bpf_jit_harden = 0\nfs.file-max = 9\nnet.ipv4.conf.eth0/100.rp_filter = 1\n',
        stderr: 'sysctl: reading key "net.ipv4.tcp_x"\n',
      },
      'secret /proc/sys/net/core/bpf_jit_harden\nunset /proc/sys/net/ipv6/conf/all/stable_secret\n',
      errors,
    );
    expect(values).toEqual({ 'net.ipv4.tcp_rmem': '4096 131072 6291456', 'fs.file-max': '9', 'net.ipv4.conf.eth0/100.rp_filter': '1' });
    expect(errors).toEqual([{ section: 'sysctl', source: 'sysctl -a', message: 'sysctl: reading key "net.ipv4.tcp_x"' }]);
    expect(redacted).toEqual({ 'net.ipv4.tcp_fastopen_key': 'secret', 'net.core.bpf_jit_harden': 'secret', 'net.ipv6.conf.all.stable_secret': 'unset' });
  });

  it('answers ethtool questions from the recorded blocks and says which were never asked', async () => {
    const answer = ethtoolFromRaw('@@nettune-ethtool@@ 0 -l eth0\nChannel parameters for eth0:\n@@nettune-ethtool@@ 94 -g eth0\nnetlink error: Operation not supported\n');
    expect((await answer(['-l', 'eth0'])).stdout).toBe('Channel parameters for eth0:');
    const g = await answer(['-g', 'eth0']);
    expect(g.ok).toBe(false);
    expect(g.stderr).toMatch(/not supported/);
    expect((await answer(['-c', 'eth0'])).error).toMatch(/not asked/);
  });

  it('reads sysfs values, listings and driver links from the recorded text', () => {
    const fs = sysfsFromRaw('eth0/mtu:1500\neth0/address:52:54:00:12:34:56\neth0/statistics/rx_bytes:10\n', 'eth0/queues/rx-0\neth0/queues/tx-0\neth0/device\neth0/device/driver -> ../../../bus/virtio/drivers/virtio_net\n');
    expect(fs.text('/sys/class/net/eth0/address')).toBe('52:54:00:12:34:56');
    expect(fs.list('/sys/class/net').sort()).toEqual(['eth0']);
    expect(fs.list('/sys/class/net/eth0/queues').sort()).toEqual(['rx-0', 'tx-0']);
    expect(fs.exists('/sys/class/net/eth0/device')).toBe(true);
    expect(fs.exists('/sys/class/net/eth1')).toBe(false);
    expect(fs.link('/sys/class/net/eth0/device/driver')).toMatch(/virtio_net$/);
    expect(() => fs.list('/sys/class/net/eth1/statistics')).toThrow();
  });
});
