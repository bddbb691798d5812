import { describe, expect, it } from 'vitest';
import { createAnchors } from '../../src/monitor/anchors.js';

const at = (mono_ms: number): { mono_ms: number } => ({ mono_ms });

describe('the samples the exporter audit is judged against', () => {
  it('judges against the newest kept sample at least the interval older, the oldest at start', () => {
    const a = createAnchors(1000, at(0));
    expect(a.judge(at(100))?.mono_ms).toBe(0); // none 1 s old yet: the oldest (100 is not kept: too close)
    expect(a.judge(at(300))?.mono_ms).toBe(0); // kept
    expect(a.judge(at(1100))?.mono_ms).toBe(0); // 300 is 800 ms old; 1100 kept
    expect(a.judge(at(1300))?.mono_ms).toBe(300); // 0 dropped; 1300 not kept (200 ms after 1100)
    expect(a.judge(at(2150))?.mono_ms).toBe(1100);
    expect(a.kept().map((x) => x.mono_ms)).toEqual([1100, 2150]);
  });

  it('keeps only samples a quarter interval apart and none older than the one chosen', () => {
    const a = createAnchors(1000, at(0));
    // 10 ms apart for 5 s: 500 samples, as under concurrent scrapers.
    for (let t = 10; t <= 5000; t += 10) {
      const prev = a.judge(at(t));
      expect(prev).not.toBeNull();
      const age = t - (prev as { mono_ms: number }).mono_ms;
      if (t >= 1000) {
        expect(age).toBeGreaterThanOrEqual(1000);
        expect(age).toBeLessThanOrEqual(1250);
      }
      expect(a.kept().length).toBeLessThanOrEqual(6);
    }
    const kept = a.kept().map((x) => x.mono_ms);
    for (let i = 1; i < kept.length; i++) expect((kept[i] as number) - (kept[i - 1] as number)).toBeGreaterThanOrEqual(250);
  });

  it('with scrapes further apart than the interval, every scrape is judged against the one before', () => {
    const a = createAnchors(1000, at(0));
    for (let k = 1; k <= 10; k++) expect(a.judge(at(k * 15_000))?.mono_ms).toBe((k - 1) * 15_000);
    expect(a.kept().map((x) => x.mono_ms)).toEqual([135_000, 150_000]);
  });

  it('a sample is never judged against itself or a later one', () => {
    const a = createAnchors<{ mono_ms: number }>(1000);
    expect(a.judge(at(5))).toBeNull();
    expect(a.judge(at(5))).toBeNull();
  });
});
