// `./nettune probe` runs its own CommonJS bundle (dist/nettune-probe.cjs, which loads
// dist/nettune-probe-main.cjs with a V8 code cache): it must be the same CLI as dist/nettune.mjs
// for that command: the same Snapshot, the same usage errors and help, the same JSON error
// document and exit codes; and a code cache that does not fit the bundle is never used.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers.js';

const CJS = join(REPO, 'dist', 'nettune-probe.cjs');
const runCjs = (args: string[], loader = CJS): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [loader, ...args], { encoding: 'utf8', env: { ...process.env, NETTUNE_NO_INSTALL: '1' }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** The loader and the bundle copied to a directory of the test's own (the cache goes next to them). */
function copyProbe(withCache: boolean): { dir: string; loader: string; main: string; cache: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nettune-probe-cc-'));
  for (const f of ['nettune-probe.cjs', 'nettune-probe-main.cjs', ...(withCache ? ['nettune-probe-main.cjs.cache'] : [])]) copyFileSync(join(REPO, 'dist', f), join(dir, f));
  return { dir, loader: join(dir, 'nettune-probe.cjs'), main: join(dir, 'nettune-probe-main.cjs'), cache: join(dir, 'nettune-probe-main.cjs.cache') };
}
const identity = (path: string): string => {
  const st = statSync(path);
  return `${st.ino} ${st.mtimeMs}`;
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

  it('the build made a code cache for this bundle, and a run uses it as it is (no rewrite)', () => {
    const cache = readFileSync(join(REPO, 'dist', 'nettune-probe-main.cjs.cache'));
    const st = statSync(join(REPO, 'dist', 'nettune-probe-main.cjs'));
    expect(cache.toString('latin1', 0, cache.indexOf(10))).toBe(`nettune-probe code cache 1 ${cache.toString('latin1').split(' ')[4]} ${st.size} ${st.mtimeMs} ${process.version} ${process.arch}`);
    const p = copyProbe(true);
    try {
      // the copy has its own mtime, so the build's cache does not fit it: the first run writes one
      const before = identity(p.cache);
      expect(runCjs(['probe', '--help'], p.loader).code).toBe(0);
      const made = identity(p.cache);
      expect(made).not.toBe(before);
      const r = runCjs(['probe', '--json'], p.loader);
      expect(r.code).toBe(0);
      expect(stable(r.stdout)).toEqual(stable(runCjs(['probe', '--json']).stdout));
      expect(identity(p.cache)).toBe(made); // accepted: not written again
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  });

  it('a missing, foreign or corrupt cache: the same output, and a fresh cache', () => {
    const p = copyProbe(false);
    try {
      const help = runCjs(['probe', '--help']);
      expect(runCjs(['probe', '--help'], p.loader)).toEqual(help); // none: compiled, then written
      const good = readFileSync(p.cache);
      const nl = good.indexOf(10);
      const bad = [
        Buffer.from('not a cache\n'),
        Buffer.concat([good.subarray(0, nl + 1), Buffer.alloc(good.length - nl - 1, 0x5a)]), // the right stamp, V8 data destroyed
        good.subarray(0, nl + 1), // the stamp alone
      ];
      for (const cache of bad) {
        writeFileSync(p.cache, cache);
        expect(runCjs(['probe', '--help'], p.loader)).toEqual(help);
        expect(readFileSync(p.cache).equals(cache)).toBe(false);
        expect(readFileSync(p.cache).subarray(0, nl + 1).equals(good.subarray(0, nl + 1))).toBe(true);
      }
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  });

  it('a bundle changed after its cache was made runs its own code (same length: V8 alone would take the cache)', () => {
    const p = copyProbe(false);
    try {
      expect(runCjs(['probe', '--help'], p.loader).code).toBe(0);
      const text = readFileSync(p.main, 'utf8');
      const from = 'capture a Snapshot of the network state';
      expect(text).toContain(from);
      writeFileSync(p.main, text.replace(from, from.toUpperCase()));
      const r = runCjs(['probe', '--help'], p.loader);
      expect(r.stdout).toContain(from.toUpperCase());
      expect(r.stdout).not.toContain(from);
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  });

  it('./nettune probe runs it', () => {
    const r = spawnSync('strace', ['-f', '-qq', '-s', '400', '-e', 'trace=execve', '-e', 'signal=none', join(REPO, 'nettune'), 'probe', '--json'], { encoding: 'utf8', env: { ...process.env, NETTUNE_NO_INSTALL: '1' } });
    if (r.error) return; // no strace here: nothing to look at
    expect(r.stderr).toMatch(/execve\("[^"]*node", \["node", "[^"]*dist\/nettune-probe\.cjs", "probe", "--json"\]/);
  });
});
