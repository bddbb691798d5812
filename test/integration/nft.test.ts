// Kind nft for real (root, throw-away namespaces, nft 1.0.6): plan --notrack against a stateful
// ruleset (the warning), apply as one nft -f transaction with read-back, rollback to the previous
// table text exactly (or to no table), a fault injected after the nft write (error: rolled back
// at once; kill: `recover` restores it), --confirm expiring, the boot file under --root loading
// the same table into a fresh namespace, and the ruleset in the Snapshot.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ctx, deleteNamespaces, freshDirs, history, isRoot, killWatchdogs, newNetns, nettune, until, watchdogs } from './state-helpers.js';

const FX = join(import.meta.dirname, '..', 'fixtures', 'nft');
const nft = (ns: string, args: string[], input?: string): { code: number | null; out: string; err: string } => {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const table = (ns: string): string | null => {
  const r = nft(ns, ['list', 'table', 'inet', 'nettune_raw']);
  return r.code === 0 ? r.out : null;
};
/** A table of the user's (an older nettune_raw) the apply must replace and rollback restore. */
const OLD = 'table inet nettune_raw {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tudp dport 9999 notrack\n\t}\n}\n';

function setUp(role: string, old: string | null): { ns: string; plan: string } {
  freshDirs();
  const ns = newNetns(`nft${role}`);
  expect(nft(ns, ['-f', join(FX, 'stateful.nft')]).code).toBe(0);
  if (old !== null) expect(nft(ns, ['-f', '-'], old).code).toBe(0);
  const plan = join(ctx.state, 'plan.json');
  const r = nettune(['plan', '--netns', ns, '--notrack', 'tcp:80,443', '--out', plan]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('nft add rule inet filter input position 4 ct state untracked accept');
  return { ns, plan };
}
/** A namespace's table file lives under nftables.d/netns/NS/ (kind-nft.ts), outside the *.nft glob. */
const persisted = (ns: string): string[] => [`etc/nftables.d/netns/${ns}/nettune_raw.nft`, 'etc/systemd/system/nettune-nft.service'].map((p) => join(ctx.root, p));
const applyArgs = (ns: string, plan: string): string[] => ['apply', plan, '--netns', ns, '--persist', '--root', ctx.root, '--yes'];

describe.skipIf(!isRoot)('kind nft: apply, read back, roll back, faults, persist (root, namespaces)', () => {
  afterEach(killWatchdogs);
  afterAll(deleteNamespaces);

  it('replaces the table in one transaction, reads it back, and rollback restores the old text exactly', () => {
    const { ns, plan } = setUp('a', OLD);
    const before = table(ns);
    expect(before).toBe(OLD);
    const r = nettune([...applyArgs(ns, plan), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: inet filter input accepts tcp dport 80,443 only while tracked');
    const res = JSON.parse(r.stdout) as { tx: number; steps: { target: string; after: string; adjusted: boolean }[]; persisted: string[]; warnings: { fix: string }[] };
    const wanted = readFileSync(join(FX, 'stateful-notrack.nft'), 'utf8').slice(readFileSync(join(FX, 'stateful.nft'), 'utf8').length);
    expect(table(ns)).toBe(wanted);
    expect(res.steps).toEqual([{ target: 'nft table inet nettune_raw', before: OLD, wanted, after: wanted, adjusted: false }]);
    expect(res.warnings[0]?.fix).toBe('nft add rule inet filter input position 4 ct state untracked accept');
    expect(res.persisted).toEqual(persisted(ns));
    // the user's filter table is untouched
    expect(nft(ns, ['list', 'table', 'inet', 'filter']).out).toBe(readFileSync(join(FX, 'stateful.nft'), 'utf8'));

    const back = nettune(['rollback', String(res.tx), '--yes']);
    expect(back.code, back.stderr).toBe(0);
    expect(table(ns)).toBe(OLD);
    for (const p of persisted(ns)) expect(existsSync(p)).toBe(false);
  });

  it('a table that did not exist is deleted again by rollback; the boot file loads the same table elsewhere', () => {
    const { ns, plan } = setUp('b', null);
    const r = nettune([...applyArgs(ns, plan), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const applied = table(ns);
    const [file, unit] = persisted(ns);
    expect(readFileSync(unit ?? '', 'utf8')).toContain(`ExecStart=/usr/sbin/ip netns exec ${ns} /usr/sbin/nft -f /etc/nftables.d/netns/${ns}/nettune_raw.nft`);
    const fresh = newNetns('nftboot');
    const load = spawnSync('ip', ['netns', 'exec', fresh, 'nft', '-f', file ?? ''], { encoding: 'utf8' });
    expect(load.status, load.stderr).toBe(0);
    expect(table(fresh)).toBe(applied);
    // loading it twice (boot after a manual apply) is harmless: still one table, same text
    expect(spawnSync('ip', ['netns', 'exec', fresh, 'nft', '-f', file ?? '']).status).toBe(0);
    expect(table(fresh)).toBe(applied);

    const tx = (JSON.parse(r.stdout) as { tx: number }).tx;
    expect(nettune(['rollback', String(tx), '--yes']).code).toBe(0);
    expect(table(ns)).toBeNull();
  });

  it('a fault after the nft write (error) rolls back at once: exit 4, the old table, no boot files', () => {
    const { ns, plan } = setUp('c', OLD);
    const r = nettune(applyArgs(ns, plan), { NETTUNE_FAULT: 'after-write=error' });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('restored nft table inet nettune_raw = (previous content)');
    expect(table(ns)).toBe(OLD);
    for (const p of persisted(ns)) expect(existsSync(p)).toBe(false);
    expect(history()[0]?.status).toBe('failed_rolled_back');
  });

  it('a crash after the nft write (kill) is undone by recover', () => {
    const { ns, plan } = setUp('d', OLD);
    const r = nettune(applyArgs(ns, plan), { NETTUNE_FAULT: 'after-write=kill' });
    expect(r.code).not.toBe(0);
    expect(table(ns)).not.toBe(OLD); // the new table was written when the process died
    const rec = nettune(['recover', '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(table(ns)).toBe(OLD);
    expect(history().filter((t) => ['pending', 'rolling_back'].includes(t.status))).toEqual([]);
  });

  it('an unconfirmed apply reverts itself (--confirm)', async () => {
    const { ns, plan } = setUp('e', null);
    const r = nettune(['apply', plan, '--netns', ns, '--yes', '--confirm', '2s', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { tx: number; watchdog_pid: number | null };
    if (res.watchdog_pid) watchdogs.push(res.watchdog_pid);
    expect(table(ns)).not.toBeNull();
    expect(await until(() => history().find((t) => t.id === res.tx)?.status === 'reverted_unconfirmed', 15_000)).toBe(true);
    expect(table(ns)).toBeNull();
  });

  it('the Snapshot carries the ruleset; a bad --notrack changes nothing (exit 2 before probing)', () => {
    freshDirs();
    const ns = newNetns('nftsnap');
    expect(nft(ns, ['-f', join(FX, 'reject.nft')]).code).toBe(0);
    const p = nettune(['probe', '--netns', ns, '--json']);
    expect(p.code, p.stderr).toBe(0);
    const snap = JSON.parse(p.stdout) as { nft: { tables: { family: string; name: string; chains: { name: string; hook: string; policy: string }[] }[] } };
    expect(snap.nft.tables.map((t) => `${t.family} ${t.name}`)).toEqual(['ip filter', 'ip nat']);
    expect(snap.nft.tables[0]?.chains.map((c) => [c.name, c.hook, c.policy])).toEqual([
      ['INPUT', 'input', 'accept'],
      ['OUTPUT', 'output', 'accept'],
    ]);
    const bad = nettune(['plan', '--netns', ns, '--notrack', 'tcp:70000', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { message: '--notrack tcp:70000: port 70000 outside 1-65535', exit_code: 2 } });
    const hand = join(ctx.state, 'hand.json');
    const planned = nettune(['plan', '--netns', ns, '--notrack', 'udp:53', '--out', hand]);
    expect(planned.code, planned.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(hand, 'utf8')) as { changes: { to: string; notrack?: unknown }[] };
    // edited by hand: the spec goes (a table that differs from its notrack spec is refused first)
    doc.changes[0] = { ...doc.changes[0], to: `${doc.changes[0]?.to ?? ''}flush ruleset\n`, notrack: undefined };
    writeFileSync(hand, JSON.stringify(doc));
    const refused = nettune(['apply', hand, '--netns', ns, '--yes']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("text after the table's closing brace");
    expect(table(ns)).toBeNull();
  });
});
