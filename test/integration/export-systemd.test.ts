// export --format systemd: the apply stage's NIC unit (checked by systemd-analyze verify) and a
// .link file per device with the settings systemd.link has.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNicUnit } from '../../src/apply/persist.js';
import { FIXTURES, nettune } from '../helpers.js';

const PLAN = join(FIXTURES, 'export', 'plan.json');
const tmp = mkdtempSync(join(tmpdir(), 'nettune-export-systemd-'));

describe('export --format systemd', () => {
  it('writes the NIC unit apply persists (every setting) and a .link file with what systemd.link can set', () => {
    const out = join(tmp, 'units');
    const r = nettune('export', PLAN, '--format', 'systemd', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const unit = readFileSync(join(out, 'nettune-nic.service'), 'utf8');
    // the apply stage's own reader recognises every line as one of its writes
    const parsed = parseNicUnit(unit);
    expect(parsed.dropped).toEqual([]);
    expect(parsed.lines.map((l) => l.argv.slice(-3).join(' '))).toEqual(['eth0 gro on', 'eth0 rx 1024', 'eth0 combined 2', 'eth0 rx-usecs 50', 'nettune-sysfs-write /sys/class/net/eth0/queues/rx-0/rps_cpus 3']);
    const v = spawnSync('systemd-analyze', ['verify', '--man=no', join(out, 'nettune-nic.service')], { encoding: 'utf8', timeout: 30_000 });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toBe('');
    const link = readFileSync(join(out, '10-nettune-eth0.link'), 'utf8');
    expect(link).toMatch(/^\[Match\]\nOriginalName=eth0\n\n\[Link\]\nNamePolicy=keep kernel database onboard slot path\n/m);
    expect(link.split('\n').filter((l) => /^[A-Z]\w+=/.test(l) && !/Policy=|OriginalName=/.test(l))).toEqual([
      'GenericReceiveOffload=yes',
      'RxBufferSize=1024',
      'CombinedChannels=2',
      'RxCoalesceSec=50us',
    ]);
    expect(r.stdout).toMatch(/note: \/sys\/class\/net\/eth0\/queues\/rx-0\/rps_cpus = 3: systemd\.link has no setting for it; only nettune-nic\.service carries it/);
  });

  it('prints the unit on stdout without --out', () => {
    const r = nettune('export', PLAN, '--format', 'systemd');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ExecStart=\/usr\/sbin\/ethtool -K eth0 gro on$/m);
    expect(r.stderr).toMatch(/10-nettune-eth0\.link is written only with --out DIR/);
  });
});
