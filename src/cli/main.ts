// nettune command line: parse, run one command, map errors to the documented exit codes.
import { Command, CommanderError } from 'commander';
import { existsSync } from 'node:fs';
import { EXIT, NettuneError, usageError } from '../sys/errors.js';
import { validNetns } from '../sys/names.js';
import { haltIfStopping } from '../sys/signals.js';
import { VERSION } from '../version.js';

type Register = (program: Command) => void;

/** A command group: the commands its module registers, and the module, loaded only when one of
 *  them runs (src/cli/groups.ts lists them all; the probe's own bundle has just its own). */
export interface Group {
  commands: readonly string[];
  load: () => Promise<Register>;
}

/** The program with the command groups `argv` needs: the one its first word names, or all of
 *  them (help, version, a typo that wants "did you mean"). */
export async function buildProgram(argv: readonly string[], groups: readonly Group[]): Promise<Command> {
  const program = new Command('nettune')
    .description('Evidence-based Linux network tuning: probe → audit → plan → apply → prove → monitor → export')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const first = argv.find((a) => !a.startsWith('-'));
  const group = groups.find((g) => first !== undefined && g.commands.includes(first));
  for (const g of group ? [group] : groups) (await g.load())(program);
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  program.hook('preAction', (_program, action) => checkCommonOptions(action));
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok · 1 audit findings at --fail-on · 2 bad usage or input · 3 environment (not root,
tool missing, kernel lacks a feature) · 4 apply failed and was rolled back · 5 rollback failed ·
70 internal error (a bug in nettune: please report it).
Environment: NETTUNE_STATE_DIR (default /var/lib/nettune), NETTUNE_NO_INSTALL=1 (never apt-get).`,
  );
  return program;
}

/** A --netns that `ip netns` does not know is bad input on every command, also one that would not
 *  have used it (`profiles` without --from-tuned). */
function netnsExists(name: string): void {
  if (!existsSync(`/run/netns/${name}`)) throw usageError(`--netns: network namespace ${JSON.stringify(name)} does not exist (no /run/netns/${name})`, 'list them with: ip netns list');
}

/** Before any command runs: every --netns (an empty or unsafe name would otherwise mean "the
 *  namespace I run in", from the host the host itself) is checked, on every command that has
 *  the option; and a --json given to a parent (`rules --json explain ID`, or commander handing
 *  `rules explain ID --json` to the parent) reaches the subcommand that prints. */
function checkCommonOptions(action: Command): void {
  const own = action.opts();
  if (own.netns !== undefined) netnsExists(validNetns(String(own.netns), '--netns'));
  for (let c = action.parent; c; c = c.parent) {
    const o = c.opts();
    if (o.netns !== undefined) netnsExists(validNetns(String(o.netns), '--netns'));
    if (o.json === true && action.options.some((opt) => opt.attributeName() === 'json')) action.setOptionValue('json', true);
  }
}

/** --json, or audit's --format json: the output (errors too) is exactly one JSON document. */
export function wantsJson(argv: readonly string[]): boolean {
  if (argv.includes('--')) argv = argv.slice(0, argv.indexOf('--'));
  return argv.includes('--json') || argv.includes('--format=json') || argv.some((a, i) => a === '--format' && argv[i + 1] === 'json');
}

/** In JSON mode everything a command prints to stdout is held until it finishes: on success it
 *  is written as is; on an error the error document is the only one printed (with what the
 *  command had printed as `partial`), so stdout is always exactly one document. */
const directWrite = process.stdout.write.bind(process.stdout);
/** Writes to stdout past the JSON-mode hold (for the last-resort crash handler). */
export const writeStdoutDirect = (text: string): boolean => directWrite(text);

function holdStdout(): { release: () => void; discard: () => string } {
  const chunks: string[] = [];
  const write = directWrite;
  process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  };
  const restore = (): void => {
    process.stdout.write = write;
  };
  return {
    release: () => {
      restore();
      if (chunks.length) write(chunks.join(''));
    },
    discard: () => {
      restore();
      return chunks.join('');
    },
  };
}

function partialOf(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // more than one document, or not JSON: drop it rather than print two
  }
}

function errorDoc(message: string, exitCode: number, hint: string | null, partial: unknown): string {
  return `${JSON.stringify({ error: { message, hint, exit_code: exitCode }, ...(partial !== undefined ? { partial } : {}) })}\n`;
}

/** One line for an internal error; the stack only with NETTUNE_DEBUG=1. */
export function internalErrorLine(err: unknown): string {
  const msg = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  const first = msg.split('\n')[0] ?? '';
  return `internal error: ${first.length > 300 ? `${first.slice(0, 299)}…` : first}`;
}

export async function main(argv: readonly string[], groups: readonly Group[]): Promise<number> {
  const json = wantsJson(argv);
  const held = json ? holdStdout() : null;
  try {
    const program = await buildProgram(argv, groups);
    await program.parseAsync([...argv], { from: 'user' });
    await haltIfStopping(); // interrupted: the signal handler reports, cleans up and exits
    held?.release();
    // Commands that finish normally but must signal (audit --fail-on) set process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    await haltIfStopping(); // an error caused by the interruption is not the command's to report
    const printed = held?.discard() ?? '';
    if (err instanceof CommanderError) {
      // help and version exit 0; every other parse error is bad usage.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        if (printed) process.stdout.write(printed);
        return EXIT.ok;
      }
      if (json) process.stdout.write(errorDoc(err.message.replace(/^error: /, ''), EXIT.usage, null, undefined));
      return EXIT.usage;
    }
    if (err instanceof NettuneError) {
      process.stderr.write(`nettune: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
      if (json) process.stdout.write(errorDoc(err.message, err.exitCode, err.hint ?? null, partialOf(printed)));
      return err.exitCode;
    }
    const line = internalErrorLine(err);
    process.stderr.write(`nettune: ${line}\n  this is a bug in nettune; NETTUNE_DEBUG=1 shows where it happened\n`);
    if (process.env.NETTUNE_DEBUG === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    if (json) process.stdout.write(errorDoc(line, 70, 'this is a bug in nettune', partialOf(printed)));
    return 70;
  }
}

/** The process around main(): EPIPE, the last-resort crash handler, the exit code. Both entry
 *  points (dist/nettune.mjs with every group, dist/nettune-probe.cjs with the probe's) run it. */
export async function startCli(groups: readonly Group[]): Promise<void> {
  // `nettune … | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // An error outside the command's own promise (a stray callback) is still exit 70 with one line,
  // and with --json one document; never a stack trace (NETTUNE_DEBUG=1 shows it).
  const crash = (err: unknown): void => {
    process.stderr.write(`nettune: ${internalErrorLine(err)}\n`);
    if (process.env.NETTUNE_DEBUG === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    if (wantsJson(process.argv.slice(2))) writeStdoutDirect(`${JSON.stringify({ error: { message: internalErrorLine(err), hint: 'this is a bug in nettune', exit_code: 70 } })}\n`);
    process.exit(70);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  process.exitCode = await main(process.argv.slice(2), groups);
}
