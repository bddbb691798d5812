// nettune command line: parse, run one command, map errors to the documented exit codes.
import { Command, CommanderError } from 'commander';
import { EXIT, NettuneError } from '../sys/errors.js';
import { VERSION } from '../version.js';
import { registerApply } from './apply.js';
import { registerAudit } from './audit.js';
import { registerBench } from './bench.js';
import { registerCatalog } from './catalog.js';
import { registerExperiment } from './experiment.js';
import { registerLab } from './lab.js';
import { registerLint } from './lint.js';
import { registerPlan } from './plan.js';
import { registerProbe } from './probe.js';
import { registerShow } from './show.js';

export function buildProgram(): Command {
  const program = new Command('nettune')
    .description('Evidence-based Linux network tuning: probe → audit → plan → apply → prove → monitor → export')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerProbe(program);
  registerShow(program);
  registerCatalog(program);
  registerAudit(program);
  registerLint(program);
  registerPlan(program);
  registerApply(program);
  registerLab(program);
  registerBench(program);
  registerExperiment(program);
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
  const program = buildProgram();
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
