// `nettune lint [PATH…]`: the sysctl configuration files, in the order they are applied, which line
// wins for each key, and what is wrong with them (src/lint has the semantics).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { type HostValue, lint, type LintMessage, type LintResult, type Sources, SYSTEM_DIRS, SYSTEM_TAIL_FILE, systemSources } from '../lint/index.js';
import { type CommandLintResult, lintCommands } from '../lint/commands.js';
import { readSysctlKey } from '../probe/sysctl.js';
import { WORKLOADS } from '../plan/types.js';
import type { Snapshot } from '../snapshot/index.js';
import { EXIT, NettuneError, usageError } from '../sys/errors.js';
import { fileTypeName, readInputFile } from '../sys/fs.js';
import { getSnapshot, parseOptions, print, printJson, withSource } from './common.js';
import { table } from './format.js';

const lintOptions = z
  .object({
    json: z.boolean().optional(),
    netns: z.string().optional(),
    snapshot: z.string().optional(),
    workload: z.enum(WORKLOADS).default('balanced'),
    root: z.string().optional(),
    commands: z.string().optional(),
  })
  .refine((o) => !(o.netns && o.snapshot), { message: '--netns and --snapshot cannot be used together' });

/** PATH arguments → sources: directories form the search path, files are read after them. */
export function sourcesFromPaths(paths: readonly string[]): Sources {
  const dirs: string[] = [];
  const files: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      const st = statSync(p);
      // FIFOs, devices and sockets are refused here (reading one would hang or never end).
      if (!st.isDirectory() && !st.isFile()) throw usageError(`${p}: ${fileTypeName(st)}, not a file or directory`);
      isDir = st.isDirectory();
    } catch (err) {
      if (err instanceof NettuneError) throw err;
      throw usageError(`${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : ((err as NodeJS.ErrnoException).code ?? 'cannot access')}`);
    }
    (isDir ? dirs : files).push(p);
  }
  return { dirs, files };
}

/** Keys outside a Snapshot (kernel.*, vm.*, fs.*) on the live host. These knobs are not per
 *  network namespace, so the host's /proc/sys answers for --netns too. */
function lineOf(m: LintMessage): string {
  const at = m.file === null ? '' : m.line === null ? `${m.file}: ` : `${m.file}:${m.line}: `;
  return `${at}${m.severity}: ${m.message}`;
}

export function renderLintText(r: LintResult, snap: Snapshot, sourceNote: string): string {
  const out: string[] = [];
  out.push(`lint of ${r.summary.files_read} files against ${snap.hostname}${snap.netns.name ? ` netns ${snap.netns.name}` : ''} · kernel ${snap.kernel.release} (${sourceNote})`, '');
  const rows = r.files.map((f) => {
    const status =
      f.status === 'read'
        ? ''
        : f.status === 'masked'
          ? `masked by ${f.masked_by ?? '?'}`
          : f.status === 'duplicate'
            ? `same file as ${f.same_as ?? '?'}`
            : f.status === 'disabled'
              ? '→ /dev/null (disables the name)'
              : `unreadable: ${f.error ?? ''}`;
    return [f.order === null ? '  -' : `  ${f.order + 1}`, f.path, status];
  });
  if (rows.length) out.push('Files in the order they are applied:', table(rows), '');
  else out.push('No configuration files found.', '');
  let current: string | null | undefined;
  for (const m of r.messages) {
    if (m.file !== current) {
      if (current !== undefined) out.push('');
      out.push(m.file ?? '(the configuration as a whole)');
      current = m.file;
    }
    out.push(lineOf(m));
  }
  if (r.messages.length) out.push('');
  const s = r.summary;
  const skipped = [s.files_masked ? `${s.files_masked} masked` : '', s.files_skipped ? `${s.files_skipped} skipped` : ''].filter(Boolean).join(', ');
  out.push(
    `${s.files_read} files read${skipped ? ` (${skipped})` : ''}, ${s.assignments} assignments → ${s.keys} keys: ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.infos} info`,
  );
  return out.join('\n');
}

export function renderCommandLint(r: CommandLintResult, snap: Snapshot): string {
  const tools = (['ethtool', 'sysctl', 'ip'] as const).map((t) => [t, r.commands.filter((c) => c.tool === t).length] as const).filter(([, n]) => n > 0);
  const out = [`lint of the command lines in ${r.file} (${r.format}) against ${snap.hostname}${snap.netns.name ? ` netns ${snap.netns.name}` : ''} · kernel ${snap.kernel.release}`, ''];
  for (const m of r.messages) {
    out.push(`${m.file}:${m.line}: ${m.severity}: ${m.message}`);
    if (m.command) out.push(`    command: ${m.command}`);
    if (m.fix) out.push(`    use:     ${m.fix}`);
  }
  if (r.messages.length) out.push('');
  const s = r.summary;
  out.push(`${s.commands} command line${s.commands === 1 ? '' : 's'}${tools.length ? ` (${tools.map(([t, n]) => `${n} ${t}`).join(', ')})` : ''}: ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.infos} info`);
  return out.join('\n');
}

export function registerLint(program: Command): void {
  withSource(
    program
      .command('lint')
      .description('check sysctl.conf and sysctl.d files: order, overrides, unknown keys, invalid values, drift from the kernel (exit 1 on errors)')
      .argument('[paths...]', 'files or directories (default: the sysctl --system search path)'),
  )
    .option('--workload <w>', 'latency | throughput | connections | balanced (default balanced), for the audit rules')
    .option('--root <dir>', 'use the default search path under DIR (an image or a chroot) instead of /')
    .option('--commands <file>', 'check the ethtool, sysctl and ip command lines of a shell script or an Ansible YAML file instead')
    .addHelpText(
      'after',
      `
Without PATH: every *.conf in ${SYSTEM_DIRS.join(', ')}, applied in file-name order across
those directories (a name in an earlier directory masks the same name in later ones; a symlink to
/dev/null disables it), then ${SYSTEM_TAIL_FILE} — as procps \`sysctl --system\` does. A file reached twice
by real path (Debian's 99-sysctl.conf → ../sysctl.conf) is read once, at its last position.
PATH directories form the search path the same way; PATH files are applied after them, in order.

Each message is "file:line: severity: message". Errors: parse errors, unknown keys, invalid values,
removed knobs. Warnings: overridden or duplicate assignments, values not in effect now (drift),
keys missing on this host, global knobs in a namespace, problems the audit rules would find with
the resulting values. Exit codes: 0 no errors · 1 at least one error · 2 bad usage (missing PATH).

--commands FILE: the ethtool, sysctl and ip lines of a shell script or an Ansible file (command,
shell and raw tasks), each as "file:line: severity: message" with the command and, where there is
one, the command to use instead (e.g. ethtool -N takes rx-flow-hash FLOW-TYPE FIELDS, not
rx-vlan hash MASK). sysctl -w values go through the same checks as sysctl.d files.`,
    )
    .action(async (paths: string[], raw: unknown) => {
      const opts = parseOptions(lintOptions, raw);
      if (opts.root && paths.length) throw usageError('--root and PATH arguments cannot be used together');
      if (opts.commands !== undefined) {
        if (paths.length || opts.root) throw usageError('--commands checks one script or Ansible file: without PATH arguments or --root');
        const text = readInputFile(opts.commands, { label: `--commands ${opts.commands}` });
        const snap = await getSnapshot(opts);
        const r = lintCommands(opts.commands, text, { snap, workload: opts.workload, hostLookup: opts.snapshot ? undefined : (key: string): HostValue => readSysctlKey(key) });
        if (opts.json) printJson({ source: { mode: opts.snapshot ? 'snapshot' : 'live', snapshot: opts.snapshot ?? null, hostname: snap.hostname, kernel: snap.kernel.release, netns: snap.netns.name, taken_at: snap.taken_at, workload: opts.workload }, ...r });
        else print(renderCommandLint(r, snap));
        if (r.summary.errors > 0) process.exitCode = EXIT.findings;
        return;
      }
      if (opts.root && sourcesFromPaths([opts.root]).dirs.length === 0) throw usageError(`--root ${opts.root}: not a directory`);
      const src = paths.length ? sourcesFromPaths(paths) : systemSources(opts.root ? resolve(opts.root) : '/');
      const snap = await getSnapshot(opts);
      const result = lint(src, { snap, workload: opts.workload, hostLookup: opts.snapshot ? undefined : (key: string): HostValue => readSysctlKey(key) });
      const sourceNote = opts.snapshot ? `snapshot ${opts.snapshot}` : opts.netns ? `live, netns ${opts.netns}` : 'live';
      if (opts.json)
        printJson({
          source: { mode: opts.snapshot ? 'snapshot' : 'live', snapshot: opts.snapshot ?? null, hostname: snap.hostname, kernel: snap.kernel.release, netns: snap.netns.name, taken_at: snap.taken_at, workload: opts.workload },
          ...result,
        });
      else print(renderLintText(result, snap, sourceNote));
      if (result.summary.errors > 0) process.exitCode = EXIT.findings;
    });
}
