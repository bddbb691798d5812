// apply --persist for routes and rules, for real (root, a throw-away namespace per test, the files
// under a temp --root): the ifupdown hooks the transaction writes are run inside the namespace as
// ifupdown would (IFACE, MODE, PHASE), twice, and the routes and rules are there exactly once; the
// if-down hook removes them; a systemd-networkd drop-in merges with an earlier transaction's;
// nettune-route.service passes systemd-analyze verify; rollback leaves the temp root exactly as it
// was (content, modes, directories) and the kernel's tables too. The Snapshot's net_managers is
// the probe's own for the namespace (where nothing manages a link) with the link's manager set as
// on an ifupdown or networkd host: the placement follows it, the writes are the transaction's.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { placeRouting } from '../../src/apply/persist-routes-files.js';
import { detectNetManagers, hostFiles } from '../../src/probe/net-managers.js';
import { applyTransaction, type TxChange } from '../../src/apply/transaction.js';
import { canonicalWanted, type RoutingChange, type RoutingTarget } from '../../src/plan/multihomed-kinds.js';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { ctx, deleteNamespaces, freshDirs, isRoot, newNetns, nettune, start } from './state-helpers.js';

const ip = (ns: string, ...args: string[]): string => {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
/** ip -j output; a table that never held a route is "FIB table does not exist": empty. */
const json = (ns: string, ...args: string[]): unknown => {
  const r = spawnSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0 && /FIB table does not exist/.test(r.stderr)) return [];
  if (r.status !== 0) throw new Error(`ip -n ${ns} -j ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim() || '[]') as unknown;
};

/** The tables and rules the test's changes touch, as ip -j prints them. */
const routing = (ns: string): Record<string, unknown> => ({
  t100: json(ns, '-4', 'route', 'show', 'table', '100'),
  t200: json(ns, '-6', 'route', 'show', 'table', '200'),
  rules4: json(ns, '-4', 'rule', 'show'),
  rules6: json(ns, '-6', 'rule', 'show'),
});

/** Every file and directory under the root with its mode (and a file's content). */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const st = lstatSync(p);
      out[relative(root, p)] = st.isDirectory() ? `dir ${(st.mode & 0o7777).toString(8)}` : `${(st.mode & 0o7777).toString(8)} ${readFileSync(p, 'utf8')}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

const NETWORKD = '/lib/systemd/systemd-networkd';

function host(role: string): string {
  const ns = newNetns(role);
  ip(ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth9');
  for (const d of ['eth1', 'eth9', 'lo']) ip(ns, 'link', 'set', d, 'up');
  ip(ns, 'addr', 'add', '198.18.31.2/24', 'dev', 'eth1');
  ip(ns, '-6', 'addr', 'add', '2001:db8:31::2/64', 'dev', 'eth1', 'nodad');
  return ns;
}

type Spec = { kind: 'route'; family: 'inet' | 'inet6'; table: number; dst: string; metric: number; to: string } | { kind: 'rule'; family: 'inet' | 'inet6'; priority: number; to: string };
/** A table's default route, a connected route, a rule with a source prefix and one without, and IPv6. */
const SPECS: Spec[] = [
  { kind: 'route', family: 'inet', table: 100, dst: '198.18.31.0/24', metric: 0, to: 'dev eth1 src 198.18.31.2' },
  { kind: 'route', family: 'inet', table: 100, dst: '0.0.0.0/0', metric: 0, to: 'via 198.18.31.1 dev eth1' },
  { kind: 'route', family: 'inet6', table: 200, dst: '::/0', metric: 1024, to: 'via 2001:db8:31::1 dev eth1' },
  { kind: 'rule', family: 'inet', priority: 1000, to: 'from 198.18.31.2 lookup 100' },
  { kind: 'rule', family: 'inet', priority: 1001, to: 'iif eth1 fwmark 0x10 lookup 100' },
  { kind: 'rule', family: 'inet6', priority: 1002, to: 'from 2001:db8:31::2 lookup 200' },
];
const changes = (): TxChange[] =>
  SPECS.map((s) => {
    const c = { ...s, from: null } as RoutingChange;
    const target = s.kind === 'route' ? { kind: 'route' as const, family: s.family, table: s.table, dst: s.dst, metric: s.metric } : { kind: 'rule' as const, family: s.family, priority: s.priority };
    return { target, to: canonicalWanted(c), reason: `route-persist test: ${s.kind}`, source: 'test:route-persist' };
  });

/** The probe's Snapshot of the namespace, with eth1 managed as on a host of that kind. */
function snapshotWith(ns: string, manager: 'ifupdown' | 'networkd', file: string): Snapshot {
  const r = nettune(['probe', '--netns', ns, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const snap = JSON.parse(r.stdout) as Snapshot;
  expect(snap.net_managers?.links.find((l) => l.name === 'eth1')?.manager).toBe('none'); // a namespace: nothing manages it
  return { ...snap, net_managers: { networkd: manager === 'networkd', network_manager: false, ifupdown: manager === 'ifupdown', links: [{ name: 'eth1', manager, file, evidence: `test: ${manager}` }] } };
}

/** apply --persist through the transaction: the routes are written in the namespace, the files under the root. */
async function apply(ns: string, snap: Snapshot, cs: TxChange[]): Promise<{ tx: number; persisted: string[] }> {
  const persistFile = join(ctx.root, 'etc/sysctl.d/90-nettune.conf');
  const routePersist = placeRouting(
    cs.map((c) => ({ target: c.target as RoutingTarget, to: c.to, comment: c.reason })),
    snap,
    persistFile,
    null,
  );
  const r = await applyTransaction({ changes: cs, netns: ns, persistFile, source: 'test', plan: null, before: null, confirmS: null, log: () => undefined, routePersist });
  return { tx: r.tx, persisted: r.persisted };
}

/** Runs a hook inside the namespace as ifupdown's run-parts does. */
function hook(ns: string, path: string, env: string[]): { code: number | null; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'env', ...env, 'sh', path], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stderr: r.stderr };
}

/** What a reboot leaves: none of the test's routes and rules. */
function forget(ns: string): void {
  ip(ns, '-4', 'route', 'flush', 'table', '100');
  ip(ns, '-6', 'route', 'flush', 'table', '200');
  for (const p of ['1000', '1001']) ip(ns, '-4', 'rule', 'del', 'priority', p);
  ip(ns, '-6', 'rule', 'del', 'priority', '1002');
}

describe.skipIf(!isRoot)('apply --persist for routes and rules (root, namespaces, temp root)', () => {
  const saved = process.env.NETTUNE_STATE_DIR;
  beforeEach(() => {
    freshDirs();
    process.env.NETTUNE_STATE_DIR = ctx.state;
    mkdirSync(join(ctx.root, 'etc/sysctl.d'), { recursive: true });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.NETTUNE_STATE_DIR;
    else process.env.NETTUNE_STATE_DIR = saved;
  });
  afterAll(deleteNamespaces);

  it('ifupdown: the if-up hook run twice makes every route and rule exactly once; the if-down hook removes them; rollback leaves the root and the tables as before', async () => {
    const ns = host('ifud');
    // an earlier hook of another tool in the same directory is left alone
    mkdirSync(join(ctx.root, 'etc/network/if-up.d'), { recursive: true });
    writeFileSync(join(ctx.root, 'etc/network/if-up.d/other'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(ctx.root, 'etc/network/if-up.d/other'), 0o755);
    const rootBefore = tree(ctx.root);
    const kernelBefore = routing(ns);
    const snap = snapshotWith(ns, 'ifupdown', '/etc/network/interfaces');
    const res = await apply(ns, snap, changes());
    const up = join(ctx.root, 'etc/network/if-up.d/nettune-routes');
    const down = join(ctx.root, 'etc/network/if-down.d/nettune-routes');
    expect(res.persisted).toEqual([up, down]);
    // executables run-parts will run (a name of [A-Za-z0-9_-] only), the if-down.d directory made
    for (const p of [up, down]) expect((lstatSync(p).mode & 0o777).toString(8)).toBe('755');
    expect(spawnSync('run-parts', ['--test', join(ctx.root, 'etc/network/if-up.d')], { encoding: 'utf8' }).stdout.split('\n')).toContain(up);
    const applied = routing(ns);
    expect(applied).not.toEqual(kernelBefore);

    forget(ns);
    expect(routing(ns)).toEqual(kernelBefore);
    const env = ['IFACE=eth1', 'LOGICAL=eth1', 'MODE=start', 'PHASE=post-up'];
    for (let i = 0; i < 2; i++) {
      const r = hook(ns, up, env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(routing(ns)).toEqual(applied); // the same routes and rules, each once
    }
    // ifupdown runs it per stanza: ADDRFAM=inet6 touches only the IPv6 ones; another interface nothing
    forget(ns);
    expect(hook(ns, up, [...env, 'ADDRFAM=inet6']).code).toBe(0);
    expect(routing(ns)).toMatchObject({ t100: [], t200: applied.t200, rules6: applied.rules6 });
    expect(hook(ns, up, ['IFACE=eth9', 'MODE=start', 'PHASE=post-up']).code).toBe(0);
    expect(routing(ns).t100).toEqual([]);
    expect(hook(ns, up, [...env, 'ADDRFAM=inet']).code).toBe(0);
    expect(routing(ns)).toEqual(applied);
    // the wrong phase does nothing
    expect(hook(ns, down, ['IFACE=eth1', 'MODE=start', 'PHASE=post-up']).code).toBe(0);
    expect(routing(ns)).toEqual(applied);

    const downEnv = ['IFACE=eth1', 'LOGICAL=eth1', 'MODE=stop', 'PHASE=pre-down'];
    for (let i = 0; i < 2; i++) {
      const r = hook(ns, down, downEnv); // the second run finds nothing to remove: still fine
      expect(r.code, r.stderr).toBe(0);
      expect(routing(ns)).toEqual(kernelBefore);
    }
    expect(hook(ns, up, env).code).toBe(0);
    expect(routing(ns)).toEqual(applied);

    const rb = nettune(['rollback', String(res.tx), '--netns', ns, '--yes', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(tree(ctx.root)).toEqual(rootBefore);
    expect(routing(ns)).toEqual(kernelBefore);
  }, 60_000);

  it('a failure in the hook is reported and makes its status 1; the other commands still run', async () => {
    const ns = host('ifuf');
    const res = await apply(ns, snapshotWith(ns, 'ifupdown', '/etc/network/interfaces'), changes());
    const up = join(ctx.root, 'etc/network/if-up.d/nettune-routes');
    forget(ns);
    ip(ns, '-6', 'addr', 'flush', 'dev', 'eth1'); // the IPv6 gateway is no longer on a connected network
    const r = hook(ns, up, ['IFACE=eth1', 'MODE=start', 'PHASE=post-up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nettune-routes: ip -6 route replace ::\/0 table 200 .*: /m);
    expect(routing(ns).t100).not.toEqual([]);
    ip(ns, '-6', 'addr', 'add', '2001:db8:31::2/64', 'dev', 'eth1', 'nodad');
    expect(hook(ns, up, ['IFACE=eth1', 'MODE=start', 'PHASE=post-up']).code).toBe(0);
    expect(nettune(['rollback', String(res.tx), '--netns', ns, '--yes']).code).toBe(0);
  }, 60_000);

  it('systemd-networkd: the drop-in next to the link .network file, merged with an earlier transaction; rollback of each restores the file exactly', async () => {
    const ns = host('nwd');
    const dropin = join(ctx.root, 'etc/systemd/network/10-eth1.network.d/90-nettune.conf');
    const rootBefore = tree(ctx.root);
    const kernelBefore = routing(ns);
    const snap = snapshotWith(ns, 'networkd', '/run/systemd/network/10-eth1.network');
    const [first, ...rest] = changes();
    const a = await apply(ns, snap, [first as TxChange]);
    expect(a.persisted).toEqual([dropin]);
    const afterA = tree(ctx.root);
    expect(readFileSync(dropin, 'utf8')).toMatch(/\[Route\]\nDestination=198\.18\.31\.0\/24\nProtocol=boot\nScope=link\nPreferredSource=198\.18\.31\.2\nTable=100\nMetric=0\n/);
    const b = await apply(ns, snap, rest);
    const text = readFileSync(dropin, 'utf8');
    expect(text.match(/^\[Route\]$/gm)).toHaveLength(3);
    expect(text.match(/^\[RoutingPolicyRule\]$/gm)).toHaveLength(3);
    expect(text).toContain('[RoutingPolicyRule]\nFrom=198.18.31.2/32\nTable=100\nPriority=1000\nFamily=ipv4\n');
    expect(text).toContain('[RoutingPolicyRule]\nFirewallMark=16\nIncomingInterface=eth1\nTable=100\nPriority=1001\nFamily=ipv4\n');
    expect(text).toContain('[RoutingPolicyRule]\nFrom=2001:db8:31::2/128\nTable=200\nPriority=1002\nFamily=ipv6\n');
    expect(text).toContain('Destination=198.18.31.0/24'); // transaction a's entry kept
    expect(nettune(['rollback', String(b.tx), '--netns', ns, '--yes']).code).toBe(0);
    expect(tree(ctx.root)).toEqual(afterA);
    expect(nettune(['rollback', String(a.tx), '--netns', ns, '--yes']).code).toBe(0);
    expect(tree(ctx.root)).toEqual(rootBefore);
    expect(routing(ns)).toEqual(kernelBefore);
  }, 60_000);

  it('apply --netns … --persist --root (the CLI): nettune-route.service (systemd-analyze verify) says which mechanism; a later apply merges; rollback restores the root exactly', () => {
    const ns = host('unit');
    const rootBefore = tree(ctx.root);
    const kernelBefore = routing(ns);
    const unit = join(ctx.root, 'etc/systemd/system/nettune-route.service');
    const r = nettune(['apply', '--netns', ns, '--set', 'route:100:default=via 198.18.31.1 dev eth1', '--set', 'rule:1000=from 198.18.31.2 lookup 100', '--persist', '--root', ctx.root, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { tx: number; persisted: string[]; route_persist: { target: string; iface: string; mechanism: string; path: string }[] };
    expect(res.persisted).toEqual([unit]);
    expect(res.route_persist.map((p) => [p.target, p.iface, p.mechanism, p.path])).toEqual([
      ['route table 100 default', 'eth1', 'unit', unit],
      ['rule 1000', 'eth1', 'unit', unit],
    ]);
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8', timeout: 30_000 });
    if (!verify.error) expect(verify.status, `${verify.stdout}${verify.stderr}`).toBe(0);
    expect(readFileSync(unit, 'utf8')).toContain(`ExecStart=/usr/sbin/ip -n ${ns} -4 rule add from 198.18.31.2/32 lookup 100 priority 1000`);
    const afterA = tree(ctx.root);
    // the human output names the mechanism and the file
    const h = nettune(['apply', '--netns', ns, '--set', 'route6:200:default=via 2001:db8:31::1 dev eth1', '--persist', '--root', ctx.root, '--yes']);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toContain(`Routes and rules persisted as:\n  eth1: oneshot unit nettune-route.service ${unit} for route6 table 200 default (namespace ${ns}:`);
    expect(h.stdout).not.toMatch(/not persisted/);
    expect(readFileSync(unit, 'utf8').match(/^ExecStart=\/usr\/sbin\/ip .* route replace /gm)).toHaveLength(2);
    const rb2 = nettune(['rollback', '--netns', ns, '--yes']);
    expect(rb2.code, rb2.stderr).toBe(0);
    expect(tree(ctx.root)).toEqual(afterA);
    expect(nettune(['rollback', String(res.tx), '--netns', ns, '--yes']).code).toBe(0);
    expect(tree(ctx.root)).toEqual(rootBefore);
    expect(routing(ns)).toEqual(kernelBefore);
    expect(existsSync(unit)).toBe(false);
  }, 60_000);

  it('killed while the unit is being written (persist-rename) → recover leaves the root and the tables as before; a symlink where the unit goes is exit 2 before anything changes', async () => {
    const ns = host('kill');
    const rootBefore = tree(ctx.root);
    const kernelBefore = routing(ns);
    const args = ['apply', '--netns', ns, '--set', 'route:100:default=via 198.18.31.1 dev eth1', '--set', 'rule:1000=from 198.18.31.2 lookup 100', '--persist', '--root', ctx.root, '--yes'];
    const p = start(args, { NETTUNE_FAULT: 'persist-rename=kill' });
    expect((await p.done).signal).toBe('SIGKILL');
    expect(routing(ns)).not.toEqual(kernelBefore);
    const rec = nettune(['recover', '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(tree(ctx.root)).toEqual(rootBefore); // the temp file the kill left is gone too
    expect(routing(ns)).toEqual(kernelBefore);

    mkdirSync(join(ctx.root, 'etc/systemd/system'), { recursive: true });
    symlinkSync('/etc/hostname', join(ctx.root, 'etc/systemd/system/nettune-route.service'));
    const withLink = tree(ctx.root);
    const r = nettune(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/route persist file .*nettune-route\.service is a symbolic link/);
    expect(tree(ctx.root)).toEqual(withLink);
    expect(routing(ns)).toEqual(kernelBefore);
  }, 60_000);

  it.skipIf(!existsSync(NETWORKD))('systemd-networkd itself (systemd 252, in the namespace with a private /etc/systemd/network) makes the routes and rules from the drop-in, and its link state file is what detection reads', async () => {
    const ns = host('nwdr');
    const snap = snapshotWith(ns, 'networkd', '/etc/systemd/network/10-eth1.network');
    const res = await apply(ns, snap, changes());
    const applied = routing(ns);
    const netdir = join(ctx.root, 'etc/systemd/network');
    writeFileSync(
      join(netdir, '10-eth1.network'),
      ['[Match]', 'Name=eth1', '', '[Network]', 'IPv6AcceptRA=no', 'LinkLocalAddressing=no', '', '[Address]', 'Address=198.18.31.2/24', '', '[Address]', 'Address=2001:db8:31::2/64', 'DuplicateAddressDetection=none', ''].join('\n'),
    );
    forget(ns);
    const out = join(ctx.root, 'networkd-state');
    // networkd waits for udev unless /sys is read-only (udev_available()); it drops to systemd-network
    const script = [
      'set -e',
      'mount -t tmpfs tmpfs /run/systemd',
      'mkdir -p /run/systemd/netif',
      'chown systemd-network:systemd-network /run/systemd/netif || true',
      `mount --bind '${netdir}' /etc/systemd/network`,
      'umount /sys 2>/dev/null || true',
      'mount -t sysfs -o ro sysfs /sys',
      `${NETWORKD} & pid=$!`,
      // bounded: until the link's state names its .network file and the last rule is there (10 s at most)
      'f=/run/systemd/netif/links/$(cat /sys/class/net/eth1/ifindex)',
      'i=0; while [ $i -lt 100 ]; do grep -qs NETWORK_FILE= "$f" && ip -6 rule show priority 1002 | grep -q "lookup 200" && ip -4 route show table 100 | grep -q default && break; sleep 0.1; i=$((i+1)); done',
      `cat "$f" > '${out}' || true`,
      'kill $pid; wait $pid || true',
    ].join('\n');
    writeFileSync(join(ctx.root, 'networkd.sh'), script);
    const r = spawnSync('ip', ['netns', 'exec', ns, 'unshare', '-m', 'sh', join(ctx.root, 'networkd.sh')], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    // the same routes and rules (rules networkd adds carry proto static, which ip -j shows and nettune's rule value leaves out)
    const strip = (rules: unknown): unknown => (rules as Record<string, unknown>[]).map(({ protocol: _p, ...x }) => x);
    const now = routing(ns);
    expect({ ...now, rules4: strip(now.rules4), rules6: strip(now.rules6) }).toEqual({ ...applied, rules4: strip(applied.rules4), rules6: strip(applied.rules6) });
    const state = readFileSync(out, 'utf8');
    expect(state).toMatch(/^NETWORK_FILE=\/etc\/systemd\/network\/10-eth1\.network$/m);
    const ifindex = Number(spawnSync('ip', ['netns', 'exec', ns, 'cat', '/sys/class/net/eth1/ifindex'], { encoding: 'utf8' }).stdout.trim());
    const fixture = mkdtempSync(join(tmpdir(), 'nettune-netmgr-real-'));
    try {
      mkdirSync(join(fixture, 'run/systemd/netif/links'), { recursive: true });
      mkdirSync(join(fixture, 'proc/77'), { recursive: true });
      writeFileSync(join(fixture, `run/systemd/netif/links/${ifindex}`), state);
      writeFileSync(join(fixture, 'proc/77/comm'), 'systemd-network\n');
      expect(detectNetManagers(hostFiles(fixture), [{ name: 'eth1', ifindex }], true).links[0]).toMatchObject({ manager: 'networkd', file: '/etc/systemd/network/10-eth1.network' });
    } finally {
      rmSync(fixture, { recursive: true, force: true });
    }
    rmSync(join(netdir, '10-eth1.network'));
    rmSync(out);
    rmSync(join(ctx.root, 'networkd.sh'));
    const rb = nettune(['rollback', String(res.tx), '--netns', ns, '--yes']);
    expect(rb.code, rb.stderr).toBe(0);
  }, 60_000);
});
