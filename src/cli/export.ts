// `nettune export SOURCE --format F [--out DIR|FILE] [--json]`: a plan file, a transaction
// (`tx:ID`) or `current` rendered for another engine (sysctl.d, shell, Ansible, tuned, Kubernetes,
// systemd, a review report). SOURCE words in NAMED_EXPORTS are exports of their own (monitoring
// rules and dashboards) and go to their renderer instead.
import type { Command } from 'commander';
import { z } from 'zod';
import { getTx, openJournal, snapshotsOf, stepsOf } from '../apply/journal.js';
import { docFromCurrent, docFromTransaction, FORMATS, formatNames, loadPlanFile, type ExportDoc, type Rendered } from '../export/index.js';
import { checkOut, writeRendered } from '../export/write.js';
import { snapshotSchema } from '../snapshot/index.js';
import { usageError } from '../sys/errors.js';
import { getSnapshot, logErr, parseOptions, print, printJson, withSource } from './common.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const exportOptions = z
  .object({
    json: z.boolean().optional(),
    netns: z.string().optional(),
    snapshot: z.string().optional(),
    format: z.string().optional(),
    out: z.string().min(1, 'a path is needed').optional(),
    revert: z.boolean().optional(),
    name: z.string().regex(NAME, 'letters, digits, "_", "." and "-", at most 64').optional(),
    include: z.string().min(1).optional(),
  })
  .refine((o) => !(o.netns && o.snapshot), { message: '--netns and --snapshot cannot be used together' });

export type ExportOptions = z.infer<typeof exportOptions>;

/** SOURCE words that name an export of their own, not a plan: each returns its rendered files. */
export const NAMED_EXPORTS: Record<string, { describe: string; dir: boolean; run: (opts: ExportOptions) => Promise<Rendered> }> = {
  alerts: { describe: 'Prometheus alerting rules from the audit rules', dir: false, run: async () => (await import('../export/alerts.js')).renderAlerts() },
  grafana: { describe: 'a Grafana dashboard over the exporter', dir: false, run: async () => (await import('../export/grafana.js')).renderGrafana() },
};

const TX = /^tx:(\d{1,12})$/;

async function loadSource(source: string, opts: ExportOptions): Promise<ExportDoc> {
  if (source === 'current') return docFromCurrent(await getSnapshot(opts));
  const tx = TX.exec(source);
  if (tx) {
    const db = openJournal();
    const row = getTx(db, Number(tx[1]));
    if (!row) throw usageError(`${source}: no transaction ${tx[1]} in the journal`, 'list them with: nettune history');
    const before = snapshotSchema.safeParse(snapshotsOf(db, row.id).before);
    return docFromTransaction(row, stepsOf(db, row.id), before.success ? (before.data) : null);
  }
  if (source.startsWith('tx:')) throw usageError(`${source}: a transaction is tx:ID with a number (tx:3)`);
  return loadPlanFile(source);
}

function unknownFormat(f: string | undefined): never {
  throw usageError(
    `${f === undefined ? '--format is required' : `--format ${f}: unknown format`}; one of: ${formatNames().join(', ')}`,
    `formats: ${formatNames()
      .map((n) => `${n} (${FORMATS[n]?.describe ?? ''})`)
      .join('; ')}`,
  );
}

interface EmitMeta {
  source: string;
  format: string;
  dir: boolean;
  /** Notes of the source itself (a rolled-back transaction, what `current` considered). */
  sourceNotes: string[];
}

function emit(rendered: Rendered, meta: EmitMeta, opts: ExportOptions): void {
  const written = opts.out !== undefined ? writeRendered(rendered, opts.out, meta.dir) : null;
  if (opts.json)
    return printJson({
      source: meta.source,
      format: meta.format,
      files: rendered.files.map((f) => ({ path: f.path, mode: (f.mode ?? 0o644).toString(8), content: f.content })),
      notes: rendered.notes,
      source_notes: meta.sourceNotes,
      written,
    });
  const notes = [...meta.sourceNotes, ...rendered.notes];
  if (written) {
    print(`Wrote ${written.length} file${written.length === 1 ? '' : 's'}:`);
    for (const w of written) print(`  ${w}`);
    for (const n of notes) print(`note: ${n}`);
    return;
  }
  const [first, ...rest] = rendered.files;
  if (first) print(first.content);
  for (const f of rest) logErr(`nettune: note: ${f.path} is written only with --out DIR`);
  for (const n of notes) logErr(`nettune: note: ${n}`);
}

export function registerExport(program: Command): void {
  withSource(
    program
      .command('export')
      .description('render a plan, a transaction or the current tuning for another engine: sysctl.d, shell, ansible, tuned, k8s, systemd, report')
      .argument('<source>', `a plan file (nettune plan --out), tx:ID (nettune history), or current (live values that differ from the kernel defaults)${Object.keys(NAMED_EXPORTS).length ? `; or ${Object.keys(NAMED_EXPORTS).join(', ')}` : ''}`),
  )
    .option('--format <f>', `output format: ${formatNames().join(', ')}`)
    .option('--out <path>', 'write here (a file, or a directory for formats with several files) instead of stdout')
    .option('--revert', 'shell, ansible: restore a transaction’s before-values instead of applying')
    .option('--name <word>', 'name of the file, role, profile or units (default nettune)')
    .option('--include <profile>', 'tuned: the profile to build on (include=)')
    .action(async (source: string, raw: unknown) => {
      const opts = parseOptions(exportOptions, raw);
      const named = NAMED_EXPORTS[source];
      if (named) {
        if (opts.out !== undefined) checkOut(opts.out, named.dir);
        return emit(await named.run(opts), { source, format: opts.format ?? source, dir: named.dir, sourceNotes: [] }, opts);
      }
      const spec = opts.format !== undefined ? FORMATS[opts.format] : undefined;
      if (!spec) return unknownFormat(opts.format);
      const format = opts.format ?? '';
      if (opts.include !== undefined && format !== 'tuned') throw usageError('--include is for --format tuned (the profile to build on)');
      if (opts.revert && format !== 'shell' && format !== 'ansible') throw usageError('--revert is for --format shell or ansible (a script or role that restores a transaction’s before-values)');
      if (opts.revert && !TX.test(source)) throw usageError('--revert needs a transaction (tx:ID): only the journal records the before-values');
      if ((opts.netns || opts.snapshot) && source !== 'current') throw usageError('--netns and --snapshot choose the host for SOURCE current; a plan or transaction carries its own');
      if (opts.out !== undefined) checkOut(opts.out, spec.dir);
      else if (!spec.stdout && !opts.json) throw usageError(`--format ${format} writes a directory: give --out DIR (or --json for the files as one document)`);
      const doc = await loadSource(source, opts);
      const rendered = spec.render(doc, { revert: Boolean(opts.revert), name: opts.name ?? 'nettune', include: opts.include ?? null });
      emit(rendered, { source, format, dir: spec.dir, sourceNotes: doc.kind === 'plan' ? [] : doc.notes }, opts);
    });
}
