// The matrix results file (matrix.json, with matrix.md and matrix.svg next to it): written after
// every cell, atomically, so an interrupted or failed run leaves every finished cell on disk and
// `--resume FILE` can go on from there. Read back through zod: a file that is not a matrix result
// is exit 2, before any lab is built.
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { usageError } from '../sys/errors.js';
import { readJsonFile, writeFileAtomic } from '../sys/fs.js';
import { cellsOf, MATRIX_KINDS, MATRIX_SCHEMA, type MatrixCell, type MatrixRequest, type MatrixResult, metricOf } from './matrix.js';
import { renderMatrixMarkdown, renderMatrixSvg } from './matrix-report.js';

const num = z.number().finite();
const armCell = z.object({
  key: z.string(),
  label: z.string(),
  samples: z.array(num),
  median: num.nullable(),
  min: num.nullable(),
  max: num.nullable(),
  share: num.nullable(),
  share_min: num.nullable(),
  share_max: num.nullable(),
  ratio: num.nullable(),
  ci95: z.tuple([num, num]).nullable(),
  basis: z.string().nullable(),
  verdict: z.string().nullable(),
  not_settable: z.array(z.string()),
});
const cell = z.object({
  id: z.string(),
  rate_bps: num,
  rtt_ms: num,
  loss_pct: num,
  jitter_ms: num,
  ceiling_bps: num.nullable(),
  status: z.enum(['ok', 'failed']),
  reason: z.string().nullable(),
  measured_rtt_min_ms: num.nullable(),
  omit_s: num.nullable(),
  duration_s: num,
  arms: z.array(armCell),
  notes: z.array(z.string()),
  finished_at: z.string(),
});
export const matrixFileSchema = z.object({
  schema: z.literal(MATRIX_SCHEMA),
  kind: z.enum(MATRIX_KINDS),
  grid: z.object({ rates_bps: z.array(num.positive()).min(1), rtts_s: z.array(num.nonnegative()).min(1), losses_pct: z.array(num.nonnegative()).min(1), jitter_s: num.nonnegative() }),
  arms: z.array(z.object({ key: z.string(), label: z.string(), source: z.string(), flag: z.string() })).min(2),
  reps: z.number().int().min(1).max(50),
  duration_s: num.positive(),
  omit_s: num.nonnegative().nullable(),
  metric: z.object({ name: z.string(), unit: z.string(), higher_is_better: z.boolean(), integer: z.boolean().optional() }),
  started_at: z.string(),
  updated_at: z.string(),
  complete: z.boolean(),
  cells: z.array(cell),
});

/** Reads a results file to resume (exit 2 when it is not one). */
export function readMatrixFile(file: string): MatrixResult {
  const doc = readJsonFile(file, { what: 'a matrix results file' });
  const r = matrixFileSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw usageError(`${file}: not a nettune matrix results file (${MATRIX_SCHEMA}): ${i?.path.join('.') ?? ''} ${i?.message ?? ''}`.trim(), 'give the matrix.json a previous `experiment matrix` wrote');
  }
  return r.data;
}

export function matrixResult(req: MatrixRequest, cells: MatrixCell[], started_at: string): MatrixResult {
  const all = cellsOf(req.grid).length;
  return {
    schema: MATRIX_SCHEMA,
    ...req,
    metric: metricOf(req.kind),
    started_at,
    updated_at: new Date().toISOString(),
    complete: cells.length === all && cells.every((c) => c.status === 'ok'),
    cells,
  };
}

/** The three files for a results path: FILE.json, FILE.md, FILE.svg (same base name). */
export function matrixFiles(jsonPath: string): { json: string; markdown: string; svg: string } {
  const base = join(dirname(jsonPath), basename(jsonPath).replace(/\.json$/i, ''));
  return { json: jsonPath, markdown: `${base}.md`, svg: `${base}.svg` };
}

/** Writes the results file (and the table and figure next to it), each atomically. */
export function writeMatrix(jsonPath: string, m: MatrixResult): { json: string; markdown: string; svg: string } {
  const files = matrixFiles(jsonPath);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileAtomic(files.json, JSON.stringify(m, null, 2) + '\n');
  writeFileAtomic(files.markdown, renderMatrixMarkdown(m));
  writeFileAtomic(files.svg, renderMatrixSvg(m));
  return files;
}
