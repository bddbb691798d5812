// Routing: reverse-path filtering on multihomed hosts, MPTCP path configuration, redirects.
import type { Link } from '../snapshot/schema.js';
import type { PlanChange } from '../plan/types.js';
import type { Hit, Rule, RuleContext } from './types.js';
import { sysctlChange } from './util.js';

const IP_SYSCTL = 'Documentation/networking/ip-sysctl.rst';
const MPTCP_SYSCTL = 'Documentation/networking/mptcp-sysctl.rst';

/** sysctl writes a "." inside an interface name as "/" (eth0.100 → net.ipv4.conf.eth0/100.rp_filter). */
export const confKey = (dev: string, knob: string): string => `net.ipv4.conf.${dev.replace(/\./g, '/')}.${knob}`;

const isLoopback = (l: Link): boolean => l.name === 'lo' || l.flags.includes('LOOPBACK');
/** Up: operstate up, or "unknown" (tun, some virtual devices) with the UP flag. */
const isUp = (l: Link): boolean => l.state === 'up' || (l.state === 'unknown' && l.flags.includes('UP'));
const hasIpv4 = (l: Link): boolean => l.addresses.some((a) => a.family === 'inet');

/** Scalars from `ip -j` output as text ('' for anything else). */
const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** IPv4 policy rules other than the three the kernel installs (0 local, 32766 main, 32767 default). */
const DEFAULT_RULES = new Set(['0/local', '32766/main', '32767/default']);
function extraIpv4Rules(ctx: RuleContext): Record<string, unknown>[] {
  return ctx.snap.rules.filter((r) => (str(r.family) || 'inet') === 'inet' && !DEFAULT_RULES.has(`${str(r.priority)}/${str(r.table)}`));
}

const describeRule = (r: Record<string, unknown>): string => {
  const src = str(r.src);
  return [
    str(r.priority),
    src && src !== 'all' ? `from ${src}${str(r.srclen) ? `/${str(r.srclen)}` : ''}` : 'from all',
    str(r.fwmark) ? `fwmark ${str(r.fwmark)}` : '',
    str(r.iif) ? `iif ${str(r.iif)}` : '',
    `lookup ${str(r.table)}`,
  ]
    .filter(Boolean)
    .join(' ');
};

const describeEndpoint = (e: Record<string, unknown>): string => {
  const flags = Array.isArray(e.flags) ? (e.flags as unknown[]).map(str).join(',') : '';
  return [str(e.address), str(e.port) ? `port ${str(e.port)}` : '', str(e.dev) ? `dev ${str(e.dev)}` : '', flags].filter(Boolean).join(' ');
};

export const routingRules: Rule[] = [
  {
    id: 'routing.rp-filter-strict-multihomed',
    domain: 'routing',
    title: 'Strict reverse-path filtering on a multihomed or policy-routed host',
    severity: 'warn',
    why: 'With rp_filter=1 (strict, RFC 3704) a packet is dropped unless the route back to its source leaves through the interface it arrived on; the value in force is the maximum of conf.all and conf.<interface>. On a host with several uplinks, source-based policy routing or asymmetric paths, replies legitimately arrive on another interface and vanish silently (counted in IPReversePathFilter). Loose mode (2) still drops sources that are not routable at all.',
    sources: [`${IP_SYSCTL} (rp_filter, src_valid_mark)`, 'RFC 3704 §2.2, §2.4', 'net/ipv4/fib_frontend.c (fib_validate_source)'],
    risk: 'Loose mode gives up the per-interface anti-spoofing check, which matters on edge routers facing customer networks; there, keep strict mode and make routing symmetric instead.',
    check: (ctx) => {
      const all = ctx.int('net.ipv4.conf.all.rp_filter') ?? 0;
      const candidates = ctx.snap.links.filter((l) => !isLoopback(l) && isUp(l) && hasIpv4(l));
      const rules = extraIpv4Rules(ctx);
      const multihomed = candidates.length >= 2;
      if (!multihomed && rules.length === 0) return null;
      const why = [
        multihomed ? `${candidates.length} interfaces up with IPv4 addresses (${candidates.map((l) => l.name).join(', ')})` : null,
        rules.length ? `${rules.length} policy routing rule${rules.length > 1 ? 's' : ''} beyond local/main/default` : null,
      ]
        .filter(Boolean)
        .join(' and ');
      const hits: Hit[] = [];
      for (const l of candidates) {
        const key = confKey(l.name, 'rp_filter');
        const own = ctx.int(key) ?? 0;
        if (Math.max(all, own) !== 1) continue;
        const changes: PlanChange[] = [];
        if (own === 1 || ctx.sysctl(key) !== undefined) changes.push(sysctlChange(ctx, key, '2'));
        if (all === 1) changes.push(sysctlChange(ctx, 'net.ipv4.conf.all.rp_filter', '2'));
        hits.push({
          subject: l.name,
          message: `${l.name} validates sources strictly (rp_filter ${Math.max(all, own)} = max(all ${all}, ${l.name} ${own})) on a host with ${why}: replies that return on another interface are dropped`,
          evidence: [
            ctx.knob('net.ipv4.conf.all.rp_filter'),
            ctx.knob(key),
            { what: `effective rp_filter on ${l.name}`, value: Math.max(all, own), note: 'max(conf.all, conf.<interface>)' },
            ...(multihomed ? [{ what: 'interfaces up with IPv4 addresses', value: candidates.map((c) => c.name).join(' ') }] : []),
            ...(rules.length ? [{ what: 'extra IPv4 policy rules', value: rules.map(describeRule).join('; ') }] : []),
            ctx.evidence('netstat.TcpExt.IPReversePathFilter', 'packets dropped by reverse-path filtering'),
          ],
          changes,
          commands: ["sysctl -w net.ipv4.conf.all.log_martians=1   # log what rp_filter drops, then: dmesg | grep -i martian"],
          confidence: 'medium',
        });
      }
      return hits;
    },
  },
  {
    id: 'routing.mptcp-disabled-with-endpoints',
    domain: 'routing',
    title: 'MPTCP endpoints are configured but MPTCP is disabled',
    severity: 'warn',
    why: 'MPTCP endpoints (ip mptcp endpoint) tell the in-kernel path manager which local addresses to announce or to open extra subflows from. With net.mptcp.enabled=0 applications cannot create MPTCP sockets at all, so every connection is plain TCP over a single path and the endpoint configuration does nothing.',
    sources: [`${MPTCP_SYSCTL} (enabled)`, 'ip-mptcp(8)', 'RFC 8684 §3.2, §3.4'],
    risk: 'Enabling MPTCP only changes applications that ask for IPPROTO_MPTCP (or are wrapped, e.g. with mptcpize); others keep using TCP.',
    check: (ctx) => {
      const eps = ctx.snap.mptcp.endpoints;
      if (ctx.int('net.mptcp.enabled') !== 0 || eps.length === 0) return null;
      return {
        message: `${eps.length} MPTCP endpoint${eps.length > 1 ? 's are' : ' is'} configured (${eps.map(describeEndpoint).join('; ')}) but net.mptcp.enabled=0`,
        evidence: [ctx.knob('net.mptcp.enabled'), { what: 'mptcp endpoints', value: eps.map(describeEndpoint).join('; ') }],
        changes: [sysctlChange(ctx, 'net.mptcp.enabled', '1')],
        confidence: 'high',
      };
    },
  },
  {
    id: 'routing.mptcp-subflow-limit',
    domain: 'routing',
    title: 'MPTCP endpoints are configured but the subflow limit is 0',
    severity: 'warn',
    why: 'The subflows limit (ip mptcp limits) caps the additional subflows of each MPTCP connection, whether created from local subflow endpoints, after an accepted ADD_ADDR, or started by the peer. With 0 no connection can ever use a second path, whatever endpoints are configured.',
    sources: ['ip-mptcp(8) (limits: subflows, add_addr_accepted)', 'net/mptcp/pm_kernel.c (subflows_max)', 'RFC 8684 §3.2'],
    risk: 'More subflows mean more per-connection state and traffic over the added paths (e.g. a metered backup link unless the endpoint is marked backup). The kernel caps the limit at 8.',
    check: (ctx) => {
      const eps = ctx.snap.mptcp.endpoints;
      const limits = ctx.snap.mptcp.limits;
      const subflows = limits ? num(limits.subflows) : null;
      if (eps.length === 0 || subflows !== 0) return null;
      const want = Math.min(8, Math.max(2, eps.length));
      return {
        message: `${eps.length} MPTCP endpoint${eps.length > 1 ? 's' : ''} configured but the subflows limit is 0: no extra subflow can be created or accepted`,
        evidence: [
          { what: 'mptcp limits subflows', value: subflows },
          { what: 'mptcp limits add_addr_accepted', value: limits ? num(limits.add_addr_accepted) : null },
          { what: 'mptcp endpoints', value: eps.map(describeEndpoint).join('; ') },
          ctx.evidence('netstat.MPTcpExt.MPJoinSynTx'),
          ctx.evidence('netstat.MPTcpExt.MPJoinRejected'),
        ],
        commands: [`ip mptcp limits set subflows ${want}`, '# clients that should follow addresses announced by the server also need add_addr_accepted > 0'],
        confidence: 'high',
      };
    },
  },
  {
    id: 'routing.forwarding-send-redirects',
    domain: 'routing',
    title: 'Forwarding host sends ICMP redirects',
    severity: 'info',
    why: 'A forwarding host that sends a packet back out of the interface it arrived on tells the sender, with an ICMP redirect, to use the other gateway directly. Routers, firewalls, VPN gateways and container hosts usually want all traffic to keep passing through them, and redirects also reveal topology; sending is on for an interface when conf.all or conf.<interface> send_redirects is 1.',
    sources: [`${IP_SYSCTL} (send_redirects, ip_forward)`, 'RFC 1812 §5.2.7.2'],
    risk: 'On a plain routed LAN where a host really has a better next hop, hosts keep sending through this router (one extra hop) instead of learning the shortcut.',
    check: (ctx) => {
      if (ctx.int('net.ipv4.ip_forward') !== 1) return null;
      const all = ctx.int('net.ipv4.conf.all.send_redirects') === 1;
      const on = ctx.snap.links.filter((l) => !isLoopback(l) && isUp(l) && (all || ctx.int(confKey(l.name, 'send_redirects')) === 1));
      if (on.length === 0) return null;
      const changes: PlanChange[] = [];
      if (all) changes.push(sysctlChange(ctx, 'net.ipv4.conf.all.send_redirects', '0'));
      if (ctx.int('net.ipv4.conf.default.send_redirects') === 1) changes.push(sysctlChange(ctx, 'net.ipv4.conf.default.send_redirects', '0'));
      for (const l of on) if (ctx.int(confKey(l.name, 'send_redirects')) === 1) changes.push(sysctlChange(ctx, confKey(l.name, 'send_redirects'), '0'));
      return {
        message: `IPv4 forwarding is on and ICMP redirects are sent on ${on.map((l) => l.name).join(', ')}`,
        evidence: [ctx.knob('net.ipv4.ip_forward'), ctx.knob('net.ipv4.conf.all.send_redirects'), ...on.map((l) => ctx.knob(confKey(l.name, 'send_redirects'))), ctx.evidence('snmp.Icmp.OutRedirects')],
        changes,
        confidence: 'medium',
      };
    },
  },
];
