import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMs, parseDuration, parseRate, round } from '../../src/units/index.js';
import { nettune } from '../helpers.js';

const SNAP = 'test/fixtures/snapshot-6.18.json';

describe('durations', () => {
  it('a bare number is refused with the units it accepts (tc reads it as microseconds)', () => {
    expect(() => parseDuration('10', '--rtt')).toThrow(/--rtt "10": a duration needs a unit: us, ms, s, m, h or d \(tc would read a bare number as microseconds\)/);
    expect(() => parseDuration('0.5', '--interval')).toThrow(/needs a unit/);
    expect(parseDuration('0', '--jitter')).toBe(0);
    expect(parseDuration('10', '--duration', { bareSeconds: true })).toBe(10);
  });
  it('accepts tc spellings: us, usec, ms, msec, s, sec, m, min, h, d', () => {
    expect(parseDuration('500usec', '--x')).toBeCloseTo(0.0005);
    expect(parseDuration('10msec', '--x')).toBeCloseTo(0.01);
    expect(parseDuration('2sec', '--x')).toBe(2);
    expect(parseDuration('1h', '--x')).toBe(3600);
  });
  it('CLI: --rtt 10 is exit 2 naming the units, for audit and plan', () => {
    for (const cmd of ['audit', 'plan']) {
      const r = nettune(cmd, '--snapshot', SNAP, '--workload', 'throughput', '--link', '1gbit', '--rtt', '10');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--rtt "10": a duration needs a unit/);
    }
  });
});

describe('rates', () => {
  it("accepts tc's IEC forms: kibit, mibit, gibit, tibit and kibps … gibps (bytes/s)", () => {
    expect(parseRate('1gibit')).toBe(1024 ** 3);
    expect(parseRate('10Mibit')).toBe(10 * 1024 ** 2);
    expect(parseRate('512kibit')).toBe(512 * 1024);
    expect(parseRate('1tibit')).toBe(1024 ** 4);
    expect(parseRate('1gibps')).toBe(8 * 1024 ** 3);
    expect(parseRate('2kibps')).toBe(2 * 8 * 1024);
    expect(parseRate('1tbps')).toBe(8e12);
  });
  it('a bare number is refused: tc would read it as bytes per second', () => {
    expect(() => parseRate('1000000', '--link')).toThrow(/--link "1000000": a rate needs a unit \(tc would read a bare number as bytes per second\)/);
  });
});

describe('display', () => {
  it('rounds float noise away: 0.01 ms, not 0.009999999999999998 ms', () => {
    expect(10 * 1e-6 * 1000).not.toBe(0.01); // the noise this guards against: 10us parsed, shown in ms
    expect(formatMs(0.00001)).toBe('0.01 ms');
    expect(formatMs(0.01)).toBe('10 ms');
    expect(formatMs(parseDuration('10us', '--rtt'))).toBe('0.01 ms');
    expect(round(12.500000001)).toBe(12.5);
  });
  it('property: formatMs of any parsed ms value prints the number typed (up to 4 significant digits)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 3 }), (n, dec) => {
        const typed = n / 10 ** dec;
        expect(formatMs(parseDuration(`${typed}ms`, '--rtt'))).toBe(`${round(typed)} ms`);
      }),
    );
  });
  it('plan and audit headers show the RTT rounded', () => {
    const p = nettune('plan', '--snapshot', SNAP, '--workload', 'throughput', '--link', '10gbit', '--rtt', '10us');
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/× 0\.01 ms/);
    const a = nettune('audit', '--snapshot', SNAP, '--workload', 'throughput', '--link', '10gbit', '--rtt', '0.3ms');
    expect(a.stdout).toMatch(/× 0\.3 ms/);
    expect(a.stdout).not.toMatch(/\d\.\d{8,}/);
  });
});
