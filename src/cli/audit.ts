// `nettune audit` (findings with evidence) and `nettune rules` (what the rules are).
import type { Command } from 'commander';
import { z } from 'zod';
import { bdpBytes, formatMs, parseDuration, parsePercent, parseRate, formatBytes, formatRate } from '../units/index.js';
import { type LinkSpec, WORKLOADS } from '../plan/types.js';
import { type AuditResult, evaluate, formatEvidence, rebootedBetween, severityRank } from '../rules/engine.js';
import { allRules, findRule } from '../rules/index.js';
import { RULE_DOMAINS, SEVERITIES, type Finding, type Rule, type Severity } from '../rules/types.js';
import { loadSnapshot, type Snapshot } from '../snapshot/index.js';
import { EXIT, usageError } from '../sys/errors.js';
import { getSnapshot, logErr, parseOptions, print, printJson, withJson, withSource } from './common.js';
import { table } from './format.js';
import { renderCommandLint } from './lint.js';
import { lintCommands } from '../lint/commands.js';
import { readInputFile } from '../sys/fs.js';
import { sleep } from '../sys/process.js';

const auditOptions = z
  .object({
    json: z.boolean().optional(),
    netns: z.string().optional(),
    snapshot: z.string().optional(),
    since: z.string().optional(),
    workload: z.enum(WORKLOADS).default('balanced'),
    link: z.string().optional(),
    rtt: z.string().optional(),
    loss: z.string().optional(),
    interval: z.string().optional(),
    failOn: z.enum(['info', 'warn', 'critical']).optional(),
    commands: z.string().optional(),
    format: z.enum(['text', 'markdown', 'json']).default('text'),
  })
  .refine((o) => !(o.netns && o.snapshot), { message: '--netns and --snapshot cannot be used together' })
  .refine((o) => !(o.snapshot && o.interval), { message: '--interval samples a live host; with --snapshot give the earlier capture as --since FILE' })
  .refine((o) => !(o.since && o.interval), { message: 'use either --since FILE or --interval DUR, not both' })
  .refine((o) => Boolean(o.link) === Boolean(o.rtt), { message: '--link and --rtt go together (the BDP needs both)' });

type AuditOptions = z.infer<typeof auditOptions>;

/** --link/--rtt/--loss → LinkSpec (null without them). */
export function linkSpec(opts: { link?: string | undefined; rtt?: string | undefined; loss?: string | undefined }): LinkSpec | null {
  if (!opts.link || !opts.rtt) {
    if (opts.loss) throw usageError('--loss needs --link and --rtt');
    return null;
  }
  const rate = parseRate(opts.link, '--link');
  const rtt = parseDuration(opts.rtt, '--rtt');
  if (rtt <= 0 || rtt > 10) throw usageError(`--rtt ${opts.rtt}: expected between 0 and 10 s`);
  return { rate_bps: rate, rtt_s: rtt, bdp_bytes: bdpBytes(rate, rtt), loss_pct: opts.loss ? parsePercent(opts.loss, '--loss') : null };
}


async function samples(opts: AuditOptions): Promise<{ snap: Snapshot; prev: Snapshot | null }> {
  if (opts.interval) {
    const s = parseDuration(opts.interval, '--interval');
    if (s < 0.5 || s > 3600) throw usageError(`--interval ${opts.interval}: expected between 500ms and 1h`);
    const prev = await getSnapshot(opts);
    logErr(`nettune: sampling counters for ${s} s …`);
    await sleep(s * 1000);
    return { snap: await getSnapshot(opts), prev };
  }
  const prev = opts.since !== undefined ? loadSnapshot(opts.since) : null;
  const snap = await getSnapshot(opts);
  if (prev && (prev.hostname !== snap.hostname || prev.netns.inode !== snap.netns.inode))
    throw usageError(`--since ${opts.since}: taken on ${prev.hostname} (netns inode ${prev.netns.inode}), not on ${snap.hostname} (netns inode ${snap.netns.inode}); rates need two samples of the same host`);
  if (prev && Date.parse(prev.taken_at) >= Date.parse(snap.taken_at)) throw usageError(`--since ${opts.since}: taken at ${prev.taken_at}, not before ${snap.taken_at}`);
  if (prev && rebootedBetween(prev, snap))
    logErr(`nettune: --since ${opts.since} was taken before a reboot (boot id ${prev.boot_id} → ${snap.boot_id}): counters restarted, so no rates; judging totals since the new boot`);
  return { snap, prev };
}

const MARK: Record<Severity, string> = { critical: '✗', warn: '!', info: 'i' };

function header(r: AuditResult, snap: Snapshot): string {
  const link = r.link ? `, link ${formatRate(r.link.rate_bps)} × ${formatMs(r.link.rtt_s)} (BDP ${Number((r.link.bdp_bytes / 1e6).toPrecision(3))} MB = ${formatBytes(r.link.bdp_bytes)})${r.link.loss_pct !== null ? `, loss ${r.link.loss_pct} %` : ''}` : '';
  const rates = r.rebooted_between_samples
    ? ', the host rebooted between the two samples (boot id changed): counters restarted, so no rates; judged since the new boot'
    : r.interval_s
      ? `, rates over ${r.interval_s.toFixed(1)} s`
      : ', counters since boot (use --interval for rates)';
  return `audit of ${snap.hostname}${snap.netns.name ? ` netns ${snap.netns.name}` : ''} · kernel ${snap.kernel.release} · workload ${r.workload}${link}${rates}`;
}

const summaryLine = (r: AuditResult): string =>
  `${r.summary.critical} critical, ${r.summary.warn} warn, ${r.summary.info} info — ${r.evaluated} rules evaluated, ${r.skipped.length} not applicable${r.rule_errors.length ? `, ${r.rule_errors.length} rule errors` : ''}`;

export function renderAuditText(r: AuditResult, snap: Snapshot): string {
  const out = [header(r, snap), ''];
  for (const sev of [...SEVERITIES].reverse()) {
    const fs = r.findings.filter((f) => f.severity === sev);
    if (!fs.length) continue;
    out.push(`${sev.toUpperCase()} (${fs.length})`);
    for (const f of fs) {
      out.push(`  ${MARK[sev]} ${f.id}${f.subject ? ` [${f.subject}]` : ''} — ${f.message}`);
      for (const e of f.evidence) out.push(`      evidence: ${formatEvidence(e, r.kernel_defaults)}`);
      for (const c of f.fix.commands) out.push(`      fix: ${c}`);
      out.push(`      why: ${f.why}`);
      out.push(`      risk: ${f.risk}  (confidence ${f.confidence}; source: ${f.sources.join('; ')})`);
    }
    out.push('');
  }
  if (!r.findings.length) out.push('No findings.', '');
  for (const e of r.rule_errors) out.push(`rule error in ${e.id}: ${e.message}`);
  out.push(summaryLine(r));
  return out.join('\n');
}

const mdCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderAuditMarkdown(r: AuditResult, snap: Snapshot): string {
  const out = [`# nettune audit`, '', header(r, snap), '', `**${summaryLine(r)}**`, ''];
  for (const f of r.findings) {
    out.push(`## ${f.severity.toUpperCase()}: ${f.title}${f.subject ? ` (${f.subject})` : ''}`, '', `\`${f.id}\` — ${f.message}`, '');
    out.push('| evidence | value | rate/s |', '|---|---|---|');
    for (const e of f.evidence) out.push(`| \`${mdCell(e.what)}\` | ${mdCell(String(e.value ?? '?'))}${r.kernel_defaults[e.what]?.differs ? ` (default here: ${mdCell(r.kernel_defaults[e.what]?.default ?? '')})` : ''}${e.note ? ` (${mdCell(e.note)})` : ''} | ${e.rate_per_s ?? ''} |`);
    out.push('', `**Why.** ${f.why}`, '', `**Risk.** ${f.risk}`, '', `**Confidence:** ${f.confidence}. **Sources:** ${f.sources.join('; ')}`, '');
    if (f.fix.commands.length) out.push('```sh', ...f.fix.commands, '```', '');
  }
  return out.join('\n');
}

function renderRule(rule: Rule): string {
  const wl = rule.workloads ? Object.entries(rule.workloads).map(([w, s]) => `${w}: ${s}`).join(', ') : 'same for all workloads';
  return [
    `${rule.id} — ${rule.title}`,
    `  domain ${rule.domain} · severity ${rule.severity} (${wl}${rule.severity_note ? `; ${rule.severity_note}` : ''})${rule.needs?.length ? ` · needs ${rule.needs.join(', ')}` : ''}${rule.min_kernel ? ` · kernel ≥ ${rule.min_kernel}` : ''}`,
    '',
    `  Why: ${rule.why}`,
    `  Risk: ${rule.risk}`,
    `  Sources: ${rule.sources.join('; ')}`,
  ].join('\n');
}

export const ruleMeta = (r: Rule) => ({
  id: r.id,
  domain: r.domain,
  title: r.title,
  severity: r.severity,
  severity_note: r.severity_note ?? null,
  workloads: r.workloads ?? {},
  needs: r.needs ?? [],
  min_kernel: r.min_kernel ?? null,
  why: r.why,
  risk: r.risk,
  sources: r.sources,
});

export const atOrAbove = (findings: readonly Finding[], level: Severity): number => findings.filter((f) => severityRank(f.severity) >= severityRank(level)).length;

export function registerAudit(program: Command): void {
  withSource(program.command('audit').description('find what is wrong with the network tuning, with the counters that show it'))
    .option('--workload <w>', `latency | throughput | connections | balanced (default balanced)`)
    .option('--link <rate>', 'link rate for BDP checks, tc units (10gbit, 100mbit)')
    .option('--rtt <dur>', 'round-trip time for BDP checks (10ms)')
    .option('--loss <pct>', 'packet loss on the path, percent')
    .option('--interval <dur>', 'take two samples this far apart and judge counters by their rate (5s)')
    .option('--since <file>', 'an earlier Snapshot of the same host: counters are judged by their rate since then')
    .option('--fail-on <severity>', 'exit 1 when a finding is at or above: info | warn | critical')
    .option('--commands <file>', 'also check the ethtool/sysctl/ip lines of a shell script or Ansible file (as lint --commands); their errors count as warn for --fail-on')
    .option('--format <fmt>', 'text | markdown | json (same as --json)')
    .action(async (raw: unknown) => {
      const opts = parseOptions(auditOptions, raw);
      const link = linkSpec(opts); // validate flags before probing anything
      const { snap, prev } = await samples(opts);
      const commandText = opts.commands === undefined ? null : readInputFile(opts.commands, { label: `--commands ${opts.commands}` });
      const result = evaluate(allRules, { snap, prev, workload: opts.workload, link });
      const commands = opts.commands === undefined || commandText === null ? null : lintCommands(opts.commands, commandText, { snap, workload: opts.workload });
      if (opts.json || opts.format === 'json') printJson({ ...result, host: { hostname: snap.hostname, kernel: snap.kernel.release, netns: snap.netns.name, taken_at: snap.taken_at }, ...(commands ? { commands } : {}) });
      else if (opts.format === 'markdown') print(renderAuditMarkdown(result, snap) + (commands ? `\n\n## Command lines\n\n\`\`\`\n${renderCommandLint(commands, snap)}\n\`\`\`\n` : ''));
      else print(renderAuditText(result, snap) + (commands ? `\n\n${renderCommandLint(commands, snap)}` : ''));
      const commandErrors = commands && opts.failOn && opts.failOn !== 'critical' ? commands.summary.errors : 0;
      if (opts.failOn && atOrAbove(result.findings, opts.failOn) + commandErrors > 0) process.exitCode = EXIT.findings;
    });

  const rules = withJson(program.command('rules').description('list the audit rules; `rules explain ID` for one'))
    .option('--domain <domain>', `only one domain (${RULE_DOMAINS.join(', ')})`)
    .action((raw: unknown) => {
      const opts = parseOptions(z.object({ json: z.boolean().optional(), domain: z.enum(RULE_DOMAINS).optional() }), raw);
      const list = allRules.filter((r) => !opts.domain || r.domain === opts.domain);
      if (opts.json) return printJson({ count: list.length, rules: list.map(ruleMeta) });
      print(table([['ID', 'SEVERITY', 'TITLE'], ...list.map((r) => [r.id, r.severity, r.title])]));
      print(`${list.length} rules. \`nettune rules explain ID\` shows why, risk and sources.`);
    });
  withJson(rules.command('explain').description('why a rule exists, what it risks, where the facts come from').argument('<id>')).action((id: string, raw: unknown) => {
    const opts = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    const rule = findRule(id);
    if (!rule) {
      const close = allRules.map((r) => r.id).filter((r) => r.includes(id.split('.').pop() ?? id));
      throw usageError(`unknown rule ${JSON.stringify(id)}`, close.length ? `did you mean: ${close.slice(0, 5).join(', ')}` : 'see `nettune rules`');
    }
    if (opts.json) printJson(ruleMeta(rule));
    else print(renderRule(rule));
  });
}
