// `nettune experiment matrix [throughput|rr] --rate LIST --rtt LIST [--loss LIST] --arm NAME=SOURCE …`:
// the same arms, interleaved, in every cell of a grid of links; a table, a figure and a results
// file written after every cell (so --resume FILE skips the finished ones, and Ctrl-C keeps them).
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { stateDir } from '../apply/state.js';
import { checkFixed, parseArmFlag, type ParsedArm } from '../lab/arm-sources.js';
import { toolsFor } from '../lab/experiment.js';
import { validLabName } from '../lab/lab.js';
import { armKey } from '../lab/arms.js';
import { cellExperiment, cellsOf, checkResumable, MATRIX_KINDS, type MatrixCell, type MatrixKind, type MatrixRequest, runMatrix } from '../lab/matrix.js';
import { matrixResult, readMatrixFile, writeMatrix } from '../lab/matrix-file.js';
import { renderMatrixMarkdown } from '../lab/matrix-report.js';
import { environmentError, usageError } from '../sys/errors.js';
import { onStop, installStopHandlers } from '../sys/signals.js';
import { ensureTools, installAllowed } from '../sys/tools.js';
import { parseDuration, parsePercent, parseRate } from '../units/index.js';
import { self } from './bench.js';
import { logErr, parseOptions, print, printJson, withJson } from './common.js';

const options = z.object({
  json: z.boolean().optional(),
  rate: z.string().optional(),
  rtt: z.string().optional(),
  loss: z.string().optional(),
  jitter: z.string().optional(),
  arm: z.array(z.string()).optional(),
  runs: z.string().regex(/^\d+$/, 'a whole number').transform(Number).optional(),
  duration: z.string().optional(),
  omit: z.string().optional(),
  out: z.string().optional(),
  resume: z.string().optional(),
  lab: z.string().optional(),
});
type Flags = z.infer<typeof options>;

/** At most this many cells: a grid is minutes per cell. */
export const MAX_CELLS = 200;

const list = (text: string, flag: string): string[] => {
  const items = text.split(',').map((s) => s.trim());
  if (!items.length || items.some((s) => !s)) throw usageError(`${flag} ${JSON.stringify(text)}: a comma-separated list (e.g. ${flag} 100mbit,1gbit)`);
  return items;
};
const uniq = (xs: number[]): number[] => [...new Set(xs)];

/** The request from the flags (and, with --resume, the file's values for flags not given). */
export function requestFromFlags(kind: MatrixKind, o: Flags, prev: MatrixRequest | null): MatrixRequest {
  const rates = o.rate !== undefined ? uniq(list(o.rate, '--rate').map((r) => parseRate(r, '--rate'))) : prev?.grid.rates_bps;
  const rtts = o.rtt !== undefined ? uniq(list(o.rtt, '--rtt').map((r) => parseDuration(r, '--rtt'))) : prev?.grid.rtts_s;
  const losses = o.loss !== undefined ? uniq(list(o.loss, '--loss').map((l) => parsePercent(l, '--loss'))) : (prev?.grid.losses_pct ?? [0]);
  const jitter = o.jitter !== undefined ? parseDuration(o.jitter, '--jitter') : (prev?.grid.jitter_s ?? 0);
  if (!rates) throw usageError('give --rate LIST (e.g. --rate 100mbit,1gbit)');
  if (!rtts) throw usageError('give --rtt LIST (e.g. --rtt 10ms,50ms,100ms)');
  for (const r of rates) if (r < 1e6 || r > 1e11) throw usageError(`--rate ${r / 1e6} Mbit/s: between 1 Mbit/s and 100 Gbit/s`);
  for (const r of rtts) if (r > 2) throw usageError(`--rtt ${r * 1000} ms: at most 2 s`);
  for (const l of losses) if (l > 50) throw usageError(`--loss ${l} %: between 0 and 50 %`);
  if (jitter > 0 && jitter > Math.min(...rtts) / 2) throw usageError(`--jitter ${o.jitter ?? jitter}: at most half of the smallest RTT`);
  const duration = o.duration !== undefined ? parseDuration(o.duration, '--duration', { bareSeconds: true }) : (prev?.duration_s ?? 5);
  if (duration < 1 || duration > 300) throw usageError('--duration between 1s and 300s');
  const omit = o.omit !== undefined ? (o.omit === 'auto' ? null : parseDuration(o.omit, '--omit', { bareSeconds: true })) : (prev ? prev.omit_s : null);
  if (omit !== null && omit > 60) throw usageError('--omit at most 60s (or auto)');
  if (omit !== null && !Number.isInteger(omit)) throw usageError('--omit in whole seconds (iperf3 -O)');
  const reps = o.runs ?? prev?.reps ?? 3;
  if (reps < 1 || reps > 50) throw usageError('--runs must be between 1 and 50');
  const flags = o.arm ?? prev?.arms.map((a) => a.flag) ?? [];
  if (flags.length < 2) throw usageError('give at least two --arm NAME=SOURCE: the first is the baseline the others are compared with', 'e.g. --arm defaults=defaults --arm tuned=tuned:network-throughput --arm auto=plan:auto');
  if (flags.length > 8) throw usageError('at most 8 arms');
  const req: MatrixRequest = {
    kind,
    grid: { rates_bps: rates, rtts_s: rtts, losses_pct: losses, jitter_s: jitter },
    arms: flags.map((flag, i) => ({ key: armKey(i), label: flag.slice(0, Math.max(0, flag.indexOf('='))), source: flag.slice(flag.indexOf('=') + 1), flag })),
    reps,
    duration_s: duration,
    omit_s: kind === 'throughput' ? omit : null,
  };
  if (cellsOf(req.grid).length > MAX_CELLS) throw usageError(`${cellsOf(req.grid).length} cells: at most ${MAX_CELLS}`);
  return req;
}

const collect = (v: string, acc: string[] = []): string[] => [...acc, v];

export function registerMatrix(exp: Command): void {
  withJson(exp.command('matrix').description('run one experiment (throughput or rr) with the same arms in every cell of a rate × RTT × loss grid (needs root)').argument('[experiment]', `${MATRIX_KINDS.join(' | ')}`, 'throughput'))
    .option('--rate <list>', 'link rates, comma-separated (100mbit,1gbit,2.5gbit)')
    .option('--rtt <list>', 'round-trip times (10ms,50ms,100ms)')
    .option('--loss <list>', 'loss per direction, percent (0,0.1%); default 0')
    .option('--jitter <dur>', 'delay variation per direction, every cell')
    .option('--arm <name=source>', 'an arm (at least two; the first is the baseline); repeatable. SOURCE as for experiment run --arm', collect)
    .option('--runs <n>', 'runs per arm per cell, interleaved (default 3)')
    .option('--duration <dur>', 'measured time per run (default 5s)')
    .option('--omit <dur>', 'seconds left out at the start of each throughput run (default auto: from the cell\'s RTT and BDP)')
    .option('--out <dir>', 'write matrix.json, matrix.md and matrix.svg here (after every cell)')
    .option('--resume <file>', 'a matrix.json from an earlier run: its finished cells are kept, the rest run')
    .option('--lab <name>', 'name of the lab each cell builds (default mx<pid>)')
    .action(async (kindArg: string, raw: unknown) => {
      const o = parseOptions(options, raw);
      installStopHandlers({ json: Boolean(o.json), log: logErr });
      if (!(MATRIX_KINDS as readonly string[]).includes(kindArg)) throw usageError(`experiment matrix ${JSON.stringify(kindArg)}: one of ${MATRIX_KINDS.join(', ')}`);
      const kind = kindArg as MatrixKind;
      // Everything that can be wrong with the input is found before a lab exists.
      const prev = o.resume !== undefined ? readMatrixFile(o.resume) : null;
      const req = requestFromFlags(kind, o, prev);
      if (prev) checkResumable(prev, req, o.resume as string);
      const lab = validLabName(o.lab ?? `mx${process.pid % 100000}`);
      const cells = cellsOf(req.grid);
      const def = cellExperiment(req, cells[0] as (typeof cells)[number]);
      const arms: ParsedArm[] = [];
      for (const a of req.arms) arms.push(await parseArmFlag(a.flag, def.bench));
      for (const a of arms) checkFixed(a);
      req.arms = req.arms.map((a, i) => ({ ...a, source: arms[i]?.source ?? a.source }));
      const missing = await ensureTools(toolsFor(def, arms), { install: installAllowed(), log: logErr });
      if (missing.length) throw environmentError(`experiment matrix needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`, 'run as root without NETTUNE_NO_INSTALL=1 to install, or apt-get install the package');

      const started = prev?.started_at ?? new Date().toISOString();
      const path = o.out !== undefined ? join(o.out, 'matrix.json') : (o.resume ?? join(stateDir(), 'matrix', `matrix-${started.replace(/[:.]/g, '-')}.json`));
      logErr(`nettune: matrix: ${cells.length} cells × ${req.arms.length} arms × ${req.reps} runs; results after every cell in ${path}${o.out === undefined ? ` (resume with --resume ${path})` : ''}`);
      let latest: MatrixCell[] = prev ? prev.cells.filter((c) => c.status === 'ok') : [];
      let files = writeMatrix(path, matrixResult(req, latest, started));
      // Ctrl-C: the lab is removed by the experiment's own cleanup; the finished cells are on disk.
      const drop = onStop(`matrix results in ${path}`, () => writeMatrix(path, matrixResult(req, latest, started)));
      const done = new Map((prev?.cells ?? []).map((c) => [c.id, c]));
      const result = await runMatrix({
        req,
        arms,
        done,
        lab,
        log: logErr,
        self: self(),
        onCell: (cs) => {
          latest = cs;
          files = writeMatrix(path, matrixResult(req, cs, started));
        },
      });
      drop();
      const m = matrixResult(req, result, started);
      files = writeMatrix(path, m);
      if (o.json) printJson({ ...m, files });
      else {
        print(renderMatrixMarkdown(m));
        print(`results: ${files.json}, ${files.markdown}, ${files.svg}`);
      }
      if (!m.complete) process.exitCode = 3;
    });
}
