// fleet collect: one ansible-playbook run gathers, on every host, the raw text the probe reads (raw
// module only: no Python, nettune or Node needed there); each host's text becomes a Snapshot here
// through the probe's own parsers (src/probe/raw.ts). A host that is unreachable or fails is a
// result, not an error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { rawSourceCommands, snapshotFromRaw, type RawSource } from '../probe/raw.js';
import { type Snapshot } from '../snapshot/index.js';
import { onStop } from '../sys/signals.js';
import { ansibleEnv, listInventory, resultMessage, runPlaybook, type PlaybookReport, type TaskResult } from './ansible.js';

export const REACH_TASK = 'nettune: reach the host';
export const GATHER_TASK = 'nettune: gather the probe sources';

export const FLEET_SCHEMA = 'nettune.fleet/1';

export const hostStatusSchema = z.enum(['ok', 'unreachable', 'failed']);
export type HostStatus = z.infer<typeof hostStatusSchema>;

export interface FleetHost {
  /** the inventory's name for it */
  name: string;
  address: string | null;
  status: HostStatus;
  /** why it is not ok (ansible's message), or null */
  message: string | null;
  /** sources that failed there (they are also errors[] in the Snapshot) */
  sources_failed: string[];
  snapshot: Snapshot | null;
}

export interface FleetCollection {
  schema: typeof FLEET_SCHEMA;
  inventory: string;
  limit: string | null;
  taken_at: string;
  ansible: { rc: number; duration_s: number; forks: number | null };
  hosts: FleetHost[];
}

/** The playbook nettune ships (YAML; each command `!unsafe`, so Jinja never templates it). */
export function renderCollectPlaybook(commands: Readonly<Record<string, string>>): string {
  const items = Object.values(commands).map((c) => `        - !unsafe ${JSON.stringify(c)}`);
  return [
    '# nettune fleet collect: gathers the raw sources of the probe with the raw module (no Python,',
    '# nettune or Node needed on the host); nettune builds the Snapshots from this text locally.',
    '- name: nettune fleet collect',
    '  hosts: all',
    '  gather_facts: false',
    '  vars:',
    '    # stdout and stderr apart, and no CRLF from a pseudo-terminal',
    '    ansible_ssh_use_tty: false',
    '  tasks:',
    `    - name: ${JSON.stringify(REACH_TASK)}`,
    '      ansible.builtin.raw: "true"',
    '      changed_when: false',
    `    - name: ${JSON.stringify(GATHER_TASK)}`,
    '      ansible.builtin.raw: "{{ item }}"',
    '      changed_when: false',
    '      failed_when: false',
    '      loop_control:',
    '        label: "{{ item[:40] }}"',
    '      loop:',
    ...items,
    '',
  ].join('\n');
}

const hostResult = (report: PlaybookReport, task: string, host: string): TaskResult | undefined => {
  for (const play of report.plays) for (const t of play.tasks) if (t.task.name === task && t.hosts[host]) return t.hosts[host];
  return undefined;
};

/** Turns the playbook report into one FleetHost per inventory host. */
export async function hostsFromReport(
  report: PlaybookReport,
  inventory: readonly { name: string; address: string | null }[],
  commands: Readonly<Record<string, string>>,
  mark: string,
  takenAt: string,
): Promise<FleetHost[]> {
  const byCommand = new Map(Object.entries(commands).map(([name, cmd]) => [cmd, name]));
  const out: FleetHost[] = [];
  for (const h of inventory) {
    const base = { name: h.name, address: h.address, sources_failed: [] as string[], snapshot: null };
    const reach = hostResult(report, REACH_TASK, h.name);
    const stats = report.stats[h.name];
    if (!reach) {
      out.push({ ...base, status: stats?.unreachable ? 'unreachable' : 'failed', message: 'ansible did not run on this host' });
      continue;
    }
    if (reach.unreachable) {
      out.push({ ...base, status: 'unreachable', message: resultMessage(reach) || 'unreachable' });
      continue;
    }
    if (reach.failed) {
      out.push({ ...base, status: 'failed', message: resultMessage(reach) || `exit ${reach.rc ?? '?'}` });
      continue;
    }
    const gather = hostResult(report, GATHER_TASK, h.name);
    const items = gather?.results ?? [];
    if (gather?.unreachable || items.some((r) => r.unreachable)) {
      out.push({ ...base, status: 'unreachable', message: resultMessage(items.find((r) => r.unreachable) ?? gather ?? {}) || 'lost the connection while gathering' });
      continue;
    }
    const sources: Record<string, RawSource> = {};
    for (const r of items) {
      const name = typeof r.item === 'string' ? byCommand.get(r.item) : undefined;
      if (!name) continue;
      sources[name] = { rc: r.rc ?? null, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    }
    const snapshot = await snapshotFromRaw(sources, { takenAt, mark });
    const failed = Object.entries(sources)
      .filter(([, s]) => s.rc !== 0)
      .map(([n]) => n);
    out.push({ ...base, status: 'ok', message: null, sources_failed: failed, snapshot });
  }
  return out;
}

export interface CollectOptions {
  inventory: string;
  forks?: number | undefined;
  limit?: string | null | undefined;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export async function collectFleet(opts: CollectOptions): Promise<FleetCollection> {
  const env = opts.env ?? ansibleEnv();
  const limit = opts.limit ?? null;
  const inventory = await listInventory(opts.inventory, limit, env);
  // a fresh marker per run: no host's ethtool output can imitate a block boundary
  const mark = `@@nettune-${randomBytes(6).toString('hex')}@@`;
  const commands = rawSourceCommands(mark);
  const dir = mkdtempSync(join(tmpdir(), 'nettune-fleet-'));
  // Ctrl-C: the stop handler kills ansible-playbook (our descendant) and runs this
  const forget = onStop('fleet playbook directory', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const playbook = join(dir, 'collect.yml');
    writeFileSync(playbook, renderCollectPlaybook(commands), { mode: 0o600 });
    opts.log?.(`nettune: collecting from ${inventory.length} host${inventory.length === 1 ? '' : 's'} with ansible-playbook${opts.forks ? ` (--forks ${opts.forks})` : ''} …`);
    const takenAt = new Date().toISOString();
    const run = await runPlaybook(playbook, { inventory: opts.inventory, forks: opts.forks, limit, timeoutMs: opts.timeoutMs, env });
    const hosts = await hostsFromReport(run.report, inventory, commands, mark, takenAt);
    return { schema: FLEET_SCHEMA, inventory: opts.inventory, limit, taken_at: takenAt, ansible: { rc: run.rc, duration_s: run.duration_s, forks: opts.forks ?? null }, hosts };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    forget();
  }
}
