// --metric json:PATH / regex:PATTERN: checked at parse time (exit 2), and a run whose output has
// no metric is a failed run (exit 3) that says what it found instead.
import { describe, expect, it } from 'vitest';
import { NettuneError } from '../../src/sys/errors.js';
import { extractMetric, parseJsonPath, parseMetricSpec } from '../../src/lab/workload-metric.js';
import { parseReady } from '../../src/lab/workload.js';

function code(fn: () => unknown): { exit: number; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NettuneError);
    return { exit: (err as NettuneError).exitCode, message: (err as Error).message };
  }
  throw new Error('expected an error');
}

// The shape of `iperf3 -c … -J` output (trimmed).
const IPERF = JSON.stringify({
  start: { connected: [{ socket: 5 }] },
  intervals: [{ sum: { bits_per_second: 1.1e9 } }, { sum: { bits_per_second: 1.3e9 } }],
  end: { sum_sent: { bits_per_second: 1.25e9, retransmits: 3 }, sum_received: { bits_per_second: 1.2e9 } },
});

describe('json: metric', () => {
  it('parses paths with keys, indices, negative indices and quoted keys', () => {
    expect(parseJsonPath('end.sum_received.bits_per_second')).toEqual(['end', 'sum_received', 'bits_per_second']);
    expect(parseJsonPath('.intervals[-1].sum')).toEqual(['intervals', -1, 'sum']);
    expect(parseJsonPath('["a.b"].c[0][1]')).toEqual(['a.b', 'c', 0, 1]);
    expect(parseJsonPath('.')).toEqual([]);
  });

  it('refuses malformed paths with exit 2', () => {
    for (const bad of ['', 'a..b', 'a.', 'a[x]', 'a[1', 'a b', '["a].b', 'a]b', '.[', 'a[1.5]']) {
      const e = code(() => parseMetricSpec(`json:${bad}`));
      expect(e.exit, bad).toBe(2);
    }
  });

  it('reads the value from the client JSON', () => {
    const m = parseMetricSpec('json:end.sum_received.bits_per_second');
    expect(extractMetric(m, IPERF, '')).toBe(1.2e9);
    expect(extractMetric(parseMetricSpec('json:intervals[-1].sum.bits_per_second'), IPERF, '')).toBe(1.3e9);
    expect(extractMetric(parseMetricSpec('json:.'), ' 42\n', '')).toBe(42);
    expect(extractMetric(parseMetricSpec('json:x'), '{"x":"  12.5 "}', '')).toBe(12.5);
    // a banner before the document, or JSON lines: the last line that parses
    expect(extractMetric(parseMetricSpec('json:n'), 'starting…\n{"n":1}\n{"n":2}\n', '')).toBe(2);
  });

  it('a miss is a failed run (exit 3) that says where the path stopped', () => {
    expect(code(() => extractMetric(parseMetricSpec('json:end.sum_recieved.bits_per_second'), IPERF, '')).message).toMatch(/no "sum_recieved" in end \(keys there: sum_sent, sum_received\)/);
    expect(code(() => extractMetric(parseMetricSpec('json:intervals[5]'), IPERF, '')).message).toMatch(/intervals has 2 elements/);
    expect(code(() => extractMetric(parseMetricSpec('json:end'), IPERF, '')).message).toMatch(/end is an object, not a number/);
    expect(code(() => extractMetric(parseMetricSpec('json:x'), '{"x":"12 ms"}', '')).message).toMatch(/not a number/);
    expect(code(() => extractMetric(parseMetricSpec('json:x'), '{"error":"unable to connect to server"}', '')).message).toMatch(/the output says: unable to connect/);
    expect(code(() => extractMetric(parseMetricSpec('json:x'), 'iperf3: error', '')).exit).toBe(3);
    expect(code(() => extractMetric(parseMetricSpec('json:x'), '', 'boom')).message).toMatch(/printed nothing on stdout/);
  });
});

describe('regex: metric', () => {
  const WRK = 'Running 2s test @ http://198.18.0.2/\n  2 threads and 10 connections\nRequests/sec:  41234.56\nTransfer/sec:      5.01MB\n';

  it('needs exactly one capture group and a valid pattern (exit 2 at parse time)', () => {
    expect(code(() => parseMetricSpec('regex:Requests/sec')).message).toMatch(/exactly one capture group, it has 0/);
    expect(code(() => parseMetricSpec('regex:(a)(b)')).message).toMatch(/it has 2/);
    expect(code(() => parseMetricSpec('regex:(a')).message).toMatch(/not a valid regular expression/);
    expect(code(() => parseMetricSpec('regex:')).exit).toBe(2);
    expect(code(() => parseMetricSpec('jq:.x')).exit).toBe(2);
    expect(parseMetricSpec('regex:(?:a|b)(?<n>\\d+)').kind).toBe('regex');
  });

  it('captures the first match in stdout, then stderr', () => {
    expect(extractMetric(parseMetricSpec('regex:^Requests/sec:\\s+([\\d.]+)$'), WRK, '')).toBe(41234.56);
    expect(extractMetric(parseMetricSpec('regex:real=([\\d.]+)'), 'nothing', 'real=1.5\n')).toBe(1.5);
  });

  it('a capture that is not a number, or no match, fails the run (exit 3)', () => {
    expect(code(() => extractMetric(parseMetricSpec('regex:Transfer/sec:\\s+(\\S+)'), WRK, '')).message).toMatch(/captured "5.01MB", which is not a number/);
    expect(code(() => extractMetric(parseMetricSpec('regex:Latency\\s+([\\d.]+)'), WRK, '')).exit).toBe(3);
    expect(code(() => extractMetric(parseMetricSpec('regex:x(y)?'), 'x', '')).message).toMatch(/captured nothing/);
  });
});

describe('--ready', () => {
  it('parses tcp, tcp:PORT, udp:PORT, delay:DUR and refuses the rest with exit 2', () => {
    expect(parseReady('tcp')).toEqual({ kind: 'tcp', port: null });
    expect(parseReady('tcp:5201')).toEqual({ kind: 'tcp', port: 5201 });
    expect(parseReady('udp:11111')).toEqual({ kind: 'udp', port: 11111 });
    expect(parseReady('delay:500ms')).toEqual({ kind: 'delay', s: 0.5 });
    for (const bad of ['tcp:0', 'tcp:65536', 'tcp:x', 'udp', 'http:80', 'delay:1h', 'delay:x']) expect(code(() => parseReady(bad)).exit, bad).toBe(2);
  });
});
