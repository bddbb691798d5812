// The probe's ip and tc commands, with as few processes as iproute2 allows: `ip -batch` runs
// several commands in one process (each prints its own JSON document, one after the other),
// but a batch line cannot take a family option, so routes and rules of each family are one batch
// with -4 or -6 on the whole run (mptcp ignores the family). A batch whose output does not split
// into one document per command, or in which a command failed, is run again command by command,
// so each error is recorded against its own command exactly as without batching.
import type { ProbeError } from '../snapshot/schema.js';
import { run, type RunOptions, type RunResult } from '../sys/run.js';
import { parseJsonRows, type SnapshotParts } from './assemble.js';

type Tool = readonly [string, string | null];

/** How a command runs: run() itself, or a batch's runner with its shape (src/probe/batch.ts). */
export type Exec = (file: string, args: readonly string[], opts?: Pick<RunOptions, 'timeoutMs' | 'input'>) => Promise<RunResult>;

/** Runs `ip -j …` / `tc -j …` and returns the parsed array, or records why not. */
export async function jsonCommand(
  [name, tool]: Tool,
  args: string[],
  section: string,
  errors: ProbeError[],
  textFallback?: (text: string) => unknown[] | null,
  exec: Exec = run,
): Promise<unknown[]> {
  if (!tool) {
    errors.push({ section, source: `${name} ${args.join(' ')}`, message: `${name}: not installed` });
    return [];
  }
  const res = await exec(tool, args, { timeoutMs: 10_000 });
  const source = `${tool} ${args.join(' ')}`;
  if (!res.ok) {
    errors.push({ section, source, message: res.error ?? 'failed' });
    return [];
  }
  return parseJsonRows(res.stdout, source, section, errors, textFallback);
}

/** "key 1 key 2" → [{ key: 1, … }] (numbers where numeric); null when it is not such text. */
export function parseWordPairs(text: string): unknown[] | null {
  const words = text.trim().split(/\s+/);
  if (words.length < 2 || words.length % 2 !== 0) return null;
  const out: Record<string, string | number> = {};
  for (let i = 0; i < words.length; i += 2) {
    const k = words[i] ?? '';
    const v = words[i + 1] ?? '';
    if (!/^[a-z_]+$/.test(k)) return null;
    out[k] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return [out];
}

/** Splits concatenated output into `count` leading JSON documents (top-level [..] or {..}) and
 *  the text after them; null when it does not start with that many. */
export function splitDocuments(text: string, count: number): { docs: string[]; rest: string } | null {
  const docs: string[] = [];
  let i = 0;
  while (docs.length < count) {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
    const open = text[i];
    if (open !== '[' && open !== '{') return null;
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < text.length; j++) {
      const c = text[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') {
        depth--;
        if (depth === 0) break;
      }
    }
    if (depth !== 0) return null;
    docs.push(text.slice(i, j + 1));
    i = j + 1;
  }
  return { docs, rest: text.slice(i) };
}

interface BatchCommand {
  /** The command line as `ip` takes it without the batch (for fallback and error sources). */
  args: string[];
  section: string;
  textFallback?: (text: string) => unknown[] | null;
}

/** One `ip <global> -j -batch -` for `commands` (all but the last must print JSON), or each on
 *  its own when the batch cannot be trusted. */
async function ipBatch(ip: Tool, global: string[], commands: BatchCommand[], errors: ProbeError[], exec: Exec): Promise<unknown[][]> {
  const one = (): Promise<unknown[][]> => Promise.all(commands.map((c) => jsonCommand(ip, c.args, c.section, errors, c.textFallback, exec)));
  const tool = ip[1];
  if (!tool) return one();
  // The batch lines: each command without its global options (-j and the family go on the run).
  const lines = commands.map((c) => c.args.filter((a) => !['-j', ...global].includes(a)).join(' '));
  const res = await exec(tool, [...global, '-j', '-batch', '-'], { timeoutMs: 10_000, input: `${lines.join('\n')}\n` });
  const split = res.ok && res.stderr.trim() === '' ? splitDocuments(res.stdout, commands.length - 1) : null;
  if (!split) return one();
  const texts = [...split.docs, split.rest];
  return commands.map((c, k) => parseJsonRows(texts[k] ?? '', `${tool} ${c.args.join(' ')}`, c.section, errors, c.textFallback));
}

/** What the commands give: the raw `ip -d addr` and `tc qdisc` rows for the links, and the
 *  Snapshot parts routes, rules and MPTCP. */
export type IpTcOutputs = { ipAddr: unknown[]; qdiscs: unknown[] } & Pick<SnapshotParts, 'routes4' | 'routes6' | 'rules4' | 'rules6' | 'mptcpEndpoints' | 'mptcpLimits'>;

/** Starts the ip and tc commands (through `exec`, a batch's runner in the probe). */
export function startIpTc(ip: Tool, tc: Tool, errors: ProbeError[], exec: Exec = run): Promise<IpTcOutputs> {
  const ipAddr = jsonCommand(ip, ['-j', '-d', 'addr', 'show'], 'links', errors, undefined, exec);
  const qdiscs = jsonCommand(tc, ['-j', 'qdisc', 'show'], 'links.qdisc', errors, undefined, exec);
  const v4 = ipBatch(
    ip,
    ['-4'],
    [
      { args: ['-j', '-4', 'route', 'show', 'table', 'all'], section: 'routes' },
      { args: ['-j', '-4', 'rule', 'show'], section: 'rules' },
      { args: ['-j', 'mptcp', 'endpoint', 'show'], section: 'mptcp' },
      // iproute2 6.1 prints limits as text even with -j: "add_addr_accepted 0 subflows 2".
      { args: ['-j', 'mptcp', 'limits', 'show'], section: 'mptcp', textFallback: parseWordPairs },
    ],
    errors,
    exec,
  );
  const v6 = ipBatch(
    ip,
    ['-6'],
    [
      { args: ['-j', '-6', 'route', 'show', 'table', 'all'], section: 'routes' },
      { args: ['-j', '-6', 'rule', 'show'], section: 'rules' },
    ],
    errors,
    exec,
  );
  return Promise.all([ipAddr, qdiscs, v4, v6]).then(([a, q, [routes4, rules4, mptcpEndpoints, mptcpLimits], [routes6, rules6]]) => ({
    ipAddr: a,
    qdiscs: q,
    routes4: routes4 ?? [],
    routes6: routes6 ?? [],
    rules4: rules4 ?? [],
    rules6: rules6 ?? [],
    mptcpEndpoints: mptcpEndpoints ?? [],
    mptcpLimits: mptcpLimits ?? [],
  }));
}
