// `nettune bench throughput|rr|crr|backlog|keepalive --lab NAME | --target HOST`, and the hidden
// helper processes the generators run inside lab namespaces.
import type { Command } from 'commander';
import { z } from 'zod';
import { backlogBench, checkTarget, connectBurst, keepaliveBench, rrBench, rrClient, rrServer, throughput } from '../lab/bench.js';
import { readLab, validLabName } from '../lab/lab.js';
import { percentiles } from '../lab/stats.js';
import { parseDuration, formatRate } from '../units/index.js';
import { usageError } from '../sys/errors.js';
import { installStopHandlers } from '../sys/signals.js';
import { ensureTools, installAllowed } from '../sys/tools.js';
import { logErr, parseOptions, print, printJson, withJson } from './common.js';
import { table } from './format.js';

const KINDS = ['throughput', 'rr', 'crr', 'backlog', 'keepalive'] as const;

const benchOptions = z
  .object({
    json: z.boolean().optional(),
    lab: z.string().optional(),
    target: z.string().optional(),
    duration: z.string().default('10s'),
    omit: z.string().default('2s'),
    parallel: z.string().regex(/^\d+$/).transform(Number).default('1'),
    connections: z.string().regex(/^\d+$/).transform(Number).default('4'),
    size: z.string().regex(/^\d+$/).transform(Number).default('64'),
    backlog: z.string().regex(/^\d+$/).transform(Number).default('16'),
    connects: z.string().regex(/^\d+$/).transform(Number).default('500'),
    limit: z.string().default('60s'),
    congestion: z.string().optional(),
    mptcp: z.boolean().optional(),
  })
  .refine((o) => Boolean(o.lab) !== Boolean(o.target), { message: 'give exactly one of --lab NAME or --target HOST' });

export const self = (): { node: string; script: string } => ({ node: process.execPath, script: process.argv[1] ?? '' });

export function registerBench(program: Command): void {
  withJson(program.command('bench').description('measure a lab link or a loopback/lab target').argument('<kind>', KINDS.join(' | ')))
    .option('--lab <name>', 'client → server of this lab')
    .option('--target <host>', 'loopback or a 198.18.0.0/15 address (throughput/rr/crr/backlog)')
    .option('--duration <dur>', 'how long (default 10s)')
    .option('--omit <dur>', 'throughput: seconds of slow start not counted (default 2s)')
    .option('--parallel <n>', 'throughput: parallel streams (default 1)')
    .option('--connections <n>', 'rr/crr: concurrent connections (default 4)')
    .option('--size <bytes>', 'rr/crr: request and response size (default 64)')
    .option('--backlog <n>', 'backlog: the listener accept backlog (default 16)')
    .option('--connects <n>', 'backlog: connects in the burst (default 500)')
    .option('--limit <dur>', 'keepalive: longest wait for the dead-peer verdict (default 60s)')
    .option('--congestion <algo>', 'throughput: congestion control per socket (iperf3 -C), one of the kernel\'s available ones')
    .option('--mptcp', 'throughput: nettune\'s own generator over IPPROTO_MPTCP sockets instead of iperf3')
    .action(async (kind: string, raw: unknown) => {
      const opts = parseOptions(benchOptions, raw);
      // Ctrl-C / SIGTERM: stop every generator and iperf3 it started (src/sys/signals.ts).
      installStopHandlers({ json: Boolean(opts.json), log: logErr });
      if (!(KINDS as readonly string[]).includes(kind)) throw usageError(`unknown benchmark ${JSON.stringify(kind)}`, `one of: ${KINDS.join(', ')}`);
      await ensureTools(['ip', 'iperf3', 'python3'], { install: installAllowed(), log: logErr });
      const lab = opts.lab !== undefined ? readLab(validLabName(opts.lab)) : null;
      if (opts.lab && !lab) throw usageError(`no lab ${opts.lab}`, `create it: nettune lab up ${opts.lab}`);
      const target = lab ? (lab.server_addrs[0] ?? '') : checkTarget(opts.target ?? '');
      const clientNs = lab?.namespaces.client ?? null;
      const serverNs = lab?.namespaces.server ?? null;
      const duration = parseDuration(opts.duration, '--duration', { bareSeconds: true });
      if (duration < 1 || duration > 300) throw usageError('--duration between 1s and 300s');
      logErr(`nettune: ${kind} ${lab ? `in lab ${lab.name}` : `to ${target}`} for up to ${duration} s …`);
      if (kind === 'throughput') {
        const r = await throughput({ clientNs, serverNs, target, duration_s: duration, omit_s: parseDuration(opts.omit, '--omit', { bareSeconds: true }), parallel: opts.parallel, startServer: lab !== null || target.startsWith('127.') || target === 'localhost', ...(opts.congestion ? { congestion: opts.congestion } : {}), ...(opts.mptcp ? { mptcp: true } : {}) });
        if (opts.json) return printJson({ kind, ...r });
        print(`throughput ${formatRate(r.bps)} received (${formatRate(r.sender_bps)} sent), retransmits ${r.retransmits ?? '?'}, mean RTT ${r.rtt_mean_ms?.toFixed(1) ?? '?'} ms, ${r.parallel} stream(s)${r.congestion ? `, ${r.congestion}` : ''}${r.mptcp_subflows !== undefined ? `, MPTCP subflows beyond the first: ${r.mptcp_subflows ?? 'none (not MPTCP)'}` : ''}, ${r.duration_s} s after ${r.omitted_s} s omitted`);
        print(`per second: ${r.series.map((b) => formatRate(b)).join(' · ')}`);
        return;
      }
      if (kind === 'rr' || kind === 'crr') {
        const r = await rrBench({ clientNs, serverNs, target, mode: kind, duration_s: duration, connections: opts.connections, size: opts.size, max_transactions: 5_000_000 }, self());
        const p = percentiles(r.latencies_ms, [50, 90, 99, 99.9]);
        if (opts.json) return printJson({ kind, transactions: r.transactions, errors: r.errors, elapsed_s: r.elapsed_s, tps: r.tps, latency_ms: p });
        print(`${kind}: ${r.transactions} transactions in ${r.elapsed_s.toFixed(1)} s = ${r.tps.toFixed(0)}/s, ${r.errors} errors`);
        print(table([['p50', 'p90', 'p99', 'p99.9'], [p.p50, p.p90, p.p99, p['p99.9']].map((x) => (x === undefined ? '?' : `${x.toFixed(3)} ms`))]));
        return;
      }
      if (kind === 'backlog') {
        const r = await backlogBench({ clientNs, serverNs, target, backlog: opts.backlog, connects: opts.connects }, self());
        if (opts.json) return printJson({ kind, ...r });
        print(`backlog ${r.backlog}: ${r.connected}/${r.attempted} connects completed (${r.slow} only after a SYN retransmit), ${r.failed} failed or timed out; server ListenOverflows +${r.listen_overflows ?? '?'}, ListenDrops +${r.listen_drops ?? '?'}`);
        return;
      }
      if (!lab) throw usageError('keepalive needs --lab (the server side is blackholed)');
      const r = await keepaliveBench({ clientNs: lab.namespaces.client, serverNs: lab.namespaces.server, target, limit_s: parseDuration(opts.limit, '--limit', { bareSeconds: true }) });
      if (opts.json) return printJson({ kind, ...r });
      print(r.detected_s !== null ? `dead peer detected after ${r.detected_s.toFixed(1)} s` : `no verdict within ${r.limit_s} s (${r.outcome})`);
    });

  program
    .command('__rr-server', { hidden: true })
    .argument('<port>')
    .argument('<size>')
    .argument('<ms>')
    .action(async (port: string, size: string, ms: string) => {
      await rrServer(Number(port), Number(size), Math.min(Number(ms), 3_600_000));
    });
  program
    .command('__rr-client', { hidden: true })
    .argument('<json>')
    .action(async (json: string) => {
      const o = z
        .object({ host: z.string(), port: z.number().int(), mode: z.enum(['rr', 'crr']), duration_s: z.number().max(600), max_transactions: z.number().int().max(50_000_000), connections: z.number().int().min(1).max(1024), size: z.number().int().min(1).max(1_048_576) })
        .parse(JSON.parse(json));
      process.stdout.write(JSON.stringify(await rrClient(o)));
    });
  program
    .command('__connect-burst', { hidden: true })
    .argument('<json>')
    .action(async (json: string) => {
      const o = z.object({ host: z.string(), port: z.number().int(), count: z.number().int().min(1).max(5000), timeout_ms: z.number().int().max(60_000) }).parse(JSON.parse(json));
      process.stdout.write(JSON.stringify(await connectBurst(o)));
    });
}
