// The bad-input corpus (issue 9): one table of hostile inputs over every command that reads a
// file, a flag or a name. Each case is run by test/cli/hostile.test.ts twice (human and --json)
// and must end with its exit code, a one-line message, one JSON document, and no write at all.
// To add a case, add a row. Placeholders in args and env are replaced by the runner:
//   {SNAP} a valid Snapshot · {PLAN} a valid plan · {NS} the throw-away namespace (root only)
//   {ROOT} an empty --root tree · {BAD:kind} a hostile file (see BAD_FILES) · {TMP} a temp dir
//   {MISSINGDIR} a directory that does not exist
//   {NFT:syntax|flush|hook} a plan for {NS} whose nft table nft refuses (root only)

export interface HostileCase {
  /** What is wrong, as a short sentence (the test name). */
  name: string;
  args: string[];
  env?: Record<string, string>;
  /** Expected exit code (2 unless said otherwise). */
  code?: number;
  /** The message must match (stderr in human mode, error.message with --json). */
  match?: RegExp;
  /** Needs root and the throw-away namespace (apply-side: namespace sysctl -a compared). */
  ns?: boolean;
  /** Known open: the fix is someone else's and has not landed yet. Runs as `it.fails`. */
  open?: string;
  /** Only the human variant (the case is about --json handling itself). */
  noJson?: boolean;
}

/** Hostile files the runner creates; {BAD:kind}. */
export const BAD_FILES = ['fifo', 'zero', 'null', 'dir', 'missing', 'big', 'nul', 'utf8', 'empty', 'notjson', 'array', 'schema', 'longline', 'link-zero', 'loop'] as const;
export type BadFile = (typeof BAD_FILES)[number];

const NETNS_BAD = ['', ' ', '.', '..', '../etc', 'a/b', 'a b', 'x'.repeat(65), 'a\nb', 'ä', '$(id)', ";id;'", '-x'];

const cases: HostileCase[] = [];
const add = (c: HostileCase): void => {
  cases.push(c);
};

// ---- names: --netns on every command that takes it --------------------------------------------
const netnsCommands: string[][] = [
  ['probe'],
  ['show'],
  ['audit'],
  ['plan', '--workload', 'latency'],
  ['lint', '--root', '{ROOT}'],
  ['get', 'net.ipv4.tcp_sack'],
  ['explain', 'net.ipv4.tcp_sack'],
  ['profiles'],
  ['apply', '--set', 'net.ipv4.tcp_sack=1', '--yes'],
];
for (const cmd of netnsCommands)
  for (const bad of NETNS_BAD)
    add({ name: `${cmd[0]} --netns ${JSON.stringify(bad)}`, args: [...cmd, '--netns', bad], match: bad === '-x' ? /argument missing|invalid network namespace/ : /invalid network namespace name/ });
for (const cmd of netnsCommands) add({ name: `${cmd[0]} --netns of a namespace that does not exist`, args: [...cmd, '--netns', 'nt-h2-no-such-ns'], match: /does not exist/ });
for (const bad of ['', '../x', 'a b'])
  for (const cmd of [['probe'], ['show'], ['audit', '--workload', 'latency']])
    add({ name: `${cmd[0]} with NETTUNE_NETNS_NAME=${JSON.stringify(bad)}`, args: cmd, env: { NETTUNE_NETNS_NAME: bad }, match: /NETTUNE_NETNS_NAME: invalid network namespace name/ });

// ---- files: every reader -------------------------------------------------------------------------
const fileMatch: Record<BadFile, RegExp> = {
  fifo: /FIFO/,
  zero: /character device/,
  null: /character device/,
  dir: /directory/,
  missing: /no such file/,
  big: /MiB/,
  nul: /NUL byte/,
  utf8: /invalid UTF-8/,
  empty: /not JSON|not a valid/,
  notjson: /not JSON/,
  array: /not a valid/,
  schema: /not a valid/,
  longline: /not JSON/,
  'link-zero': /character device/,
  loop: /symbolic links/,
};
for (const kind of BAD_FILES) {
  add({ name: `show --snapshot ${kind}`, args: ['show', '--snapshot', `{BAD:${kind}}`], match: fileMatch[kind] });
  add({ name: `diff ${kind} SNAP`, args: ['diff', `{BAD:${kind}}`, '{SNAP}'], match: fileMatch[kind] });
}
for (const kind of ['fifo', 'zero', 'dir', 'big', 'nul', 'notjson', 'schema'] as const) {
  add({ name: `audit --since ${kind}`, args: ['audit', '--snapshot', '{SNAP}', '--since', `{BAD:${kind}}`], match: fileMatch[kind] });
  add({ name: `plan --snapshot ${kind}`, args: ['plan', '--workload', 'latency', '--snapshot', `{BAD:${kind}}`], match: fileMatch[kind] });
  add({ name: `get --snapshot ${kind}`, args: ['get', 'net.ipv4.tcp_sack', '--snapshot', `{BAD:${kind}}`], match: fileMatch[kind] });
  add({ name: `experiment run --a ${kind}`, args: ['experiment', 'run', 'bdp-buffers', '--a', `{BAD:${kind}}`], match: fileMatch[kind] });
}
const applyFileMatch: Partial<Record<BadFile, RegExp>> = { empty: /nothing|give exactly one|no changes|Nothing to change/i, notjson: /not an assignment/, array: /not an assignment/, schema: /not a valid plan/, longline: /not valid JSON|line 1/ };
for (const kind of BAD_FILES.filter((k) => k !== 'empty'))
  add({ name: `apply ${kind} (in the namespace)`, args: ['apply', `{BAD:${kind}}`, '--netns', '{NS}', '--yes'], ns: true, match: applyFileMatch[kind] ?? fileMatch[kind] });
for (const kind of ['fifo', 'zero', 'null', 'missing', 'big', 'nul', 'utf8', 'link-zero'] as const)
  add({ name: `lint PATH ${kind}`, args: ['lint', `{BAD:${kind}}`, '--snapshot', '{SNAP}'], match: kind === 'missing' ? /no such file/ : kind === 'link-zero' || kind === 'zero' || kind === 'null' ? /character device/ : fileMatch[kind] });
add({ name: 'lint --root of a FIFO', args: ['lint', '--root', '{BAD:fifo}', '--snapshot', '{SNAP}'], match: /not a (file or )?directory|FIFO/ });
add({ name: 'lint --root of a missing directory', args: ['lint', '--root', '{MISSINGDIR}', '--snapshot', '{SNAP}'], match: /no such file|not a directory/ });
add({ name: 'lint --root tree with a binary sysctl.d file', args: ['lint', '--root', '{ROOT:binary}', '--snapshot', '{SNAP}'], match: /NUL byte/ });
add({ name: 'lint --root tree with a 5 MiB sysctl.d file', args: ['lint', '--root', '{ROOT:big}', '--snapshot', '{SNAP}'], match: /MiB/ });
add({ name: 'profiles --from-tuned of a profile over 4 MiB', args: ['profiles', '--snapshot', '{SNAP}', '--from-tuned', '{TUNED:big}'], match: /MiB/ });
add({ name: 'profiles --from-tuned that does not exist', args: ['profiles', '--snapshot', '{SNAP}', '--from-tuned', 'nt-h2-no-such-profile'], match: /not found/ });

// ---- outputs --------------------------------------------------------------------------------------
for (const [what, path, re] of [
  ['a directory', '{TMP}', /is a directory/],
  ['a missing directory', '{MISSINGDIR}/x.json', /does not exist/],
  ['a trailing slash', '{TMP}/x/', /file name is needed/],
  ['an empty path', '', /file name is needed|--out/],
  ['a dangling symlink', '{BAD:dangling}', /dangling/],
  ['a FIFO without a reader', '{BAD:fifo}', /no reader/],
  ['/dev/full', '/dev/full', /no space/],
  ['a file used as a directory', '{SNAP}/x.json', /not a directory/],
] as const) {
  add({ name: `probe --out ${what}`, args: ['probe', '--out', path], match: re });
  add({ name: `plan --out ${what}`, args: ['plan', '--workload', 'latency', '--snapshot', '{SNAP}', '--out', path], match: re });
}

// ---- flags and values -----------------------------------------------------------------------------
const set = (v: string, extra: Partial<HostileCase> = {}): void =>
  add({ name: `apply --set ${JSON.stringify(v)}`, args: ['apply', '--set', v, '--netns', '{NS}', '--yes'], ns: true, ...extra });
set('net.ipv4.tcp_fin_timeout=-5', { match: /tcp_fin_timeout/ });
set('net.ipv4.tcp_max_syn_backlog=-1', { match: /tcp_max_syn_backlog/ });
set('net.ipv4.tcp_keepalive_time=-1', { match: /tcp_keepalive_time/ });
set('net.ipv4.tcp_rmem=4096 1000 500', { match: /tcp_rmem/ });
set('net.ipv4.tcp_keepalive_time=2147483648', { match: /tcp_keepalive_time/ });
set('net.ipv4.tcp_keepalive_time=99999999999999999999', { match: /tcp_keepalive_time/ });
set('net.ipv4.tcp_fin_timeout=030', { match: /octal|030/ });
set('net.ipv4.ip_local_port_range=60000 1024', { match: /ip_local_port_range/ });
set('net.ipv4.ip_local_port_range=0 70000', { match: /ip_local_port_range/ });
set('net.ipv4.tcp_sack=1\nnet.ipv4.ip_forward=1', { match: /control|newline|tcp_sack/ });
set('net.ipv4.conf.lo.arp_announce=1\n2', { match: /control|newline|arp_announce/ });
set('net.ipv4.tcp_sack=1\u0007', { match: /control|tcp_sack/ });
set('net.ipv4.tcp_congestion_control=nt-no-such-cc', { match: /congestion/ });
set('net.ipv4.tcp_sack=maybe', { match: /tcp_sack/ });
set('net.ipv4.nt_no_such_key=1', { match: /no such key|unknown/ });
set('=1', { match: /key/ });
set('net.ipv4.tcp_sack', { match: /key=value|=/ });
set('sysfs:/sys/class/net/lo/../../../../etc/hostname=x', { match: /attribute|sysfs/ });
set("ethtool:x';id;':features:tso=on", { match: /interface name|ethtool/ });
add({ name: 'apply --set the same key twice to different values', args: ['apply', '--set', 'net.ipv4.tcp_sack=1', '--set', 'net.ipv4.tcp_sack=0', '--netns', '{NS}', '--yes'], ns: true, match: /set twice/ });
add({ name: 'apply --set a redacted secret', args: ['apply', '--set', 'net.ipv4.tcp_fastopen_key=00000000-00000000-00000000-00000001', '--netns', '{NS}', '--yes'], ns: true, match: /redacted/ });
for (const [flag, value, re] of [
  ['--confirm', '-5s', /confirm/],
  ['--confirm', '0s', /confirm/],
  ['--confirm', '999h', /confirm/],
  ['--confirm', 'soon', /confirm/],
] as const)
  add({ name: `apply ${flag} ${value}`, args: ['apply', '--set', 'net.ipv4.tcp_sack=1', flag, value, '--netns', '{NS}', '--yes'], ns: true, match: re });
for (const [flag, value] of [
  ['--conns', '-1'],
  ['--conns', '0'],
  ['--conns', 'many'],
  ['--conns', '1e99'],
  ['--dead-peer', '-5s'],
  ['--rtt', '-1ms'],
  ['--rtt', '100s'],
  ['--link', '-1gbit'],
  ['--link', 'fast'],
  ['--loss', '200'],
  ['--loss', '-1'],
] as const) {
  const linkArgs = flag === '--rtt' ? ['--link', '1gbit'] : flag === '--link' ? ['--rtt', '10ms'] : flag === '--loss' ? ['--link', '1gbit', '--rtt', '10ms'] : [];
  add({ name: `plan ${flag} ${value}`, args: ['plan', '--workload', 'throughput', '--snapshot', '{SNAP}', ...linkArgs, flag, value], match: new RegExp(flag.slice(2).replace('-', '.?')) });
  add({ name: `apply --workload ${flag} ${value}`, args: ['apply', '--workload', 'throughput', ...linkArgs, flag, value, '--netns', '{NS}', '--yes'], ns: true });
}
add({ name: 'plan without --workload', args: ['plan', '--snapshot', '{SNAP}'], match: /--workload/ });
add({ name: 'plan --workload bogus', args: ['plan', '--workload', 'bogus', '--snapshot', '{SNAP}'], match: /--workload/ });
add({ name: 'plan --link without --rtt', args: ['plan', '--workload', 'latency', '--link', '1gbit', '--snapshot', '{SNAP}'], match: /--rtt/ });
add({ name: 'audit --fail-on bogus names --fail-on', args: ['audit', '--snapshot', '{SNAP}', '--fail-on', 'bogus'], match: /(^|nettune: )--fail-on: / });
add({ name: 'audit --format xml', args: ['audit', '--snapshot', '{SNAP}', '--format', 'xml'], match: /--format/ });
add({ name: 'audit --interval -1s', args: ['audit', '--interval', '-1s'], match: /interval/ });
add({ name: 'audit --interval 99h', args: ['audit', '--interval', '99h'], match: /interval/ });
add({ name: 'audit --interval with --snapshot', args: ['audit', '--snapshot', '{SNAP}', '--interval', '5s'], match: /interval/ });
add({ name: 'audit --since a later snapshot than now', args: ['audit', '--snapshot', '{SNAP}', '--since', '{SNAP}'], match: /since/ });
add({ name: 'audit --netns with --snapshot', args: ['audit', '--snapshot', '{SNAP}', '--netns', 'x'], match: /cannot be used together|does not exist/ });
add({ name: 'rules --domain bogus', args: ['rules', '--domain', 'bogus'], match: /--domain/ });
add({ name: 'rules explain of an unknown rule', args: ['rules', 'explain', 'nt.no-such-rule'], match: /unknown rule/ });
add({ name: 'get an unknown key', args: ['get', 'net.ipv4.nt_no_such_key', '--snapshot', '{SNAP}'], match: /unknown key/ });
add({ name: 'explain an unknown key', args: ['explain', 'net.ipv4.nt_no_such_key', '--snapshot', '{SNAP}'], match: /unknown key/ });
add({ name: 'history --limit -1', args: ['history', '--limit', '-1'], match: /--limit/ });
add({ name: 'history --limit many', args: ['history', '--limit', 'many'], match: /--limit/ });
add({ name: 'show-tx abc', args: ['show-tx', 'abc'], match: /transaction/ });
add({ name: 'show-tx -1', args: ['show-tx', '-1'], match: /transaction|unknown option/ });
add({ name: 'show-tx of a transaction that does not exist', args: ['show-tx', '424242'], match: /transaction/ });
add({ name: 'confirm abc', args: ['confirm', 'abc'], match: /transaction/ });
add({ name: 'rollback abc', args: ['rollback', 'abc', '--yes'], match: /transaction|unknown option/ });
add({ name: 'rollback of a transaction that does not exist', args: ['rollback', '424242', '--yes'], match: /transaction|unknown option/ });
add({ name: 'lab up with a bad name', args: ['lab', 'up', 'Bad Name'], match: /lab name/ });
add({ name: 'lab up ../x', args: ['lab', 'up', '../x'], match: /lab name/ });
add({ name: 'lab up --topology bogus', args: ['lab', 'up', 'h2x', '--topology', 'bogus'], match: /--topology/ });
add({ name: 'lab up --rtt 99s', args: ['lab', 'up', 'h2x', '--rtt', '99s'], match: /rtt/ });
add({ name: 'lab up --loss 101', args: ['lab', 'up', 'h2x', '--loss', '101'], match: /loss/ });
add({ name: 'lab status ../x', args: ['lab', 'status', '../x'], match: /lab/ });
add({ name: 'lab down ../x', args: ['lab', 'down', '../x'], match: /lab name/ });
add({ name: 'bench with neither --lab nor --target', args: ['bench', 'rr'], match: /--lab|--target/ });
add({ name: 'bench --lab ../x', args: ['bench', 'rr', '--lab', '../x'], match: /lab name/ });
add({ name: 'bench --target outside loopback and the lab range', args: ['bench', 'rr', '--target', '8.8.8.8'], match: /refusing|target|198\.18/ });
add({ name: 'bench kind bogus', args: ['bench', 'bogus', '--target', '127.0.0.1'], match: /benchmark/ });
add({ name: 'experiment run of an unknown experiment', args: ['experiment', 'run', 'nt-no-such'], match: /unknown experiment/ });
add({ name: 'experiment run --reps many', args: ['experiment', 'run', 'bdp-buffers', '--reps', 'many'], match: /--reps/ });
add({ name: 'experiment run --duration 0s', args: ['experiment', 'run', 'bdp-buffers', '--duration', '0s'], match: /duration/ });
add({ name: 'an unknown command', args: ['nt-no-such-command'], match: /unknown command/ });
add({ name: 'an unknown option', args: ['show', '--nt-no-such-option'], match: /unknown option/ });
add({ name: 'an option without its value', args: ['show', '--snapshot'], match: /argument missing|--json: cannot read/ });
add({ name: 'rules explain ID --json gives JSON even for an unknown rule', args: ['rules', 'explain', 'nt.nope', '--json'], match: /unknown rule/, noJson: true });
add({ name: 'apply two inputs at once', args: ['apply', '{PLAN}', '--set', 'net.ipv4.tcp_sack=1', '--netns', '{NS}', '--yes'], ns: true, match: /exactly one/ });

// ---- issue 15: the plan-change kinds (hostile15) ---------------------------------------------------
add({ name: 'plan --nic of a device the Snapshot does not have', args: ['plan', '--workload', 'throughput', '--snapshot', '{SNAP}', '--nic', 'nosuch'], match: /no device nosuch.*the Snapshot has eth0/ });
add({ name: 'plan --nic with a near-miss device name says did you mean', args: ['plan', '--workload', 'latency', '--snapshot', '{SNAP}', '--nic', 'eth0,eth1'], match: /no device eth1 \(did you mean eth0\? the Snapshot has/ });

for (const [v, re] of [
  ['route:100:198.18.5.7/24=dev lo', /host bits set below \/24; did you mean 198\.18\.5\.0\/24\?.*Invalid prefix/],
  ['route6:100:2001:db8:5::7/64=dev lo', /host bits set below \/64; did you mean 2001:db8:5::\/64\?/],
  ['rule:1000=from 198.18.5.7/24 lookup 100', /from 198\.18\.5\.7\/24: host bits set below \/24; did you mean 198\.18\.5\.0\/24\?/],
  ['rule:1000=from all to 198.18.5.7/16 lookup 100', /to 198\.18\.5\.7\/16: host bits set below \/16; did you mean 198\.18\.0\.0\/16\?/],
  ['rule6:1000=from 2001:db8:5::7/64 lookup 100', /did you mean 2001:db8:5::\/64\?/],
] as const)
  set(v, { match: re });
add({ name: 'plan --iface whose address is its subnet\'s network address', args: ['plan', '--workload', 'multihomed', '--snapshot', '{SNAP}', '--iface', 'eth0=192.0.2.0/24,gw=192.0.2.1'], match: /192\.0\.2\.0 is the network address of 192\.0\.2\.0\/24/ });
add({ name: 'plan --iface whose gateway is its subnet\'s broadcast address', args: ['plan', '--workload', 'multihomed', '--snapshot', '{SNAP}', '--iface', 'eth0=192.0.2.2/24,gw=192.0.2.255'], match: /gw 192\.0\.2\.255 is the broadcast address/ });

// ---- plan-change kinds beyond sysctl: what nft itself refuses is exit 2 before the lock (nft -c) --
for (const [kind, what] of [
  ['syntax', 'a rule nft cannot parse'],
  ['flush', 'a command inside a chain'],
  ['hook', 'an inet chain on the ingress hook without a device'],
] as const)
  add({ name: `apply an nft plan with ${what}`, args: ['apply', `{NFT:${kind}}`, '--netns', '{NS}', '--yes'], ns: true, match: /nft refuses the table: line \d+: / });

set('mptcp:endpoint=198.18.5.77,flags=subflow', { match: /mptcp endpoint 198\.18\.5\.77: no interface in \S+ has this address .*never creates a subflow.*--force/ });
set('mptcp:endpoint=2001:db8:5::77,flags=signal', { match: /mptcp endpoint 2001:db8:5::77: no interface in \S+ has this address \(IPv6 addresses here/ });

export const HOSTILE_CASES: readonly HostileCase[] = cases;
