// Reads the TCP sockets of this host or of a named namespace with `ss -tinmOn` (tcp_info and
// skmem, one line per socket, numeric ports). The probe is the only stage that runs ss: the
// monitor classifies what this returns. A filter in ss's own language is handed to ss as
// separate arguments (never a shell), so shell metacharacters in it reach ss literally, and after
// `--`, so a word like "-K" (ss's kill-sockets option) is filter text, never an option.
import { environmentError, usageError } from '../sys/errors.js';
import { validNetns } from '../sys/names.js';
import { run } from '../sys/run.js';
import { which } from '../sys/tools.js';
import { parseSs, SS_STATE_NAMES, type SsOutput } from './parse-ss.js';

export interface SocketRead extends SsOutput {
  /** performance.now() (ms) in the middle of the ss run: for the exact elapsed time between reads. */
  at_ms: number;
  taken_at: string;
  /** The command as run, for the record. */
  command: string[];
  problems: string[];
}

/** The ss filter words: the expression split at white space, as a shell would hand them to ss
 *  (ss joins its arguments back into one expression). Quotes and metacharacters stay literal. */
export const filterWords = (filter: string | undefined): string[] => (filter ?? '').split(/\s+/).filter(Boolean);

/** The one state a filter selects ("state established"), for ss's output without a State column. */
function impliedState(words: string[]): string | null {
  const named = words.flatMap((w, i) => (w === 'state' || w === 'exclude' ? [words[i + 1] ?? ''] : []));
  return named.length === 1 && words.includes('state') ? (SS_STATE_NAMES[named[0] ?? ''] ?? null) : null;
}

export const SS_FLAGS = ['-t', '-i', '-n', '-m', '-O'] as const;

export async function readSockets(o: { netns?: string | null; filter?: string } = {}): Promise<SocketRead> {
  const ss = which('ss');
  if (!ss) throw environmentError('ss (iproute2) is not installed; it is needed for sockets', 'apt-get install iproute2');
  const args = [...(o.netns ? ['-N', validNetns(o.netns, '--netns')] : []), ...SS_FLAGS, ...(o.filter !== undefined ? ['--', ...filterWords(o.filter)] : [])];
  const t0 = performance.now();
  const takenAt = new Date().toISOString();
  const res = await run(ss, args, { timeoutMs: 15_000 });
  const at = (t0 + performance.now()) / 2;
  if (!res.ok) {
    const said = res.stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
    // ss exits 1 with its parser's message ("Error: an inet prefix is expected rather than …").
    if (o.filter !== undefined && res.code !== null) throw usageError(`--filter ${JSON.stringify(o.filter)}: ss refused it: ${said || res.error}`, 'the ss filter language: man 8 ss (e.g. "dport = :443", "dst 198.18.0.2", "state established")');
    throw environmentError(`ss failed: ${said || res.error}`);
  }
  const parsed = parseSs(res.stdout, { state: impliedState(filterWords(o.filter)) });
  return { ...parsed.data, at_ms: at, taken_at: takenAt, command: ['ss', ...args], problems: parsed.problems };
}
