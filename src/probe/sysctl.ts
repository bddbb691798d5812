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

/** How a secret stands without its value: 'unset' when the kernel has none (EIO). */
function redaction(path: string): SysctlRedaction {
  try {
    readFileSync(path); // the value is read to learn whether there is one, and dropped at once
    return 'secret';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EIO' ? 'unset' : 'secret';
  }
}

export function readSysctls(root = '/proc/sys'): { values: Record<string, string>; redacted: Record<string, SysctlRedaction>; errors: ProbeError[] } {
  const values: Record<string, string> = {};
  const redacted: Record<string, SysctlRedaction> = {};
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
      const path = join(dir, ent.name);
      const key = `${prefix}.${segment(ent.name)}`;
      if (ent.isDirectory()) walk(path, key);
      else readOne(path, key);
    }
  };
  const readOne = (path: string, key: string): void => {
    let mode: number | null = null;
    try {
      mode = statSync(path).mode;
    } catch {
      mode = null; // reported by the read below
    }
    if (mode !== null && (mode & 0o444) === 0) return; // write-only trigger (route.flush), not a value
    if (isSecret(key, mode)) {
      redacted[key] = redaction(path);
      return;
    }
    try {
      values[key] = normaliseValue(readFileSync(path, 'utf8'));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EACCES' || e.code === 'EPERM') {
        try {
          if ((statSync(path).mode & 0o444) === 0) return; // write-only trigger, not a value
        } catch {
          // fall through and report
        }
      }
      const why = e.code === 'EIO' ? 'EIO (the kernel has no value to show, e.g. an unset stable_secret)' : (e.code ?? e.message);
      errors.push({ section: 'sysctl', source: path, message: `${key}: ${why}` });
    }
  };
  walk(join(root, 'net'), 'net');
  for (const key of EXTRA_SYSCTLS) {
    try {
      values[key] = normaliseValue(readFileSync(keyToPath(key, root), 'utf8'));
    } catch (err) {
      errors.push({ section: 'sysctl', source: keyToPath(key, root), message: `${key}: ${(err as NodeJS.ErrnoException).code ?? ''}` });
    }
  }
  return { values, redacted, errors };
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
