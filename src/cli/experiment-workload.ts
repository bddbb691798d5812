// `nettune experiment run workload --server 'CMD …' --client 'CMD …' --metric SPEC`: the user's own
// server and client as an A/B(/C…) experiment, through the same engine as the built-in ones
// (arms, interleaving, statistics, report). Everything about the commands is checked before a lab
// exists: bad text, metric or flag is exit 2, a program that is not installed exit 3.
import type { Command } from 'commander';
import { z } from 'zod';
import type { ExperimentDef } from '../lab/experiments.js';
import { WORKLOADS } from '../plan/types.js';
import type { ClaimDirection } from '../lab/stats.js';
import { parseCommand, parseReady, readyText, resolveCommand, type WorkloadSpec } from '../lab/workload.js';
import { unknownPlaceholders } from '../lab/workload-args.js';
import { parseMetricSpec } from '../lab/workload-metric.js';
import { usageError } from '../sys/errors.js';
import { installStopHandlers } from '../sys/signals.js';
import { parseDuration } from '../units/index.js';
import { logErr, parseOptions } from './common.js';
import type { armsFromFlags, checkRunFlags, linkFor, runAndReport, runOptions } from './experiment.js';

/** The flags only `experiment run workload` takes. */
const WORKLOAD_FLAGS = ['server', 'client', 'metric', 'better', 'unit', 'ready', 'readyTimeout', 'timeout', 'expect', 'workload'] as const;

export function addWorkloadOptions(cmd: Command): Command {
  return cmd
    .option('--server <cmd>', 'workload: the server command, run in the server namespace (words split as a shell does, nothing expanded)')
    .option('--client <cmd>', 'workload: the client command, run in the client namespace; {server} {client} {duration} are filled in')
    .option('--metric <spec>', 'workload: json:PATH into the client\'s JSON stdout, or regex:PATTERN with one capture group')
    .option('--better <dir>', 'workload: higher | lower (default higher)')
    .option('--unit <unit>', 'workload: the metric\'s unit for display (bit/s prints as Mbit/s)')
    .option('--ready <spec>', 'workload: when the server is ready: tcp (default: any listening TCP socket), tcp:PORT, udp:PORT, delay:DUR')
    .option('--ready-timeout <dur>', 'workload: longest wait for the server to be ready (default 20s)')
    .option('--timeout <dur>', 'workload: hard limit per run, then client and server are killed (default 2 × duration + 30 s)')
    .option('--expect <dir>', 'workload: what you expect of B against A: better (default) | worse | same')
    .option('--workload <kind>', `workload: what plan:auto plans for: ${WORKLOADS.join(' | ')} (default balanced)`);
}

/** A workload flag on a built-in experiment is bad usage, not silently ignored. */
export function refuseWorkloadFlags(name: string, raw: unknown): void {
  const o = (raw ?? {}) as Record<string, unknown>;
  const given = WORKLOAD_FLAGS.filter((f) => o[f] !== undefined);
  if (given.length) throw usageError(`${given.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}: only for \`experiment run workload\`, not ${name}`);
}

/** The workload's own flags, on top of `experiment run`'s. */
const workloadFlags = {
  server: z.string().optional(),
  client: z.string({ required_error: 'required: the client command' }),
  metric: z.string({ required_error: 'required: json:PATH or regex:PATTERN' }),
  better: z.enum(['higher', 'lower']).optional(),
  unit: z.string().max(32).regex(/^[^\n\r]*$/, 'one line').optional(),
  ready: z.string().optional(),
  readyTimeout: z.string().optional(),
  timeout: z.string().optional(),
  expect: z.enum(['better', 'worse', 'same']).optional(),
  workload: z.enum(WORKLOADS).optional(),
};

export interface Helpers {
  runOptions: typeof runOptions;
  linkFor: typeof linkFor;
  armsFromFlags: typeof armsFromFlags;
  checkRunFlags: typeof checkRunFlags;
  runAndReport: typeof runAndReport;
}

const EXPECT: Record<'better' | 'worse' | 'same', ClaimDirection> = { better: 'b-better', worse: 'b-worse', same: 'b-not-better' };

const seconds = (text: string, flag: string, lo: number, hi: number): number => {
  const s = parseDuration(text, flag, { bareSeconds: true });
  if (!(s >= lo && s <= hi)) throw usageError(`${flag} ${text}: between ${lo} s and ${hi} s`);
  return s;
};

/** The experiment definition for a workload: a plain veth pair unless the flags ask for a link. */
export function workloadDef(spec: WorkloadSpec, o: { better: 'higher' | 'lower'; unit: string; expect: ClaimDirection }): ExperimentDef {
  const dir = o.expect === 'b-better' ? 'better than' : o.expect === 'b-worse' ? 'worse than' : 'no better than';
  return {
    name: 'workload',
    claim: `B makes the workload's ${spec.metric.text} (${o.better} is better) ${dir} A.`,
    topology: 'pair',
    topologies: ['pair', 'router'],
    link: { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 },
    bench: { kind: 'workload', workload: spec },
    metric: { name: spec.metric.text, unit: o.unit, higher_is_better: o.better === 'higher' },
    a: { label: 'baseline', changes: 'baseline' },
    b: { label: 'B', changes: {} }, // always replaced: the command requires --b or --set
    reps: 3,
    expect: o.expect,
    notes: [
      spec.server ? `server (server namespace): ${JSON.stringify(spec.server.argv)}; ready when ${readyText(spec.ready)} (at most ${spec.ready_timeout_s} s)` : 'no server: the client runs alone (against the server namespace\'s address or anything it starts itself)',
      `client (client namespace): ${JSON.stringify(spec.client.argv)}; {duration} = ${spec.duration_s} s; hard timeout ${spec.timeout_s} s per run`,
      'After every run, the client\'s and the server\'s process groups and every process left in the lab namespaces are terminated (SIGTERM, SIGKILL after 2 s).',
    ],
  };
}

export async function runWorkloadCommand(raw: unknown, h: Helpers): Promise<void> {
  const opts = parseOptions(h.runOptions.extend(workloadFlags), raw);
  installStopHandlers({ json: Boolean(opts.json), log: logErr });
  // 1. Everything that is bad usage (exit 2), before any program is looked up or lab built.
  const client = parseCommand(opts.client, '--client');
  const server = opts.server !== undefined ? parseCommand(opts.server, '--server') : null;
  const metric = parseMetricSpec(opts.metric);
  if (opts.ready !== undefined && !server) throw usageError('--ready needs --server (it says when the server is ready)');
  const ready = parseReady(opts.ready ?? 'tcp');
  const duration = opts.duration !== undefined ? seconds(opts.duration, '--duration', 1, 3600) : 10;
  const readyTimeout = opts.readyTimeout !== undefined ? seconds(opts.readyTimeout, '--ready-timeout', 0.1, 600) : 20;
  const timeout = opts.timeout !== undefined ? seconds(opts.timeout, '--timeout', 1, 7200) : 2 * duration + 30;
  const { minEffect } = h.checkRunFlags(opts);
  if (!opts.b && !opts.set?.length) throw usageError('a workload experiment compares arms: give arm B with --b SOURCE or --set KEY=VALUE', 'A is the lab baseline unless --a says otherwise; --arm NAME=SOURCE adds more');
  for (const t of unknownPlaceholders([...client.argv, ...(server?.argv ?? [])])) logErr(`nettune: note: ${t} is not a placeholder ({server}, {client}, {duration}); it is passed literally`);
  const spec0: WorkloadSpec = { server, client, metric, ready, ready_timeout_s: readyTimeout, timeout_s: timeout, duration_s: duration, plan_workload: opts.workload ?? 'balanced' };
  const better = opts.better ?? 'higher';
  const def0 = workloadDef(spec0, { better, unit: opts.unit ?? '', expect: EXPECT[opts.expect ?? 'better'] });
  const { link, topology } = h.linkFor(def0, opts);
  const { arms, extra } = await h.armsFromFlags(def0, opts);
  // 2. The environment (exit 3): the user's programs, then (runAndReport) the lab's tools.
  const spec: WorkloadSpec = { ...spec0, client: resolveCommand(client, '--client'), server: server ? resolveCommand(server, '--server') : null };
  const def = workloadDef(spec, { better, unit: opts.unit ?? '', expect: EXPECT[opts.expect ?? 'better'] });
  const workload = {
    server: spec.server ? { command: spec.server.text, argv: spec.server.argv } : null,
    client: { command: spec.client.text, argv: spec.client.argv },
    metric: metric.text,
    better,
    ready: opts.ready ?? 'tcp',
    ready_timeout_s: readyTimeout,
    timeout_s: timeout,
    duration_s: duration,
    plan_workload: spec.plan_workload,
  };
  await h.runAndReport(def, opts, { arms, extra, link, topology, minEffect }, { workload });
}
