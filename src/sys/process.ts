// Small process helpers shared by apply (lock owners), the lab (delay lines) and the benchmarks.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Is `pid` alive? EPERM means it exists but belongs to someone else. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
