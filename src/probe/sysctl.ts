// Walks /proc/sys/net (and a few non-net knobs networking depends on) into dotted keys with values
// as `sysctl -n` prints them. Write-only entries (e.g. net.ipv4.route.flush) are skipped, as
// `sysctl -a` does. Secrets are never recorded: a key /proc/sys keeps mode 0600 (no read bit for
// group or others: tcp_fastopen_key, stable_secret, bpf_jit_*) or one named as a secret is
// listed in `redacted` as 'secret' (present, value not recorded), or as 'unset' when the kernel
// has no value to show (EIO: an IPv6 stable_secret nobody set, the kernel's normal state, see
// addrconf_sysctl_stable_secret in net/ipv6/addrconf.c). Anything else that cannot be read is an
// error entry.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeError, SysctlRedaction } from '../snapshot/schema.js';

/** Non-net knobs that bound networking: open files (each socket is one) and reserve memory. */
export const EXTRA_SYSCTLS = ['fs.file-max', 'fs.nr_open', 'fs.file-nr', 'vm.min_free_kbytes'] as const;

export const normaliseValue = (raw: string): string => raw.trim().replace(/\s+/g, ' ');

/** A /proc/sys path segment → a key segment: sysctl(8) shows a '.' inside a name (eth0.100) as '/'. */
const segment = (name: string): string => name.replace(/\./g, '/');

/** Dotted key → path under /proc/sys ('/' inside a segment is a '.' in the file name). */
export const keyToPath = (key: string, root = '/proc/sys'): string =>
  join(root, ...key.split('.').map((s) => s.replace(/\//g, '.')));

/** Keys that hold secrets whatever their mode says (a kernel that relaxed a mode stays redacted). */
export const SECRET_KEYS: readonly RegExp[] = [/^net\.ipv4\.tcp_fastopen_key$/, /\.stable_secret$/];

/** A key whose file the kernel keeps from group and others (mode 0600, 0400) is a secret. */
export const isSecret = (key: string, mode: number | null): boolean =>
  SECRET_KEYS.some((re) => re.test(key)) || (mode !== null && (mode & 0o400) !== 0 && (mode & 0o044) === 0);

/** One file the walk read (its value, or why not), before its mode says what it is. */
export interface SysctlRead {
  key: string;
  path: string;
  text: string | null;
  err: NodeJS.ErrnoException | null;
}

/** A file's mode (null when it cannot be stat'ed): statSync, or (the probe) one find(1) over the
 *  tree in the probe's command batch. */
export type ModeOf = (path: string) => number | null;
export const statMode: ModeOf = (path) => {
  try {
    return statSync(path).mode;
  } catch {
    return null; // reported by the read
  }
};

/** Walks `root`/net and reads every file (one readFileSync each, no stat: the modes come after). */
export function walkSysctls(root = '/proc/sys'): { reads: SysctlRead[]; errors: ProbeError[] } {
  const reads: SysctlRead[] = [];
  const errors: ProbeError[] = [];
  const walk = (dir: string, prefix: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      errors.push({ section: 'sysctl', source: dir, message: (err as Error).message });
      return;
    }
    for (const ent of entries) {
      const path = `${dir}/${ent.name}`;
      const key = `${prefix}.${ent.name.includes('.') ? segment(ent.name) : ent.name}`;
      if (ent.isDirectory()) walk(path, key);
      else {
        try {
          reads.push({ key, path, text: readFileSync(path, 'utf8'), err: null });
        } catch (err) {
          reads.push({ key, path, text: null, err: err as NodeJS.ErrnoException });
        }
      }
    }
  };
  walk(join(root, 'net'), 'net');
  return { reads, errors };
}

/** What each read is by its file's mode: a write-only trigger (route.flush) is no value, as
 *  `sysctl -a` has it; a secret is listed in `redacted` ('unset' when the read found no value,
 *  EIO), its text dropped; anything else is a value, or an error entry when it could not be read. */
export function classifySysctls(reads: readonly SysctlRead[], modeOf: ModeOf, root = '/proc/sys'): { values: Record<string, string>; redacted: Record<string, SysctlRedaction>; errors: ProbeError[] } {
  const values: Record<string, string> = {};
  const redacted: Record<string, SysctlRedaction> = {};
  const errors: ProbeError[] = [];
  for (const { key, path, text, err } of reads) {
    const mode = modeOf(path);
    if (mode !== null && (mode & 0o444) === 0) continue;
    if (isSecret(key, mode)) redacted[key] = err?.code === 'EIO' ? 'unset' : 'secret';
    else if (text !== null) values[key] = normaliseValue(text);
    else {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EIO' ? 'EIO (the kernel has no value to show, e.g. an unset stable_secret)' : (e.code ?? e.message);
      errors.push({ section: 'sysctl', source: path, message: `${key}: ${why}` });
    }
  }
  for (const key of EXTRA_SYSCTLS) {
    try {
      values[key] = normaliseValue(readFileSync(keyToPath(key, root), 'utf8'));
    } catch (err) {
      errors.push({ section: 'sysctl', source: keyToPath(key, root), message: `${key}: ${(err as NodeJS.ErrnoException).code ?? ''}` });
    }
  }
  return { values, redacted, errors };
}

/** The find(1) arguments that list, with their modes, the files under `root`/net whose mode
 *  matters (write-only, or readable by the owner alone), and the ModeOf its output gives: every
 *  file it does not list is readable by all. null when the output is not such a list. The line
 *  end is find's own `\\n` escape, not a newline character: an argument with a newline cannot be
 *  a batch parameter (batch.ts), and find then ran as a Node spawn of its own. */
export const SPECIAL_MODES_FIND = (root = '/proc/sys'): string[] => [join(root, 'net'), '-type', 'f', '(', '!', '-perm', '/0444', '-o', '(', '-perm', '-0400', '!', '-perm', '/0044', ')', ')', '-printf', '%m %p\\n'];
export function modesFromFind(out: string): ModeOf | null {
  const special = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const m = /^([0-7]{1,4}) (\/.+)$/.exec(line);
    if (!m?.[1] || !m[2]) return null;
    special.set(m[2], parseInt(m[1], 8));
  }
  return (path) => special.get(path) ?? 0o444;
}

export function readSysctls(root = '/proc/sys', modeOf: ModeOf = statMode): { values: Record<string, string>; redacted: Record<string, SysctlRedaction>; errors: ProbeError[] } {
  const walked = walkSysctls(root);
  const out = classifySysctls(walked.reads, modeOf, root);
  return { ...out, errors: [...walked.errors, ...out.errors] };
}

/** One key read live (for knobs outside the Snapshot, e.g. kernel.* in a sysctl.d file):
 *  exists=false when the kernel has no such key; value=null when it exists but cannot be read. */
export function readSysctlKey(key: string, root = '/proc/sys'): { exists: boolean; value: string | null } {
  try {
    if (isSecret(key, statSync(keyToPath(key, root)).mode)) return { exists: true, value: null }; // never a secret's value
  } catch {
    // missing: answered below
  }
  try {
    return { exists: true, value: normaliseValue(readFileSync(keyToPath(key, root), 'utf8')) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? { exists: false, value: null } : { exists: true, value: null }; // EISDIR, EACCES, EIO
  }
}
