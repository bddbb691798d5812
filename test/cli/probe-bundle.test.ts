// `./nettune probe` runs its own CommonJS bundle (dist/nettune-probe.cjs): it must be the same CLI
// as dist/nettune.mjs for that command: the same Snapshot, the same usage errors and help, the
// same JSON error document and exit codes.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers.js';

const CJS = join(REPO, 'dist', 'nettune-probe.cjs');
const runCjs = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [CJS, ...args], { encoding: 'utf8', env: { ...process.env, NETTUNE_NO_INSTALL: '1' }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** The Snapshot without what changes from one moment to the next. */
function stable(text: string): unknown {
  const s = JSON.parse(text) as Record<string, unknown>;
  const { taken_at: _t, duration_ms: _d, counters: _c, memory: _m, conntrack: _ct, ...rest } = s;
  const sysctl = { ...(rest.sysctl as Record<string, string>) };
  for (const k of ['fs.file-nr', 'net.netfilter.nf_conntrack_count', 'net.ipv4.tcp_mem']) delete sysctl[k];
  const links = (rest.links as Record<string, unknown>[]).map(({ statistics: _s, ethtool, ...l }) => ({ ...l, ethtool: ethtool === null ? null : { ...(ethtool as object), coalesce: null } }));
  return { ...rest, sysctl, links };
}

describe('dist/nettune-probe.cjs', () => {
  it('is built with the rest', () => {
    expect(existsSync(CJS)).toBe(true);
  });

  it('prints the Snapshot dist/nettune.mjs prints', () => {
    const cjs = runCjs(['probe', '--json']);
    const esm = runCli(['probe', '--json']);
    expect(cjs.code).toBe(0);
    expect(esm.code).toBe(0);
    expect(stable(cjs.stdout)).toEqual(stable(esm.stdout));
  });

  it('the same help, usage errors and JSON error documents', () => {
    for (const args of [['probe', '--help'], ['probe', '--bogus'], ['probe', '--netns', 'nettune-no-such-ns', '--json'], ['probe', '--out', '/nonexistent-dir/x.json', '--json']]) {
      const cjs = runCjs(args);
      const esm = runCli(args);
      expect({ args, code: cjs.code, stdout: cjs.stdout, stderr: cjs.stderr }).toEqual({ args, code: esm.code, stdout: esm.stdout, stderr: esm.stderr });
    }
  });

  it('./nettune probe runs it', () => {
    const r = spawnSync('strace', ['-f', '-qq', '-s', '400', '-e', 'trace=execve', '-e', 'signal=none', join(REPO, 'nettune'), 'probe', '--json'], { encoding: 'utf8', env: { ...process.env, NETTUNE_NO_INSTALL: '1' } });
    if (r.error) return; // no strace here: nothing to look at
    expect(r.stderr).toMatch(/execve\("[^"]*node", \["node", "[^"]*dist\/nettune-probe\.cjs", "probe", "--json"\]/);
  });
});
