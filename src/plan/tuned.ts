// tuned profiles, read the way tuned 2.20 reads them (redhat-performance/tuned:
// tuned/profiles/loader.py, locator.py, merger.py, unit.py, plugins/base.py, plugin_sysctl.py):
//
// - tuned.conf is Python ConfigParser text: `[section]` headers, `key = value` ('=' is the only
//   delimiter), full-line comments with '#' or ';', inline '#' comments after whitespace,
//   indented continuation lines, later duplicates win (strict=False), key case kept. A line
//   without '=' or an option before any section makes tuned refuse the profile ("Cannot parse").
// - `include=` in [main] names profiles separated by ',' or ';' (a leading '-' = include only if
//   present). They are loaded depth first before the including profile and merged in that
//   order, later values winning. Each file is loaded once: a profile reached again through a
//   second path (a shared ancestor) is skipped, and the lookup falls through to the next load
//   directory, which is how /etc/tuned/X can include the shipped X of the same name. tuned
//   silently skips a file that is still being loaded too (a cycle); nettune reports it.
// - Units merge by name: `replace=true` drops what the included profiles set in that unit;
//   `type=` names the plugin (default: the unit's name); `enabled=false` turns the unit off;
//   `uname_regex=` / `cpuinfo_regex=` make it conditional: tuned (units/manager.py) skips the
//   unit unless the regex matches `os.uname()` joined by spaces / /proc/cpuinfo. nettune checks
//   uname_regex against this machine's uname (node:os) and, not reading /proc outside the probe,
//   leaves a unit with a cpuinfo_regex out with a note (throughput-performance's
//   [sysctl.thunderx] is both: aarch64 ThunderX only).
// - [sysctl]: the key is the sysctl name with '.' or '/' as separators (tuned turns every '.'
//   into '/' for the /proc/sys path); quotes are removed; a value starting with '>' or '<' is
//   written only if it raises (lowers) the current value, compared as integers; a value tuned
//   cannot compare (a vector) is written as is, prefix included, which the kernel refuses.
//
// Parsing is pure: files come through a reader function, so tests and the lab use fixtures.
import { hostname, machine, release, type, version } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { usageError } from '../sys/errors.js';
import { InputFileError, readInputBytes } from '../sys/fs.js';

/** Returns the bytes of a regular file, or null when there is none at `path`. */
export type TunedReader = (path: string) => Uint8Array | null;

export const fsTunedReader: TunedReader = (path) => {
  try {
    return readInputBytes(path); // O_NONBLOCK open, regular files only, at most 4 MiB (src/sys/fs.ts)
  } catch (err) {
    if (err instanceof InputFileError && err.reason === 'size') throw usageError(`tuned profile ${path}: ${err.message}`);
    return null;
  }
};

/** Load directories, highest priority first: tuned 2.20 uses /etc/tuned then /usr/lib/tuned;
 *  tuned ≥ 2.23 moved profiles to …/profiles. */
export const TUNED_DIRS = ['/etc/tuned/profiles', '/etc/tuned', '/usr/lib/tuned/profiles', '/usr/lib/tuned'] as const;

export type TunedSection = Map<string, string>;

export interface TunedConf {
  file: string;
  /** Sections in file order; options in order, later duplicates replacing earlier ones. */
  sections: Map<string, TunedSection>;
  /** Nothing but whitespace and comments. */
  empty: boolean;
}

const INLINE_COMMENT = /\s#.*$/;

/** Parses tuned.conf text the way Python's ConfigParser (as tuned configures it) does. Throws a
 *  usage error naming the file and line for what tuned refuses, and for binary content. */
export function parseTunedConf(data: Uint8Array | string, file: string): TunedConf {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    const nul = data.indexOf(0);
    if (nul >= 0) throw usageError(`${file}: binary file (NUL byte at offset ${nul}), not a tuned profile`);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      throw usageError(`${file}: not UTF-8 text, not a tuned profile`);
    }
  }
  if (text.includes('\0')) throw usageError(`${file}: binary content (NUL byte), not a tuned profile`);
  const sections = new Map<string, TunedSection>();
  let cur: TunedSection | null = null;
  let curKey: string | null = null;
  let curIndent = 0;
  let empty = true;
  const bad: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    const line = raw.replace(INLINE_COMMENT, '');
    const value = line.trim();
    if (!value) {
      curKey = null;
      return;
    }
    empty = false;
    const indent = line.length - line.trimStart().length;
    if (cur && curKey !== null && indent > curIndent) {
      cur.set(curKey, `${cur.get(curKey) ?? ''}\n${value}`.trim());
      return;
    }
    const sec = /^\[(.+)\]/.exec(value);
    if (sec) {
      const name = sec[1] ?? '';
      cur = sections.get(name) ?? new Map();
      sections.set(name, cur);
      curKey = null;
      return;
    }
    if (!cur) {
      bad.push(`line ${i + 1}: ${JSON.stringify(value)} comes before any [section]`);
      return;
    }
    const eq = value.indexOf('=');
    if (eq < 0) {
      bad.push(`line ${i + 1}: ${JSON.stringify(value)} has no '='`);
      curKey = null;
      return;
    }
    const key = value.slice(0, eq).trim();
    if (!key) {
      bad.push(`line ${i + 1}: ${JSON.stringify(value)} has no key before '='`);
      return;
    }
    cur.set(key, value.slice(eq + 1).trim());
    curKey = key;
    curIndent = indent;
  });
  if (bad.length) throw usageError(`${file}: tuned cannot parse this profile: ${bad.slice(0, 3).join('; ')}${bad.length > 3 ? ` (+${bad.length - 3} more)` : ''}`);
  return { file, sections, empty };
}

export type TunedOp = '=' | '>' | '<';

export interface TunedSysctl {
  /** Dotted sysctl name (tuned's '/' separators turned into '.'). */
  key: string;
  /** The key as the profile spells it. */
  spelled: string;
  /** Value without the prefix, variables expanded, quotes removed, whitespace collapsed. */
  value: string;
  op: TunedOp;
  /** The profile file that set it last. */
  from: string;
  /** ${…} references that could not be expanded (tuned functions ${f:…}, unknown variables). */
  unresolved: string[];
}

export interface TunedProfile {
  /** What the user asked for (name or path). */
  name: string;
  /** Files in tuned's merge order: included profiles first, the asked one last. */
  files: string[];
  /** Files that hold nothing (empty, or only comments). */
  empty_files: string[];
  /** The merged [sysctl] unit, in order. */
  sysctl: TunedSysctl[];
  /** Whether the merged profile has a sysctl unit at all, and whether it is enabled. */
  has_sysctl: boolean;
  sysctl_enabled: boolean;
  notes: string[];
}

/** Options of a unit that configure the unit itself, not the plugin (tuned/profiles/unit.py). */
const UNIT_OPTIONS = new Set(['type', 'enabled', 'replace', 'devices', 'devices_udev_regex', 'cpuinfo_regex', 'uname_regex', 'script_pre', 'script_post', 'priority', 'drop']);

/** What tuned matches uname_regex against: Python's os.uname() fields joined by spaces. */
export const thisUname = (): string => [type(), hostname(), release(), version(), machine()].join(' ');

const isTrue = (v: string | undefined): boolean => v === 'true' || v === 'True';

interface Unit {
  type: string;
  enabled: boolean;
  uname_regex?: string;
  cpuinfo_regex?: string;
  options: Map<string, { value: string; from: string }>;
}

export interface LoadTunedOptions {
  reader?: TunedReader;
  /** Load directories, highest priority first (default TUNED_DIRS). */
  dirs?: readonly string[];
  /** The uname string conditional units are matched against (default: this machine's). */
  uname?: string;
}

/** Loads a tuned profile by name (looked up in the load directories) or by path (a profile
 *  directory or its tuned.conf; its own parent directory is searched first for includes), with
 *  include= resolved and units merged as tuned does. */
export function loadTunedProfile(nameOrPath: string, opts: LoadTunedOptions = {}): TunedProfile {
  const read = opts.reader ?? fsTunedReader;
  let dirs = [...(opts.dirs ?? TUNED_DIRS)];
  let firstFile: string | null = null;
  if (nameOrPath.includes('/')) {
    const abs = resolve(nameOrPath);
    firstFile = abs.endsWith('.conf') ? abs : join(abs, 'tuned.conf');
    // The profile's own parent directory is searched first for the profiles it includes.
    dirs = [dirname(dirname(firstFile)), ...dirs];
  } else if (!/^[a-zA-Z0-9_.-]+$/.test(nameOrPath)) {
    throw usageError(`tuned profile name ${JSON.stringify(nameOrPath)}: tuned accepts only letters, digits, '_', '.' and '-'`);
  }
  const loaded: { file: string; conf: TunedConf }[] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const notes: string[] = [];
  const load = (file: string, data: Uint8Array): void => {
    stack.push(file);
    const conf = parseTunedConf(data, file);
    const include = conf.sections.get('main')?.get('include');
    if (include !== undefined) {
      for (const inc of include.split(/\s*[,;]\s*/).map((s) => s.trim()).filter(Boolean)) {
        const optional = inc.startsWith('-');
        visit(optional ? inc.slice(1) : inc, optional, file);
      }
    }
    stack.pop();
    done.add(file);
    loaded.push({ file, conf });
  };
  const visit = (name: string, optional: boolean, by: string): void => {
    const candidates = dirs.map((d) => join(d, basename(name), 'tuned.conf'));
    let onStack: string | null = null;
    let alreadyLoaded = false;
    for (const c of candidates) {
      if (stack.includes(c)) onStack = c;
      else if (done.has(c)) alreadyLoaded = true;
      else {
        const data = read(c);
        if (data !== null) return load(c, data);
      }
    }
    if (alreadyLoaded) notes.push(`${name}: included again by ${by}; loaded once (a shared ancestor), as tuned does`);
    else if (onStack) throw usageError(`tuned profile include loop: ${[...stack.slice(stack.indexOf(onStack)), onStack].join(' → ')}`, 'tuned itself skips the repeated profile without a word; fix the include= lines');
    else if (optional) notes.push(`${name}: optional include (-${name}) not found, skipped`);
    else throw usageError(`tuned profile ${JSON.stringify(name)} not found (included by ${by}; looked in ${candidates.join(', ')})`);
  };
  if (firstFile !== null) {
    const data = read(firstFile);
    if (data === null) throw usageError(`tuned profile ${JSON.stringify(nameOrPath)} not found (no file ${firstFile})`);
    load(firstFile, data);
  } else {
    const candidates = dirs.map((d) => join(d, nameOrPath, 'tuned.conf'));
    const file = candidates.find((c) => read(c) !== null);
    if (!file) throw usageError(`tuned profile ${JSON.stringify(nameOrPath)} not found (looked in ${candidates.join(', ')})`);
    load(file, read(file) ?? new Uint8Array());
  }
  return merge(nameOrPath, loaded, notes, opts.uname ?? thisUname());
}

function merge(name: string, loaded: { file: string; conf: TunedConf }[], notes: string[], uname: string): TunedProfile {
  const units = new Map<string, Unit>();
  const variables = new Map<string, string>();
  for (const { file, conf } of loaded) {
    for (const [secName, sec] of conf.sections) {
      if (secName === 'main') continue;
      if (secName === 'variables') {
        for (const [k, v] of sec) variables.set(k, v);
        continue;
      }
      const prev = units.get(secName);
      const unit: Unit = prev && !isTrue(sec.get('replace')) ? prev : { type: secName, enabled: true, options: new Map() };
      if (sec.has('type')) unit.type = sec.get('type') ?? secName;
      if (sec.has('enabled')) unit.enabled = isTrue(sec.get('enabled'));
      for (const k of ['uname_regex', 'cpuinfo_regex'] as const) if (sec.has(k)) unit[k] = sec.get(k);
      for (const [k, v] of sec) if (!UNIT_OPTIONS.has(k)) unit.options.set(k, { value: v, from: file });
      units.set(secName, unit);
    }
  }
  const sysctlUnits = [...units.values()].filter((u) => u.type === 'sysctl');
  for (const [unitName, u] of units) {
    if (u.type !== 'sysctl' || !u.enabled || (u.uname_regex === undefined && u.cpuinfo_regex === undefined)) continue;
    const why = unitSkipped(u, variables, uname);
    if (why) {
      u.enabled = false;
      notes.push(`[${unitName}] left out: ${why}`);
    }
  }
  const sysctl: TunedSysctl[] = [];
  const byKey = new Map<string, number>();
  for (const u of sysctlUnits.filter((x) => x.enabled)) {
    for (const [spelled, { value: raw, from }] of u.options) {
      const unresolved: string[] = [];
      const expanded = expandVariables(raw, variables, unresolved);
      const unquoted = expanded.replace(/^"(.*)"$/s, '$1');
      const { op, value } = splitPrefix(unquoted);
      const entry: TunedSysctl = { key: dottedKey(spelled), spelled, value: value.trim().replace(/\s+/g, ' '), op, from, unresolved };
      const at = byKey.get(entry.key);
      if (at === undefined) {
        byKey.set(entry.key, sysctl.length);
        sysctl.push(entry);
      } else sysctl[at] = entry;
    }
  }
  const empty_files = loaded.filter((l) => l.conf.empty).map((l) => l.file);
  for (const f of empty_files) notes.push(`${f} is empty (nothing but whitespace and comments)`);
  const has_sysctl = sysctlUnits.length > 0;
  const sysctl_enabled = sysctlUnits.some((u) => u.enabled);
  if (!has_sysctl) notes.push('the profile has no [sysctl] unit: it sets no sysctls');
  else if (!sysctl_enabled) notes.push('the [sysctl] unit is disabled (enabled=false): tuned sets none of its values');
  return { name, files: loaded.map((l) => l.file), empty_files, sysctl, has_sysctl, sysctl_enabled, notes };
}

/** Why tuned would skip a conditional unit here (null: it applies). */
function unitSkipped(u: Unit, variables: Map<string, string>, uname: string): string | null {
  if (u.uname_regex !== undefined) {
    const src = expandVariables(u.uname_regex, variables, []);
    let re: RegExp;
    try {
      re = new RegExp(src, 'm');
    } catch {
      return `uname_regex ${JSON.stringify(src)} is not a regular expression nettune can read`;
    }
    if (!re.test(uname)) return `applies only where uname matches ${JSON.stringify(src)} (this machine: ${machine()})`;
  }
  if (u.cpuinfo_regex !== undefined) return `applies only where /proc/cpuinfo matches ${JSON.stringify(expandVariables(u.cpuinfo_regex, variables, []))}, which nettune does not check`;
  return null;
}

/** A /-separated key in the Snapshot's dotted form, the way sysctl(8) reads it: '/' and '.' swap
 *  roles, so net/ipv4/conf/eth0.100/rp_filter is net.ipv4.conf.eth0/100.rp_filter. (tuned itself
 *  turns every '.' into '/', which breaks such names; keys without a '.' in a name agree.) */
export const dottedKey = (key: string): string => (key.includes('/') ? key.replace(/[./]/g, (c) => (c === '/' ? '.' : '/')) : key);

function expandVariables(value: string, variables: Map<string, string>, unresolved: string[], depth = 0): string {
  return value.replace(/(?<!\\)\$\{([^}]+)\}/g, (whole, name: string) => {
    const v = variables.get(name);
    if (v === undefined || depth > 10) {
      unresolved.push(whole);
      return whole;
    }
    return expandVariables(v, variables, unresolved, depth + 1);
  });
}

/** tuned's assignment modifiers (plugins/base.py _process_assignment_modifiers): the first
 *  character '>' or '<' of a value longer than one character. */
export function splitPrefix(value: string): { op: TunedOp; value: string } {
  if (value.length > 1 && (value[0] === '>' || value[0] === '<')) return { op: value[0], value: value.slice(1) };
  return { op: '=', value };
}

export type TunedStatus =
  /** the value is what the host has */
  | 'same'
  /** tuned would write a different value */
  | 'differs'
  /** tuned would write a value below the current one (a '=' lowering a number, or '<') */
  | 'lowers'
  /** a '>' or '<' whose condition the current value already meets: tuned leaves it */
  | 'satisfied'
  /** the Snapshot has no value for the key (not captured, or the kernel lacks it) */
  | 'not-captured'
  /** tuned cannot compare (a vector with '>'/'<'): it writes the text with the prefix, which the kernel refuses */
  | 'invalid'
  /** ${…} left unexpanded (tuned functions are evaluated on the target host) */
  | 'unresolved';

export interface TunedComparison {
  key: string;
  /** As the profile states it, prefix included ('>2048'). */
  tuned: string;
  op: TunedOp;
  current: string | null;
  /** What tuned would write on this host, or null when it would leave the key alone. */
  target: string | null;
  status: TunedStatus;
  from: string;
}

const PY_INT = /^\s*[+-]?\d(?:_?\d)*\s*$/;
const pyInt = (s: string): bigint | null => (PY_INT.test(s) ? BigInt(s.trim().replace(/_/g, '')) : null);
const norm = (s: string): string => s.trim().replace(/\s+/g, ' ');

/** What tuned would do with each [sysctl] value against the current values (a Snapshot's sysctl
 *  map, or a lab namespace's values): tuned's verify compares with whitespace removed. */
export function compareTuned(profile: TunedProfile, current: Readonly<Record<string, string>>): TunedComparison[] {
  return profile.sysctl.map((s) => {
    const cur = current[s.key] ?? null;
    const tuned = s.op === '=' ? s.value : `${s.op}${s.value}`;
    const base = { key: s.key, tuned, op: s.op, current: cur, from: s.from };
    if (s.unresolved.length) return { ...base, target: null, status: 'unresolved' as const };
    if (cur === null) return { ...base, target: s.value, status: 'not-captured' as const };
    if (s.op !== '=') {
      const want = pyInt(s.value);
      const have = pyInt(cur);
      if (want === null || have === null) return { ...base, target: tuned, status: 'invalid' as const };
      const applies = s.op === '>' ? want > have : want < have;
      if (!applies) return { ...base, target: null, status: 'satisfied' as const };
      return { ...base, target: s.value.trim(), status: s.op === '<' ? ('lowers' as const) : ('differs' as const) };
    }
    if (norm(cur).replace(/\s/g, '') === norm(s.value).replace(/\s/g, '')) return { ...base, target: s.value, status: 'same' as const };
    const a = norm(cur).split(' ').map(Number);
    const b = norm(s.value).split(' ').map(Number);
    const lowers = a.length === b.length && a.every(Number.isFinite) && b.every(Number.isFinite) && b.some((x, i) => x < (a[i] ?? 0));
    return { ...base, target: s.value, status: lowers ? ('lowers' as const) : ('differs' as const) };
  });
}

/** The values tuned would write on a host with these current values (keys it leaves alone and
 *  values the kernel would refuse are left out), for experiment arms. */
export function tunedWrites(profile: TunedProfile, current: Readonly<Record<string, string>>): { values: Record<string, string>; refused: TunedComparison[] } {
  const values: Record<string, string> = {};
  const refused: TunedComparison[] = [];
  for (const c of compareTuned(profile, current)) {
    if (c.status === 'invalid' || c.status === 'unresolved') refused.push(c);
    else if (c.target !== null && c.status !== 'same') values[c.key] = c.target;
  }
  return { values, refused };
}
