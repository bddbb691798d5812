// Hostile route `--set` values are refused before the lock (exit 2), never left to the kernel:
// table 0 is RT_TABLE_UNSPEC (reading it lists every table, writing it goes to main), and a
// control character in the value is refused, not taken as a blank.
import { describe, expect, it } from 'vitest';
import { parseSet, validateChanges } from '../../src/apply/validate.js';
import { snapshotFixture } from '../helpers.js';

const errorsOf = (arg: string): string[] => {
  const c = parseSet(arg);
  if (typeof c === 'string') return [c];
  return validateChanges([{ change: c, reason: 'r', source: 's' }], snapshotFixture()).errors;
};

describe('--set route: refused before the lock', () => {
  it('table 0 (unspec) is not a table nettune writes', () => {
    expect(errorsOf('route:0:default=via 192.0.2.1 dev eth0').join('; ')).not.toBe('');
    expect(errorsOf('route:0:10.9.0.0/16=dev eth0').join('; ')).not.toBe('');
  });
  it('a newline in the value', () => {
    expect(errorsOf('route:100:default=via 192.0.2.1\ndev eth0').join('; ')).not.toBe('');
  });
  it('the well-formed form still passes', () => {
    expect(errorsOf('route:100:default=via 192.0.2.1 dev eth0')).toEqual([]);
  });
});
