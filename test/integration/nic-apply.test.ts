// The NIC planner's output applied for REAL on a veth pair in a throw-away namespace (root): what
// veth supports here (kernel 6.18, ethtool 6.1) — offloads (-K), rx/tx channels (-L), RPS masks
// (sysfs) — planned by `nettune plan --nic`, applied through the one transaction with read-back,
// persisted in the NIC unit, undone by rollback; a fault injected after each ethtool write (error:
// exit 4, everything back; kill: everything back after recover). What veth does not support
// (-G, -C, -X, -N rx-flow-hash: "Operation not supported", checked live) is refused before the
// lock with the device's reason (exit 2, nothing changed); those groups are covered on fixtures.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ctx, deleteNamespaces, freshDirs, history, isRoot, killWatchdogs, newNetns, nettune, start } from './state-helpers.js';

const run = (cmd: string, args: string[]): string => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const inNs = (ns: string, cmd: string, ...args: string[]): string => run('ip', ['netns', 'exec', ns, cmd, ...args]);

/** A veth pair with 4 queue slots, running on 1 rx + 1 tx channel, TSO and GRO off. */
function host(role: string): string {
  const ns = newNetns(`nic${role}`);
  run('ip', ['-n', ns, 'link', 'add', 'va', 'numtxqueues', '4', 'numrxqueues', '4', 'type', 'veth', 'peer', 'name', 'vb', 'numtxqueues', '4', 'numrxqueues', '4']);
  for (const d of ['va', 'vb']) run('ip', ['-n', ns, 'link', 'set', d, 'up']);
  inNs(ns, 'ethtool', '-L', 'va', 'rx', '1', 'tx', '1');
  inNs(ns, 'ethtool', '-K', 'va', 'tso', 'off', 'gro', 'off');
  return ns;
}

/** Everything the plan touches, as the tools print it. */
function state(ns: string): Record<string, string> {
  const k = inNs(ns, 'ethtool', '-k', 'va');
  const pick = (name: string): string => new RegExp(`^${name}: (\\S+)`, 'm').exec(k)?.[1] ?? '?';
  return {
    channels: inNs(ns, 'ethtool', '-l', 'va'),
    tso: pick('tcp-segmentation-offload'),
    gro: pick('generic-receive-offload'),
    rps0: inNs(ns, 'cat', '/sys/class/net/va/queues/rx-0/rps_cpus').trim(),
  };
}

const unit = (): string => join(ctx.root, 'etc/systemd/system/nettune-nic.service');

interface Applied {
  tx: number;
  steps: { target: string; before: string | null; wanted: string; after: string | null }[];
  persisted: string[];
}

function planFor(ns: string): string {
  const path = join(ctx.root, 'plan.json');
  const r = nettune(['plan', '--netns', ns, '--workload', 'throughput', '--nic', 'va', '--out', path, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return path;
}

const coverage: string[] = [];

describe.skipIf(!isRoot)('NIC plan applied on a real veth (root, namespace)', () => {
  afterEach(killWatchdogs);
  afterAll(() => {
    deleteNamespaces();
    console.log(`nic-apply coverage:\n  ${coverage.join('\n  ')}`);
  });

  it('plan --nic va proposes what veth can do; apply writes it (read back), persists the NIC unit; rollback restores exactly', () => {
    freshDirs();
    const ns = host('a');
    const before = state(ns);
    const plan = planFor(ns);
    const p = JSON.parse(readFileSync(plan, 'utf8')) as { changes: { kind: string; device?: string; group?: string; setting?: string; path?: string; to: string }[]; skipped: { key: string; reason: string }[] };
    const mine = p.changes.filter((c) => c.device === 'va' || c.path?.includes('/va/')).map((c) => (c.kind === 'ethtool' ? `${c.group} ${c.setting}=${c.to}` : `${c.path?.split('/').slice(-2).join('/')}=${c.to}`));
    expect(mine).toEqual(['channels rx=2', 'channels tx=2', 'features tso=on', 'features gro=on', 'rx-0/rps_cpus=3']);
    expect(p.skipped.find((s) => s.key === 'ethtool:va:flow-hash:tcp4')?.reason).toMatch(/does not report/);
    const r = nettune(['apply', plan, '--netns', ns, '--persist', '--root', ctx.root, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as Applied;
    const va = res.steps.filter((s) => / va |\/va\//.test(s.target));
    expect(va.map((s) => [s.target, s.before, s.after])).toEqual([
      ['ethtool va channels rx', '1', '2'],
      ['ethtool va channels tx', '1', '2'],
      ['ethtool va features tso', 'off', 'on'],
      ['ethtool va features gro', 'off', 'on'],
      ['/sys/class/net/va/queues/rx-0/rps_cpus', '0', '3'],
    ]);
    const after = state(ns);
    expect(after.channels).toMatch(/Current hardware settings:\nRX:\t\t2\nTX:\t\t2/);
    expect([after.tso, after.gro, after.rps0]).toEqual(['on', 'on', '3']);
    const text = readFileSync(unit(), 'utf8');
    expect(text).toContain(`ExecStart=/usr/sbin/ip netns exec ${ns} /usr/sbin/ethtool -L va rx 2`);
    expect(text).toContain(`ExecStart=/usr/sbin/ip netns exec ${ns} /usr/sbin/ethtool -K va gro on`);
    const rb = nettune(['rollback', String(res.tx), '--netns', ns, '--yes', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(state(ns)).toEqual(before);
    expect(existsSync(unit())).toBe(false);
    coverage.push(`real veth: plan --nic va → ${mine.join(', ')}; applied and read back; NIC unit written; rollback → exactly before, unit removed`);
  }, 120_000);

  for (const action of ['error', 'kill'] as const)
    it(`a fault (${action}) right after each ethtool write: everything back exactly${action === 'kill' ? ' after recover' : ' (exit 4)'}`, async () => {
      // the dry run's order: channels rx, channels tx, features tso, features gro, rps_cpus (+ vb's own offload fix)
      for (const n of [1, 2, 3, 4]) {
        freshDirs();
        const ns = host(`${action[0] ?? ''}${n}`);
        const before = state(ns);
        const plan = planFor(ns);
        const f = `after-write@${n}=${action}`;
        const p = start(['apply', plan, '--netns', ns, '--persist', '--root', ctx.root, '--yes'], { NETTUNE_FAULT: f });
        const end = await p.done;
        if (action === 'kill') {
          expect(end.signal, p.stderr()).toBe('SIGKILL');
          expect(state(ns)).not.toEqual(before);
          const rec = nettune(['recover', '--json']);
          expect(rec.code, rec.stderr).toBe(0);
        } else {
          expect(end.code, p.stderr()).toBe(4);
          expect(p.stderr()).toMatch(/apply failed and was rolled back/);
        }
        expect(state(ns), f).toEqual(before);
        expect(history().filter((t) => ['pending', 'rolling_back'].includes(t.status))).toEqual([]);
        coverage.push(`real veth: ${f} → ${action === 'kill' ? 'killed, recover' : 'exit 4'} → exactly before`);
      }
    }, 240_000);

  it('--set of a group veth lacks (flow hash, indirection, rings, coalescing): exit 2 before the lock, with the reason, nothing changed', () => {
    freshDirs();
    const ns = host('s');
    const before = state(ns);
    for (const [set, reason] of [
      ['ethtool:va:flow-hash:tcp4=sdfn', /no rx-flow-hash for tcp4/],
      ['ethtool:va:indirection:table=equal 2', /no RSS indirection table/],
      ['ethtool:va:rings:rx=512', /not adjustable on this device/],
      ['ethtool:va:coalesce:rx-usecs=8', /coalesce rx-usecs is not adjustable on this device/],
    ] as const) {
      const r = nettune(['apply', '--set', set, '--netns', ns, '--yes', '--json']);
      expect(r.code, r.stdout).toBe(2);
      expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toMatch(reason);
    }
    // and what veth answers when asked directly, so the refusal above is the device's, not a guess
    for (const args of [['-x', 'va'], ['-n', 'va', 'rx-flow-hash', 'tcp4'], ['-g', 'va'], ['-c', 'va']]) {
      const x = spawnSync('ip', ['netns', 'exec', ns, 'ethtool', ...args], { encoding: 'utf8' });
      expect(`${x.stdout}${x.stderr}`, args.join(' ')).toMatch(/not supported/i);
    }
    expect(state(ns)).toEqual(before);
    expect(history()).toEqual([]);
    // a real --set of a channel count works the same way as the plan
    const ok = nettune(['apply', '--set', 'ethtool:va:channels:rx=2', '--netns', ns, '--yes', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(state(ns).channels).toMatch(/Current hardware settings:\nRX:\t\t2/);
    coverage.push('real veth: --set flow-hash / indirection / rings / coalesce refused before the lock (exit 2, the device reports none); --set channels:rx=2 applied');
  }, 120_000);
});
