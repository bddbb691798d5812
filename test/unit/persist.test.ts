// The persisted NIC unit and sysctl.d file cannot be injected: every ExecStart= argument is passed
// literally by systemd (checked with a reader of systemd's syntax and, where it is installed, with
// systemd-analyze verify), sysfs paths are checked component by component, and a reason with a
// newline stays one comment line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nicLine, oneLine, parseNicUnit, parsePersisted, renderNicUnit, renderPersisted, SYSFS_WRITER } from '../../src/apply/persist.js';
import { parseSysfsPath, sysfsResolvedProblem } from '../../src/apply/sysfs-path.js';
import { parseExec, quoteExecArg, renderExec } from '../../src/apply/systemd-exec.js';

/** Interface names the kernel accepts (dev_valid_name: 1–15 bytes, no "/", no whitespace, not "." or "..") but a shell would not. */
const HOSTILE = ["x';id;'", 'x;id', '$(id)', '`id`', 'a$b', '%n%H', 'x"y', 'a\\b', ';', '${HOME}', 'x&&id', 'a|b', '>x', "'", '%%', 'é\x01z'];

const execLines = (unit: string): string[] => unit.split('\n').filter((l) => l.startsWith('ExecStart=')).map((l) => l.slice('ExecStart='.length));

function systemdVerify(unit: string): { ran: boolean; code: number | null; output: string } {
  const tool = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!tool) return { ran: false, code: null, output: '' };
  const dir = mkdtempSync(join(tmpdir(), 'nettune-unit-'));
  try {
    const path = join(dir, 'nettune-nic.service');
    writeFileSync(path, unit);
    const r = spawnSync(tool, ['verify', '--man=no', path], { encoding: 'utf8', timeout: 30_000 });
    return { ran: true, code: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('systemd ExecStart= quoting', () => {
  it('plain words stay plain; anything else is double-quoted with \\ " $ % and control characters escaped', () => {
    expect(quoteExecArg('eth0')).toBe('eth0');
    expect(quoteExecArg('-K')).toBe('-K');
    expect(quoteExecArg("x';id;'")).toBe(`"x';id;'"`);
    expect(quoteExecArg('a$b%n')).toBe('"a$$b%%n"');
    expect(quoteExecArg('a\\"b')).toBe('"a\\\\\\"b"');
    expect(quoteExecArg('a\nb')).toBe('"a\\x0ab"');
    expect(quoteExecArg('')).toBe('""');
    expect(() => quoteExecArg('a\0b')).toThrow(/NUL/);
  });

  it('reads like systemd: quotes, escapes, specifiers, variables, a lone ";"', () => {
    expect(parseExec('/bin/echo a "b c" \'d e\' f\\x41').argv).toEqual(['/bin/echo', 'a', 'b c', 'd e', 'fA']);
    expect(parseExec('/bin/echo "100%%" "$$HOME"')).toEqual({ argv: ['/bin/echo', '100%', '$HOME'], notLiteral: [], errors: [] });
    expect(parseExec('/bin/echo %n').notLiteral).toEqual(['specifier %n in "%n"']);
    expect(parseExec('/bin/echo $HOME').notLiteral).toEqual(['variable in "$HOME"']);
    expect(parseExec('/bin/echo a ; /bin/id').notLiteral).toEqual(['command separator ";"']);
    expect(parseExec('/bin/echo "a').errors).toEqual(['unterminated " quote']);
  });

  it('any argument (fast-check, 2000 strings incl. quotes, $, %, ;, backslashes, control characters) comes back literally', () => {
    const tricky = fc.constantFrom(...'\'";$%\\ \t\n\r`&|<>{}()#=x0\x01\x7fé');
    const arg = fc.oneof(fc.string({ unit: tricky, maxLength: 24 }), fc.string({ maxLength: 24 }), fc.string({ unit: 'grapheme', maxLength: 12 })).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 5 }), (args) => {
        const parsed = parseExec(renderExec(['/usr/sbin/ethtool', ...args]));
        expect(parsed.errors).toEqual([]);
        expect(parsed.notLiteral).toEqual([]);
        expect(parsed.argv).toEqual(['/usr/sbin/ethtool', ...args]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('sysfs paths, component by component', () => {
  it('accepts the per-device and per-queue attributes nettune writes', () => {
    expect(parseSysfsPath('/sys/class/net/eth0/queues/rx-0/rps_cpus')).toEqual({ device: 'eth0', attr: 'queues/rx-0/rps_cpus' });
    expect(parseSysfsPath('/sys/class/net/eth0/queues/tx-12/xps_cpus')).toEqual({ device: 'eth0', attr: 'queues/tx-12/xps_cpus' });
    expect(parseSysfsPath("/sys/class/net/x';id;'/mtu")).toEqual({ device: "x';id;'", attr: 'mtu' });
  });
  it.each([
    '/sys/class/net/../queues/rx-0/rps_cpus',
    '/sys/class/net/./mtu',
    '/sys/class/net/eth0/../lo/mtu',
    '/sys/class/net/eth0/queues/rx-0/../../mtu',
    '/sys/class/net/eth0//mtu',
    '/sys/class/net/eth0/mtu/',
    '/sys/class/net/eth0/queues/rx-0/xps_cpus',
    '/sys/class/net/eth0/queues/tx-0/rps_cpus',
    '/sys/class/net/eth0/queues/rx-01/rps_cpus',
    '/sys/class/net/eth0/address',
    '/sys/class/net/eth0/device/remove',
    '/sys/class/net/eth 0/mtu',
    '/sys/class/net/sixteen-chars-xx/mtu',
    '/proc/sys/net/core/somaxconn',
    'sys/class/net/eth0/mtu',
    '/sys/class/net/eth0/queues/rx-0/rps_cpus\n',
  ])('refuses %j', (path) => {
    expect(typeof parseSysfsPath(path)).toBe('string');
  });
  it('a symlink that leads anywhere but the device\'s own attribute is refused', () => {
    const attr = { device: 'eth0', attr: 'mtu' };
    expect(sysfsResolvedProblem(attr, '/sys/devices/pci0000:00/0000:00:03.0/net/eth0/mtu')).toBeNull();
    expect(sysfsResolvedProblem(attr, '/sys/devices/virtual/net/lo/mtu')).toMatch(/not to the device's own attribute/);
    expect(sysfsResolvedProblem(attr, '/etc/shadow')).toMatch(/leads to \/etc\/shadow/);
  });
});

describe('the persisted NIC unit', () => {
  const unitFor = (dev: string, netns: string | null) =>
    renderNicUnit(
      [],
      [
        nicLine({ kind: 'ethtool', device: dev, group: 'features', setting: 'gro' }, 'on', netns, `reason for ${dev}\nExecStart=/bin/id`),
        nicLine({ kind: 'ethtool', device: dev, group: 'rings', setting: 'rx' }, '512', netns, 'rings'),
        nicLine({ kind: 'sysfs', path: `/sys/class/net/${dev}/queues/rx-0/rps_cpus` }, 'f', netns, 'rps'),
      ],
      1,
      'T',
    );

  it.each(HOSTILE.map((d) => [d]))('device %j: each ExecStart= argument is literal, nothing runs but ethtool and the fixed writer', (dev) => {
    for (const netns of [null, 'nt-h4-lab']) {
      const unit = unitFor(dev, netns);
      const prefix = netns ? ['/usr/sbin/ip', 'netns', 'exec', netns] : [];
      const parsed = execLines(unit).map(parseExec);
      expect(parsed.map((p) => p.errors.concat(p.notLiteral))).toEqual([[], [], []]);
      expect(parsed.map((p) => p.argv)).toEqual([
        [...prefix, '/usr/sbin/ethtool', '-K', dev, 'gro', 'on'],
        [...prefix, '/usr/sbin/ethtool', '-G', dev, 'rx', '512'],
        [...prefix, '/bin/sh', ...SYSFS_WRITER, `/sys/class/net/${dev}/queues/rx-0/rps_cpus`, 'f'],
      ]);
      // the reason's newline did not start a directive
      expect(unit.match(/^ExecStart=/gm)).toHaveLength(3);
      expect(unit).toContain(`# ${oneLine(`reason for ${dev}`)} ExecStart=/bin/id\n`);
      // the merge reads its own lines back unchanged
      expect(parseNicUnit(unit)).toEqual({ lines: parseNicUnit(unit).lines, dropped: [] });
      expect(parseNicUnit(unit).lines.map((l) => l.argv)).toEqual(parsed.map((p) => p.argv));
    }
  });

  it('the sysfs writer script is constant: the path and value are its arguments, never its text', () => {
    expect(SYSFS_WRITER).toEqual(['-c', 'printf %s "$2" > "$1"', 'nettune-sysfs-write']);
    const r = spawnSync('/bin/sh', [...SYSFS_WRITER, '/dev/null', "x';id;'$(id)"], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('systemd-analyze verify accepts the unit for every hostile name (where systemd is installed)', () => {
    const unit = renderNicUnit([], HOSTILE.flatMap((dev) => parseNicUnit(unitFor(dev, null)).lines.concat(parseNicUnit(unitFor(dev, 'nt-h4-lab')).lines)), 1, 'T');
    expect(unit.match(/^ExecStart=/gm)).toHaveLength(HOSTILE.length * 6);
    const v = systemdVerify(unit);
    if (!v.ran) return; // Debian package systemd is in run-tests' DEBIAN_PACKAGES; skipped only outside CI
    expect(v.code, v.output).toBe(0);
    expect(v.output).not.toMatch(/nettune-nic\.service:\d+/); // no syntax complaint about any line
    expect(v.output).not.toMatch(/specifier|Invalid|Failed to/i);
  });

  it('refuses to render what validation should have stopped: bad setting, value, path, namespace', () => {
    expect(() => nicLine({ kind: 'ethtool', device: 'eth0', group: 'coalesce', setting: 'rx-usecs;id' }, '5', null, '')).toThrow(/setting/);
    expect(() => nicLine({ kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro' }, 'on;id', null, '')).toThrow(/value/);
    expect(() => nicLine({ kind: 'ethtool', device: 'a/b', group: 'features', setting: 'gro' }, 'on', null, '')).toThrow(/interface name/);
    expect(() => nicLine({ kind: 'sysfs', path: '/sys/class/net/../x/mtu' }, '1500', null, '')).toThrow();
    expect(() => nicLine({ kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro' }, 'on', 'a b', '')).toThrow(/namespace/);
  });

  it('an older unit with sh -c \'echo V > P\' lines is rewritten in the literal form; foreign lines are dropped', () => {
    const old = [
      '[Service]',
      'Type=oneshot',
      '# c1',
      "ExecStart=/usr/sbin/ip netns exec nt-a /bin/sh -c 'echo 3 > /sys/class/net/eth0/queues/rx-0/rps_cpus'",
      "ExecStart=/bin/sh -c 'echo 1 > /sys/class/net/x';id;'/mtu'",
      'ExecStart=/usr/bin/id',
    ].join('\n');
    const p = parseNicUnit(old);
    expect(p.lines.map((l) => l.argv)).toEqual([['/usr/sbin/ip', 'netns', 'exec', 'nt-a', '/bin/sh', ...SYSFS_WRITER, '/sys/class/net/eth0/queues/rx-0/rps_cpus', '3']]);
    expect(p.dropped).toHaveLength(2);
  });

  it('a later line for the same setting in the same namespace replaces the earlier one', () => {
    const a = renderNicUnit([], [nicLine({ kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro' }, 'off', null, 'c1'), nicLine({ kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro' }, 'off', 'nt-b', 'c1')], 1, 'T');
    const b = renderNicUnit(parseNicUnit(a).lines, [nicLine({ kind: 'ethtool', device: 'eth0', group: 'features', setting: 'gro' }, 'on', null, 'c2')], 2, 'T');
    expect(execLines(b)).toEqual(['/usr/sbin/ip netns exec nt-b /usr/sbin/ethtool -K eth0 gro off', '/usr/sbin/ethtool -K eth0 gro on']);
  });
});

describe('the persisted sysctl.d file', () => {
  it('a reason with a newline stays one comment; a key or value with a control character is refused', () => {
    const text = renderPersisted([], [{ key: 'net.ipv4.tcp_sack', value: '1', comments: ['why\nnet.ipv4.ip_forward = 1'] }], 1, 'T');
    expect(parsePersisted(text)).toEqual([{ key: 'net.ipv4.tcp_sack', value: '1', comments: ['why net.ipv4.ip_forward = 1'] }]);
    expect(() => renderPersisted([], [{ key: 'net.ipv4.tcp_sack', value: '1\nnet.ipv4.ip_forward = 1', comments: [] }], 1, 'T')).toThrow(/control character/);
    expect(() => renderPersisted([], [{ key: 'net.ipv4.tcp_sack = 1\nnet.ipv4.ip_forward', value: '1', comments: [] }], 1, 'T')).toThrow(/key/);
  });
});
