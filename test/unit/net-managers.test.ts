// What configures each interface, read from fixture trees laid out as on a host (state files under
// /run, /etc/network/interfaces with source/source-directory, /proc/N/comm): networkd with the
// .network file networkctl would name, NetworkManager, ifupdown (a stanza in a sourced file), none,
// and a namespace (never managed). The fleet's raw text gives the same verdicts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectNetManagers, hostFiles, ifupdownStanzas } from '../../src/probe/net-managers.js';
import { netManagerFilesFromRaw } from '../../src/probe/raw.js';

const roots: string[] = [];
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'nettune-netmgr-'));
  roots.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, dirname(p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const LINKS = [
  { name: 'lo', ifindex: 1 },
  { name: 'eth0', ifindex: 2 },
  { name: 'eth1', ifindex: 3 },
  { name: 'eth2', ifindex: 4 },
];

/** systemd 252's link state file as networkd writes it (networkd-state-file.c, link_save). */
const networkdLink = (admin: string, file: string | null): string =>
  ['# This is private data. Do not parse.', `ADMIN_STATE=${admin}`, 'OPER_STATE=routable', 'REQUIRED_FOR_ONLINE=yes', ...(file ? [`NETWORK_FILE=${file}`] : []), 'DNS=', ''].join('\n');

describe('detectNetManagers on fixture trees', () => {
  it('systemd-networkd: the link state names the .network file; unmanaged links and a stopped networkd are not networkd', () => {
    const root = tree({
      '/proc/1/comm': 'systemd\n',
      '/proc/412/comm': 'systemd-network\n',
      '/run/systemd/netif/links/1': networkdLink('unmanaged', null),
      '/run/systemd/netif/links/2': networkdLink('configured', '/etc/systemd/network/10-eth0.network'),
      '/run/systemd/netif/links/3': networkdLink('configured', '/run/systemd/network/10-netplan-eth1.network'),
    });
    const m = detectNetManagers(hostFiles(root), LINKS, true);
    expect(m.networkd).toBe(true);
    expect(m.links.map((l) => [l.name, l.manager, l.file])).toEqual([
      ['lo', 'none', null],
      ['eth0', 'networkd', '/etc/systemd/network/10-eth0.network'],
      ['eth1', 'networkd', '/run/systemd/network/10-netplan-eth1.network'],
      ['eth2', 'none', null],
    ]);
    expect(m.links[1]?.evidence).toBe('systemd-networkd runs; /run/systemd/netif/links/2: ADMIN_STATE=configured, NETWORK_FILE=/etc/systemd/network/10-eth0.network');
    expect(m.links[0]?.evidence).toMatch(/ADMIN_STATE=unmanaged, no \.network file/);
    expect(m.links[3]?.evidence).toMatch(/systemd-networkd runs but has no \/run\/systemd\/netif\/links\/4/);
    // the same state files, networkd not running (left over in /run): not networkd
    const stopped = tree({ '/proc/1/comm': 'systemd\n', '/run/systemd/netif/links/2': networkdLink('configured', '/etc/systemd/network/10-eth0.network') });
    const s = detectNetManagers(hostFiles(stopped), LINKS, true);
    expect(s.networkd).toBe(false);
    expect(s.links[1]).toMatchObject({ manager: 'none', evidence: expect.stringMatching(/systemd-networkd does not run/) as unknown });
  });

  it('ifupdown: a stanza in a file sourced by a wildcard or a source-directory, up or not per /run/network/ifstate', () => {
    const root = tree({
      '/usr/sbin/ifup': '',
      '/etc/network/interfaces': ['# The loopback network interface', 'auto lo', 'iface lo inet loopback', '', 'source /etc/network/interfaces.d/*', 'source-directory extra', ''].join('\n'),
      '/etc/network/interfaces.d/eth1': ['allow-hotplug eth1', 'iface eth1 inet static', '    address 198.18.1.2/24', 'iface eth1 inet6 auto', ''].join('\n'),
      // run-parts names only: a file with a dot is not included by source-directory
      '/etc/network/extra/eth2.disabled': 'iface eth2 inet dhcp\n',
      '/etc/network/extra/eth0-cfg': 'iface eth0 \\\n  inet dhcp\n',
      '/run/network/ifstate': 'lo=lo\n',
      '/run/network/ifstate.eth1': 'eth1\n',
    });
    const st = ifupdownStanzas(hostFiles(root));
    expect(st.files).toEqual(['/etc/network/interfaces', '/etc/network/interfaces.d/eth1', '/etc/network/extra/eth0-cfg']);
    expect(st.stanzas.map((s) => `${s.iface}@${s.file}:${s.line}`)).toEqual(['lo@/etc/network/interfaces:3', 'eth1@/etc/network/interfaces.d/eth1:2', 'eth1@/etc/network/interfaces.d/eth1:4', 'eth0@/etc/network/extra/eth0-cfg:1']);
    const m = detectNetManagers(hostFiles(root), LINKS, true);
    expect(m.ifupdown).toBe(true);
    expect(m.links.map((l) => [l.name, l.manager, l.file])).toEqual([
      ['lo', 'ifupdown', '/etc/network/interfaces'],
      ['eth0', 'ifupdown', '/etc/network/extra/eth0-cfg'],
      ['eth1', 'ifupdown', '/etc/network/interfaces.d/eth1'],
      ['eth2', 'none', null],
    ]);
    expect(m.links[2]?.evidence).toBe('iface eth1 in /etc/network/interfaces.d/eth1 line 2; up from it (/run/network/ifstate)');
    expect(m.links[1]?.evidence).toMatch(/not up from it now/);
    // the stanza without ifupdown installed is no manager
    const noIfup = tree({ '/etc/network/interfaces': 'iface eth1 inet dhcp\n' });
    expect(detectNetManagers(hostFiles(noIfup), LINKS, true).links[2]).toMatchObject({ manager: 'none', evidence: expect.stringMatching(/ifupdown is not installed/) as unknown });
  });

  it('NetworkManager: managed=true in its device state while it runs; networkd wins where both claim a link', () => {
    const root = tree({
      '/proc/700/comm': 'NetworkManager\n',
      '/proc/701/comm': 'systemd-network\n',
      '/sbin/ifup': '',
      '/etc/network/interfaces': 'iface eth2 inet manual\n',
      '/run/NetworkManager/devices/2': '[device]\nmanaged=true\nperm-hw-addr-fake=\nconnection-uuid=1b2c\n',
      '/run/NetworkManager/devices/3': '[device]\nmanaged=false\n',
      '/run/NetworkManager/devices/4': '[device]\nmanaged=true\n',
      '/run/systemd/netif/links/4': networkdLink('configured', '/etc/systemd/network/eth2.network'),
    });
    const m = detectNetManagers(hostFiles(root), LINKS, true);
    expect(m.network_manager).toBe(true);
    expect(m.links.map((l) => [l.name, l.manager])).toEqual([
      ['lo', 'none'],
      ['eth0', 'NetworkManager'],
      ['eth1', 'none'],
      ['eth2', 'networkd'],
    ]);
    expect(m.links[1]?.evidence).toBe('NetworkManager runs; /run/NetworkManager/devices/2: managed=true');
    expect(m.links[2]?.evidence).toMatch(/managed=false/);
  });

  it('nothing: every link none, saying what was looked at; a child namespace is never managed', () => {
    const root = tree({ '/proc/1/comm': 'init\n' });
    const m = detectNetManagers(hostFiles(root), LINKS, true);
    expect(m).toMatchObject({ networkd: false, network_manager: false, ifupdown: false });
    expect(m.links[1]?.evidence).toBe('no /run/systemd/netif/links/2, no /run/NetworkManager/devices/2, no iface eth0 stanza in /etc/network/interfaces (absent)');
    const full = tree({ '/proc/9/comm': 'systemd-network\n', '/sbin/ifup': '', '/etc/network/interfaces': 'iface eth0 inet dhcp\n', '/run/systemd/netif/links/2': networkdLink('configured', '/etc/systemd/network/a.network') });
    const ns = detectNetManagers(hostFiles(full), LINKS, false, 'nt-lab-a');
    expect(ns.links.every((l) => l.manager === 'none')).toBe(true);
    expect(ns.links[1]?.evidence).toMatch(/namespace nt-lab-a is not the initial one/);
  });

  it('the fleet: the net_managers source text gives the same verdicts as the files', () => {
    const files: Record<string, string> = {
      '/run/systemd/netif/links/2': networkdLink('configured', '/etc/systemd/network/10-eth0.network'),
      '/etc/network/interfaces': 'source /etc/network/interfaces.d/*\n',
      '/etc/network/interfaces.d/eth1': 'iface eth1 inet dhcp\n',
      '/run/network/ifstate': 'eth1=eth1\n',
    };
    const raw = [
      ...Object.entries(files).flatMap(([p, t]) => [`@@nettune-file@@ ${p}`, t]),
      '@@nettune-exists@@ /sbin/ifup',
      '@@nettune-proc@@ systemd-network',
      '',
    ].join('\n');
    const root = tree({ ...files, '/sbin/ifup': '', '/proc/5/comm': 'systemd-network\n' });
    expect(detectNetManagers(netManagerFilesFromRaw(raw), LINKS, true)).toEqual(detectNetManagers(hostFiles(root), LINKS, true));
    expect(detectNetManagers(netManagerFilesFromRaw(raw), LINKS, true).links.map((l) => l.manager)).toEqual(['none', 'networkd', 'ifupdown', 'none']);
  });
});
