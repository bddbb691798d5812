// The bundle's entry point (dist/nettune.mjs): every command group, each loaded on demand.
import { GROUPS } from './groups.js';
import { startCli } from './main.js';

await startCli(GROUPS);
