// The one parser for numeric flags (--conns, --limit …): the same text gives the same answer and
// the same bounds in every command. Decimal digits only: no sign, no hex or octal, no exponent,
// no leading zero (010 would read as ten here and as eight to the kernel), and bounds checked
// before any work starts (exit 2 through parseOptions).
import { z } from 'zod';

export interface CountBounds {
  min: number;
  max: number;
  /** What the number counts, for messages ("connections"). */
  what: string;
}

/** --conns: expected concurrent connections (conntrack and port sizing). */
export const CONNS: CountBounds = { min: 1, max: 1_000_000_000, what: 'connections' };
/** --conn-rate: new connections per second (conntrack churn, Little's law). */
export const CONN_RATE: CountBounds = { min: 1, max: 100_000_000, what: 'new connections per second' };
/** --udp-rate: new UDP flows per second (conntrack churn, Little's law). */
export const UDP_RATE: CountBounds = { min: 1, max: 100_000_000, what: 'new UDP flows per second' };
/** history --limit: rows shown. */
export const HISTORY_LIMIT: CountBounds = { min: 1, max: 100_000, what: 'transactions' };

/** Checks one count; returns an error message (without the flag name) or the number. */
export function parseCount(text: string, b: CountBounds): number | string {
  const t = text.trim();
  if (!/^(0|[1-9]\d*)$/.test(t)) return `a whole number of ${b.what} in decimal digits (${b.min} to ${b.max}), not ${JSON.stringify(text.length > 30 ? `${text.slice(0, 27)}…` : text)}`;
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < b.min || n > b.max) return `${t} is outside ${b.min} to ${b.max} ${b.what}`;
  return n;
}

/** The zod field for a count flag (commander hands flags over as strings). */
export const countFlag = (b: CountBounds) =>
  z.string().transform((s, ctx) => {
    const r = parseCount(s, b);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  });

/** A per-second count flag: "2000" or "2000/s", the number checked as a count. */
export const perSecondFlag = (b: CountBounds) =>
  z.string().transform((s, ctx) => {
    const r = parseCount(s.trim().replace(/\/s$/, ''), b);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: `${r} (a rate: N or N/s)` });
      return z.NEVER;
    }
    return r;
  });
