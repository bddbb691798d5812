// systemd's command-line syntax for ExecStart= (systemd.service(5) "Command lines", systemd.unit(5)
// "Specifiers", systemd.syntax(7)): how nettune writes an argument so systemd passes it through
// literally, and the reverse (a reader of what systemd would execute), used to merge an existing
// unit and to prove in tests that every argument nettune rendered is literal.
//
// systemd (252, load-fragment.c config_parse_exec) processes an ExecStart= value in this order:
//   1. splitting into words on whitespace; a lone ";" word separates commands; double and single
//      quotes group, and C escapes (\\ \" \' \n \t \xNN …) are decoded;
//   2. specifiers in each word: "%%" → "%", "%X" → a value;
//   3. at exec time, environment variables in each argument: "$$" → "$", "$NAME" and "${NAME}"
//      → their values.
// So a literal argument is written double-quoted with \ and " escaped, control characters as
// \xNN, "%" doubled and "$" doubled.

/** Characters that never need quoting in an argument. */
const PLAIN = /^[A-Za-z0-9_.,:@+=/-]+$/;

/** One argument, written so that systemd passes exactly `arg` to the program. */
export function quoteExecArg(arg: string): string {
  if (arg.includes('\0')) throw new Error('a NUL byte cannot be passed as a command argument');
  if (arg !== '' && PLAIN.test(arg)) return arg;
  let out = '"';
  for (const ch of arg) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '%') out += '%%';
    else if (ch === '$') out += '$$';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** An ExecStart= value: the program (an absolute path nettune chose, written as is) and its
 *  arguments, each quoted. */
export function renderExec(argv: readonly string[]): string {
  const [program, ...args] = argv;
  if (!program || !/^\/[A-Za-z0-9_./-]+$/.test(program)) throw new Error(`not an absolute program path: ${JSON.stringify(program)}`);
  return [program, ...args.map(quoteExecArg)].join(' ');
}

export interface ParsedExec {
  /** The words systemd passes to the program (after specifiers, unquoting and "$$"). */
  argv: string[];
  /** Anything systemd would not pass literally: a specifier, a variable, a command separator. */
  notLiteral: string[];
  /** Text systemd would refuse (an unterminated quote, a bad escape). */
  errors: string[];
}

const C_ESCAPES: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'", s: ' ' };

/** Reads an ExecStart= value the way systemd does (see the order above). */
export function parseExec(value: string): ParsedExec {
  const notLiteral: string[] = [];
  const errors: string[] = [];
  const text = value;
  // splitting, unquoting, C escapes
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
    if (i >= text.length) break;
    if (text[i] === ';' && (i + 1 >= text.length || /\s/.test(text[i + 1] ?? ''))) {
      notLiteral.push('command separator ";"');
      i++;
      continue;
    }
    let word = '';
    let quote: '"' | "'" | null = null;
    while (i < text.length) {
      const ch = text[i] ?? '';
      if (!quote && /\s/.test(ch)) break;
      if (!quote && (ch === '"' || ch === "'")) {
        quote = ch;
        i++;
        continue;
      }
      if (quote && ch === quote) {
        quote = null;
        i++;
        continue;
      }
      if (ch === '\\') {
        const e = text[i + 1];
        if (e === undefined) {
          errors.push('a trailing backslash');
          i++;
          continue;
        }
        if (e === 'x') {
          const hex = text.slice(i + 2, i + 4);
          if (!/^[0-9a-fA-F]{2}$/.test(hex) || hex === '00') errors.push(`bad escape \\x${hex}`);
          else word += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          continue;
        }
        if (e === ';' || e === ' ') {
          word += e;
          i += 2;
          continue;
        }
        const c = C_ESCAPES[e];
        if (c === undefined) errors.push(`unknown escape \\${e}`);
        else word += c;
        i += 2;
        continue;
      }
      word += ch;
      i++;
    }
    if (quote) errors.push(`unterminated ${quote} quote`);
    words.push(word);
  }
  // specifiers, per word after unquoting (systemd 252 config_parse_exec: unit_full_printf on each
  // word); then, for the arguments, environment variables at exec time ("$$" is a literal "$")
  const argv = words.map((w, n) => {
    let spec = '';
    for (let j = 0; j < w.length; j++) {
      if (w[j] !== '%') {
        spec += w[j];
        continue;
      }
      const next = w[j + 1];
      if (next !== '%') notLiteral.push(`specifier %${next ?? ''} in ${JSON.stringify(w)}`);
      spec += next === '%' ? '%' : `%${next ?? ''}`;
      j++;
    }
    if (n === 0) return spec;
    let out = '';
    for (let j = 0; j < spec.length; j++) {
      if (spec[j] !== '$') {
        out += spec[j];
        continue;
      }
      const next = spec[j + 1];
      if (next === '$') j++;
      else if (next === '{' || (next !== undefined && /[A-Za-z_]/.test(next))) notLiteral.push(`variable in ${JSON.stringify(w)}`);
      out += '$';
    }
    return out;
  });
  return { argv, notLiteral, errors };
}
