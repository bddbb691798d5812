// `lint`: which sysctl configuration files are read and in what order, which assignment wins for
// each key, and what is wrong with the result — judged against a Snapshot (live, --netns or a
// file) and the parameter catalog.
//
// File order (procps-ng 4.0 `sysctl --system`, src/sysctl.c PreloadSystem; systemd sysctl.d(5)
// "Configuration Directories and Precedence"):
//   1. every `*.conf` file in the search-path directories
//        /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d, /lib/sysctl.d
//      is collected; a file NAME seen in an earlier directory masks the same name in later ones
//      (a symlink to /dev/null masks and contributes nothing — the documented way to disable a
//      vendor file); a directory whose real path was already listed (/lib → /usr/lib on merged-/usr
//      Debian) is skipped;
//   2. the surviving files are applied in byte order of their FILE NAME, whatever their directory;
//   3. /etc/sysctl.conf is applied last (procps only; systemd-sysctl reads it solely through
//      Debian's symlink /etc/sysctl.d/99-sysctl.conf → ../sysctl.conf).
//   A file reached twice by real path (that symlink) is read once, at its LAST position: procps
//   applies it at 99-sysctl.conf and again at the end, so the end position decides its values;
//   systemd-sysctl at boot differs only if a file sorted after 99-sysctl.conf sets the same key.
// PATH arguments: directories form the search path in argument order (same masking and name
// order); files named directly are applied after them, in argument order, like /etc/sysctl.conf.
//
// Which assignment wins (identical in systemd-sysctl and procps write_setting_list): for a key
// assigned explicitly, the last explicit assignment in file order. A glob assignment writes every
// matching key that exists (glob(3) over /proc/sys) EXCEPT keys that have an explicit assignment
// anywhere (whatever the order) or a `-key` exclusion; among several globs, the last one wins.
import { analyse, type AnalyseOptions } from './analyse.js';
import { collectFiles, readFiles } from './files.js';
import type { LintCode, LintAssignment, LintFile, LintMessage, LintResult, LintSeverity, LintSummary, Sources } from './types.js';

export { parseSysctlConf } from './parse.js';
export * from './types.js';
export { collectFiles, readFiles, systemSources } from './files.js';
export { analyse, type AnalyseOptions, type HostValue } from './analyse.js';


function fileMessages(files: readonly LintFile[]): LintMessage[] {
  const out: LintMessage[] = [];
  for (const f of files) {
    if (f.status === 'masked')
      out.push({ file: f.path, line: null, severity: 'info', code: 'masked-file', key: null, message: `not read: masked by ${f.masked_by ?? '?'} (same file name in an earlier directory)` });
    else if (f.status === 'duplicate')
      out.push({ file: f.path, line: null, severity: 'info', code: 'duplicate-file', key: null, message: `not read here: the same file as ${f.same_as ?? '?'}, which is read at its position instead` });
    else if (f.status === 'disabled')
      out.push({ file: f.path, line: null, severity: 'info', code: 'disabled-file', key: null, message: 'a symlink to /dev/null: disables this file name in later directories' });
  }
  return out;
}

const SEVERITY_RANK: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

/** Messages in file application order (then masked/duplicate files), line, severity. */
export function sortMessages(messages: LintMessage[], files: readonly LintFile[]): LintMessage[] {
  const pos = new Map<string, number>();
  files.forEach((f, i) => {
    if (!pos.has(f.path)) pos.set(f.path, i);
  });
  const rank = (m: LintMessage): number => (m.file === null ? Infinity : (pos.get(m.file) ?? files.length));
  return messages
    .map((m, i) => ({ m, i }))
    .sort((x, y) => rank(x.m) - rank(y.m) || (x.m.line ?? 0) - (y.m.line ?? 0) || SEVERITY_RANK[x.m.severity] - SEVERITY_RANK[y.m.severity] || x.i - y.i)
    .map((x) => x.m);
}

export function summarise(files: readonly LintFile[], assignments: readonly LintAssignment[], keys: number, messages: readonly LintMessage[]): LintSummary {
  const byCode: Partial<Record<LintCode, number>> = {};
  for (const m of messages) byCode[m.code] = (byCode[m.code] ?? 0) + 1;
  return {
    files_read: files.filter((f) => f.status === 'read').length,
    files_masked: files.filter((f) => f.status === 'masked').length,
    files_skipped: files.filter((f) => f.status === 'duplicate' || f.status === 'disabled' || f.status === 'unreadable').length,
    assignments: assignments.length,
    keys,
    errors: messages.filter((m) => m.severity === 'error').length,
    warnings: messages.filter((m) => m.severity === 'warning').length,
    infos: messages.filter((m) => m.severity === 'info').length,
    by_code: byCode,
  };
}

/** The whole `lint`: collect, read, parse, analyse. */
export function lint(src: Sources, opts: AnalyseOptions): LintResult {
  const { search_path, files } = collectFiles(src);
  const read = readFiles(files);
  const parseMessages: LintMessage[] = read.parsed.flatMap((p) =>
    p.problems.map((pr): LintMessage => ({ file: pr.file, line: pr.line, severity: 'error', code: 'parse-error', key: null, message: `${pr.message}: ${JSON.stringify(pr.text.trim())}` })),
  );
  const res = analyse(read.parsed, opts);
  const messages = sortMessages([...read.messages, ...parseMessages, ...fileMessages(files), ...res.messages], files);
  return { search_path, files, ...res, messages, summary: summarise(files, res.assignments, Object.keys(res.effective).length, messages) };
}
