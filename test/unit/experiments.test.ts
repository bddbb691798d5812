import { describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../../src/lab/experiments.js';
import { LAB_NAME } from '../../src/lab/lab.js';
import { allowedTarget } from '../../src/lab/bench.js';
import { findEntry, validateValue } from '../../src/catalog/index.js';

describe('built-in experiments', () => {
  it('each states a claim, a metric and arms; unavailable ones say why', () => {
    const names = new Set<string>();
    for (const e of EXPERIMENTS) {
      expect(names.has(e.name), e.name).toBe(false);
      names.add(e.name);
      expect(e.claim.length, e.name).toBeGreaterThan(40);
      expect(e.reps).toBeGreaterThan(0);
      expect(e.metric.unit.length).toBeGreaterThan(0);
      if (e.unavailable) expect(e.unavailable.length).toBeGreaterThan(20);
    }
    expect(names.size).toBeGreaterThanOrEqual(12);
  });
  it('every sysctl an arm sets is a valid value for its catalog entry', () => {
    for (const e of EXPERIMENTS) {
      for (const arm of [e.a, e.b, { changes: e.setup ?? {} }]) {
        if (arm === 'plan-buffers' || arm.changes === 'baseline' || typeof arm.changes === 'function') continue;
        for (const list of Object.values(arm.changes)) {
          for (const c of list ?? []) {
            if (c.kind !== 'sysctl') continue;
            const entry = findEntry(c.key);
            expect(entry, `${e.name}: ${c.key}`).toBeDefined();
            if (entry) expect(validateValue(entry, c.to).ok, `${e.name}: ${c.key}=${c.to}`).toBe(true);
          }
        }
      }
    }
  });
});

describe('lab safety', () => {
  it('load targets are loopback or the benchmarking range only', () => {
    for (const ok of ['127.0.0.1', '127.9.9.9', 'localhost', '::1', '198.18.0.2', '198.19.255.254']) expect(allowedTarget(ok), ok).toBe(true);
    for (const bad of ['10.0.0.1', '192.168.1.1', '172.16.0.1', '8.8.8.8', '198.20.0.1', 'example.com', '']) expect(allowedTarget(bad), bad).toBe(false);
  });
  it('lab names fit interface and namespace limits', () => {
    expect(LAB_NAME.test('bdp')).toBe(true);
    expect(LAB_NAME.test('a'.repeat(17))).toBe(false);
    expect(LAB_NAME.test('Bad_Name')).toBe(false);
  });
});
