// Test-only fault injection (documented in docs/architecture.md, "Fault injection"). With
// NETTUNE_FAULT unset — always, outside the test suite — fault() is a no-op.
//
//   NETTUNE_FAULT=POINT[@N]=ACTION[,POINT[@N]=ACTION…]
//
// POINT is one of the names passed to fault() (after-lock, after-begin, after-write,
// persist-rename, journal-commit, rollback-step, …); @N fires on the N-th time that point is
// reached in this process (default: the first). ACTION: `kill` (SIGKILL this process, as a crash
// or power cut would), `error` (throw, as an I/O failure would), `enospc` (throw an ENOSPC error).
const counts = new Map<string, number>();

export function fault(point: string): void {
  const spec = process.env.NETTUNE_FAULT;
  if (!spec) return;
  const n = (counts.get(point) ?? 0) + 1;
  counts.set(point, n);
  for (const item of spec.split(',')) {
    const m = /^([a-z-]+)(?:@(\d+))?=(kill|error|enospc)$/.exec(item.trim());
    if (!m || m[1] !== point || Number(m[2] ?? 1) !== n) continue;
    if (m[3] === 'kill') process.kill(process.pid, 'SIGKILL');
    const err = new Error(m[3] === 'enospc' ? `ENOSPC: no space left on device (injected at ${point})` : `injected fault at ${point}`) as NodeJS.ErrnoException;
    if (m[3] === 'enospc') err.code = 'ENOSPC';
    throw err;
  }
}
