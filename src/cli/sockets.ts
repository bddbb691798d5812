// `nettune sockets`: every TCP connection with its cwnd, RTT, delivery rate, buffer use against
// the autotuning maxima, and what limits it (sndbuf, rwnd, cwnd, app), from ss's tcp_info.
import type { Command } from 'commander';
import { z } from 'zod';
import { classifySockets, limitsFromSysctl, type BufferLimits, type SocketView } from '../monitor/sockets.js';
import { readSockets } from '../probe/sockets.js';
import { usageError } from '../sys/errors.js';
import { sleep } from '../sys/process.js';
import { formatBytes, formatRate, parseDuration, round } from '../units/index.js';
import { getSnapshot, parseOptions, print, printJson } from './common.js';
import { plural, table } from './format.js';

const socketsOptions = z.object({
  json: z.boolean().optional(),
  netns: z.string().optional(),
  filter: z.string().max(4096).optional(),
  interval: z.string().optional(),
});

export interface SocketsReport {
  taken_at: string;
  netns: string | null;
  command: string[];
  filter: string | null;
  interval_s: number | null;
  limits: BufferLimits;
  /** Whether this ss prints the sender chronographs (busy:, rwnd_limited:, sndbuf_limited:). */
  chronographs: boolean;
  counts: { sockets: number; by_state: Record<string, number>; by_limiter: Record<string, number> };
  sockets: SocketView[];
  problems: string[];
}

const count = (xs: readonly (string | null)[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) if (x !== null) out[x] = (out[x] ?? 0) + 1;
  return out;
};

const short = (n: number | null): string => (n === null ? '?' : formatBytes(n).replace(' ', ''));
const pctText = (n: number | null): string => (n === null ? '?' : `${Math.round(n)}%`);

export function renderSockets(r: SocketsReport): string {
  const where = r.netns ? `netns ${r.netns}` : 'this namespace';
  const head = `TCP sockets in ${where}${r.filter ? ` matching ${JSON.stringify(r.filter)}` : ''}: ${plural(r.counts.sockets, 'socket')}${
    r.interval_s !== null ? `, shares over ${round(r.interval_s, 3)} s` : ', shares of busy time since each opened'
  } · tcp_wmem[2] ${short(r.limits.wmem_max)} · tcp_rmem[2] ${short(r.limits.rmem_max)}`;
  const lines = [head];
  if (!r.chronographs && r.sockets.some((s) => s.basis === 'queues')) lines.push('  (this ss prints no busy/rwnd_limited/sndbuf_limited: limits judged from the queues)');
  if (r.sockets.length === 0) return [...lines, '  no TCP sockets (add "state all" to the filter to include listening and TIME-WAIT ones)'].join('\n');
  const rows: string[][] = [['STATE', 'LOCAL', 'PEER', 'CWND', 'RTT', 'DELIVERY', 'SEND w/tb (tb/max)', 'RECV r/rb (rb/max)', 'LIMITED BY']];
  const shareText = (s: SocketView): string => {
    if (!s.limited_by) return '';
    const sh = (s.interval ?? s.since_open)?.shares;
    if (!sh) return s.limited_by;
    const parts = Object.entries(sh).filter(([, v]) => v !== null && v >= 0.01).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
    return `${s.limited_by} (${parts.map(([k, v]) => `${k} ${Math.round((v ?? 0) * 100)}%`).join(', ') || 'idle'})`;
  };
  for (const s of r.sockets) {
    rows.push([
      s.state,
      s.local,
      s.peer,
      s.cwnd === null ? '' : String(s.cwnd),
      s.rtt_ms === null ? '' : `${round(s.rtt_ms, 3)}ms`,
      s.delivery_rate_bps === null ? '' : formatRate(s.delivery_rate_bps).replace(' ', ''),
      s.send.sndbuf_bytes === null ? '' : `${short(s.send.queued_bytes)}/${short(s.send.sndbuf_bytes)} (${pctText(s.send.of_limit_pct)})`,
      s.recv.rcvbuf_bytes === null ? '' : `${short(s.recv.queued_bytes)}/${short(s.recv.rcvbuf_bytes)} (${pctText(s.recv.of_limit_pct)})`,
      shareText(s),
    ]);
  }
  lines.push(table(rows));
  const explained = r.sockets.filter((s) => s.reason && s.limited_by !== 'app');
  if (explained.length) {
    lines.push('');
    for (const s of explained) lines.push(`${s.local} → ${s.peer}: ${s.reason}`);
  }
  for (const p of r.problems) lines.push(`  ss: ${p}`);
  return lines.join('\n');
}

export async function socketsReport(o: { netns?: string; filter?: string; intervalS: number | null }): Promise<SocketsReport> {
  const read = { netns: o.netns ?? null, ...(o.filter !== undefined ? { filter: o.filter } : {}) };
  // The Snapshot (for tcp_wmem/tcp_rmem of the namespace the sockets live in) is taken while ss runs.
  const [first, snap] = await Promise.all([readSockets(read), getSnapshot({ ...(o.netns !== undefined ? { netns: o.netns } : {}) })]);
  let now = first;
  let previous;
  if (o.intervalS !== null) {
    await sleep(Math.max(0, o.intervalS * 1000 - (performance.now() - first.at_ms)));
    previous = first;
    now = await readSockets(read);
  }
  const limits = limitsFromSysctl(snap.sysctl);
  const views = classifySockets(now, limits, previous);
  return {
    taken_at: now.taken_at,
    netns: o.netns ?? null,
    command: now.command,
    filter: o.filter ?? null,
    interval_s: previous ? round((now.at_ms - previous.at_ms) / 1000, 4) : null,
    limits,
    chronographs: now.chronographs,
    counts: { sockets: views.length, by_state: count(views.map((v) => v.state)), by_limiter: count(views.map((v) => v.limited_by)) },
    sockets: views,
    problems: [...(previous?.problems ?? []), ...now.problems],
  };
}

export function registerSockets(program: Command): void {
  program
    .command('sockets')
    .description('TCP connections: cwnd, RTT, delivery rate, buffer use vs tcp_wmem/tcp_rmem, and what limits each (sndbuf, rwnd, cwnd, app)')
    .option('--json', 'print one JSON document on stdout')
    .option('--netns <name>', 'the sockets of this network namespace (ip netns)')
    .option('--filter <expr>', 'an ss filter ("dport = :443", "dst 198.18.0.2", "state all"), passed to ss as its arguments')
    .option('--interval <dur>', 'read twice this far apart and give each limit its share of the interval (e.g. 1s; 100ms–1h)')
    .action(async (raw: unknown) => {
      const opts = parseOptions(socketsOptions, raw);
      let intervalS: number | null = null;
      if (opts.interval !== undefined) {
        intervalS = parseDuration(opts.interval, '--interval');
        if (!(intervalS >= 0.1 && intervalS <= 3600)) throw usageError(`--interval ${opts.interval}: expected between 100ms and 1h`);
      }
      const report = await socketsReport({ ...(opts.netns !== undefined ? { netns: opts.netns } : {}), ...(opts.filter !== undefined ? { filter: opts.filter } : {}), intervalS });
      if (opts.json) printJson(report);
      else print(renderSockets(report));
    });
}
