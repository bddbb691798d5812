// Fault injection at every step of apply and rollback: a kill (crash, power cut) or an error at
// each point the NETTUNE_FAULT hook names, a real full disk under the journal (a small tmpfs
// mounted in a private mount namespace), and a killed watchdog. Each must end — once `recover`
// has run — in the state before or the state after, never between, with no transaction left
// half-done, no lock and no temp file. Root, throw-away namespaces, temp state dirs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE } from '../helpers.js';
import { ctx, deleteNamespaces, freshDirs, get, history, isRoot, killWatchdogs, newNetns, nettune, sleep, start, watchdogs } from './state-helpers.js';

const SETS: [string, string][] = [
  ['net.ipv4.tcp_keepalive_time', '801'],
  ['net.ipv4.tcp_fin_timeout', '27'],
  ['net.ipv4.tcp_keepalive_probes', '7'],
];
const ORIGINAL_FILE = '# kept by the test\nnet.ipv4.tcp_keepalive_intvl = 70\n';

interface HostState {
  values: string[];
  file: string | null;
}

const persisted = (): string => join(ctx.root, 'etc/sysctl.d/90-nettune.conf');
const state = (ns: string): HostState => ({ values: SETS.map(([k]) => get(ns, k)), file: existsSync(persisted()) ? readFileSync(persisted(), 'utf8') : null });
const applyArgs = (ns: string): string[] => ['apply', '--netns', ns, ...SETS.flatMap(([k, v]) => ['--set', `${k}=${v}`]), '--persist', '--root', ctx.root, '--yes'];

/** The state is exactly before, or exactly after (every value written, the file holding them). */
function beforeOrAfter(s: HostState, before: HostState): 'before' | 'after' {
  if (JSON.stringify(s) === JSON.stringify(before)) return 'before';
  expect(s.values, 'values are neither all before nor all after').toEqual(SETS.map(([, v]) => v));
  for (const [k, v] of SETS) expect(s.file ?? '').toContain(`${k} = ${v}`);
  expect(s.file ?? '').toContain('net.ipv4.tcp_keepalive_intvl = 70');
  return 'after';
}

function setUp(role: string): { ns: string; before: HostState } {
  freshDirs();
  const ns = newNetns(role);
  mkdirSync(join(ctx.root, 'etc/sysctl.d'), { recursive: true });
  writeFileSync(persisted(), ORIGINAL_FILE);
  return { ns, before: state(ns) };
}

/** After recover: nothing half-done, no lock, no temp file of an atomic write. */
function assertSettled(): void {
  expect(history().filter((t) => ['pending', 'rolling_back'].includes(t.status))).toEqual([]);
  expect(existsSync(join(ctx.state, 'lock'))).toBe(false);
  expect(readdirSync(join(ctx.root, 'etc/sysctl.d')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
}

function recover(): void {
  const r = nettune(['recover', '--json']);
  expect(r.code, r.stderr).toBe(0);
  expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
}

const outcomes: string[] = [];

describe.skipIf(!isRoot)('fault injection: every step of apply and rollback ends before or after (root, namespaces)', () => {
  beforeEach(() => undefined);
  afterEach(killWatchdogs);
  afterAll(() => {
    deleteNamespaces();
    console.log(`fault outcomes:\n  ${outcomes.join('\n  ')}`);
  });

  const applyFaults = [
    'after-lock=kill',
    'after-begin=kill',
    'after-write@1=kill',
    'after-write@2=kill',
    'after-write@3=kill',
    'after-write@2=error',
    'persist-rename=kill',
    'persist-rename=error',
    'journal-commit=kill',
    'journal-commit=error',
    'journal-commit=enospc',
  ];
  for (const f of applyFaults)
    it(`apply with ${f}`, async () => {
      const { ns, before } = setUp('ap');
      const p = start(applyArgs(ns), { NETTUNE_FAULT: f });
      const end = await p.done;
      if (f.endsWith('=kill')) expect(end.signal).toBe('SIGKILL');
      else {
        // an error after the lock: everything written is undone at once, exit 4
        expect(end.code, p.stderr()).toBe(4);
        expect(p.stderr()).toMatch(/apply failed and was rolled back/);
        expect(state(ns)).toEqual(before);
      }
      if (f.endsWith('=kill') && f !== 'after-lock=kill') expect(nettune(['history']).stderr).toMatch(/run `nettune recover`/);
      recover();
      const got = beforeOrAfter(state(ns), before);
      assertSettled();
      outcomes.push(`apply ${f}: exit ${end.code ?? end.signal} → after recover: ${got}`);
    });

  const rollbackFaults = ['rollback-claimed=kill', 'rollback-step@1=kill', 'rollback-step@2=kill', 'rollback-step@3=kill', 'rollback-step@4=kill', 'persist-rename=kill'];
  for (const f of rollbackFaults)
    it(`rollback with ${f}`, async () => {
      const { ns, before } = setUp('rb');
      const a = nettune(applyArgs(ns));
      expect(a.code, a.stderr).toBe(0);
      expect(beforeOrAfter(state(ns), before)).toBe('after');
      const p = start(['rollback', '--netns', ns, '--yes'], { NETTUNE_FAULT: f });
      expect((await p.done).signal).toBe('SIGKILL');
      expect(nettune(['history']).stderr).toMatch(/half-rolled-back.*run `nettune recover`/);
      recover();
      const got = beforeOrAfter(state(ns), before);
      expect(got).toBe('before'); // the rollback was resumed, not forgotten
      assertSettled();
      outcomes.push(`rollback ${f}: killed → after recover: ${got}`);
    });

  it('watchdog killed inside the confirm window: recover reverts once the deadline has passed', async () => {
    const { ns, before } = setUp('wd');
    const r = nettune([...applyArgs(ns), '--confirm', '1s', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const pid = (JSON.parse(r.stdout) as { watchdog_pid: number }).watchdog_pid;
    watchdogs.push(pid);
    process.kill(pid, 'SIGKILL');
    await sleep(1500);
    expect(beforeOrAfter(state(ns), before)).toBe('after');
    recover();
    expect(beforeOrAfter(state(ns), before)).toBe('before');
    assertSettled();
    expect(history()[0]?.status).toBe('reverted_unconfirmed');
    outcomes.push('watchdog killed: after recover: before');
  });

  // A real full disk: NETTUNE_STATE_DIR on a 1 MiB tmpfs mounted in a private mount namespace
  // (unshare -m), filled so that only FREE bytes remain before apply runs.
  const script = `set -u
dir=$1; free=$2; shift 2
mount -t tmpfs -o size=1m,mode=0700 nettune-h3-full "$dir" || exit 99
export NETTUNE_STATE_DIR="$dir" NETTUNE_NO_INSTALL=1
node "${BUNDLE}" history --json >/dev/null || exit 98
avail=$(df --output=avail -B1 "$dir" | tail -1)
fill=$((avail - free)); [ "$fill" -gt 0 ] && head -c "$fill" /dev/zero > "$dir/filler" 2>/dev/null
node "${BUNDLE}" apply "$@" 2>"$dir/../apply.err" >/dev/null; echo "apply=$?"
node "${BUNDLE}" history 2>&1 >/dev/null | head -c 2000 | tr '\\n' ' '; echo
rm -f "$dir/filler"
node "${BUNDLE}" recover --json >/dev/null 2>&1; echo "recover=$?"
node "${BUNDLE}" history --json | tr -d '\\n'; echo
`;
  it('journal on a full disk (real tmpfs): exit 0, 3 or 4, never half-applied; recover settles every case', () => {
    const seen = new Map<string, number>();
    // 0 and 4 KiB: the journal cannot even open; then 16 KiB steps through the range where the
    // before-Snapshot fits but the steps or the commit do not; 400 KB: enough
    for (const free of [0, 4096, ...Array.from({ length: 8 }, (_, i) => 49152 + i * 16384), 400000]) {
      const { ns, before } = setUp(`df${free}`);
      const mnt = join(ctx.state, 'full');
      mkdirSync(mnt);
      const sh = join(ctx.root, 'full.sh');
      writeFileSync(sh, script);
      const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'bash', sh, mnt, String(free), ...applyArgs(ns).slice(1)], { encoding: 'utf8', timeout: 120_000 });
      const lines = r.stdout.split('\n');
      const applyExit = Number(/^apply=(\d+)/.exec(lines[0] ?? '')?.[1]);
      const warned = lines[1] ?? '';
      const err = existsSync(join(ctx.state, 'apply.err')) ? readFileSync(join(ctx.state, 'apply.err'), 'utf8') : '';
      expect([0, 3, 4], `free=${free}: ${r.stdout} ${r.stderr} ${err}`).toContain(applyExit);
      expect(err).not.toMatch(/internal error/);
      const mid = state(ns);
      if (applyExit !== 0) expect(mid, `free=${free}: ${err}`).toEqual(before); // rolled back at once
      if (applyExit === 4 && /the lock is kept/.test(err)) expect(warned).toMatch(/run `nettune recover`/);
      expect(lines[2], `free=${free}: ${r.stdout}`).toBe('recover=0');
      const h = JSON.parse(lines[3] ?? '{}') as { transactions: { status: string }[] };
      expect(h.transactions.filter((t) => ['pending', 'rolling_back'].includes(t.status))).toEqual([]);
      const got = beforeOrAfter(state(ns), before);
      const key = `exit ${applyExit} → ${got}${/the lock is kept/.test(err) ? ' (journal could not record it: lock kept)' : ''}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      outcomes.push(`disk full, ${free} bytes free: ${key}`);
      if (got === 'after') expect(nettune(['rollback', '--netns', ns, '--yes'], { NETTUNE_STATE_DIR: mnt }).code).not.toBe(70);
    }
    // the sweep covers "nothing begun", "failed mid-way" and "enough space"
    expect([...seen.keys()].some((k) => k.startsWith('exit 0'))).toBe(true);
    expect([...seen.keys()].some((k) => k.startsWith('exit 3'))).toBe(true);
    expect([...seen.keys()].some((k) => k.startsWith('exit 4'))).toBe(true);
  }, 300_000);
});
