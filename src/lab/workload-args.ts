// A user's command line (`--server 'iperf3 -s -1'`) as an argument array, split the way a POSIX
// shell splits words (IEEE Std 1003.1, Shell Command Language §2.2 Quoting, §2.6.5 Field
// Splitting) but with NO expansion of any kind: no parameters, no command substitution, no
// globbing, no pipes, no redirections, no `;` or newline command lists. Every metacharacter is a
// literal character of its word; the only things with meaning are blanks (space, tab, newline:
// they separate words), single quotes, double quotes and backslashes.
//   'a b'     one word, everything literal up to the next '
//   "a b"     one word; inside, \ escapes only $ ` " \ and newline (as in a shell); $ and ` stay
//   a\ b      outside quotes a backslash makes the next character literal; \<newline> joins lines
//   ''        an empty word
// Placeholders ({server}, {client}, {duration}) are filled in per run by fillPlaceholders.
import { usageError } from '../sys/errors.js';

/** Longest command text and most words accepted (a command line, not a script). */
export const MAX_COMMAND_CHARS = 16_384;
export const MAX_WORDS = 512;

const BLANK = new Set([' ', '\t', '\n']);
const DQ_ESCAPABLE = new Set(['$', '`', '"', '\\', '\n']);

/** Splits `text` into words; bad input (unbalanced quotes, a trailing backslash, NUL, nothing to
 *  run) is a usage error (exit 2) naming `flag`. */
export function splitCommand(text: string, flag: string): string[] {
  if (text.length > MAX_COMMAND_CHARS) throw usageError(`${flag}: the command is longer than ${MAX_COMMAND_CHARS} characters`);
  if (text.includes('\0')) throw usageError(`${flag}: the command contains a NUL character, which no argument can hold`);
  const words: string[] = [];
  let word = '';
  let inWord = false; // distinguishes an empty quoted word ('') from no word at all
  let i = 0;
  const fail = (what: string): never => {
    throw usageError(`${flag}: ${what} in ${JSON.stringify(text)}`, 'quote as in a shell: \'…\' takes everything literally, "…" too except \\" \\\\ \\$ \\`; nothing is expanded, piped or redirected');
  };
  while (i < text.length) {
    const ch = text[i] as string;
    if (BLANK.has(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) fail(`an unbalanced single quote at character ${i + 1}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (ch === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= text.length) fail(`an unbalanced double quote at character ${i + 1}`);
        const c = text[j] as string;
        if (c === '"') break;
        if (c === '\\' && j + 1 < text.length && DQ_ESCAPABLE.has(text[j + 1] as string)) {
          if (text[j + 1] !== '\n') word += text[j + 1];
          j += 2;
        } else {
          word += c;
          j++;
        }
      }
      inWord = true;
      i = j + 1;
    } else if (ch === '\\') {
      if (i + 1 >= text.length) fail('a backslash at the end (it escapes nothing)');
      if (text[i + 1] !== '\n') {
        word += text[i + 1];
        inWord = true;
      }
      i += 2;
    } else {
      word += ch;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  if (!words.length || words[0] === '') throw usageError(`${flag}: no command to run`);
  if (words.length > MAX_WORDS) throw usageError(`${flag}: more than ${MAX_WORDS} words`);
  return words;
}

/** The placeholders a workload's arguments may hold, filled in for each run. */
export const PLACEHOLDERS = ['server', 'client', 'duration'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const TOKEN = /\{([a-z][a-z0-9_]*)\}/g;

/** `{word}` tokens in `args` that are not placeholders (likely typos; they are passed literally). */
export function unknownPlaceholders(args: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of args) for (const m of a.matchAll(TOKEN)) if (!(PLACEHOLDERS as readonly string[]).includes(m[1] as string)) out.add(m[0]);
  return [...out];
}

/** Replaces every known placeholder inside each argument (`http://{server}:8080/` works); any
 *  other text, braces included, stays as it is. */
export function fillPlaceholders(args: readonly string[], values: Readonly<Record<Placeholder, string>>): string[] {
  return args.map((a) => a.replace(TOKEN, (all: string, name: string) => ((PLACEHOLDERS as readonly string[]).includes(name) ? values[name as Placeholder] : all)));
}
