// The exporter's families: values set in place across scrapes, vanished series and families
// removed, prom-client's text kept per family until a value changes, and every scrape's text the
// same as a fresh prom-client registry given the same values renders.
import fc from 'fast-check';
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createFamilies, type Families, type Labels } from '../../src/monitor/metrics-registry.js';

type Row = { kind: 'counter' | 'gauge'; name: string; value: number; labels?: Labels };

function scrape(f: Families, rows: Row[]): void {
  f.begin();
  for (const r of rows) f.set(r.kind, r.name, `help of ${r.name}`, r.value, r.labels);
  f.end();
}

/** What prom-client renders for these rows in a registry built from nothing. */
async function fresh(rows: Row[]): Promise<string> {
  const reg = new Registry();
  const metrics = new Map<string, Gauge | Counter>();
  for (const r of rows) {
    let m = metrics.get(r.name);
    if (!m) {
      const opts = { name: r.name, help: `help of ${r.name}`, labelNames: Object.keys(r.labels ?? {}), registers: [reg] };
      m = r.kind === 'gauge' ? new Gauge(opts) : new Counter(opts);
      metrics.set(r.name, m);
    }
    if (m instanceof Gauge) m.set(r.labels ?? {}, r.value);
    else m.inc(r.labels ?? {}, r.value);
  }
  return reg.metrics();
}

/** Lines per family, families by name (the order of families, and of series inside one, is not
 *  part of the format). */
const normal = (text: string): string[][] =>
  text
    .trim()
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      return [...lines.filter((l) => l.startsWith('#')), ...lines.filter((l) => !l.startsWith('#')).sort()];
    })
    .sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));

const text = async (f: Families): Promise<string> => (await f.render()).toString('utf8');

describe('exporter families', () => {
  it('sets values in place, removes a series and a family that went away, re-renders only what changed', async () => {
    const f = createFamilies();
    const one: Row[] = [
      { kind: 'counter', name: 'x_in_total', value: 10 },
      { kind: 'counter', name: 'x_dev_total', value: 5, labels: { device: 'eth0' } },
      { kind: 'counter', name: 'x_dev_total', value: 7, labels: { device: 'veth1' } },
      { kind: 'gauge', name: 'x_level', value: 3 },
      { kind: 'gauge', name: 'x_gone', value: 1 },
    ];
    scrape(f, one);
    expect(normal(await text(f))).toEqual(normal(await fresh(one)));
    expect(f.rendered()).toBe(4);

    // Nothing changed: nothing is rendered again, the text is the same.
    const before = await text(f);
    scrape(f, one);
    expect(await text(f)).toBe(before);
    expect(f.rendered()).toBe(0);

    // x_in_total moves, veth1 and x_gone go away.
    const two: Row[] = [
      { kind: 'counter', name: 'x_in_total', value: 12 },
      { kind: 'counter', name: 'x_dev_total', value: 5, labels: { device: 'eth0' } },
      { kind: 'gauge', name: 'x_level', value: 3 },
    ];
    scrape(f, two);
    const t2 = await text(f);
    expect(normal(t2)).toEqual(normal(await fresh(two)));
    expect(f.rendered()).toBe(2);
    expect(t2).not.toContain('veth1');
    expect(t2).not.toContain('x_gone');
    expect(f.names()).toEqual(['x_in_total', 'x_dev_total', 'x_level']);
  });

  it('a group is kept as it is while its key is the same object, and set again when it changes', async () => {
    const f = createFamilies();
    let fills = 0;
    const tuning = (key: object, rows: Row[]): void => {
      f.begin();
      f.group('tuning', key, () => {
        fills++;
        for (const r of rows) f.set(r.kind, r.name, `help of ${r.name}`, r.value, r.labels);
      });
      f.gauge('other_level', 'help of other_level', fills);
      f.end();
    };
    const a = {};
    const rowsA: Row[] = [
      { kind: 'gauge', name: 'knob', value: 1, labels: { key: 'k1' } },
      { kind: 'gauge', name: 'knob', value: 2, labels: { key: 'k2' } },
    ];
    tuning(a, rowsA);
    tuning(a, []);
    tuning(a, []);
    expect(fills).toBe(1);
    expect(await text(f)).toContain('knob{key="k2"} 2');
    const b = {};
    tuning(b, [{ kind: 'gauge', name: 'knob', value: 3, labels: { key: 'k1' } }]);
    expect(fills).toBe(2);
    const t = await text(f);
    expect(t).toContain('knob{key="k1"} 3');
    expect(t).not.toContain('k2');
    tuning({}, []);
    expect(await text(f)).not.toContain('knob');
  });

  it('a counter the kernel reset, a scaled non-integer and a huge total are served exactly', async () => {
    const f = createFamilies();
    for (const v of [1000, 3, 0.001, 0.003, 2 ** 53 - 1]) {
      scrape(f, [{ kind: 'counter', name: 'y_total', value: v }]);
      expect(await text(f)).toContain(`\ny_total ${v}\n`);
    }
  });

  it('ignores values that are not finite, negative counters and a name used by the other kind', async () => {
    const f = createFamilies();
    f.begin();
    f.gauge('z_level', 'h', Number.NaN);
    f.counter('z_total', 'h', -1);
    f.gauge('z_both', 'h', 1);
    f.counter('z_both', 'h', 2);
    f.end();
    const t = await text(f);
    expect(t).toContain('# TYPE z_both gauge\nz_both 1\n');
    expect(t).not.toContain('z_level');
    expect(t).not.toContain('z_total');
  });

  it('over any sequence of scrapes, the text equals a fresh registry with the same values', async () => {
    const row = fc.record({
      family: fc.constantFrom('a_total', 'b_total', 'c_level', 'd_level'),
      device: fc.option(fc.constantFrom('eth0', 'lo', 'veth9'), { nil: undefined }),
      value: fc.oneof(fc.nat(1000), fc.constantFrom(0.5, 1.25)),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(row, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), async (scrapes) => {
        const f = createFamilies();
        for (const s of scrapes) {
          // One label set per family (as the exporter does), the last value of a series holds.
          const rows = new Map<string, Row>();
          for (const r of s) {
            const labels = r.family.startsWith('a') || r.family.startsWith('c') ? { device: r.device ?? 'none' } : undefined;
            rows.set(`${r.family}/${labels?.device ?? ''}`, { kind: r.family.endsWith('_total') ? 'counter' : 'gauge', name: r.family, value: r.value, ...(labels ? { labels } : {}) });
          }
          scrape(f, [...rows.values()]);
          expect(normal(await text(f))).toEqual(normal(await fresh([...rows.values()])));
        }
      }),
      { numRuns: 150 },
    );
  });
});
