// `nettune lint --commands FILE`: the seed's own ethtool error (and other command lines) found in
// a shell script and in an Ansible playbook, through the built bundle; plus the finder and
// checker on their own.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCommands, lintCommands, type CommandLintResult } from '../../src/lint/commands.js';
import { FIXTURES, nettune, snapshotFixture } from '../helpers.js';

const SNAP = join(FIXTURES, 'snapshot-6.18.json');
const SEED = join(FIXTURES, 'commands', 'seed.sh');
const PLAYBOOK = join(FIXTURES, 'commands', 'seed-playbook.yml');
const tmp = mkdtempSync(join(tmpdir(), 'nettune-lint-commands-'));
const SEED_FIX = 'ethtool -N eth0 rx-flow-hash tcp4 sdfn';

const at = (r: CommandLintResult, line: number) => r.messages.filter((m) => m.line === line);

describe('lint --commands (the CLI)', () => {
  it('a shell script: the seed line is an error with the line and the correct command; exit 1; human output', () => {
    const r = nettune('lint', '--commands', SEED, '--snapshot', SNAP);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${SEED}:5: error: ethtool -N eth0 rx-vlan hash 0x3FFFFFFF: not ethtool syntax`);
    expect(r.stdout).toContain(`    use:     ${SEED_FIX}`);
    expect(r.stdout).toMatch(/15 command lines \(11 ethtool, 2 sysctl, 2 ip\): 7 errors/);
  });
  it('an Ansible playbook: command/shell tasks (free form, block scalar, argv) with their lines; --json is one document', () => {
    const r = nettune('lint', '--commands', PLAYBOOK, '--snapshot', SNAP, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as CommandLintResult & { source: { mode: string } };
    expect(j.source.mode).toBe('snapshot');
    expect(j.format).toBe('ansible');
    expect(j.commands.map((c) => [c.line, c.words.slice(0, 3).join(' ')])).toEqual([
      [7, 'ethtool -N eth0'],
      [9, 'ethtool -N {{nic}}'],
      [12, 'ethtool -G eth0'],
      [13, 'sysctl -w net.core.netdev_max_backlog=abc'],
      [16, 'ethtool -L eth0'],
    ]);
    expect(j.messages.filter((m) => m.severity === 'error').map((m) => [m.line, m.code, m.fix ?? null])).toEqual([
      [7, 'flow-hash-syntax', SEED_FIX],
      [13, 'invalid-value', null],
    ]);
  });
  it('a clean file is exit 0; a missing file or --commands with PATH is exit 2 before anything', () => {
    const clean = join(tmp, 'ok.sh');
    writeFileSync(clean, 'ethtool -N eth0 rx-flow-hash tcp4 sdfn\nethtool -X eth0 equal 4\nethtool -G eth0 rx 4096 tx 4096\nsysctl -w net.core.somaxconn=4096\n');
    const ok = nettune('lint', '--commands', clean, '--snapshot', SNAP);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/4 command lines \(3 ethtool, 1 sysctl\): 0 errors, 0 warnings/);
    const missing = nettune('lint', '--commands', join(tmp, 'nope.sh'), '--snapshot', SNAP, '--json');
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toHaveProperty('error');
    expect(nettune('lint', '--commands', clean, '--snapshot', SNAP, tmp).code).toBe(2);
  });
});

describe('audit --commands', () => {
  it('audit shows the same command errors after its findings; they count as warn for --fail-on; --json carries them', () => {
    const r = nettune('audit', '--snapshot', SNAP, '--commands', SEED, '--fail-on', 'warn');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${SEED}:5: error: ethtool -N eth0 rx-vlan hash 0x3FFFFFFF: not ethtool syntax`);
    expect(r.stdout).toContain(`    use:     ${SEED_FIX}`);
    expect(nettune('audit', '--snapshot', SNAP, '--commands', SEED, '--fail-on', 'critical').code).toBe(0);
    const j = JSON.parse(nettune('audit', '--snapshot', SNAP, '--commands', PLAYBOOK, '--json').stdout) as { findings: unknown[]; commands: CommandLintResult };
    expect(j.findings.length).toBeGreaterThan(0);
    expect(j.commands.messages.find((m) => m.line === 7)).toMatchObject({ code: 'flow-hash-syntax', fix: SEED_FIX });
  });
});

describe('lint --commands (the checks)', () => {
  const opts = { snap: snapshotFixture(), workload: 'balanced' as const };
  it('every problem of the seed script, each on its line', () => {
    const r = lintCommands('seed.sh', '', opts);
    expect(r.summary.commands).toBe(0);
    const seed = lintCommands(SEED, readFileSync(SEED, 'utf8'), opts);
    expect(at(seed, 5)[0]).toMatchObject({ severity: 'error', code: 'flow-hash-syntax', fix: SEED_FIX });
    expect(at(seed, 7)[0]?.message).toMatch(/unknown parameter "rx-usec" \(did you mean: rx-usecs/);
    expect(at(seed, 8)[0]?.message).toMatch(/unknown feature "gro-hw"/);
    expect(at(seed, 9)[0]).toMatchObject({ severity: 'info', code: 'udp-fragments' });
    expect(at(seed, 10)).toEqual([]); // -X equal 8 is fine
    expect(at(seed, 11)[0]?.message).toMatch(/combined eight: a number/);
    expect(at(seed, 12)).toEqual([]); // ip netns exec blue ethtool -k veth0
    expect(at(seed, 14)[0]).toMatchObject({ code: 'unknown-key', fix: 'sysctl -w net.ipv4.tcp_congestion_control=…' });
    expect(at(seed, 16)[0]?.message).toMatch(/unknown object "lnk"/);
    expect(at(seed, 17)[0]?.message).toMatch(/unknown option "-Z"/);
  });
  it('flow-hash letters and -X values go through the NIC kind\'s own grammar', () => {
    const r = lintCommands('x.sh', 'ethtool -N eth0 rx-flow-hash tcp4 sdx\nethtool -N eth0 rx-flow-hash vlan4 sd\nethtool -X eth0 weight 0 0\nethtool -X eth0 bogus 1\nethtool -n eth0 rx-flow-hash rx-vlan\n', opts);
    expect(r.messages.map((m) => [m.line, m.code])).toEqual([
      [1, 'flow-hash-syntax'],
      [2, 'flow-hash-syntax'],
      [3, 'invalid-value'],
      [4, 'unknown-parameter'],
      [5, 'flow-hash-syntax'],
    ]);
  });
  it('finds commands behind wrappers and in lists; comments and strings are not commands', () => {
    const f = findCommands('y.sh', 'FOO=1 sudo -E timeout 5 ethtool -k eth0 && echo ok\n# ethtool -N eth0 rx-vlan hash 1\necho "ethtool -Z" ; nsenter -t 1 -n -- sysctl -w net.core.somaxconn=1 \\\n  net.core.rmem_max=2\n');
    expect(f.format).toBe('shell');
    expect(f.commands.map((c) => [c.line, c.words.join(' ')])).toEqual([
      [1, 'ethtool -k eth0'],
      [3, 'sysctl -w net.core.somaxconn=1 net.core.rmem_max=2'],
    ]);
  });

  const SEED_LINE = 'ethtool -N eth0 rx-vlan hash 0x3FFFFFFF';
  it('finds the seed line in every shell form a script uses: loops, if/else, groups, functions, $(…), `…`, sh -c, !, time', () => {
    const forms = [
      `for i in eth0 eth1; do ${SEED_LINE}; done`,
      `if true; then ${SEED_LINE}; fi`,
      `if true; then :; else ${SEED_LINE}; fi`,
      `while false; do ${SEED_LINE}; done`,
      `bash -c "${SEED_LINE}"`,
      `sh -ec '${SEED_LINE}'`,
      `x=$(${SEED_LINE})`,
      `x=\`${SEED_LINE}\``,
      `{ ${SEED_LINE}; }`,
      `( ${SEED_LINE} )`,
      `! ${SEED_LINE}`,
      `time ${SEED_LINE}`,
      `f() { ${SEED_LINE}; }`,
      `sudo sh -c "sleep 1; ${SEED_LINE}"`,
    ];
    const r = lintCommands('forms.sh', `${forms.join('\n')}\n`, { snap: snapshotFixture() });
    const lines = r.messages.filter((m) => m.code === 'flow-hash-syntax').map((m) => m.line);
    expect([...new Set(lines)]).toEqual(forms.map((_, i) => i + 1));
    for (const m of r.messages.filter((x) => x.code === 'flow-hash-syntax')) expect(m.fix).toBe(SEED_FIX);
  });

  it('a here-document\'s lines are data, not commands; a case branch\'s command is checked', () => {
    const text = ["cat > /tmp/notes.txt <<'EOF'", SEED_LINE, 'EOF', 'cat <<-END', `\t${SEED_LINE}`, '\tEND', 'case "$x" in', `  a|b) ${SEED_LINE} ;;`, 'esac', `${SEED_LINE} <<< "input"`].join('\n');
    const f = findCommands('here.sh', text);
    expect(f.commands.map((c) => c.line)).toEqual([8, 10]);
  });

  it('redirections are the shell\'s, not the command\'s arguments (no false errors on a correct line)', () => {
    const text = ['ethtool -K eth0 tso on 2>/dev/null', 'ethtool -K eth0 tso on >/dev/null 2>&1 || true', 'ethtool -K eth0 tso on &> /tmp/log', 'ethtool -K eth0 gro on<&-', 'ethtool -G eth0 rx 4096 > /dev/null'].join('\n');
    const r = lintCommands('redir.sh', text, { snap: snapshotFixture() });
    expect(r.commands.map((c) => c.words.join(' '))).toEqual(['ethtool -K eth0 tso on', 'ethtool -K eth0 tso on', 'ethtool -K eth0 tso on', 'ethtool -K eth0 gro on', 'ethtool -G eth0 rx 4096']);
    expect(r.messages.filter((m) => m.severity === 'error')).toEqual([]);
  });

  it('a YAML file YAML refuses is an error at its line (not a shell script with no commands); aliases are followed', () => {
    const broken = findCommands('broken.yml', `a: 1\n- name: x\n  command: ${SEED_LINE}\n`);
    expect(broken.format).toBe('ansible');
    expect(broken.messages.map((m) => [m.line, m.severity, m.code])).toEqual([[2, 'error', 'yaml-syntax']]);
    expect(findCommands('vars.yml', 'a: 1\n').messages.map((m) => m.code)).toEqual(['not-tasks']);
    const aliased = findCommands('p.yml', `- hosts: all\n  tasks:\n    - shell: &seed "${SEED_LINE}"\n    - shell: *seed\n    - command:\n        argv: [sh, -c, "${SEED_LINE}"]\n`);
    expect(aliased.commands.map((c) => c.line)).toEqual([3, 4, 6]);
  });
});
