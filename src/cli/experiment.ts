// `nettune experiment list` and `nettune experiment run NAME`: A/B(/C…) on the user's own kernel,
// on the experiment's built-in link or the user's own (--rate/--rtt/--jitter/--loss/--topology),
// with arms from any source (--a/--b/--arm NAME=SOURCE/--set).
import type { Command } from 'commander';
import { z } from 'zod';
import { type ParsedArm, checkFixed, parseArmFlag, parseArmSource, setChanges } from '../lab/arm-sources.js';
import { type ArmInput, targetId } from '../lab/arms.js';
import { armsFor, runExperiment, toolsFor } from '../lab/experiment.js';
import { EXPERIMENTS, findExperiment, LINK_PARAMS, type ExperimentDef, type LinkParam } from '../lab/experiments.js';
import { type LinkEmulation, TOPOLOGIES, type Topology, validLabName } from '../lab/lab.js';
import { armsOf, comparisonsOf, comparisonText, type ExperimentResult, writeReport } from '../lab/report.js';
import { DEFAULT_MIN_EFFECT } from '../lab/stats.js';
import { parseDuration, parsePercent, formatRate } from '../units/index.js';
import { environmentError, usageError } from '../sys/errors.js';
import { installStopHandlers } from '../sys/signals.js';
import { ensureTools, installAllowed } from '../sys/tools.js';
import { self } from './bench.js';
import { registerMatrix } from './experiment-matrix.js';
import { logErr, parseOptions, print, printJson, withJson } from './common.js';
import { table } from './format.js';
import { linkFromFlags } from './lab.js';
import { addWorkloadOptions, refuseWorkloadFlags, runWorkloadCommand } from './experiment-workload.js';

export const runOptions = z.object({
  json: z.boolean().optional(),
  a: z.string().optional(),
  b: z.string().optional(),
  arm: z.array(z.string()).optional(),
  set: z.array(z.string()).optional(),
  reps: z.string().regex(/^\d+$/, 'a whole number').transform(Number).optional(),
  duration: z.string().optional(),
  report: z.string().optional(),
  rate: z.string().optional(),
  rtt: z.string().optional(),
  jitter: z.string().optional(),
  loss: z.string().optional(),
  topology: z.string().optional(),
  lab: z.string().optional(),
  minEffect: z.string().optional(),
});
type RunFlags = z.infer<typeof runOptions>;

/** The topologies an experiment runs on (its own first). */
const topologiesOf = (def: ExperimentDef): Topology[] => [def.topology, ...(def.topologies ?? []).filter((t) => t !== def.topology)];

/** What `experiment list --json` says each experiment accepts. */
export function parametersOf(def: ExperimentDef): { accepts: string[]; cannot: Record<string, string>; topologies: Topology[] } {
  const cannot: Record<string, string> = { ...(def.cannot ?? {}) };
  const topologies = topologiesOf(def);
  if (topologies.length < 2) cannot.topology = `runs on the ${def.topology} topology only (its claim needs it)`;
  const accepts = [...LINK_PARAMS.filter((p) => !def.cannot?.[p]), ...(topologies.length > 1 ? ['topology'] : []), 'lab', 'reps', 'duration', 'a', 'b', 'arm', 'set', 'min-effect'];
  return { accepts, cannot, topologies };
}

/** The experiment's link with the command line's overrides; a parameter it cannot honour is exit 2. */
export function linkFor(def: ExperimentDef, o: Pick<RunFlags, LinkParam | 'topology'>): { link: LinkEmulation | undefined; topology: Topology | undefined } {
  for (const p of LINK_PARAMS) {
    const why = def.cannot?.[p];
    if (o[p] !== undefined && why) throw usageError(`experiment ${def.name} cannot take --${p}: ${why}`);
  }
  let topology: Topology | undefined;
  if (o.topology !== undefined) {
    if (!(TOPOLOGIES as readonly string[]).includes(o.topology)) throw usageError(`--topology ${o.topology}: one of ${TOPOLOGIES.join(', ')}`);
    if (!topologiesOf(def).includes(o.topology as Topology)) throw usageError(`experiment ${def.name} cannot take --topology ${o.topology}: it runs on ${topologiesOf(def).join(' or ')} only`);
    topology = o.topology as Topology;
  }
  if (LINK_PARAMS.every((p) => o[p] === undefined)) return { link: undefined, topology };
  // Unset parameters keep the experiment's own values; the lab module's parser checks the rest.
  const given = linkFromFlags({
    rate: o.rate,
    rtt: o.rtt ?? `${def.link.rtt_s * 1000}ms`,
    jitter: o.jitter ?? (def.link.jitter_s ? `${def.link.jitter_s * 1000}ms` : undefined),
    loss: o.loss ?? (def.link.loss_pct ? `${def.link.loss_pct}%` : undefined),
  });
  const link: LinkEmulation = { ...given, rate_bps: o.rate !== undefined ? given.rate_bps : def.link.rate_bps };
  if (o.loss !== undefined && (link.loss_pct < 0 || link.loss_pct > 50)) throw usageError(`--loss ${o.loss}: between 0 and 50 %`);
  return { link, topology };
}

/** Parses every arm flag into the arms to run, before anything is built. */
export async function armsFromFlags(def: ExperimentDef, o: Pick<RunFlags, 'a' | 'b' | 'arm' | 'set'>): Promise<{ arms: { index: number; arm: ArmInput }[]; extra: ArmInput[]; parsed: ParsedArm[] }> {
  if (o.b && o.set?.length) throw usageError('give --b SOURCE or --set, not both');
  const arms: { index: number; arm: ParsedArm }[] = [];
  if (o.a) arms.push({ index: 0, arm: await parseArmSource('A', o.a, def.bench) });
  if (o.b) arms.push({ index: 1, arm: await parseArmSource('B', o.b, def.bench) });
  if (o.set?.length) {
    const c = setChanges(o.set);
    arms.push({ index: 1, arm: { label: 'B (--set)', source: `--set ${o.set.join(' ')}`, changes: { client: c, server: c }, fixed: c } });
  }
  const extra: ParsedArm[] = [];
  for (const f of o.arm ?? []) extra.push(await parseArmFlag(f, def.bench));
  const labels = new Set<string>();
  for (const a of [...arms.map((x) => x.arm), ...extra]) {
    if (labels.has(a.label)) throw usageError(`two arms are named ${a.label}`);
    labels.add(a.label);
  }
  const parsed = [...arms.map((x) => x.arm), ...extra];
  for (const p of parsed) checkFixed(p);
  return { arms, extra, parsed };
}

function fmt(r: ExperimentResult, v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (r.metric.unit === 'bit/s') return formatRate(v);
  if (r.metric.integer) return `${Number.isInteger(v) ? v : v.toFixed(1)} ${r.metric.unit}`;
  return `${Number(v.toPrecision(4))} ${r.metric.unit}`;
}

export function renderResult(r: ExperimentResult): string {
  const arms = armsOf(r);
  const range = (xs: number[]): string => (xs.length ? `${fmt(r, Math.min(...xs))} – ${fmt(r, Math.max(...xs))}` : '—');
  return [
    `${r.name}: ${r.claim}`,
    `  lab: ${Object.entries(r.lab).map(([k, v]) => `${k} ${v ?? '-'}`).join(', ')}`,
    table([['', 'ARM', 'SOURCE', 'MEDIAN', 'RANGE', 'SAMPLES'], ...arms.map((a) => [`  ${a.key}`, a.label, a.source ?? '-', a.samples.length ? fmt(r, a.median) : '—', range(a.samples), a.samples.map((s) => fmt(r, s)).join(', ')])]),
    ...arms.filter((a) => a.counters).map((a) => `  ${a.key} counters (per run): ${Object.entries(a.counters ?? {}).map(([k, v]) => `${k} ${v.map((x) => Number(x.toPrecision(4))).join('/')}`).join(', ')}`),
    ...comparisonsOf(r).flatMap((c) => [
      `  ${c.arm} vs A: ${comparisonText(c)} (${r.metric.higher_is_better ? 'higher' : 'lower'} is better, minimum effect ${Number((c.min_effect * 100).toPrecision(3))} %) → ${c.verdict.toUpperCase()}`,
      `    claim: ${c.claim.outcome.toUpperCase()}: ${c.claim.text}`,
      ...c.notes.map((n) => `    note: ${n}`),
    ]),
    ...(r.partial ? ['  PARTIAL: a run failed twice; the results cover the runs that completed'] : []),
    ...r.notes.map((n) => `  note: ${n}`),
  ].join('\n');
}

const collect = (v: string, acc: string[] = []): string[] => [...acc, v];

/** What `experiment list --json` says of each experiment (and `show` starts from). */
function summaryOf(e: ExperimentDef): Record<string, unknown> {
  return {
    name: e.name,
    claim: e.claim,
    expect: e.expect,
    topology: e.topology,
    link: e.link,
    defaults: { topology: e.topology, ...e.link, reps: e.reps, duration_s: 'duration_s' in e.bench ? e.bench.duration_s : null },
    parameters: parametersOf(e),
    arms: { a: e.a.label, b: e.b === 'plan-buffers' ? 'planned buffers' : e.b.label },
    metric: e.metric,
    reps: e.reps,
    available: !e.unavailable,
    unavailable: e.unavailable ?? null,
  };
}

/** A built-in arm for `experiment show`: its label and what it changes (computed arms say so). */
function armOf(spec: ExperimentDef['b']): { label: string; changes: string[] } {
  if (spec === 'plan-buffers') return { label: 'planned buffers', changes: ["computed in the lab: the planner's tcp_rmem/tcp_wmem for the lab's link (client and server)"] };
  if (spec.changes === 'baseline') return { label: spec.label, changes: ["the lab's own values for the keys the other arm sets"] };
  if (typeof spec.changes === 'function') return { label: spec.label, changes: [`computed in the lab by the planner (${(spec.kinds ?? []).join(', ') || 'changes'})`] };
  const out: string[] = [];
  for (const [role, list] of Object.entries(spec.changes)) for (const c of list ?? []) out.push(`${role}: ${targetId(c)}${c.kind === 'sysctl' || c.kind === 'ethtool' ? ` = ${c.to}` : ''}`);
  if (spec.bench?.congestion) out.push(`per-socket congestion control ${spec.bench.congestion}`);
  if (spec.bench?.mptcp !== undefined) out.push(spec.bench.mptcp ? 'MPTCP sockets' : 'TCP sockets');
  return { label: spec.label, changes: out };
}

export function registerExperiment(program: Command): void {
  const exp = program.command('experiment').description('A/B experiments in a lab, with interleaved runs, a bootstrap CI and a verdict');
  withJson(exp.command('list').description('built-in experiments, the claim each tests, their defaults and the parameters they take')).action((raw: unknown) => {
    const opts = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    if (opts.json) return printJson({ experiments: EXPERIMENTS.map(summaryOf) });
    print(table([['NAME', 'CLAIM'], ...EXPERIMENTS.map((e) => [e.name, e.unavailable ? `(not yet: ${e.unavailable})` : e.claim])]));
  });
  withJson(exp.command('show').description('one built-in experiment: claim, lab, benchmark, arms and the notes on its method').argument('<name>')).action((name: string, raw: unknown) => {
    const opts = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    const def = findExperiment(name);
    if (!def) throw usageError(`unknown experiment ${JSON.stringify(name)}`, `see: nettune experiment list (${EXPERIMENTS.map((e) => e.name).join(', ')})`);
    const arms = { a: armOf(def.a), b: armOf(def.b) };
    if (opts.json) return printJson({ ...summaryOf(def), bench: def.bench, arms, notes: def.notes });
    const { kind, ...params } = def.bench;
    print(
      [
        `${def.name}: ${def.claim}`,
        `  status: ${def.unavailable ? `not yet: ${def.unavailable}` : 'available'}`,
        `  lab: ${def.topology} topology, link ${JSON.stringify(def.link)}; runs on ${topologiesOf(def).join(', ')}`,
        `  benchmark: ${kind} ${Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ')}`,
        `  metric: ${def.metric.name} (${def.metric.unit}, ${def.metric.higher_is_better ? 'higher' : 'lower'} is better); ${def.reps} runs per arm; the claim expects ${def.expect}`,
        ...(['a', 'b'] as const).map((k) => `  ${k.toUpperCase()}: ${arms[k].label}: ${arms[k].changes.join('; ') || 'no changes of its own'}`),
        ...def.notes.map((n) => `  note: ${n}`),
      ].join('\n'),
    );
  });
  addWorkloadOptions(withJson(exp.command('run').description('run one experiment, or `workload` (your own --server/--client); builds and removes its own lab; needs root').argument('<name>')))
    .option('--a <source>', 'arm A (default: the built-in A, usually the baseline); SOURCE as for --arm')
    .option('--b <source>', 'arm B (default: the built-in B)')
    .option('--arm <name=source>', 'a further arm, compared with A; repeatable. SOURCE: plan .json, sysctl file, tuned:NAME|PATH, current, defaults, plan:auto, set:k=v,…', collect)
    .option('--set <key=value>', 'a sysctl for arm B on both hosts; repeatable', collect)
    .option('--reps <n>', 'runs per arm (interleaved ABC ABC …)')
    .option('--duration <dur>', 'benchmark duration per run (shorter for a quick look)')
    .option('--rate <rate>', "the lab link's rate (replaces the experiment's)")
    .option('--rtt <dur>', "the lab link's round-trip time")
    .option('--jitter <dur>', "the lab link's delay variation per direction")
    .option('--loss <pct>', "the lab link's loss per direction, percent")
    .option('--topology <t>', 'pair | router | multipath, where the experiment can run on it')
    .option('--lab <name>', 'name of the lab it builds (default ex<pid>)')
    .option('--min-effect <pct>', `smallest change called better or worse (default ${DEFAULT_MIN_EFFECT * 100}%)`)
    .option('--report <dir>', 'write report.md, result.json and SVG plots here')
    .action(async (name: string, raw: unknown) => {
      if (name === 'workload') return runWorkloadCommand(raw, { runOptions, linkFor, armsFromFlags, checkRunFlags, runAndReport });
      refuseWorkloadFlags(name, raw);
      const opts = parseOptions(runOptions, raw);
      installStopHandlers({ json: Boolean(opts.json), log: logErr });
      const def = findExperiment(name);
      if (!def) throw usageError(`unknown experiment ${JSON.stringify(name)}`, `see: nettune experiment list (${EXPERIMENTS.map((e) => e.name).join(', ')})`);
      if (def.unavailable) throw environmentError(`experiment ${def.name} cannot run yet: ${def.unavailable}`);
      // Everything that can be wrong with the input is found before a lab exists.
      const { minEffect } = checkRunFlags(opts);
      const { link, topology } = linkFor(def, opts);
      const duration = opts.duration ? parseDuration(opts.duration, '--duration', { bareSeconds: true }) : undefined;
      if (duration !== undefined && (duration < 1 || duration > 300)) throw usageError('--duration between 1s and 300s');
      const { arms, extra } = await armsFromFlags(def, opts);
      await runAndReport(def, opts, { arms, extra, link, topology, minEffect, duration });
    });
  registerMatrix(exp);
}

/** The flags every `experiment run` checks before a lab exists (exit 2). */
export function checkRunFlags(opts: Pick<RunFlags, 'lab' | 'reps' | 'minEffect'>): { minEffect: number | undefined } {
  if (opts.lab !== undefined) validLabName(opts.lab);
  if (opts.reps !== undefined && (opts.reps < 1 || opts.reps > 50)) throw usageError('--reps must be between 1 and 50');
  const minEffect = opts.minEffect !== undefined ? parsePercent(opts.minEffect, '--min-effect') / 100 : undefined;
  if (minEffect !== undefined && !(minEffect >= 0 && minEffect < 1)) throw usageError('--min-effect between 0 and 100 %');
  return { minEffect };
}

/** Checks the lab's tools (exit 3), runs the experiment and prints it: human, or one JSON
 *  document (with `extraJson`); a partial result exits 3. */
export async function runAndReport(
  def: ExperimentDef,
  opts: Pick<RunFlags, 'reps' | 'lab' | 'report' | 'json'>,
  r: { arms: { index: number; arm: ArmInput }[]; extra: ArmInput[]; link: LinkEmulation | undefined; topology: Topology | undefined; minEffect: number | undefined; duration?: number | undefined },
  extraJson: Record<string, unknown> = {},
): Promise<void> {
  const { arms, extra, link, topology, minEffect, duration } = r;
  const tools = toolsFor(def, armsFor(def, { arms, extra }));
  const missing = await ensureTools(tools, { install: installAllowed(), log: logErr });
  if (missing.length) throw environmentError(`experiment ${def.name} needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`, 'run as root without NETTUNE_NO_INSTALL=1 to install, or apt-get install the package');
  const result = await runExperiment(def, {
    ...(opts.reps !== undefined ? { reps: opts.reps } : {}),
    ...(duration !== undefined ? { duration_s: duration } : {}),
    ...(link ? { link } : {}),
    ...(topology ? { topology } : {}),
    ...(opts.lab ? { lab: opts.lab } : {}),
    ...(minEffect !== undefined ? { minEffect } : {}),
    arms,
    extra,
    log: logErr,
    self: self(),
  });
  const files = opts.report ? writeReport(opts.report, result) : [];
  if (opts.json) printJson({ ...result, ...extraJson, report_files: files });
  else {
    print(renderResult(result));
    if (files.length) print(`  report: ${files.join(', ')}`);
  }
  if (result.partial) process.exitCode = 3;
}
