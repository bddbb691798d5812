// Every audit rule has fixture tests (fires / does not fire) that name it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allRules } from '../../src/rules/index.js';

describe('rule tests', () => {
  it('every rule id appears in a rules-*.test.ts file', () => {
    const dir = import.meta.dirname;
    const text = readdirSync(dir)
      .filter((f) => f.startsWith('rules-') && f !== 'rules-coverage.test.ts')
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    expect(allRules.map((r) => r.id).filter((id) => !text.includes(`'${id}'`))).toEqual([]);
  });
  it('rule ids are unique and say their domain', () => {
    const ids = allRules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of allRules) expect(r.id.startsWith(`${r.domain}.`) || r.domain === 'latency', r.id).toBe(true);
  });
});
