// Where apply --persist puts each route and rule, and the files that makes: every change belongs
// to an interface (a route's dev; a rule's iif/oif, else the link that holds its `from` address,
// else the device of its table's routes), and the Snapshot's net_managers says what configures
// that interface (src/probe/net-managers.ts). networkd → a drop-in next to the link's .network
// file; ifupdown → the if-up.d/if-down.d hooks; NetworkManager, nothing, a namespace, or what a
// drop-in cannot say → nettune-route.service. plan shows the same choice (describeRoutePersist).
import { basename, dirname, join } from 'node:path';
import { parseRouteValue, parseRulesValue, ROUTE_ABSENT, type RoutingTarget, routingLabel } from '../plan/multihomed-kinds.js';
import { parsePrefix, parseRoutes, prefixContains } from '../probe/parse-routes.js';
import type { Snapshot } from '../snapshot/index.js';
import type { NetManagerName } from '../snapshot/plain.js';
import {
  entryId,
  IFUPDOWN_HOOK_NAME,
  mergeEntries,
  NETWORKD_DROPIN_NAME,
  parseRoutingEntries,
  renderIfupdownHook,
  renderNetworkdDropin,
  renderRouteUnit,
  ROUTE_UNIT_NAME,
  type RoutingEntry,
  type RoutingHeader,
} from './persist-routes.js';

export type RouteMechanism = 'networkd' | 'ifupdown' | 'unit';

export interface RoutingChangeIn {
  target: RoutingTarget;
  /** Canonical wanted value, or 'absent'. */
  to: string;
  comment: string;
}

export interface Placement {
  change: RoutingChangeIn;
  iface: string | null;
  manager: NetManagerName | null;
  mechanism: RouteMechanism;
  /** The file the entry goes to (the up hook for ifupdown). */
  path: string;
  /** The .network file a networkd drop-in extends. */
  networkFile: string | null;
  /** Why this mechanism, in one sentence (the manager's evidence, or why not the manager's file). */
  why: string;
}

/** The persist paths, all under the `/etc` of the --persist file (so --root stages all of them). */
export const etcOf = (persistFile: string): string => dirname(dirname(persistFile));
export const routeUnitPath = (persistFile: string): string => join(etcOf(persistFile), 'systemd', 'system', ROUTE_UNIT_NAME);
export const ifupdownHookPaths = (persistFile: string): { up: string; down: string } => ({
  up: join(etcOf(persistFile), 'network', 'if-up.d', IFUPDOWN_HOOK_NAME),
  down: join(etcOf(persistFile), 'network', 'if-down.d', IFUPDOWN_HOOK_NAME),
});
/** /etc/systemd/network/NAME.network.d/90-nettune.conf for a .network file anywhere (drop-in
 *  directories in /etc apply to a .network file in /run or /lib too: systemd.network(5)). */
export const networkdDropinPath = (persistFile: string, networkFile: string): string => join(etcOf(persistFile), 'systemd', 'network', `${basename(networkFile)}.d`, NETWORKD_DROPIN_NAME);

const devsOfRoute = (value: string, t: RoutingTarget): string[] => {
  try {
    return parseRouteValue(value, t.family).devs;
  } catch {
    return [];
  }
};

/** The interface a route or rule belongs to, or null (a blackhole route, a rule for all traffic). */
export function routingIface(c: RoutingChangeIn, snap: Snapshot, others: readonly RoutingChangeIn[]): string | null {
  const t = c.target;
  if (c.to === ROUTE_ABSENT) return null;
  if (t.kind === 'route') return devsOfRoute(c.to, t)[0] ?? null;
  const rules = parseRulesValue(c.to, t.family);
  for (const r of rules) {
    const i = r.tokens.indexOf('iif');
    const o = r.tokens.indexOf('oif');
    const dev = i >= 0 ? r.tokens[i + 1] : o >= 0 ? r.tokens[o + 1] : undefined;
    if (dev) return dev;
  }
  for (const r of rules) {
    const p = r.from ? parsePrefix(r.from, t.family) : null;
    const link = p ? snap.links.find((l) => l.addresses.some((a) => prefixContains(p, a.local))) : undefined;
    if (link) return link.name;
  }
  for (const r of rules) {
    if (r.lookup === null) continue;
    const planned = others.flatMap((o) => (o.target.kind === 'route' && o.target.table === r.lookup && o.target.family === t.family && o.to !== ROUTE_ABSENT ? devsOfRoute(o.to, o.target) : []));
    const present = parseRoutes(snap.routes).routes.flatMap((x) => (x.table === r.lookup && x.family === t.family ? devsOfRoute(x.value.value, t) : []));
    const devs = [...new Set(planned.length ? planned : present)];
    if (devs.length === 1) return devs[0] ?? null;
  }
  return null;
}

export interface RoutePersistPlan {
  placements: Placement[];
  /** Every networkd-managed link's drop-in (an earlier transaction's entries may be there). */
  dropins: { path: string; networkFile: string; iface: string }[];
  netns: string | null;
}

/** Decides, per change, the mechanism and the file (before the lock; nothing is read but the Snapshot). */
export function placeRouting(changes: readonly RoutingChangeIn[], snap: Snapshot, persistFile: string, netns: string | null): RoutePersistPlan {
  const managers = snap.net_managers;
  const unit = routeUnitPath(persistFile);
  const dropins = netns !== null ? [] : (managers?.links ?? []).flatMap((l) => (l.manager === 'networkd' && l.file ? [{ path: networkdDropinPath(persistFile, l.file), networkFile: l.file, iface: l.name }] : []));
  const placements = changes.map((change): Placement => {
    const iface = routingIface(change, snap, changes);
    const base = { change, iface, networkFile: null };
    const toUnit = (manager: NetManagerName | null, why: string): Placement => ({ ...base, manager, mechanism: 'unit', path: unit, why });
    if (netns !== null) return toUnit(null, `namespace ${netns}: systemd-networkd and ifupdown configure the initial namespace only; the unit runs ip -n ${netns}`);
    if (change.to === ROUTE_ABSENT) return toUnit(null, 'removed: dropped from every file nettune persisted it in');
    if (iface === null) return toUnit(null, 'it belongs to no interface (no device, and no interface holds its source address)');
    if (!managers) return toUnit(null, 'the Snapshot does not say what configures the interfaces (taken before nettune recorded it)');
    const m = managers.links.find((l) => l.name === iface);
    if (!m) return toUnit(null, `${iface} is not in the Snapshot's interfaces`);
    if (m.manager === 'networkd' && m.file) {
      const shared = managers.links.filter((l) => l.manager === 'networkd' && l.file === m.file && l.name !== iface).map((l) => l.name);
      if (shared.length) return toUnit('networkd', `${m.file} also configures ${shared.join(', ')}: a drop-in would give ${shared.length > 1 ? 'them' : 'it'} these routes too`);
      try {
        renderNetworkdDropin(m.file, iface, [{ target: change.target, value: change.to, iface, netns: null, comment: '' }], { tx: 0, at: '' });
      } catch (err) {
        return toUnit('networkd', `systemd-networkd cannot hold it: ${(err as Error).message}`);
      }
      return { ...base, manager: 'networkd', mechanism: 'networkd', path: networkdDropinPath(persistFile, m.file), networkFile: m.file, why: m.evidence };
    }
    if (m.manager === 'ifupdown') return { ...base, manager: 'ifupdown', mechanism: 'ifupdown', path: ifupdownHookPaths(persistFile).up, why: m.evidence };
    if (m.manager === 'NetworkManager')
      return toUnit('NetworkManager', `${m.evidence}; nettune does not write NetworkManager's connection profiles (nmcli connection modify ${iface} +ipv4.routes / +ipv4.routing-rules would be its own way)`);
    return toUnit('none', m.evidence);
  });
  return { placements, dropins, netns };
}

/** Every file routePersistFiles may read or write (checked before the lock, read before it renders). */
export function routePersistPaths(plan: RoutePersistPlan, persistFile: string): string[] {
  const hooks = ifupdownHookPaths(persistFile);
  return [...new Set([...plan.placements.map((p) => p.path), ...plan.dropins.map((d) => d.path), hooks.up, hooks.down, routeUnitPath(persistFile)])];
}

export interface PersistFile {
  path: string;
  /** null: remove it (its last entry went). */
  content: string | null;
  /** Mode for a new file (the hooks are executables run by run-parts). */
  mode: number;
}

/** The files to write: each file's earlier entries merged with this transaction's (an entry that
 *  moved, or was removed, leaves every other file), rendered; a file left without entries goes. */
export function routePersistFiles(plan: RoutePersistPlan, persistFile: string, read: (path: string) => string | null, h: RoutingHeader): PersistFile[] {
  const { placements, netns } = plan;
  const hooks = ifupdownHookPaths(persistFile);
  const entryOf = (p: Placement): RoutingEntry => ({ target: p.change.target, value: p.change.to, iface: p.iface, netns, comment: p.change.comment });
  const placed = placements.filter((p) => p.change.to !== ROUTE_ABSENT);
  const touched = new Set(placements.map((p) => entryId({ target: p.change.target, netns })));
  const dropins = new Map<string, { networkFile: string; iface: string }>();
  for (const d of plan.dropins) if (read(d.path) !== null) dropins.set(d.path, d);
  for (const p of placed) if (p.mechanism === 'networkd' && p.networkFile && p.iface) dropins.set(p.path, { networkFile: p.networkFile, iface: p.iface });
  const out: PersistFile[] = [];
  const merged = (path: string): { before: string | null; entries: RoutingEntry[] } => {
    const before = read(path);
    const now = placed.filter((p) => p.path === path).map(entryOf);
    return { before, entries: mergeEntries(parseRoutingEntries(before).entries, now, touched) };
  };
  const emit = (path: string, before: string | null, content: string | null, mode = 0o644): void => {
    if (content === null && before === null) return;
    out.push({ path, content, mode });
  };
  for (const [path, d] of dropins) {
    const m = merged(path);
    emit(path, m.before, m.entries.length ? renderNetworkdDropin(d.networkFile, d.iface, m.entries, h) : null);
  }
  const anyIfupdown = placed.some((p) => p.mechanism === 'ifupdown');
  const up = merged(hooks.up);
  if (anyIfupdown || up.before !== null) {
    emit(hooks.up, up.before, up.entries.length ? renderIfupdownHook(up.entries, 'up', h) : null, 0o755);
    emit(hooks.down, read(hooks.down), up.entries.length ? renderIfupdownHook(up.entries, 'down', h) : null, 0o755);
  }
  const anyUnit = placed.some((p) => p.mechanism === 'unit');
  const unit = merged(routeUnitPath(persistFile));
  if (anyUnit || unit.before !== null) emit(routeUnitPath(persistFile), unit.before, unit.entries.length ? renderRouteUnit(unit.entries, h) : null);
  // a file whose entries did not change is not rewritten (its transaction and date stay)
  return out.filter((f) => {
    const before = read(f.path);
    return before === null ? f.content !== null : before !== f.content && !sameEntries(before, f.content);
  });
}

const sameEntries = (a: string, b: string | null): boolean => {
  if (b === null) return false;
  const ids = (t: string): string => JSON.stringify(parseRoutingEntries(t).entries.map((e) => [entryId(e), e.value, e.iface]));
  return ids(a) === ids(b);
};

const MECHANISM_TEXT: Record<RouteMechanism, string> = {
  networkd: 'systemd-networkd drop-in',
  ifupdown: 'ifupdown if-up.d/if-down.d hooks',
  unit: `oneshot unit ${ROUTE_UNIT_NAME}`,
};

/** One line per interface (and one for what belongs to none): the mechanism, the file, why. */
export function describeRoutePersist(placements: readonly Placement[]): string[] {
  const byKey = new Map<string, Placement[]>();
  for (const p of placements) {
    const k = `${p.iface ?? ''}\u0000${p.mechanism}\u0000${p.path}`;
    byKey.set(k, [...(byKey.get(k) ?? []), p]);
  }
  return [...byKey.values()].map((ps) => {
    const p = ps[0] as Placement;
    const what = ps.map((x) => routingLabel(x.change.target)).join(', ');
    return `${p.iface ?? '(no interface)'}: ${MECHANISM_TEXT[p.mechanism]} ${p.path}${p.mechanism === 'ifupdown' ? ' (+ if-down.d)' : ''} for ${what} (${p.why})`;
  });
}

/** What the operator does next, per mechanism used (each once). */
export function routePersistHints(placements: readonly Placement[]): string[] {
  const used = new Set(placements.filter((p) => p.change.to !== ROUTE_ABSENT).map((p) => p.mechanism));
  const out: string[] = [];
  if (used.has('networkd'))
    out.push('systemd-networkd reads the drop-in on `networkctl reload` or at boot; until then it may remove routes and rules it does not know (ManageForeignRoutes=, ManageForeignRoutingPolicyRules= in networkd.conf(5))');
  if (used.has('ifupdown')) out.push('ifupdown runs the hooks on every ifup/ifdown of the interface (run-parts); they act on that interface only');
  if (used.has('unit')) out.push(`nettune does not enable ${ROUTE_UNIT_NAME}; to run it at boot: systemctl enable ${ROUTE_UNIT_NAME}`);
  return out;
}
