// The bundle's entry point (dist/nettune.mjs).
import { internalErrorLine, main, wantsJson, writeStdoutDirect } from './main.js';

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

process.exitCode = await main(process.argv.slice(2));
