// Many short commands for the price of one Node spawn. Node's child_process blocks its thread for
// each spawn until the child has exec'd (libuv forks the whole Node process and waits on a pipe
// for the exec): about 2 ms each on a small VM, so the probe's dozen ip/tc/ethtool runs cost
// ~25 ms of the thread that also reads /proc. Here one /bin/sh, started once through run(),
// forks them (a small process forks cheaply), all at once; each command's stdout, stderr and exit
// status go to its own files in a private temporary directory, so every result is what run()
// would have returned, field for field. Nothing is interpolated into the shell: the script is a
// constant and each command arrives as one positional parameter, split at newlines only (an
// argument holding a newline, or an empty one, is run with run() instead). timeout(1) bounds the
// whole batch and, running it in its own process group, kills every command still running then.
// If the batch itself cannot run (no /bin/sh, no timeout, no temporary directory), each command
// runs with run() as before.
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rm, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { run, type RunOptions, type RunResult } from '../sys/run.js';

/** A command as run() takes it (only the options the probe uses). */
export interface BatchJob {
  file: string;
  args: readonly string[];
  opts?: Pick<RunOptions, 'timeoutMs' | 'input'>;
}

/** The batch's shell: $1 is the directory, then one parameter per command (file and arguments
 *  separated by newlines). Command N reads N.in or /dev/null and writes N.out, N.err and N.rc;
 *  the redirections are made in the child, so what the shell itself says (a child's
 *  "Terminated") goes to /dev/null, not into N.err. */
const SCRIPT = `d=$1; shift; n=0; nl='
'
for c in "$@"; do
  IFS=$nl; set -f; set -- $c; set +f; unset IFS
  i=/dev/null; [ -e "$d/$n.in" ] && i=$d/$n.in
  { (exec <"$i" >"$d/$n.out" 2>"$d/$n.err"; exec "$@"); echo $? >"$d/$n.rc"; } 2>/dev/null &
  n=$((n+1))
done
wait`;

const DEFAULT_TIMEOUT_MS = 10_000;

/** Where the batch's files go: /dev/shm (tmpfs: no journal for ~40 small files that live for
 *  milliseconds) when we may write there and TMPDIR does not say otherwise, else os.tmpdir(). */
function scratch(): string {
  if (process.env.TMPDIR === undefined) {
    try {
      accessSync('/dev/shm', constants.W_OK | constants.X_OK);
      return '/dev/shm';
    } catch {
      // no /dev/shm here
    }
  }
  return tmpdir();
}
const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';
const batchable = (j: BatchJob): boolean => [j.file, ...j.args].every((a) => a !== '' && !a.includes('\n'));

/** The RunResult run() gives for a command that exited with `code` (src/sys/run.ts). */
function resultOf(job: BatchJob, code: number, stdout: string, stderr: string): RunResult {
  if (code === 0) return { ok: true, code: 0, stdout, stderr };
  if (code === 127 && !existsSync(job.file)) return { ok: false, code: null, stdout: '', stderr: '', error: `${job.file}: not installed` };
  // killed by a signal: execFile's message, as run() passes it on
  if (code > 128) return { ok: false, code: null, stdout, stderr, error: `${job.file}: Command failed: ${[job.file, ...job.args].join(' ')}\n${stderr}` };
  return { ok: false, code, stdout, stderr, error: `${job.file} ${job.args.join(' ')}: exit ${code}${stderr.trim() ? `: ${firstLine(stderr)}` : ''}` };
}

/** Runs `jobs` together; results in the same order. */
export async function runBatch(jobs: readonly BatchJob[]): Promise<RunResult[]> {
  const alone = jobs.map((j) => !batchable(j));
  const inBatch = jobs.filter((_, k) => !alone[k]);
  if (inBatch.length < 2) return Promise.all(jobs.map((j) => run(j.file, j.args, j.opts)));
  let dir: string;
  try {
    dir = mkdtempSync(`${scratch()}/nettune-batch-`);
  } catch {
    return Promise.all(jobs.map((j) => run(j.file, j.args, j.opts)));
  }
  try {
    inBatch.forEach((j, n) => {
      if (j.opts?.input !== undefined) writeFileSync(`${dir}/${n}.in`, j.opts.input);
    });
    const timeoutMs = Math.max(...inBatch.map((j) => j.opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS));
    const params = inBatch.map((j) => [j.file, ...j.args].join('\n'));
    const others = Promise.all(jobs.map((j, k) => (alone[k] ? run(j.file, j.args, j.opts) : Promise.resolve(null))));
    await run('timeout', ['-s', 'KILL', `${timeoutMs / 1000}`, '/bin/sh', '-c', SCRIPT, 'sh', dir, ...params], { timeoutMs: timeoutMs + 2000 });
    const read = (n: number, ext: string): string | null => {
      try {
        return readFileSync(`${dir}/${n}.${ext}`, 'utf8');
      } catch {
        return null;
      }
    };
    const outs = inBatch.map((_, n) => ({ rc: read(n, 'rc'), stdout: read(n, 'out'), stderr: read(n, 'err') }));
    // Nothing started (no /bin/sh or timeout(1)): every command runs with run() instead.
    const started = outs.some((o) => o.stdout !== null);
    const results = inBatch.map((j, n): RunResult | null => {
      const o = outs[n] ?? { rc: null, stdout: null, stderr: null };
      if (!started) return null;
      if (o.rc !== null && /^\d+\n$/.test(o.rc)) return resultOf(j, Number(o.rc), o.stdout ?? '', o.stderr ?? '');
      return { ok: false, code: null, stdout: o.stdout ?? '', stderr: o.stderr ?? '', error: `${j.file}: timed out after ${j.opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` };
    });
    const byJob = await others;
    let n = 0;
    return await Promise.all(
      jobs.map((j, k): Promise<RunResult> => {
        if (alone[k]) return Promise.resolve(byJob[k] as RunResult);
        return Promise.resolve(results[n++] ?? run(j.file, j.args, j.opts));
      }),
    );
  } finally {
    removeScratch(dir);
  }
}

/** The batch's directory holds only the flat files the script wrote (N.in, N.out, N.err, N.rc):
 *  one readdir and an unlink each, here, cost less of this thread than fs.rm's recursive walk
 *  (it loads Node's rimraf module and returns through the event loop once per file). Anything
 *  that is not such a file (it cannot be, unless someone else wrote there) goes to fs.rm. */
function removeScratch(dir: string): void {
  try {
    for (const name of readdirSync(dir)) unlinkSync(`${dir}/${name}`);
    rmdirSync(dir);
  } catch {
    rm(dir, { recursive: true, force: true }, () => undefined);
  }
}

/** Collects the commands asked for in one turn of the event loop and runs them as one batch: a
 *  runner with run()'s shape, for code that starts its commands one by one (probeEthtool). */
export function batchRunner(): { run: (file: string, args: readonly string[], opts?: BatchJob['opts']) => Promise<RunResult>; flush: () => void } {
  let pending: { job: BatchJob; resolve: (r: RunResult) => void }[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const now = pending;
    pending = [];
    if (now.length === 0) return;
    void runBatch(now.map((p) => p.job)).then((rs) => now.forEach((p, k) => p.resolve(rs[k] as RunResult)));
  };
  return {
    run: (file, args, opts) =>
      new Promise((resolve) => {
        pending.push({ job: { file, args, ...(opts ? { opts } : {}) }, resolve });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }),
    flush,
  };
}
