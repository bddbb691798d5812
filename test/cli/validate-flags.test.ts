// One numeric-flag parser: plan and apply give the same answer (exit 2, one line) for the same
// --conns text, before probing or touching anything.
import { describe, expect, it } from 'vitest';
import { CONNS, parseCount } from '../../src/cli/flags.js';
import { join } from 'node:path';
import { FIXTURES, nettune } from '../helpers.js';

describe('numeric flags', () => {
  it('parseCount: decimal only, bounded', () => {
    expect(parseCount('1', CONNS)).toBe(1);
    expect(parseCount('1000000000', CONNS)).toBe(1e9);
    for (const bad of ['0', '-5', '+5', '0x10', '010', '1e3', '1.5', '', ' ', '1000000001', '99999999999999999999999', 'ten']) expect(typeof parseCount(bad, CONNS), bad).toBe('string');
  });
  it('plan and apply refuse the same --conns with the same message and exit 2', () => {
    for (const bad of ['-1', '0x10', '010', '1e9', '99999999999999999999']) {
      const p = nettune('plan', '--workload', 'connections', '--conns', bad, '--snapshot', join(FIXTURES, 'snapshot-6.18.json'));
      const a = nettune('apply', '--workload', 'connections', '--conns', bad, '--dry-run');
      expect(p.code, `plan --conns ${bad}`).toBe(2);
      expect(a.code, `apply --conns ${bad}`).toBe(2);
      const line = (s: string) => s.trim().split('\n').filter((l) => l.includes('--conns'))[0];
      expect(line(p.stderr)).toBeDefined();
      expect(line(a.stderr)).toBe(line(p.stderr));
    }
  });
});
