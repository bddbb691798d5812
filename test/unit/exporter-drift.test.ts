// Drift: live Snapshot against the last transaction in effect (a real journal in a temp state
// dir) or a plan file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addStep, beginTx, closeJournal, finishTx, openJournal, updateStep } from '../../src/apply/journal.js';
import { computeDrift, lastAppliedBaseline, loadPlanBaseline } from '../../src/monitor/drift.js';
import { NettuneError } from '../../src/sys/errors.js';
import { snapshotFixture } from '../helpers.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nettune-unit-drift-'));
  process.env.NETTUNE_STATE_DIR = dir;
});
afterEach(() => {
  closeJournal();
  delete process.env.NETTUNE_STATE_DIR;
  rmSync(dir, { recursive: true, force: true });
});

function applied(netns: string | null, steps: { key: string; wanted: string; after: string | null; status?: 'done' | 'restored' }[], status: 'applied' | 'rolled_back' = 'applied'): number {
  const db = openJournal();
  const id = beginTx(db, { netns, source: 'test', plan: null, before: null });
  steps.forEach((s, seq) => {
    addStep(db, { tx_id: id, seq, target: { kind: 'sysctl', key: s.key }, before: '0', wanted: s.wanted });
    updateStep(db, id, seq, { status: s.status ?? 'done', after: s.after });
  });
  finishTx(db, id, { status });
  return id;
}

describe('drift against the journal', () => {
  it('no journal: no baseline, nothing created', () => {
    expect(lastAppliedBaseline(null)).toBeNull();
    const r = computeDrift(snapshotFixture(), null);
    expect(r).toMatchObject({ baseline: null, entries: [], drifted: 0 });
    expect(r.note).toMatch(/no transaction/);
  });

  it('a key that still holds is 0, one changed behind our back is 1', () => {
    const snap = snapshotFixture();
    const somax = snap.sysctl['net.core.somaxconn'] ?? '';
    const id = applied(null, [
      { key: 'net.core.somaxconn', wanted: somax, after: somax },
      { key: 'net.ipv4.tcp_rmem', wanted: '4096   131072 33554432', after: null },
    ]);
    const r = computeDrift(snap, lastAppliedBaseline(null));
    expect(r.baseline).toMatchObject({ kind: 'transaction', id, status: 'applied' });
    const byKey = Object.fromEntries(r.entries.map((e) => [e.key, e]));
    expect(byKey['net.core.somaxconn']).toMatchObject({ drifted: false, actual: somax });
    // wanted is compared in the kernel's form (fields single-spaced) against the live value
    expect(byKey['net.ipv4.tcp_rmem']).toMatchObject({ expected: '4096 131072 33554432', actual: snap.sysctl['net.ipv4.tcp_rmem'], drifted: snap.sysctl['net.ipv4.tcp_rmem'] !== '4096 131072 33554432' });
    snap.sysctl['net.core.somaxconn'] = '128';
    expect(computeDrift(snap, lastAppliedBaseline(null)).entries.find((e) => e.key === 'net.core.somaxconn')).toMatchObject({ drifted: true, expected: somax, actual: '128' });
  });

  it('hex in the plan is compared as the kernel prints it', () => {
    const snap = snapshotFixture();
    snap.sysctl['net.core.somaxconn'] = '4096';
    applied(null, [{ key: 'net.core.somaxconn', wanted: '0x1000', after: null }]);
    expect(computeDrift(snap, lastAppliedBaseline(null)).entries[0]).toMatchObject({ expected: '4096', drifted: false });
  });

  it('only transactions in effect, only this namespace, restored steps left out', () => {
    applied('other-ns', [{ key: 'net.core.somaxconn', wanted: '1', after: '1' }]);
    expect(lastAppliedBaseline(null)).toBeNull();
    applied(null, [{ key: 'net.core.somaxconn', wanted: '1', after: '1' }], 'rolled_back');
    expect(lastAppliedBaseline(null)).toBeNull();
    applied(null, [
      { key: 'net.core.somaxconn', wanted: '1', after: '1', status: 'restored' },
      { key: 'net.ipv4.tcp_syncookies', wanted: '1', after: '1' },
    ]);
    expect(lastAppliedBaseline(null)?.expected.map((e) => e.target)).toEqual([{ kind: 'sysctl', key: 'net.ipv4.tcp_syncookies' }]);
    expect(lastAppliedBaseline('other-ns')?.expected).toHaveLength(1);
  });

  it('a key that disappeared is drift; a redacted one cannot be compared', () => {
    const snap = snapshotFixture();
    delete snap.sysctl['net.ipv4.tcp_fastopen_key'];
    snap.sysctl_redacted['net.ipv4.tcp_fastopen_key'] = 'secret';
    applied(null, [
      { key: 'net.ipv4.conf.gone0.rp_filter', wanted: '1', after: '1' },
      { key: 'net.ipv4.tcp_fastopen_key', wanted: 'x', after: null },
    ]);
    const r = computeDrift(snap, lastAppliedBaseline(null));
    expect(r.entries.find((e) => e.key.includes('gone0'))).toMatchObject({ drifted: true, actual: null });
    expect(r.entries.find((e) => e.key.includes('fastopen_key'))).toMatchObject({ drifted: null });
    expect(r).toMatchObject({ drifted: 1, unknown: 1, holding: 0 });
  });
});

describe('drift against a plan file', () => {
  const plan = (changes: unknown[]): string => {
    const file = join(dir, 'plan.json');
    const snap = snapshotFixture();
    writeFileSync(
      file,
      JSON.stringify({
        schema: 'nettune.plan/1',
        created_at: '2026-12-01T00:00:00Z',
        host: { hostname: snap.hostname, kernel: snap.kernel.release, netns: null, snapshot_taken_at: snap.taken_at },
        workload: 'balanced',
        link: null,
        params: {},
        changes,
        skipped: [],
        notes: [],
      }),
    );
    return file;
  };

  it('sysctl and ethtool changes from the plan', () => {
    const snap = snapshotFixture();
    const link = snap.links.find((l) => l.ethtool?.features);
    if (!link?.ethtool?.features) throw new Error('fixture has no ethtool features');
    const gro = link.ethtool.features['generic-receive-offload']?.active ? 'on' : 'off';
    const file = plan([
      { kind: 'sysctl', key: 'net.core.somaxconn', from: null, to: '65535', reason: 'r', source: 'intent:x' },
      { kind: 'ethtool', device: link.name, group: 'features', setting: 'gro', from: null, to: gro, reason: 'r', source: 'intent:x' },
    ]);
    const r = computeDrift(snap, loadPlanBaseline(file));
    expect(r.baseline).toMatchObject({ kind: 'plan', file });
    expect(r.entries.find((e) => e.kind === 'ethtool')).toMatchObject({ key: `ethtool:${link.name}:features.gro`, drifted: false });
    expect(r.entries.find((e) => e.key === 'net.core.somaxconn')?.drifted).toBe(snap.sysctl['net.core.somaxconn'] !== '65535');
  });

  it('not a plan: exit 2 naming the file', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"schema":"nope"}');
    expect(() => loadPlanBaseline(file)).toThrow(NettuneError);
    expect(() => loadPlanBaseline(file)).toThrow(/bad\.json: not a valid plan/);
    expect(() => loadPlanBaseline(join(dir, 'missing.json'))).toThrow(NettuneError);
  });
});
