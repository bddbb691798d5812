// Snapshots carry the boot id; samples from two boots are never turned into rates, and audit
// --since says so instead of silently dropping them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/rules/engine.js';
import { allRules } from '../../src/rules/index.js';
import { snapshotSchema, type Snapshot } from '../../src/snapshot/schema.js';
import { nettune, snapshotFixture } from '../helpers.js';

const A = '0c0ffee0-0000-4000-8000-000000000001';
const B = '0c0ffee0-0000-4000-8000-000000000002';

function pair(bootA: string | undefined, bootB: string | undefined): { prev: Snapshot; snap: Snapshot } {
  const prev = snapshotFixture();
  const snap = snapshotFixture();
  if (bootA) prev.boot_id = bootA;
  if (bootB) snap.boot_id = bootB;
  prev.taken_at = new Date(Date.parse(snap.taken_at) - 60_000).toISOString();
  const p = prev.counters.netstat.TcpExt;
  const s = snap.counters.netstat.TcpExt;
  if (p && s) {
    Object.assign(p, { ListenOverflows: 10, ListenDrops: 10 });
    Object.assign(s, { ListenOverflows: 610, ListenDrops: 610 });
  }
  return { prev, snap };
}

describe('boot id', () => {
  it('same boot: counters become rates over the interval', () => {
    const { prev, snap } = pair(A, A);
    const r = evaluate(allRules, { snap, prev });
    expect(r.interval_s).toBe(60);
    expect(r.rebooted_between_samples).toBe(false);
    expect(r.findings.find((f) => f.id === 'backlog.listen-overflows')?.evidence[0]?.rate_per_s).toBe(10);
  });
  it('different boots: no rates, judged since the new boot, and the result says so', () => {
    const { prev, snap } = pair(A, B);
    const r = evaluate(allRules, { snap, prev });
    expect(r.rebooted_between_samples).toBe(true);
    expect(r.interval_s).toBeNull();
    const f = r.findings.find((x) => x.id === 'backlog.listen-overflows');
    expect(f?.severity).toBe('info'); // since boot only
    expect(f?.evidence[0]?.rate_per_s).toBeNull();
  });
  it('snapshots without a boot id (older captures) still give rates', () => {
    const { prev, snap } = pair(undefined, B);
    expect(evaluate(allRules, { snap, prev }).interval_s).toBe(60);
  });
  it('the probe records the kernel boot id', () => {
    const r = nettune('probe', '--json');
    expect(r.code).toBe(0);
    const snap = snapshotSchema.parse(JSON.parse(r.stdout));
    expect(snap.boot_id).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  });

  const dir = mkdtempSync(join(tmpdir(), 'nettune-h6-boot-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('audit --since across a reboot says so (stderr, header, JSON) instead of silently dropping rates', () => {
    const { prev, snap } = pair(A, B);
    const fa = join(dir, 'a.json');
    const fb = join(dir, 'b.json');
    writeFileSync(fa, JSON.stringify(prev));
    writeFileSync(fb, JSON.stringify(snap));
    const t = nettune('audit', '--snapshot', fb, '--since', fa);
    expect(t.code).toBe(0);
    expect(t.stderr).toMatch(new RegExp(`taken before a reboot \\(boot id ${A} → ${B}\\)`));
    expect(t.stdout).toMatch(/the host rebooted between the two samples/);
    const j = JSON.parse(nettune('audit', '--snapshot', fb, '--since', fa, '--json').stdout) as { rebooted_between_samples: boolean; interval_s: number | null };
    expect(j).toMatchObject({ rebooted_between_samples: true, interval_s: null });
    writeFileSync(fa, JSON.stringify({ ...prev, boot_id: B }));
    expect(nettune('audit', '--snapshot', fb, '--since', fa).stdout).toMatch(/rates over 60\.0 s/);
  });
});
