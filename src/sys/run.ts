// The one way nettune runs external commands: an argument array (never a shell string),
// a timeout, and a result that says what happened instead of throwing.
import { execFile } from 'node:child_process';

export interface RunResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it failed, in words: "not installed", "timed out after 5000 ms", "exit 1: <stderr>". */
  error?: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
  maxBuffer?: number;
  cwd?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout, killSignal: 'SIGKILL', maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024, env: opts.env ?? process.env, encoding: 'utf8', ...(opts.cwd ? { cwd: opts.cwd } : {}) },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, code: 0, stdout, stderr });
        const e = err as Error & { code?: unknown; killed?: boolean; signal?: string | null };
        let error: string;
        let code: number | null = null;
        if (e.code === 'ENOENT') error = `${file}: not installed`;
        else if (e.killed || e.signal === 'SIGKILL') error = `${file}: timed out after ${timeout} ms`;
        else if (typeof e.code === 'number') {
          code = e.code;
          error = `${file} ${args.join(' ')}: exit ${code}${stderr.trim() ? `: ${firstLine(stderr)}` : ''}`;
        } else error = `${file}: ${e.message}`;
        resolve({ ok: false, code, stdout, stderr, error });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';
