// The experiment reports a dashboard shows (`--reports DIR`): every report directory that
// `experiment run --report D` wrote (result.json, report.md, the SVG figures), as DIR itself or
// its subdirectories. Files are served only by (report id, file name) pairs from that listing,
// never by a path from the request: the id is a directory name from readdir, the file one of
// REPORT_FILES, and both are checked again (no symlinks, inside DIR) when read.
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { z } from 'zod';
import { REPORT_FILES } from '../lab/report.js';
import { describeFsError, readInputBytes } from '../sys/fs.js';

/** DIR itself when it holds a result.json (a name a subdirectory cannot have). */
export const ROOT_REPORT_ID = '-';
const SUBDIR_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MAX_REPORTS = 200;

const CONTENT_TYPES: Record<string, string> = {
  [REPORT_FILES.json]: 'application/json; charset=utf-8',
  [REPORT_FILES.markdown]: 'text/markdown; charset=utf-8',
  [REPORT_FILES.throughput]: 'image/svg+xml',
  [REPORT_FILES.latencyCdf]: 'image/svg+xml',
};

/** The fields of result.json the listing shows; the rest is passed through untouched. */
const resultSchema = z
  .object({
    name: z.string(),
    claim: z.string().optional(),
    metric: z.object({ name: z.string(), unit: z.string(), higher_is_better: z.boolean() }).passthrough(),
    verdict: z.string(),
    ratio: z.number().nullable().optional(),
    ci95: z.tuple([z.number(), z.number()]).nullable().optional(),
    reps: z.number().optional(),
    started_at: z.string().optional(),
    duration_s: z.number().optional(),
    partial: z.boolean().optional(),
    a: z.object({ label: z.string(), median: z.number().nullable() }).passthrough(),
    b: z.object({ label: z.string(), median: z.number().nullable() }).passthrough(),
    arms: z.array(z.object({ key: z.string().optional(), label: z.string(), median: z.number().nullable() }).passthrough()).optional(),
  })
  .passthrough();

export interface ReportSummary {
  id: string;
  name: string;
  claim: string | null;
  metric: { name: string; unit: string; higher_is_better: boolean };
  verdict: string;
  ratio: number | null;
  ci95: [number, number] | null;
  reps: number | null;
  started_at: string | null;
  duration_s: number | null;
  partial: boolean;
  arms: { key: string; label: string; median: number | null }[];
  /** The report's files present here, as URLs of this dashboard. */
  files: { name: string; url: string; type: string }[];
}

export interface ReportListing {
  dir: string;
  reports: ReportSummary[];
  /** Directories that looked like reports but could not be read, with why. */
  problems: string[];
}

const isRegularFile = (path: string): boolean => {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
};

const reportDirOf = (dir: string, id: string): string => (id === ROOT_REPORT_ID ? dir : join(dir, id));

function summarise(dir: string, id: string): ReportSummary | string {
  const rdir = reportDirOf(dir, id);
  let doc: unknown;
  try {
    doc = JSON.parse(readInputBytes(join(rdir, REPORT_FILES.json)).toString('utf8'));
  } catch (err) {
    return `${id}/${REPORT_FILES.json}: ${err instanceof SyntaxError ? 'not JSON' : describeFsError(err)}`;
  }
  const r = resultSchema.safeParse(doc);
  if (!r.success) return `${id}/${REPORT_FILES.json}: not an experiment result (${r.error.issues[0]?.path.join('.') ?? ''}: ${r.error.issues[0]?.message ?? ''})`;
  const d = r.data;
  const arms = (d.arms?.length ? d.arms : [d.a, d.b]).map((a, i) => ({ key: (a as { key?: string }).key ?? String.fromCharCode(65 + i), label: a.label, median: a.median }));
  const files = Object.values(REPORT_FILES)
    .filter((f) => isRegularFile(join(rdir, f)))
    .map((f) => ({ name: f, url: `/reports/${encodeURIComponent(id)}/${f}`, type: CONTENT_TYPES[f] ?? 'application/octet-stream' }));
  return {
    id,
    name: d.name,
    claim: d.claim ?? null,
    metric: { name: d.metric.name, unit: d.metric.unit, higher_is_better: d.metric.higher_is_better },
    verdict: d.verdict,
    ratio: d.ratio ?? null,
    ci95: d.ci95 ?? null,
    reps: d.reps ?? null,
    started_at: d.started_at ?? null,
    duration_s: d.duration_s ?? null,
    partial: d.partial ?? false,
    arms,
    files,
  };
}

/** Every report under `dir` (DIR itself and its immediate subdirectories), newest first. */
export function listReports(dir: string): ReportListing {
  const out: ReportListing = { dir, reports: [], problems: [] };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    out.problems.push(`${dir}: ${describeFsError(err)}`);
    return out;
  }
  const ids = [
    // DIR's own result.json as a subdirectory's: a regular file, never followed through a link
    ...(names.includes(REPORT_FILES.json) && isRegularFile(join(dir, REPORT_FILES.json)) ? [ROOT_REPORT_ID] : []),
    ...names.filter((n) => SUBDIR_ID.test(n) && lstatSafe(join(dir, n))?.isDirectory() === true && isRegularFile(join(dir, n, REPORT_FILES.json))),
  ];
  for (const id of ids.slice(0, MAX_REPORTS)) {
    const s = summarise(dir, id);
    if (typeof s === 'string') out.problems.push(s);
    else out.reports.push(s);
  }
  if (ids.length > MAX_REPORTS) out.problems.push(`${ids.length - MAX_REPORTS} more reports not listed (at most ${MAX_REPORTS})`);
  out.reports.sort((a, b) => (b.started_at ?? '').localeCompare(a.started_at ?? '') || a.id.localeCompare(b.id));
  return out;
}

function lstatSafe(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** One file of one report, or null (unknown id or file, a symlink, outside `dir`, unreadable). */
export function readReportFile(dir: string, id: string, file: string): { body: Buffer; type: string } | null {
  const type = CONTENT_TYPES[file];
  if (type === undefined) return null;
  if (id !== ROOT_REPORT_ID && !SUBDIR_ID.test(id)) return null;
  const rdir = reportDirOf(dir, id);
  const path = join(rdir, file);
  if (id !== ROOT_REPORT_ID && lstatSafe(rdir)?.isDirectory() !== true) return null;
  if (!isRegularFile(path)) return null;
  try {
    const real = realpathSync(path);
    const base = realpathSync(dir);
    if (!real.startsWith(base + sep) || basename(real) !== file) return null;
    return { body: readInputBytes(real), type };
  } catch {
    return null;
  }
}
