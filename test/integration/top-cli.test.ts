// `nettune top` as users run it without a terminal (the bundle, stdout a pipe): one plain frame,
// --count frames, NDJSON, and bad input refused with exit 2 before anything is sampled.
import { describe, expect, it } from 'vitest';
import { nettune } from '../helpers.js';

describe('top (no terminal)', () => {
  it('--once prints one plain frame after one interval', () => {
    const r = nettune('top', '--once', '--interval', '300ms');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^nettune top · /gm)).toHaveLength(1);
    for (const s of ['LINK', 'TCP  act-opens', 'SOCK tcp', 'CPU', 'LIVE FINDINGS']) expect(r.stdout).toContain(s);
    expect(r.stdout).toMatch(/^lo\s+\d/m);
    expect(r.stdout).not.toContain('\x1b'); // plain: no escape sequences
    expect(r.stdout).not.toContain('q quits'); // and no key to offer: nothing reads the keyboard
    expect(r.stdout).toMatch(/audit rules on the last 0\.3\d* s/);
  });

  it('a non-TTY stdout without flags is one plain frame too', () => {
    const r = nettune('top', '--interval', '200ms');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^nettune top · /gm)).toHaveLength(1);
  });

  it('--count N without --json prints N plain frames', () => {
    const r = nettune('top', '--count', '2', '--interval', '200ms');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^nettune top · /gm)).toHaveLength(2);
  });

  it('--json --count 3 prints three NDJSON objects with the same names as the screen', () => {
    const r = nettune('top', '--json', '--count', '3', '--interval', '200ms');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    const docs = lines.map((l) => JSON.parse(l) as { schema: string; seq: number; interval_s: number; links: { name: string }[]; tcp: Record<string, unknown>; softnet: unknown[]; findings: unknown[] });
    expect(docs.map((d) => d.seq)).toEqual([2, 3, 4]);
    for (const d of docs) {
      expect(d.schema).toBe('nettune.top/1');
      expect(d.interval_s).toBeGreaterThan(0.15);
      expect(d.interval_s).toBeLessThan(1);
      expect(d.links.map((l) => l.name)).toContain('lo');
      expect(d.tcp).toHaveProperty('listen_overflows_ps');
      expect(d.softnet.length).toBeGreaterThan(0);
      expect(Array.isArray(d.findings)).toBe(true);
    }
  });

  it.each([
    [['--interval', 'fast'], /--interval "fast": not a duration/],
    [['--interval', '10'], /needs a unit/],
    [['--interval', '1ms'], /between 100ms and 1h/],
    [['--interval', '2h'], /between 100ms and 1h/],
    [['--count', '0'], /--count: 0 is outside 1/],
    [['--count', 'many'], /--count: a whole number/],
    [['--once', '--count', '2'], /--once is --count 1/],
    [['--netns', 'nt-h3-no-such-ns'], /network namespace "nt-h3-no-such-ns" does not exist/],
    [['--netns', '../x'], /invalid network namespace name/],
  ])('bad input %j is exit 2 with one line', (args, msg) => {
    const r = nettune('top', ...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(msg);
  });

  it('bad input with --json is one JSON error document', () => {
    const r = nettune('top', '--json', '--interval', 'soon');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { exit_code: 2 } });
  });
});
