import { describe, expect, it } from 'vitest';
import { LAB_TABLE, routerRuleset } from '../../src/lab/ct-lab.js';
import { startFlood } from '../../src/lab/ct-flood.js';
import { EXPERIMENTS } from '../../src/lab/experiments.js';
import type { ArmContext } from '../../src/lab/arms.js';
import { labRuleset, plannedNotrack, plannerNotes, rawTableWithoutNotrack } from '../../src/lab/ct-arms.js';
import { nftTableProblem } from '../../src/apply/kind-nft.js';
import { renderNotrackTable } from '../../src/plan/notrack.js';
import { snapshotFixture } from '../helpers.js';

describe('conntrack lab router', () => {
  it('is stateful: established and untracked pass, invalid is dropped, policy drop', () => {
    const t = routerRuleset(null);
    expect(t.startsWith(`table inet ${LAB_TABLE} {`)).toBe(true);
    expect(t).toMatch(/type filter hook forward priority filter; policy drop;/);
    const rules = t.split('\n').map((l) => l.trim());
    const at = (re: RegExp): number => rules.findIndex((l) => re.test(l));
    expect(at(/^ct state established,related accept$/)).toBeGreaterThan(0);
    // untracked must be accepted before anything can drop it
    expect(at(/^ct state untracked counter name "ct_untracked" accept$/)).toBeLessThan(at(/ct state invalid .*drop$/));
    expect(t).not.toMatch(/ct count/);
  });

  it('the table limit is one ct count rule ahead of the rule that admits new flows', () => {
    const rules = routerRuleset(2048).split('\n').map((l) => l.trim());
    const limit = rules.findIndex((l) => l === 'ct state new ct count over 2048 counter name "ct_limit_drop" drop');
    const admit = rules.findIndex((l) => /^iifname "nt0" ct state new counter name "ct_new" accept$/.test(l));
    expect(limit).toBeGreaterThan(0);
    expect(admit).toBeGreaterThan(limit);
    for (const c of ['ct_new', 'ct_untracked', 'ct_invalid', 'ct_limit_drop']) expect(rules).toContain(`counter ${c} { }`);
  });

  it('the flood is bounded and targets only lab addresses, checked before anything starts', () => {
    const ok = { ns: 'nt-x-client', target: '198.18.0.6', port: 5353, flows: 100, fill: 50, rate: 10, max_s: 5 };
    expect(() => startFlood({ ...ok, target: '10.0.0.1' })).toThrow(/refusing/);
    expect(() => startFlood({ ...ok, flows: 40_001 })).toThrow(/40000/);
    expect(() => startFlood({ ...ok, fill: 101 })).toThrow(/fills/);
    expect(() => startFlood({ ...ok, max_s: 301 })).toThrow(/300 s/);
  });

  it('the conntrack experiments run on the router and record their method', () => {
    for (const name of ['conntrack-full', 'notrack-crr']) {
      const e = EXPERIMENTS.find((x) => x.name === name);
      expect(e?.topology).toBe('router');
      expect(e?.notes.length).toBeGreaterThan(2);
    }
  });
});

describe('conntrack experiment arms', () => {
  it('B is the planner\'s NOTRACK table for the flood, both directions; A the same table without rules', async () => {
    const snap = snapshotFixture();
    const ctx = { snapshot: () => Promise.resolve(snap) } as unknown as ArmContext;
    const b = await plannedNotrack('udp:5353')(ctx);
    const c = b.router?.[0];
    expect(c?.kind).toBe('nft');
    if (c?.kind !== 'nft') return;
    expect(c.table).toBe('nettune_raw');
    expect(c.to).toBe(renderNotrackTable({ direction: 'both', services: [{ proto: 'udp', ports: [[5353, 5353]] }] }));
    // a router forwards requests (dport) and replies (sport): both on prerouting
    expect(c.to).toMatch(/chain prerouting \{[^}]*udp dport 5353 notrack[^}]*udp sport 5353 notrack/);
    expect(plannerNotes('udp:5353').length).toBe(1);
    const a = rawTableWithoutNotrack();
    expect(a.kind === 'nft' && a.table).toBe('nettune_raw');
    expect(a.to).not.toMatch(/notrack/);
    expect(a.to).toMatch(/priority raw/);
    for (const x of [a, labRuleset(2048), labRuleset(null)]) if (x.kind === 'nft') expect(nftTableProblem({ kind: 'nft', family: x.family, table: x.table }, x.to)).toBeNull();
  });
});
