// dist/nettune-probe.cjs, what ./nettune runs for `probe`: loads the probe's bundle
// (dist/nettune-probe-main.cjs, src/cli/entry-probe.ts) with a V8 code cache, so a one-shot probe
// does not compile the bundle (commander, zod, the probe) again on every run: ~5 ms of the
// ~35 ms a run spends before its first probe line (bench/probe). Node 20 has no
// module.enableCompileCache; vm.Script's cachedData is V8's own cache for one script.
//
// The cache (dist/nettune-probe-main.cjs.cache) is one stamp line and V8's data. The stamp names
// the bundle's content hash (baked in here by scripts/build.mjs, which builds both), its size
// and mtime, and the Node version and architecture; V8 checks its own version, flags and the
// source length again. A cache that is missing, has another stamp or that V8 rejects is not
// used: the bundle compiles as it would without one, and this run writes a fresh cache
// (atomically) when it ends, so the build (which runs `probe --help` once) or the first run after
// a Node upgrade makes it. A cache that cannot be written (a read-only tree) is skipped silently.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { writeFileAtomic } from '../sys/fs.js';

declare const __NETTUNE_PROBE_MAIN_HASH__: string;

/** The stamp line a cache for this bundle starts with. */
function cacheStamp(hash: string, size: number, mtimeMs: number): string {
  return `nettune-probe code cache 1 ${hash} ${size} ${mtimeMs} ${process.version} ${process.arch}\n`;
}

/** V8's data from a cache file whose stamp is `stamp`, else undefined. */
function cachedDataFor(file: Buffer, stamp: string): Buffer | undefined {
  const nl = file.indexOf(10);
  if (nl < 0 || file.toString('latin1', 0, nl + 1) !== stamp || nl + 1 === file.length) return undefined;
  return file.subarray(nl + 1);
}

function load(main: string): void {
  const fd = openSync(main, 'r');
  const st = fstatSync(fd);
  const source = readFileSync(fd, 'utf8');
  closeSync(fd);
  const cachePath = `${main}.cache`;
  const stamp = cacheStamp(__NETTUNE_PROBE_MAIN_HASH__, st.size, st.mtimeMs);
  let cachedData: Buffer | undefined;
  try {
    cachedData = cachedDataFor(readFileSync(cachePath), stamp);
  } catch {
    // no cache yet: compiled as without one, written below
  }
  const script = new Script(Module.wrap(source), { filename: main, ...(cachedData ? { cachedData } : {}) });
  if (!cachedData || script.cachedDataRejected === true) {
    // at the end, so the cache holds every function this run compiled
    process.once('exit', () => {
      try {
        writeFileAtomic(cachePath, Buffer.concat([Buffer.from(stamp, 'latin1'), script.createCachedData()]));
      } catch {
        // read-only tree, full disk: the next run compiles again
      }
    });
  }
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  const mod = new Module(main, module);
  mod.filename = main;
  wrapper.call(mod.exports, mod.exports, createRequire(main), mod, main, dirname(main));
}

load(join(__dirname, 'nettune-probe-main.cjs'));
