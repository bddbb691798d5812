// Built-in experiments: each reproduces or refutes one tuning claim on this kernel, in a lab.
// Data only: the runner (experiment.ts) builds the lab, applies A and B through the apply stage,
// runs the benchmark interleaved, and judges the difference.
import type { PlanChange } from '../plan/types.js';
import type { ArmContext, Changes } from './arms.js';
import { labRuleset, plannedNotrack, plannerNotes, rawTableWithoutNotrack } from './ct-arms.js';
import { CT_FULL_NOTES, NOTRACK_CRR_NOTES } from './ct-notes.js';
import type { LinkEmulation, Topology } from './lab.js';
import type { ClaimDirection } from './stats.js';
import type { WorkloadSpec } from './workload.js';
import { mptcpLabArm } from './mptcp-arm.js';
import type { SurvivalSpec } from './mptcp-survival.js';

export type BenchSpec =
  | { kind: 'throughput'; duration_s: number; omit_s: number; parallel: number; congestion?: string }
  | { kind: 'rr' | 'crr'; duration_s: number; connections: number; size: number }
  | { kind: 'backlog'; backlog: number; connects: number; /** the metric: completed (default) or failed connects */ count?: 'connected' | 'failed' }
  | { kind: 'keepalive'; limit_s: number }
  | { kind: 'tfo'; connections: number; duration_s: number }
  /** The user's own server and client (`experiment run workload`, src/lab/workload.ts). */
  | { kind: 'workload'; workload: WorkloadSpec }
  /** Through the router's stateful ruleset (src/lab/ct-lab.ts): a UDP flood of `fill` flows fills
   *  a table of `limit` entries and goes on at `rate` flows/s for the run, while `connects` TCP
   *  connects are tried (metric: the share that failed). */
  | { kind: 'ct-full'; duration_s: number; limit: number; fill: number; rate: number; udp_port: number; tcp_port: number; connects: number; connect_timeout_ms: number }
  /** crr through the router's stateful ruleset, on a fixed service port. */
  | { kind: 'ct-crr'; duration_s: number; connections: number; size: number; port: number; ports: number };

export type Role = 'client' | 'server' | 'router';

export interface ArmSpec {
  label: string;
  /** Changes per lab host, applied through the apply stage with --netns. 'baseline' for A means:
   *  whatever the namespaces had before B's keys were touched. */
  changes: Partial<Record<Role, PlanChange[]>> | 'baseline' | ((ctx: ArmContext) => Promise<Changes>);
  /** A computed arm (changes is a function): the kinds of change it makes, for the export report. */
  kinds?: PlanChange['kind'][];
  /** Where the arm comes from, for the report (default "built-in"). */
  source?: string;
  /** Notes for the report, asked once the arm has been resolved (e.g. what the planner warned). */
  notes?: () => string[];
  /** Benchmark parameters that differ for this arm (e.g. the per-socket congestion control). */
  bench?: Partial<{ congestion: string; mptcp: boolean }>;
  /** Changes computed by the planner in the lab once it is up, added to `changes` for that role
   *  (e.g. `plan --workload multihomed --iface …` on the server). Only the planner's own intent. */
  plan?: { role: Role; workload: 'multihomed'; ifaces: string[] };
}

export interface MetricSpec {
  name: string;
  unit: string;
  higher_is_better: boolean;
  /** A count (connections, failures): samples print as integers. */
  integer?: boolean;
}

/** The link parameters an experiment's lab takes from the command line. */
export const LINK_PARAMS = ['rate', 'rtt', 'jitter', 'loss'] as const;
export type LinkParam = (typeof LINK_PARAMS)[number];

export interface ExperimentDef {
  name: string;
  claim: string;
  topology: Topology;
  link: LinkEmulation;
  /** Extra routes (ip route replace …) per lab host, added after the lab is up. */
  routes?: Partial<Record<Role, string[][]>>;
  /** Applied once to both arms after the lab is up (e.g. big buffers so they do not limit). */
  setup?: Partial<Record<Role, PlanChange[]>>;
  bench: BenchSpec;
  metric: MetricSpec;
  a: ArmSpec;
  /** B may be computed from the lab (e.g. the planner's BDP buffers). */
  b: ArmSpec | 'plan-buffers';
  /** Further built-in arms (C, D, …), compared with A like B. */
  more?: ArmSpec[];
  reps: number;
  notes: string[];
  /** What the claim says about B relative to A: the report judges the result against it. */
  expect: ClaimDirection;
  /** Link parameters this experiment cannot take, with why (everything else is accepted). */
  cannot?: Partial<Record<LinkParam, string>>;
  /** Topologies it can run on (default: only `topology`). */
  topologies?: Topology[];
  /** Why the experiment cannot run yet, if it cannot. */
  unavailable?: string;
  /** After the A/B runs: one MPTCP transfer with B's settings while a client path goes down and
   *  up again (src/lab/mptcp-survival.ts). */
  survival?: SurvivalSpec;
}

const sysctl = (key: string, to: string): PlanChange => ({ kind: 'sysctl', key, from: null, to });
const sysctls = (m: Record<string, string>): PlanChange[] => Object.entries(m).map(([k, v]) => sysctl(k, v));
const both = (m: Record<string, string>): Partial<Record<Role, PlanChange[]>> => ({ client: sysctls(m), server: sysctls(m) });
const features = (dev: string, on: boolean, names: string[]): PlanChange[] =>
  names.map((setting) => ({ kind: 'ethtool', device: dev, group: 'features', setting, from: null, to: on ? 'on' : 'off' }));

const STRICT = { 'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.conf.nt1.rp_filter': '1' };
const BIG_BUFFERS = { 'net.ipv4.tcp_rmem': '4096 131072 134217728', 'net.ipv4.tcp_wmem': '4096 16384 134217728' };
const THROUGHPUT: BenchSpec = { kind: 'throughput', duration_s: 10, omit_s: 3, parallel: 1 };
const OFFLOAD_VETH = 'the claim is about a veth pair: an emulated delay, jitter or loss replaces the veth with the delay line (TUN devices), whose offloads are not the ones tested';
const BPS: MetricSpec = { name: 'throughput', unit: 'bit/s', higher_is_better: true };

export const EXPERIMENTS: readonly ExperimentDef[] = [
  {
    name: 'bdp-buffers',
    claim: 'Socket buffers sized from the bandwidth-delay product let a single TCP stream fill a long, fat link that the default buffer limits cannot.',
    topology: 'pair',
    link: { rate_bps: 1e9, rtt_s: 0.1, jitter_s: 0, loss_pct: 0 },
    bench: THROUGHPUT,
    metric: BPS,
    a: { label: 'defaults', changes: 'baseline' },
    b: 'plan-buffers',
    reps: 4,
    expect: 'b-better',
    topologies: ['pair', 'router'],
    notes: ['B is what `nettune plan --workload throughput` proposes for tcp_rmem/tcp_wmem on the lab\'s link (2 × BDP, 4 × BDP when the link has loss, rounded up to a power of two).', 'Slow start on a long path takes seconds: the first 3 s of each run are omitted (iperf3 --omit).', 'With BBR (this kernel\'s default) each run shows one ProbeRTT dip about 10 s into the flow, which costs a few per cent of the 10 s average.'],
  },
  {
    name: 'bbr-vs-cubic-loss',
    claim: 'On a path with 1 % random loss, BBR sustains far more single-stream throughput than loss-based CUBIC.',
    topology: 'pair',
    link: { rate_bps: 1e9, rtt_s: 0.05, jitter_s: 0, loss_pct: 1 },
    setup: both(BIG_BUFFERS),
    bench: { ...THROUGHPUT, omit_s: 2 },
    metric: BPS,
    a: { label: 'cubic', changes: {}, bench: { congestion: 'cubic' } },
    b: { label: 'bbr', changes: {}, bench: { congestion: 'bbr' } },
    reps: 4,
    expect: 'b-better',
    topologies: ['pair', 'router'],
    notes: ['The algorithm is chosen per socket (iperf3 -C): a child namespace can only select algorithms in the host-wide allowed list, a root process per socket can use any available one.', 'Loss is applied independently in each direction.'],
  },
  {
    name: 'timestamps',
    claim: 'Turning TCP timestamps off (a common "performance" tip) does not make a fast local transfer measurably faster.',
    topology: 'pair',
    link: { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 },
    setup: both(BIG_BUFFERS),
    bench: { kind: 'throughput', duration_s: 5, omit_s: 1, parallel: 1 },
    metric: BPS,
    a: { label: 'timestamps on', changes: both({ 'net.ipv4.tcp_timestamps': '1' }) },
    b: { label: 'timestamps off', changes: both({ 'net.ipv4.tcp_timestamps': '0' }) },
    reps: 5,
    expect: 'b-not-better',
    topologies: ['pair', 'router'],
    notes: ['Unlimited veth link: the transfer is CPU-bound, where 12 bytes of options per segment would show if they mattered.'],
  },
  {
    name: 'sack-loss',
    claim: 'Disabling SACK hurts throughput on a lossy path, because several losses per window then cost several round trips.',
    topology: 'pair',
    link: { rate_bps: 1e9, rtt_s: 0.05, jitter_s: 0, loss_pct: 1 },
    setup: both(BIG_BUFFERS),
    bench: { ...THROUGHPUT, omit_s: 2, congestion: 'cubic' },
    metric: BPS,
    a: { label: 'SACK on', changes: both({ 'net.ipv4.tcp_sack': '1' }) },
    b: { label: 'SACK off', changes: both({ 'net.ipv4.tcp_sack': '0' }) },
    reps: 4,
    expect: 'b-worse',
    topologies: ['pair', 'router'],
    notes: ['CUBIC in both arms (per socket), so loss recovery, not BBR\'s loss tolerance, is what differs.'],
  },
  {
    name: 'keepalive-dead-peer',
    claim: 'With the default keepalive settings a silently vanished peer is not noticed for over two hours; tcp_keepalive_time/intvl/probes bound it.',
    topology: 'pair',
    link: { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 },
    bench: { kind: 'keepalive', limit_s: 20 },
    metric: { name: 'dead-peer detection time', unit: 's', higher_is_better: false },
    a: { label: 'defaults', changes: 'baseline' },
    b: { label: '5 s + 2 s × 3', changes: { client: sysctls({ 'net.ipv4.tcp_keepalive_time': '5', 'net.ipv4.tcp_keepalive_intvl': '2', 'net.ipv4.tcp_keepalive_probes': '3' }) } },
    reps: 2,
    expect: 'b-better',
    notes: ['A run that reaches the 20 s limit without a verdict counts as 20 s (censored: the real value is 7200 + 75 × 9 = 7875 s).', 'The server is blackholed with an nftables drop rule in its namespace.'],
  },
  {
    name: 'listen-backlog',
    claim: 'somaxconn caps the accept queue an application asks for; at the pre-5.4 default of 128 a connect burst overflows it.',
    topology: 'pair',
    link: { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 },
    bench: { kind: 'backlog', backlog: 4096, connects: 1000 },
    metric: { name: 'connects completed', unit: 'connections', higher_is_better: true, integer: true },
    a: { label: 'somaxconn 128', changes: { server: sysctls({ 'net.core.somaxconn': '128' }) } },
    b: { label: 'somaxconn 4096', changes: { server: sysctls({ 'net.core.somaxconn': '4096' }) } },
    reps: 3,
    expect: 'b-better',
    notes: ['The server listens with backlog 4096 and never accepts, so the accept queue is what absorbs the burst of 1000 connects.'],
  },
  {
    name: 'offloads',
    claim: 'Segmentation and receive offloads (TSO/GSO/GRO) raise the throughput a CPU can push through a veth pair.',
    topology: 'pair',
    link: { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 },
    setup: both(BIG_BUFFERS),
    bench: { kind: 'throughput', duration_s: 5, omit_s: 1, parallel: 1 },
    metric: BPS,
    a: { label: 'offloads off', changes: { client: features('nt0', false, ['tso', 'gso', 'gro']), server: features('nt0', false, ['tso', 'gso', 'gro']) } },
    b: { label: 'offloads on', changes: { client: features('nt0', true, ['tso', 'gso', 'gro']), server: features('nt0', true, ['tso', 'gso', 'gro']) } },
    reps: 4,
    expect: 'b-better',
    cannot: { rtt: OFFLOAD_VETH, jitter: OFFLOAD_VETH, loss: OFFLOAD_VETH },
    notes: ['Both ends of the veth pair are switched; the change goes through the apply stage as ethtool settings.'],
  },
  {
    name: 'tfo',
    claim: 'TCP Fast Open saves one round trip on repeat connections: the request rides in the SYN once the client holds a cookie.',
    topology: 'pair',
    link: { rate_bps: 1e9, rtt_s: 0.02, jitter_s: 0, loss_pct: 0 },
    bench: { kind: 'tfo', connections: 100, duration_s: 8 },
    metric: { name: 'median connect+request+response time', unit: 'ms', higher_is_better: false },
    a: { label: 'server Fast Open off (tcp_fastopen=1)', changes: { server: sysctls({ 'net.ipv4.tcp_fastopen': '1' }) } },
    b: { label: 'server Fast Open on (tcp_fastopen=3)', changes: { server: sysctls({ 'net.ipv4.tcp_fastopen': '3' }) } },
    reps: 3,
    expect: 'b-better',
    topologies: ['pair', 'router'],
    notes: ['The client sends every request with MSG_FASTOPEN (client bit 0x1 is the kernel default); only the server setting differs. The first connection of each run, which fetches the cookie, is left out.'],
  },
  {
    name: 'mptcp-two-paths',
    claim: 'MPTCP uses two disjoint paths at once, so one connection gets about the sum of their rates where TCP gets one path.',
    topology: 'multipath',
    link: { rate_bps: 1e8, rtt_s: 0.01, jitter_s: 0, loss_pct: 0 },
    setup: both(BIG_BUFFERS),
    bench: { kind: 'throughput', duration_s: 8, omit_s: 2, parallel: 1 },
    metric: BPS,
    a: { label: "MPTCP without the planner's endpoints (removed: absent)", changes: {}, bench: { mptcp: true } },
    b: { label: "MPTCP (the planner's endpoints and limits)", changes: mptcpLabArm, kinds: ['sysctl', 'mptcp'], bench: { mptcp: true } },
    reps: 3,
    expect: 'b-better',
    survival: { device: 'nt0', total_s: 15, down_at_s: 5, up_at_s: 10 },
    notes: [
      "Each path is 100 Mbit/s with 10 ms RTT. B is what `nettune plan --mptcp-paths nt0,nt1` proposes in each namespace (client: a subflow endpoint on nt1's address; server: a signal endpoint announcing its nt1 address; limits for them), applied through the apply stage's transaction.",
      'Survival: after the A/B runs, one MPTCP transfer with B\'s settings while the client\'s nt0 (the initial subflow\'s path) is set down at 5 s and up at 10 s.',
      "A is the same namespaces with the planner's endpoints removed: each endpoint B adds is a plan change `absent` in A (the lab's baseline, applied through the same transaction before every A run), so A's MPTCP connection has only its initial subflow on nt0.",
      "Both arms use nettune's own bounded socket generator (python3, socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP=262)); only the endpoints differ. No mptcpize needed (Debian 12's mptcpd 0.12 does not ship it).",
    ],
  },
  {
    name: 'source-routing',
    claim: "On a host with two uplinks, nettune's source-based routing (a table and an ip rule per source address) sends each reply out of the interface its request came in on, so a peer with strict reverse-path filtering accepts it; without it strict mode drops the asymmetric replies, and loose mode only hides the asymmetry.",
    topology: 'multipath',
    link: { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 },
    routes: { server: [['198.18.0.1/32', 'dev', 'nt1']] },
    bench: { kind: 'backlog', backlog: 4096, connects: 200, count: 'failed' },
    metric: { name: 'failed connects', unit: 'connections', higher_is_better: false, integer: true },
    a: { label: 'strict, no source routing', changes: { client: sysctls(STRICT) } },
    b: {
      label: 'strict + source routing (plan --workload multihomed on the server)',
      changes: { client: sysctls(STRICT) },
      plan: { role: 'server', workload: 'multihomed', ifaces: ['nt0=198.18.0.2/30,gw=198.18.0.1', 'nt1=198.18.0.6/30,gw=198.18.0.5'] },
    },
    more: [{ label: 'loose (rp_filter=2), no source routing', changes: { client: sysctls({ 'net.ipv4.conf.all.rp_filter': '2', 'net.ipv4.conf.nt1.rp_filter': '2' }) } }],
    reps: 2,
    expect: 'b-better',
    notes: [
      'The client connects to 198.18.0.2 over path 1 (nt0); the server\'s main table sends 198.18.0.1 out of path 2 (nt1), so without source routing every SYN-ACK arrives on the client interface that is not the route back to 198.18.0.2.',
      "A and B keep the client strict (rp_filter=1): a connect completes only when the server's reply came back on nt0, the path its request took — that is what the failed-connect count measures. B's server changes are nettune's own plan (routes in tables 100/101, rules from 198.18.0.2 and 198.18.0.6), applied through the apply stage like any arm.",
      'C (loose) also completes every connect, but its replies still take path 2: loose mode accepts them, it does not make routing symmetric.',
    ],
  },
  {
    name: 'conntrack-full',
    claim: "When a router's conntrack table is full, new connections through it are dropped; NOTRACK for the flooding traffic keeps the table free for them.",
    topology: 'router',
    link: { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 },
    setup: { router: [labRuleset(2048)] },
    bench: { kind: 'ct-full', duration_s: 5, limit: 2048, fill: 3072, rate: 500, udp_port: 5353, tcp_port: 8080, connects: 100, connect_timeout_ms: 2500 },
    metric: { name: 'failed connects', unit: '%', higher_is_better: false },
    a: { label: 'conntrack (nettune_raw without NOTRACK rules)', changes: { router: [rawTableWithoutNotrack()] } },
    b: { label: 'planned NOTRACK udp:5353', source: 'built-in: nettune plan --notrack udp:5353 --direction both (the planner, for the lab router)', changes: plannedNotrack('udp:5353'), kinds: ['nft'], notes: () => plannerNotes('udp:5353') },
    reps: 3,
    expect: 'b-better',
    notes: CT_FULL_NOTES,
  },
  {
    name: 'notrack-crr',
    claim: 'NOTRACK in the raw table raises the connection rate a stateful router sustains.',
    topology: 'router',
    link: { rate_bps: null, rtt_s: 0, jitter_s: 0, loss_pct: 0 },
    setup: { router: [labRuleset(null)] },
    bench: { kind: 'ct-crr', duration_s: 5, connections: 8, size: 64, port: 8080, ports: 10 },
    metric: { name: 'connections per second', unit: 'conn/s', higher_is_better: true },
    a: { label: 'conntrack (nettune_raw without NOTRACK rules)', changes: { router: [rawTableWithoutNotrack()] } },
    b: { label: 'planned NOTRACK tcp:8080-8089', source: 'built-in: nettune plan --notrack tcp:8080-8089 --direction both (the planner, for the lab router)', changes: plannedNotrack('tcp:8080-8089'), kinds: ['nft'], notes: () => plannerNotes('tcp:8080-8089') },
    reps: 5,
    expect: 'b-better',
    notes: NOTRACK_CRR_NOTES,
  },
];

export const findExperiment = (name: string): ExperimentDef | undefined => EXPERIMENTS.find((e) => e.name === name);
