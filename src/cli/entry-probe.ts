// The one-shot probe's entry point (dist/nettune-probe-main.cjs, which ./nettune runs for `probe`
// through dist/nettune-probe.cjs, the code-cache loader of src/cli/probe-loader.ts): the same
// main() with only the probe's command group, bundled as one CommonJS file. Node 20 starts a
// CommonJS main without its ES module loader (asynchronous file reads, a module job per chunk):
// ~20 ms less CPU per run than the split ES module bundle on this project's VM (bench/probe).
import { startCli } from './main.js';
import { registerProbe } from './probe.js';

void startCli([{ commands: ['probe'], load: () => Promise.resolve(registerProbe) }]);
