import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/snapshot/schema.js';
import { routingRules } from '../../src/rules/routing.js';
import { auditCase, firedIds } from '../helpers.js';

const finding = (r: ReturnType<typeof auditCase>, id: string) => r.findings.find((f) => f.id === id);
const findings = (r: ReturnType<typeof auditCase>, id: string) => r.findings.filter((f) => f.id === id);

/** Adds a second uplink: eth1, up, 198.51.100.2/24, with its own conf.* keys (as the probe records them). */
const secondUplink = (s: Snapshot) => {
  const eth0 = s.links.find((l) => l.name === 'eth0');
  if (!eth0) throw new Error('fixture has eth0');
  s.links.push({ ...structuredClone(eth0), name: 'eth1', ifindex: 9, address: '02:00:00:00:00:09', addresses: [{ family: 'inet', local: '198.51.100.2', prefixlen: 24 }] });
  s.sysctl['net.ipv4.conf.eth1.rp_filter'] = '0';
  s.sysctl['net.ipv4.conf.eth1.send_redirects'] = '1';
};
const set =
  (key: string, v: string) =>
  (s: Snapshot): void => {
    s.sysctl[key] = v;
  };
const all =
  (...fs: ((s: Snapshot) => void)[]) =>
  (s: Snapshot) => {
    for (const f of fs) f(s);
  };

const endpoint = { address: '198.51.100.2', id: 1, flags: ['subflow'], dev: 'eth1' };

describe('routing rules on the real 6.18 snapshot', () => {
  it('the untouched host (one uplink, default rules, no MPTCP endpoints, not forwarding) has no routing findings', () => {
    expect(firedIds(auditCase(routingRules))).toEqual([]);
  });

  it('rp_filter: conf.all=1 on a host with two uplinks → one warn per interface, loosening the interface and conf.all', () => {
    const r = auditCase(routingRules, { mutate: all(secondUplink, set('net.ipv4.conf.all.rp_filter', '1')) });
    const hits = findings(r, 'routing.rp-filter-strict-multihomed');
    expect(hits.map((f) => f.subject)).toEqual(['eth0', 'eth1']);
    const eth1 = hits.find((f) => f.subject === 'eth1');
    expect(eth1?.severity).toBe('warn');
    expect(eth1?.message).toMatch(/max\(all 1, eth1 0\)/);
    expect(eth1?.fix.changes).toEqual([
      { kind: 'sysctl', key: 'net.ipv4.conf.eth1.rp_filter', from: '0', to: '2' },
      { kind: 'sysctl', key: 'net.ipv4.conf.all.rp_filter', from: '1', to: '2' },
    ]);
    expect(eth1?.evidence).toContainEqual({ what: 'effective rp_filter on eth1', value: 1, note: 'max(conf.all, conf.<interface>)' });
  });

  it('rp_filter: strict on one interface only fires for that interface and leaves conf.all alone', () => {
    const r = auditCase(routingRules, { mutate: all(secondUplink, set('net.ipv4.conf.eth1.rp_filter', '1')) });
    const hits = findings(r, 'routing.rp-filter-strict-multihomed');
    expect(hits.map((f) => f.subject)).toEqual(['eth1']);
    expect(hits[0]?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.ipv4.conf.eth1.rp_filter', from: '1', to: '2' }]);
  });

  it('rp_filter: a single uplink with an extra policy rule fires; loose mode, one uplink or a down second link do not', () => {
    const rule = (s: Snapshot) => s.rules.push({ family: 'inet', priority: 100, src: '192.0.2.0', srclen: 24, table: 'uplink2' });
    const pr = finding(auditCase(routingRules, { mutate: all(rule, set('net.ipv4.conf.eth0.rp_filter', '1')) }), 'routing.rp-filter-strict-multihomed');
    expect(pr?.subject).toBe('eth0');
    expect(pr?.evidence).toContainEqual({ what: 'extra IPv4 policy rules', value: '100 from 192.0.2.0/24 lookup uplink2' });

    expect(firedIds(auditCase(routingRules, { mutate: set('net.ipv4.conf.all.rp_filter', '1') }))).not.toContain('routing.rp-filter-strict-multihomed');
    expect(firedIds(auditCase(routingRules, { mutate: all(secondUplink, set('net.ipv4.conf.all.rp_filter', '2')) }))).not.toContain('routing.rp-filter-strict-multihomed');
    const down = (s: Snapshot) => {
      secondUplink(s);
      const eth1 = s.links.find((l) => l.name === 'eth1');
      if (eth1) {
        eth1.state = 'down';
        eth1.flags = ['BROADCAST', 'MULTICAST'];
      }
    };
    expect(firedIds(auditCase(routingRules, { mutate: all(down, set('net.ipv4.conf.all.rp_filter', '1')) }))).not.toContain('routing.rp-filter-strict-multihomed');
    // the IPv6 default rules in the fixture are not "extra" rules
    expect(firedIds(auditCase(routingRules, { mutate: set('net.ipv4.conf.eth0.rp_filter', '1') }))).not.toContain('routing.rp-filter-strict-multihomed');
  });

  it('mptcp-disabled-with-endpoints: endpoints and enabled=0 → warn; either alone is silent', () => {
    const r = auditCase(routingRules, {
      mutate: all(set('net.mptcp.enabled', '0'), (s) => s.mptcp.endpoints.push(endpoint)),
    });
    const f = finding(r, 'routing.mptcp-disabled-with-endpoints');
    expect(f?.severity).toBe('warn');
    expect(f?.message).toMatch(/198\.51\.100\.2 dev eth1 subflow/);
    expect(f?.fix.changes).toEqual([{ kind: 'sysctl', key: 'net.mptcp.enabled', from: '0', to: '1' }]);
    expect(firedIds(auditCase(routingRules, { mutate: set('net.mptcp.enabled', '0') }))).not.toContain('routing.mptcp-disabled-with-endpoints');
    expect(firedIds(auditCase(routingRules, { mutate: (s) => s.mptcp.endpoints.push(endpoint) }))).not.toContain('routing.mptcp-disabled-with-endpoints');
  });

  it('mptcp-subflow-limit: endpoints with subflows 0 → warn with the ip mptcp command; the default limit 2 is silent', () => {
    const zero = (s: Snapshot) => {
      s.mptcp.endpoints.push(endpoint);
      s.mptcp.limits = { add_addr_accepted: 0, subflows: 0 };
    };
    const f = finding(auditCase(routingRules, { mutate: zero }), 'routing.mptcp-subflow-limit');
    expect(f?.severity).toBe('warn');
    expect(f?.fix.commands).toContain('ip mptcp limits set subflows 2');
    expect(firedIds(auditCase(routingRules, { mutate: (s) => s.mptcp.endpoints.push(endpoint) }))).not.toContain('routing.mptcp-subflow-limit');
    expect(firedIds(auditCase(routingRules, { mutate: (s) => (s.mptcp.limits = { add_addr_accepted: 0, subflows: 0 }) }))).not.toContain('routing.mptcp-subflow-limit');
  });

  it('forwarding-send-redirects: a forwarding host sending redirects → info turning them off; hosts that do not forward are silent', () => {
    const router = all(set('net.ipv4.ip_forward', '1'), set('net.ipv4.conf.all.forwarding', '1'));
    const f = finding(auditCase(routingRules, { mutate: router }), 'routing.forwarding-send-redirects');
    expect(f?.severity).toBe('info');
    expect(f?.fix.changes).toEqual([
      { kind: 'sysctl', key: 'net.ipv4.conf.all.send_redirects', from: '1', to: '0' },
      { kind: 'sysctl', key: 'net.ipv4.conf.default.send_redirects', from: '1', to: '0' },
      { kind: 'sysctl', key: 'net.ipv4.conf.eth0.send_redirects', from: '1', to: '0' },
    ]);
    expect(firedIds(auditCase(routingRules))).not.toContain('routing.forwarding-send-redirects');
    const off = all(router, set('net.ipv4.conf.all.send_redirects', '0'), set('net.ipv4.conf.eth0.send_redirects', '0'));
    expect(firedIds(auditCase(routingRules, { mutate: off }))).not.toContain('routing.forwarding-send-redirects');
  });
});
