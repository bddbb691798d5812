// An 8-queue mlx5 port for NIC tests, built from the snapshot's eth0 and the committed mlx5 ethtool
// fixtures (written to ethtool 6.1's text layout; see test/fixtures/README.md): rings 1024 of 8192,
// 8 of 63 combined channels, adaptive coalescing, a default 32-entry indirection table,
// tcp4 hashed on sdfn and udp4 on sd.
import type { Link, Snapshot } from '../../src/snapshot/schema.js';
import { parseCoalesce, parseFlowHash, parseMaxCurrent, parseRss } from '../../src/probe/parse-ethtool.js';
import { fixture } from '../helpers.js';

export function mlx5Link(s: Snapshot, name = 'ens1f0np0'): Link {
  const eth0 = s.links.find((x) => x.name === 'eth0');
  if (!eth0?.ethtool) throw new Error('fixture has no eth0 with ethtool data');
  const l = structuredClone(eth0);
  l.name = name;
  l.ifindex = 5;
  l.driver = 'mlx5_core';
  l.physical = true;
  l.rx_queues = 8;
  l.tx_queues = 8;
  l.rps_cpus = Array.from({ length: 8 }, () => '0');
  l.xps_cpus = Array.from({ length: 8 }, () => '0');
  l.addresses = [];
  const e = l.ethtool;
  if (!e) throw new Error('no ethtool');
  e.rings = parseMaxCurrent(fixture('ethtool', 'mlx5-g.txt')).data;
  e.channels = parseMaxCurrent(fixture('ethtool', 'mlx5-l.txt')).data;
  e.coalesce = parseCoalesce(fixture('ethtool', 'mlx5-c.txt')).data;
  e.rss = parseRss(fixture('ethtool', 'mlx5-x.txt')).data;
  e.flow_hash = { tcp4: parseFlowHash(fixture('ethtool', 'mlx5-flowhash-tcp4.txt')).data ?? [], udp4: parseFlowHash(fixture('ethtool', 'mlx5-flowhash-udp4.txt')).data ?? [] };
  e.driver_info = { ...(e.driver_info ?? {}), driver: 'mlx5_core' };
  return l;
}
