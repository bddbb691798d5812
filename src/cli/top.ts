// `nettune top`: the live view of the monitor stage (src/monitor/top.ts).
import type { Command } from 'commander';
import { z } from 'zod';
import { usageError } from '../sys/errors.js';
import { installStopHandlers } from '../sys/signals.js';
import { parseDuration } from '../units/index.js';
import { parseOptions } from './common.js';
import { countFlag } from './flags.js';
import { writeStdoutDirect } from './main.js';

const INTERVALS = { min: 0.1, max: 3600 };
const FRAMES = { min: 1, max: 1_000_000, what: 'intervals' };

const topOptions = z
  .object({
    json: z.boolean().optional(),
    netns: z.string().optional(),
    interval: z.string().default('1s'),
    once: z.boolean().optional(),
    count: countFlag(FRAMES).optional(),
  })
  .refine((o) => !(o.once && o.count !== undefined), { message: '--once is --count 1; give one of them' });

export function registerTop(program: Command): void {
  program
    .command('top')
    .description('live view: per-link rates, TCP, sockets, conntrack, softnet per CPU, and audit rules firing on the last interval')
    .option('--interval <dur>', 'time between samples (100ms to 1h; default 1s)')
    .option('--netns <name>', 'watch this network namespace (ip netns) instead of the current one')
    .option('--once', 'print one plain frame after one interval and exit')
    .option('--count <n>', 'stop after N intervals (with --json: N lines of NDJSON)')
    .option('--json', 'one JSON object per interval (NDJSON) instead of the screen')
    .action(async (raw: unknown) => {
      const opts = parseOptions(topOptions, raw);
      const interval = parseDuration(opts.interval, '--interval');
      if (interval < INTERVALS.min || interval > INTERVALS.max) throw usageError(`--interval ${opts.interval}: expected between 100ms and 1h`);
      const tty = Boolean(process.stdout.isTTY && process.stdin.isTTY);
      const fullScreen = tty && !opts.json && !opts.once;
      const columns = Number(process.env.COLUMNS);
      installStopHandlers({ json: Boolean(opts.json) });
      const { runTop } = await import('../monitor/top.js');
      await runTop(
        {
          netns: opts.netns ?? null,
          interval_s: interval,
          // A plain frame is printed once unless --count asks for more; the screen and --json
          // run until q / Ctrl-C unless --count stops them.
          count: opts.once ? 1 : (opts.count ?? (fullScreen || opts.json ? null : 1)),
          json: Boolean(opts.json),
          fullScreen,
          plainWidth: Number.isInteger(columns) && columns >= 40 && columns <= 1000 ? columns : 80,
        },
        { jsonLine: (doc) => writeStdoutDirect(`${JSON.stringify(doc)}\n`), text: (s) => process.stdout.write(s) },
      );
    });
}
