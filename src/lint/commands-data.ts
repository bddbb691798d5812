// What `lint --commands` knows about ethtool and ip command lines (data). ethtool 6.1, Debian 12:
// ethtool(8) and its --help; feature names are the kernel's netdev_features_strings
// (net/ethtool/common.c) as `ethtool -k` prints them, plus -K's short aliases; ip(8) objects from
// iproute2 6.1's ip.c command table.

export interface EthtoolMode {
  canonical: string;
  /** Takes no device (--version, --help, --monitor). */
  noDevice?: boolean;
}

const modes: [string[], string, boolean?][] = [
  [['-s', '--change'], '-s'],
  [['-a', '--show-pause'], '-a'],
  [['-A', '--pause'], '-A'],
  [['-c', '--show-coalesce'], '-c'],
  [['-C', '--coalesce'], '-C'],
  [['-g', '--show-ring'], '-g'],
  [['-G', '--set-ring'], '-G'],
  [['-k', '--show-features', '--show-offload'], '-k'],
  [['-K', '--features', '--offload'], '-K'],
  [['-i', '--driver'], '-i'],
  [['-d', '--register-dump'], '-d'],
  [['-e', '--eeprom-dump'], '-e'],
  [['-E', '--change-eeprom'], '-E'],
  [['-r', '--negotiate'], '-r'],
  [['-p', '--identify'], '-p'],
  [['-t', '--test'], '-t'],
  [['-S', '--statistics'], '-S'],
  [['--phy-statistics'], '--phy-statistics'],
  [['-n', '-u', '--show-nfc', '--show-ntuple'], '-n'],
  [['-N', '-U', '--config-nfc', '--config-ntuple'], '-N'],
  [['-T', '--show-time-stamping'], '-T'],
  [['-x', '--show-rxfh-indir', '--show-rxfh'], '-x'],
  [['-X', '--set-rxfh-indir', '--rxfh'], '-X'],
  [['-f', '--flash'], '-f'],
  [['-P', '--show-permaddr'], '-P'],
  [['-w', '--get-dump'], '-w'],
  [['-W', '--set-dump'], '-W'],
  [['-l', '--show-channels'], '-l'],
  [['-L', '--set-channels'], '-L'],
  [['--show-priv-flags'], '--show-priv-flags'],
  [['--set-priv-flags'], '--set-priv-flags'],
  [['-m', '--dump-module-eeprom', '--module-info'], '-m'],
  [['--show-eee'], '--show-eee'],
  [['--set-eee'], '--set-eee'],
  [['--set-phy-tunable'], '--set-phy-tunable'],
  [['--get-phy-tunable'], '--get-phy-tunable'],
  [['--get-tunable'], '--get-tunable'],
  [['--set-tunable'], '--set-tunable'],
  [['--reset'], '--reset'],
  [['--show-fec'], '--show-fec'],
  [['--set-fec'], '--set-fec'],
  [['-Q', '--per-queue'], '-Q'],
  [['--cable-test'], '--cable-test'],
  [['--cable-test-tdr'], '--cable-test-tdr'],
  [['--show-tunnels'], '--show-tunnels'],
  [['--show-module'], '--show-module'],
  [['--set-module'], '--set-module'],
  [['--show-pse'], '--show-pse'],
  [['--set-pse'], '--set-pse'],
  [['--show-rss'], '--show-rss'],
  [['-h', '--help'], '-h', true],
  [['--version'], '--version', true],
  [['--monitor'], '--monitor', true],
];

export const ETHTOOL_MODES: Readonly<Record<string, EthtoolMode>> = Object.fromEntries(
  modes.flatMap(([names, canonical, noDevice]) => names.map((n) => [n, { canonical, ...(noDevice ? { noDevice } : {}) }])),
);

/** Options that come before the mode (--debug takes a number). */
export const ETHTOOL_GLOBAL: ReadonlySet<string> = new Set(['--json', '-j', '--debug', '-I', '--include-statistics', '--all-groups', '-q', '--quiet']);

export type ParamKind = 'number' | 'bool' | 'split';

const n = (names: string[]): Record<string, ParamKind> => Object.fromEntries(names.map((x) => [x, 'number' as const]));

/** -G, -L, -C parameter names and what each takes (-K: FEATURE_NAMES_KNOWN, all on|off). */
export const ETHTOOL_PARAMS: Readonly<Record<string, Readonly<Record<string, ParamKind>>>> = {
  '-G': { ...n(['rx', 'rx-mini', 'rx-jumbo', 'tx', 'rx-buf-len', 'cqe-size', 'tx-push-buf-len']), 'tx-push': 'bool', 'rx-push': 'bool', 'tcp-data-split': 'split' },
  '-L': n(['rx', 'tx', 'other', 'combined']),
  '-C': {
    'adaptive-rx': 'bool',
    'adaptive-tx': 'bool',
    'cqe-mode-rx': 'bool',
    'cqe-mode-tx': 'bool',
    ...n([
      'sample-interval',
      'stats-block-usecs',
      'pkt-rate-low',
      'pkt-rate-high',
      'rx-usecs',
      'rx-frames',
      'rx-usecs-irq',
      'rx-frames-irq',
      'tx-usecs',
      'tx-frames',
      'tx-usecs-irq',
      'tx-frames-irq',
      'rx-usecs-low',
      'rx-frames-low',
      'tx-usecs-low',
      'tx-frames-low',
      'rx-usecs-high',
      'rx-frames-high',
      'tx-usecs-high',
      'tx-frames-high',
      'tx-aggr-max-bytes',
      'tx-aggr-max-frames',
      'tx-aggr-time-usecs',
    ]),
  },
  '-K': {},
};

/** ethtool -K names: the short aliases and the kernel's feature strings. */
export const FEATURE_NAMES_KNOWN: ReadonlySet<string> = new Set([
  // aliases (ethtool.c off_flag_def)
  'rx', 'tx', 'sg', 'tso', 'ufo', 'gso', 'gro', 'lro', 'rxvlan', 'txvlan', 'ntuple', 'rxhash',
  // netdev_features_strings
  'tx-scatter-gather', 'tx-checksum-ipv4', 'tx-checksum-ip-generic', 'tx-checksum-ipv6', 'highdma', 'tx-scatter-gather-fraglist',
  'tx-vlan-hw-insert', 'rx-vlan-hw-parse', 'rx-vlan-filter', 'vlan-challenged', 'tx-generic-segmentation', 'tx-lockless', 'netns-local',
  'rx-gro', 'rx-gro-hw', 'rx-lro', 'tx-tcp-segmentation', 'tx-gso-robust', 'tx-tcp-ecn-segmentation', 'tx-tcp-mangleid-segmentation',
  'tx-tcp6-segmentation', 'tx-tcp-accecn-segmentation', 'tx-fcoe-segmentation', 'tx-gre-segmentation', 'tx-gre-csum-segmentation', 'tx-ipxip4-segmentation',
  'tx-ipxip6-segmentation', 'tx-udp_tnl-segmentation', 'tx-udp_tnl-csum-segmentation', 'tx-gso-partial', 'tx-tunnel-remcsum-segmentation',
  'tx-sctp-segmentation', 'tx-esp-segmentation', 'tx-udp-segmentation', 'tx-gso-list', 'tx-checksum-fcoe-crc', 'tx-checksum-sctp',
  'fcoe-mtu', 'rx-ntuple-filter', 'rx-hashing', 'rx-checksum', 'tx-nocache-copy', 'loopback', 'rx-fcs', 'rx-all', 'tx-vlan-stag-hw-insert',
  'rx-vlan-stag-hw-parse', 'rx-vlan-stag-filter', 'l2-fwd-offload', 'hw-tc-offload', 'esp-hw-offload', 'esp-tx-csum-hw-offload',
  'rx-udp_tunnel-port-offload', 'tls-hw-tx-offload', 'tls-hw-rx-offload', 'rx-gro-list', 'macsec-hw-offload', 'rx-udp-gro-forwarding',
  'tls-hw-record', 'hsr-tag-ins-offload', 'hsr-tag-rm-offload', 'hsr-fwd-offload', 'hsr-dup-offload',
  // the names -k prints for groups, also accepted by -K
  'rx-checksumming', 'tx-checksumming', 'scatter-gather', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload',
  'large-receive-offload', 'rx-vlan-offload', 'tx-vlan-offload', 'ntuple-filters', 'receive-hashing', 'udp-fragmentation-offload',
]);

/** ip(8) objects (a unique prefix is accepted, as ip does). */
export const IP_OBJECTS: readonly string[] = [
  'address', 'addrlabel', 'amt', 'fou', 'help', 'ila', 'ioam', 'l2tp', 'link', 'macsec', 'maddress', 'monitor', 'mptcp', 'mroute', 'mrule',
  'neighbor', 'neighbour', 'netconf', 'netns', 'nexthop', 'ntable', 'ntbl', 'route', 'rule', 'sr', 'stats', 'tap', 'tcpmetrics', 'tcp_metrics',
  'token', 'tunnel', 'tuntap', 'vrf', 'xfrm',
];
