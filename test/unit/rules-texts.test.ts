// Rule texts agree with the kernel, with the catalog and with the Snapshot they run on.
import { describe, expect, it } from 'vitest';
import { catalog } from '../../src/catalog/index.js';
import { isGaugeRef } from '../../src/rules/engine.js';
import { allRules, findRule } from '../../src/rules/index.js';
import { auditCase, nettune } from '../helpers.js';
import type { CatalogEntry } from '../../src/catalog/schema.js';

const finding = (r: ReturnType<typeof auditCase>, id: string) => r.findings.find((f) => f.id === id);

describe('the issue-10 examples', () => {
  it('tcp.fastopen-without-cookie: 0x201 (no server bit) is info, 0x203 is critical', () => {
    const at = (v: string) => finding(auditCase(allRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_fastopen'] = v) }), 'tcp.fastopen-without-cookie');
    expect(at('0x201')?.severity).toBe('info');
    expect(at('0x201')?.message).toMatch(/without the server bit 0x2: no effect now/);
    expect(at('0x203')?.severity).toBe('critical');
  });
  it('tcp.fastopen-server-caveat: the blackhole back-off is client-side and off by default since 5.14', () => {
    const r = findRule('tcp.fastopen-server-caveat');
    expect(r?.why).not.toMatch(/backs off globally/);
    expect(r?.why).toMatch(/client side/);
    expect(r?.why).toMatch(/off \(0\) by default since 5\.14/);
    const f = finding(auditCase(allRules, { mutate: (s) => (s.sysctl['net.ipv4.tcp_fastopen'] = '3') }), 'tcp.fastopen-server-caveat');
    expect(f?.evidence.map((e) => e.what)).toContain('net.ipv4.tcp_fastopen_blackhole_timeout_sec');
  });
  it('tcp.slow-start-after-idle: cwnd halved per idle RTO (RFC 2861), as the catalog says, not an RFC 5681 reset', () => {
    const r = findRule('tcp.slow-start-after-idle');
    expect(r?.why).toMatch(/halved for every RTO/);
    expect(r?.why).toMatch(/RFC 2861/);
    expect(r?.sources.join(' ')).not.toMatch(/RFC 5681/);
    expect(catalog().find((e) => e.key === 'net.ipv4.tcp_slow_start_after_idle')?.sources.join(' ')).toMatch(/RFC 2861/);
  });
  it('tcp.keepalive-slow: Linux conntrack keeps established entries 5 days; the message quotes the snapshot value', () => {
    const r = findRule('tcp.keepalive-slow');
    expect(r?.why).not.toMatch(/conntrack entries typically expire much sooner/);
    expect(r?.why).toMatch(/432000, 5d, by default/);
    const f = finding(auditCase(allRules, { workload: 'connections', mutate: (s) => (s.sysctl['net.netfilter.nf_conntrack_tcp_timeout_established'] = '3600') }), 'tcp.keepalive-slow');
    expect(f?.message).toMatch(/later than this host's conntrack forgets an idle flow \(1h\)/);
  });
  it('tcp.cc-per-socket names the host default from the snapshot (bbr here), never a fixed cubic', () => {
    expect(findRule('tcp.cc-per-socket')?.why).not.toMatch(/stays cubic/);
    const f = finding(
      auditCase(allRules, {
        workload: 'throughput',
        mutate: (s) => {
          s.sysctl['net.ipv4.tcp_congestion_control'] = 'bbr';
          s.congestion_control = { current: 'bbr', available: ['reno', 'cubic', 'bbr'], allowed: ['reno', 'cubic'] };
        },
      }),
      'tcp.cc-per-socket',
    );
    expect(f?.message).toMatch(/host default stays bbr/);
  });
  it('`rules explain buffers.wmem-below-bdp` says when audit makes it critical', () => {
    const r = nettune('rules', 'explain', 'buffers.wmem-below-bdp');
    expect(r.stdout).toMatch(/severity warn \(same for all workloads; critical when the max is below one BDP\)/);
    const j = JSON.parse(nettune('rules', '--json').stdout) as { rules: { id: string; severity_note: string | null }[] };
    expect(j.rules.find((x) => x.id === 'buffers.wmem-below-bdp')?.severity_note).toMatch(/critical/);
    const e = JSON.parse(nettune('rules', 'explain', 'buffers.wmem-below-bdp', '--json').stdout) as { severity_note: string | null };
    expect(e.severity_note).toBe('critical when the max is below one BDP');
  });
});

describe('every rule', () => {
  it('whose check changes a finding’s severity says so in severity_note (shown by rules explain)', () => {
    const missing = allRules.filter((r) => /severity|sinceBoot|bootOnly/.test(r.check.toString()) && !r.severity_note).map((r) => r.id);
    expect(missing).toEqual([]);
  });

  it('shows gauges (sockstat, conntrack count) as levels, never as rates', () => {
    const seen: string[] = [];
    for (const workload of ['latency', 'throughput', 'connections', 'balanced'] as const) {
      const r = auditCase(allRules, {
        workload,
        link: { rate_bps: 10e9, rtt_s: 0.05 },
        mutate: (s) => {
          const tcp = s.counters.sockstat.TCP;
          if (tcp) Object.assign(tcp, { mem: 900000, orphan: 60000, tw: 250000 });
          s.sysctl['net.ipv4.tcp_mem'] = '100000 200000 300000';
          s.sysctl['net.ipv4.tcp_max_orphans'] = '65536';
          s.sysctl['net.ipv4.tcp_max_tw_buckets'] = '262144';
        },
        prev: (p) => {
          const tcp = p.counters.sockstat.TCP;
          if (tcp) Object.assign(tcp, { mem: 100, orphan: 10, tw: 10 });
        },
      });
      for (const f of r.findings)
        for (const e of f.evidence) {
          if (!isGaugeRef(e.what)) continue;
          seen.push(e.what);
          expect(e.rate_per_s ?? null, `${f.id}: ${e.what}`).toBeNull();
        }
    }
    expect(seen).toContain('sockstat.TCP.mem');
    expect(seen).toContain('sockstat.TCP.orphan');
  });

  it('states catalog defaults as the catalog does: a default quoted next to a key is its default (or a documented older one)', () => {
    const entries = catalog().filter((e) => !e.key.includes('*'));
    const byShort = new Map<string, CatalogEntry[]>();
    for (const e of entries) {
      const short = e.key.split('.').pop() ?? e.key;
      byShort.set(short, [...(byShort.get(short) ?? []), e]);
    }
    const allowed = (e: CatalogEntry): Set<string> => {
      const s = new Set<string>();
      const add = (v: string | undefined | null) => v && v.split(' ').forEach((x) => s.add(x));
      add(e.default);
      for (const c of e.changes ?? []) {
        add(c.from);
        add(c.to);
      }
      return s;
    };
    const problems: string[] = [];
    let checked = 0;
    for (const r of allRules) {
      for (const sentence of `${r.why} ${r.risk}`.split(/(?<=\.)\s+/)) {
        if (!/\bdefault/i.test(sentence)) continue;
        for (const [short, es] of byShort) {
          // "tcp_retries2 bounds …; the default 15", "(432000, 5 days, by default)"; no other key in between
          const between = '[^._]*?';
          const m =
            new RegExp(`\\b${short}\\b${between}\\bdefaults?\\s+(?:value\\s+)?(?:of\\s+|is\\s+|has been\\s+)?(\\d[\\d_]*)\\b`).exec(sentence) ??
            new RegExp(`\\b${short}\\b[^._\\d]*?(\\d[\\d_]*)\\b[^._]*?by default`).exec(sentence);
          if (!m) continue;
          const n = m[1] ?? '';
          const ok = es.some((e) => allowed(e).has(n) || (e.default === null && e.default_note?.includes(n)));
          checked++;
          if (!ok) problems.push(`${r.id}: "${sentence}" quotes ${n} as a default of ${short}; catalog: ${es.map((e) => e.default ?? e.default_note).join(' / ')}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('names units as the catalog does: "<key> is counted in <unit>" and "<key> … seconds/bytes/pages"', () => {
    const UNIT_WORD: Record<string, string> = { pages: 'pages', bytes: 'bytes', seconds: 'seconds', packets: 'packets' };
    const problems: string[] = [];
    let checked = 0;
    for (const r of allRules) {
      const text = `${r.why} ${r.risk} ${r.title}`;
      for (const e of catalog()) {
        const short = e.key.split('.').pop() ?? '';
        if (short === '*') continue;
        const m = new RegExp(`\\b${short}\\b(?:\\[\\d\\])? (?:is (?:counted )?in|=|is|of) (?:\\d+ )?(pages|bytes|seconds|packets)\\b`).exec(text);
        if (!m) continue;
        const unit = UNIT_WORD[m[1] ?? ''];
        if (!unit) continue;
        checked++;
        if (unit !== e.unit) problems.push(`${r.id}: "${m[0]}" but the catalog says ${e.key} is in ${e.unit}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(1);
  });

  it('contains no host-specific facts ("this host", "this 24 GB", "on this 6.18 kernel") in why/risk', () => {
    const bad = allRules.filter((r) => /this (\d+ ?GB|[\d.]+ kernel|machine|VM)|on this \d/i.test(`${r.why} ${r.risk}`)).map((r) => r.id);
    expect(bad).toEqual([]);
  });
});
