// Property tests (fast-check) for the value parser and validator against the kernel's rules, and
// for the sysctl.d precedence model lint implements.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findEntry, INT_MAX, INT_MIN, parseKernelNumber, ULONG_MAX, validateValue } from '../../src/catalog/index.js';
import type { CatalogEntry } from '../../src/catalog/schema.js';
import { lint } from '../../src/lint/index.js';
import { snapshotFixture } from '../helpers.js';

const entry = (key: string): CatalogEntry => {
  const e = findEntry(key);
  if (!e) throw new Error(key);
  return e;
};
const verdicts = (key: string, value: string, ctx = {}) => validateValue(entry(key), value, ctx).problems.map((p) => p.kernel);
const refused = (key: string, value: string, ctx = {}) => verdicts(key, value, ctx).includes('refuses');

/** How a number can be written for the kernel: decimal, 0x hex, 0-prefixed octal. */
const written = fc.tuple(fc.bigInt({ min: -(2n ** 66n), max: 2n ** 66n }), fc.constantFrom<'dec' | 'hex' | 'oct'>('dec', 'hex', 'oct')).map(([n, base]) => {
  const mag = n < 0n ? -n : n;
  const body = base === 'dec' ? mag.toString(10) : base === 'hex' ? `0x${mag.toString(16)}` : `0${mag.toString(8)}`;
  return { n, base, text: `${n < 0n ? '-' : ''}${body}` };
});

describe('parseKernelNumber (proc_get_long, base 0)', () => {
  it('reads back every number it can represent, in every base; refuses >64 bits and ≥21 characters', () => {
    fc.assert(
      fc.property(written, ({ n, text }) => {
        const r = parseKernelNumber(text);
        const mag = n < 0n ? -n : n;
        if (text.length >= 21 || mag > ULONG_MAX) expect(r.ok).toBe(false);
        else expect(r).toMatchObject({ ok: true, value: n });
      }),
      { numRuns: 2000 },
    );
  });
  it('a leading + or any trailing garbage is refused', () => {
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom('x', ',', '.', 'k', '_', '#'), (n, junk) => {
        expect(parseKernelNumber(`+${n}`).ok).toBe(false);
        // "0x1" is hex, not garbage: the kernel reads it as 1.
        if (n !== 0 || junk !== 'x') expect(parseKernelNumber(`${n}${junk}1`).ok).toBe(false);
      }),
    );
  });
  it('digits 8 and 9 after a leading zero are refused (octal)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-7]{0,6}[89][0-9]{0,4}$/), (tail) => {
        expect(parseKernelNumber(`0${tail}`).ok).toBe(false);
      }),
    );
  });
});

describe('handler bounds', () => {
  it('proc_dointvec (tcp_max_syn_backlog): refused exactly outside INT_MIN..INT_MAX', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }), (n) => {
        expect(refused('net.ipv4.tcp_max_syn_backlog', String(n))).toBe(n > INT_MAX || n < INT_MIN);
      }),
      { numRuns: 1000 },
    );
  });
  it('proc_dou8vec_minmax (tcp_sack): refused exactly outside 0..255 or with a sign', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (n) => {
        expect(refused('net.ipv4.tcp_sack', String(n))).toBe(n < 0 || n > 255);
      }),
    );
  });
  it('proc_douintvec (tcp_notsent_lowat): 0..UINT_MAX, no sign at all', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 34n }), (n) => {
        expect(refused('net.ipv4.tcp_notsent_lowat', String(n))).toBe(n > 2n ** 32n - 1n);
        expect(refused('net.ipv4.tcp_notsent_lowat', `-${n}`)).toBe(true);
      }),
    );
  });
  it('extra1/extra2 (tcp_min_snd_mss 48..65535), in any base the kernel reads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100000 }), fc.boolean(), (n, hex) => {
        const text = hex ? `0x${n.toString(16)}` : String(n);
        expect(refused('net.ipv4.tcp_min_snd_mss', text)).toBe(n < 48 || n > 65535);
      }),
    );
  });
  it('octal: the kernel stores the octal value, lint warns, plan/apply refuse', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (n) => {
        const c = validateValue(entry('net.ipv4.tcp_fin_timeout'), `0${n.toString(8)}`);
        expect(c.ok).toBe(false);
        expect(c.kernel_value).toBe(String(n));
        expect(c.problems.every((p) => p.kernel === 'accepts' && p.severity === 'warning')).toBe(true);
      }),
    );
  });
});

describe('vectors', () => {
  const int = fc.integer({ min: 1, max: 2 ** 31 - 1 });
  it('tcp_rmem: accepted by the kernel in any order; nettune refuses a descending vector', () => {
    fc.assert(
      fc.property(int, int, int, (a, b, c) => {
        const v = validateValue(entry('net.ipv4.tcp_rmem'), `${a} ${b} ${c}`);
        expect(v.problems.some((p) => p.kernel === 'refuses')).toBe(false);
        expect(v.ok).toBe(a <= b && b <= c);
      }),
    );
  });
  it('arity: only exactly three fields pass', () => {
    fc.assert(
      fc.property(fc.array(int, { minLength: 1, maxLength: 6 }), (xs) => {
        const sorted = [...xs].sort((x, y) => x - y);
        expect(validateValue(entry('net.ipv4.tcp_wmem'), sorted.join(' ')).ok).toBe(xs.length === 3);
      }),
    );
  });
  it('ip_local_port_range: refused exactly when descending, outside 1..65535, or below ip_unprivileged_port_start', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 70000 }), fc.integer({ min: -5, max: 70000 }), fc.integer({ min: 0, max: 65535 }), (lo, hi, start) => {
        const sysctl = { 'net.ipv4.ip_unprivileged_port_start': String(start) };
        const expectRefused = lo < 1 || hi < 1 || lo > 65535 || hi > 65535 || hi < lo || lo < start;
        expect(refused('net.ipv4.ip_local_port_range', `${lo} ${hi}`, { sysctl })).toBe(expectRefused);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('sysctl.d precedence (lint) against a reference model', () => {
  const KEYS = ['net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_max_syn_backlog', 'net.core.somaxconn'];
  const DIRS = ['etc', 'run', 'usr-local-lib', 'usr-lib'];
  const file = fc.record({
    dir: fc.integer({ min: 0, max: DIRS.length - 1 }),
    name: fc.constantFrom('10-a.conf', '50-b.conf', '50-c.conf', '90-z.conf', 'A.conf', 'a.conf'),
    lines: fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.integer({ min: 1, max: 99999 })), { maxLength: 4 }),
  });
  it('a name in an earlier directory masks later ones, files apply in name order, the last assignment wins', () => {
    const snap = snapshotFixture();
    fc.assert(
      fc.property(fc.array(file, { maxLength: 8 }), (files) => {
        const root = mkdtempSync(join(tmpdir(), 'nt-h1-prec-'));
        try {
          const dirs = DIRS.map((d) => join(root, d));
          for (const d of dirs) mkdirSync(d, { recursive: true });
          const placed = new Map<string, (typeof files)[number]>();
          for (const f of files) placed.set(`${f.dir}/${f.name}`, f); // the same path twice: the last write
          for (const f of placed.values()) writeFileSync(join(dirs[f.dir] ?? '', f.name), f.lines.map(([k, v]) => `${k} = ${v}`).join('\n'));
          // Reference: first directory wins per name; names in byte order; last line wins per key.
          const byName = new Map<string, (typeof files)[number]>();
          for (const f of [...placed.values()].sort((x, y) => x.dir - y.dir)) if (!byName.has(f.name)) byName.set(f.name, f);
          const order = [...byName.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
          const want: Record<string, string> = {};
          for (const n of order) for (const [k, v] of byName.get(n)?.lines ?? []) want[k] = String(v);
          const r = lint({ dirs, files: [] }, { snap });
          const got = Object.fromEntries(Object.entries(r.effective).map(([k, v]) => [k, v.value]));
          expect(got).toEqual(want);
          const masked = r.files.filter((f) => f.status === 'masked').length;
          expect(masked).toBe(placed.size - byName.size);
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      }),
      { numRuns: 150 },
    );
  });
});
