// Several MPTCP endpoints in one apply are judged against the state the earlier ones leave: two
// new endpoints get distinct ids, and an id given twice is refused before the lock (exit 2), not
// left to the kernel after the first write (exit 4, "duplicate one: -16").
import { describe, expect, it } from 'vitest';
import { parseSet, validateChanges, type InputChange } from '../../src/apply/validate.js';
import type { PlanChange } from '../../src/plan/types.js';
import { snapshotFixture } from '../helpers.js';

const input = (c: PlanChange | string): InputChange => {
  if (typeof c === 'string') throw new Error(c);
  return { change: c, reason: 'r', source: 's' };
};

function snap() {
  const s = snapshotFixture();
  s.sysctl['net.mptcp.enabled'] = '1';
  // endpoints on addresses the host has (others are refused without --force)
  for (const n of [1, 3, 4]) s.links[0]?.addresses.push({ family: 'inet', local: `198.18.5.${n}`, prefixlen: 24 });
  s.mptcp = { endpoints: [{ address: '198.18.5.1', id: 1, subflow: true, dev: s.links[0]?.name }], limits: { subflows: 2, add_addr_accepted: 0 } };
  return s;
}

describe('mptcp endpoints in one apply: ids against each other, not only against the live ones', () => {
  it('two new endpoints without an id get different ids', () => {
    const v = validateChanges([input(parseSet('mptcp:endpoint=198.18.5.3,flags=subflow')), input(parseSet('mptcp:endpoint=198.18.5.4,flags=subflow'))], snap());
    expect(v.errors).toEqual([]);
    const ids = v.changes.map((c) => /\bid (\d+)/.exec(c.to)?.[1]);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size, JSON.stringify(v.changes.map((c) => c.to))).toBe(2);
    expect(ids).not.toContain('1'); // the live endpoint's
  });
  it('the same explicit id on two endpoints is refused', () => {
    const v = validateChanges([input(parseSet('mptcp:endpoint=198.18.5.3,id=9,flags=subflow')), input(parseSet('mptcp:endpoint=198.18.5.4,id=9,flags=subflow'))], snap());
    expect(v.errors.join('; ')).toMatch(/id 9 is taken by 198\.18\.5\.3/);
  });
  it('an id freed by an earlier change in the same apply can be taken', () => {
    // 198.18.5.1 moves to id 5: id 1 becomes free for the new endpoint
    const v = validateChanges([input(parseSet('mptcp:endpoint=198.18.5.1,id=5,flags=subflow')), input(parseSet('mptcp:endpoint=198.18.5.4,id=1,flags=subflow'))], snap());
    expect(v.errors).toEqual([]);
    expect(v.changes).toHaveLength(2);
  });
});
