import { describe, expect, it } from 'vitest';
import { validateChanges, type InputChange } from '../../src/apply/validate.js';
import { findEntry, kernelForm, parseKernelNumber, validateSysctlValue, validateUncatalogued, validateValue, type ValueContext } from '../../src/catalog/index.js';
import type { CatalogEntry } from '../../src/catalog/schema.js';
import { snapshotFixture } from '../helpers.js';

const entry = (key: string): CatalogEntry => {
  const e = findEntry(key);
  if (!e) throw new Error(`no entry ${key}`);
  return e;
};
const check = (key: string, value: string, ctx?: ValueContext) => validateValue(entry(key), value, ctx);
const kernelOf = (key: string, value: string) => check(key, value).problems.map((p) => p.kernel);

describe('numbers as the kernel reads them (proc_get_long, base 0)', () => {
  it('decimal, hex, octal, sign', () => {
    expect(parseKernelNumber('42')).toMatchObject({ ok: true, value: 42n, base: 10 });
    expect(parseKernelNumber('0x1F')).toMatchObject({ ok: true, value: 31n, base: 16 });
    expect(parseKernelNumber('0X1f')).toMatchObject({ ok: true, value: 31n, base: 16 });
    expect(parseKernelNumber('030')).toMatchObject({ ok: true, value: 24n, base: 8 });
    expect(parseKernelNumber('-0x10')).toMatchObject({ ok: true, value: -16n, negative: true });
    expect(parseKernelNumber('0')).toMatchObject({ ok: true, value: 0n });
  });
  it('refuses what the kernel refuses', () => {
    for (const t of ['+5', '08', '0x', '5x', '1,2', '-', '', 'abc', '0000000000000000000060', '18446744073709551616']) expect(parseKernelNumber(t).ok, t).toBe(false);
    expect(parseKernelNumber('18446744073709551615')).toMatchObject({ ok: true });
    // 20 characters are still read (as octal here), 21 are not (TMPBUFLEN)
    expect(parseKernelNumber('00000000000000000060')).toMatchObject({ ok: true, value: 48n });
  });
});

describe('issue 9: values the kernel takes but that are wrong', () => {
  it('negative counts and timeouts are refused (the kernel would store them)', () => {
    for (const [k, v] of [
      ['net.ipv4.tcp_fin_timeout', '-5'],
      ['net.ipv4.tcp_max_syn_backlog', '-1'],
      ['net.core.somaxconn', '-1'],
    ] as const) {
      const c = check(k, v);
      expect(c.ok, `${k}=${v}`).toBe(false);
      expect(c.problem).toMatch(/negative|below/);
    }
    expect(kernelOf('net.ipv4.tcp_fin_timeout', '-5')).toEqual(['accepts']);
    expect(check('net.ipv4.tcp_adv_win_scale', '-2').ok).toBe(true);
  });
  it('vectors out of order', () => {
    const c = check('net.ipv4.tcp_rmem', '6291456 131072 4096');
    expect(c.ok).toBe(false);
    expect(c.problem).toMatch(/out of order \(min 6291456 > default 131072\)/);
    expect(c.problems[0]?.kernel).toBe('accepts');
    expect(check('net.ipv4.tcp_mem', '300 200 100').ok).toBe(false);
    expect(check('net.ipv4.udp_mem', '100 300 200').ok).toBe(false);
    expect(check('net.ipv4.tcp_rmem', '4096 4096 4096').ok).toBe(true);
  });
  it('past INT_MAX / UINT_MAX / u8', () => {
    expect(kernelOf('net.ipv4.tcp_rmem', '4096 131072 2147483648')).toEqual(['refuses']);
    expect(check('net.ipv4.tcp_rmem', '4096 131072 2147483647').ok).toBe(true);
    expect(kernelOf('net.ipv4.tcp_notsent_lowat', '4294967296')).toEqual(['refuses']);
    expect(check('net.ipv4.tcp_notsent_lowat', '4294967295').ok).toBe(true);
    expect(kernelOf('net.ipv4.tcp_notsent_lowat', '-0')).toEqual(['refuses']);
    expect(kernelOf('net.ipv4.tcp_max_syn_backlog', '2147483648')).toEqual(['refuses']);
    expect(kernelOf('net.ipv4.tcp_sack', '256')).toEqual(['refuses']);
    expect(kernelOf('net.ipv4.tcp_sack', '2')).toEqual(['accepts']); // u8: the kernel stores 2
    expect(kernelOf('net.ipv4.tcp_ecn', '3')).toEqual(['refuses']); // extra2 = 2
  });
  it('leading zeros: octal, said with what the kernel stores', () => {
    const c = check('net.ipv4.tcp_fin_timeout', '030');
    expect(c.ok).toBe(false);
    expect(c.problems).toEqual([expect.objectContaining({ kernel: 'accepts', severity: 'warning' })]);
    expect(c.problem).toMatch(/octal and stores 24/);
    expect(c.kernel_value).toBe('24');
    expect(kernelOf('net.ipv4.tcp_fin_timeout', '08')).toEqual(['refuses']);
    expect(check('net.ipv4.tcp_fin_timeout', '0').ok).toBe(true);
  });
  it('hex is what the kernel accepts', () => {
    expect(check('net.ipv4.tcp_fin_timeout', '0x1e')).toMatchObject({ ok: true, kernel_value: '30' });
    expect(check('net.ipv4.tcp_fastopen', '0x403')).toMatchObject({ ok: true, kernel_value: '1027' });
    expect(kernelForm(entry('net.ipv4.tcp_fastopen'), '0x403')).toBe('1027');
  });
  it('control characters and line breaks, catalogued or not', () => {
    expect(check('net.ipv4.tcp_congestion_control', 'bbr\nnet.ipv4.ip_forward = 1').ok).toBe(false);
    const u = validateUncatalogued('net.ipv4.some_future_knob', '1\nnet.ipv4.ip_forward = 1', '0');
    expect(u.ok).toBe(false);
    expect(u.problem).toMatch(/control character or a line break/);
    expect(validateUncatalogued('net.ipv4.some_future_knob', 'a\u0007b').ok).toBe(false);
    expect(validateUncatalogued('net.ipv4.some_future_knob', 'x\u2028y').ok).toBe(false);
    expect(check('net.ipv4.tcp_rmem', '4096\t131072\t6291456').ok).toBe(true);
  });
  it('uncatalogued numeric keys get the shared number rules', () => {
    expect(validateUncatalogued('net.ipv4.igmp_max_memberships', '030', '20')).toMatchObject({ ok: false, kernel_value: '24' });
    expect(validateUncatalogued('net.ipv4.igmp_max_memberships', '08', '20').problems[0]?.kernel).toBe('refuses');
    expect(validateUncatalogued('net.ipv4.igmp_max_memberships', '1 2', '20').ok).toBe(false);
    expect(validateUncatalogued('net.ipv4.igmp_max_memberships', '0x20', '20')).toMatchObject({ ok: true, kernel_value: '32' });
    expect(validateUncatalogued('net.ipv4.some_string', '030', 'abc').ok).toBe(true);
    expect(validateSysctlValue({ key: 'net.ipv4.x', entry: undefined }, '', {}).ok).toBe(false);
  });
  it('fewer or more vector fields than the key has', () => {
    expect(check('net.ipv4.tcp_rmem', '4096').problem).toMatch(/write only the first 1/);
    expect(check('net.ipv4.tcp_rmem', '1 2 3 4').problem).toMatch(/ignores the extra 1/);
    expect(check('net.ipv4.tcp_fin_timeout', '60 61').ok).toBe(false);
  });
});

describe('special keys', () => {
  const sysctl = { 'net.ipv4.ip_unprivileged_port_start': '1024', 'net.ipv4.ip_local_port_range': '32768 60999' };
  it('ip_local_port_range: ascending, each end 1..65535, not below ip_unprivileged_port_start, parity advice', () => {
    expect(kernelOf('net.ipv4.ip_local_port_range', '2000 1000')).toEqual(['refuses']);
    expect(check('net.ipv4.ip_local_port_range', '2000 2000').ok).toBe(true);
    expect(kernelOf('net.ipv4.ip_local_port_range', '0 1000')).toEqual(['refuses']);
    expect(kernelOf('net.ipv4.ip_local_port_range', '1024 65536')).toEqual(['refuses']);
    const low = check('net.ipv4.ip_local_port_range', '1000 2001', { sysctl });
    expect(low.problems.map((p) => p.kernel)).toEqual(['refuses']);
    expect(low.problem).toMatch(/below ip_unprivileged_port_start \(1024\)/);
    const same = check('net.ipv4.ip_local_port_range', '32768 60998', { sysctl });
    expect(same.ok).toBe(true);
    expect(same.notes.join(' ')).toMatch(/same parity/);
    expect(check('net.ipv4.ip_local_port_range', '32768 60999', { sysctl }).notes).toEqual([]);
  });
  it('ip_unprivileged_port_start may not overlap the ephemeral range', () => {
    expect(check('net.ipv4.ip_unprivileged_port_start', '40000', { sysctl }).problems.map((p) => p.kernel)).toEqual(['refuses']);
    expect(check('net.ipv4.ip_unprivileged_port_start', '32768', { sysctl }).ok).toBe(true);
    expect(kernelOf('net.ipv4.ip_unprivileged_port_start', '65536')).toEqual(['refuses']);
  });
  it('congestion control: available, and allowed in a child namespace', () => {
    const congestion = { available: ['reno', 'cubic', 'bbr'], allowed: ['reno', 'bbr'] };
    expect(check('net.ipv4.tcp_congestion_control', 'cubic', { congestion, netnsInit: false }).problems.map((p) => p.kernel)).toEqual(['refuses']);
    expect(check('net.ipv4.tcp_congestion_control', 'cubic', { congestion, netnsInit: true }).ok).toBe(true);
    expect(check('net.ipv4.tcp_congestion_control', 'vegas', { congestion, netnsInit: true }).problem).toMatch(/not available/);
  });
  it('jiffies knobs: the bound depends on CONFIG_HZ', () => {
    expect(check('net.ipv4.tcp_keepalive_time', '2147483').ok).toBe(true);
    expect(kernelOf('net.ipv4.tcp_keepalive_time', '3000000')).toEqual(['depends']);
    expect(kernelOf('net.ipv4.tcp_keepalive_time', '30000000')).toEqual(['refuses']);
  });
  it('ip_local_reserved_ports: a port list (empty clears it)', () => {
    expect(check('net.ipv4.ip_local_reserved_ports', '8080,9000-9100')).toMatchObject({ ok: true, kernel_value: '8080,9000-9100' });
    expect(check('net.ipv4.ip_local_reserved_ports', '').ok).toBe(true);
    for (const bad of ['9100-9000', '65536', '1, 2', 'http']) expect(kernelOf('net.ipv4.ip_local_reserved_ports', bad), bad).toEqual(['refuses']);
  });
});

describe('apply checks each value against the state the earlier writes leave', () => {
  const input = (key: string, to: string): InputChange => ({ change: { kind: 'sysctl', key, from: null, to }, reason: 'test', source: 'test' });
  it('lowering ip_unprivileged_port_start first lets the port range go lower; the other order is refused before the lock', () => {
    const snap = snapshotFixture();
    snap.sysctl['net.ipv4.ip_unprivileged_port_start'] = '1024';
    snap.sysctl['net.ipv4.ip_local_port_range'] = '32768 60999';
    const ok = validateChanges([input('net.ipv4.ip_unprivileged_port_start', '500'), input('net.ipv4.ip_local_port_range', '600 60999')], snap);
    expect(ok.errors).toEqual([]);
    const bad = validateChanges([input('net.ipv4.ip_local_port_range', '600 60999'), input('net.ipv4.ip_unprivileged_port_start', '500')], snap);
    expect(bad.errors.join('\n')).toMatch(/below ip_unprivileged_port_start \(1024\)/);
  });
  it('writes the kernel form (hex in decimal) and refuses octal', () => {
    const snap = snapshotFixture();
    const v = validateChanges([input('net.ipv4.tcp_fin_timeout', '0x1f')], snap);
    expect(v.changes[0]?.to).toBe('31');
    expect(validateChanges([input('net.ipv4.tcp_fin_timeout', '030')], snap).errors[0]).toMatch(/octal and stores 24/);
  });
});
