// Hostile `apply --set` arguments for the kinds beyond sysctl: every one is refused by the parser
// (a string: the one-line problem apply exits 2 with) rather than silently picking one of two
// values or cutting a control character off.
import { describe, expect, it } from 'vitest';
import { parseSet } from '../../src/apply/validate.js';

const refused = (arg: string): void => {
  const r = parseSet(arg);
  expect(typeof r, `${JSON.stringify(arg)} → ${JSON.stringify(r)}`).toBe('string');
  expect(r as string).not.toMatch(/\n/);
};

describe('--set mptcp: duplicates and control characters are refused, not resolved silently', () => {
  it('a setting given twice', () => {
    for (const arg of [
      'mptcp:limits=subflows=2,subflows=3',
      'mptcp:limits=add_addr_accepted=1,add_addr_accepted=1',
      'mptcp:endpoint=198.18.5.1,dev=va,dev=lo',
      'mptcp:endpoint=198.18.5.1,id=5,id=6',
      'mptcp:endpoint=198.18.5.1,port=5,port=6,flags=signal',
      'mptcp:endpoint=198.18.5.1,flags=subflow,flags=backup',
      'mptcp:endpoint=198.18.5.1,subflow,flags=subflow',
    ])
      refused(arg);
  });
  it('a newline or another control character anywhere in the value', () => {
    for (const arg of ['mptcp:endpoint=198.18.5.1\n,dev=va', 'mptcp:endpoint=198.18.5.1,dev=va\n', 'mptcp:endpoint=198.18.5.1,\tdev=va\r', 'mptcp:limits=subflows=2\n'])
      refused(arg);
  });
  it('the well-formed forms still parse', () => {
    expect(parseSet('mptcp:endpoint=198.18.5.1,dev=va,flags=subflow+backup')).toMatchObject({ kind: 'mptcp', object: 'endpoint', address: '198.18.5.1', to: 'dev va subflow backup' });
    expect(parseSet('mptcp:limits=subflows=2, add_addr_accepted=1')).toMatchObject({ kind: 'mptcp', object: 'limits', to: 'subflows 2 add_addr_accepted 1' });
  });
});
