// `experiment show NAME`: one experiment's definition and method notes (no lab, no root).
import { describe, expect, it } from 'vitest';
import { nettune } from '../helpers.js';

describe('experiment show', () => {
  it('prints the claim, benchmark, arms and notes; --json is one document', () => {
    const h = nettune('experiment', 'show', 'listen-backlog');
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/^listen-backlog: somaxconn caps/);
    expect(h.stdout).toMatch(/benchmark: backlog backlog=4096 connects=1000/);
    expect(h.stdout).toMatch(/B: somaxconn 4096: server: net\.core\.somaxconn = 4096/);
    const j = nettune('experiment', 'show', 'conntrack-full', '--json');
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as { name: string; topology: string; bench: { kind: string; limit: number }; notes: string[]; arms: { a: { label: string }; b: { label: string; changes: string[] } } };
    expect(doc.name).toBe('conntrack-full');
    expect(doc.topology).toBe('router');
    expect(doc.bench).toMatchObject({ kind: 'ct-full', limit: 2048 });
    expect(doc.notes.join(' ')).toMatch(/early_drop/);
    expect(doc.arms.b.changes.join(' ')).toMatch(/computed in the lab by the planner \(nft\)/);
    const list = JSON.parse(nettune('experiment', 'list', '--json').stdout) as { experiments: { name: string; available: boolean }[] };
    for (const name of ['conntrack-full', 'notrack-crr']) expect(list.experiments.find((e) => e.name === name)?.available, name).toBe(true);
  });

  it('an unknown experiment is exit 2 with the list', () => {
    const r = nettune('experiment', 'show', 'no-such', '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/unknown experiment/);
  });
});
