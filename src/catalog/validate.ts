// The one value validator: lint, plan and apply all ask it whether a sysctl value is acceptable.
// It reproduces what the kernel's proc handler for the key does with the text written to
// /proc/sys (kernel/sysctl.c, net/ipv4/sysctl_net_ipv4.c) and adds what nettune considers a mistake
// even where the kernel takes it. Each problem says which of the two it is:
//   kernel 'refuses'  the write fails (EINVAL, EPERM, ERANGE): apply would fail after the lock;
//   kernel 'accepts'  the kernel takes it but it is almost certainly not what was meant (octal,
//                     a negative timeout, a vector out of order, fields that are silently ignored);
//   kernel 'depends'  the answer depends on the build (CONFIG_HZ) or version, not on the text.
// lint reports 'error' problems as errors and 'warning' ones as warnings; plan and apply refuse both.
//
// How the kernel reads a number (proc_get_long → strtoul_lenient, base 0; checked on 6.18):
// - leading whitespace is skipped; fields are separated by ' ', '\t' or '\n' (proc_wspace_sep);
// - an optional '-' (never '+'), then a digit must follow;
// - base 0: "0x"/"0X" followed by a hex digit is hex, any other leading '0' is OCTAL ("030" is 24,
//   "08" is refused because parsing stops at '8'), otherwise decimal;
// - anything but a separator right after the digits is EINVAL ("5x", "1,2"); a number of 21 or
//   more characters is EINVAL (TMPBUFLEN 22); more than 64 bits is ERANGE;
// - then the handler converts: proc_dointvec* takes INT_MIN..INT_MAX; proc_douintvec*,
//   proc_dou8vec_minmax and proc_doulongvec_minmax refuse any '-' (even "-0") and take up to
//   UINT_MAX, 255 and ULONG_MAX; *_minmax also refuse what is outside extra1/extra2 (`range` in
//   the catalog); proc_dointvec_jiffies takes |v| ≤ INT_MAX/HZ seconds (HZ is a build option:
//   2147483 s at HZ=1000, 21474836 s at HZ=100);
// - a vector handler writes the fields it is given: fewer fields leave the others as they were,
//   extra fields are ignored without an error.
import type { CatalogEntry } from './schema.js';

export type KernelVerdict = 'refuses' | 'accepts' | 'depends';

export interface ValueProblem {
  message: string;
  /** What the kernel does with the value. */
  kernel: KernelVerdict;
  /** How lint reports it; plan and apply refuse either. */
  severity: 'error' | 'warning';
}

export interface ValueCheck {
  /** No problem at all: plan and apply may write it. */
  ok: boolean;
  /** The first problem's message (null when ok). */
  problem: string | null;
  problems: ValueProblem[];
  /** Advice that blocks nothing (e.g. the port range parity). */
  notes: string[];
  /** What the kernel would store and print back (decimal, single-spaced), null if it refuses. */
  kernel_value: string | null;
}

/** What the host can tell the validator (all optional: without it, context checks are skipped). */
export interface ValueContext {
  /** Current values (for relations between keys: the port range and the privileged ports). */
  sysctl?: Readonly<Record<string, string>>;
  /** False in a child network namespace. */
  netnsInit?: boolean | null;
  congestion?: { available: readonly string[]; allowed: readonly string[] } | null;
  /** Number of possible CPUs (for CPU masks). */
  cpus?: number | null;
}

/** The proc handler families; an entry's `parser` (or its type) says which one reads it. */
export const PARSERS = ['int', 'uint', 'uint_hz', 'u8', 'ulong', 'jiffies', 'ms_jiffies', 'string', 'port_list', 'cpumask'] as const;
export type Parser = (typeof PARSERS)[number];

export const INT_MAX = 2n ** 31n - 1n;
export const INT_MIN = -(2n ** 31n);
export const UINT_MAX = 2n ** 32n - 1n;
export const ULONG_MAX = 2n ** 64n - 1n;
/** HZ a kernel may be built with (x86, arm64: 100, 250, 300, 1000). */
export const HZ_MAX = 1000n;
export const HZ_MIN = 100n;

/** The parser of an entry: stated, or the plain int handler for numeric types. */
export const parserOf = (e: Pick<CatalogEntry, 'type'> & { parser?: Parser | undefined }): Parser => e.parser ?? (e.type === 'string' ? 'string' : 'int');

/** Kernel bounds each numeric handler applies before extra1/extra2. */
type NumericParser = 'int' | 'uint' | 'uint_hz' | 'u8' | 'ulong' | 'jiffies' | 'ms_jiffies';
const HANDLER_BOUNDS: Record<NumericParser, { min: bigint; max: bigint; signed: boolean }> = {
  int: { min: INT_MIN, max: INT_MAX, signed: true },
  uint: { min: 0n, max: UINT_MAX, signed: false },
  uint_hz: { min: 0n, max: UINT_MAX / HZ_MIN, signed: false },
  u8: { min: 0n, max: 255n, signed: false },
  ulong: { min: 0n, max: ULONG_MAX, signed: false },
  jiffies: { min: -(INT_MAX / HZ_MIN), max: INT_MAX / HZ_MIN, signed: true },
  ms_jiffies: { min: INT_MIN, max: INT_MAX, signed: true },
};

const HANDLER_NAME: Record<Parser, string> = {
  int: 'proc_dointvec',
  uint: 'proc_douintvec',
  uint_hz: 'proc_douintvec_minmax (seconds, at most UINT_MAX/HZ)',
  u8: 'proc_dou8vec_minmax',
  ulong: 'proc_doulongvec_minmax',
  jiffies: 'proc_dointvec_jiffies',
  ms_jiffies: 'proc_dointvec_ms_jiffies',
  string: 'proc_dostring',
  port_list: 'proc_do_large_bitmap',
  cpumask: 'a CPU bitmap handler',
};

export type ParsedNumber =
  | { ok: true; value: bigint; negative: boolean; base: 8 | 10 | 16 }
  | { ok: false; reason: string };

const DIGITS: Record<8 | 10 | 16, RegExp> = { 8: /^[0-7]+/, 10: /^[0-9]+/, 16: /^[0-9a-fA-F]+/ };

/** One field as proc_get_long reads it (the caller splits on separators). */
export function parseKernelNumber(token: string): ParsedNumber {
  if (token.length >= 21) return { ok: false, reason: `${token.length} characters: the kernel refuses numbers of 21 characters or more` };
  let p = token;
  let negative = false;
  if (p.startsWith('-') && p.length > 1) {
    negative = true;
    p = p.slice(1);
  }
  if (!/^[0-9]/.test(p)) return { ok: false, reason: p.startsWith('+') ? 'a leading + is not accepted' : 'not a number' };
  let base: 8 | 10 | 16 = 10;
  let body = p;
  if (/^0[xX][0-9a-fA-F]/.test(p)) {
    base = 16;
    body = p.slice(2);
  } else if (p.startsWith('0')) base = 8;
  const digits = DIGITS[base].exec(body)?.[0] ?? '';
  if (digits.length !== body.length) {
    const stop = body[digits.length] ?? '';
    if (base === 8 && /[89]/.test(stop)) return { ok: false, reason: `a leading 0 makes the kernel read it as octal, where ${stop} is not a digit` };
    return { ok: false, reason: `${JSON.stringify(stop)} after the digits` };
  }
  const value = base === 16 ? BigInt(`0x${digits}`) : base === 8 ? BigInt(`0o${digits}`) : BigInt(digits);
  if (value > ULONG_MAX) return { ok: false, reason: 'more than 64 bits (ERANGE)' };
  return { ok: true, value: negative ? -value : value, negative, base };
}

/** Any character that has no business in a sysctl value: C0 controls but tab (a separator), DEL,
 *  C1 controls and the Unicode line/paragraph separators. A newline would start a second
 *  assignment in a sysctl.d file. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;

const show = (raw: string): string => {
  const s = JSON.stringify(raw);
  return s.length > 60 ? `${s.slice(0, 57)}…"` : s;
};

const fmtBound = (n: bigint): string => (n === INT_MAX ? 'INT_MAX (2147483647)' : n === UINT_MAX ? 'UINT_MAX (4294967295)' : n === ULONG_MAX ? 'ULONG_MAX' : String(n));

/** Generic checks every value passes, catalogued or not: not empty, no control characters. */
function basicProblems(key: string, raw: string, allowEmpty: boolean): ValueProblem[] {
  const out: ValueProblem[] = [];
  if (CONTROL.test(raw))
    out.push({ message: `${key}: the value contains a control character or a line break (${show(raw)}); a sysctl value is one line of printable text`, kernel: 'accepts', severity: 'error' });
  else if (raw.trim() === '' && !allowEmpty) out.push({ message: `${key}: empty value`, kernel: 'refuses', severity: 'error' });
  return out;
}

const normalise = (raw: string): string => raw.trim().replace(/[ \t\n]+/g, ' ');

interface FieldRange {
  min?: number | undefined;
  max?: number | undefined;
}

interface NumericSpec {
  parser: NumericParser;
  /** extra1/extra2 per field (or for all). */
  ranges: (FieldRange | undefined)[];
  names: string[];
  /** Negative values are meaningful (signed offsets like tcp_adv_win_scale). */
  negativeMeaningful: boolean;
  unit: string;
}

/** Checks one numeric field; returns its value when the kernel takes it. */
function checkField(key: string, what: string, token: string, spec: NumericSpec, range: FieldRange | undefined, out: ValueProblem[]): bigint | null {
  const label = what ? `${key} ${what}` : key;
  const n = parseKernelNumber(token);
  if (!n.ok) {
    out.push({
      message: n.reason === 'not a number' ? `${label} must be an integer, not ${show(token)}` : `${label}: ${show(token)} is not a number the kernel reads (${n.reason})`,
      kernel: 'refuses',
      severity: 'error',
    });
    return null;
  }
  const h = HANDLER_BOUNDS[spec.parser];
  if (n.negative && !h.signed) {
    out.push({ message: `${label}: ${token} is negative; ${HANDLER_NAME[spec.parser]} refuses a minus sign`, kernel: 'refuses', severity: 'error' });
    return null;
  }
  if (spec.parser === 'jiffies' || spec.parser === 'uint_hz') {
    const mag = n.value < 0n ? -n.value : n.value;
    const top = spec.parser === 'jiffies' ? INT_MAX : UINT_MAX;
    const name = spec.parser === 'jiffies' ? 'INT_MAX' : 'UINT_MAX';
    if (mag > top / HZ_MIN) {
      out.push({ message: `${label}: ${token} s is more than any kernel takes (${name}/HZ seconds: at most ${top / HZ_MIN} s at HZ=100)`, kernel: 'refuses', severity: 'error' });
      return null;
    }
    if (mag > top / HZ_MAX) {
      out.push({ message: `${label}: ${token} s is more than a kernel built with HZ=1000 takes (${top / HZ_MAX} s); whether this one does depends on CONFIG_HZ`, kernel: 'depends', severity: 'error' });
      return null;
    }
  } else if (spec.parser === 'ms_jiffies') {
    if (n.negative && n.value !== 0n && n.value >= INT_MIN) {
      out.push({ message: `${label}: ${token} ms is negative; proc_dointvec_ms_jiffies converts it as an unsigned number and refuses it`, kernel: 'refuses', severity: 'error' });
      return null;
    }
    if (n.value > INT_MAX || n.value < INT_MIN) {
      out.push({ message: `${label}: ${token} ms does not fit the int the kernel stores it in (max ${fmtBound(INT_MAX)})`, kernel: 'depends', severity: 'error' });
      return null;
    }
  } else if (n.value > h.max || n.value < h.min) {
    out.push({
      message: `${label}: ${token} is outside what ${HANDLER_NAME[spec.parser]} accepts (${fmtBound(h.min)} to ${fmtBound(h.max)})`,
      kernel: 'refuses',
      severity: 'error',
    });
    return null;
  }
  if (range?.min !== undefined && n.value < BigInt(range.min)) {
    out.push({ message: `${label}: ${token} is below the kernel's minimum ${range.min}`, kernel: 'refuses', severity: 'error' });
    return null;
  }
  if (range?.max !== undefined && n.value > BigInt(range.max)) {
    out.push({ message: `${label}: ${token} is above the kernel's maximum ${range.max}`, kernel: 'refuses', severity: 'error' });
    return null;
  }
  if (n.base === 8 && n.value !== 0n)
    out.push({
      message: `${label}: ${token} has a leading zero, so the kernel reads it as octal and stores ${n.value}; write ${n.value} if that is meant, or ${token.replace(/^(-?)0+/, '$1')} without the zero`,
      kernel: 'accepts',
      severity: 'warning',
    });
  if (n.negative && n.value !== 0n && !spec.negativeMeaningful)
    out.push({ message: `${label}: ${token} is negative; the kernel stores it, but a negative value in ${spec.unit} is meaningless`, kernel: 'accepts', severity: 'warning' });
  return n.value;
}

/** Units whose values cannot be negative. */
const NON_NEGATIVE_UNITS = new Set(['bytes', 'kilobytes', 'pages', 'seconds', 'milliseconds', 'microseconds', 'nanoseconds', 'jiffies', 'packets', 'count', 'ports', 'percent']);

function numericSpec(entry: CatalogEntry, parser: NumericParser): NumericSpec {
  const fields = entry.type === 'int_vector' ? (entry.fields ?? []) : [''];
  return {
    parser,
    ranges: fields.map((_, i) => entry.field_ranges?.[i] ?? entry.range),
    names: fields,
    negativeMeaningful: !NON_NEGATIVE_UNITS.has(entry.unit),
    unit: entry.unit,
  };
}

function result(problems: ValueProblem[], notes: string[], kernelValue: string | null): ValueCheck {
  const refused = problems.some((p) => p.kernel !== 'accepts');
  return { ok: problems.length === 0, problem: problems[0]?.message ?? null, problems, notes, kernel_value: refused ? null : kernelValue };
}

/** The values' meaning, on top of what the kernel takes: bool, enum and known bits. */
function typeProblems(entry: CatalogEntry, values: bigint[], out: ValueProblem[]): void {
  const v = values[0];
  if (v === undefined) return;
  if (entry.type === 'bool' && v !== 0n && v !== 1n)
    out.push({ message: `${entry.key} takes 0 or 1; the kernel stores ${v}, which means nothing more than 1 does`, kernel: 'accepts', severity: 'error' });
  else if (entry.type === 'enum') {
    const allowed = (entry.values ?? []).map((x) => x.value);
    if (!allowed.some((a) => /^-?\d+$/.test(a) && BigInt(a) === v)) out.push({ message: `${entry.key} takes one of ${allowed.join(', ')}, not ${v}`, kernel: 'accepts', severity: 'error' });
  } else if (entry.type === 'bitmask') {
    if (v < 0n) {
      out.push({ message: `${entry.key} is a bit mask; ${v} is negative (every bit set)`, kernel: 'accepts', severity: 'error' });
      return;
    }
    const known = (entry.values ?? []).reduce((acc, x) => acc | BigInt(x.value), 0n);
    const unknown = v & ~known;
    if (known > 0n && unknown !== 0n) out.push({ message: `${entry.key}: bits 0x${unknown.toString(16)} are not defined (known: 0x${known.toString(16)})`, kernel: 'accepts', severity: 'error' });
  }
}

function checkString(entry: CatalogEntry, value: string, out: ValueProblem[]): void {
  if (entry.values?.length && entry.type === 'string') {
    const allowed = entry.values.map((x) => x.value);
    if (!allowed.includes(value)) out.push({ message: `${entry.key} takes one of ${allowed.join(', ')}, not ${show(value)}`, kernel: 'refuses', severity: 'error' });
  }
}

/** proc_do_large_bitmap (ip_local_reserved_ports): "8080,9000-9100"; each port 0..65535,
 *  ranges ascending, no spaces; an empty value clears the list. */
function checkPortList(key: string, value: string, out: ValueProblem[]): string | null {
  if (value === '') return '';
  const parts = value.split(',');
  const canon: string[] = [];
  for (const part of parts) {
    const m = /^([^-]+)(?:-(.+))?$/.exec(part);
    const a = m?.[1] === undefined ? null : parseKernelNumber(m[1]);
    const b = m?.[2] === undefined ? null : parseKernelNumber(m[2]);
    if (!a?.ok || (b !== null && !b.ok) || a.negative || (b?.ok && b.negative)) {
      out.push({ message: `${key}: ${show(part)} is not a port or a range LOW-HIGH (ports separated by commas, no spaces)`, kernel: 'refuses', severity: 'error' });
      return null;
    }
    const lo = a.value;
    const hi = b?.ok ? b.value : lo;
    if (hi > 65535n) {
      out.push({ message: `${key}: port ${hi} is above 65535`, kernel: 'refuses', severity: 'error' });
      return null;
    }
    if (hi < lo) {
      out.push({ message: `${key}: range ${part} is descending`, kernel: 'refuses', severity: 'error' });
      return null;
    }
    canon.push(hi === lo ? String(lo) : `${lo}-${hi}`);
  }
  return canon.join(',');
}

/** A hex CPU bitmap ("3", "ff,ffffffff"): no bit beyond the CPUs the kernel has. */
function checkCpuMask(key: string, value: string, cpus: number | null | undefined, out: ValueProblem[]): void {
  if (!/^[0-9a-fA-F]+(,[0-9a-fA-F]+)*$/.test(value)) {
    out.push({ message: `${key}: ${show(value)} is not a hex CPU mask (e.g. 3 or ff,ffffffff)`, kernel: 'refuses', severity: 'error' });
    return;
  }
  if (!cpus) return;
  const mask = BigInt(`0x${value.replace(/,/g, '')}`);
  if (mask >> BigInt(cpus) !== 0n) out.push({ message: `${key}: mask ${value} names CPUs beyond the ${cpus} this host has`, kernel: 'refuses', severity: 'error' });
}

const intOf = (s: string | undefined): bigint | null => {
  if (s === undefined) return null;
  const n = parseKernelNumber(s.trim());
  return n.ok ? n.value : null;
};

const FRAG_PAIRS: Record<string, [string, 'min' | 'max']> = {
  'net.ipv4.ipfrag_high_thresh': ['net.ipv4.ipfrag_low_thresh', 'min'],
  'net.ipv4.ipfrag_low_thresh': ['net.ipv4.ipfrag_high_thresh', 'max'],
  'net.ipv6.ip6frag_high_thresh': ['net.ipv6.ip6frag_low_thresh', 'min'],
  'net.ipv6.ip6frag_low_thresh': ['net.ipv6.ip6frag_high_thresh', 'max'],
};

/** Relations the kernel enforces between keys and rules of single keys (ipv4_local_port_range,
 *  ipv4_privileged_ports, tcp_set_default_congestion_control). */
function specialProblems(entry: CatalogEntry, values: bigint[], value: string, ctx: ValueContext, out: ValueProblem[], notes: string[]): void {
  const k = entry.key;
  if (k === 'net.ipv4.ip_local_port_range') {
    const [lo, hi] = values as [bigint, bigint];
    const start = intOf(ctx.sysctl?.['net.ipv4.ip_unprivileged_port_start']);
    if (start !== null && lo < start)
      out.push({ message: `${k}: the low end ${lo} is below ip_unprivileged_port_start (${start}); the kernel refuses a range that reaches into the privileged ports`, kernel: 'refuses', severity: 'error' });
    if (((lo ^ hi) & 1n) === 0n && hi > lo)
      notes.push(`${k}: ${lo} and ${hi} have the same parity; the kernel prefers even ports for connect() and odd ones for bind(), so the docs advise ends of different parity (e.g. ${lo} ${hi % 2n === lo % 2n ? hi - 1n : hi})`);
  } else if (k === 'net.ipv4.ip_unprivileged_port_start') {
    const range = ctx.sysctl?.['net.ipv4.ip_local_port_range']?.trim().split(/\s+/);
    const low = intOf(range?.[0]);
    const v = values[0];
    if (low !== null && v !== undefined && v > low)
      out.push({ message: `${k}: ${v} is above the low end of ip_local_port_range (${low}); the kernel refuses privileged ports that overlap the ephemeral range`, kernel: 'refuses', severity: 'error' });
  } else if (FRAG_PAIRS[k]) {
    // ipfrag_high_thresh is a proc_doulongvec_minmax whose extra1 is the low threshold, and the
    // low one's extra2 is the high one (net/ipv4/inet_fragment.c, ip_fragment.c, reassembly.c).
    const [other, side] = FRAG_PAIRS[k];
    const bound = intOf(ctx.sysctl?.[other]);
    const v = values[0];
    if (bound !== null && v !== undefined && (side === 'min' ? v < bound : v > bound))
      out.push({ message: `${k}: ${v} is ${side === 'min' ? 'below' : 'above'} ${other} (${bound}); the kernel refuses it`, kernel: 'refuses', severity: 'error' });
  } else if (k === 'net.ipv4.tcp_congestion_control' && ctx.congestion) {
    const { available, allowed } = ctx.congestion;
    if (available.length && !available.includes(value))
      out.push({ message: `${k}: ${value} is not available on this kernel (available: ${available.join(' ')}); the kernel tries to load module tcp_${value} and fails (ENOENT) unless it exists`, kernel: 'depends', severity: 'error' });
    else if (ctx.netnsInit === false && !allowed.includes(value))
      out.push({ message: `${k}: ${value} is not in tcp_allowed_congestion_control (${allowed.join(' ')}); a child namespace may only choose those (EPERM), and cannot change the list`, kernel: 'refuses', severity: 'error' });
  }
}

/** Checks a value (as written with sysctl -w or in sysctl.d) against its catalog entry. */
export function validateValue(entry: CatalogEntry, raw: string, ctx: ValueContext = {}): ValueCheck {
  const parser = parserOf(entry);
  const out = basicProblems(entry.key, raw, parser === 'port_list');
  const notes: string[] = [];
  if (out.length) return result(out, notes, null);
  const value = normalise(raw);
  if (parser === 'string') {
    checkString(entry, value, out);
    if (!out.length) specialProblems(entry, [], value, ctx, out, notes);
    return result(out, notes, value);
  }
  if (parser === 'port_list') {
    const canon = checkPortList(entry.key, value, out);
    return result(out, notes, canon);
  }
  if (parser === 'cpumask') {
    checkCpuMask(entry.key, value, ctx.cpus, out);
    return result(out, notes, value);
  }
  const spec = numericSpec(entry, parser);
  const tokens = value.split(' ');
  const n = spec.names.length;
  if (tokens.length !== n) {
    const what = n === 1 ? 'one integer' : `${n} integers (${spec.names.join(' ')})`;
    const effect = tokens.length > n ? `the kernel ignores the extra ${tokens.length - n}` : `the kernel would write only the first ${tokens.length} and leave the rest as they are`;
    out.push({ message: `${entry.key} takes ${what}, got ${tokens.length}: ${effect}`, kernel: 'accepts', severity: 'error' });
    // Still check the fields that are there, so the kernel verdict is right.
  }
  const values: bigint[] = [];
  let refused = false;
  for (const [i, t] of tokens.slice(0, n).entries()) {
    const v = checkField(entry.key, n > 1 ? (spec.names[i] ?? '') : '', t, spec, spec.ranges[i], out);
    if (v === null) {
      refused = true;
      break;
    }
    values.push(v);
  }
  if (refused || tokens.length !== n) return result(out, notes, null);
  if (entry.ordered) {
    for (let i = 1; i < values.length; i++) {
      const a = values[i - 1] as bigint;
      const b = values[i] as bigint;
      if (b < a) {
        const names = `${spec.names[i - 1]} ${a} > ${spec.names[i]} ${b}`;
        if (entry.ordered === 'kernel') out.push({ message: `${entry.key}: fields out of order (${names}); the kernel refuses a descending range`, kernel: 'refuses', severity: 'error' });
        else out.push({ message: `${entry.key}: fields out of order (${names}); the kernel stores them as given, but each field must be at least the one before`, kernel: 'accepts', severity: 'error' });
        break;
      }
    }
  }
  typeProblems(entry, values, out);
  specialProblems(entry, values, value, ctx, out, notes);
  return result(out, notes, values.map(String).join(' '));
}

/** A key the catalog does not describe: the generic checks, and — when its live value shows it
 *  is numeric — the number rules every int handler shares (octal, sign, 64 bits, 21 characters). */
export function validateUncatalogued(key: string, raw: string, live?: string): ValueCheck {
  const out = basicProblems(key, raw, false);
  if (out.length) return result(out, [], null);
  const value = normalise(raw);
  const numericNow = live !== undefined && live.trim() !== '' && live.trim().split(/\s+/).every((t) => /^-?\d+$/.test(t));
  if (!numericNow) return result(out, [], value);
  const fields = live.trim().split(/\s+/).length;
  const tokens = value.split(' ');
  if (tokens.length > fields) out.push({ message: `${key} holds ${fields} number${fields > 1 ? 's' : ''} now, got ${tokens.length}: the kernel ignores the extra ones`, kernel: 'accepts', severity: 'error' });
  const canon: string[] = [];
  for (const t of tokens) {
    const n = parseKernelNumber(t);
    if (!n.ok) {
      out.push({ message: `${key}: ${show(t)} is not a number the kernel reads (${n.reason})`, kernel: 'refuses', severity: 'error' });
      return result(out, [], null);
    }
    if (n.base === 8 && n.value !== 0n)
      out.push({ message: `${key}: ${t} has a leading zero, so the kernel reads it as octal and stores ${n.value}; write ${n.value} if that is meant, or ${t.replace(/^(-?)0+/, '$1')} without the zero`, kernel: 'accepts', severity: 'warning' });
    canon.push(String(n.value));
  }
  return result(out, [], canon.join(' '));
}

export interface SysctlTarget {
  key: string;
  entry: CatalogEntry | undefined;
}

/** The one entry point: catalogued keys against their entry, others with the generic checks. */
export function validateSysctlValue(target: SysctlTarget, raw: string, ctx: ValueContext = {}): ValueCheck {
  return target.entry ? validateValue(target.entry, raw, ctx) : validateUncatalogued(target.key, raw, ctx.sysctl?.[target.key]);
}

/** The value as the kernel prints it after the write (hex and octal in decimal), or the
 *  normalised text when it is not a number. */
export function kernelForm(entry: CatalogEntry | undefined, raw: string): string {
  const c = entry ? validateValue(entry, raw) : validateUncatalogued('', raw, raw);
  return c.kernel_value ?? normalise(raw);
}
