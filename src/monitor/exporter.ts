// The Prometheus exporter: /metrics (prom-client text format) and /healthz over the shared HTTP
// plumbing. Each scrape takes a fresh counter sample from the one sampler (no process per
// scrape), merges it into the last full Snapshot (sysctl tree, links, ethtool: refreshed in the
// background every `refresh_s`), judges it with the audit rule engine against an earlier sample,
// compares it with the drift baseline (once per refresh) and sets every family in place; only
// the families whose values changed are rendered again (src/monitor/metrics-registry.ts).
import type { Server } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { type AuditResult, evaluate, type KernelDefaultEntry } from '../rules/engine.js';
import { allRules } from '../rules/index.js';
import type { Workload } from '../plan/types.js';
import type { Snapshot } from '../snapshot/index.js';
import { errorMessage } from '../sys/errors.js';
import { createAnchors } from './anchors.js';
import { computeDrift, type DriftBaseline, type DriftResult, lastAppliedBaseline } from './drift.js';
import { counterFamilies } from './exporter-counters.js';
import { stateFamilies } from './exporter-state.js';
import { checkPath, closeServer, createHttpServer, type Limits, methodNotAllowed, notFound, send, sendText } from './http.js';
import { PREFIX } from './metrics-names.js';
import { createFamilies } from './metrics-registry.js';
import { type CounterSample, openSampler, type Sampler, toSnapshot } from './sampler.js';

export interface ExporterOptions {
  netns: string | null;
  /** A plan file's baseline (--plan); null: the last transaction in effect, re-read each refresh. */
  plan: DriftBaseline | null;
  workload: Workload;
  /** Seconds between full re-reads of the configuration (sysctl tree, links, ethtool). */
  refresh_s: number;
  /** The audit compares with the newest earlier sample at least this old (seconds), so rates of
   *  scrapes that arrive close together (several Prometheus servers) are not judged over a few ms. */
  min_audit_interval_s: number;
  log: (line: string) => void;
  limits?: Partial<Limits>;
}

export interface ExporterStats {
  scrapes: number;
  samples: number;
  failed: number;
  refreshes: number;
  refresh_errors: number;
  last_error: string | null;
}

export interface Exporter {
  server: Server;
  stats: ExporterStats;
  /** One scrape as /metrics answers it (the exposition text, UTF-8). */
  scrape(): Promise<Buffer>;
  close(): Promise<void>;
}

interface Judged {
  mono_ms: number;
  snap: Snapshot;
}

export async function createExporter(o: ExporterOptions): Promise<Exporter> {
  // (The exporter reads no rates from the sampler's ring: the smallest ring holds the fewest samples.)
  const sampler: Sampler = await openSampler({ netns: o.netns, ring: 2 });
  const stats: ExporterStats = { scrapes: 0, samples: 0, failed: 0, refreshes: 0, refresh_errors: 0, last_error: null };
  let base = sampler.base() as Snapshot;
  let baseline: DriftBaseline | null = o.plan;
  let baselineNote: string | undefined;
  const readBaseline = (): void => {
    if (o.plan) return;
    try {
      baseline = lastAppliedBaseline(o.netns);
      baselineNote = undefined;
    } catch (err) {
      baseline = null;
      baselineNote = `the journal cannot be read: ${errorMessage(err)}`;
    }
  };
  readBaseline();
  const judged = (s: CounterSample): Judged => {
    stats.samples++;
    return { mono_ms: s.mono_ms, snap: toSnapshot(base, s) };
  };
  // The first sample: the earlier one the first scrape's audit is judged against.
  const anchors = createAnchors<Judged>(o.min_audit_interval_s * 1000, judged(await sampler.sample()));

  // The kernel defaults the audit cites depend on the configuration only: kept until a refresh.
  let defaults = new Map<string, KernelDefaultEntry | null>();
  let refreshing = false;
  const refresh = async (): Promise<void> => {
    if (refreshing) return;
    refreshing = true;
    try {
      base = await sampler.snapshot();
      defaults = new Map();
      readBaseline();
      stats.refreshes++;
    } catch (err) {
      stats.refresh_errors++;
      o.log(`nettune exporter: refreshing the configuration failed (keeping the previous one): ${errorMessage(err)}`);
    } finally {
      refreshing = false;
    }
  };
  const timer = setInterval(() => void refresh(), o.refresh_s * 1000);
  timer.unref();

  const audit = (now: Judged): AuditResult | null => {
    const prev = anchors.judge(now);
    if (!prev) return null;
    // The exact interval on the monotonic clock (the sampler's mono_ms), not wall-clock times.
    return evaluate(allRules, { snap: now.snap, prev: prev.snap, workload: o.workload, interval_s: (now.mono_ms - prev.mono_ms) / 1000, defaults });
  };

  // Drift compares the configuration (sysctl tree, ethtool) with the baseline: both change only
  // with a refresh, so it is worked out once per refresh.
  let drift: { base: Snapshot; baseline: DriftBaseline | null; note: string | undefined; result: DriftResult } | null = null;
  const driftNow = (): DriftResult => {
    if (!drift || drift.base !== base || drift.baseline !== baseline || drift.note !== baselineNote) drift = { base, baseline, note: baselineNote, result: computeDrift(base, baseline, baselineNote) };
    return drift.result;
  };

  const f = createFamilies();
  const render = async (): Promise<Buffer> => {
    const t0 = performance.now();
    const sample = await sampler.sample();
    const now = judged(sample);
    f.begin();
    counterFamilies(f, sample, { pageSize: base.memory.page_size, conntrackBuckets: base.conntrack?.buckets ?? null });
    stateFamilies(f, { base, audit: audit(now), drift: driftNow() });
    f.counter(`${PREFIX}exporter_scrapes_total`, 'Requests for /metrics this exporter received', stats.scrapes);
    f.counter(`${PREFIX}exporter_samples_total`, 'Counter samples this exporter took (scrapes that arrive together share one)', stats.samples);
    // (Not process.memoryUsage(): its RSS read of /proc/self/stat cost ~0.4 ms a scrape here.)
    f.gauge(`${PREFIX}exporter_heap_used_bytes`, 'V8 heap in use by this exporter process (JavaScript objects)', getHeapStatistics().used_heap_size);
    f.gauge(`${PREFIX}scrape_duration_seconds`, 'Time this scrape took to sample, judge and collect (before rendering)', (performance.now() - t0) / 1000);
    f.end();
    return f.render();
  };

  // Scrapes are serialised: a request that arrives while one is being taken waits for the next,
  // which starts after it (so every answer holds a sample taken after its request arrived), and
  // all requests waiting share that one.
  let running: Promise<Buffer> | null = null;
  let queued: Promise<Buffer> | null = null;
  const scrape = (): Promise<Buffer> => {
    if (!running) {
      running = render().finally(() => {
        running = null;
      });
      return running;
    }
    if (!queued) {
      const after = running.catch(() => null);
      queued = after.then(() => {
        queued = null;
        return scrape();
      });
    }
    return queued;
  };

  const server = createHttpServer(
    async (req, res) => {
      const p = checkPath(req.url);
      if (!p.ok) return sendText(res, p.status, `${p.reason}\n`);
      if (p.path !== '/metrics' && p.path !== '/healthz') return notFound(res);
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res);
      if (p.path === '/healthz') return sendText(res, 200, 'ok\n');
      stats.scrapes++;
      let text: Buffer;
      try {
        text = await scrape();
      } catch (err) {
        stats.failed++;
        stats.last_error = errorMessage(err);
        o.log(`nettune exporter: scrape failed: ${stats.last_error}`);
        return sendText(res, 500, `scrape failed: ${stats.last_error}\n`);
      }
      send(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8', 'api');
    },
    { log: o.log, ...(o.limits ? { limits: o.limits } : {}) },
  );

  return {
    server,
    stats,
    scrape,
    close: async () => {
      clearInterval(timer);
      await closeServer(server);
      sampler.close();
    },
  };
}
