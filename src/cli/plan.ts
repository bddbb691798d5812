// `nettune plan` (changes for a workload and link), `profiles` (what each workload considers, and a
// tuned profile next to it) and `diff` (two Snapshots, or a Snapshot and a Plan).
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { buildPlan, checkDeadPeer, emptyPlan, INTENTS } from '../plan/index.js';
import { parseNotrack } from '../plan/notrack.js';
import { withNotrack } from '../plan/notrack-plan.js';
import { type Plan, planSchema } from '../plan/schema.js';
import { compareTuned, loadTunedProfile, type TunedStatus } from '../plan/tuned.js';
import { changeCommand, WORKLOADS } from '../plan/types.js';
import { targetLabel } from '../apply/io.js';
import { MPTCP_ROLES, parseMptcpPaths } from '../plan/mptcp.js';
import { toTarget } from '../apply/validate.js';
import { baselineFromPlan, computeDrift } from '../monitor/drift.js';
import { checkIfacesIn, parseIfaces } from '../plan/multihomed.js';
import { checkNicIn } from '../plan/nic.js';
import { formatCount, formatMs, parseDuration, formatBytes, formatRate } from '../units/index.js';
import { type Snapshot, snapshotSchema } from '../snapshot/index.js';
import { usageError } from '../sys/errors.js';
import { IFNAME } from '../sys/names.js';
import { checkOutputPath, readJsonFile, writeOutputFile } from '../sys/fs.js';
import { linkSpec } from './audit.js';
import { CONN_RATE, CONNS, countFlag, perSecondFlag, UDP_RATE } from './flags.js';
import { describeRoutePersist, placeRouting } from '../apply/persist-routes-files.js';
import { DEFAULT_PERSIST_FILE } from '../apply/persist.js';
import { routingTarget } from '../plan/multihomed-kinds.js';
import { getSnapshot, parseOptions, print, printJson, sourceOptionsSchema, withJson, withSource } from './common.js';
import { table } from './format.js';

const planOptions = z
  .object({
    json: z.boolean().optional(),
    netns: z.string().optional(),
    snapshot: z.string().optional(),
    workload: z.enum(WORKLOADS).optional(),
    notrack: z.array(z.string()).optional(),
    direction: z.string().optional(),
    link: z.string().optional(),
    rtt: z.string().optional(),
    loss: z.string().optional(),
    conns: countFlag(CONNS).optional(),
    connRate: perSecondFlag(CONN_RATE).optional(),
    udpRate: perSecondFlag(UDP_RATE).optional(),
    deadPeer: z.string().optional(),
    out: z.string().optional(),
    nic: z.string().optional(),
    udpFlowHash: z.boolean().optional(),
    mptcpPaths: z.string().optional(),
    mptcpRole: z.enum(MPTCP_ROLES),
    iface: z.array(z.string()).optional(),
  })
  .refine((o) => (o.workload === 'multihomed') === Boolean(o.iface?.length), { message: '--workload multihomed and --iface IF=ADDR/PREFIX,gw=GW go together' })
  .refine((o) => !(o.netns && o.snapshot), { message: '--netns and --snapshot cannot be used together' })
  .refine((o) => o.workload !== undefined || o.notrack !== undefined, { message: 'give --workload W, --notrack PROTO:PORTS, or both' })
  .refine((o) => o.direction === undefined || o.notrack !== undefined, { message: '--direction goes with --notrack' })
  .refine((o) => o.connRate === undefined || o.workload === 'connections', { message: '--conn-rate goes with --workload connections (conntrack sizing)' })
  .refine((o) => o.udpRate === undefined || o.workload === 'connections', { message: '--udp-rate goes with --workload connections (conntrack sizing)' })
  .refine((o) => Boolean(o.link) === Boolean(o.rtt), { message: '--link and --rtt go together (the BDP needs both)' });

const short = (v: string | null, n = 26): string => (v === null ? '(unset)' : v.length > n ? `${v.slice(0, n - 1)}…` : v);

export function renderPlan(plan: Plan): string {
  const l = plan.link;
  const out = [
    `Plan for ${plan.host.hostname} (kernel ${plan.host.kernel}${plan.host.netns ? `, netns ${plan.host.netns}` : ''}) ${plan.workload ? ` · workload ${plan.workload}` : ''}${l ? ` · link ${formatRate(l.rate_bps)} × ${formatMs(l.rtt_s)}, BDP ${Number((l.bdp_bytes / 1e6).toPrecision(3))} MB (${formatBytes(l.bdp_bytes)})${l.loss_pct !== null ? `, loss ${l.loss_pct} %` : ''}` : ''}`,
    '',
  ];
  if (plan.changes.length === 0) out.push('No changes: nothing this workload and link need differs from the host.');
  else {
    out.push(
      table([
        ['CHANGE', 'FROM', 'TO', 'SOURCE'],
        ...plan.changes.map((c) => [
          c.kind === 'sysctl' ? c.key : c.kind === 'ethtool' ? `${c.device} ${c.group} ${c.setting}` : c.kind === 'nft' ? `nft table ${c.family} ${c.table}` : c.kind === 'mptcp' || c.kind === 'route' || c.kind === 'rule' ? targetLabel(toTarget(c)) : c.path,
          c.kind === 'nft' ? (c.from === null ? '(as live)' : 'a table') : short(c.from),
          c.kind === 'nft' ? `table, ${c.to.split('\n').filter((l) => /^\s*chain /.test(l)).length} chains (below)` : short(c.to),
          c.source,
        ]),
      ]),
    );
    out.push('', 'Why:');
    for (const c of plan.changes) out.push(`  ${c.kind === 'sysctl' ? c.key : c.kind === 'nft' ? `nft table ${c.family} ${c.table}` : changeCommand(c)}: ${c.reason}`);
    for (const c of plan.changes) if (c.kind === 'nft') out.push('', `nft table ${c.family} ${c.table} (applied in one nft -f transaction):`, ...c.to.replace(/\n+$/, '').split('\n').map((l) => `  ${l}`));
  }
  if (plan.conntrack) out.push('', ...renderConntrackFigure(plan.conntrack));
  if (plan.skipped.length) {
    out.push('', `Considered, not changed (${plan.skipped.length}):`);
    for (const s of plan.skipped) out.push(`  ${s.key}: ${s.reason}`);
  }
  if (plan.notes.length) out.push('', 'Notes:', ...plan.notes.map((n) => `  ${n}`));
  return out.join('\n');
}

/** The conntrack memory block of `plan`: a full table before → after, and the TIME_WAIT backlog. */
export function renderConntrackFigure(f: NonNullable<Plan['conntrack']>): string[] {
  const size = (t: typeof f.before): string => (t.max === null || t.buckets === null ? '?' : `${formatCount(t.max)} entries × ${f.entry_bytes} B + ${formatCount(t.buckets)} buckets × ${f.bucket_bytes} B = ${formatBytes(t.bytes_full)}`);
  const per = `${f.entry_bytes} B per entry${f.entry_source === 'fallback' ? ' (estimate: no slab size in the Snapshot)' : ' (nf_conntrack slab)'} and ${f.bucket_bytes} B per bucket`;
  const out = [`Conntrack memory when full, at ${per}:`, `  before: ${size(f.before)}`, `  after:  ${size(f.after)}`];
  const c = f.churn;
  if (c)
    out.push(
      `  TIME_WAIT at ${formatCount(c.conn_rate_per_s)}/s (Little's law, rate × timeout): ${c.time_wait_before_s} s → ${formatCount(c.time_wait_entries_before)} entries (${formatBytes(c.time_wait_bytes_before)})` +
        (c.time_wait_after_s !== c.time_wait_before_s ? `; ${c.time_wait_after_s} s → ${formatCount(c.time_wait_entries_after)} (${formatBytes(c.time_wait_bytes_after)})` : '') +
        (c.lifetime_s !== null ? `; mean connection lifetime --conns / rate = ${Math.round(c.lifetime_s * 10) / 10} s` : ''),
    );
  if (f.udp) out.push(`  UDP at ${formatCount(f.udp.rate_per_s)}/s (Little's law, rate × nf_conntrack_udp_timeout): ${f.udp.timeout_s} s → ${formatCount(f.udp.entries)} entries (${formatBytes(f.udp.bytes)})`);
  return out;
}

/** Where apply --persist would put the plan's routes and rules, per interface (the Snapshot's net_managers). */
function routePersistNotes(plan: Plan, snap: Snapshot): string[] {
  const routing = plan.changes.flatMap((c) => (c.kind === 'route' || c.kind === 'rule' ? [{ target: routingTarget(c), to: c.to, comment: c.reason }] : []));
  if (!routing.length) return [];
  const netns = snap.netns.init === false ? (snap.netns.name ?? '(unnamed namespace)') : null;
  return describeRoutePersist(placeRouting(routing, snap, DEFAULT_PERSIST_FILE, netns).placements).map((l) => `apply --persist writes routes and rules for ${l}`);
}

function loadDoc(file: string): { kind: 'snapshot'; snap: Snapshot } | { kind: 'plan'; plan: Plan } {
  const doc = readJsonFile(file, { what: 'a snapshot or a plan' });
  const schema = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).schema : undefined;
  const parsed = schema === 'nettune.plan/1' ? planSchema.safeParse(doc) : snapshotSchema.safeParse(doc);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw usageError(`${file}: not a valid ${schema === 'nettune.plan/1' ? 'plan' : 'snapshot'}: ${first?.path.join('.') || '(top level)'}: ${first?.message ?? ''}`);
  }
  return schema === 'nettune.plan/1' ? { kind: 'plan', plan: parsed.data as Plan } : { kind: 'snapshot', snap: parsed.data as Snapshot };
}

export interface SysctlDiff {
  key: string;
  a: string | null;
  b: string | null;
}

export function diffSnapshots(a: Snapshot, b: Snapshot): { sysctl: SysctlDiff[]; links: { name: string; field: string; a: string | null; b: string | null }[] } {
  const keys = [...new Set([...Object.keys(a.sysctl), ...Object.keys(b.sysctl)])].sort();
  const sysctl = keys.filter((k) => a.sysctl[k] !== b.sysctl[k]).map((k) => ({ key: k, a: a.sysctl[k] ?? null, b: b.sysctl[k] ?? null }));
  const links: { name: string; field: string; a: string | null; b: string | null }[] = [];
  const names = [...new Set([...a.links.map((l) => l.name), ...b.links.map((l) => l.name)])].sort();
  for (const name of names) {
    const la = a.links.find((l) => l.name === name);
    const lb = b.links.find((l) => l.name === name);
    if (!la || !lb) {
      links.push({ name, field: 'present', a: la ? 'yes' : null, b: lb ? 'yes' : null });
      continue;
    }
    for (const field of ['state', 'mtu', 'txqlen', 'rx_queues', 'tx_queues'] as const) {
      if (String(la[field]) !== String(lb[field])) links.push({ name, field, a: String(la[field]), b: String(lb[field]) });
    }
    const fa = la.ethtool?.features ?? {};
    const fb = lb.ethtool?.features ?? {};
    for (const f of [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort()) {
      const va = fa[f]?.active;
      const vb = fb[f]?.active;
      if (va !== vb) links.push({ name, field: `feature ${f}`, a: va === undefined ? null : va ? 'on' : 'off', b: vb === undefined ? null : vb ? 'on' : 'off' });
    }
  }
  return { sysctl, links };
}

/** Every planned change as a row, whatever its kind (the comparison drift makes): in effect,
 *  pending, or null with the reason when the Snapshot does not hold the value. */
export function diffPlan(snap: Snapshot, plan: Plan): { key: string; current: string | null; planned: string; in_effect: boolean | null; note?: string }[] {
  return computeDrift(snap, baselineFromPlan(plan, 'plan')).entries.map((e) => ({
    key: e.key,
    current: e.actual,
    planned: e.expected,
    in_effect: e.drifted === null ? null : !e.drifted,
    ...(e.drifted === null && e.note ? { note: e.note } : {}),
  }));
}

const TUNED_STATUS_TEXT: Record<TunedStatus, string> = {
  same: 'same',
  differs: 'differs',
  lowers: 'tuned LOWERS a current value',
  satisfied: 'already satisfied (tuned leaves it)',
  'not-captured': 'not captured in this snapshot',
  invalid: 'tuned cannot compare a vector with > or <; the kernel would refuse the write',
  unresolved: 'uses ${…} tuned evaluates on the host',
};

const profilesOptions = sourceOptionsSchema.and(z.object({ fromTuned: z.string().optional() }));

export function registerPlan(program: Command): void {
  withSource(program.command('plan').description('compute the changes a workload and link need on this host, each with its reason'))
    .option('--workload <w>', 'latency | throughput | connections | balanced | multihomed (with --iface)')
    .option('--notrack <proto:ports>', 'skip conntrack for these services (tcp:80,443,udp:53; ranges 8000-8100): an nft table inet nettune_raw; repeatable', (v: string, acc: string[] = []) => [...acc, v])
    .option('--direction <d>', 'with --notrack: in (services here: dport in, sport out; default), out (services this host connects to), both (a router forwarding them)')
    .option('--link <rate>', 'link rate, tc units (10gbit)')
    .option('--rtt <dur>', 'round-trip time (10ms)')
    .option('--loss <pct>', 'packet loss on the path, percent')
    .option('--conns <n>', 'expected concurrent connections (conntrack, ports)')
    .option('--conn-rate <n/s>', 'new connections per second (with --workload connections): the conntrack TIME_WAIT backlog by Little\'s law, rate × timeout')
    .option('--udp-rate <n/s>', 'new UDP flows per second (with --workload connections), e.g. DNS queries through a NAT: rate × nf_conntrack_udp_timeout entries')
    .option('--dead-peer <dur>', 'declare a silent peer dead after this long (keepalive), e.g. 90s')
    .option('--out <file>', 'write the plan JSON here (atomically), for `nettune apply FILE`')
    .option('--nic <dev,...>', 'NICs the NIC planner tunes (default: every physical device ethtool answers for)')
    .option('--udp-flow-hash', 'hash UDP flows on ports too (rx-flow-hash udp4/udp6 sdfn): many UDP flows between few hosts; fragmented datagrams then split across queues')
    .option('--mptcp-paths <if,if>', 'MPTCP over these interfaces (the first carries the initial subflow): endpoints and limits for them')
    .option('--mptcp-role <role>', 'client (subflow endpoints) | server (signal endpoints); with --mptcp-paths', 'client')
    .option('--iface <IF=ADDR/PREFIX,gw=GW>', 'multihomed: an interface, its address and its gateway; repeatable', (v: string, acc: string[] = []) => [...acc, v])
    .action(async (raw: unknown) => {
      const opts = parseOptions(planOptions, raw);
      const mptcp = opts.mptcpPaths !== undefined ? { paths: parseMptcpPaths(opts.mptcpPaths), role: opts.mptcpRole } : null;
      const nic = opts.nic === undefined ? null : opts.nic.split(',').map((d) => d.trim());
      for (const d of nic ?? []) if (!IFNAME.test(d)) throw usageError(`--nic ${opts.nic}: ${JSON.stringify(d)} is not an interface name`);
      const ifaces = opts.iface ? parseIfaces(opts.iface) : null; // exit 2 before probing
      const link = linkSpec(opts);
      if (opts.out !== undefined) checkOutputPath(opts.out, `--out ${opts.out}`); // before probing
      const deadPeer = opts.deadPeer ? checkDeadPeer(parseDuration(opts.deadPeer, '--dead-peer')) : null;
      const notrack = opts.notrack ? parseNotrack(opts.notrack, opts.direction) : null;
      if (typeof notrack === 'string') throw usageError(notrack); // before probing
      const snap = await getSnapshot(opts);
      if (ifaces) checkIfacesIn(snap, ifaces);
      if (nic) checkNicIn(snap, nic);
      const base = opts.workload ? buildPlan(snap, { workload: opts.workload, link, conns: opts.conns ?? null, conn_rate: opts.connRate ?? null, udp_rate: opts.udpRate ?? null, dead_peer_s: deadPeer, nic, udp_flow_hash: opts.udpFlowHash === true, mptcp, ifaces }) : emptyPlan(snap);
      const plan = notrack ? withNotrack(base, snap, notrack) : base;
      plan.notes.push(...routePersistNotes(plan, snap));
      if (opts.out !== undefined) writeOutputFile(opts.out, `${JSON.stringify(plan, null, 2)}\n`, { label: `--out ${opts.out}` });
      if (opts.json) printJson(plan);
      else print(renderPlan(plan) + (opts.out ? `\n\nWritten to ${resolve(opts.out)}; review it, then: nettune apply ${opts.out}` : ''));
    });

  withSource(program.command('profiles').description('what each workload intent considers; --from-tuned compares a tuned profile with this host'))
    .option('--from-tuned <name|path>', 'a tuned profile (name under /usr/lib/tuned or /etc/tuned, or a path): its [sysctl] values next to the current ones')
    .action(async (raw: unknown) => {
      const opts = parseOptions(profilesOptions, raw);
      const profiles = WORKLOADS.map((w) => ({ workload: w, intents: INTENTS.filter((i) => i.workloads.includes(w)).map((i) => ({ name: i.name, considers: i.considers })) }));
      if (!opts.fromTuned) {
        if (opts.json) return printJson({ profiles });
        for (const p of profiles) {
          print(`${p.workload}:`);
          for (const i of p.intents) print(`  ${i.name}: ${i.considers}`);
          print('  + fixes of audit findings at warn or above');
        }
        return;
      }
      const profile = loadTunedProfile(opts.fromTuned);
      const snap = await getSnapshot(opts);
      const rows = compareTuned(profile, snap.sysctl);
      if (opts.json) return printJson({ profile: opts.fromTuned, files: profile.files, notes: profile.notes, sysctl: rows });
      print(`tuned profile ${opts.fromTuned}, merged in tuned's order (included first, later wins):`);
      for (const f of profile.files) print(`  ${f}`);
      for (const n of profile.notes) print(`  note: ${n}`);
      if (!rows.length) return print(profile.empty_files.length === profile.files.length ? 'The profile is empty: it sets nothing.' : 'The profile sets no sysctls.');
      print(table([['KEY', 'TUNED', 'CURRENT', ''], ...rows.map((r) => [r.key, r.tuned, r.current ?? '(not captured)', TUNED_STATUS_TEXT[r.status]])]));
    });

  withJson(program.command('diff').description('compare two Snapshots, or a Snapshot and a Plan (which planned changes are in effect)').argument('<a>').argument('<b>')).action(
    (a: string, b: string, raw: unknown) => {
      const opts = parseOptions(z.object({ json: z.boolean().optional() }), raw);
      const da = loadDoc(a);
      const db = loadDoc(b);
      if (da.kind === 'plan' && db.kind === 'plan') throw usageError('diff compares two snapshots, or a snapshot and a plan — not two plans');
      if (da.kind === 'snapshot' && db.kind === 'snapshot') {
        const d = diffSnapshots(da.snap, db.snap);
        if (opts.json) return printJson(d);
        if (!d.sysctl.length && !d.links.length) return print('No differences in sysctls or links.');
        if (d.sysctl.length) print(table([['SYSCTL', a, b], ...d.sysctl.map((x) => [x.key, x.a ?? '(absent)', x.b ?? '(absent)'])]));
        if (d.links.length) print(table([['LINK', 'FIELD', a, b], ...d.links.map((x) => [x.name, x.field, x.a ?? '-', x.b ?? '-'])]));
        return;
      }
      const snap = da.kind === 'snapshot' ? da.snap : db.kind === 'snapshot' ? db.snap : null;
      const plan = da.kind === 'plan' ? da.plan : db.kind === 'plan' ? db.plan : null;
      if (!snap || !plan) throw usageError('diff needs a snapshot and a plan');
      const rows = diffPlan(snap, plan);
      if (opts.json) return printJson({ changes: rows, in_effect: rows.filter((r) => r.in_effect === true).length, pending: rows.filter((r) => r.in_effect === false).length, unknown: rows.filter((r) => r.in_effect === null).length });
      print(table([['KEY', 'CURRENT', 'PLANNED', ''], ...rows.map((r) => [r.key, r.current ?? '(absent)', r.planned, r.in_effect === null ? `unknown: ${r.note ?? 'not in the Snapshot'}` : r.in_effect ? 'in effect' : 'pending'])]));
    },
  );
}
