// NIC settings: offloads, LRO on forwarding hosts, RSS channels, RPS, interrupt coalescing, rings.
import type { Link } from '../snapshot/schema.js';
import { onlineCpus } from '../snapshot/index.js';

export { parseCpuList } from '../snapshot/index.js';
import type { PlanChange } from '../plan/types.js';
import type { Evidence, Hit, Rule, RuleContext } from './types.js';
import { SINCE_BOOT_NOTE, sinceBoot, type CounterSignal } from './util.js';
import { counterDelta } from './delta.js';

const SCALING = 'Documentation/networking/scaling.rst';
const OFFLOADS_DOC = 'Documentation/networking/segmentation-offloads.rst';
const FEATURES_DOC = 'Documentation/networking/netdev-features.rst';
const ETHTOOL = 'ethtool(8)';

/** Paravirtual NICs whose interrupt moderation is decided with the host (virtio needs
 *  VIRTIO_NET_F_NOTF_COAL for ethtool -C); their 0 µs / 1 frame defaults are not a guest choice. */
export const PARAVIRT_DRIVERS: ReadonlySet<string> = new Set(['virtio_net', 'hv_netvsc', 'vif', 'xen-netfront']);

/** Links rules look at: everything but loopback. */
const nics = (ctx: RuleContext): Link[] => ctx.snap.links.filter((l) => l.name !== 'lo' && l.link_type !== 'loopback');

const ethtoolChange = (device: string, group: 'features' | 'rings' | 'channels' | 'coalesce', setting: string, from: string | null, to: string): PlanChange => ({
  kind: 'ethtool',
  device,
  group,
  setting,
  from,
  to,
});

/** Per-link counter signal: the same shape as `counterSignal`, but for one device's sysfs
 *  statistics (the `link.*` counter references are summed over all links). */
export function linkSignal(ctx: RuleContext, link: Link, fields: readonly string[]): CounterSignal {
  const before = ctx.prev?.links.find((l) => l.name === link.name) ?? null;
  let rate: number | null = null;
  let total = 0;
  const evidence: Evidence[] = [];
  for (const field of fields) {
    const value = link.statistics[field];
    if (value === undefined) continue;
    total += value;
    const old = before?.statistics[field];
    const r = counterDelta(old, value, ctx.interval_s)?.rate ?? null;
    if (r !== null) rate = (rate ?? 0) + r;
    evidence.push({ what: `link.${link.name}.statistics.${field}`, value, rate_per_s: r });
  }
  const now = rate !== null && rate > 0;
  return { seen: now || (rate === null && total > 0), now, rate, total, evidence };
}

/** A CPU bitmap as sysfs writes it: hex, in comma-separated 32-bit words, highest word first
 *  ([0, 1] → "3"; CPUs 0–39 → "ff,ffffffff"). */
export function cpuMask(cpus: readonly number[]): string {
  const words: number[] = [];
  for (const c of cpus) {
    const w = Math.floor(c / 32);
    words[w] = ((words[w] ?? 0) | (1 << (c % 32))) >>> 0;
  }
  const hex = Array.from({ length: Math.max(1, words.length) }, (_, i) => (words[i] ?? 0).toString(16));
  return hex
    .reverse()
    .map((h, i) => (i === 0 ? h : h.padStart(8, '0')))
    .join(',');
}

/** A sysfs CPU mask with no bit set ("0", "00000000,00000000"); "" (unreadable) is not. */
const maskIsZero = (m: string): boolean => /^[0,]+$/.test(m.trim());

const softnetSpread = (ctx: RuleContext): Evidence => ({
  what: 'softnet.processed by CPU',
  value: ctx.snap.counters.softnet.map((r) => `cpu${r.cpu} ${r.processed}`).join(', '),
  note: 'packets each CPU took off its NAPI/backlog queues since boot',
});

// --- offloads -------------------------------------------------------------------------------

interface Offload {
  /** ethtool -K keyword. */
  setting: string;
  /** Name in `ethtool -k`. */
  feature: string;
  /** Sub-features an aggregate toggles; it can be turned on when one of them is not fixed. */
  parts: string[];
  label: string;
}

/** In dependency order: TSO needs scatter-gather and TX checksumming (netdev_fix_features). */
const OFFLOADS: Offload[] = [
  { setting: 'sg', feature: 'scatter-gather', parts: ['tx-scatter-gather'], label: 'scatter-gather' },
  { setting: 'tx', feature: 'tx-checksumming', parts: ['tx-checksum-ipv4', 'tx-checksum-ip-generic', 'tx-checksum-ipv6'], label: 'TX checksum offload' },
  { setting: 'rx', feature: 'rx-checksumming', parts: [], label: 'RX checksum offload' },
  { setting: 'tso', feature: 'tcp-segmentation-offload', parts: ['tx-tcp-segmentation', 'tx-tcp6-segmentation'], label: 'TSO' },
  { setting: 'gso', feature: 'generic-segmentation-offload', parts: [], label: 'GSO' },
  { setting: 'gro', feature: 'generic-receive-offload', parts: [], label: 'GRO' },
];

type Features = NonNullable<NonNullable<Link['ethtool']>['features']>;

/** The device could do it: a sub-feature (or the feature itself) is not marked [fixed]. */
function changeable(features: Features, o: Offload): boolean {
  const parts = o.parts.map((p) => features[p]).filter((f) => f !== undefined);
  if (parts.length) return parts.some((f) => f.fixed === false);
  return features[o.feature]?.fixed === false;
}

// --- coalescing -----------------------------------------------------------------------------

const num = (v: number | boolean | null | undefined): number | null => (typeof v === 'number' ? v : null);

/** Above this rx-usecs a lone packet waits noticeably for its interrupt (latency workload). */
const LATENCY_USECS = 100;
/** Starting point for a fixed timer: a few microseconds (mlx5 ships 8 µs). */
const MODEST_USECS = 8;

export const nicRules: Rule[] = [
  {
    id: 'nic.offloads-off',
    domain: 'nic',
    title: 'Segmentation, receive or checksum offloads are off although the device supports them',
    severity: 'info',
    workloads: { throughput: 'warn' },
    needs: ['ethtool'],
    why: 'With TSO or GSO the stack walks down once for up to 64 KiB of data and the split into MTU-sized packets happens at the last moment (in the NIC, or in software just before the driver); with GRO received segments of a flow are merged before they climb the stack. Without them every packet pays the full per-packet path, and without checksum offload the CPU also reads every byte to compute the checksum, so the same bit rate costs several times the CPU.',
    sources: [OFFLOADS_DOC, FEATURES_DOC, `${ETHTOOL} (-k, -K)`],
    risk: 'Offloads are sometimes turned off on purpose: to work around a buggy NIC or firmware, to capture wire-sized packets with tcpdump, or for a tool that must see every segment. GRO and TSO merge packets into bursts, which can add a few microseconds on latency-critical single packets.',
    check: (ctx) => {
      const hits: Hit[] = [];
      for (const link of nics(ctx)) {
        const features = link.ethtool?.features;
        if (!features) continue;
        const blocked = new Set<string>(); // prerequisites that are off for good
        const off: Offload[] = [];
        for (const o of OFFLOADS) {
          const f = features[o.feature];
          if (!f) continue;
          const can = changeable(features, o);
          if (!f.active && !can && (o.setting === 'sg' || o.setting === 'tx')) blocked.add(o.setting);
          if (f.active || !can) continue;
          if (o.setting === 'tso' && blocked.size) continue; // TSO cannot come on without SG and TX checksumming
          off.push(o);
        }
        if (off.length === 0) continue;
        const requested = off.filter((o) => features[o.feature]?.requested === true);
        hits.push({
          subject: link.name,
          message: `${link.name}: ${off.map((o) => o.label).join(', ')} ${off.length === 1 ? 'is' : 'are'} off but the device can do ${off.length === 1 ? 'it' : 'them'}${
            requested.length ? ` (${requested.map((o) => o.label).join(', ')} requested on: a feature it depends on is off)` : ''
          }`,
          evidence: off.map((o) => {
            const f = features[o.feature];
            return { what: `${link.name} ethtool -k ${o.feature}`, value: f?.active ? 'on' : 'off', note: f?.requested === true ? 'requested on' : 'not fixed' };
          }),
          changes: off.map((o) => ethtoolChange(link.name, 'features', o.setting, 'off', 'on')),
          confidence: 'high',
        });
      }
      return hits;
    },
  },
  {
    id: 'nic.lro-with-forwarding',
    domain: 'nic',
    title: 'LRO is on for a device whose packets may be forwarded',
    severity: 'critical',
    severity_note: 'warn when forwarding is off and the device is only possibly a bridge port',
    needs: ['ethtool'],
    why: 'LRO merges received TCP segments in the NIC and throws away the information needed to rebuild the original packets, so a merged packet that is forwarded leaves with a different size and headers (or is dropped for exceeding the MTU). The kernel therefore turns LRO off (dev_disable_lro) when IP forwarding is enabled and when a device joins a bridge, bond or Open vSwitch; a device where it is still on either ignored that or had it re-enabled. GRO, including hardware GRO (rx-gro-hw), is reversible and safe to keep.',
    sources: [
      `${FEATURES_DOC} (rx-gro-hw: stricter than LRO, re-segmentable)`,
      `${OFFLOADS_DOC} (GRO)`,
      'net/core/dev.c (dev_disable_lro: "needed if received packets may be forwarded")',
      'net/ipv4/devinet.c, net/ipv6/addrconf.c, net/bridge/br_if.c (callers)',
      `${ETHTOOL} (-K lro)`,
    ],
    risk: 'Turning LRO off raises per-packet CPU cost for traffic that terminates on this host; GRO (on by default) recovers most of it.',
    check: (ctx) => {
      const fwd4 = ctx.int('net.ipv4.ip_forward') === 1;
      const fwd6 = ctx.int('net.ipv6.conf.all.forwarding') === 1;
      const bridges = ctx.snap.links.filter((l) => l.kind === 'bridge' || l.kind === 'openvswitch').map((l) => l.name);
      const hits: Hit[] = [];
      for (const link of nics(ctx)) {
        const lro = link.ethtool?.features?.['large-receive-offload'];
        if (!lro?.active) continue;
        const dev4 = ctx.int(`net.ipv4.conf.${link.name}.forwarding`) === 1;
        const dev6 = ctx.int(`net.ipv6.conf.${link.name}.forwarding`) === 1;
        const forwarding = fwd4 || fwd6 || dev4 || dev6;
        if (!forwarding && bridges.length === 0) continue;
        const evidence: Evidence[] = [
          { what: `${link.name} ethtool -k large-receive-offload`, value: 'on', ...(lro.fixed ? { note: 'fixed: the driver cannot turn it off' } : {}) },
          ctx.knob('net.ipv4.ip_forward'),
          ctx.knob('net.ipv6.conf.all.forwarding'),
        ];
        if (dev4) evidence.push(ctx.knob(`net.ipv4.conf.${link.name}.forwarding`));
        if (dev6) evidence.push(ctx.knob(`net.ipv6.conf.${link.name}.forwarding`));
        if (bridges.length) evidence.push({ what: 'bridges on this host', value: bridges.join(' '), note: 'the snapshot does not record which devices are bridge ports' });
        const why = forwarding ? 'forwarding is enabled' : `a bridge exists (${bridges.join(', ')}) and ${link.name} may be one of its ports`;
        hits.push({
          subject: link.name,
          message: `${link.name} has LRO on while ${why}: merged packets cannot be forwarded unchanged${lro.fixed ? '; the driver reports LRO as fixed, so do not route or bridge through this device' : ''}`,
          evidence,
          changes: lro.fixed ? [] : [ethtoolChange(link.name, 'features', 'lro', 'on', 'off')],
          confidence: forwarding ? 'high' : 'low',
          // Bridge membership is a guess from the snapshot: say so with a lower severity.
          ...(forwarding ? {} : { severity: 'warn' as const }),
        });
      }
      return hits;
    },
  },
  {
    id: 'nic.rss-queues-below-cpus',
    domain: 'nic',
    title: 'The NIC uses fewer receive queues than it could',
    severity: 'info',
    workloads: { throughput: 'warn', connections: 'warn' },
    needs: ['ethtool'],
    why: 'With RSS the NIC hashes each flow onto one of its receive queues, and each queue interrupts its own CPU, so the number of active queues bounds how many CPUs share receive processing. scaling.rst suggests one queue per CPU (or the NIC maximum, if lower) when latency matters or when receive processing is the bottleneck.',
    sources: [`${SCALING} (RSS, Suggested Configuration)`, `${ETHTOOL} (-l, -L)`],
    risk: 'Every extra queue adds an interrupt vector and memory for its ring; at very high packet rates fewer, fuller queues can be more efficient, and hyperthreads bring little to interrupt handling. Changing channels briefly resets the device on many drivers, and irqbalance or a manual IRQ affinity must then place the new interrupts.',
    check: (ctx) => {
      const cpus = ctx.snap.cpus.online;
      const hits: Hit[] = [];
      for (const link of nics(ctx)) {
        const ch = link.ethtool?.channels;
        if (!link.physical || !ch) continue;
        const setting = (ch.max.combined ?? 0) > 0 ? 'combined' : (ch.max.rx ?? 0) > 0 ? 'rx' : null;
        if (!setting) continue;
        const max = ch.max[setting] ?? 0;
        const cur = ch.current[setting] ?? 0;
        const other = setting === 'combined' ? (ch.current.rx ?? 0) : (ch.current.combined ?? 0);
        const target = Math.min(max, cpus);
        if (cur + other >= target) continue;
        const to = target - other;
        hits.push({
          subject: link.name,
          message: `${link.name} receives on ${cur + other} queue${cur + other === 1 ? '' : 's'} but supports ${max} ${setting} channels and ${cpus} CPUs are online: raise to ${to}`,
          evidence: [
            { what: `${link.name} ethtool -l ${setting}`, value: `${cur} of max ${max}` },
            { what: 'cpus.online', value: cpus },
            softnetSpread(ctx),
          ],
          changes: [ethtoolChange(link.name, 'channels', setting, String(cur), String(to))],
          confidence: 'medium',
        });
      }
      return hits;
    },
  },
  {
    id: 'nic.rps-unset-single-queue',
    domain: 'nic',
    title: 'A single-queue NIC processes all received packets on one CPU',
    severity: 'info',
    why: 'A device with one receive queue raises its interrupt on one CPU, and without RPS that CPU also runs all IP and TCP processing for every received packet. RPS hashes flows to a set of CPUs and hands them over through their backlog queues, spreading protocol processing; it is off until rps_cpus is written.',
    sources: [`${SCALING} (RPS Configuration, Suggested Configuration; RFS)`, 'Documentation/admin-guide/sysctl/net.rst (rps_default_mask)'],
    risk: 'Each steered batch costs an inter-processor interrupt and the packet data moves between CPU caches; on a lightly loaded host that can add a little latency. RFS (rps_sock_flow_entries, rps_flow_cnt) additionally steers flows to the CPU where the reader runs.',
    check: (ctx) => {
      const cpus = ctx.snap.cpus.online;
      if (cpus < 2) return null;
      const list = onlineCpus(ctx.snap);
      const mask = cpuMask(list);
      const hits: Hit[] = [];
      for (const link of nics(ctx)) {
        if (!link.physical || link.rx_queues !== 1) continue;
        const current = link.rps_cpus[0];
        if (current === undefined || !maskIsZero(current)) continue;
        const path = `/sys/class/net/${link.name}/queues/rx-0`;
        const rfs = ctx.int('net.core.rps_sock_flow_entries') === 0;
        hits.push({
          subject: link.name,
          message: `${link.name} has one RX queue and RPS is off: one CPU does all its receive protocol processing; rps_cpus=${mask} spreads it over CPUs ${ctx.snap.cpus.list}`,
          evidence: [
            { what: `${path}/rps_cpus`, value: current },
            { what: `${link.name} rx_queues`, value: link.rx_queues },
            { what: 'cpus.online', value: cpus },
            softnetSpread(ctx),
            ctx.evidence('softnet.received_rps'),
          ],
          changes: [{ kind: 'sysfs', path: `${path}/rps_cpus`, from: current, to: mask }],
          commands: rfs
            ? [
                '# optional, RFS (steer each flow to the CPU its reader runs on):',
                'sysctl -w net.core.rps_sock_flow_entries=32768',
                `echo 32768 > ${path}/rps_flow_cnt`,
              ]
            : [],
          confidence: 'medium',
        });
      }
      return hits;
    },
  },
  {
    id: 'nic.xps-unset',
    domain: 'nic',
    title: 'Transmit packet steering (XPS) is not configured on a multi-queue NIC',
    severity: 'info',
    workloads: { connections: 'info', latency: 'info', throughput: 'info', balanced: 'skip' },
    why: 'Without XPS the kernel picks a transmit queue by hashing the flow, so CPUs contend for the same queue lock and a queue\'s completions run on CPUs far from the sender. XPS maps each CPU to the queue(s) it should use; with one queue per CPU (or group of CPUs) there is no contention and completion work stays local. Many drivers set it themselves; an all-zero map means nobody did.',
    sources: [`${SCALING} (XPS: Transmit Packet Steering, Suggested Configuration)`],
    risk: 'A CPU mapped to a queue uses only that queue, so a map that leaves queues unused lowers transmit parallelism; flows keep their queue while they have packets in flight, so a change takes effect gradually. With a single transmit queue XPS has no effect.',
    check: (ctx) => {
      const cpus = onlineCpus(ctx.snap);
      if (cpus.length < 2) return null;
      const hits: Hit[] = [];
      for (const link of nics(ctx)) {
        if (!link.physical || link.tx_queues < 2 || link.xps_cpus.length !== link.tx_queues) continue;
        if (!link.xps_cpus.every((m) => m === '' || maskIsZero(m))) continue;
        // Queue q gets the CPUs whose position ≡ q (mod queues); with more queues than CPUs,
        // queue q gets CPU q mod cpus, so every queue is used by someone.
        const maps = link.xps_cpus.map((_, q) =>
          cpuMask(link.tx_queues >= cpus.length ? [cpus[q % cpus.length] ?? 0] : cpus.filter((_c, i) => i % link.tx_queues === q)),
        );
        hits.push({
          subject: link.name,
          message: `${link.name} has ${link.tx_queues} transmit queues and no XPS map: senders hash onto queues and contend; one queue per CPU group avoids that`,
          evidence: [
            { what: `${link.name} tx_queues`, value: link.tx_queues },
            { what: `/sys/class/net/${link.name}/queues/tx-*/xps_cpus`, value: link.xps_cpus.map((m) => m || '(unset)').join(' ') },
            { what: 'cpus.online', value: cpus.length },
          ],
          changes: maps.map((to, q) => ({ kind: 'sysfs', path: `/sys/class/net/${link.name}/queues/tx-${q}/xps_cpus`, from: link.xps_cpus[q] ?? null, to })),
          confidence: 'medium',
        });
      }
      return hits;
    },
  },
  {
    id: 'nic.coalesce-extremes',
    domain: 'nic',
    title: 'Interrupt coalescing is off (per-packet interrupts) or long (delayed packets)',
    severity: 'info',
    workloads: { throughput: 'info', latency: 'warn', balanced: 'skip', connections: 'skip' },
    needs: ['ethtool'],
    why: 'A NIC raises a receive interrupt once rx-usecs have passed since the first packet or rx-frames packets have arrived, whichever is first; rx-usecs 0 with rx-frames 1 means no coalescing, up to one interrupt per packet until the load is high enough for NAPI to keep polling. A long rx-usecs does the opposite: a lone packet, such as a request, waits up to that long before the host even sees it.',
    sources: [`${ETHTOOL} (-c, -C: adaptive-rx, rx-usecs, rx-frames)`, 'include/uapi/linux/ethtool.h (struct ethtool_coalesce)'],
    risk: 'Coalescing trades CPU for latency either way: a longer timer or adaptive moderation delays packets by microseconds, a shorter one raises the interrupt rate. Drivers differ in the values they accept (some ignore rx-frames); check `ethtool -c` after the change.',
    check: (ctx) => {
      const hits: Hit[] = [];
      for (const link of nics(ctx)) {
        const c = link.ethtool?.coalesce;
        if (!link.physical || !c || PARAVIRT_DRIVERS.has(link.driver ?? '')) continue;
        const adaptive = c['adaptive-rx'];
        if (adaptive === true) continue; // the driver moves rx-usecs itself
        const usecs = num(c['rx-usecs']);
        const frames = num(c['rx-frames']);
        if (usecs === null) continue;
        const evidence: Evidence[] = [
          { what: `${link.name} ethtool -c adaptive-rx`, value: adaptive === false ? 'off' : 'n/a' },
          { what: `${link.name} ethtool -c rx-usecs`, value: usecs },
          { what: `${link.name} ethtool -c rx-frames`, value: frames },
        ];
        if (ctx.workload === 'throughput' && usecs === 0 && (frames === null || frames <= 1)) {
          const useAdaptive = typeof adaptive === 'boolean';
          hits.push({
            subject: link.name,
            message: `${link.name} does not coalesce receive interrupts (rx-usecs 0, rx-frames ${frames ?? 'n/a'}): up to one interrupt per packet; ${
              useAdaptive ? 'adaptive moderation lets the driver pick the delay from the load' : `a timer of ${MODEST_USECS} µs batches packets`
            }`,
            evidence: [...evidence, ctx.evidence('softnet.time_squeeze')],
            changes: [useAdaptive ? ethtoolChange(link.name, 'coalesce', 'adaptive-rx', 'off', 'on') : ethtoolChange(link.name, 'coalesce', 'rx-usecs', '0', String(MODEST_USECS))],
            confidence: 'low',
          });
        }
        if (ctx.workload === 'latency' && usecs > LATENCY_USECS && frames !== 1) {
          hits.push({
            subject: link.name,
            message: `${link.name} delays receive interrupts by up to ${usecs} µs (rx-usecs): a lone packet waits that long before the host sees it`,
            evidence,
            changes: [ethtoolChange(link.name, 'coalesce', 'rx-usecs', String(usecs), String(MODEST_USECS))],
            confidence: 'medium',
          });
        }
      }
      return hits;
    },
  },
  {
    id: 'nic.ring-small-with-drops',
    domain: 'nic',
    title: 'The NIC drops received packets while its RX ring is below the maximum',
    severity: 'warn',
    severity_note: 'info when the counter grew only at some time since boot (no interval)',
    needs: ['ethtool'],
    why: 'The RX ring is the set of buffers the NIC can fill before the host collects them; when NAPI polling falls behind (a burst, a busy CPU) and the ring is full, the NIC drops packets and counts them in rx_missed_errors (or rx_fifo_errors on some drivers). A larger ring absorbs longer bursts.',
    sources: [`${ETHTOOL} (-g, -G rx)`, 'include/uapi/linux/if_link.h (rx_missed_errors, rx_fifo_errors, rx_dropped)'],
    risk: 'A bigger ring holds more packets in flight: more memory, more cache misses, and when the host is persistently slower only a longer queue (added latency) before the same drops. Resizing the ring resets the device on many drivers, briefly interrupting traffic. If the CPU is the bottleneck, more queues (RSS) or RPS are the real fix.',
    check: (ctx) => {
      const hits: Hit[] = [];
      for (const link of nics(ctx)) {
        const rings = link.ethtool?.rings;
        const cur = rings?.current.rx ?? null;
        const max = rings?.max.rx ?? null;
        if (cur === null || max === null || cur >= max) continue;
        const sig = linkSignal(ctx, link, ['rx_missed_errors', 'rx_fifo_errors', 'rx_dropped']);
        if (!sig.seen) continue;
        const hw = linkSignal(ctx, link, ['rx_missed_errors', 'rx_fifo_errors']);
        const hwSeen = sig.now ? hw.now : hw.seen;
        hits.push({
          subject: link.name,
          message: `${link.name} drops received packets${sig.now ? ` (${sig.rate?.toFixed(1)}/s over the interval)` : ' (since boot)'} with an RX ring of ${cur} of max ${max}${
            hwSeen ? '' : '; only rx_dropped grows, which also counts packets the stack discards, so the ring may not be the cause'
          }`,
          evidence: [...sig.evidence.map((e) => (sig.now ? e : { ...e, note: SINCE_BOOT_NOTE })), { what: `${link.name} ethtool -g rx`, value: `${cur} of max ${max}` }, ctx.evidence('softnet.time_squeeze')],
          changes: [ethtoolChange(link.name, 'rings', 'rx', String(cur), String(max))],
          confidence: hwSeen ? (sig.now ? 'high' : 'medium') : 'low',
          severity: sinceBoot(sig, 'warn'),
        });
      }
      return hits;
    },
  },
];
