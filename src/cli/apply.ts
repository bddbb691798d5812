// `apply` (a plan, a sysctl.conf file, --set pairs or a workload, as one transaction), `history`
// and `show-tx`. confirm, rollback, recover and the watchdogs are in cli/state.ts.
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { settle, startWatchdog } from '../apply/confirm.js';
import { getTx, listTx, openJournal, snapshotsOf, stepsOf } from '../apply/journal.js';
import { DEFAULT_PERSIST_FILE, nicUnitPath } from '../apply/persist.js';
import { persistPathProblem } from '../apply/file-state.js';
import { mptcpUnitPath } from '../apply/kind-mptcp.js';
import { mptcpLiveValue } from '../plan/mptcp-change.js';
import { applyTransaction } from '../apply/transaction.js';
import { type InputChange, parseSet, toTarget, validateChanges } from '../apply/validate.js';
import { systemIO, targetLabel } from '../apply/io.js';
import { checkBinding, type LiveChange, renderDifferences } from '../apply/binding.js';
import { globMatches, parseSysctlConf } from '../lint/parse.js';
import { buildPlan, checkDeadPeer } from '../plan/index.js';
import { type Plan, planSchema } from '../plan/schema.js';
import { WORKLOADS } from '../plan/types.js';
import { checkIfacesIn, type IfaceSpec, parseIfaces } from '../plan/multihomed.js';
import { parseDuration } from '../units/index.js';
import type { Snapshot } from '../snapshot/index.js';
import { environmentError, usageError } from '../sys/errors.js';
import { parseJsonText, readInputFile } from '../sys/fs.js';
import { ensureTools, installAllowed, isRoot } from '../sys/tools.js';
import { linkSpec } from './audit.js';
import { CONNS, countFlag, HISTORY_LIMIT } from './flags.js';
import { ask, getSnapshot, logErr, parseOptions, print, printJson, withJson } from './common.js';
import { table } from './format.js';
import { nftApplyWarnings, nftCheckProblems, nftPersistPaths, nftPreviewRow } from '../apply/kind-nft-cli.js';
import { describeRoutePersist, placeRouting, routePersistHints, routePersistPaths } from '../apply/persist-routes-files.js';

const applyOptions = z
  .object({
    json: z.boolean().optional(),
    netns: z.string().optional(),
    set: z.array(z.string()).optional(),
    workload: z.enum(WORKLOADS).optional(),
    link: z.string().optional(),
    rtt: z.string().optional(),
    loss: z.string().optional(),
    conns: countFlag(CONNS).optional(),
    deadPeer: z.string().optional(),
    persist: z.boolean().optional(),
    persistFile: z.string().optional(),
    root: z.string().optional(),
    confirm: z.string().optional(),
    dryRun: z.boolean().optional(),
    yes: z.boolean().optional(),
    force: z.boolean().optional(),
    iface: z.array(z.string()).optional(),
  })
  .refine((o) => (o.workload === 'multihomed') === Boolean(o.iface?.length), { message: '--workload multihomed and --iface IF=ADDR/PREFIX,gw=GW go together' })
  .refine((o) => Boolean(o.link) === Boolean(o.rtt), { message: '--link and --rtt go together' });

type ApplyOptions = z.infer<typeof applyOptions>;

interface Inputs {
  source: string;
  plan: unknown;
  /** A plan file: where it was made (checked against the live host before the lock). */
  boundTo?: Plan['host'];
  changes: InputChange[];
}

/** Refuses a plan file made elsewhere (host, namespace) or whose `from` values are no longer the
 *  live ones, listing each difference; with --force it says so and goes on (the transaction reads
 *  and journals the live before-values as always). */
async function checkPlanBinding(inputs: Inputs, snap: Snapshot, netns: string | null, force: boolean): Promise<void> {
  if (!inputs.boundTo) return;
  const io = systemIO(netns);
  const live: LiveChange[] = [];
  for (const { change: c } of inputs.changes) {
    const target = toTarget(c);
    let value: string | null;
    if (c.kind === 'sysctl') value = snap.sysctl[c.key] ?? null;
    else if (c.from === null) value = null;
    else value = await io.read(target).catch(() => null);
    live.push({ label: targetLabel(target), kind: c.kind, from: c.from, to: c.to, live: value });
  }
  const check = checkBinding(inputs.boundTo, { hostname: snap.hostname, machine_id: snap.machine_id ?? null, netns: snap.netns.name }, live);
  for (const n of check.notes) logErr(`nettune: note: ${inputs.source}: ${n}`);
  if (!check.differences.length) return;
  const lines = renderDifferences(check.differences);
  if (!force)
    throw usageError(
      `${inputs.source} was made for another host, namespace or state; nothing was changed:\n  ${lines.join('\n  ')}`,
      'make a new plan here (nettune plan … --out FILE), or apply this one anyway with --force',
    );
  logErr(`nettune: applying ${inputs.source} despite these differences (--force); the live values are recorded as the before-values:\n  ${lines.join('\n  ')}`);
}

function multihomedIfaces(flags: string[] | undefined, snap: Snapshot): IfaceSpec[] | null {
  if (!flags?.length) return null;
  const ifaces = parseIfaces(flags);
  checkIfacesIn(snap, ifaces);
  return ifaces;
}

/** Turns the one input the user gave (file, --set, --workload) into changes. */
function readInputs(file: string | undefined, opts: ApplyOptions, snap: Snapshot): Inputs {
  const given = [file !== undefined, (opts.set?.length ?? 0) > 0, opts.workload !== undefined].filter(Boolean).length;
  if (given !== 1) throw usageError('give exactly one of: a PLAN.json or sysctl.conf file, --set key=value…, or --workload W');
  if (opts.set?.length) {
    const changes: InputChange[] = [];
    for (const s of opts.set) {
      const c = parseSet(s);
      if (typeof c === 'string') throw usageError(c);
      changes.push({ change: c, reason: 'requested with --set', source: 'cli:--set' });
    }
    return { source: `--set ${opts.set.join(' ')}`, plan: null, changes };
  }
  if (opts.workload) {
    const plan = buildPlan(snap, {
      workload: opts.workload,
      link: linkSpec(opts),
      conns: opts.conns ?? null,
      dead_peer_s: opts.deadPeer ? checkDeadPeer(parseDuration(opts.deadPeer, '--dead-peer')) : null,
      ifaces: multihomedIfaces(opts.iface, snap),
    });
    return { source: `--workload ${opts.workload}`, plan, changes: plan.changes.map(({ reason, source, ...change }) => ({ change, reason, source })) };
  }
  const path = file ?? '';
  const text = readInputFile(path); // FIFOs, devices, directories, > 4 MiB, binary: exit 2
  if (text.trimStart().startsWith('{')) {
    const j = parseJsonText(text);
    if (!j.ok) throw usageError(`${path}: not valid JSON: ${j.message}`);
    const doc = j.value;
    const r = planSchema.safeParse(doc);
    if (!r.success) throw usageError(`${path}: not a valid plan: ${r.error.issues[0]?.path.join('.') ?? ''}: ${r.error.issues[0]?.message ?? ''}`);
    return { source: path, plan: r.data, boundTo: r.data.host, changes: r.data.changes.map(({ reason, source, ...change }) => ({ change, reason, source })) };
  }
  // A sysctl.conf-style file, read with the same parser as `lint`; later lines override earlier.
  const parsed = parseSysctlConf(text, path);
  if (parsed.problems.length) throw usageError(parsed.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
  const byKey = new Map<string, InputChange>();
  const excluded = parsed.exclusions.map((e) => e.key);
  for (const a of parsed.assignments) {
    const keys = a.glob ? Object.keys(snap.sysctl).filter((k) => globMatches(a.key, k) && !excluded.some((x) => globMatches(x, k))) : [a.key];
    for (const key of keys)
      byKey.set(key, { change: { kind: 'sysctl', key, from: snap.sysctl[key] ?? null, to: a.value }, reason: `${path}:${a.line}`, source: `file:${path}`, ignoreMissing: a.ignore_failure });
  }
  return { source: path, plan: null, changes: [...byKey.values()] };
}

function renderPreview(rows: { target: string; before: string | null; wanted: string }[]): string {
  return table([['TARGET', 'CURRENT', 'NEW'], ...rows.map((r) => [r.target, r.before ?? (r.target.startsWith('mptcp endpoint') ? '(absent)' : '(see device)'), r.wanted])]);
}

/** Unconfirmed transactions past their deadline are reverted (by a root command that may write),
 *  half-done ones reported. */
async function warnIfStale(write = false): Promise<void> {
  await settle({ write: write && isRoot(), log: logErr });
}

export function registerApply(program: Command): void {
  withJson(
    program
      .command('apply')
      .description('apply a plan, a sysctl.conf file, --set pairs or a workload as one transaction (validated first, rolled back on failure, journaled)')
      .argument('[file]', 'PLAN.json (from `nettune plan --out`) or a sysctl.conf-style file'),
  )
    .option('--netns <name>', 'apply inside this network namespace')
    .option('--set <key=value>', 'a sysctl (or ethtool:DEV:GROUP:SETTING=V, sysfs:PATH=V); repeatable', (v: string, acc: string[] = []) => [...acc, v])
    .option('--workload <w>', 'plan for this workload and apply it (with --link/--rtt/--loss/--conns/--dead-peer)')
    .option('--link <rate>', 'link rate for --workload')
    .option('--rtt <dur>', 'round-trip time for --workload')
    .option('--loss <pct>', 'loss for --workload')
    .option('--conns <n>', 'expected connections for --workload')
    .option('--dead-peer <dur>', 'dead-peer target for --workload')
    .option('--iface <IF=ADDR/PREFIX,gw=GW>', 'interfaces for --workload multihomed; repeatable', (v: string, acc: string[] = []) => [...acc, v])
    .option('--persist', `also write the settings to ${DEFAULT_PERSIST_FILE} (atomically; rollback restores the old file)`)
    .option('--persist-file <path>', 'where --persist writes')
    .option('--root <dir>', 'prefix for the persisted file path (staging, tests)')
    .option('--confirm <dur>', 'revert automatically unless `nettune confirm` arrives within DUR (survives the applier being killed)')
    .option('--dry-run', 'validate and show the diff, change nothing')
    .option('--yes', 'do not ask')
    .option('--force', 'apply a plan file although it was made on another host or namespace, or its `from` values are not the live ones; add an MPTCP endpoint on an address no interface has')
    .action(async (file: string | undefined, raw: unknown) => {
      const opts = parseOptions(applyOptions, raw);
      await warnIfStale(!opts.dryRun);
      const confirmS = opts.confirm ? parseDuration(opts.confirm, '--confirm') : null;
      if (confirmS !== null && (confirmS < 1 || confirmS > 86400)) throw usageError(`--confirm ${opts.confirm}: between 1s and 24h`);
      if (opts.netns) await ensureTools(['sysctl'], { install: installAllowed(), log: logErr });
      const snap = await getSnapshot({ netns: opts.netns });
      const inputs = readInputs(file, opts, snap);
      const v = validateChanges(inputs.changes, snap, { force: Boolean(opts.force) });
      v.errors.push(...(await nftCheckProblems(v.changes, opts.netns ?? null)));
      if (v.errors.length) throw usageError(`nothing was changed; fix these first:\n  ${v.errors.join('\n  ')}`);
      for (const w of v.warnings) logErr(`nettune: warning: ${w}`);
      await checkPlanBinding(inputs, snap, opts.netns ?? null, Boolean(opts.force));
      const persistFile = opts.persist || opts.persistFile ? join(opts.root ? resolve(opts.root) : '/', opts.persistFile ?? DEFAULT_PERSIST_FILE) : null;
      // routes and rules: where each goes at boot, by what configures its interface (persist-routes-files.ts)
      const routing = v.changes.flatMap((c) => (c.target.kind === 'route' || c.target.kind === 'rule' ? [{ target: c.target, to: c.to, comment: `${c.reason} (${c.source})` }] : []));
      const routePersist = persistFile && routing.length ? placeRouting(routing, snap, persistFile, opts.netns ?? null) : null;
      const routePersistJson = routePersist?.placements.map((p) => ({ target: targetLabel(p.change.target), iface: p.iface, manager: p.manager, mechanism: p.mechanism, path: p.path, why: p.why }));
      if (persistFile) {
        // a symlink or non-regular file where a boot file goes: refused before the lock (file-state.ts)
        const kinds = new Set(v.changes.map((c) => c.target.kind));
        const paths: [string, string][] = [...(kinds.has('sysctl') ? [[persistFile, '--persist file'] as [string, string]] : []), ...(kinds.has('ethtool') || kinds.has('sysfs') ? [[nicUnitPath(persistFile), 'NIC unit'] as [string, string]] : []), ...(kinds.has('mptcp') ? [[mptcpUnitPath(persistFile), 'MPTCP unit'] as [string, string]] : [])];
        paths.push(...nftPersistPaths(v.changes, persistFile, opts.netns ?? null));
        if (routePersist) paths.push(...routePersistPaths(routePersist, persistFile).map((p): [string, string] => [p, 'route persist file']));
        for (const [path, label] of paths) {
          const problem = persistPathProblem(path, label);
          if (problem) throw problem;
        }
      }
      const warnings = nftApplyWarnings(inputs.changes, snap);
      for (const w of warnings) logErr(`nettune: warning: ${w.message}`);
      if (persistFile && opts.netns && v.changes.some((c) => c.target.kind === 'sysctl'))
        logErr(`nettune: note: systemd-sysctl applies ${persistFile} to the initial namespace at boot; for ${opts.netns} load it with: ip netns exec ${opts.netns} sysctl -p ${persistFile}`);
      const preview = v.changes.map((c) => ({ target: targetLabel(c.target), before: c.target.kind === 'sysctl' ? (snap.sysctl[c.target.key] ?? null) : c.target.kind === 'mptcp' ? (mptcpLiveValue(snap, c.target) ?? null) : null, wanted: c.to }));
      if (!opts.json) {
        print(v.changes.length ? renderPreview(preview.map((p, i) => nftPreviewRow(p, v.changes[i], snap))) : 'Nothing to change.');
        for (const c of v.changes) if (c.target.kind === 'nft') print(`${targetLabel(c.target)} becomes:\n${c.to.replace(/\n+$/, '')}`);
        for (const s of v.skipped) print(`  skipped ${s.target}: ${s.reason}`);
      }
      if (v.changes.length === 0) {
        if (opts.json) printJson({ dry_run: Boolean(opts.dryRun), changes: [], skipped: v.skipped });
        if (inputs.changes.length > 0 && v.skipped.length === inputs.changes.length && v.skipped.some((s) => s.reason.startsWith('global knob')))
          throw usageError('every requested change is a global knob, which this namespace cannot set');
        return;
      }
      if (opts.dryRun) {
        if (opts.json) printJson({ dry_run: true, changes: preview, skipped: v.skipped, persist_file: persistFile, ...(routePersistJson ? { route_persist: routePersistJson } : {}), ...(warnings.length ? { warnings } : {}) });
        else {
          if (routePersist) print(['Routes and rules would be persisted as:', ...describeRoutePersist(routePersist.placements).map((l) => `  ${l}`)].join('\n'));
          print('Dry run: nothing was changed.');
        }
        return;
      }
      if (!isRoot()) throw environmentError('apply needs root to change kernel settings', 'run it with sudo, or use --dry-run to see what it would do');
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw usageError('refusing to change the system without --yes when stdin is not a terminal');
        if (!(await ask(`Apply ${v.changes.length} change(s)${opts.netns ? ` in ${opts.netns}` : ''}? [y/N] `))) throw usageError('not applied (answered no)');
      }
      const delay = Number(process.env.NETTUNE_STEP_DELAY_MS ?? 0);
      const result = await applyTransaction({
        changes: v.changes,
        netns: opts.netns ?? null,
        persistFile,
        source: inputs.source,
        plan: inputs.plan,
        before: snap,
        confirmS,
        stepDelayMs: Number.isFinite(delay) && delay > 0 ? Math.min(delay, 60_000) : 0,
        log: logErr,
        startWatchdog: (tx) => (confirmS !== null ? startWatchdog(tx, confirmS) : null),
        snapshotAfter: () => getSnapshot({ netns: opts.netns }),
        routePersist,
      });
      if (opts.json) printJson({ ...result, skipped: v.skipped, ...(routePersistJson ? { route_persist: routePersistJson } : {}), ...(warnings.length ? { warnings } : {}) });
      else {
        print(`Applied as transaction ${result.tx}${result.persisted.length ? `; persisted to ${result.persisted.join(' and ')}` : ''}.`);
        if (routePersist) print(['Routes and rules persisted as:', ...describeRoutePersist(routePersist.placements).map((l) => `  ${l}`), ...routePersistHints(routePersist.placements).map((l) => `  ${l}`)].join('\n'));
        for (const s of result.steps.filter((x) => x.adjusted)) print(`  ${s.target}: the kernel holds ${s.after} (asked ${s.wanted})`);
        if (result.confirm_deadline) print(`Reverts at ${result.confirm_deadline} unless you run: nettune confirm ${result.tx}`);
        else print(`Undo with: nettune rollback ${result.tx}`);
      }
    });

  withJson(program.command('history').description('the transaction journal, newest first'))
    .option('--limit <n>', 'how many (default 50)')
    .action(async (raw: unknown) => {
      const opts = parseOptions(z.object({ json: z.boolean().optional(), limit: countFlag(HISTORY_LIMIT).optional() }), raw);
      await warnIfStale();
      const rows = listTx(openJournal(), opts.limit ?? 50);
      if (opts.json) return printJson({ transactions: rows.map(({ plan: _p, ...r }) => r) });
      if (!rows.length) return print('No transactions yet.');
      print(table([['ID', 'STARTED', 'STATUS', 'NETNS', 'SOURCE'], ...rows.map((r) => [String(r.id), r.started_at, r.status, r.netns ?? '-', r.source])]));
    });

  withJson(program.command('show-tx').description('one transaction: every step with before, wanted and read-back values').argument('<tx>'))
    .option('--snapshots', 'include the before/after Snapshots (JSON only)')
    .action((txArg: string, raw: unknown) => {
      const opts = parseOptions(z.object({ json: z.boolean().optional(), snapshots: z.boolean().optional() }), raw);
      const db = openJournal();
      const tx = getTx(db, Number(txArg));
      if (!tx || !/^\d+$/.test(txArg)) throw usageError(`no transaction ${txArg}`);
      const steps = stepsOf(db, tx.id);
      if (opts.json) return printJson({ ...tx, steps, ...(opts.snapshots ? snapshotsOf(db, tx.id) : {}) });
      print(`Transaction ${tx.id}: ${tx.status} · ${tx.source}${tx.netns ? ` · netns ${tx.netns}` : ''} · ${tx.started_at} → ${tx.finished_at ?? '…'}`);
      if (tx.error) print(`  error: ${tx.error}`);
      if (tx.confirm_deadline) print(`  confirm by ${tx.confirm_deadline}`);
      print(
        table([
          ['#', 'TARGET', 'BEFORE', 'WANTED', 'READ BACK', 'STATE'],
          ...steps.map((s) => [String(s.seq), targetLabel(s.target), s.target.kind === 'file' ? (s.before === null ? '(none)' : '(file)') : (s.before ?? '?'), s.target.kind === 'file' ? '(file)' : s.wanted, s.after ?? '', s.status]),
        ]),
      );
    });
}
