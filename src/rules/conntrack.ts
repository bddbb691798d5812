// Connection tracking: table size and hashing, drops, timeouts, and traffic that needs no state.
import { formatBytes, formatSeconds } from '../units/index.js';
import type { PlanChange } from '../plan/types.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { Evidence, Hit, Rule, RuleContext } from './types.js';
import { counterSignal, nextPow2, SINCE_BOOT_NOTE, sinceBoot, sysctlChange } from './util.js';

const CT_SYSCTL = 'Documentation/networking/nf_conntrack-sysctl.rst';
const SIZING_COMMIT = 'commit d532bcd0b269 "netfilter: conntrack: sanitize table size default settings" (5.15)';

const MAX_KEY = 'net.netfilter.nf_conntrack_max';
const BUCKETS_KEY = 'net.netfilter.nf_conntrack_buckets';
const ESTABLISHED_KEY = 'net.netfilter.nf_conntrack_tcp_timeout_established';

/** Only when the Snapshot has no slab size (no root, an older Snapshot): sizeof(struct nf_conn)
 *  rounded up generously for extensions on x86_64; labelled as an estimate wherever it is used. */
export const CONNTRACK_ENTRY_BYTES_FALLBACK = 320;

/** One hash bucket is one struct hlist_nulls_head: a single pointer (nf_conntrack_core.c
 *  nf_ct_alloc_hashtable: kvcalloc(nr_slots, sizeof(struct hlist_nulls_head)), nr_slots rounded
 *  up to whole pages of heads); 8 B on 64-bit, 4 B on 32-bit. */
const BUCKET_BYTES: Readonly<Record<string, number>> = { ia32: 4, arm: 4, x32: 4, mips: 4, mipsel: 4 };
export const bucketBytes = (machine: string): number => BUCKET_BYTES[machine] ?? 8;

/** What one entry and one bucket cost on the Snapshot's kernel: the nf_conntrack slab size
 *  (conntrack.slab, the memory each object takes in its slab), else the labelled fallback. */
export function entryCost(snap: Snapshot): { entry_bytes: number; entry_source: 'slab_size' | 'fallback'; bucket_bytes: number; label: string } {
  const slab = snap.conntrack?.slab ?? null;
  const bucket = bucketBytes(snap.kernel.machine);
  if (slab?.slab_size) return { entry_bytes: slab.slab_size, entry_source: 'slab_size', bucket_bytes: bucket, label: `${slab.slab_size} B per entry (nf_conntrack slab on this kernel${slab.object_size ? `: struct nf_conn ${slab.object_size} B, ${slab.slab_size} B in the slab` : ''})` };
  return { entry_bytes: CONNTRACK_ENTRY_BYTES_FALLBACK, entry_source: 'fallback', bucket_bytes: bucket, label: `~${CONNTRACK_ENTRY_BYTES_FALLBACK} B per entry (an estimate: the Snapshot has no nf_conntrack slab size; probe as root)` };
}

/** Kernel memory of a full table: entries × slab size + buckets × bucket size. */
export const tableBytes = (max: number | null, buckets: number | null, c: { entry_bytes: number; bucket_bytes: number }): number | null =>
  max === null || buckets === null ? null : max * c.entry_bytes + buckets * c.bucket_bytes;

/** A live level (not a counter): its value without a per-second rate. */
const gauge = (ctx: RuleContext, ref: string, note?: string): Evidence => ({ what: ref, value: ctx.counter(ref).total, ...(note ? { note } : {}) });

/** RFC 5382 REQ-5: a NAT's established idle timeout must not be less than 2 h 4 min. */
export const RFC5382_ESTABLISHED_MIN_S = 7440;

const pct = (part: number, whole: number): string => `${Math.round((part / whole) * 1000) / 10} %`;

/** nf_conntrack_max and _buckets are global and writable only from the initial namespace: inside
 *  another namespace the change is shown as advice instead of a plan change. */
function globalChanges(ctx: RuleContext, changes: PlanChange[]): Pick<Hit, 'changes' | 'commands'> {
  if (ctx.snap.netns.init !== false) return { changes };
  return {
    changes: [],
    commands: [
      '# nf_conntrack_max and nf_conntrack_buckets are global: run these in the initial network namespace',
      ...changes.map((c) => (c.kind === 'sysctl' ? `sysctl -w ${c.key}=${c.to}` : '')).filter(Boolean),
    ],
  };
}

export const conntrackRules: Rule[] = [
  {
    id: 'conntrack.table-full',
    domain: 'conntrack',
    title: 'Connection tracking table is nearly full',
    severity: 'warn',
    severity_note: 'critical above 95 % of nf_conntrack_max',
    needs: ['conntrack'],
    why: 'Every tracked flow (also UDP, ICMP and flows that are long dead but not yet timed out) holds an entry until its timeout expires. When the table reaches nf_conntrack_max the kernel may only evict an entry not yet marked assured (unanswered, or a handshake not completed) near the hash slot of the new flow; failing that it drops the packet that would create the entry ("nf_conntrack: table full, dropping packet"), so new connections fail while old ones keep working.',
    sources: [`${CT_SYSCTL} (nf_conntrack_max, nf_conntrack_count, nf_conntrack_buckets)`, SIZING_COMMIT, 'net/netfilter/nf_conntrack_core.c (__nf_conntrack_alloc, early_drop)'],
    risk: 'Entries are allocated only as flows appear, a few hundred bytes each (the nf_conntrack slab object, 256 B on 6.18 x86_64, plus extensions; unswappable), so a higher max costs memory only when it is used; a table that fills anyway usually means timeouts that are too long or a flood, which a bigger table only postpones.',
    check: (ctx) => {
      const ct = ctx.snap.conntrack;
      const count = ct?.count ?? null;
      const max = ct?.max ?? null;
      if (count === null || max === null || max <= 0) return null;
      const usage = count / max;
      if (usage <= 0.8) return null;
      const newMax = nextPow2(Math.max(count * 2, max + 1));
      const buckets = ct?.buckets ?? null;
      const changes = [sysctlChange(ctx, MAX_KEY, String(newMax))];
      if (buckets !== null && buckets < newMax) changes.push(sysctlChange(ctx, BUCKETS_KEY, String(newMax)));
      const cost = entryCost(ctx.snap);
      const memory = tableBytes(newMax, Math.max(buckets ?? 0, newMax), cost) ?? 0;
      return {
        message: `${count} of ${max} conntrack entries in use (${pct(count, max)}); at the limit new flows are dropped. Raising the limit to ${newMax} leaves about half the table free and costs up to ${formatBytes(memory)} when full (${newMax} entries × ${cost.entry_bytes} B${cost.entry_source === 'fallback' ? ', an estimate without the slab size' : ' from the nf_conntrack slab'} + ${Math.max(buckets ?? 0, newMax)} buckets × ${cost.bucket_bytes} B)`,
        evidence: [
          gauge(ctx, 'conntrack.count'),
          gauge(ctx, 'conntrack.max'),
          { what: 'conntrack usage', value: pct(count, max), note: 'count / max' },
          ctx.evidence('conntrack.stats.drop'),
          ctx.evidence('conntrack.stats.early_drop'),
        ],
        ...globalChanges(ctx, changes),
        confidence: 'high',
        ...(usage > 0.95 ? { severity: 'critical' as const } : {}),
      };
    },
  },
  {
    id: 'conntrack.drops',
    domain: 'conntrack',
    title: 'Connection tracking drops packets or fails to insert entries',
    severity: 'warn',
    severity_note: 'critical while packets are being dropped during the interval; info when the counter grew only at some time since boot (no interval)',
    needs: ['conntrack'],
    why: 'drop counts packets conntrack discarded: no entry could be created (table full and nothing evictable), the protocol tracker rejected the packet, or an insertion clash could not be resolved; early_drop counts entries evicted to make room, each a flow whose state is lost. insert_failed counts new entries that could not be added when the first packet left the stack: typically two packets of the same new UDP flow handled in parallel on different CPUs (e.g. the A and AAAA DNS queries of one socket) that NAT mapped differently, the race behind the well-known 5-second DNS delays on NAT and Kubernetes hosts; it also counts insertions refused because a hash chain grew too long.',
    sources: [
      `${CT_SYSCTL} (nf_conntrack_max, nf_conntrack_buckets)`,
      'net/netfilter/nf_conntrack_core.c (nf_conntrack_in, __nf_conntrack_confirm, nf_ct_resolve_clash)',
      'net/netfilter/nf_conntrack_standalone.c (ct_cpu_seq_show: /proc/net/stat/nf_conntrack)',
    ],
    risk: 'The fix depends on the cause: table size (conntrack.table-full), hash chains (conntrack.hash-chains), or for insert_failed on UDP/NAT hosts an application or resolver change (e.g. single-request-reopen / use-vc in resolv.conf, or a node-local DNS cache) rather than a sysctl.',
    check: (ctx) => {
      const sig = counterSignal(ctx, ['conntrack.stats.drop', 'conntrack.stats.early_drop', 'conntrack.stats.insert_failed']);
      if (!sig.seen) return null;
      const drops = ctx.counter('conntrack.stats.drop');
      const droppingNow = (drops.rate ?? 0) > 0;
      const insertFailed = ctx.counter('conntrack.stats.insert_failed');
      const what = [
        (drops.total ?? 0) > 0 ? 'packets dropped' : null,
        (ctx.counter('conntrack.stats.early_drop').total ?? 0) > 0 ? 'entries evicted early' : null,
        (insertFailed.total ?? 0) > 0 ? 'insertions failed (NAT/UDP clash or long chain)' : null,
      ].filter(Boolean);
      const ct = ctx.snap.conntrack;
      const usage = ct?.count != null && ct.max ? ` (table ${pct(ct.count, ct.max)} full)` : '';
      return {
        message: sig.now
          ? `conntrack is losing flows now: ${what.join(', ')}${usage}`
          : `conntrack has ${what.join(', ')} since boot${usage}`,
        evidence: [...sig.evidence.map((e) => (sig.now || !e.value ? e : { ...e, note: SINCE_BOOT_NOTE })), gauge(ctx, 'conntrack.count'), gauge(ctx, 'conntrack.max')],
        commands: ['conntrack -S   # per-CPU counters (conntrack-tools)', "dmesg | grep -i 'nf_conntrack'"],
        confidence: sig.now ? 'high' : 'medium',
        severity: sinceBoot(sig, droppingNow ? 'critical' : 'warn'),
      };
    },
  },
  {
    id: 'conntrack.hash-chains',
    domain: 'conntrack',
    title: 'Conntrack hash table is small for nf_conntrack_max',
    severity: 'warn',
    severity_note: "from the table sizes alone at the rule's severity; when only chain-length refusals are seen, info when the counter grew only at some time since boot (no interval)",
    needs: ['conntrack'],
    why: 'Every packet looks up its flow in the conntrack hash table, and each entry is hashed twice (original and reply direction), so a full table has an average chain of 2 × max / buckets entries to walk per lookup. Since 5.15 the automatic default is max = buckets (chains of 2); a max more than 8 times the bucket count means long chains, and the kernel refuses insertions into a chain that grows past a randomised limit (counted as chaintoolong, the chainlength column of /proc/net/stat/nf_conntrack).',
    sources: [`${CT_SYSCTL} (nf_conntrack_buckets, nf_conntrack_max)`, SIZING_COMMIT, 'net/netfilter/nf_conntrack_core.c (MIN_CHAINLEN, MAX_CHAINLEN, chaintoolong)'],
    risk: 'Resizing rehashes the whole table under a lock, a short stall on a busy box; buckets cost 8 bytes each up front. nf_conntrack_buckets is writable only in the initial namespace, and sysctl.d may run before the module loads: "options nf_conntrack hashsize=N" in /etc/modprobe.d makes it stick.',
    check: (ctx) => {
      const ct = ctx.snap.conntrack;
      const max = ct?.max ?? null;
      const buckets = ct?.buckets ?? null;
      if (max === null || buckets === null || buckets <= 0 || max <= 0) return null;
      const ratio = max / buckets;
      const sig = counterSignal(ctx, ['conntrack.stats.chaintoolong']);
      if (ratio <= 8 && !sig.seen) return null;
      const newBuckets = nextPow2(max);
      const count = ct?.count ?? null;
      const evidence: Evidence[] = [
        gauge(ctx, 'conntrack.max'),
        gauge(ctx, 'conntrack.buckets'),
        { what: 'average chain length at a full table', value: Math.round((2 * max) / buckets), note: '2 × max / buckets' },
        ...(count !== null ? [{ what: 'average chain length now', value: Math.round(((2 * count) / buckets) * 10) / 10, note: '2 × count / buckets' }] : []),
        ...sig.evidence.map((e) => ({ ...e, note: sig.seen && !sig.now ? `insertions refused: chain too long; ${SINCE_BOOT_NOTE}` : 'insertions refused: chain too long' })),
      ];
      const change = newBuckets > buckets ? [sysctlChange(ctx, BUCKETS_KEY, String(newBuckets))] : [];
      return {
        message:
          ratio > 8
            ? `nf_conntrack_max ${max} is ${Math.round(ratio)} × the ${buckets} hash buckets: chains average ${Math.round((2 * max) / buckets)} entries when the table fills; ${newBuckets} buckets cost ${formatBytes(newBuckets * bucketBytes(ctx.snap.kernel.machine))}`
            : `conntrack refused insertions because hash chains grew too long (max ${max}, ${buckets} buckets)`,
        evidence,
        ...globalChanges(ctx, change),
        confidence: count !== null && (2 * count) / buckets > 8 ? 'high' : 'medium',
        ...(ratio > 8 ? {} : { severity: sinceBoot(sig, 'warn') }),
      };
    },
  },
  {
    id: 'conntrack.established-timeout',
    domain: 'conntrack',
    title: 'Idle TCP connections stay in conntrack for days (or leave it before RFC 5382 allows)',
    severity: 'info',
    workloads: { connections: 'warn' },
    needs: ['conntrack'],
    why: 'An established TCP entry lives until nf_conntrack_tcp_timeout_established passes without a packet, 432000 s (5 days) by default. Peers that vanish without FIN or RST (crashed clients, mobile devices, dropped NAT paths) therefore hold table entries for days, and on hosts with many connections they crowd out new ones.',
    sources: [`${CT_SYSCTL} (nf_conntrack_tcp_timeout_established)`, 'RFC 5382 REQ-5 (established idle timeout at least 2 h 4 min)', 'Documentation/networking/ip-sysctl.rst (tcp_keepalive_time, tcp_keepalive_intvl, tcp_keepalive_probes)'],
    risk: 'A connection idle for longer than the timeout without keepalives loses its entry; its next packet is then picked up mid-stream (nf_conntrack_tcp_loose=1) or dropped as INVALID by stateful rules, and NAT mappings are lost. Keep the value above the keepalive dead-peer time of the applications that rely on idle connections.',
    check: (ctx) => {
      const v = ctx.int(ESTABLISHED_KEY);
      if (v === null || (v < 432000 && v >= RFC5382_ESTABLISHED_MIN_S)) return null;
      const t = ctx.int('net.ipv4.tcp_keepalive_time');
      const i = ctx.int('net.ipv4.tcp_keepalive_intvl');
      const p = ctx.int('net.ipv4.tcp_keepalive_probes');
      const dead = t !== null && i !== null && p !== null ? t + i * p : null;
      const ct = ctx.snap.conntrack;
      if (v < RFC5382_ESTABLISHED_MIN_S) {
        const target = Math.max(RFC5382_ESTABLISHED_MIN_S, dead !== null ? dead + 600 : 0);
        return {
          message: `idle TCP entries are forgotten after ${formatSeconds(v)}, below RFC 5382's 2h 4m: a connection idle that long without keepalives loses its state and NAT mapping`,
          evidence: [ctx.knob(ESTABLISHED_KEY), ...(dead !== null ? [{ what: 'keepalive dead-peer time', value: `${dead} s`, note: 'tcp_keepalive_time + tcp_keepalive_intvl × tcp_keepalive_probes' }] : [])],
          changes: [sysctlChange(ctx, ESTABLISHED_KEY, String(target))],
          confidence: 'medium',
        };
      }
      const target = Math.max(86400, dead !== null ? dead + 600 : 0);
      return {
        message: `idle TCP entries are kept ${formatSeconds(v)}; ${formatSeconds(target)} still outlasts keepalive dead-peer detection${dead !== null ? ` (${formatSeconds(dead)} = ${t} + ${i} × ${p})` : ''}${ct?.count != null && ct.max ? `; table ${pct(ct.count, ct.max)} full` : ''}`,
        evidence: [
          ctx.knob(ESTABLISHED_KEY),
          ...(dead !== null ? [{ what: 'keepalive dead-peer time', value: `${dead} s`, note: 'tcp_keepalive_time + tcp_keepalive_intvl × tcp_keepalive_probes' }] : []),
          gauge(ctx, 'conntrack.count'),
          gauge(ctx, 'conntrack.max'),
        ],
        changes: [sysctlChange(ctx, ESTABLISHED_KEY, String(target))],
        confidence: 'medium',
      };
    },
  },
  {
    id: 'conntrack.notrack-candidate',
    domain: 'conntrack',
    title: 'Busy local services could bypass connection tracking',
    severity: 'info',
    workloads: { balanced: 'skip', throughput: 'skip' },
    needs: ['conntrack'],
    why: 'A host that does not forward or NAT gains little from tracking every connection to its own busy service, yet each one costs an entry, a lookup per packet and table space. A NOTRACK rule in the raw table (priority -300, before conntrack) exempts chosen ports, which also makes floods of short connections unable to fill the table.',
    sources: [`${CT_SYSCTL} (nf_conntrack_max)`, 'nft(8) (notrack statement; standard chain priority "raw" = -300, before conntrack at -200)'],
    risk: 'Untracked packets bypass everything stateful: "ct state established,related accept" no longer matches them, so the ruleset must accept the port explicitly in both directions (or "ct state untracked accept"), and NAT, conntrack helpers and conntrack-based accounting do not apply to them.',
    check: (ctx) => {
      const count = ctx.snap.conntrack?.count ?? null;
      if (count === null || count <= 10000) return null;
      if (ctx.int('net.ipv4.ip_forward') !== 0 || ctx.int('net.ipv6.conf.all.forwarding') === 1) return null;
      return {
        message: `${count} tracked flows on a host that does not forward: consider NOTRACK for the busy local service ports (example below uses 443)`,
        evidence: [gauge(ctx, 'conntrack.count'), gauge(ctx, 'conntrack.max'), ctx.knob('net.ipv4.ip_forward'), ctx.knob('net.ipv6.conf.all.forwarding')],
        commands: [
          'nft add table inet raw',
          "nft add chain inet raw prerouting '{ type filter hook prerouting priority raw; }'",
          "nft add chain inet raw output '{ type filter hook output priority raw; }'",
          'nft add rule inet raw prerouting tcp dport 443 notrack',
          'nft add rule inet raw output tcp sport 443 notrack',
          '# then accept tcp dport 443 / sport 443 explicitly (or ct state untracked) in the filter ruleset',
        ],
        confidence: 'low',
      };
    },
  },
];
