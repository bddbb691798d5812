// The workload experiment's definition: what plan:auto plans for, the metric's direction, and
// workload flags refused on built-in experiments.
import { describe, expect, it } from 'vitest';
import { refuseWorkloadFlags, workloadDef } from '../../src/cli/experiment-workload.js';
import { workloadOf } from '../../src/lab/arm-sources.js';
import { parseCommand, type WorkloadSpec } from '../../src/lab/workload.js';
import { parseMetricSpec } from '../../src/lab/workload-metric.js';

const spec = (over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
  server: parseCommand('iperf3 -s -1', '--server'),
  client: parseCommand('iperf3 -c {server} -J', '--client'),
  metric: parseMetricSpec('json:end.sum_received.bits_per_second'),
  ready: { kind: 'tcp', port: 5201 },
  ready_timeout_s: 20,
  timeout_s: 50,
  duration_s: 10,
  plan_workload: 'balanced',
  ...over,
});

describe('workloadDef', () => {
  it('carries the metric direction and unit, and the claim the user expects', () => {
    const d = workloadDef(spec(), { better: 'lower', unit: 'ms', expect: 'b-better' });
    expect(d.metric).toEqual({ name: 'json:end.sum_received.bits_per_second', unit: 'ms', higher_is_better: false });
    expect(d.expect).toBe('b-better');
    expect(d.bench.kind).toBe('workload');
    expect(d.notes.join('\n')).toMatch(/ready when a TCP socket listening on port 5201/);
    expect(workloadDef(spec({ server: null }), { better: 'higher', unit: '', expect: 'b-not-better' }).claim).toMatch(/no better than A/);
  });

  it('plan:auto plans for the workload the user names', () => {
    expect(workloadOf(workloadDef(spec({ plan_workload: 'throughput' }), { better: 'higher', unit: '', expect: 'b-better' }).bench)).toBe('throughput');
    expect(workloadOf(workloadDef(spec(), { better: 'higher', unit: '', expect: 'b-better' }).bench)).toBe('balanced');
  });

  it('workload flags on a built-in experiment are refused', () => {
    expect(() => refuseWorkloadFlags('timestamps', { server: 'x', readyTimeout: '1s' })).toThrow(/--server, --ready-timeout: only for `experiment run workload`/);
    expect(() => refuseWorkloadFlags('timestamps', { reps: '3' })).not.toThrow();
  });
});
