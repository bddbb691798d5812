// The flow-hash and indirection groups in every export format: carried by the NIC unit (systemd,
// ansible) and the shell script, named as not expressible by systemd.link and tuned.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { docFromPlan } from '../../src/export/source.js';
import { renderShell } from '../../src/export/shell.js';
import { renderSystemd } from '../../src/export/systemd.js';
import { renderTuned } from '../../src/export/tuned.js';
import { fixture } from '../helpers.js';
import { planSchema } from '../../src/plan/schema.js';

const opts = { revert: false, name: 'nettune', include: null };

function doc() {
  const plan = planSchema.parse(JSON.parse(fixture('export', 'plan.json')));
  plan.changes = [
    { kind: 'ethtool', device: 'eth0', group: 'flow-hash', setting: 'udp4', from: 'sd', to: 'sdfn', reason: 'udp hashing', source: 'test' },
    { kind: 'ethtool', device: 'eth0', group: 'indirection', setting: 'table', from: 'default', to: 'equal 4', reason: 'spread', source: 'test' },
    { kind: 'ethtool', device: 'eth0', group: 'rings', setting: 'rx', from: '256', to: '1024', reason: 'rings', source: 'test' },
  ];
  return docFromPlan(plan, 'plan.json');
}

describe('export of the RSS groups', () => {
  it('systemd: -N and -X in the unit; the .link file has only the ring, and the notes say why', () => {
    const r = renderSystemd(doc(), opts);
    const unit = r.files[0]?.content ?? '';
    expect(unit).toContain('ExecStart=/usr/sbin/ethtool -N eth0 rx-flow-hash udp4 sdfn');
    expect(unit).toContain('ExecStart=/usr/sbin/ethtool -X eth0 equal 4');
    expect(r.files[1]?.content).toContain('RxBufferSize=1024');
    expect(r.files[1]?.content).not.toMatch(/flow|equal/i);
    expect(r.notes.filter((n) => /systemd.link has no setting/.test(n))).toHaveLength(2);
  });
  it('tuned: named as not expressible', () => {
    const r = renderTuned(doc(), opts);
    expect(r.notes.filter((n) => /no RSS flow-hash or indirection option/.test(n))).toHaveLength(2);
    expect(r.files.map((f) => f.content).join('\n')).not.toContain('rx-flow-hash');
  });
  it("shell: one nt_set line each; the flow-hash getter (real awk) reads ethtool -n's lines as the letters nettune writes", () => {
    const script = renderShell(doc(), opts).files[0]?.content ?? '';
    expect(script).toContain("ethtool '-N' 'eth0' 'rx-flow-hash' 'udp4' 'sdfn'");
    expect(script).toContain("ethtool '-X' 'eth0' 'equal' '4'");
    const prog = /rx-flow-hash 'udp4' \| awk '([^']+)'/.exec(script)?.[1] ?? '';
    expect(prog).not.toBe('');
    const awk = (text: string): string => spawnSync('awk', [prog], { input: text, encoding: 'utf8' }).stdout.trim();
    expect(awk(fixture('ethtool', 'mlx5-flowhash-tcp4.txt'))).toBe('sdfn');
    expect(awk(fixture('ethtool', 'mlx5-flowhash-udp4.txt'))).toBe('sd');
    expect(awk(fixture('ethtool', 'virtio-flowhash-tcp4.txt'))).toBe('');
  });
});
