// The sysctl.conf / sysctl.d parser: text + file name → assignments, glob exclusions and parse
// problems, each with its file and line. Pure (no I/O) so `lint` and `apply FILE` share it.
//
// Syntax, as systemd's sysctl.d(5) and procps-ng's sysctl(8) (4.0, parse_setting_line) read it:
// - one assignment per line; CRLF is tolerated; a UTF-8 BOM at the start is ignored;
// - empty lines, and lines whose first non-whitespace character is '#' or ';', are comments —
//   there are no trailing comments: everything after '=' is the value;
// - `key = value`: whitespace around the key and the value is stripped; the value is kept as
//   written (quotes are not special to either tool, so `"4096 87380 16777216"` is written with its
//   quotes and the kernel rejects it);
// - `-key = value`: failures to set this key are ignored (logged at debug level);
// - `-key` (no '='): exclude this key from every glob assignment;
// - glob keys (`net.ipv4.conf.*.rp_filter`, glob(7): `*`, `?`, `[…]`) write every matching key;
// - either '/' or '.' separates key segments: when the FIRST separator is '/', '/' and '.' are
//   swapped (net/ipv4/conf/eth0.100/rp_filter ≡ net.ipv4.conf.eth0/100.rp_filter, the dotted form
//   `sysctl -a` prints and nettune's Snapshot uses);
// - any other line without '=' is invalid (both tools log it and continue).

export interface SysctlAssignment {
  file: string;
  /** 1-based line number. */
  line: number;
  /** Canonical dotted key ('.' between segments, '/' for a '.' inside one). */
  key: string;
  /** The key as written (without the '-' prefix). */
  raw_key: string;
  /** The value as written, surrounding whitespace stripped. */
  value: string;
  /** Written with a leading '-': a failure to set it is ignored. */
  ignore_failure: boolean;
  /** The key contains glob characters and applies to every matching key. */
  glob: boolean;
}

export interface SysctlExclusion {
  file: string;
  line: number;
  key: string;
  raw_key: string;
  glob: boolean;
}

export interface ParseProblem {
  file: string;
  line: number;
  message: string;
  /** The offending line, as written. */
  text: string;
}

export interface ParsedSysctlFile {
  file: string;
  assignments: SysctlAssignment[];
  exclusions: SysctlExclusion[];
  problems: ParseProblem[];
}

const GLOB_CHARS = /[*?[]/;

export const isGlobKey = (key: string): boolean => GLOB_CHARS.test(key);

/** sysctl.d(5): if the first separator is '/', '/' and '.' are interchanged; otherwise the key is
 *  already in dotted form. Returns the dotted key. */
export function canonicalKey(raw: string): string {
  const k = raw.trim();
  const firstSep = k.search(/[./]/);
  if (firstSep === -1 || k[firstSep] === '.') return k;
  return k.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

// The dotted-key ↔ /proc/sys path mapping and value normalisation are the probe's, so lint, apply
// and the Snapshot agree on both.
export { keyToPath as keyToProcPath, normaliseValue as normaliseSysctlValue } from '../probe/sysctl.js';

function checkKey(key: string): string | null {
  if (key === '') return 'empty key';
  if (/\s/.test(key)) return `key ${JSON.stringify(key)} contains whitespace`;
  if (/^[./]|[./]$/.test(key)) return `key ${JSON.stringify(key)} starts or ends with a separator`;
  if (/[./]{2}/.test(key)) return `key ${JSON.stringify(key)} has an empty segment`;
  if (key.startsWith('-')) return `key ${JSON.stringify(key)} has more than one leading '-'`;
  return null;
}

/** Parses one sysctl.conf / sysctl.d file. Never throws: what cannot be read becomes a problem. */
export function parseSysctlConf(text: string, file: string): ParsedSysctlFile {
  const out: ParsedSysctlFile = { file, assignments: [], exclusions: [], problems: [] };
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // final newline
  lines.forEach((rawLine, i) => {
    const line = i + 1;
    const text = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const s = text.trim();
    if (s === '' || s.startsWith('#') || s.startsWith(';')) return;
    const problem = (message: string): void => {
      out.problems.push({ file, line, message, text });
    };
    const eq = s.indexOf('=');
    if (eq === -1) {
      if (s.startsWith('-')) {
        const rawKey = s.slice(1).trim();
        const bad = checkKey(rawKey);
        if (bad) return problem(bad);
        const key = canonicalKey(rawKey);
        out.exclusions.push({ file, line, key, raw_key: rawKey, glob: isGlobKey(key) });
        return;
      }
      return problem(`not an assignment: no '=' (write "key = value"; "-key" alone excludes a key from glob assignments)`);
    }
    let keyPart = s.slice(0, eq).trim();
    const value = s.slice(eq + 1).trim();
    const ignoreFailure = keyPart.startsWith('-');
    if (ignoreFailure) keyPart = keyPart.slice(1).trim();
    const bad = checkKey(keyPart);
    if (bad) return problem(bad);
    const key = canonicalKey(keyPart);
    out.assignments.push({ file, line, key, raw_key: keyPart, value, ignore_failure: ignoreFailure, glob: isGlobKey(key) });
  });
  return out;
}

const globCache = new Map<string, RegExp>();

/** glob(7) over dotted keys: `*` and `?` never cross a '.' (they match within one /proc/sys path
 *  segment, as glob(3) does not match '/'), `[…]` is a character class (`[!…]` negated). */
export function globToRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (re) return re;
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') src += '[^.]*';
    else if (c === '?') src += '[^.]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        src += '\\[';
        continue;
      }
      let cls = pattern.slice(i + 1, close);
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      src += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else src += c.replace(/[\\^$+.()|{}\]]/g, '\\$&');
  }
  re = new RegExp(`^${src}$`);
  globCache.set(pattern, re);
  return re;
}

export const globMatches = (pattern: string, key: string): boolean => globToRegExp(pattern).test(key);
