// The bundle's entry point (dist/nettune.mjs).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
