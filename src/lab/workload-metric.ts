// Where a workload's number comes from, in the client's output:
//   json:PATH     a path into the JSON the client prints on stdout (`iperf3 -J`, `wrk` with a JSON
//                 script, `hyperfine --export-json /dev/stdout`): dot-separated keys, [N] indices
//                 ([-1] is the last element), ["key.with.dots"] for keys that are not plain words;
//                 a leading dot is allowed (jq style). The value must be a number (or a string
//                 holding one).
//   regex:PATTERN a JavaScript regular expression (multi-line: ^ and $ match at line ends) with
//                 exactly one capture group, searched in stdout, then in stderr; the first match's
//                 group must be a number (capture only the digits: `Requests/sec:\s+([\d.]+)`).
// Both are checked when the flag is parsed (exit 2), so a typo never costs a lab.
import { environmentError, usageError } from '../sys/errors.js';

export type PathStep = string | number;

export type MetricSpec = { kind: 'json'; path: PathStep[]; text: string } | { kind: 'regex'; pattern: string; text: string };

const KEY_CHAR = /[^.[\]\s]/;

/** Parses a json: path ("end.sum_received.bits_per_second", "intervals[-1].sum", '["a.b"].c'). */
export function parseJsonPath(path: string): PathStep[] {
  const bad = (why: string): never => {
    throw usageError(`--metric json:${path}: ${why}`, 'a path like end.sum_received.bits_per_second, intervals[0].sum.bits_per_second or ["key.with.dots"].x');
  };
  if (path === '.') return [];
  if (!path) bad('an empty path (use json:. for the whole document)');
  const steps: PathStep[] = [];
  let i = path.startsWith('.') ? 1 : 0;
  let expectKey = true;
  while (i < path.length) {
    const ch = path[i] as string;
    if (ch === '[') {
      const close = path.indexOf(']', i);
      if (path[i + 1] === '"') {
        // a JSON string key: find its closing quote (backslash escapes), then the ]
        let j = i + 2;
        while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
        if (path[j + 1] !== ']') bad(`an unterminated ["…"] at character ${i + 1}`);
        try {
          steps.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
        } catch {
          bad(`a bad string key at character ${i + 1}`);
        }
        i = j + 2;
      } else {
        if (close < 0) bad(`an unterminated [ at character ${i + 1}`);
        const inner = path.slice(i + 1, close);
        if (!/^-?\d{1,9}$/.test(inner)) bad(`[${inner}] is not an index (a whole number, negative counts from the end) or a ["key"]`);
        steps.push(Number(inner));
        i = close + 1;
      }
      expectKey = false;
    } else if (ch === '.') {
      if (expectKey) bad(`an empty key at character ${i + 1}`);
      expectKey = true;
      i++;
    } else {
      if (!expectKey) bad(`a key must follow a "." at character ${i + 1}`);
      let j = i;
      while (j < path.length && KEY_CHAR.test(path[j] as string)) j++;
      if (j === i) bad(`unexpected ${JSON.stringify(ch)} at character ${i + 1}`);
      steps.push(path.slice(i, j));
      i = j;
      expectKey = false;
    }
  }
  if (expectKey) bad('the path ends with "."');
  return steps;
}

/** Parses --metric SPEC (exit 2 on anything that cannot work). */
export function parseMetricSpec(spec: string): MetricSpec {
  if (spec.startsWith('json:')) return { kind: 'json', path: parseJsonPath(spec.slice(5)), text: spec };
  if (spec.startsWith('regex:')) {
    const pattern = spec.slice(6);
    if (!pattern) throw usageError('--metric regex: an empty pattern');
    let re: RegExp;
    try {
      re = new RegExp(pattern, 'm');
    } catch (err) {
      throw usageError(`--metric regex:${pattern}: not a valid regular expression (${err instanceof Error ? err.message : String(err)})`);
    }
    // Matching the empty alternative tells how many groups the pattern has without running it.
    const groups = (new RegExp(`${re.source}|`, 'm').exec('') as RegExpExecArray).length - 1;
    if (groups !== 1) throw usageError(`--metric regex:${pattern}: needs exactly one capture group, it has ${groups}`, 'capture the number, and make other groups non-capturing: (?:…)');
    return { kind: 'regex', pattern, text: spec };
  }
  throw usageError(`--metric ${JSON.stringify(spec)}: json:PATH or regex:PATTERN`, 'e.g. --metric json:end.sum_received.bits_per_second (iperf3 -J), --metric "regex:Requests/sec:\\s+([0-9.]+)" (wrk)');
}

/** A metric value as a number: a JSON number, or a string that is exactly a decimal number. */
function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(v)) return Number(v);
  return null;
}

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? `an array of ${v.length}` : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v).slice(0, 60)}`);

const showPath = (steps: readonly PathStep[]): string => steps.map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[^.[\]\s"]+$/.test(s) ? `${i ? '.' : ''}${s}` : `[${JSON.stringify(s)}]`)).join('') || '.';

/** Follows a json path; a miss says where it stopped and what was there. */
export function followPath(doc: unknown, steps: readonly PathStep[]): number {
  let cur: unknown = doc;
  for (const [i, step] of steps.entries()) {
    const here = showPath(steps.slice(0, i)) || '.';
    if (typeof step === 'number') {
      if (!Array.isArray(cur)) throw environmentError(`metric: ${here} is ${kindOf(cur)}, not an array, so it has no [${step}]`);
      const idx = step < 0 ? cur.length + step : step;
      if (idx < 0 || idx >= cur.length) throw environmentError(`metric: ${here} has ${cur.length} elements, so there is no [${step}]`);
      cur = cur[idx] as unknown;
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) throw environmentError(`metric: ${here} is ${kindOf(cur)}, so it has no key ${JSON.stringify(step)}`);
      const obj = cur as Record<string, unknown>;
      if (!Object.prototype.hasOwnProperty.call(obj, step)) {
        const keys = Object.keys(obj);
        const err = typeof obj.error === 'string' ? `; the output says: ${obj.error}` : '';
        throw environmentError(`metric: no ${JSON.stringify(step)} in ${here} (keys there: ${keys.slice(0, 12).join(', ') || 'none'}${keys.length > 12 ? ', …' : ''})${err}`);
      }
      cur = obj[step];
    }
  }
  const n = asNumber(cur);
  if (n === null) throw environmentError(`metric: ${showPath(steps)} is ${kindOf(cur)}, not a number`);
  return n;
}

/** The JSON document a client printed: all of stdout, or else its last line that parses (JSON
 *  lines, or a tool that prints a banner first). */
export function parseJsonOutput(stdout: string): unknown {
  const text = stdout.trim();
  if (!text) throw environmentError('metric: the client printed nothing on stdout');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
    for (let i = lines.length - 1; i >= 0 && i >= lines.length - 50; i--) {
      try {
        return JSON.parse(lines[i] as string) as unknown;
      } catch {
        // not this line
      }
    }
    throw environmentError(`metric: the client's stdout is not JSON (it begins ${JSON.stringify(text.slice(0, 120))})`);
  }
}

/** The metric from one run's output; a miss is an error (exit 3), which fails the run. */
export function extractMetric(spec: MetricSpec, stdout: string, stderr: string): number {
  if (spec.kind === 'json') return followPath(parseJsonOutput(stdout), spec.path);
  const re = new RegExp(spec.pattern, 'm');
  const m = re.exec(stdout) ?? re.exec(stderr);
  if (!m) throw environmentError(`metric: /${spec.pattern}/ matches neither the client's stdout nor its stderr`);
  const captured = m[1];
  if (captured === undefined) throw environmentError(`metric: /${spec.pattern}/ matched ${JSON.stringify(m[0].slice(0, 80))} but its group captured nothing`);
  const n = asNumber(captured);
  if (n === null) throw environmentError(`metric: /${spec.pattern}/ captured ${JSON.stringify(captured.slice(0, 80))}, which is not a number (capture only the digits)`);
  return n;
}
