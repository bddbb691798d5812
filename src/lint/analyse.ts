// Which assignment wins for each key and what is wrong with the result, judged against a
// Snapshot and the catalog (see the precedence notes in index.ts).
import { defaultHistory, differsFromDefault, kernelDefault } from '../catalog/defaults.js';
import { catalog, type CatalogEntry, findEntry, kernelForm as kernelValue, suggestKeys, type ValueContext, validateSysctlValue } from '../catalog/index.js';
import type { Workload } from '../plan/types.js';
import { evaluate } from '../rules/engine.js';
import { allRules } from '../rules/index.js';
import type { Finding } from '../rules/types.js';
import type { Snapshot } from '../snapshot/index.js';
import { globMatches, normaliseSysctlValue, type ParsedSysctlFile, type SysctlAssignment, type SysctlExclusion } from './parse.js';
import type { LintAssignment, LintCode, LintMessage, LintResult, LintSeverity } from './types.js';

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

export interface HostValue {
  exists: boolean;
  /** Whitespace-normalised value; null for a directory or an unreadable file. */
  value: string | null;
}

export interface AnalyseOptions {
  snap: Snapshot;
  workload?: Workload;
  /** Looks up a key outside the Snapshot's coverage (kernel.*, vm.*, most of fs.*) on the live
   *  host: exists (a file or a directory under /proc/sys) and its value when readable. Absent when
   *  judging a Snapshot file: such keys are then reported as not checked. */
  hostLookup?: ((key: string) => HostValue) | undefined;
}

/** Subtrees a kernel module adds: a missing key there usually means the module is not loaded. */
const MODULE_SUBTREES: readonly [string, string][] = [
  ['net.netfilter.nf_conntrack', 'nf_conntrack'],
  ['net.nf_conntrack_max', 'nf_conntrack'],
  ['net.bridge.', 'br_netfilter'],
  ['net.ipv4.vs.', 'ip_vs'],
  ['net.ipv6.vs.', 'ip_vs'],
  ['net.sctp.', 'sctp'],
  ['net.netfilter.nf_log', 'nf_log_syslog'],
  ['net.ipv4.netfilter.', 'nf_conntrack'],
  ['net.ipv4.tcp_bbr', 'tcp_bbr'],
];

const moduleFor = (key: string): string | null => MODULE_SUBTREES.find(([p]) => key.startsWith(p))?.[1] ?? null;

const INT = /^-?\d+$/;
const HEX = /^0x[0-9a-f]+$/i;
const asNumber = (s: string): number | null => (INT.test(s) ? Number(s) : HEX.test(s) ? parseInt(s, 16) : null);

/** The value as the kernel would print it after the write (hex and octal read back in decimal). */
const kernelForm = (entry: CatalogEntry | undefined, value: string): string => kernelValue(entry, value);

/** Same value, field by field; numbers compare numerically (0x10 = 16, 007 = 7). */
function sameValue(a: string, b: string): boolean {
  const fa = normaliseSysctlValue(a).split(' ');
  const fb = normaliseSysctlValue(b).split(' ');
  if (fa.length !== fb.length) return false;
  return fa.every((x, i) => {
    const y = fb[i] ?? '';
    const nx = asNumber(x);
    const ny = asNumber(y);
    return nx !== null && ny !== null ? nx === ny : x === y;
  });
}

const where = (a: { file: string; line: number }): string => `${a.file}:${a.line}`;
const show = (v: string): string => normaliseSysctlValue(v);

const iface = (key: string): string | null => {
  const m = /^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\./.exec(key);
  return m && m[1] !== 'all' && m[1] !== 'default' ? (m[1] ?? '').replace(/\//g, '.') : null;
};

function valueHints(value: string): string {
  if (/^(["']).*\1$/.test(value.trim())) return ' — quotes are not removed: the kernel receives them literally; write the value without quotes';
  if (/\s[#;]/.test(value)) return " — there are no trailing comments: everything after '=' is the value";
  return '';
}

function listKeys(keys: readonly string[], max = 6): string {
  return keys.length <= max ? keys.join(', ') : `${keys.slice(0, max).join(', ')} … (${keys.length - max} more)`;
}

type KeyState =
  | { kind: 'present'; value: string }
  | { kind: 'removed'; entry: CatalogEntry }
  | { kind: 'absent'; entry: CatalogEntry | null; hint: string; severity: LintSeverity }
  | { kind: 'unknown'; suggestions: string[] }
  | { kind: 'unchecked' };

export function analyse(parsed: readonly ParsedSysctlFile[], opts: AnalyseOptions): Omit<LintResult, 'search_path' | 'files' | 'summary'> {
  const { snap } = opts;
  const messages: LintMessage[] = [];
  const push = (m: LintMessage): void => {
    messages.push(m);
  };
  const live = new Map<string, string>(Object.entries(snap.sysctl));
  const liveKeys = [...live.keys()].sort();
  const nonInit = snap.netns.init === false;
  const links = new Set(snap.links.map((l) => l.name));
  let candidates: string[] | null = null;
  const suggest = (key: string): string[] => {
    candidates ??= [...catalog().map((e) => e.key), ...liveKeys];
    return suggestKeys(key, candidates);
  };
  const hostCache = new Map<string, HostValue>();
  const host = (key: string): HostValue => {
    let v = hostCache.get(key);
    if (!v) {
      v = opts.hostLookup?.(key) ?? { exists: false, value: null };
      hostCache.set(key, v);
    }
    return v;
  };

  /** Where a concrete key stands on this host. */
  const stateOf = (key: string, entry: CatalogEntry | undefined): KeyState => {
    const v = live.get(key);
    if (v !== undefined) return { kind: 'present', value: v };
    if (key in snap.sysctl_redacted) return { kind: 'unchecked' }; // a secret: present, value not recorded
    if (!key.startsWith('net.') && !entry) {
      // Outside what a Snapshot records: only the live host can answer.
      if (!opts.hostLookup) return { kind: 'unchecked' };
      const hv = host(key);
      if (hv.exists) {
        if (hv.value === null) return { kind: 'unchecked' };
        live.set(key, hv.value);
        return { kind: 'present', value: hv.value };
      }
      const parent = key.slice(0, key.lastIndexOf('.'));
      if (parent !== '' && !host(parent).exists)
        return { kind: 'absent', entry: null, severity: 'warning', hint: `nothing under ${parent} exists here (a kernel module or feature that provides it is missing?)` };
      return { kind: 'unknown', suggestions: suggest(key) };
    }
    if (entry?.removed_in) return { kind: 'removed', entry };
    const dev = iface(key);
    if (dev && !links.has(dev))
      return { kind: 'absent', entry: entry ?? null, severity: 'info', hint: `interface ${dev} does not exist now (systemd's udev rule applies per-interface settings when it appears)` };
    const mod = moduleFor(key);
    if (mod) return { kind: 'absent', entry: entry ?? null, severity: 'warning', hint: `it comes with the ${mod} module, which is not loaded now; at boot systemd-sysctl may run before the module loads (load it from modules-load.d)` };
    if (entry) return { kind: 'absent', entry, severity: 'warning', hint: nonInit && entry.scope === 'global' ? 'a global knob: it exists only in the initial namespace' : 'this kernel or namespace does not have it' };
    const parent = key.slice(0, key.lastIndexOf('.'));
    const parentExists = parent !== '' && liveKeys.some((k) => k.startsWith(`${parent}.`));
    const suggestions = suggest(key);
    if (!parentExists && suggestions.length === 0)
      return { kind: 'absent', entry: null, severity: 'warning', hint: `nothing under ${parent} exists here (a kernel module or feature that provides it is missing?)` };
    return { kind: 'unknown', suggestions };
  };

  // ---- resolve: who wins for each key
  const all = parsed.flatMap((p) => p.assignments);
  const exclusions = parsed.flatMap((p) => p.exclusions);
  const explicit = new Map<string, SysctlAssignment[]>();
  for (const a of all) if (!a.glob) explicit.set(a.key, [...(explicit.get(a.key) ?? []), a]);
  const excluded = new Map<string, SysctlExclusion>();
  for (const x of exclusions) if (!x.glob && !excluded.has(x.key)) excluded.set(x.key, x);
  const effective = new Map<string, SysctlAssignment>();
  for (const [k, list] of explicit) effective.set(k, list[list.length - 1] as SysctlAssignment);
  const globMatchesOf = new Map<SysctlAssignment, string[]>();
  for (const g of all) {
    if (!g.glob) continue;
    const matches = liveKeys.filter((k) => globMatches(g.key, k));
    globMatchesOf.set(g, matches);
    for (const k of matches) if (!explicit.has(k) && !excluded.has(k)) effective.set(k, g);
  }
  const appliesTo = new Map<SysctlAssignment, string[]>();
  for (const [k, a] of effective) appliesTo.set(a, [...(appliesTo.get(a) ?? []), k]);
  const lastGlobWithKey = new Map<string, SysctlAssignment>();
  for (const a of all) if (a.glob) lastGlobWithKey.set(a.key, a);

  // ---- per-assignment checks
  const invalid = new Set<SysctlAssignment>();
  const blocked = new Set<string>(); // global knobs in a non-initial namespace
  for (const a of all) {
    const msg = (severity: LintSeverity, code: LintCode, message: string, extra: Partial<LintMessage> = {}): void =>
      push({ file: a.file, line: a.line, severity, code, message, key: a.key, ...extra });
    const keys = a.glob ? (globMatchesOf.get(a) ?? []) : [a.key];
    const entries = new Map<string, CatalogEntry>();
    for (const k of keys) {
      const e = findEntry(k);
      if (e) entries.set(e.key, e);
    }
    if (a.glob && keys.length === 0) {
      const e = findEntry(a.key);
      if (e) entries.set(e.key, e);
    }
    const entry = a.glob ? undefined : findEntry(a.key);

    // Does the key exist here?
    let exists = true;
    if (a.glob) {
      if (keys.length === 0) {
        exists = false;
        const lastSeg = a.key.split('.').pop() ?? '';
        const knownTail = !/[*?[]/.test(lastSeg) && [...liveKeys, ...catalog().map((e) => e.key)].some((k) => k.endsWith(`.${lastSeg}`));
        if (!a.key.startsWith('net.')) {
          if (!opts.hostLookup) msg('info', 'not-checked', `${a.raw_key}: outside the net.* tree a Snapshot records; not checked`);
          else msg('info', 'not-checked', `${a.raw_key}: glob outside net.* is not expanded by nettune; not checked`);
        } else if (entries.size > 0 || knownTail) {
          msg(a.ignore_failure ? 'info' : 'warning', 'absent-key', `${a.raw_key} matches no key on this host; the line has no effect here`);
        } else {
          const suggestions = suggest(a.key);
          msg('error', 'unknown-key', `unknown key pattern ${JSON.stringify(a.raw_key)}: it matches no key here and nettune does not know it${suggestions.length ? ` (did you mean: ${suggestions.join(', ')}?)` : ''}`, { suggestions });
        }
      }
    } else {
      const st = stateOf(a.key, entry);
      const globalHere = entry?.scope === 'global' && nonInit;
      if (globalHere) {
        blocked.add(a.key);
        msg('warning', 'global-in-netns', `${a.key} is a global knob: it can only be set from the initial network namespace, not in this one${snap.netns.name ? ` (${snap.netns.name})` : ''}`);
      }
      switch (st.kind) {
        case 'present':
          if (entry?.removed_in) msg('warning', 'removed-knob', `${a.key} was removed in Linux ${entry.removed_in}; it still exists on this ${snap.kernel.release} kernel but the setting will break on upgrade`);
          break;
        case 'removed':
          exists = false;
          msg('error', 'removed-knob', `${a.key} was removed in Linux ${st.entry.removed_in} and does not exist on this ${snap.kernel.release} kernel: the line does nothing${a.ignore_failure ? '' : ' (systemd-sysctl logs a failure)'}; delete it`);
          break;
        case 'absent':
          exists = false;
          if (!globalHere) msg(a.ignore_failure ? 'info' : st.severity, 'absent-key', `${a.key} does not exist on this host${snap.netns.name ? ` (netns ${snap.netns.name})` : ''}: ${st.hint}`);
          break;
        case 'unknown': {
          exists = false;
          msg('error', 'unknown-key', `unknown key ${JSON.stringify(a.raw_key)}: not on this host and not in the catalog${st.suggestions.length ? ` (did you mean: ${st.suggestions.join(', ')}?)` : ''}`, { suggestions: st.suggestions });
          break;
        }
        case 'unchecked':
          exists = false;
          msg('info', 'not-checked', `${a.key}: outside the net.* tree a Snapshot records; existence and value not checked`);
          break;
      }
    }
    if (a.glob && nonInit) {
      const globals = keys.filter((k) => findEntry(k)?.scope === 'global');
      if (globals.length) {
        globals.forEach((k) => blocked.add(k));
        msg('warning', 'global-in-netns', `${a.raw_key} matches global knobs that can only be set from the initial namespace: ${listKeys(globals)}`);
      }
    }

    // Is the value acceptable? The one validator lint, plan and apply share: errors are what the
    // kernel refuses (or nettune always refuses), warnings what the kernel takes but reads
    // differently from how it reads (octal) or what makes no sense (a negative timeout).
    if (a.value === '' && !(entry && entry.parser === 'port_list')) {
      invalid.add(a);
      msg('error', 'invalid-value', `${a.key}: empty value (nothing after '=')`);
    } else {
      // Availability of a congestion control is reported below as 'not-available' (a module may load at boot).
      const ctx: ValueContext = { sysctl: Object.fromEntries(live), netnsInit: snap.netns.init, congestion: { available: [], allowed: snap.congestion_control.allowed }, cpus: snap.cpus.online };
      const targets: { key: string; entry: CatalogEntry | undefined }[] = a.glob
        ? entries.size > 0
          ? [...entries.values()].map((e) => ({ key: e.key, entry: e }))
          : [{ key: a.key, entry: undefined }]
        : [{ key: a.key, entry }];
      for (const t of targets) {
        const check = validateSysctlValue(t, a.value, ctx);
        for (const p of check.problems) {
          if (p.severity === 'error') invalid.add(a);
          msg(p.severity, 'invalid-value', `${p.message}${valueHints(a.value)}`);
        }
        for (const n of check.notes) msg('info', 'invalid-value', n);
        if (check.problems.length) break;
      }
      for (const e of entries.values()) {
        if (invalid.has(a)) break;
        if (e.unit === 'pages' && (e.type === 'int' || e.type === 'int_vector')) {
          const pages = Math.max(...normaliseSysctlValue(kernelForm(e, a.value)).split(' ').map(Number));
          const bytes = pages * snap.memory.page_size;
          if (bytes > snap.memory.total_bytes)
            msg(
              'warning',
              'implausible-value',
              `${e.key} is counted in pages: ${pages} pages × ${snap.memory.page_size} B = ${gib(bytes)}, more than this host's ${gib(snap.memory.total_bytes)} of memory — a value in bytes by mistake? (divide by ${snap.memory.page_size})`,
            );
        }
      }
      if (exists && !invalid.has(a) && a.key === 'net.ipv4.tcp_congestion_control') {
        const cc = normaliseSysctlValue(a.value);
        const avail = snap.congestion_control.available;
        if (avail.length && !avail.includes(cc))
          msg('warning', 'not-available', `congestion control ${JSON.stringify(cc)} is not available now (${avail.join(' ')}); the write succeeds only if the kernel can load module tcp_${cc}`);
      }
    }
  }

  // ---- overrides and duplicates
  for (const [k, list] of explicit) {
    const win = list[list.length - 1] as SysctlAssignment;
    const rejected = invalid.has(win)
      ? " — but that value is invalid and its write fails, so the key keeps the last valid value written before it (sysctl --system writes every line) or the kernel's own (systemd-sysctl writes only the last)"
      : '';
    for (const a of list.slice(0, -1)) {
      const same = sameValue(a.value, win.value);
      push({
        file: a.file,
        line: a.line,
        severity: 'warning',
        code: same ? 'duplicate' : 'overridden',
        key: k,
        message: same
          ? `${k} is set again to the same value at ${where(win)}; this line has no effect`
          : `${k} = ${show(a.value)} is overridden by ${where(win)} (${k} = ${show(win.value)})${rejected}`,
      });
    }
  }
  for (const g of all) {
    if (!g.glob) continue;
    const matches = globMatchesOf.get(g) ?? [];
    const lost: string[] = [];
    for (const k of matches) {
      if (excluded.has(k) && !explicit.has(k)) continue; // deliberate exclusion
      const w = effective.get(k);
      if (!w || w === g || sameValue(w.value, g.value)) continue;
      const order = all.indexOf(w) < all.indexOf(g) ? ', an explicit key wins over any glob whatever the order' : '';
      lost.push(`${k} (${where(w)} = ${show(w.value)}${w.glob ? '' : order})`);
    }
    if (lost.length)
      push({
        file: g.file,
        line: g.line,
        severity: 'warning',
        code: 'overridden',
        key: g.key,
        message: `${g.raw_key} = ${show(g.value)} is overridden for ${lost.length} of ${matches.length} matching keys: ${listKeys(lost, 4)}`,
      });
  }
  for (const x of exclusions) {
    if (x.glob) {
      push({ file: x.file, line: x.line, severity: 'warning', code: 'exclusion', key: x.key, message: `-${x.raw_key}: an exclusion names one key; a pattern excludes nothing` });
      continue;
    }
    if (!all.some((a) => a.glob && globMatches(a.key, x.key)))
      push({ file: x.file, line: x.line, severity: 'info', code: 'exclusion', key: x.key, message: `-${x.raw_key}: no glob assignment matches ${x.key}, so the exclusion has no effect` });
  }

  // ---- drift: the winning value is not what the kernel has now
  const drift = new Map<SysctlAssignment, string[]>();
  for (const [k, a] of effective) {
    const now = live.get(k);
    if (now === undefined || invalid.has(a) || blocked.has(k)) continue;
    if (!sameValue(kernelForm(findEntry(k), a.value), now)) drift.set(a, [...(drift.get(a) ?? []), `${k} (now ${now})`]);
  }
  for (const [a, ks] of drift) {
    const src = snap.netns.name ? `namespace ${snap.netns.name}` : 'the kernel';
    // The live value being this kernel's default says more than "changed": the line was most
    // likely never applied (or the value was reset), not overridden by something else.
    const atDefault = !a.glob && differsFromDefault(a.key, snap) === false;
    push({
      file: a.file,
      line: a.line,
      severity: 'warning',
      code: 'drift',
      key: a.key,
      message: a.glob
        ? `${a.raw_key} = ${show(a.value)} is not in effect for ${ks.length} key${ks.length > 1 ? 's' : ''}: ${listKeys(ks, 4)}`
        : atDefault
          ? `${a.key} = ${show(a.value)} is not in effect: ${src} has ${live.get(a.key) ?? '?'}, this kernel's default, so the line was most likely never applied (sysctl --system, or a reboot, applies it)`
          : `${a.key} = ${show(a.value)} is not in effect: ${src} has ${live.get(a.key) ?? '?'} (not applied since the file changed, or changed at run time)`,
    });
  }

  // ---- winning lines that only restate this kernel's default: harmless here, but they pin the
  // value across kernel upgrades that change the default (rmem_max 6.18, somaxconn 5.4 …).
  for (const [k, a] of effective) {
    if (a.glob || invalid.has(a) || blocked.has(k) || !live.has(k)) continue;
    const d = kernelDefault(k, snap);
    if (!d || d.status !== 'exact' || defaultHistory(k) === null) continue;
    if (!sameValue(kernelForm(findEntry(k), a.value), d.value ?? '')) continue;
    push({
      file: a.file,
      line: a.line,
      severity: 'info',
      code: 'kernel-default',
      key: k,
      message: `${k} = ${show(a.value)} is this ${snap.kernel.release} kernel's own default (${d.how || 'see nettune explain'}); the line changes nothing here and keeps the value if a later kernel changes the default`,
    });
  }

  // ---- what the audit rules would say about the resulting configuration
  const copy = structuredClone(snap);
  const applied = new Map<string, SysctlAssignment>();
  for (const [k, a] of effective) {
    if (invalid.has(a) || blocked.has(k) || !(k in snap.sysctl)) continue;
    const v = kernelForm(findEntry(k), a.value);
    if (copy.sysctl[k] === v) continue;
    copy.sysctl[k] = v;
    applied.set(k, a);
    if (k === 'net.ipv4.tcp_congestion_control') copy.congestion_control.current = v;
  }
  if (applied.size > 0) {
    const ident = (f: Finding): string => `${f.id}\u0000${f.subject ?? ''}`;
    const workload = opts.workload ?? 'balanced';
    const before = new Set(evaluate(allRules, { snap, workload }).findings.map(ident));
    for (const f of evaluate(allRules, { snap: copy, workload }).findings) {
      if (before.has(ident(f))) continue;
      // The assignment behind it: the first evidence line naming a key this configuration changes.
      const causeKey = f.evidence.map((e) => e.what).find((w) => applied.has(w)) ?? null;
      const cause = causeKey === null ? undefined : applied.get(causeKey);
      push({
        file: cause?.file ?? null,
        line: cause?.line ?? null,
        severity: f.severity === 'info' ? 'info' : 'warning',
        code: 'rule-finding',
        key: causeKey,
        rule: f.id,
        message: `${f.id} (${f.severity}) would fire with this configuration: ${f.message}`,
      });
    }
  }

  const assignments: LintAssignment[] = all.map((a) => {
    const wins = appliesTo.get(a) ?? [];
    // A key nothing on this host matches still "wins" when no later line sets it.
    const unresolved = a.glob ? (globMatchesOf.get(a) ?? []).length === 0 && lastGlobWithKey.get(a.key) === a : !live.has(a.key) && effective.get(a.key) === a;
    return { ...a, winner: wins.length > 0 || unresolved, applies_to: wins.sort() };
  });
  const eff: LintResult['effective'] = {};
  for (const k of [...effective.keys()].sort()) {
    const a = effective.get(k) as SysctlAssignment;
    eff[k] = { value: a.value, file: a.file, line: a.line };
  }
  return { assignments, exclusions, effective: eff, messages };
}
