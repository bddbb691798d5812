// `lint --commands FILE`: the ethtool, sysctl and ip command lines of a shell script or an Ansible
// file, checked the way the tools would read them. ethtool lines against ethtool 6.1's options
// and parameter names (src/lint/commands-data.ts) and, for -N rx-flow-hash and -X, the NIC kind's
// own value grammar (src/apply/kind-nic.ts); `sysctl -w key=value` lines through lint's own
// analysis (analyse: the one value validator, unknown keys, global knobs, overrides).
//
// Finding the lines: a shell script line by line (backslash continuations joined, comments cut,
// split at unquoted ; && || | & — not the & of 2>&1 or &>), the command after a compound word
// (do, then, else, if, while, until, { ( ! time, a function's `f() {`), inside $(…) and `…`, and the
// script of `sh -c` / `bash -c`, a case branch's command (here-document bodies are data, skipped);
// an Ansible YAML file by its command/shell/raw tasks
// (ansible.builtin.* and ansible.legacy.* too; free form, `cmd:` or `argv:`, aliases followed),
// with the line each command is on — a *.yml file YAML refuses is an error at YAML's line, never
// read as a shell script. Words are split like a shell (quotes, backslashes; nothing expanded),
// redirections (2>/dev/null, >&2, <&-) removed; wrappers (sudo, env, VAR=value, ip netns exec
// NS, timeout N, nsenter … --) are looked through.
import { basename } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Node, type Scalar } from 'yaml';
import { canonicalFlowHash, FLOW_TYPES, parseIndir } from '../apply/kind-nic.js';
import { splitCommand } from '../lab/workload-args.js';
import { analyse, type AnalyseOptions } from './analyse.js';
import { ETHTOOL_MODES, ETHTOOL_GLOBAL, ETHTOOL_PARAMS, FEATURE_NAMES_KNOWN, IP_OBJECTS, type ParamKind } from './commands-data.js';
import { canonicalKey, isGlobKey, type SysctlAssignment } from './parse.js';
import type { LintMessage, LintSeverity } from './types.js';

export type CommandTool = 'ethtool' | 'sysctl' | 'ip';

export interface FoundCommand {
  file: string;
  line: number;
  tool: CommandTool;
  /** The words after the wrappers, the tool first. */
  words: string[];
  text: string;
}

export interface CommandMessage {
  file: string;
  line: number;
  severity: LintSeverity;
  code: string;
  tool: CommandTool | null;
  command: string;
  message: string;
  /** The command to use instead, where there is one. */
  fix?: string;
}

export interface CommandLintResult {
  file: string;
  format: 'shell' | 'ansible';
  commands: FoundCommand[];
  messages: CommandMessage[];
  summary: { commands: number; errors: number; warnings: number; infos: number };
}

const ANSIBLE_MODULES = new Set(['command', 'shell', 'raw'].flatMap((m) => [m, `ansible.builtin.${m}`, `ansible.legacy.${m}`]));
const TOOLS = new Set<string>(['ethtool', 'sysctl', 'ip']);

// --- finding command lines ----------------------------------------------------------------------

/** A shell line split at unquoted ; && || | & (a command list), each part as text. */
function segments(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === '\\' && quote === '"' && i + 1 < line.length) {
        cur += ch + (line[++i] ?? '');
        continue;
      }
      if (ch === quote) quote = null;
      cur += ch;
    } else if (ch === '\\' && i + 1 < line.length) cur += ch + (line[++i] ?? '');
    else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === '#' && (cur === '' || /\s$/.test(cur))) break; // a comment
    else if ((ch === '&' && (/[<>]$/.test(cur) || line[i + 1] === '>')) || (ch === '|' && /(^|[^|])>$/.test(cur))) cur += ch; // 2>&1, &>file, >|file: a redirection
    else if (ch === ';' || ch === '|' || ch === '&') {
      out.push(cur);
      cur = '';
      if (line[i + 1] === ch) i++;
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

/** A redirection word (2>/dev/null, >&2, &>log, <&-): with its target attached, or alone (the
 *  target is the next word). */
const REDIRECT = /^(?:\d*|&)(?:>>|>\||>&|<&|<>|<<<|<<-?|>|<)(.*)$/s;

/** The words without redirections: the shell takes them out before the command sees its
 *  arguments (`ethtool -K eth0 tso on 2>/dev/null` has four). */
function withoutRedirections(words: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    let word = words[i] ?? '';
    // a redirection written onto a word (`on<&-`, `on>/dev/null`): the shell splits it off
    const glued = /^([^<>]*[^<>\d&])((?:\d*|&)[<>].*)$/s.exec(word);
    if (glued?.[1] && glued[2]) {
      out.push(glued[1]);
      word = glued[2];
    }
    const m = REDIRECT.exec(word);
    if (!m) out.push(word);
    else if (m[1] === '') i++; // the target is the next word
  }
  return out;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ksh', 'zsh']);

/** The words of a command with its wrappers removed, `{script}` for `sh -c SCRIPT` (checked as
 *  a script of its own), or null when it is not one we check. */
function unwrap(words: readonly string[], shell = true): string[] | { script: string } | null {
  let w = shell ? withoutRedirections(words) : [...words];
  for (let guard = 0; guard < 8 && w.length; guard++) {
    const head = basename(w[0] ?? '');
    if (SHELLS.has(head)) {
      // sh [-eux…] -c SCRIPT [NAME ARGS…]: the first word after the options is the script
      const opts = w.slice(1).findIndex((x) => !x.startsWith('-'));
      const flags = (opts < 0 ? w.slice(1) : w.slice(1, opts + 1)).filter((x) => !x.startsWith('--'));
      const script = opts < 0 ? undefined : w[opts + 1];
      return flags.some((f) => /^-[a-z]*c[a-z]*$/.test(f)) && script !== undefined ? { script } : null;
    }
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0] ?? '')) w = w.slice(1);
    else if (head === 'sudo' || head === 'env' || head === 'exec' || head === 'command' || head === 'nohup') {
      w = w.slice(1);
      while (w[0]?.startsWith('-')) w = w.slice(w[0] === '-u' || w[0] === '-g' ? 2 : 1);
    } else if (head === 'timeout') {
      w = w.slice(1);
      while (w[0]?.startsWith('-')) w = w.slice(1);
      w = w.slice(1); // the duration
    } else if (head === 'nsenter') {
      const dd = w.indexOf('--');
      w = dd >= 0 ? w.slice(dd + 1) : w.slice(1).filter((x) => !x.startsWith('-'));
    } else if (head === 'ip' && w[1] === 'netns' && w[2] === 'exec') w = w.slice(4);
    else if (head === 'ip' && (w[1] === '-n' || w[1] === '-netns') && w[3] === 'exec') w = w.slice(4);
    else break;
  }
  const tool = basename(w[0] ?? '');
  return TOOLS.has(tool) ? [tool, ...w.slice(1)] : null;
}

/** Shell words that start a command list (`for …; do X`, `if X; then Y; else Z`), group it
 *  (`{ X; }`, `( X )`, `f() { X; }`) or negate and time it: what follows is the command. */
const LEADING = /^(?:(?:do|then|else|elif|if|while|until|time|!|\{|\(+|[A-Za-z_][A-Za-z0-9_]*\s*\(\)\s*\{?|function\s+[A-Za-z_][A-Za-z0-9_]*(?:\s*\(\))?\s*\{?)(?:\s+|$)|\(+)/;
const TRAILING = /\s*(?:\)+|\}|;;)\s*$/;
/** A case branch's pattern (`a|b) cmd ;;`): what follows is the command. */
const CASE_PATTERN = /^\(?[^\s()|;&]+(?:\|[^\s()|;&]+)*\)\s+/;
/** A here-document's start (`<<EOF`, `<<-'EOF'`, not the here-string `<<<`): its lines are data. */
const HEREDOC = /(?:^|[^<])<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/;

/** `$(…)` and `` `…` `` of a line (outermost, quotes respected): their text, each a command list
 *  of its own, and the line with each replaced by one word. */
function substitutions(line: string): { line: string; inner: string[] } {
  const inner: string[] = [];
  let out = '';
  let quote: "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'") {
      quote = ch;
      out += ch;
    } else if (ch === '\\' && i + 1 < line.length) out += ch + (line[++i] ?? '');
    else if (ch === '$' && line[i + 1] === '(' && line[i + 2] !== '(') {
      let depth = 1;
      let j = i + 2;
      for (; j < line.length && depth > 0; j++) depth += line[j] === '(' ? 1 : line[j] === ')' ? -1 : 0;
      inner.push(line.slice(i + 2, depth === 0 ? j - 1 : j));
      out += '_';
      i = j - 1;
    } else if (ch === '`') {
      const end = line.indexOf('`', i + 1);
      inner.push(line.slice(i + 1, end < 0 ? line.length : end));
      out += '_';
      i = end < 0 ? line.length : end;
    } else out += ch;
  }
  return { line: out, inner };
}

function fromShellText(file: string, text: string, firstLine: number, out: FoundCommand[], msgs: CommandMessage[], depth = 0): void {
  // a Jinja expression ({{ nic }}) stays one word, whatever blanks it has inside
  const lines = text.replace(/\{\{[^}\n]*\}\}/g, (m) => m.replace(/\s+/g, '')).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i] ?? '';
    while (/\\$/.test(logical) && i + 1 < lines.length) logical = logical.slice(0, -1) + ' ' + (lines[++i] ?? '');
    // a here-document's body is data for the command, not commands: skip to its delimiter line
    const here = HEREDOC.exec(logical.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, (q) => (q.includes('<<') ? '' : q)));
    if (here?.[3]) {
      const end = here[3];
      while (i + 1 < lines.length && (here[1] ? (lines[i + 1] ?? '').replace(/^\t+/, '') : lines[i + 1]) !== end) i++;
      i++; // the delimiter line
    }
    const sub = substitutions(logical);
    // a command inside $(…) or `…`, or the script of sh -c, is on the same line (bounded nesting)
    if (depth < 4) for (const s of sub.inner) fromShellText(file, s, firstLine + start, out, msgs, depth + 1);
    for (let seg of segments(sub.line)) {
      for (let guard = 0; guard < 8; guard++) {
        const next = seg.replace(LEADING, '').replace(CASE_PATTERN, '').replace(TRAILING, '').trim();
        if (next === seg) break;
        seg = next;
      }
      const tool = basename(seg.split(/\s+/).find((x) => TOOLS.has(basename(x)) || SHELLS.has(basename(x))) ?? '');
      if (!tool) continue;
      let words: string[];
      try {
        words = splitCommand(seg, 'command');
      } catch (err) {
        if (TOOLS.has(tool)) msgs.push({ file, line: firstLine + start, severity: 'warning', code: 'unparsed', tool: null, command: seg, message: `not checked: ${(err as Error).message}` });
        continue;
      }
      const w = unwrap(words);
      if (w && 'script' in w) {
        if (depth < 4) fromShellText(file, w.script.replace(/\n/g, ' ; '), firstLine + start, out, msgs, depth + 1);
      } else if (w) out.push({ file, line: firstLine + start, tool: w[0] as CommandTool, words: w, text: seg });
    }
  }
}

/** Ansible: every command/shell/raw task's command text with its line. `false`: the text is not
 *  a YAML list (of plays or tasks); a string: why YAML refuses it, with its line. */
function fromAnsible(file: string, text: string, out: FoundCommand[], msgs: CommandMessage[]): boolean | { line: number; message: string } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const err = doc.errors[0];
  if (err) return { line: lc.linePos(err.pos[0]).line, message: err.message.split('\n')[0] ?? err.code };
  const root = doc.contents;
  if (!isSeq(root)) return false;
  const lineOf = (n: Node | null | undefined): number => (n?.range ? lc.linePos(n.range[0]).line : 1);
  // an alias (`shell: *restart`) is the anchored node's text, at the line of the alias
  const deref = (n: unknown): { node: unknown; line: number | null } => (isAlias(n) ? { node: n.resolve(doc), line: lineOf(n) } : { node: n, line: null });
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || !ANSIBLE_MODULES.has(String(pair.key.value))) return;
      const { node: v, line: aliasLine } = deref(pair.value);
      const scalarText = (s: Scalar, at: number | null): void => {
        const block = s.type === 'BLOCK_LITERAL' || s.type === 'BLOCK_FOLDED';
        fromShellText(file, String(s.value), at ?? lineOf(s) + (block ? 1 : 0), out, msgs);
      };
      if (isScalar(v)) scalarText(v, aliasLine);
      else if (isMap(v)) {
        const cmd = deref(v.get('cmd', true));
        const argv = deref(v.get('argv', true));
        if (isScalar(cmd.node)) scalarText(cmd.node, cmd.line ?? aliasLine);
        else if (isSeq(argv.node)) {
          const words = argv.node.items.map((x) => {
            const d = deref(x).node;
            return isScalar(d) ? String(d.value) : '';
          });
          const line = argv.line ?? aliasLine ?? lineOf(argv.node);
          // argv runs without a shell: no redirections, but `argv: [sh, -c, SCRIPT]` is a script
          const w = unwrap(words, false);
          if (w && 'script' in w) fromShellText(file, w.script, line, out, msgs, 1);
          else if (w) out.push({ file, line, tool: w[0] as CommandTool, words: w, text: words.join(' ') });
        }
      }
      // `args: {cmd: …}` next to a free-form module line is covered by the scalar case
      return undefined;
    },
  });
  return true;
}

/** The command lines of a file: Ansible YAML when it reads as a list of plays or tasks, else shell.
 *  A file named *.yml/*.yaml (or starting with ---) that YAML refuses is an error at YAML's line,
 *  not a shell script with no commands: its tasks were not checked. */
export function findCommands(file: string, text: string): { format: 'shell' | 'ansible'; commands: FoundCommand[]; messages: CommandMessage[] } {
  const commands: FoundCommand[] = [];
  const messages: CommandMessage[] = [];
  const strict = /\.ya?ml$/i.test(file) || /^\s*---/.test(text);
  const yamlish = strict || /^\s*- (name|hosts|tasks|ansible\.|command|shell|raw):/m.test(text);
  if (yamlish) {
    const r = fromAnsible(file, text, commands, messages);
    if (r === true) return { format: 'ansible', commands, messages };
    if (strict && r !== false) {
      messages.push({ file, line: r.line, severity: 'error', code: 'yaml-syntax', tool: null, command: '', message: `not valid YAML, so no task of it was checked: ${r.message}` });
      return { format: 'ansible', commands, messages };
    }
    if (strict && /\.ya?ml$/i.test(file)) {
      messages.push({ file, line: 1, severity: 'warning', code: 'not-tasks', tool: null, command: '', message: 'not a list of plays or tasks (a playbook or a tasks file): no command of it was checked' });
      return { format: 'ansible', commands, messages };
    }
  }
  fromShellText(file, text, 1, commands, messages);
  return { format: 'shell', commands, messages };
}

// --- checking ethtool lines -----------------------------------------------------------------------

const JINJA = /\{\{|\{%|\$/;

function checkParams(mode: string, dev: string, args: readonly string[], msg: (sev: LintSeverity, code: string, m: string, fix?: string) => void): void {
  const table = ETHTOOL_PARAMS[mode];
  if (!table) return;
  if (args.length === 0) return void msg('error', 'missing-argument', `ethtool ${mode} ${dev}: no settings given`);
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i] ?? '';
    const value = args[i + 1];
    const kind: ParamKind | undefined = mode === '-K' ? (FEATURE_NAMES_KNOWN.has(name) ? 'bool' : undefined) : table[name];
    if (kind === undefined) {
      const known = mode === '-K' ? [...FEATURE_NAMES_KNOWN] : Object.keys(table);
      const close = known.filter((k) => k.startsWith(name.slice(0, 3)) || name.startsWith(k)).slice(0, 4);
      msg('error', 'unknown-parameter', `ethtool ${mode}: unknown ${mode === '-K' ? 'feature' : 'parameter'} ${JSON.stringify(name)}${close.length ? ` (did you mean: ${close.join(', ')}?)` : ''}`);
      continue;
    }
    if (value === undefined) {
      msg('error', 'missing-argument', `ethtool ${mode} ${name}: no value`);
      continue;
    }
    if (JINJA.test(value)) continue;
    if (kind === 'bool' && value !== 'on' && value !== 'off') msg('error', 'invalid-value', `ethtool ${mode} ${name} ${value}: on or off`);
    if (kind === 'number' && !/^\d+$/.test(value)) msg('error', 'invalid-value', `ethtool ${mode} ${name} ${value}: a number`);
    if (kind === 'split' && !['auto', 'on', 'off'].includes(value)) msg('error', 'invalid-value', `ethtool ${mode} ${name} ${value}: auto, on or off`);
  }
}

/** -N: rx-flow-hash FLOW LETTERS [context N] | flow-type … (ntuple rules) | delete N. */
function checkNfc(dev: string, args: readonly string[], msg: (sev: LintSeverity, code: string, m: string, fix?: string) => void): void {
  const fix = `ethtool -N ${dev} rx-flow-hash tcp4 sdfn`;
  const first = args[0];
  if (first === 'rx-flow-hash') {
    const ft = args[1] ?? '';
    const letters = args[2] ?? '';
    if (!(FLOW_TYPES as readonly string[]).includes(ft) && !JINJA.test(ft))
      return void msg('error', 'flow-hash-syntax', `ethtool -N ${dev} rx-flow-hash ${ft}: not a flow type (${FLOW_TYPES.join(', ')})`, fix);
    if (JINJA.test(letters)) return;
    const c = canonicalFlowHash(letters);
    if ('problem' in c) msg('error', 'flow-hash-syntax', `ethtool -N ${dev} rx-flow-hash ${ft} ${letters}: ${c.problem}`, `ethtool -N ${dev} rx-flow-hash ${ft} sdfn`);
    else if (ft.startsWith('udp') && /[fn]/.test(c.value))
      msg('info', 'udp-fragments', `ethtool -N ${dev} rx-flow-hash ${ft} ${letters}: UDP hashed on ports: only the first fragment of a fragmented datagram carries them, so its fragments land on different queues (reordering, reassembly across CPUs); fine for traffic that is not fragmented`);
    const rest = args.slice(3);
    if (rest.length && !(rest[0] === 'context' && rest.length === 2)) msg('error', 'unknown-parameter', `ethtool -N ${dev} rx-flow-hash: unexpected ${JSON.stringify(rest.join(' '))} after the fields`);
    return;
  }
  if (first === 'flow-type' || first === 'delete') return; // ntuple filters: not checked field by field
  const vlan = args.some((a) => /vlan/i.test(a));
  msg(
    'error',
    'flow-hash-syntax',
    `ethtool -N ${dev} ${args.join(' ')}: not ethtool syntax: -N takes rx-flow-hash FLOW-TYPE FIELDS, flow-type … (an ntuple rule) or delete N; there is no ${JSON.stringify(first ?? '')} keyword${
      vlan ? ' and no rx-vlan flow-hash type' : ''
    } and no hash mask: hashing is set per flow type (${FLOW_TYPES.slice(0, 2).join(', ')}, …) with field letters (m v t s d f n)${vlan ? '; v adds the VLAN tag where the driver supports it' : ''}`,
    fix,
  );
}

/** -X: equal N | weight W… | default, with hkey/hfunc/context/start/delete/xfrm around them. */
function checkRxfh(dev: string, args: readonly string[], msg: (sev: LintSeverity, code: string, m: string, fix?: string) => void): void {
  const rest = [...args];
  let table: string[] = [];
  while (rest.length) {
    const w = rest.shift() ?? '';
    if (w === 'hkey' || w === 'hfunc' || w === 'context' || w === 'start' || w === 'xfrm') rest.shift();
    else if (w === 'delete') continue;
    else if (w === 'equal') table = ['equal', rest.shift() ?? ''];
    else if (w === 'default') table = ['default'];
    else if (w === 'weight') {
      table = ['weight'];
      while (rest[0] !== undefined && /^\d+$/.test(rest[0])) table.push(rest.shift() ?? '');
    } else return void msg('error', 'unknown-parameter', `ethtool -X ${dev}: unknown parameter ${JSON.stringify(w)} (equal N, weight W…, default, hkey, hfunc, context, start, delete)`, `ethtool -X ${dev} equal 4`);
  }
  if (table.length && !table.some((t) => JINJA.test(t))) {
    const s = parseIndir(table.join(' '));
    if (typeof s === 'string') msg('error', 'invalid-value', `ethtool -X ${dev} ${table.join(' ')}: ${s}`);
  }
}

function checkEthtool(c: FoundCommand, msg: (sev: LintSeverity, code: string, m: string, fix?: string) => void): void {
  const w = c.words.slice(1);
  while (w[0] && ETHTOOL_GLOBAL.has(w[0])) w.splice(0, w[0] === '--debug' ? 2 : 1);
  const opt = w[0];
  if (opt === undefined) return void msg('error', 'missing-argument', 'ethtool: no device');
  if (!opt.startsWith('-')) return; // `ethtool DEV [settings]`: the link settings view
  const mode = ETHTOOL_MODES[opt];
  if (!mode) return void msg('error', 'unknown-option', `ethtool: unknown option ${JSON.stringify(opt)}`);
  if (mode.noDevice) return;
  const dev = w[1];
  if (dev === undefined) return void msg('error', 'missing-argument', `ethtool ${opt}: no device`);
  const args = w.slice(2);
  if (mode.canonical === '-N') return checkNfc(dev, args, msg);
  if (mode.canonical === '-X') return checkRxfh(dev, args, msg);
  if (mode.canonical === '-n' && args[0] === 'rx-flow-hash' && !(FLOW_TYPES as readonly string[]).includes(args[1] ?? '') && !JINJA.test(args[1] ?? ''))
    return void msg('error', 'flow-hash-syntax', `ethtool -n ${dev} rx-flow-hash ${args[1] ?? ''}: not a flow type (${FLOW_TYPES.join(', ')})`, `ethtool -n ${dev} rx-flow-hash tcp4`);
  checkParams(mode.canonical, dev, args, msg);
}

function checkIp(c: FoundCommand, msg: (sev: LintSeverity, code: string, m: string) => void): void {
  const w = c.words.slice(1);
  while (w[0]?.startsWith('-')) w.splice(0, w[0] === '-n' || w[0] === '-netns' || w[0] === '-b' || w[0] === '-batch' || w[0] === '-rc' || w[0] === '-rcvbuf' ? 2 : 1);
  const obj = w[0];
  if (obj === undefined) return;
  if (JINJA.test(obj)) return;
  if (!IP_OBJECTS.some((o) => o.startsWith(obj))) msg('error', 'unknown-object', `ip: unknown object ${JSON.stringify(obj)} (${IP_OBJECTS.join(', ')})`);
}

/** sysctl -w k=v … (and sysctl k=v): the assignments, for lint's own analysis. */
function sysctlAssignments(c: FoundCommand, msg: (sev: LintSeverity, code: string, m: string) => void): SysctlAssignment[] {
  const out: SysctlAssignment[] = [];
  for (const w of c.words.slice(1)) {
    if (w.startsWith('-')) {
      if (w === '-p' || w === '--load' || w === '--system') msg('info', 'not-checked', `sysctl ${w}: the files it loads are checked by \`nettune lint FILE…\`, not here`);
      continue;
    }
    const eq = w.indexOf('=');
    if (eq <= 0) continue; // a read
    const raw = w.slice(0, eq).trim();
    if (JINJA.test(w)) continue;
    out.push({ file: c.file, line: c.line, key: canonicalKey(raw), raw_key: raw, value: w.slice(eq + 1).trim(), ignore_failure: false, glob: isGlobKey(raw) });
  }
  return out;
}

/** Checks every command line of one file. */
export function lintCommands(file: string, text: string, opts: AnalyseOptions): CommandLintResult {
  const found = findCommands(file, text);
  const messages: CommandMessage[] = [...found.messages];
  const assignments: SysctlAssignment[] = [];
  const byLine = new Map<number, FoundCommand>();
  for (const c of found.commands) {
    const msg = (severity: LintSeverity, code: string, message: string, fix?: string): void => {
      messages.push({ file: c.file, line: c.line, severity, code, tool: c.tool, command: c.text, message, ...(fix ? { fix } : {}) });
    };
    if (c.tool === 'ethtool') checkEthtool(c, msg);
    else if (c.tool === 'ip') checkIp(c, msg);
    else {
      const a = sysctlAssignments(c, msg);
      for (const x of a) byLine.set(x.line, c);
      assignments.push(...a);
    }
  }
  if (assignments.length) {
    const res = analyse([{ file, assignments, exclusions: [], problems: [] }], opts);
    // 'drift' (the value is not in effect now) is about files applied at boot; a script's lines are not expected to be
    for (const m of res.messages) if (m.line !== null && m.code !== 'drift') messages.push(fromLint(m, byLine.get(m.line)));
  }
  messages.sort((a, b) => a.line - b.line);
  return {
    file,
    format: found.format,
    commands: found.commands,
    messages,
    summary: {
      commands: found.commands.length,
      errors: messages.filter((m) => m.severity === 'error').length,
      warnings: messages.filter((m) => m.severity === 'warning').length,
      infos: messages.filter((m) => m.severity === 'info').length,
    },
  };
}

const fromLint = (m: LintMessage, c: FoundCommand | undefined): CommandMessage => ({
  file: m.file ?? '',
  line: m.line ?? 0,
  severity: m.severity,
  code: m.code,
  tool: 'sysctl',
  command: c?.text ?? '',
  message: m.message,
  ...(m.suggestions?.length && m.key ? { fix: `sysctl -w ${m.suggestions[0]}=…` } : {}),
});
