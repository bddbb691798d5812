// nic.flow-hash-without-ports: the state the seed's `ethtool -N eth0 rx-vlan hash 0x3FFFFFFF`
// (not ethtool syntax) leaves behind, on the mlx5 fixture port of a 16-CPU host.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/rules/engine.js';
import { allRules } from '../../src/rules/index.js';
import type { Link, Snapshot } from '../../src/snapshot/schema.js';
import { snapshotFixture } from '../helpers.js';
import { mlx5Link } from './nic-link.js';

function host(edit?: (l: Link) => void): Snapshot {
  const s = snapshotFixture();
  s.cpus = { online: 16, list: '0-15' };
  const l = mlx5Link(s);
  edit?.(l);
  s.links.push(l);
  return s;
}

describe('audit: the seed left RSS hashing TCP on addresses only', () => {
  it('nic.flow-hash-without-ports fires with the per-flow-type command (warn for throughput); sdfn does not', () => {
    const sd = host((l) => {
      if (l.ethtool?.flow_hash) l.ethtool.flow_hash.tcp4 = ['IP SA', 'IP DA'];
    });
    const r = evaluate(allRules, { snap: sd, workload: 'throughput' });
    const f = r.findings.find((x) => x.id === 'nic.flow-hash-without-ports');
    expect(f).toMatchObject({ severity: 'warn', subject: 'ens1f0np0 tcp4' });
    expect(f?.message).toContain('`ethtool -N ens1f0np0 rx-flow-hash tcp4 sdfn`');
    expect(f?.fix.changes).toEqual([{ kind: 'ethtool', device: 'ens1f0np0', group: 'flow-hash', setting: 'tcp4', from: 'sd', to: 'sdfn' }]);
    expect(f?.fix.commands.join('\n')).toMatch(/not "ethtool -N ens1f0np0 rx-vlan hash …" \(no such syntax\)/);
    expect(evaluate(allRules, { snap: host(), workload: 'throughput' }).findings.some((x) => x.id === 'nic.flow-hash-without-ports')).toBe(false);
  });
});
