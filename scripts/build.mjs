// Bundles the CLI into one file so a command starts fast (no TypeScript at run time), then
// compiles the lab's userspace delay line (C) with the machine's compiler when it is stale.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// One entry (dist/nettune.mjs) plus a chunk per command group, loaded on demand, so a command
// only parses the code it runs. Old chunks are removed first (their names carry content hashes).
rmSync('dist/chunks', { recursive: true, force: true });

// The dashboard's page (src/monitor/web): its script bundled for the browser, uPlot's CSS, the
// page and its CSS, all embedded in the CLI bundle as the virtual module `nettune:web-assets`
// (URL path → body and type), so the server needs no files at run time and nothing comes from a CDN.
const web = await build({
  entryPoints: ['src/monitor/web/app.ts'],
  bundle: true,
  write: false,
  platform: 'browser',
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  legalComments: 'none',
  outfile: 'web/app.js',
  logLevel: 'warning',
});
const webText = (path) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const webAssets = {
  '/': { body: webText('src/monitor/web/index.html'), type: 'text/html; charset=utf-8' },
  '/assets/app.js': { body: web.outputFiles[0].text, type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { body: webText('src/monitor/web/style.css'), type: 'text/css; charset=utf-8' },
  '/assets/favicon.svg': { body: webText('src/monitor/web/favicon.svg'), type: 'image/svg+xml' },
  '/assets/uplot.css': { body: webText('node_modules/uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};
const webAssetsPlugin = {
  name: 'nettune-web-assets',
  setup(b) {
    b.onResolve({ filter: /^nettune:web-assets$/ }, () => ({ path: 'web-assets', namespace: 'nettune' }));
    b.onLoad({ filter: /.*/, namespace: 'nettune' }, () => ({ contents: `export default ${JSON.stringify(webAssets)};`, loader: 'js' }));
  },
};

/** What both CLI bundles (the split ES modules and the probe's CommonJS file) are built with. */
const NODE_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  minify: true,
  keepNames: true,
  define: { __NETTUNE_VERSION__: JSON.stringify(pkg.version) },
};

await build({
  entryPoints: { nettune: 'src/cli/entry.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  ...NODE_BUNDLE,
  format: 'esm',
  // `require` for the CommonJS dependencies and better-sqlite3, made on first use: every chunk
  // carries this banner, and creating it eagerly (import.meta, a URL parse, a Module) in each of
  // the dozen chunks a command loads is start-up time a one-shot command pays (bench/probe).
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __ntCreateRequire } from 'node:module';\nlet __ntRequire;\nconst require = (...a) => (__ntRequire ??= __ntCreateRequire(import.meta.url))(...a);",
  },
  external: ['better-sqlite3'],
  plugins: [webAssetsPlugin],
  logLevel: 'warning',
});

// The one-shot probe as one CommonJS file (src/cli/entry-probe.ts: main() with the probe's group
// only): Node 20 starts it without the ES module loader. The probe's code has no import.meta
// (CommonJS has none): esbuild's warning about it is an error here. ./nettune runs it through
// dist/nettune-probe.cjs (src/cli/probe-loader.ts), which compiles it with a V8 code cache; the
// loader knows the bundle's content hash, so a cache made for another bundle is never used.
await build({
  entryPoints: { 'nettune-probe-main': 'src/cli/entry-probe.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  ...NODE_BUNDLE,
  format: 'cjs',
  logOverride: { 'empty-import-meta': 'error' },
  logLevel: 'warning',
});
const probeMainHash = createHash('sha256').update(readFileSync('dist/nettune-probe-main.cjs')).digest('hex').slice(0, 32);
await build({
  entryPoints: { 'nettune-probe': 'src/cli/probe-loader.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  ...NODE_BUNDLE,
  define: { ...NODE_BUNDLE.define, __NETTUNE_PROBE_MAIN_HASH__: JSON.stringify(probeMainHash) },
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
// The code cache: made by one run of the loader (it writes the cache when it found none that
// fits), `probe --help`, which compiles the bundle's start-up (modules, commander) and reads
// nothing of the host. Without it (the run failed) every probe compiles as before, and the first
// one writes the cache.
try {
  execFileSync(process.execPath, ['dist/nettune-probe.cjs', 'probe', '--help'], { stdio: 'ignore', env: { ...process.env, NETTUNE_NO_INSTALL: '1' }, timeout: 60_000 });
} catch (e) {
  console.warn(`build: dist/nettune-probe-main.cjs.cache not made (${e.message.split('\n')[0]}); the first probe makes it`);
}

// The delay line: rebuilt when missing or older than its source. No compiler is not an error:
// the lab then reports the delay line as unavailable.
const DL_SRC = fileURLToPath(new URL('../src/lab/delayline/delayline.c', import.meta.url));
const DL_BIN = fileURLToPath(new URL('../dist/nettune-delayline', import.meta.url));
if (!existsSync(DL_BIN) || statSync(DL_BIN).mtimeMs < statSync(DL_SRC).mtimeMs) {
  mkdirSync(dirname(DL_BIN), { recursive: true });
  const args = ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-pthread', '-o', DL_BIN, DL_SRC];
  try {
    execFileSync('cc', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    const why = e.code === 'ENOENT' ? 'no C compiler (cc) found; apt-get install gcc libc6-dev' : `cc failed: ${e.message}`;
    console.warn(`build: dist/nettune-delayline not built (${why}); the lab's delay line will be unavailable`);
  }
}
