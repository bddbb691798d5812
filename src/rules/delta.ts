// The one delta rule for counters: how much a counter grew between two samples and its rate.
// The audit (`--interval`, `--since`), the rules that look at one CPU or one link, and the
// monitor's rates (top, exporter, dashboard) all use it, so a rate means the same everywhere.

export interface CounterDelta {
  delta: number;
  /** delta / interval, per second. */
  rate: number;
}

/** The growth of a counter from `before` to `after` over `intervalS` seconds. null when either
 *  value is unknown, the interval is not positive, or the counter went down: a reset (reboot, a
 *  re-created device, a namespace change) or a wrap of a 32-bit counter look the same, and
 *  neither is a negative rate; that interval simply has no rate. */
export function counterDelta(before: number | null | undefined, after: number | null | undefined, intervalS: number | null | undefined): CounterDelta | null {
  if (before === null || before === undefined || after === null || after === undefined) return null;
  if (intervalS === null || intervalS === undefined || !(intervalS > 0) || !Number.isFinite(intervalS)) return null;
  if (!Number.isFinite(before) || !Number.isFinite(after) || after < before) return null;
  const delta = after - before;
  return { delta, rate: delta / intervalS };
}

/** References that are levels (gauges), not counters: a difference between two samples is no
 *  rate. sockstat is sockets and pages in use now; conntrack count/max/buckets are table sizes;
 *  Tcp.CurrEstab and the RTO fields of /proc/net/snmp are current values, not totals. */
const GAUGE_REF = /^(sockstat6?\..*|conntrack\.(count|max|buckets)|snmp\.Tcp\.(CurrEstab|RtoAlgorithm|RtoMin|RtoMax|MaxConn)|snmp\.Ip\.(Forwarding|DefaultTTL))$/;
export const isGaugeRef = (ref: string): boolean => GAUGE_REF.test(ref);
