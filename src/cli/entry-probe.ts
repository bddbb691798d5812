// The one-shot probe's entry point (dist/nettune-probe.cjs, which ./nettune runs for `probe`): the
// same main() with only the probe's command group, bundled as one CommonJS file. Node 20 starts
// a CommonJS main without its ES module loader (asynchronous file reads, a module job per chunk):
// ~20 ms less CPU per run than the split ES module bundle on this project's VM (bench/probe).
import { startCli } from './main.js';
import { registerProbe } from './probe.js';

void startCli([{ commands: ['probe'], load: () => Promise.resolve(registerProbe) }]);
