// `nettune lab up|down|list|status`: the namespaces-and-emulated-links lab.
import type { Command } from 'commander';
import { z } from 'zod';
import { labDown, labStatus, labUp, listLabs, TOPOLOGIES, validLabName, type LabState } from '../lab/lab.js';
import { formatMs, parseDuration, parsePercent, parseRate, formatRate } from '../units/index.js';
import { usageError } from '../sys/errors.js';
import { installStopHandlers, onStop } from '../sys/signals.js';
import { ensureTools, installAllowed } from '../sys/tools.js';
import { logErr, parseOptions, print, printJson, withJson } from './common.js';
import { table } from './format.js';

const upOptions = z.object({
  json: z.boolean().optional(),
  rate: z.string().optional(),
  rtt: z.string().optional(),
  jitter: z.string().optional(),
  loss: z.string().optional(),
  topology: z.enum(TOPOLOGIES).default('pair'),
});

export function linkFromFlags(o: { rate?: string | undefined; rtt?: string | undefined; jitter?: string | undefined; loss?: string | undefined }) {
  const rtt = o.rtt ? parseDuration(o.rtt, '--rtt') : 0;
  const jitter = o.jitter ? parseDuration(o.jitter, '--jitter') : 0;
  if (rtt > 10) throw usageError(`--rtt ${o.rtt}: at most 10 s`);
  if (jitter > rtt / 2 && jitter > 0) throw usageError(`--jitter ${o.jitter}: at most half of the one-way delay budget (rtt/2)`);
  return { rate_bps: o.rate ? parseRate(o.rate, '--rate') : null, rtt_s: rtt, jitter_s: jitter, loss_pct: o.loss ? parsePercent(o.loss, '--loss') : 0 };
}

export const describeLink = (s: LabState): string =>
  `${s.link.rate_bps ? formatRate(s.link.rate_bps) : 'unlimited'}, RTT ${formatMs(s.link.rtt_s)}${s.link.jitter_s ? ` ± ${formatMs(s.link.jitter_s)}` : ''}${s.link.loss_pct ? `, loss ${s.link.loss_pct} %` : ''} (${s.emulator === 'none' ? 'veth' : s.emulator})`;

export function registerLab(program: Command): void {
  const lab = program.command('lab').description('network-namespace lab with emulated links (198.18.0.0/15)');
  withJson(lab.command('up').description('create (or re-create) a lab: nt-NAME-client, nt-NAME-server [, nt-NAME-router]').argument('<name>'))
    .option('--rate <rate>', 'link rate, tc units (1gbit)')
    .option('--rtt <dur>', 'round-trip time added by the link (100ms)')
    .option('--jitter <dur>', 'delay variation per direction (1ms)')
    .option('--loss <pct>', 'packet loss per direction, percent (0.5%)')
    .option('--topology <t>', 'pair | router | multipath (default pair)')
    .action(async (name: string, raw: unknown) => {
      const opts = parseOptions(upOptions, raw);
      validLabName(name);
      const link = linkFromFlags(opts);
      await ensureTools(['ip', 'tc', 'ping'], { install: installAllowed(), log: logErr });
      logErr(`nettune: building lab ${name} (${opts.topology}) …`);
      // Ctrl-C / SIGTERM while it builds: remove the half-built lab (src/sys/signals.ts).
      installStopHandlers({ json: Boolean(opts.json), log: logErr });
      const dropCleanup = onStop(`lab down ${name}`, () => labDown(name, logErr));
      const s = await labUp({ name, topology: opts.topology, link, log: logErr });
      dropCleanup();
      if (opts.json) return printJson(s);
      print(`Lab ${name} is up: ${[s.namespaces.client, s.namespaces.router, s.namespaces.server].filter(Boolean).join(' ↔ ')}`);
      print(`  link: ${describeLink(s)}`);
      print(`  client ${s.client_addrs.join(', ')} → server ${s.server_addrs.join(', ')}`);
      print(`  try: ip netns exec ${s.namespaces.client} ping ${s.server_addrs[0] ?? ''} · nettune lab status ${name} · nettune lab down ${name}`);
    });
  withJson(lab.command('down').description('remove a lab: processes, delay lines, namespaces, state').argument('<name>')).action(async (name: string, raw: unknown) => {
    const opts = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    const r = await labDown(name, logErr);
    if (opts.json) printJson(r);
    else print(r.removed.length ? `Removed ${r.removed.join(', ')}.` : `Nothing of lab ${name} was left.`);
  });
  withJson(lab.command('list').description('labs with state files or left-over namespaces')).action((raw: unknown) => {
    const opts = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    const labs = listLabs();
    if (opts.json) return printJson({ labs });
    if (!labs.length) return print('No labs.');
    print(table([['NAME', 'TOPOLOGY', 'LINK', 'NAMESPACES'], ...labs.map((l) => [l.name, l.state?.topology ?? '(no state: crashed?)', l.state ? describeLink(l.state) : '-', l.namespaces.join(' ') || '-'])]));
  });
  withJson(lab.command('status').description('measured RTT and current rate of a lab').argument('<name>')).action(async (name: string, raw: unknown) => {
    const opts = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    const s = await labStatus(name);
    if (!s.state && s.namespaces.length === 0) throw usageError(`no lab ${name}`, 'see: nettune lab list');
    if (opts.json) return printJson(s);
    if (!s.state) return print(`Lab ${name}: no state file, but namespaces ${s.namespaces.join(' ')} exist (run nettune lab down ${name})`);
    print(`Lab ${name} (${s.state.topology}): ${describeLink(s.state)}`);
    print(`  namespaces: ${s.namespaces.join(' ')}${s.delaylines_alive.length ? ` · delay lines: ${s.delaylines_alive.map((a) => (a ? 'running' : 'DEAD')).join(', ')}` : ''}`);
    if (s.ping) print(`  ping ${s.state.server_addrs[0]}: ${s.ping.received}/${s.ping.sent} replies, RTT min/avg/max ${s.ping.rtt_min_ms ?? '?'}/${s.ping.rtt_avg_ms ?? '?'}/${s.ping.rtt_max_ms ?? '?'} ms (requested ${formatMs(s.state.link.rtt_s)})`);
    if (s.rate_now_bps !== null) print(`  traffic now: ${formatRate(s.rate_now_bps)}`);
    for (const l of s.loss ?? []) {
      const share = l.share === null ? 'no segments yet' : `${(l.share * 100).toFixed(3)} % of ${l.segments} segments lost`;
      const burst = l.mean_burst_segments === null ? '' : `, mean burst ${l.mean_burst_segments.toFixed(2)} segments (${l.bursts} bursts)`;
      print(`  loss measured, link ${l.link} ${l.direction.replace(/_/g, ' ')}: ${share}${burst} (requested ${(l.requested_share * 100).toFixed(3)} %)`);
    }
  });
}
