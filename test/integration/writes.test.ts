// The write path's own guarantees, as root, in namespaces this file creates (unique names, always
// deleted) with a temporary state directory and --root for the persisted files:
// the NIC unit is not injectable with hostile interface names, a plan applies only where it was
// made, and rollback/recover restore the persisted files exactly (mode, owner, what was created).
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parseExec } from '../../src/apply/systemd-exec.js';
import { runCli } from '../helpers.js';
import { deleteNamespaces, isRoot, newNetns } from './state-helpers.js';

const dirs: string[] = [];
const tempDir = (what: string): string => {
  const d = mkdtempSync(join(tmpdir(), `nettune-h4-${what}-`));
  dirs.push(d);
  return d;
};

let state = '';
let root = '';
const nettune = (args: string[]) => runCli(args, { NETTUNE_STATE_DIR: state });
const inNs = (ns: string, ...cmd: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8' });

describe.skipIf(!isRoot)('writes (root, namespaces)', () => {
  beforeEach(() => {
    state = tempDir('state');
    root = tempDir('root');
  });
  afterAll(() => {
    deleteNamespaces();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("a hostile interface name (x';id;') reaches the NIC unit only as literal arguments, and the unit's commands work", () => {
    const ns = newNetns('inj');
    const dev = "x';id;'";
    const peer = 'p$(id)`id`';
    const add = spawnSync('ip', ['-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', peer]);
    expect(add.status, add.stderr.toString()).toBe(0);
    const rpsPath = `/sys/class/net/${dev}/queues/rx-0/rps_cpus`;
    const rps = () => inNs(ns, 'cat', rpsPath).stdout.trim();
    const gro = () => /generic-receive-offload: (\w+)/.exec(inNs(ns, 'ethtool', '-k', dev).stdout)?.[1];
    const rpsBefore = rps();
    const groBefore = gro();
    const groWanted = groBefore === 'on' ? 'off' : 'on';
    const r = nettune(['apply', '--netns', ns, '--set', `ethtool:${dev}:features:gro=${groWanted}`, '--set', `sysfs:${rpsPath}=1`, '--persist', '--root', root, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(rps()).toMatch(/^0*1$/);
    expect(gro()).toBe(groWanted);

    const unitPath = join(root, 'etc/systemd/system/nettune-nic.service');
    const unit = readFileSync(unitPath, 'utf8');
    const execs = unit.split('\n').filter((l) => l.startsWith('ExecStart=')).map((l) => parseExec(l.slice('ExecStart='.length)));
    expect(execs.flatMap((e) => [...e.errors, ...e.notLiteral])).toEqual([]);
    expect(execs.map((e) => e.argv)).toEqual([
      ['/usr/sbin/ip', 'netns', 'exec', ns, '/usr/sbin/ethtool', '-K', dev, 'gro', groWanted],
      ['/usr/sbin/ip', 'netns', 'exec', ns, '/bin/sh', '-c', 'printf %s "$2" > "$1"', 'nettune-sysfs-write', rpsPath, '1'],
    ]);
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', unitPath], { encoding: 'utf8' });
    if (!verify.error) expect(verify.status, `${verify.stdout}${verify.stderr}`).toBe(0);

    // back to the old values, then run the unit's commands as systemd would (argv, no shell):
    // they set exactly the persisted values and run nothing else (no `id` output)
    expect(nettune(['rollback', '--netns', ns, '--yes']).code).toBe(0);
    expect(rps()).toBe(rpsBefore);
    expect(gro()).toBe(groBefore);
    expect(existsSync(unitPath)).toBe(false);
    for (const e of execs) {
      const [file, ...args] = e.argv;
      const run = spawnSync(file ?? '', args, { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).not.toMatch(/uid=/);
    }
    expect(rps()).toMatch(/^0*1$/);
    expect(gro()).toBe(groWanted);
  });

  it('a plan applies only where it was made: another namespace, a changed `from` value, another host are refused (exit 2, before the lock) unless --force', () => {
    const a = newNetns('pa');
    const b = newNetns('pb');
    const plan = join(root, 'plan.json');
    const p = nettune(['plan', '--netns', a, '--workload', 'throughput', '--link', '1gbit', '--rtt', '100ms', '--out', plan]);
    expect(p.code, p.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(plan, 'utf8')) as { host: { hostname: string; machine_id: string | null; netns: string }; changes: { kind: string; key?: string; from: string | null; to: string }[] };
    expect(doc.host).toMatchObject({ netns: a, machine_id: /^[0-9a-f]{32}$/.test(readFileSync('/etc/machine-id', 'utf8').trim()) ? readFileSync('/etc/machine-id', 'utf8').trim() : null });
    const wmem = doc.changes.find((c) => c.key === 'net.ipv4.tcp_wmem');
    expect(wmem?.from).toBeTruthy();
    const sysctlA = () => inNs(a, 'sysctl', '-a', '-r', '^net[.]').stdout; // the namespace's own knobs (kernel.* has volatile ids)
    const before = sysctlA();

    // another namespace
    const other = nettune(['apply', plan, '--netns', b, '--yes']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`netns: plan has "${a}", live is "${b}"`);
    // a from value changed behind the plan's back
    expect(inNs(a, 'sysctl', '-q', '-w', 'net.ipv4.tcp_wmem=4096 20000 4000000').status).toBe(0);
    const drift = nettune(['apply', plan, '--netns', a, '--yes', '--json']);
    expect(drift.code).toBe(2);
    const err = (JSON.parse(drift.stdout) as { error: { message: string } }).error.message;
    expect(err).toContain(`net.ipv4.tcp_wmem: plan has ${JSON.stringify(wmem?.from)}, live is "4096 20000 4000000"`);
    // another host (an edited plan standing in for a copy made elsewhere), and another machine id
    const edited = join(root, 'elsewhere.json');
    writeFileSync(edited, JSON.stringify({ ...doc, host: { ...doc.host, hostname: 'db7.example', machine_id: '0123456789abcdef0123456789abcdef' } }));
    const elsewhere = nettune(['apply', edited, '--netns', a, '--yes']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/hostname: plan has "db7\.example", live is/);
    expect(elsewhere.stderr).toMatch(/machine_id: plan has "0123456789abcdef0123456789abcdef", live is/);
    // nothing was written, no transaction, no lock
    inNs(a, 'sysctl', '-q', '-w', `net.ipv4.tcp_wmem=${wmem?.from ?? ''}`);
    expect(sysctlA()).toBe(before);
    expect(JSON.parse(nettune(['history', '--json']).stdout)).toEqual({ transactions: [] });
    expect(existsSync(join(state, 'lock'))).toBe(false);

    // a plan of an older nettune (no machine_id) still applies on its host, with a note
    const old = join(root, 'old.json');
    const { machine_id: _m, ...oldHost } = doc.host;
    writeFileSync(old, JSON.stringify({ ...doc, host: oldHost }));
    const dry = nettune(['apply', old, '--netns', a, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/records no machine id/);

    // --force: applied, and the journal holds the live before-value, not the plan's
    expect(inNs(a, 'sysctl', '-q', '-w', 'net.ipv4.tcp_wmem=4096 20000 4000000').status).toBe(0);
    const forced = nettune(['apply', plan, '--netns', a, '--yes', '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/despite these differences \(--force\)/);
    const tx = JSON.parse(nettune(['show-tx', '1', '--json']).stdout) as { steps: { target: { key?: string }; before: string }[] };
    expect(tx.steps.find((s) => s.target.key === 'net.ipv4.tcp_wmem')?.before).toBe('4096 20000 4000000');
    expect(nettune(['rollback', '--netns', a, '--yes']).code).toBe(0);
    expect(inNs(a, 'sysctl', '-n', 'net.ipv4.tcp_wmem').stdout.trim().replace(/\s+/g, ' ')).toBe('4096 20000 4000000');
  });

  it('rollback restores a persisted file\'s content, mode and owner exactly, and removes the directories the transaction created', () => {
    const ns = newNetns('meta');
    const dir = join(root, 'etc/sysctl.d');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, '90-nettune.conf');
    writeFileSync(file, 'net.ipv4.tcp_fin_timeout = 30\n');
    chmodSync(file, 0o640);
    chownSync(file, 1234, 5678);
    const stat = () => { const st = lstatSync(file); return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, content: readFileSync(file, 'utf8') }; };
    const before = stat();
    // sysctl and NIC changes: the unit goes to etc/systemd/system, which does not exist yet
    const a = nettune(['apply', '--netns', ns, '--set', 'net.ipv4.tcp_fin_timeout=21', '--set', 'sysfs:/sys/class/net/lo/queues/rx-0/rps_cpus=1', '--persist', '--root', root, '--yes']);
    expect(a.code, a.stderr).toBe(0);
    expect(stat()).toMatchObject({ mode: 0o640, uid: 1234, gid: 5678 }); // the new content keeps mode and owner
    expect(stat().content).toMatch(/tcp_fin_timeout = 21/);
    expect(existsSync(join(root, 'etc/systemd/system/nettune-nic.service'))).toBe(true);
    // someone changes mode and owner after the apply: rollback puts back what was there before it
    chmodSync(file, 0o600);
    chownSync(file, 0, 0);
    const rb = nettune(['rollback', '--netns', ns, '--yes']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(stat()).toEqual(before);
    expect(existsSync(join(root, 'etc/systemd'))).toBe(false); // created by the transaction: removed
    expect(readdirSync(dir)).toEqual(['90-nettune.conf']); // no temp files
    expect(readdirSync(join(root, 'etc'))).toEqual(['sysctl.d']);
  });

  it('a symlink or a directory where a persisted file goes is refused before the lock (exit 2); nothing changes', () => {
    const ns = newNetns('link');
    const dir = join(root, 'etc/sysctl.d');
    mkdirSync(dir, { recursive: true });
    const target = join(root, 'elsewhere.conf');
    writeFileSync(target, '# not nettune\'s\n');
    symlinkSync(target, join(dir, '90-nettune.conf'));
    const fin = () => inNs(ns, 'sysctl', '-n', 'net.ipv4.tcp_fin_timeout').stdout.trim();
    const finBefore = fin();
    const r = nettune(['apply', '--netns', ns, '--set', 'net.ipv4.tcp_fin_timeout=22', '--persist', '--root', root, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/90-nettune\.conf is a symbolic link; nettune does not write its boot files through links/);
    expect(lstatSync(join(dir, '90-nettune.conf')).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('# not nettune\'s\n');
    expect(fin()).toBe(finBefore);
    expect((JSON.parse(nettune(['history', '--json']).stdout) as { transactions: unknown[] }).transactions).toEqual([]); // refused before any transaction began
    mkdirSync(join(root, 'etc/systemd/system/nettune-nic.service'), { recursive: true });
    const d = nettune(['apply', '--netns', ns, '--set', 'sysfs:/sys/class/net/lo/queues/rx-0/rps_cpus=1', '--persist', '--root', root, '--yes']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/NIC unit .*nettune-nic\.service is a directory; refusing to replace it/);
  });

  it('recover after a kill between the temp file and the rename: the value, the directories it made, and the .tmp are gone', () => {
    const ns = newNetns('kill');
    const fin = () => inNs(ns, 'sysctl', '-n', 'net.ipv4.tcp_fin_timeout').stdout.trim();
    const finBefore = fin();
    const dir = join(root, 'etc/sysctl.d');
    const r = runCli(['apply', '--netns', ns, '--set', 'net.ipv4.tcp_fin_timeout=23', '--persist', '--root', root, '--yes'], { NETTUNE_STATE_DIR: state, NETTUNE_FAULT: 'persist-rename=kill' });
    expect(r.code).toBeNull(); // SIGKILL
    expect(fin()).toBe('23');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);
    const rec = nettune(['recover', '--yes']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(fin()).toBe(finBefore);
    expect(existsSync(join(root, 'etc'))).toBe(false); // etc/ and etc/sysctl.d/ were the transaction's
  });

  it('a sysfs path that is not a queue or NAPI attribute, or climbs with "..", is refused before the lock (exit 2)', () => {
    const ns = newNetns('sysfs');
    for (const path of ['/sys/class/net/lo/../lo/mtu', '/sys/class/net/lo/queues/rx-0/../../mtu', '/sys/class/net/lo/address', '/sys/kernel/mm/transparent_hugepage/enabled']) {
      const r = nettune(['apply', '--netns', ns, '--set', `sysfs:${path}=1`, '--yes']);
      expect(r.code, `${path}: ${r.stderr}`).toBe(2);
    }
    expect(existsSync(join(state, 'lock'))).toBe(false);
  });
});
