// POSIX shell single quoting, for the commands nettune shows and the scripts it exports.

/** 'it'\''s' — a POSIX shell single-quoted literal. */
export const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
