// `nettune exporter [--listen 127.0.0.1:9877] [--netns NS] [--plan FILE] [--workload W]`: the
// Prometheus exporter (src/monitor/exporter.ts) until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { z } from 'zod';
import { loadPlanBaseline } from '../monitor/drift.js';
import { createExporter } from '../monitor/exporter.js';
import { formatHostPort, listenFlag, startListening } from '../monitor/http.js';
import { WORKLOADS } from '../plan/types.js';
import { checkNetns } from '../probe/netns.js';
import { environmentError, usageError } from '../sys/errors.js';
import { validNetns } from '../sys/names.js';
import { installStopHandlers, onStop, setStopDocument } from '../sys/signals.js';
import { ensureTools, installAllowed } from '../sys/tools.js';
import { parseDuration } from '../units/index.js';
import { logErr, parseOptions, PROBE_TOOLS } from './common.js';

export const DEFAULT_EXPORTER_LISTEN = '127.0.0.1:9877';

const options = z.object({
  json: z.boolean().optional(),
  listen: listenFlag.default(DEFAULT_EXPORTER_LISTEN),
  netns: z.string().optional(),
  plan: z.string().optional(),
  workload: z.enum(WORKLOADS).default('balanced'),
  refresh: z.string().default('60s'),
});

export function registerExporter(program: Command): void {
  program
    .command('exporter')
    .description('serve Prometheus metrics: counters, tuning state, audit findings and drift (/metrics, /healthz)')
    .option('--listen <host:port>', `address to listen on (default ${DEFAULT_EXPORTER_LISTEN})`)
    .option('--netns <name>', 'export this network namespace (ip netns) instead of the current one')
    .option('--plan <file>', 'measure drift against this plan (plan --out) instead of the last applied transaction')
    .option('--workload <w>', `severity of findings as for audit --workload (${WORKLOADS.join(', ')}; default balanced)`)
    .option('--refresh <dur>', 're-read sysctls, links and ethtool this often (default 60s; counters are read on every scrape)')
    .option('--json', 'print one JSON document on stdout: the run summary when a signal stops it (or the error)')
    .action(async (raw: unknown) => {
      const opts = parseOptions(options, raw);
      const refresh = parseDuration(opts.refresh, '--refresh');
      if (refresh < 5 || refresh > 86_400) throw usageError(`--refresh: ${opts.refresh} is outside 5s to 24h`);
      const netns = opts.netns !== undefined ? checkNetns(validNetns(opts.netns, '--netns')) : null;
      const plan = opts.plan !== undefined ? loadPlanBaseline(opts.plan) : null;
      if (netns !== null && !(typeof process.getuid === 'function' && process.getuid() === 0)) throw environmentError(`--netns ${netns}: exporting another namespace needs root (ip netns exec)`);
      await ensureTools(PROBE_TOOLS, { install: installAllowed(), log: logErr });
      installStopHandlers({ json: Boolean(opts.json), log: logErr });
      const exporter = await createExporter({ netns, plan, workload: opts.workload, refresh_s: refresh, min_audit_interval_s: 1, log: logErr });
      onStop('exporter', () => exporter.close());
      const bound = await startListening(exporter.server, opts.listen).catch(async (err: unknown) => {
        await exporter.close();
        throw err;
      });
      const where = formatHostPort(bound.host, bound.port);
      logErr(`nettune exporter: serving http://${where}/metrics${netns ? ` for namespace ${netns}` : ''} (drift against ${plan ? opts.plan : 'the last applied transaction'}); Ctrl-C stops`);
      // Runs until a signal: the stop handler closes the server and the sampler, prints the run
      // summary (--json) once they are closed, and exits 128+N. (Printing it after the server's
      // 'close' never ran: the handler exits before that promise's continuation.)
      setStopDocument((sig) => ({ listen: where, netns, stopped_by: sig, ...exporter.stats }));
      await new Promise<never>(() => undefined);
    });
}
