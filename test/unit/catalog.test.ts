import { describe, expect, it } from 'vitest';
import { catalog, editDistance, findEntry, keyMatches, normaliseKey, suggestKeys, validateValue } from '../../src/catalog/index.js';
import { catalogData } from '../../src/catalog/data/index.js';
import { catalogEntrySchema } from '../../src/catalog/schema.js';
import { resolveCounter } from '../../src/snapshot/index.js';
import { snapshotFixture } from '../helpers.js';

const SEED_KNOBS = [
  'net.ipv4.tcp_congestion_control',
  'net.ipv4.tcp_fastopen',
  'net.ipv4.tcp_timestamps',
  'net.ipv4.tcp_sack',
  'net.ipv4.tcp_dsack',
  'net.ipv4.tcp_window_scaling',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.core.rmem_max',
  'net.core.wmem_max',
  'net.core.rmem_default',
  'net.core.wmem_default',
  'net.netfilter.nf_conntrack_max',
  'net.netfilter.nf_conntrack_tcp_timeout_established',
  'net.mptcp.enabled',
  // what any serious tuning guide covers
  'net.ipv4.tcp_mem',
  'net.core.somaxconn',
  'net.ipv4.tcp_max_syn_backlog',
  'net.ipv4.tcp_syncookies',
  'net.core.netdev_max_backlog',
  'net.core.netdev_budget',
  'net.core.netdev_budget_usecs',
  'net.core.busy_read',
  'net.core.busy_poll',
  'net.ipv4.tcp_notsent_lowat',
  'net.ipv4.tcp_slow_start_after_idle',
  'net.ipv4.tcp_mtu_probing',
  'net.ipv4.tcp_tw_reuse',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_max_tw_buckets',
  'net.core.default_qdisc',
  'net.core.optmem_max',
  'net.ipv4.udp_mem',
  'net.ipv4.udp_rmem_min',
  'net.ipv4.conf.*.rp_filter',
];

describe('catalog data', () => {
  it('every entry satisfies the schema', () => {
    const bad = catalogData.flatMap((e) => {
      const r = catalogEntrySchema.safeParse(e);
      return r.success ? [] : [`${e.key}: ${r.error.issues.map((i) => i.message).join('; ')}`];
    });
    expect(bad).toEqual([]);
  });

  it('has at least 120 distinct knobs including every seed knob', () => {
    const keys = catalog().map((e) => e.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThanOrEqual(120);
    expect(SEED_KNOBS.filter((k) => !keys.includes(k))).toEqual([]);
  });

  it('states the facts users get wrong', () => {
    const rmemMax = findEntry('net.core.rmem_max');
    expect(rmemMax?.summary).toMatch(/SO_RCVBUF/);
    expect(`${rmemMax?.summary} ${rmemMax?.tradeoff}`).toMatch(/tcp_rmem/);
    expect(rmemMax?.scope).toBe('global');
    expect(findEntry('net.ipv4.tcp_mem')?.unit).toBe('pages');
    const tfo = findEntry('net.ipv4.tcp_fastopen');
    expect(tfo?.type).toBe('bitmask');
    const bits = Object.fromEntries((tfo?.values ?? []).map((v) => [Number(v.value), v.meaning]));
    expect(bits[1]).toMatch(/client/i);
    expect(bits[2]).toMatch(/server/i);
    // include/net/tcp.h: 0x200 TFO_SERVER_COOKIE_NOT_REQD, 0x400 TFO_SERVER_WO_SOCKOPT1
    expect(bits[0x200]).toMatch(/cookie/i);
    expect(bits[0x400]).toMatch(/listener|TCP_FASTOPEN|socket option/i);
    expect(findEntry('net.ipv4.tcp_tw_recycle')?.removed_in).toBe('4.12');
    expect(findEntry('net.netfilter.nf_conntrack_tcp_timeout_established')?.default).toBe('432000');
    expect(findEntry('net.core.somaxconn')?.scope).toBe('netns');
  });

  it('every non-null default is a valid value for its own entry', () => {
    const bad = catalog().filter((e) => e.default !== null && e.default !== '' && !validateValue(e, e.default).ok);
    expect(bad.map((e) => `${e.key}=${e.default}: ${validateValue(e, e.default ?? '').problem}`)).toEqual([]);
  });

  it('every related key is itself a catalog key or pattern', () => {
    const keys = new Set(catalog().map((e) => e.key));
    const dangling = catalog().flatMap((e) => e.related.filter((r) => !keys.has(r) && !findEntry(r)).map((r) => `${e.key} → ${r}`));
    expect(dangling).toEqual([]);
  });

  it('counter references resolve on a real 6.18 snapshot', () => {
    const snap = snapshotFixture();
    const missing = [...new Set(catalog().flatMap((e) => e.counters))].filter((ref) => resolveCounter(snap, ref) === null);
    expect(missing).toEqual([]);
  });
});

describe('lookup', () => {
  it('matches `*` patterns to one segment', () => {
    expect(keyMatches('net.ipv4.conf.*.rp_filter', 'net.ipv4.conf.eth0.rp_filter')).toBe(true);
    expect(keyMatches('net.ipv4.conf.*.rp_filter', 'net.ipv4.conf.eth0/100.rp_filter')).toBe(true);
    expect(keyMatches('net.ipv4.conf.*.rp_filter', 'net.ipv4.conf.rp_filter')).toBe(false);
    expect(findEntry('net.ipv4.conf.all.rp_filter')?.key).toBe('net.ipv4.conf.*.rp_filter');
  });
  it('accepts the slash form sysctl accepts', () => {
    expect(normaliseKey('net/ipv4/tcp_rmem')).toBe('net.ipv4.tcp_rmem');
    expect(findEntry('net/ipv4/tcp_rmem')?.key).toBe('net.ipv4.tcp_rmem');
  });
  it('suggests keys for typos and bare names', () => {
    const keys = catalog().map((e) => e.key);
    expect(suggestKeys('net.ipv4.tcp_rmen', keys)[0]).toBe('net.ipv4.tcp_rmem');
    expect(suggestKeys('tcp_rmem', keys)[0]).toBe('net.ipv4.tcp_rmem');
    expect(suggestKeys('net.core.somaxcon', keys)).toContain('net.core.somaxconn');
    expect(suggestKeys('completely.unrelated.thing.here', keys)).toEqual([]);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('value validation', () => {
  const entry = (key: string) => {
    const e = findEntry(key);
    if (!e) throw new Error(`no entry ${key}`);
    return e;
  };
  it('checks vectors by field count and integers', () => {
    expect(validateValue(entry('net.ipv4.tcp_rmem'), '4096 131072 33554432').ok).toBe(true);
    expect(validateValue(entry('net.ipv4.tcp_rmem'), '4096\t131072   33554432').ok).toBe(true);
    expect(validateValue(entry('net.ipv4.tcp_rmem'), '4096 131072').problem).toMatch(/3 integers/);
    expect(validateValue(entry('net.ipv4.tcp_rmem'), '4096 big 1').problem).toMatch(/default must be an integer/);
  });
  it('checks booleans, enums and bit masks', () => {
    expect(validateValue(entry('net.ipv4.tcp_sack'), '2').ok).toBe(false);
    expect(validateValue(entry('net.ipv4.tcp_sack'), '0').ok).toBe(true);
    expect(validateValue(entry('net.ipv4.tcp_fastopen'), '0x403').ok).toBe(true);
    expect(validateValue(entry('net.ipv4.tcp_fastopen'), '3').ok).toBe(true);
    expect(validateValue(entry('net.ipv4.tcp_fastopen'), 'lots').ok).toBe(false);
    expect(validateValue(entry('net.ipv4.tcp_mtu_probing'), '3').ok).toBe(false);
  });
});
