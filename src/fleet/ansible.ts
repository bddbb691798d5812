// Ansible as the fleet's engine: the inventory as ansible parses it (`ansible-inventory --list`,
// INI and YAML alike), and one playbook run whose JSON report (the `json` stdout callback) we
// read. Nothing here talks to a host itself.
import { z } from 'zod';
import { NettuneError, EXIT, environmentError, usageError } from '../sys/errors.js';
import { run, type RunResult } from '../sys/run.js';
import { requireTool } from '../sys/tools.js';

/** The environment every ansible command of ours runs with: the caller's (their ansible.cfg, ssh
 *  config, ANSIBLE_* settings), plus machine-readable output and a bad inventory as an error. */
export function ansibleEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    ANSIBLE_STDOUT_CALLBACK: 'json',
    ANSIBLE_INVENTORY_UNPARSED_FAILED: 'True',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
  };
}

const firstLines = (s: string, n = 3): string =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, n)
    .join(' / ');

export interface InventoryHost {
  name: string;
  /** ansible_host when the inventory sets one */
  address: string | null;
}

const inventorySchema = z
  .object({ _meta: z.object({ hostvars: z.record(z.string(), z.record(z.string(), z.unknown())) }).partial().optional() })
  .catchall(z.unknown());

/** Every host of the inventory, as ansible itself reads it; with `limit`, the hosts that
 *  `--limit` selects (ansible's own pattern matching, via `ansible --list-hosts`). */
export async function listInventory(inventory: string, limit: string | null, env: NodeJS.ProcessEnv = ansibleEnv()): Promise<InventoryHost[]> {
  const tool = requireTool('ansible-inventory');
  const res = await run(tool, ['-i', inventory, '--list'], { env, timeoutMs: 60_000 });
  if (!res.ok) throw usageError(`--inventory ${inventory}: ansible cannot read it: ${firstLines(res.stderr) || res.error || 'failed'}`, 'check it with: ansible-inventory -i INV --list');
  let doc: unknown;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    throw environmentError(`ansible-inventory -i ${inventory} --list: output is not JSON`);
  }
  const parsed = inventorySchema.safeParse(doc);
  if (!parsed.success) throw environmentError(`ansible-inventory -i ${inventory} --list: unexpected output`);
  const hostvars = parsed.data._meta?.hostvars ?? {};
  const names = new Set<string>(Object.keys(hostvars));
  // hosts without variables appear only in their groups' "hosts" lists
  for (const [group, value] of Object.entries(parsed.data)) {
    if (group === '_meta' || typeof value !== 'object' || value === null) continue;
    const hosts = (value as { hosts?: unknown }).hosts;
    if (Array.isArray(hosts)) for (const h of hosts) if (typeof h === 'string') names.add(h);
  }
  let selected = [...names];
  if (limit !== null) {
    const ansible = requireTool('ansible');
    const l = await run(ansible, ['all', '-i', inventory, '--list-hosts', '--limit', limit], { env, timeoutMs: 60_000 });
    if (!l.ok) throw usageError(`--limit ${limit}: ${firstLines(l.stderr) || l.error || 'ansible refused it'}`);
    const listed = new Set(
      l.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s && !/^hosts \(\d+\):$/.test(s)),
    );
    selected = selected.filter((h) => listed.has(h));
  }
  if (!selected.length) throw usageError(`--inventory ${inventory}${limit !== null ? ` --limit ${limit}` : ''}: no hosts`, 'list them with: ansible-inventory -i INV --graph');
  return selected.sort().map((name) => {
    const h = hostvars[name]?.ansible_host;
    return { name, address: typeof h === 'string' ? h : null };
  });
}

/** One task result as the json callback writes it (a loop's items in `results`). */
const taskResultSchema = z
  .object({
    rc: z.number().nullable().optional(),
    stdout: z.string().optional(),
    stderr: z.string().optional(),
    msg: z.unknown().optional(),
    unreachable: z.boolean().optional(),
    failed: z.boolean().optional(),
    skipped: z.boolean().optional(),
    changed: z.boolean().optional(),
    item: z.unknown().optional(),
  })
  .passthrough();
export type TaskResult = z.infer<typeof taskResultSchema> & { results?: TaskResult[] };

const playbookReportSchema = z.object({
  plays: z.array(
    z.object({
      tasks: z.array(
        z.object({
          task: z.object({ name: z.string() }).passthrough(),
          hosts: z.record(z.string(), taskResultSchema.extend({ results: z.array(taskResultSchema).optional() })),
        }),
      ),
    }),
  ),
  stats: z.record(
    z.string(),
    z.object({ ok: z.number(), changed: z.number(), unreachable: z.number(), failures: z.number(), skipped: z.number() }).passthrough(),
  ),
});
export type PlaybookReport = z.infer<typeof playbookReportSchema>;

export interface PlaybookRun {
  report: PlaybookReport;
  rc: number;
  duration_s: number;
  stderr: string;
}

export interface PlaybookOptions {
  inventory: string;
  forks?: number | undefined;
  limit?: string | null | undefined;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  extraArgs?: readonly string[];
}

/** Runs ansible-playbook and returns its JSON report. Exit 0, 2 (a host failed) and 4 (a host was
 *  unreachable) are results; anything else is the environment's problem (exit 3). */
export async function runPlaybook(playbook: string, opts: PlaybookOptions): Promise<PlaybookRun> {
  const tool = requireTool('ansible-playbook');
  const args = ['-i', opts.inventory, ...(opts.forks !== undefined ? ['--forks', String(opts.forks)] : []), ...(opts.limit ? ['--limit', opts.limit] : []), ...(opts.extraArgs ?? []), playbook];
  const started = performance.now();
  const res: RunResult = await run(tool, args, { env: opts.env ?? ansibleEnv(), timeoutMs: opts.timeoutMs });
  const duration_s = Math.round((performance.now() - started) / 100) / 10;
  if (res.code === null && !res.ok) throw new NettuneError(`ansible-playbook: ${res.error ?? 'failed'}`, EXIT.environment, 'a slow fleet needs a longer --timeout, or more --forks');
  const rc = res.code ?? 0;
  let doc: unknown;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    throw environmentError(`ansible-playbook exited ${rc} without a JSON report: ${firstLines(res.stderr) || firstLines(res.stdout) || 'no output'}`);
  }
  const parsed = playbookReportSchema.safeParse(doc);
  if (!parsed.success || ![0, 2, 4].includes(rc)) throw environmentError(`ansible-playbook exited ${rc}: ${firstLines(res.stderr) || 'unexpected report'}`);
  return { report: parsed.data, rc, duration_s, stderr: res.stderr };
}

/** A task result's message in one line (ansible's msg may be a string or a structure). */
export const resultMessage = (r: TaskResult): string => {
  const msg = typeof r.msg === 'string' ? r.msg : r.msg === undefined ? '' : JSON.stringify(r.msg);
  return (msg || r.stderr || '').trim().split('\n')[0] ?? '';
};
