// `nettune dashboard`: a read-only web page served by the CLI itself (live charts from the
// sampler, audit findings with their rule's explanation, drift, transaction history, experiment
// reports). Loopback by default; any other bind requires a token (given, or generated and printed
// once). The server is src/monitor/dashboard-server.ts, the data src/monitor/dashboard-live.ts.
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import assets from 'nettune:web-assets';
import { createDashboardHandler } from '../monitor/dashboard-server.js';
import { createLive, type Live } from '../monitor/dashboard-live.js';
import { closeServer, createHttpServer, formatHostPort, generateToken, listenFlag, startListening } from '../monitor/http.js';
import { openSampler, type Sampler } from '../monitor/sampler.js';
import { WORKLOADS } from '../plan/types.js';
import { findRule } from '../rules/index.js';
import { usageError } from '../sys/errors.js';
import { haltIfStopping, installStopHandlers, onStop, setStopDocument } from '../sys/signals.js';
import { ensureTools, installAllowed } from '../sys/tools.js';
import { parseDuration } from '../units/index.js';
import { ruleMeta } from './audit.js';
import { logErr, PROBE_TOOLS, parseOptions } from './common.js';
import { writeStdoutDirect } from './main.js';

export const DEFAULT_LISTEN = '127.0.0.1:9878';
/** RFC 6750 b64token characters; at least 16 so a given token is not trivially guessed. */
const TOKEN = /^[A-Za-z0-9._~+/=-]{16,256}$/;
const TOKEN_RULE = 'at least 16 and at most 256 of A-Z a-z 0-9 . _ ~ + / = -';

const options = z.object({
  json: z.boolean().optional(),
  listen: listenFlag.default(DEFAULT_LISTEN),
  token: z.string().regex(TOKEN, TOKEN_RULE).optional(),
  netns: z.string().optional(),
  reports: z.string().optional(),
  interval: z.string().default('1s'),
  workload: z.enum(WORKLOADS).default('balanced'),
});

function reportsDir(dir: string | undefined): string | null {
  if (dir === undefined) return null;
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw usageError(`--reports ${dir}: no such directory`, 'give the directory that holds experiment reports (experiment run --report DIR/NAME)');
  }
  if (!isDir) throw usageError(`--reports ${dir}: not a directory`);
  return dir;
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('serve a read-only web dashboard: live counters, findings, drift, transactions, experiment reports')
    .option('--listen <host:port>', `address to serve on (default ${DEFAULT_LISTEN}; anything but loopback requires a token)`)
    .option('--token <token>', 'require this token on every request (or set NETTUNE_DASHBOARD_TOKEN; generated when binding beyond loopback)')
    .option('--netns <name>', 'show this network namespace (ip netns) instead of the current one')
    .option('--reports <dir>', 'list the experiment reports in this directory (and its subdirectories)')
    .option('--interval <dur>', 'sampling interval (default 1s; 200ms to 60s)')
    .option('--workload <w>', 'workload the audit judges for (default balanced)')
    .option('--json', 'print where it listens as one JSON document on stdout once it serves')
    .action(async (raw: Record<string, unknown>) => {
      const envToken = process.env.NETTUNE_DASHBOARD_TOKEN;
      // A bad token from the environment is named as such (never shown: it is a secret).
      if (raw.token === undefined && envToken !== undefined && envToken !== '' && !TOKEN.test(envToken)) throw usageError(`NETTUNE_DASHBOARD_TOKEN: ${TOKEN_RULE}`);
      const opts = parseOptions(options, { ...raw, token: raw.token ?? (envToken === '' ? undefined : envToken) });
      const intervalS = parseDuration(opts.interval, '--interval');
      if (intervalS < 0.2 || intervalS > 60) throw usageError(`--interval ${opts.interval}: expected between 200ms and 60s`);
      const dir = reportsDir(opts.reports);
      const generated = opts.token === undefined && !opts.listen.loopback ? generateToken() : null;
      const token = opts.token ?? generated;

      let live: Live | null = null;
      let bound: { host: string; port: number } | null = null;
      const server = createHttpServer(
        createDashboardHandler({ assets, source: () => live, token: token ?? null, bound: () => bound, log: logErr }),
        { log: logErr },
      );
      // --json: a stop before the start document is printed is the one document (an error)
      installStopHandlers({ json: Boolean(opts.json), log: logErr });
      // Bind first: a port in use is reported (exit 3) before anything is probed or started.
      bound = await startListening(server, opts.listen);
      onStop('dashboard server', () => closeServer(server));

      // A start-up failure after the bind ends the command: the listening server would otherwise
      // keep the process (answering 503 "starting" forever) after the error was reported.
      let sampler: Sampler | null = null;
      let l: Live;
      try {
        await ensureTools(PROBE_TOOLS, { install: installAllowed(), log: logErr });
        const s = await openSampler({ netns: opts.netns ?? null, ring: Math.max(60, Math.ceil(120 / intervalS)) });
        sampler = s;
        onStop('sampler', () => s.close());
        l = createLive({ sampler: s, intervalMs: intervalS * 1000, reportsDir: dir, workload: opts.workload, explain: (id) => { const r = findRule(id); return r ? ruleMeta(r) : undefined; }, log: logErr });
        const started = l;
        onStop('dashboard sampling', () => started.stop());
        await l.start();
      } catch (err) {
        sampler?.close();
        await closeServer(server);
        throw err;
      }
      live = l;

      const url = `http://${formatHostPort(bound.host, bound.port)}/`;
      // A signal during start-up: it is stopping, not serving (its handler prints the document).
      await haltIfStopping();
      if (opts.json) {
        writeStdoutDirect(`${JSON.stringify({ url, listen: bound, loopback: opts.listen.loopback, token_required: token !== null, ...(generated ? { token: generated } : {}), netns: opts.netns ?? null, interval_s: intervalS, reports: dir })}\n`);
        setStopDocument(() => undefined); // that was the one document: a later stop prints none
      } else {
        logErr(`nettune dashboard: serving ${url}${opts.netns ? ` for netns ${opts.netns}` : ''} every ${intervalS} s (read-only; Ctrl-C stops)`);
        if (generated) logErr(`nettune dashboard: token (shown once): ${generated}\n  open ${url}?token=${generated} once (a cookie keeps it), or send "Authorization: Bearer ${generated}"`);
        else if (token) logErr(`nettune dashboard: every request needs the token: open ${url}?token=… once, or send "Authorization: Bearer …"`);
        else logErr('nettune dashboard: loopback only, no token (use --listen with --token to serve others)');
      }
      await new Promise<never>(() => undefined); // serves until a signal stops it
    });
}
