// Replaced at build time by scripts/build.mjs from package.json; the fallback serves tests.
declare const __NETTUNE_VERSION__: string | undefined;
export const VERSION: string = typeof __NETTUNE_VERSION__ === 'string' ? __NETTUNE_VERSION__ : '0.0.0-dev';
