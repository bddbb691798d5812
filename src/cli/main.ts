// nettune command line: parse, run one command, map errors to the documented exit codes.
import { Command, CommanderError } from 'commander';
import { EXIT, NettuneError } from '../sys/errors.js';
import { VERSION } from '../version.js';

type Register = (program: Command) => void;

/** Each command group's module, loaded only when its command runs (the bundle is split per
 *  group, so `probe` does not parse the catalog, the rules or the lab). */
const GROUPS: readonly { commands: readonly string[]; load: () => Promise<Register> }[] = [
  { commands: ['probe'], load: async () => (await import('./probe.js')).registerProbe },
  { commands: ['show'], load: async () => (await import('./show.js')).registerShow },
  { commands: ['catalog', 'explain', 'get'], load: async () => (await import('./catalog.js')).registerCatalog },
  { commands: ['audit', 'rules'], load: async () => (await import('./audit.js')).registerAudit },
  { commands: ['lint'], load: async () => (await import('./lint.js')).registerLint },
  { commands: ['plan', 'profiles', 'diff'], load: async () => (await import('./plan.js')).registerPlan },
  { commands: ['apply', 'confirm', 'history', 'show-tx', 'rollback', 'recover', '__watchdog'], load: async () => (await import('./apply.js')).registerApply },
  { commands: ['lab'], load: async () => (await import('./lab.js')).registerLab },
  { commands: ['bench', '__rr-server', '__rr-client', '__connect-burst'], load: async () => (await import('./bench.js')).registerBench },
  { commands: ['experiment'], load: async () => (await import('./experiment.js')).registerExperiment },
];

/** The program with the command groups `argv` needs: the one its first word names, or all of
 *  them (help, version, a typo that wants "did you mean"). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('nettune')
    .description('Evidence-based Linux network tuning: probe → audit → plan → apply → prove → monitor → export')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const first = argv.find((a) => !a.startsWith('-'));
  const group = GROUPS.find((g) => first !== undefined && g.commands.includes(first));
  for (const g of group ? [group] : GROUPS) (await g.load())(program);
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok · 1 audit findings at --fail-on · 2 bad usage or input · 3 environment (not root,
tool missing, kernel lacks a feature) · 4 apply failed and was rolled back · 5 rollback failed.
Environment: NETTUNE_STATE_DIR (default /var/lib/nettune), NETTUNE_NO_INSTALL=1 (never apt-get).`,
  );
  return program;
}

function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    // Commands that finish normally but must signal (audit --fail-on) set process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; every other parse error is bad usage.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      if (wantsJson(argv)) process.stdout.write(`${JSON.stringify({ error: { message: err.message.replace(/^error: /, ''), exit_code: EXIT.usage } })}\n`);
      return EXIT.usage;
    }
    if (err instanceof NettuneError) {
      process.stderr.write(`nettune: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
      if (wantsJson(argv))
        process.stdout.write(`${JSON.stringify({ error: { message: err.message, hint: err.hint ?? null, exit_code: err.exitCode } })}\n`);
      return err.exitCode;
    }
    process.stderr.write(`nettune: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 70;
  }
}
