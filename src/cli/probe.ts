// `nettune probe`: capture one Snapshot of the host (or a namespace) to stdout or a file.
import type { Command } from 'commander';
import { z } from 'zod';
import type { Snapshot } from '../snapshot/index.js';
import { checkOutputPath, writeOutputFile } from '../sys/fs.js';
import { getSnapshot, parseOptions, print, printJson, withJson } from './common.js';
import { plural, table } from './format.js';

const probeOptions = z.object({
  json: z.boolean().optional(),
  netns: z.string().optional(),
  out: z.string().min(1).optional(),
});

export function renderProbe(snap: Snapshot, out?: string): string {
  const c = snap.counters;
  const groups = (g: Record<string, Record<string, number>>): number => Object.values(g).reduce((n, x) => n + Object.keys(x).length, 0);
  const lines = [
    `Snapshot of ${snap.hostname} (kernel ${snap.kernel.release}, netns ${snap.netns.name ?? (snap.netns.init === false ? `inode ${snap.netns.inode}` : 'init')}) in ${snap.duration_ms} ms${out ? ` → ${out}` : ''}`,
    table([
      ['sysctl', `${Object.keys(snap.sysctl).length} keys`],
      ['counters', `snmp ${groups(c.snmp)}, snmp6 ${groups(c.snmp6)}, netstat ${groups(c.netstat)}, sockstat ${groups(c.sockstat)}+${groups(c.sockstat6)}, softnet ${plural(c.softnet.length, 'CPU')}`],
      ['conntrack', snap.conntrack ? `${snap.conntrack.count ?? '?'} / ${snap.conntrack.max ?? '?'} (${snap.conntrack.stats.length} CPU stat rows)` : 'not loaded'],
      ['links', snap.links.map((l) => `${l.name}${l.ethtool ? '' : '*'}`).join(' ') + (snap.links.some((l) => !l.ethtool) ? '   (* no ethtool data)' : '')],
      ['routes', `${snap.routes.length} (all tables), ${plural(snap.rules.length, 'rule')}`],
      ['mptcp', `${plural(snap.mptcp.endpoints.length, 'endpoint')}${snap.mptcp.limits ? `, limits ${JSON.stringify(snap.mptcp.limits)}` : ''}`],
      ['errors', String(snap.errors.length)],
    ]),
  ];
  for (const e of snap.errors) lines.push(`  ${e.section}: ${e.source}: ${e.message}`);
  if (!out) lines.push('', 'Use --json for the full Snapshot, or --out FILE to save it for --snapshot.');
  return lines.join('\n');
}

export function registerProbe(program: Command): void {
  withJson(program.command('probe').description('capture a Snapshot of the network state (sysctls, counters, links, routes, …)'))
    .option('--netns <name>', 'probe inside this network namespace (ip netns)')
    .option('--out <file>', 'write the Snapshot JSON to FILE (atomically)')
    .action(async (raw: unknown) => {
      const opts = parseOptions(probeOptions, raw);
      if (opts.out !== undefined) checkOutputPath(opts.out, `--out ${opts.out}`); // before probing
      const snap = await getSnapshot(opts);
      if (opts.out !== undefined) {
        const path = writeOutputFile(opts.out, `${JSON.stringify(snap, null, 1)}\n`, { label: `--out ${opts.out}` }).path;
        if (opts.json) printJson({ written: path, taken_at: snap.taken_at, errors: snap.errors.length });
        else print(renderProbe(snap, path));
        return;
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(snap)}\n`);
      else print(renderProbe(snap));
    });
}
