// systemd: the NIC unit nettune's apply stage persists (the same renderer: src/apply/persist.ts),
// holding every NIC setting, and one systemd .link file per device for the settings udev's
// net_setup_link can apply itself when the device appears (offloads, rings, channels,
// coalescing, queue length, MTU: systemd.link(5) of systemd 252, Debian 12). Either carries the
// settings at boot; what a .link file cannot say stays in the unit only. MPTCP endpoints and
// limits, routes and policy rules, and nft tables are the units (and the nft batch file) apply
// --persist writes, from the same renderers.
import { routingEntry } from './routing.js';
import { renderRouteUnit, ROUTE_UNIT_NAME } from '../apply/persist-routes.js';
import { NFT_UNIT_NAME, nftBootFile, nftExecLine, renderNftFile, renderNftUnit } from '../apply/kind-nft.js';
import { ROUTE_ABSENT, routingLabel, routingTarget } from '../plan/multihomed-kinds.js';
import { nicLine, renderNicUnit, NIC_UNIT_NAME } from '../apply/persist.js';
import { isNicGroup } from '../apply/kind-nic.js';
import { parseSysfsPath } from '../apply/sysfs-path.js';
import { changeId } from './source.js';
import { exportHeader, generatedBy, mptcpChanges, nftChanges, nicChanges, oneLine, routingChanges } from './describe.js';
import type { ExportChange, ExportDoc, Rendered, RenderOptions } from './types.js';
import { MPTCP_UNIT_NAME, mptcpLine, renderMptcpUnit } from '../apply/kind-mptcp.js';
import { toTarget } from '../apply/validate.js';
import { ENDPOINT_ABSENT, type MptcpTarget } from '../plan/mptcp-change.js';

type NicChange = Extract<ExportChange, { kind: 'ethtool' | 'sysfs' }>;

/** ethtool -K names → systemd.link [Link] offload settings (boolean). */
const FEATURES: Readonly<Record<string, string>> = {
  rx: 'ReceiveChecksumOffload',
  tx: 'TransmitChecksumOffload',
  tso: 'TCPSegmentationOffload',
  gso: 'GenericSegmentationOffload',
  gro: 'GenericReceiveOffload',
  'rx-gro-hw': 'GenericReceiveOffloadHardware',
  lro: 'LargeReceiveOffload',
  rxvlan: 'ReceiveVLANCTAGHardwareAcceleration',
  txvlan: 'TransmitVLANCTAGHardwareAcceleration',
  'rx-vlan-filter': 'ReceiveVLANCTAGFilter',
  'tx-vlan-stag-hw-insert': 'TransmitVLANSTAGHardwareAcceleration',
  ntuple: 'NTupleFilter',
};
const RINGS: Readonly<Record<string, string>> = { rx: 'RxBufferSize', 'rx-mini': 'RxMiniBufferSize', 'rx-jumbo': 'RxJumboBufferSize', tx: 'TxBufferSize' };
const CHANNELS: Readonly<Record<string, string>> = { rx: 'RxChannels', tx: 'TxChannels', other: 'OtherChannels', combined: 'CombinedChannels' };
/** ethtool -C names → [Link] coalescing settings; `us`: a time in µs (written "50us"), `s`: seconds, `bool`. */
const COALESCE: Readonly<Record<string, { name: string; unit: 'us' | 's' | 'n' | 'bool' }>> = {
  'adaptive-rx': { name: 'UseAdaptiveRxCoalesce', unit: 'bool' },
  'adaptive-tx': { name: 'UseAdaptiveTxCoalesce', unit: 'bool' },
  'rx-usecs': { name: 'RxCoalesceSec', unit: 'us' },
  'rx-usecs-irq': { name: 'RxCoalesceIrqSec', unit: 'us' },
  'rx-usecs-low': { name: 'RxCoalesceLowSec', unit: 'us' },
  'rx-usecs-high': { name: 'RxCoalesceHighSec', unit: 'us' },
  'tx-usecs': { name: 'TxCoalesceSec', unit: 'us' },
  'tx-usecs-irq': { name: 'TxCoalesceIrqSec', unit: 'us' },
  'tx-usecs-low': { name: 'TxCoalesceLowSec', unit: 'us' },
  'tx-usecs-high': { name: 'TxCoalesceHighSec', unit: 'us' },
  'rx-frames': { name: 'RxMaxCoalescedFrames', unit: 'n' },
  'rx-frames-irq': { name: 'RxMaxCoalescedIrqFrames', unit: 'n' },
  'rx-frames-low': { name: 'RxMaxCoalescedLowFrames', unit: 'n' },
  'rx-frames-high': { name: 'RxMaxCoalescedHighFrames', unit: 'n' },
  'tx-frames': { name: 'TxMaxCoalescedFrames', unit: 'n' },
  'tx-frames-irq': { name: 'TxMaxCoalescedIrqFrames', unit: 'n' },
  'tx-frames-low': { name: 'TxMaxCoalescedLowFrames', unit: 'n' },
  'tx-frames-high': { name: 'TxMaxCoalescedHighFrames', unit: 'n' },
  'pkt-rate-low': { name: 'CoalescePacketRateLow', unit: 'n' },
  'pkt-rate-high': { name: 'CoalescePacketRateHigh', unit: 'n' },
  'sample-interval': { name: 'CoalescePacketRateSampleIntervalSec', unit: 's' },
  'stats-block-usecs': { name: 'StatisticsBlockCoalesceSec', unit: 'us' },
};
const ATTRS: Readonly<Record<string, string>> = { tx_queue_len: 'TransmitQueueLength', mtu: 'MTUBytes' };

const bool = (v: string): string | null => (v === 'on' || v === '1' ? 'yes' : v === 'off' || v === '0' ? 'no' : null);

/** The [Link] setting for a change, or null when systemd.link has none. */
function linkSetting(c: NicChange): { device: string; name: string; value: string } | null {
  if (c.kind === 'sysfs') {
    const a = parseSysfsPath(c.path);
    const name = typeof a === 'string' ? undefined : ATTRS[a.attr];
    return name && typeof a !== 'string' && /^\d+$/.test(c.to) ? { device: a.device, name, value: c.to } : null;
  }
  // RSS flow hashing (-N) and the indirection table (-X): systemd.link(5) of systemd 252 has no
  // setting for either (only queue counts, rings, offloads, coalescing): the unit carries them.
  if (isNicGroup(c.group)) return null;
  if (c.group === 'features') {
    const name = FEATURES[c.setting];
    const v = bool(c.to);
    return name && v ? { device: c.device, name, value: v } : null;
  }
  if (c.group === 'rings' || c.group === 'channels') {
    const name = (c.group === 'rings' ? RINGS : CHANNELS)[c.setting];
    return name && /^\d+$/.test(c.to) ? { device: c.device, name, value: c.to } : null;
  }
  const co = COALESCE[c.setting];
  if (!co) return null;
  const v = co.unit === 'bool' ? bool(c.to) : /^\d+$/.test(c.to) ? `${c.to}${co.unit === 'n' ? '' : co.unit}` : null;
  return v ? { device: c.device, name: co.name, value: v } : null;
}

export function renderSystemd(doc: ExportDoc, opts: RenderOptions): Rendered {
  const notes: string[] = [];
  const nics = nicChanges(doc);
  const unitName = opts.name === 'nettune' ? NIC_UNIT_NAME : `${opts.name}-nic.service`;
  const lines = nics.map((c) =>
    nicLine(c.kind === 'ethtool' ? { kind: 'ethtool', device: c.device, group: c.group, setting: c.setting } : { kind: 'sysfs', path: c.path }, c.to, doc.host?.netns ?? null, `${c.reason} (${c.source})`),
  );
  const unit = exportHeader(doc, renderNicUnit([], lines, doc.transaction?.id ?? 0, doc.created_at));
  // a unit without ExecStart= is refused by systemd ("Service has no ExecStart=… Refusing"): none without NIC settings
  const files: { path: string; content: string }[] = nics.length ? [{ path: unitName, content: unit }] : [];
  const byDevice = new Map<string, { settings: string[]; why: string[] }>();
  for (const c of nics) {
    const s = linkSetting(c);
    if (!s) {
      notes.push(`${changeId(c)} = ${c.to}: systemd.link has no setting for it; only ${unitName} carries it`);
      continue;
    }
    const d = byDevice.get(s.device) ?? { settings: [], why: [] };
    d.settings.push(`${s.name}=${s.value}`);
    d.why.push(`${s.name}: ${oneLine(c.reason)} (${oneLine(c.source)})`);
    byDevice.set(s.device, d);
  }
  for (const [device, d] of byDevice) {
    files.push({
      path: `10-${opts.name}-${device}.link`,
      content: [
        `# ${generatedBy(doc)}`,
        `# udev applies this when ${device} appears (install in /etc/systemd/network/; udevadm trigger or a reboot applies it).`,
        '# The first .link file that matches a device is the only one used: this one replaces 99-default.link for it,',
        '# so its naming and MAC policy are repeated below.',
        ...d.why.map((w) => `# ${w}`),
        '[Match]',
        `OriginalName=${device}`,
        '',
        '[Link]',
        'NamePolicy=keep kernel database onboard slot path',
        'AlternativeNamesPolicy=database onboard slot path',
        'MACAddressPolicy=persistent',
        ...d.settings,
        '',
      ].join('\n'),
    });
  }
  if (doc.host?.netns) notes.push(`the source was made in network namespace ${doc.host.netns}: the unit runs each write with ip netns exec ${doc.host.netns}; .link files apply where udev sees the device (the initial namespace)`);
  const mptcp = mptcpChanges(doc).filter((c) => {
    if (c.to !== ENDPOINT_ABSENT) return true;
    notes.push(`mptcp endpoint ${c.address ?? ''} = absent: a boot unit holds what is to exist, not removals; remove it with --format shell or ansible, or nettune apply`);
    return false;
  });
  if (mptcp.length) {
    const name = opts.name === 'nettune' ? MPTCP_UNIT_NAME : `${opts.name}-mptcp.service`;
    const ml = mptcp.map((c) => mptcpLine(toTarget(c) as MptcpTarget, c.to, doc.host?.netns ?? null, `${c.reason} (${c.source})`));
    const content = exportHeader(doc, renderMptcpUnit([], ml, doc.transaction?.id ?? 0, doc.created_at));
    files.push({ path: name, content });
    notes.push(`MPTCP limits and endpoints are in ${name} (systemctl enable ${name}); systemd-networkd has no MPTCP endpoint setting in systemd 252`);
  }
  if (!nics.length) notes.push(`no NIC settings in the source: no ${unitName} (sysctls belong to --format sysctl.d)`);
  if (byDevice.size) notes.push(`use either ${unitName} (systemctl enable ${unitName}) or the .link files for what they carry, not both`);
  files.push(...routingFiles(doc, opts, notes), ...nftFiles(doc, opts, notes));
  return { files, notes };
}

/** Routes and rules: the unit apply --persist writes for interfaces no networkd or ifupdown
 *  configuration manages (src/apply/persist-routes.ts renderRouteUnit), which works on any host. */
function routingFiles(doc: ExportDoc, opts: RenderOptions, notes: string[]): { path: string; content: string }[] {
  const changes = routingChanges(doc);
  const entries = changes.filter((c) => c.to !== ROUTE_ABSENT).map((c) => routingEntry(c, doc.host?.netns ?? null));
  for (const c of changes)
    if (c.to === ROUTE_ABSENT) notes.push(`${routingLabel(routingTarget(c))} = absent: a boot unit holds what is to exist, not removals; remove it with --format shell or nettune apply`);
  if (!entries.length) return [];
  const name = opts.name === 'nettune' ? ROUTE_UNIT_NAME : `${opts.name}-route.service`;
  notes.push(
    `routes and policy rules are in ${name} (systemctl enable ${name}; ExecStop removes them); where systemd-networkd or ifupdown manages the interface, nettune apply --persist writes a .network drop-in or if-up.d hook for it instead (the host's own file names)`,
  );
  return [{ path: name, content: exportHeader(doc, renderRouteUnit(entries, { tx: doc.transaction?.id ?? 0, at: doc.created_at })) }];
}

/** nft tables: the batch file apply --persist writes under /etc/nftables.d and the unit that loads
 *  it after nftables.service (whose flush ruleset would remove it). */
function nftFiles(doc: ExportDoc, opts: RenderOptions, notes: string[]): { path: string; content: string }[] {
  const files: { path: string; content: string }[] = [];
  const exec: string[] = [];
  for (const c of nftChanges(doc)) {
    const t = { kind: 'nft' as const, family: c.family, table: c.table };
    if (c.to === '') {
      notes.push(`nft table ${c.family} ${c.table} = (deleted): a boot unit holds what is to exist, not removals; delete it with --format shell or nettune apply`);
      continue;
    }
    // the path apply --persist uses (a namespace's under nftables.d/netns/NS/), so ExecStart finds it
    files.push({ path: nftBootFile(t, doc.host?.netns ?? null), content: exportHeader(doc, renderNftFile(t, c.to, doc.transaction?.id ?? 0, doc.created_at, doc.host?.netns ?? null)) });
    exec.push(`# ${oneLine(`${c.reason} (${c.source})`)}`, nftExecLine(t, doc.host?.netns ?? null));
  }
  if (!exec.length) return files;
  const name = opts.name === 'nettune' ? NFT_UNIT_NAME : `${opts.name}-nft.service`;
  files.push({ path: name, content: exportHeader(doc, renderNftUnit(exec, doc.transaction?.id ?? 0, doc.created_at)) });
  notes.push(`nft tables: install the nftables.d directory as /etc/nftables.d/${doc.host?.netns ? ` (a namespace's tables are in its netns/${doc.host.netns}/)` : ''} (the unit loads them from there) and ${name} (systemctl enable ${name}); each file replaces its table in one nft transaction`);
  return files;
}
