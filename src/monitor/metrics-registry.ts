// The exporter's prom-client families. A family (one metric name) is created when a sample first
// shows it (a kernel with MPTcpExt gets those counters, one without does not) and kept between
// scrapes; its series are set in place, a series a scrape did not set is removed (a device or a
// finding that went away leaves nothing stale) and a family no series was set for is dropped.
//
// prom-client writes every byte of the exposition: each family sits in a registry of its own, and
// the text prom-client rendered for it is kept until one of its series changes, so a scrape
// re-renders only the families whose values moved (on an idle host most of the ~550 netstat
// counters and every tuning knob stay the same between scrapes; rendering was most of a scrape's
// CPU). The families' texts are joined as Registry.metrics() joins its metrics.
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricKind } from './metrics-names.js';

export type Labels = Record<string, string>;

export interface Families {
  /** Sets one series (a gauge's level, or a counter's running total from the kernel, never
   *  negative). The family is created on first use with these label names; a value that is not
   *  finite, or a name already used by the other kind, is ignored. */
  set(kind: MetricKind, name: string, help: string, value: number, labels?: Labels): void;
  gauge(name: string, help: string, value: number, labels?: Labels): void;
  counter(name: string, help: string, value: number, labels?: Labels): void;
  /** Families whose series depend on `key` alone (the configuration a refresh read): while the
   *  same key comes back, the families fill() set last time are kept as they are and fill() is not
   *  called. Those families must be set by this group only. */
  group(id: string, key: object, fill: () => void): void;
  /** Starts a scrape; end() removes the series and families it did not set. */
  begin(): void;
  end(): void;
  /** Names of the families set in the current (or last) scrape, in exposition order. */
  names(): string[];
  /** The exposition text of every family (prom-client's rendering; unchanged families' kept),
   *  UTF-8 as it goes on the wire. */
  render(): Promise<Buffer>;
  /** How many families the last render() had prom-client render (the others were unchanged). */
  rendered(): number;
}

interface Series {
  labels: Labels;
  value: number;
  /** The scrape that last set it. */
  gen: number;
}

interface Family {
  kind: MetricKind;
  labelNames: string[];
  metric: Gauge | Counter;
  registry: Registry;
  series: Map<string, Series>;
  gen: number;
  /** Series set in scrape `gen` (when all were, end() has nothing to remove). */
  seen: number;
  /** prom-client's text for this family (UTF-8) and the blank line after it; null: to render. */
  text: Buffer | null;
}

const NEWLINE = Buffer.from('\n');

const keyOf = (labelNames: readonly string[], labels: Labels | undefined): string => {
  if (!labels) return '';
  let k = '';
  for (const n of labelNames) k += `${labels[n] ?? ''}\u0000`;
  return k;
};

function write(f: Family, s: Series | undefined, labels: Labels, value: number): void {
  // (labels is {} for a family without labels: prom-client takes that as no labels.)
  if (f.kind === 'gauge') {
    (f.metric as Gauge).set(labels, value);
    return;
  }
  const c = f.metric as Counter;
  // A counter has no set(): add the difference when that is exact (integers, going up), else
  // start the series again at the value (a counter the kernel reset, a scaled non-integer).
  if (s && value >= s.value && Number.isSafeInteger(value) && Number.isSafeInteger(s.value)) {
    if (value > s.value) c.inc(labels, value - s.value);
    return;
  }
  if (s) c.remove(labels);
  c.inc(labels, value);
}

export function createFamilies(): Families {
  const families = new Map<string, Family>();
  let gen = 0;
  let renderedLast = 0;
  const groups = new Map<string, { key: object; names: Set<string> }>();
  let recording: Set<string> | null = null;

  const set = (kind: MetricKind, name: string, help: string, value: number, labels?: Labels): void => {
    if (!Number.isFinite(value) || (kind === 'counter' && value < 0)) return;
    let f = families.get(name);
    if (!f) {
      const registry = new Registry();
      const labelNames = labels ? Object.keys(labels) : [];
      const metric = kind === 'gauge' ? new Gauge({ name, help, labelNames, registers: [registry] }) : new Counter({ name, help, labelNames, registers: [registry] });
      f = { kind, labelNames, metric, registry, series: new Map(), gen, seen: 0, text: null };
      families.set(name, f);
    } else if (f.kind !== kind) return;
    recording?.add(name);
    if (f.gen !== gen) {
      f.gen = gen;
      f.seen = 0;
    }
    const key = keyOf(f.labelNames, labels);
    const s = f.series.get(key);
    if (s && s.gen === gen) {
      // The same series twice in one scrape: the later value holds.
      f.seen--;
    }
    f.seen++;
    if (s && s.value === value) {
      s.gen = gen;
      return;
    }
    write(f, s, labels ?? {}, value);
    if (s) {
      s.value = value;
      s.gen = gen;
    } else f.series.set(key, { labels: { ...labels }, value, gen });
    f.text = null;
  };

  const group = (id: string, key: object, fill: () => void): void => {
    const g = groups.get(id);
    if (g && g.key === key && [...g.names].every((name) => families.has(name))) {
      for (const name of g.names) {
        const f = families.get(name) as Family;
        f.gen = gen;
        f.seen = f.series.size;
      }
      return;
    }
    const names = new Set<string>();
    recording = names;
    try {
      fill();
    } finally {
      recording = null;
    }
    groups.set(id, { key, names });
  };

  // (forEach, not for…of over entries: that allocates a [key, value] pair per family per scrape.)
  const end = (): void => {
    families.forEach((f, name) => {
      if (f.gen !== gen) {
        families.delete(name);
        return;
      }
      if (f.seen === f.series.size) return;
      f.series.forEach((s, key) => {
        if (s.gen === gen) return;
        f.metric.remove(s.labels);
        f.series.delete(key);
        f.text = null;
      });
    });
  };

  // The families to render are rendered together, then the texts joined in one synchronous pass
  // (an await inside the loop over ~700 families kept an iterator result alive per family).
  const render = async (): Promise<Buffer> => {
    const stale: Family[] = [];
    families.forEach((f) => {
      if (f.text === null) stale.push(f);
    });
    const texts = await Promise.all(stale.map((f) => f.registry.metrics()));
    // Registry.metrics() ends its text with a newline and puts a blank line between metrics: each
    // family's text is kept with that blank line after it, and the last one is cut off the whole.
    stale.forEach((f, i) => (f.text = Buffer.from(`${texts[i] as string}\n`, 'utf8')));
    renderedLast = stale.length;
    if (families.size === 0) return NEWLINE;
    const parts = new Array<Buffer>(families.size);
    let i = 0;
    let bytes = 0;
    families.forEach((f) => {
      const t = f.text as Buffer;
      parts[i++] = t;
      bytes += t.length;
    });
    return Buffer.concat(parts, bytes).subarray(0, bytes - 1);
  };

  return {
    set,
    gauge: (name, help, value, labels) => set('gauge', name, help, value, labels),
    counter: (name, help, value, labels) => set('counter', name, help, value, labels),
    group,
    begin: () => {
      gen++;
    },
    end,
    names: () => [...families].filter(([, f]) => f.gen === gen).map(([name]) => name),
    render,
    rendered: () => renderedLast,
  };
}
