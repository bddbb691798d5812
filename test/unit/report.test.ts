import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderMarkdown, renderSvgs, writeReport, type ExperimentResult } from '../../src/lab/report.js';
import { cdfChart, escapeXml, lineChart, logTicks, niceTicks } from '../../src/lab/svg.js';

/** Tiny well-formedness check: starts with <svg, every tag closed in order, no raw & or <. */
function checkSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(svg)) !== null) {
    const text = svg.slice(last, m.index);
    expect(text, `stray markup before ${m[0]}`).not.toMatch(/[<>]/);
    expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|apos|#\d+);)/);
    last = tag.lastIndex;
    const [, close, name, , self] = m;
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else if (!self) stack.push(name as string);
  }
  expect(svg.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

const series = (base: number, n = 10): { t: number; v: number }[] => Array.from({ length: n }, (_, i) => ({ t: i + 1, v: base + ((i * 7) % 5) * 1e7 }));

function result(over: Partial<ExperimentResult> = {}): ExperimentResult {
  return {
    name: 'bbr-vs-cubic',
    claim: 'BBR gets more throughput than CUBIC on a lossy 100 ms path',
    lab: { link: '1gbit', rtt_ms: 100, loss_pct: 0.5, kernel: '6.8.0', qdisc: null },
    metric: { name: 'throughput', unit: 'bit/s', higher_is_better: true },
    a: {
      label: 'cubic <default>',
      settings: { 'net.ipv4.tcp_congestion_control': 'cubic', 'net.core.default_qdisc': 'fq' },
      samples: [4.1e8, 3.9e8, 4.0e8],
      median: 4.0e8,
      median_bps: 4.0e8,
      series: [series(4e8), series(3.9e8), series(4.1e8)],
      latencies_ms: Array.from({ length: 500 }, (_, i) => 100 + (i % 50) * 0.4),
    },
    b: {
      label: 'bbr & fq',
      settings: { 'net.ipv4.tcp_congestion_control': 'bbr', 'net.core.default_qdisc': 'fq' },
      samples: [9.0e8, 9.2e8, 9.1e8],
      median: 9.1e8,
      median_bps: 9.1e8,
      series: [series(9e8), series(9.1e8), series(9.2e8)],
      latencies_ms: Array.from({ length: 500 }, (_, i) => 101 + (i % 100) * 0.9),
    },
    ratio: 2.275,
    ci95: [2.19, 2.36],
    verdict: 'better',
    reps: 3,
    order: ['A', 'B', 'B', 'A', 'A', 'B'],
    started_at: '2025-01-01T00:00:00Z',
    duration_s: 123.4,
    notes: ['CPU governor was performance', 'one | pipe'],
    link_bps: 1e9,
    ...over,
  };
}

describe('svg', () => {
  it('nice 1-2-5 ticks', () => {
    expect(niceTicks(0, 9.4)).toMatchObject({ min: 0, max: 10, step: 2, ticks: [0, 2, 4, 6, 8, 10] });
    expect(niceTicks(0, 1, 5).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.1, 0.37).step).toBe(0.05);
    expect(niceTicks(3, 3).ticks.length).toBeGreaterThan(1);
    expect(logTicks(0.3, 250).ticks).toEqual([0.1, 1, 10, 100, 1000]);
    expect(logTicks(1.2, 40).ticks).toEqual([1, 2, 5, 10, 20, 50, 100]);
  });

  it('escapes text', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    const svg = lineChart({ title: 'T & <x>', xLabel: 'x', yLabel: 'y', series: [{ name: '<A>', points: [{ x: 0, y: 1 }, { x: 1, y: 2 }] }] });
    checkSvg(svg);
    expect(svg).toContain('&lt;A&gt;');
  });

  it('empty and degenerate data still give a valid chart', () => {
    checkSvg(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] }));
    checkSvg(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [{ x: 1, y: NaN }, { x: 2, y: 5 }] }] }));
    checkSvg(cdfChart({ title: 't', xLabel: 'x', series: [{ name: 's', values: [] }] }));
    const log = cdfChart({ title: 't', xLabel: 'x', logX: true, series: [{ name: 's', values: [0, 0.5, 3, 40] }] });
    checkSvg(log);
    expect(log).toContain('1 value ≤ 0 not drawn');
  });

  it('a long legend is cut short instead of squeezing the plot away', () => {
    const series = Array.from({ length: 40 }, (_, k) => ({ name: `run ${k}`, points: [{ x: 0, y: k }, { x: 1, y: k + 1 }] }));
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series, width: 480, height: 300 });
    checkSvg(svg);
    expect(svg).toMatch(/… and \d+ more/);
  });

  it('large samples are thinned to about one step per pixel', () => {
    const values = Array.from({ length: 100_000 }, (_, i) => Math.exp((i % 9973) / 1000));
    const svg = cdfChart({ title: 't', xLabel: 'x', logX: true, series: [{ name: 's', values }] });
    checkSvg(svg);
    expect(svg.length).toBeLessThan(60_000);
  });
});

describe('report', () => {
  it('Markdown has the claim, verdict, CI, lab, settings and samples in run order', () => {
    const md = renderMarkdown(result());
    expect(md).toContain('# Experiment: bbr-vs-cubic');
    expect(md).toContain('BBR gets more throughput');
    expect(md).toContain('**Verdict: better.**');
    expect(md).toContain('[2.19, 2.36]');
    expect(md).toContain('2.275');
    expect(md).toMatch(/\| `rtt_ms` \| 100 \|/);
    expect(md).toMatch(/\| `net.ipv4.tcp_congestion_control` \| `cubic` \| `bbr` \| differs \|/);
    expect(md).toContain('| median throughput | 400 Mbit/s | 910 Mbit/s |');
    expect(md.match(/median throughput/g)).toHaveLength(1);
    expect(md).toContain('share of the 1 Gbit/s link');
    // run order A B B A A B: runs 3 and 4 are B rep 2 and A rep 2
    expect(md).toContain('| 3 | B | 2 | 920 Mbit/s |');
    expect(md).toContain('| 4 | A | 2 | 390 Mbit/s |');
    expect(md).toContain('latency p99');
    expect(md).toContain('- one | pipe');
    expect(md).toContain('![latency CDF](latency-cdf.svg)');
  });

  it('Markdown copes with no ratio and a mismatched order', () => {
    const md = renderMarkdown(result({ ratio: null, ci95: null, verdict: 'no detectable difference', order: ['A'], notes: [] }));
    expect(md).toContain('**Verdict: no detectable difference.**');
    expect(md).toContain('not computable');
    expect(md).toContain('does not match');
    expect(md).not.toMatch(/NaN|undefined/);
  });

  it('SVGs are well-formed and name both arms', () => {
    const svgs = renderSvgs(result());
    expect(Object.keys(svgs).sort()).toEqual(['latency-cdf.svg', 'throughput.svg']);
    for (const svg of Object.values(svgs)) {
      checkSvg(svg);
      expect(svg).toContain('A: cubic &lt;default&gt;');
      expect(svg).toContain('B: bbr &amp; fq');
    }
    expect(svgs['throughput.svg']).toContain('link 1 Gbit/s');
    expect(svgs['throughput.svg']).toContain('throughput (Gbit/s)');
  });

  it('only the figures the data allows', () => {
    const r = result();
    delete r.a.series;
    delete r.b.series;
    expect(Object.keys(renderSvgs(r))).toEqual(['latency-cdf.svg']);
    delete r.a.latencies_ms;
    delete r.b.latencies_ms;
    expect(renderSvgs(r)).toEqual({});
    expect(renderMarkdown(r)).not.toContain('## Figures');
  });

  describe('writeReport', () => {
    let dir = '';
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('writes report.md, result.json and the SVGs into a new directory', () => {
      dir = mkdtempSync(join(tmpdir(), 'nettune-report-'));
      const out = join(dir, 'nested', 'exp1');
      const r = result();
      const files = writeReport(out, r);
      expect(files.map((f) => f.slice(out.length + 1)).sort()).toEqual(['latency-cdf.svg', 'report.md', 'result.json', 'throughput.svg']);
      expect(readdirSync(out).sort()).toEqual(['latency-cdf.svg', 'report.md', 'result.json', 'throughput.svg']); // no temp files left
      for (const f of files) expect(existsSync(f)).toBe(true);
      expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))).toEqual(r);
      expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe(renderMarkdown(r));
      checkSvg(readFileSync(join(out, 'throughput.svg'), 'utf8'));
    });
  });
});
