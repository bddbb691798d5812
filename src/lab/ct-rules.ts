// The lab router's stateful forward ruleset for the conntrack experiments (text only, no I/O:
// src/lab/experiments.ts and the planner-side arms use it without loading the benchmarks).
export const LAB_TABLE = 'nettune_lab';
/** The router's client-side device (lab.ts, router topology). */
const CLIENT_DEV = 'nt0';

/** The lab router's forward ruleset: established/related and untracked traffic pass, invalid is
 *  dropped, new flows from the client side are admitted (up to `limit` entries when given). */
export function routerRuleset(limit: number | null): string {
  return [
    `table inet ${LAB_TABLE} {`,
    '\tcounter ct_new { }',
    '\tcounter ct_untracked { }',
    '\tcounter ct_invalid { }',
    '\tcounter ct_limit_drop { }',
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy drop;',
    '\t\tct state established,related accept',
    // The rule `nettune plan --notrack` tells users to add in front of a stateful ruleset.
    '\t\tct state untracked counter name "ct_untracked" accept',
    '\t\tct state invalid counter name "ct_invalid" drop',
    ...(limit !== null ? [`\t\tct state new ct count over ${limit} counter name "ct_limit_drop" drop`] : []),
    `\t\tiifname "${CLIENT_DEV}" ct state new counter name "ct_new" accept`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

