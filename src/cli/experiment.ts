// `nettune experiment list` and `nettune experiment run NAME`: A/B on the user's own kernel.
import type { Command } from 'commander';
import { z } from 'zod';
import { parseSet } from '../apply/validate.js';
import { runExperiment } from '../lab/experiment.js';
import { EXPERIMENTS, findExperiment, type Role } from '../lab/experiments.js';
import { type ExperimentResult, writeReport } from '../lab/report.js';
import type { PlanChange } from '../plan/types.js';
import { planSchema } from '../plan/schema.js';
import { parseDuration, formatRate } from '../units/index.js';
import { usageError } from '../sys/errors.js';
import { readJsonFile } from '../sys/fs.js';
import { ensureTools, installAllowed } from '../sys/tools.js';
import { self } from './bench.js';
import { logErr, parseOptions, print, printJson, withJson } from './common.js';
import { table } from './format.js';

const runOptions = z.object({
  json: z.boolean().optional(),
  a: z.string().optional(),
  b: z.string().optional(),
  set: z.array(z.string()).optional(),
  reps: z.string().regex(/^\d+$/, 'a whole number').transform(Number).optional(),
  duration: z.string().optional(),
  report: z.string().optional(),
});

/** A plan file's sysctl changes, for both lab hosts. */
function armFromPlan(file: string): Partial<Record<Role, PlanChange[]>> {
  const doc = readJsonFile(file, { what: 'a plan' });
  const r = planSchema.safeParse(doc);
  if (!r.success) throw usageError(`${file}: not a valid plan: ${r.error.issues[0]?.message ?? ''}`);
  const changes = r.data.changes.filter((c) => c.kind === 'sysctl').map(({ reason: _r, source: _s, ...c }) => c);
  return { client: changes, server: changes };
}

const fmt = (r: ExperimentResult, v: number): string => (r.metric.unit === 'bit/s' ? formatRate(v) : `${Number(v.toPrecision(4))} ${r.metric.unit}`);

export function renderResult(r: ExperimentResult): string {
  return [
    `${r.name}: ${r.claim}`,
    `  lab: ${Object.entries(r.lab).map(([k, v]) => `${k} ${v ?? '-'}`).join(', ')}`,
    table([
      ['', 'ARM', 'MEDIAN', 'SAMPLES'],
      ['  A', r.a.label, fmt(r, r.a.median), r.a.samples.map((s) => fmt(r, s)).join(', ')],
      ['  B', r.b.label, fmt(r, r.b.median), r.b.samples.map((s) => fmt(r, s)).join(', ')],
    ]),
    `  B/A = ${r.ratio?.toFixed(3) ?? '?'}, 95 % CI ${r.ci95 ? `[${r.ci95[0].toFixed(3)}, ${r.ci95[1].toFixed(3)}]` : 'n/a'} (${r.metric.higher_is_better ? 'higher' : 'lower'} is better) → ${r.verdict.toUpperCase()}`,
    ...r.notes.map((n) => `  note: ${n}`),
  ].join('\n');
}

export function registerExperiment(program: Command): void {
  const exp = program.command('experiment').description('A/B experiments in a lab, with interleaved runs, a bootstrap CI and a verdict');
  withJson(exp.command('list').description('built-in experiments and the claim each tests')).action((raw: unknown) => {
    const opts = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    if (opts.json) return printJson({ experiments: EXPERIMENTS.map((e) => ({ name: e.name, claim: e.claim, topology: e.topology, link: e.link, metric: e.metric, reps: e.reps, available: !e.unavailable, unavailable: e.unavailable ?? null })) });
    print(table([['NAME', 'CLAIM'], ...EXPERIMENTS.map((e) => [e.name, e.unavailable ? `(not yet: ${e.unavailable})` : e.claim])]));
  });
  withJson(exp.command('run').description('run one experiment (builds and removes its own lab; needs root)').argument('<name>'))
    .option('--a <plan.json>', 'settings for arm A (default: the built-in A, usually the baseline)')
    .option('--b <plan.json>', 'settings for arm B')
    .option('--set <key=value>', 'a sysctl for arm B on both hosts; repeatable', (v: string, acc: string[] = []) => [...acc, v])
    .option('--reps <n>', 'runs per arm (interleaved ABAB…)')
    .option('--duration <dur>', 'benchmark duration per run (shorter for a quick look)')
    .option('--report <dir>', 'write report.md, result.json and SVG plots here')
    .action(async (name: string, raw: unknown) => {
      const opts = parseOptions(runOptions, raw);
      const def = findExperiment(name);
      if (!def) throw usageError(`unknown experiment ${JSON.stringify(name)}`, `see: nettune experiment list (${EXPERIMENTS.map((e) => e.name).join(', ')})`);
      if (opts.b && opts.set?.length) throw usageError('give --b PLAN or --set, not both');
      let b: Partial<Record<Role, PlanChange[]>> | undefined;
      if (opts.b) b = armFromPlan(opts.b);
      if (opts.set?.length) {
        const changes = opts.set.map((s) => {
          const c = parseSet(s);
          if (typeof c === 'string') throw usageError(c);
          return c;
        });
        b = { client: changes, server: changes };
      }
      const duration = opts.duration ? parseDuration(opts.duration, '--duration', { bareSeconds: true }) : undefined;
      if (duration !== undefined && (duration < 1 || duration > 300)) throw usageError('--duration between 1s and 300s');
      await ensureTools(['ip', 'tc', 'iperf3', 'python3', 'ping', 'nft'], { install: installAllowed(), log: logErr });
      const result = await runExperiment(def, {
        ...(opts.reps !== undefined ? { reps: opts.reps } : {}),
        ...(duration !== undefined ? { duration_s: duration } : {}),
        ...(opts.a ? { a: armFromPlan(opts.a) } : {}),
        ...(b ? { b } : {}),
        log: logErr,
        self: self(),
      });
      const files = opts.report ? writeReport(opts.report, result) : [];
      if (opts.json) printJson({ ...result, report_files: files });
      else {
        print(renderResult(result));
        if (files.length) print(`  report: ${files.join(', ')}`);
      }
    });
}
