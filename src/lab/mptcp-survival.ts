// MPTCP survival: one MPTCP transfer client → server over the lab's two paths while the path that
// carries the initial subflow is taken down (ip link set DEV down in the client's namespace) and,
// later, up again. The server's one-second receive buckets (sockgen.ts) give the throughput
// before, during and after; the connection survived when it kept delivering while the path was
// down and the transfer ended normally. Bounded: one transfer of `total_s` seconds, the link is
// always brought back up (also when the transfer fails).
import { run } from '../sys/run.js';
import { requireTool } from '../sys/tools.js';
import type { LabState } from './lab.js';
import { IPPROTO_MPTCP, sockgenThroughput } from './sockgen.js';

export interface SurvivalSpec {
  /** The client's device taken down (the initial subflow's path). */
  device: string;
  total_s: number;
  down_at_s: number;
  up_at_s: number;
}

export interface SurvivalResult {
  device: string;
  down_at_s: number;
  up_at_s: number;
  /** Bits per second received in each whole second of the transfer. */
  series_bps: number[];
  /** Means over the whole seconds of each phase, leaving out the second in which the link changed
   *  (the schedule and the receive buckets are aligned to about ±0.5 s) and the first (slow start). */
  before_bps: number | null;
  during_bps: number | null;
  after_bps: number | null;
  /** Extra subflows mid-transfer (MPTCP_INFO), null when the socket fell back to TCP. */
  subflows: number | null;
  survived: boolean;
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

export function phases(series: readonly number[], downAt: number, upAt: number): Pick<SurvivalResult, 'before_bps' | 'during_bps' | 'after_bps'> {
  const pick = (from: number, to: number): number[] => series.slice(from, Math.max(from, to));
  return { before_bps: mean(pick(1, downAt - 1)), during_bps: mean(pick(downAt + 1, upAt - 1)), after_bps: mean(pick(upAt + 1, series.length)) };
}

export async function runSurvival(lab: LabState, spec: SurvivalSpec, log: (l: string) => void): Promise<SurvivalResult> {
  const ns = lab.namespaces.client;
  const link = (state: 'up' | 'down'): Promise<unknown> => run(requireTool('ip'), ['-n', ns, 'link', 'set', spec.device, state], { timeoutMs: 5000 });
  const timers: NodeJS.Timeout[] = [];
  log(`  survival: one MPTCP transfer of ${spec.total_s} s; client ${spec.device} down at ${spec.down_at_s} s, up at ${spec.up_at_s} s`);
  try {
    const r = await sockgenThroughput({
      clientNs: ns,
      serverNs: lab.namespaces.server,
      target: lab.server_addrs[0] ?? '198.18.0.2',
      port: 5299,
      proto: IPPROTO_MPTCP,
      duration_s: spec.total_s,
      omit_s: 0,
      onStart: () => {
        timers.push(setTimeout(() => void link('down'), spec.down_at_s * 1000));
        timers.push(setTimeout(() => void link('up'), spec.up_at_s * 1000));
      },
    });
    const p = phases(r.series, spec.down_at_s, spec.up_at_s);
    return { device: spec.device, down_at_s: spec.down_at_s, up_at_s: spec.up_at_s, series_bps: r.series, ...p, subflows: r.mptcp_subflows, survived: (p.during_bps ?? 0) > 0 && r.series.length >= spec.total_s - 1 };
  } finally {
    for (const t of timers) clearTimeout(t);
    await link('up');
  }
}

const mbit = (v: number | null): string => (v === null ? '—' : `${(v / 1e6).toFixed(1)} Mbit/s`);

/** The report's section. */
export function survivalMarkdown(s: SurvivalResult | { error: string }): string[] {
  if ('error' in s) return ['## Survival (one path down mid-transfer)', '', `The survival transfer failed: ${s.error}`, ''];
  return [
    '## Survival (one path down mid-transfer)',
    '',
    `One MPTCP transfer with B's settings; the client's ${s.device} (the initial subflow's path) went down at ${s.down_at_s} s and up at ${s.up_at_s} s. ${s.survived ? 'The connection survived: it kept delivering on the other path.' : 'The connection did not survive the path going down.'}`,
    '',
    '| phase | seconds | throughput |',
    '|---|---|---|',
    `| before | 1–${s.down_at_s - 1} | ${mbit(s.before_bps)} |`,
    `| during (${s.device} down) | ${s.down_at_s + 1}–${s.up_at_s - 1} | ${mbit(s.during_bps)} |`,
    `| after (${s.device} up) | ${s.up_at_s + 1}–${s.series_bps.length - 1} | ${mbit(s.after_bps)} |`,
    '',
    `Per second (Mbit/s): ${s.series_bps.map((v) => (v / 1e6).toFixed(1)).join(' ')}. Extra subflows mid-transfer: ${s.subflows ?? 'none (not MPTCP)'}. The seconds in which the link changed are left out of the phases.`,
    '',
  ];
}
