// What every command shares: where its Snapshot comes from (live, --netns, --snapshot), how it
// prints (human or one JSON document), and the tools it needs.
import type { Command } from 'commander';
import { z } from 'zod';
import { probe } from '../probe/index.js';
import { checkNetns, probeInNetns } from '../probe/netns.js';
import type { Snapshot } from '../snapshot/index.js';
import { usageError } from '../sys/errors.js';
import { netnsNameFromEnv, validNetns } from '../sys/names.js';
import { ensureTools, installAllowed } from '../sys/tools.js';

export const sourceOptionsSchema = z
  .object({
    json: z.boolean().optional(),
    netns: z.string().optional(),
    snapshot: z.string().optional(),
  })
  .refine((o) => !(o.netns && o.snapshot), { message: '--netns and --snapshot cannot be used together' });

export type SourceOptions = z.infer<typeof sourceOptionsSchema>;

/** Adds --json, and --netns/--snapshot for commands that analyse a host. */
export function withSource(cmd: Command): Command {
  return cmd
    .option('--json', 'print one JSON document on stdout')
    .option('--netns <name>', 'look at this network namespace (ip netns) instead of the current one')
    .option('--snapshot <file>', 'analyse a Snapshot file (from `nettune probe --out`) instead of the live host');
}

export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON document on stdout');
}

/** The flag as the user typed it: commander's attribute `failOn` is `--fail-on`. */
export const flagName = (attribute: string): string => `--${attribute.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Validates a command's flags with zod; a failure is bad usage (exit 2). */
export function parseOptions<T extends z.ZodTypeAny>(schema: T, raw: unknown): z.infer<T> {
  const res = schema.safeParse(raw);
  if (!res.success) {
    const first = res.error.issues[0];
    const flag = first?.path.length ? `${flagName(String(first.path[0]))}: ` : '';
    throw usageError(`${flag}${first?.message ?? 'invalid options'}`);
  }
  return res.data as z.infer<T>;
}

/** Tools the live probe uses; missing ones are installed as root, otherwise reported. */
export const PROBE_TOOLS = ['ip', 'tc', 'ethtool'] as const;

export const logErr = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The Snapshot a command analyses. */
export async function getSnapshot(opts: SourceOptions): Promise<Snapshot> {
  // loaded here, not at the top: a live probe does not build the Snapshot's zod schemas
  if (opts.snapshot !== undefined) return (await import('../snapshot/index.js')).loadSnapshot(opts.snapshot);
  if (opts.netns !== undefined) {
    checkNetns(validNetns(opts.netns, '--netns'));
    await ensureTools(PROBE_TOOLS, { install: installAllowed(), log: logErr });
    return probeInNetns(opts.netns);
  }
  await ensureTools(PROBE_TOOLS, { install: installAllowed(), log: logErr });
  return probe({ netnsName: netnsNameFromEnv() });
}

export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A yes/no question on stderr, answered on stdin (callers check for a terminal first). */
export async function ask(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
