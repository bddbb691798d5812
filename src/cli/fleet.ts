// `nettune fleet collect|audit|drift`: many hosts through Ansible (ansible-playbook gathers the raw
// text, nettune builds and judges the Snapshots here). Unreachable or failed hosts are reported and
// never stop the others.
import type { Command } from 'commander';
import { z } from 'zod';
import { collectFleet, type FleetCollection } from '../fleet/collect.js';
import { auditFleet, driftFleet, type FleetAudit, type FleetDrift, type HostState } from '../fleet/report.js';
import { collectionIndex, readCollection, writeCollection } from '../fleet/store.js';
import { loadPlanBaseline } from '../monitor/drift.js';
import { WORKLOADS } from '../plan/types.js';
import { EXIT, usageError } from '../sys/errors.js';
import { installStopHandlers } from '../sys/signals.js';
import { ensureTools, installAllowed } from '../sys/tools.js';
import { parseDuration } from '../units/index.js';
import { severityRank } from '../rules/engine.js';
import { linkSpec } from './audit.js';
import { logErr, parseOptions, print, printJson } from './common.js';
import { table } from './format.js';

// eslint-disable-next-line no-control-regex
const SAFE_ARG = /^[^\s-\x00-\x1f][^\x00-\x1f]*$/;

const commonShape = {
  json: z.boolean().optional(),
  inventory: z.string().regex(SAFE_ARG, 'an inventory path (not starting with "-")').optional(),
  from: z.string().optional(),
  forks: z.coerce.number().int().min(1).max(1000).optional(),
  limit: z.string().regex(SAFE_ARG, 'an ansible host pattern').optional(),
  out: z.string().optional(),
  timeout: z.string().default('10m'),
};

const sourceRefine = (o: { inventory?: string | undefined; from?: string | undefined; out?: string | undefined }): boolean => Boolean(o.inventory) !== Boolean(o.from);
const SOURCE_MESSAGE = { message: 'give --inventory INV (collect now) or --from DIR (an earlier `fleet collect --out DIR`), one of them' };

const collectOptions = z.object(commonShape).refine((o) => Boolean(o.inventory) && !o.from, { message: 'collect needs --inventory INV' });
const auditOptions = z
  .object({
    ...commonShape,
    workload: z.enum(WORKLOADS).default('balanced'),
    link: z.string().optional(),
    rtt: z.string().optional(),
    failOn: z.enum(['info', 'warn', 'critical']).optional(),
  })
  .refine(sourceRefine, SOURCE_MESSAGE)
  .refine((o) => Boolean(o.link) === Boolean(o.rtt), { message: '--link and --rtt go together (the BDP needs both)' });
const driftOptions = z.object({ ...commonShape, plan: z.string({ required_error: 'drift needs --plan PLAN.json' }) }).refine(sourceRefine, SOURCE_MESSAGE);

type Common = z.infer<z.ZodObject<typeof commonShape>>;

/** The collection to judge: gathered now (saved with --out), or read back with --from. */
async function collection(opts: Common): Promise<FleetCollection> {
  if (opts.from !== undefined) {
    if (opts.forks !== undefined || opts.limit !== undefined) throw usageError('--forks and --limit go with --inventory (a collection from --from is already gathered)');
    return readCollection(opts.from);
  }
  const timeoutS = parseDuration(opts.timeout, '--timeout');
  if (timeoutS < 5 || timeoutS > 24 * 3600) throw usageError(`--timeout ${opts.timeout}: expected between 5s and 24h`);
  installStopHandlers({ json: Boolean(opts.json), log: logErr });
  await ensureTools(['ansible-playbook', 'ansible-inventory', 'ansible'], { install: installAllowed(), log: logErr }); // still missing: exit 3 naming the package
  const c = await collectFleet({ inventory: opts.inventory ?? '', forks: opts.forks, limit: opts.limit ?? null, timeoutMs: timeoutS * 1000, log: logErr });
  const ok = c.hosts.filter((h) => h.status === 'ok').length;
  logErr(`nettune: ${ok} of ${c.hosts.length} hosts collected in ${c.ansible.duration_s} s${ok < c.hosts.length ? ` (${c.hosts.length - ok} not: ${c.hosts.filter((h) => h.status !== 'ok').map((h) => `${h.name} ${h.status}`).join(', ')})` : ''}`);
  if (opts.out !== undefined) {
    const files = writeCollection(opts.out, c);
    logErr(`nettune: wrote ${files.length} files to ${opts.out}`);
  }
  return c;
}

function fleetOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print one JSON document on stdout')
    .option('--inventory <inv>', 'an Ansible inventory (INI or YAML, anything ansible-inventory reads)')
    .option('--from <dir>', 'judge an earlier `fleet collect --out DIR` instead of collecting now')
    .option('--forks <n>', "passed to ansible-playbook (parallel hosts; ansible's default is 5)")
    .option('--limit <pattern>', 'passed to ansible-playbook: only these hosts or groups')
    .option('--out <dir>', 'also write the collection there (fleet.json + one Snapshot per host)')
    .option('--timeout <dur>', 'give up on ansible-playbook after this long (default 10m)');
}

const notReached = (hosts: readonly HostState[]): string[] => hosts.map((h) => `  ${h.name}: ${h.status}${h.message ? ` — ${h.message}` : ''}`);

export function renderCollect(c: FleetCollection): string {
  const rows = c.hosts.map((h) => [
    h.name,
    h.address ?? '',
    h.status,
    h.snapshot ? `${h.snapshot.hostname} · kernel ${h.snapshot.kernel.release} · ${Object.keys(h.snapshot.sysctl).length} keys · ${h.snapshot.links.length} links` : (h.message ?? ''),
    h.sources_failed.length ? `failed sources: ${h.sources_failed.join(', ')}` : '',
  ]);
  return [table([['HOST', 'ADDRESS', 'STATUS', 'SNAPSHOT', ''], ...rows]), '', `${c.hosts.filter((h) => h.status === 'ok').length} of ${c.hosts.length} hosts collected (ansible-playbook exit ${c.ansible.rc}, ${c.ansible.duration_s} s)`].join('\n');
}

const MARK = { critical: '✗', warn: '!', info: 'i' } as const;
const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function renderAudit(a: FleetAudit): string {
  const hosts = a.audited;
  const perHost = hosts.length <= 12;
  const head = ['RULE', 'SEVERITY', 'HOSTS', ...(perHost ? hosts : []), 'WORST'];
  const rows = a.rules.map((r) => [r.id, r.severity, `${r.hits}/${hosts.length}`, ...(perHost ? hosts.map((h) => (r.hosts[h] ? MARK[r.hosts[h]] : '·')) : []), `${r.worst.host}${r.worst.subject ? ` [${r.worst.subject}]` : ''}: ${clip(r.worst.text || r.worst.message, 110)}`]);
  const out = [`fleet audit of ${hosts.length} host${hosts.length === 1 ? '' : 's'}${a.not_audited.length ? `, ${a.not_audited.length} not audited` : ''}`, ''];
  out.push(a.rules.length ? table([head, ...rows]) : 'No findings on any host.');
  if (a.not_audited.length) out.push('', 'not audited:', ...notReached(a.not_audited));
  out.push('', `${a.summary.critical} critical, ${a.summary.warn} warn, ${a.summary.info} info (host × rule) — ${a.rules.length} rules hit; \`nettune audit --snapshot DIR/HOST.snapshot.json\` for one host's details`);
  return out.join('\n');
}

export function renderDrift(d: FleetDrift): string {
  const rows: string[][] = [];
  for (const h of d.hosts) for (const e of h.entries) rows.push([h.host, e.key, e.expected, e.actual ?? '(none)', e.drifted === true ? 'DRIFT' : e.drifted === false ? 'ok' : 'unknown', e.note ?? '']);
  const out = [`fleet drift against ${d.baseline.kind === 'plan' ? d.baseline.file : `transaction ${d.baseline.id}`}`, ''];
  out.push(rows.length ? table([['HOST', 'KEY', 'EXPECTED', 'ACTUAL', 'STATE', ''], ...rows]) : 'The plan has nothing to compare.');
  if (d.not_checked.length) out.push('', 'not checked:', ...notReached(d.not_checked));
  out.push('', d.drifted_hosts.length ? `drift on ${d.drifted_hosts.length} of ${d.hosts.length} hosts: ${d.drifted_hosts.join(', ')}` : `no drift on ${d.hosts.length} host${d.hosts.length === 1 ? '' : 's'}`);
  return out.join('\n');
}

export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description('collect, audit and check drift on many hosts through Ansible (ansible-playbook)');

  fleetOptions(fleet.command('collect').description('gather every host\'s probe sources with ansible-playbook and build one Snapshot per host')).action(async (raw: unknown) => {
    const opts = parseOptions(collectOptions, raw);
    const c = await collection(opts);
    if (opts.json) printJson(collectionIndex(c, opts.out !== undefined));
    else print(renderCollect(c));
  });

  fleetOptions(fleet.command('audit').description('audit every host: a rules × hosts table with the worst evidence'))
    .option('--workload <w>', 'latency | throughput | connections | balanced (default balanced)')
    .option('--link <rate>', 'link rate for BDP checks, tc units (10gbit)')
    .option('--rtt <dur>', 'round-trip time for BDP checks (10ms)')
    .option('--fail-on <severity>', 'exit 1 when a finding on any host is at or above: info | warn | critical')
    .action(async (raw: unknown) => {
      const opts = parseOptions(auditOptions, raw);
      const link = linkSpec(opts);
      const a = auditFleet(await collection(opts), opts.workload, link);
      if (opts.json) printJson({ workload: opts.workload, link, ...a });
      else print(renderAudit(a));
      const failOn = opts.failOn;
      if (failOn && a.rules.some((r) => Object.values(r.hosts).some((s) => severityRank(s) >= severityRank(failOn)))) process.exitCode = EXIT.findings;
    });

  fleetOptions(fleet.command('drift').description('per host and key: the plan\'s value against the live one; exit 1 on any drift'))
    .option('--plan <file>', 'the plan the fleet should hold (`nettune plan --out FILE`)')
    .action(async (raw: unknown) => {
      const opts = parseOptions(driftOptions, raw);
      const baseline = loadPlanBaseline(opts.plan); // bad plan: exit 2 before any host is asked
      const d = driftFleet(await collection(opts), baseline);
      if (opts.json) printJson(d);
      else print(renderDrift(d));
      if (d.drifted_hosts.length) process.exitCode = EXIT.findings;
    });
}
