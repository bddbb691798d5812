// What export renders from and to. Every format takes one ExportDoc (a plan file, a journaled
// transaction or the live values against the kernel defaults, see source.ts) and returns text:
// files with paths relative to the output (a single-file format has one), and notes saying what
// the format could not express. Writing them is the caller's (src/export/write.ts, DESIGN.md).
import type { Plan } from '../plan/schema.js';
import type { PlanChange } from '../plan/types.js';

export interface RenderedFile {
  /** Relative path under --out DIR ("tasks/main.yml"), or the one file's default name. */
  path: string;
  content: string;
  /** Mode for a new file (0o755 for scripts); default 0o644. */
  mode?: number;
}

export interface Rendered {
  files: RenderedFile[];
  /** What the format cannot express, per key or setting, and anything else a reviewer must know. */
  notes: string[];
}

/** A change as export sees it: the plan change, why, and where the reason came from. */
export type ExportChange = PlanChange & {
  reason: string;
  /** intent:NAME, rule:ID, tx:ID, current, cli:--set … */
  source: string;
};

export interface ExportTransaction {
  id: number;
  status: string;
  started_at: string;
  finished_at: string | null;
  source: string;
  netns: string | null;
  error: string | null;
  /** Every value step: target label, before (null: did not exist), wanted, read back, state. */
  steps: { target: string; kind: string; before: string | null; wanted: string; after: string | null; status: string }[];
}

export interface ExportDoc {
  /** What the user named: `plan.json`, `tx:3`, `current`. */
  label: string;
  kind: 'plan' | 'tx' | 'current';
  /** When the source was made (plan created_at, transaction start, snapshot time): renderers put
   *  this, never the export time, in headers, so exporting twice gives the same bytes. */
  created_at: string;
  host: { hostname: string; kernel: string; netns: string | null } | null;
  workload: string | null;
  link: Plan['link'];
  changes: ExportChange[];
  skipped: Plan['skipped'];
  notes: string[];
  transaction: ExportTransaction | null;
}

export interface RenderOptions {
  /** shell: the script that restores a transaction's before-values instead of applying. */
  revert: boolean;
  /** Name of the role, profile or unit set (a safe file-name word). */
  name: string;
  /** tuned: the profile to build on (include=), or none. */
  include: string | null;
}

export type Renderer = (doc: ExportDoc, opts: RenderOptions) => Rendered;

export interface FormatSpec {
  render: Renderer;
  /** One line for --help and the unknown-format message. */
  describe: string;
  /** --out names a directory the files go under (otherwise one file, or a directory to put it in). */
  dir: boolean;
  /** Without --out the first file is printed on stdout (the others need --out). */
  stdout: boolean;
}
