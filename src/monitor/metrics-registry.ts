// The exporter's prom-client registry: families are created as samples show them (a kernel with
// MPTcpExt gets those counters, one without does not) and kept between scrapes; each scrape
// (begin … end) resets a family the first time it sets it and removes the families it did not
// set, so a device or a finding that went away leaves no stale series. prom-client writes the
// exposition text; nothing here formats it.
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricKind } from './metrics-names.js';

export type Labels = Record<string, string>;

export interface Families {
  readonly registry: Registry;
  /** Sets one series of a gauge family (created on first use with these label names). */
  gauge(name: string, help: string, value: number, labels?: Labels): void;
  /** Sets one series of a counter family to the kernel's running total (never negative). */
  counter(name: string, help: string, value: number, labels?: Labels): void;
  set(kind: MetricKind, name: string, help: string, value: number, labels?: Labels): void;
  /** Starts a scrape: families are reset on first use and dropped when unused by end(). */
  begin(): void;
  end(): void;
  /** Names of the families set in the current (or last) scrape. */
  names(): string[];
}

export function createFamilies(): Families {
  const registry = new Registry();
  const gauges = new Map<string, Gauge>();
  const counters = new Map<string, Counter>();
  const seen = new Set<string>();
  const gauge = (name: string, help: string, value: number, labels: Labels = {}): void => {
    if (!Number.isFinite(value) || counters.has(name)) return;
    let g = gauges.get(name);
    if (!g) {
      g = new Gauge({ name, help, labelNames: Object.keys(labels), registers: [registry] });
      gauges.set(name, g);
    } else if (!seen.has(name)) g.reset();
    seen.add(name);
    g.set(labels, value);
  };
  const counter = (name: string, help: string, value: number, labels: Labels = {}): void => {
    if (!Number.isFinite(value) || value < 0 || gauges.has(name)) return;
    let c = counters.get(name);
    if (!c) {
      c = new Counter({ name, help, labelNames: Object.keys(labels), registers: [registry] });
      counters.set(name, c);
    } else if (!seen.has(name)) c.reset();
    seen.add(name);
    c.inc(labels, value);
  };
  const end = (): void => {
    for (const map of [gauges, counters] as Map<string, Gauge | Counter>[]) {
      for (const name of [...map.keys()]) {
        if (seen.has(name)) continue;
        registry.removeSingleMetric(name);
        map.delete(name);
      }
    }
  };
  return {
    registry,
    gauge,
    counter,
    set: (kind, name, help, value, labels) => (kind === 'counter' ? counter(name, help, value, labels) : gauge(name, help, value, labels)),
    begin: () => seen.clear(),
    end,
    names: () => [...seen],
  };
}
