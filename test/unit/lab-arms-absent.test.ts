// The lab's baseline for an MPTCP endpoint it does not have is the plan change `absent`, so an A
// arm completed against B's endpoints removes them (mptcp-two-paths' A: the planner's endpoints
// removed, not plain TCP).
import { describe, expect, it } from 'vitest';
import { valueIn } from '../../src/lab/arms.js';
import { snapshotFixture } from '../helpers.js';

describe('the lab baseline of an MPTCP endpoint (hostile15)', () => {
  it('absent when the namespace has no such endpoint; its value when it has', () => {
    const snap = snapshotFixture();
    snap.mptcp = { endpoints: [{ address: '198.18.0.5', id: 1, subflow: true, dev: 'nt1' }], limits: { subflows: 2, add_addr_accepted: 0 } };
    expect(valueIn(snap, { kind: 'mptcp', object: 'endpoint', address: '198.18.0.9', from: null, to: 'id 2 subflow dev nt1' })).toBe('absent');
    expect(valueIn(snap, { kind: 'mptcp', object: 'endpoint', address: '198.18.0.5', from: null, to: 'id 1 subflow backup dev nt1' })).toBe('id 1 subflow dev nt1');
    expect(valueIn(snap, { kind: 'mptcp', object: 'limits', address: null, from: null, to: 'subflows 3 add_addr_accepted 0' })).toBe('subflows 2 add_addr_accepted 0');
  });
});
