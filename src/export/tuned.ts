// tuned: a profile directory (NAME/tuned.conf) with [main] summary/include, [sysctl], one [net]
// unit per device (features, ring, channels, coalesce, txqueuelen, mtu, as tuned's net plugin
// names them) and [sysfs] for RPS/XPS and the other per-device attributes. tuned reads it with
// Python's ConfigParser (delimiter '=', inline comments '#') and expands ${…}: values and paths
// carrying '#', '$' or a leading '>'/'<' would change meaning there, so they are refused.
import { isNicGroup } from '../apply/kind-nic.js';
import { routingNotes } from './routing.js';
import { parseSysfsPath } from '../apply/sysfs-path.js';
import { usageError } from '../sys/errors.js';
import { changeId } from './source.js';
import { generatedBy, mptcpNotExpressed, nftNotExpressed, nicChanges, routingChanges, oneLine, scopeOf, sysctlChanges } from './describe.js';
import type { ExportChange, ExportDoc, Rendered, RenderOptions } from './types.js';

type NicChange = Extract<ExportChange, { kind: 'ethtool' | 'sysfs' }>;

/** tuned's [net] option for each ethtool group (plugin_net.py: features, ring, channels, coalesce). */
const NET_OPTION = { features: 'features', rings: 'ring', channels: 'channels', coalesce: 'coalesce' } as const;
/** What tuned 2.20's net plugin accepts in ring/channels/coalesce (its _get_config_options_*);
 *  features take any ethtool -K name. */
const NET_SETTINGS: Readonly<Record<'ring' | 'channels' | 'coalesce', ReadonlySet<string>>> = {
  ring: new Set(['rx', 'rx-mini', 'rx-jumbo', 'tx']),
  channels: new Set(['rx', 'tx', 'other', 'combined']),
  coalesce: new Set([
    'adaptive-rx', 'adaptive-tx', 'rx-usecs', 'rx-frames', 'rx-usecs-irq', 'rx-frames-irq', 'tx-usecs', 'tx-frames', 'tx-usecs-irq', 'tx-frames-irq',
    'stats-block-usecs', 'pkt-rate-low', 'rx-usecs-low', 'rx-frames-low', 'tx-usecs-low', 'tx-frames-low', 'pkt-rate-high', 'rx-usecs-high',
    'rx-frames-high', 'tx-usecs-high', 'tx-frames-high', 'sample-interval',
  ]),
};
/** Per-device sysfs attributes tuned's net plugin sets itself. */
const NET_ATTRS: Readonly<Record<string, string>> = { tx_queue_len: 'txqueuelen', mtu: 'mtu' };

const UNSAFE = /[#$\n\r]|^[<>]/;

function checkTunedText(what: string, text: string): void {
  if (UNSAFE.test(text)) throw usageError(`${what}: ${JSON.stringify(text)} cannot be written to a tuned profile ('#' starts a comment, '$' a variable, a leading '<' or '>' a condition)`);
}

/** One [net] unit per device, in the order the devices first appear. */
function netUnits(nics: readonly NicChange[], notes: string[]): { sections: string[]; sysfs: string[] } {
  const devices = new Map<string, { options: Map<string, string[]>; why: string[] }>();
  const sysfs: string[] = [];
  const unit = (dev: string): { options: Map<string, string[]>; why: string[] } => {
    let u = devices.get(dev);
    if (!u) devices.set(dev, (u = { options: new Map(), why: [] }));
    return u;
  };
  for (const c of nics) {
    checkTunedText(changeId(c), c.to);
    if (c.kind === 'ethtool') {
      const group = c.group;
      if (isNicGroup(group)) {
        notes.push(`${changeId(c)} = ${c.to}: tuned's net plugin (features, ring, coalesce, channels, pause) has no RSS flow-hash or indirection option; not in the profile (export --format systemd carries it in the NIC unit)`);
        continue;
      }
      const opt = NET_OPTION[group];
      if (opt !== 'features' && !NET_SETTINGS[opt].has(c.setting)) {
        notes.push(`${changeId(c)} = ${c.to}: tuned's net plugin has no ${opt} setting ${c.setting}; not in the profile`);
        continue;
      }
      const u = unit(c.device);
      u.options.set(opt, [...(u.options.get(opt) ?? []), `${c.setting} ${c.to}`]);
      u.why.push(`${c.group} ${c.setting}: ${oneLine(c.reason)} (${oneLine(c.source)})`);
      continue;
    }
    const attr = parseSysfsPath(c.path);
    if (typeof attr === 'string') throw usageError(attr);
    const netOpt = NET_ATTRS[attr.attr];
    if (netOpt) {
      const u = unit(attr.device);
      u.options.set(netOpt, [c.to]);
      u.why.push(`${netOpt}: ${oneLine(c.reason)} (${oneLine(c.source)})`);
    } else sysfs.push(`# ${oneLine(c.reason)} (${oneLine(c.source)})`, `${c.path}=${c.to}`);
  }
  const sections: string[] = [];
  for (const [dev, u] of devices) {
    checkTunedText(`device ${dev}`, dev);
    sections.push(`[net_${dev.replace(/[^A-Za-z0-9_]/g, '_')}]`, 'type=net', `devices=${dev}`, ...u.why.map((w) => `# ${w}`));
    for (const [opt, parts] of u.options) sections.push(`${opt}=${parts.join(' ')}`);
    sections.push('');
  }
  return { sections, sysfs };
}

export function renderTuned(doc: ExportDoc, opts: RenderOptions): Rendered {
  const notes: string[] = [];
  const include = opts.include;
  if (include !== null && !/^-?[A-Za-z0-9_.-]+$/.test(include)) throw usageError(`--include ${include}: a tuned profile name (letters, digits, "_", ".", "-")`);
  const summary = oneLine(`nettune: ${doc.kind === 'plan' ? `plan ${doc.label}` : doc.label}${doc.workload ? ` for workload ${doc.workload}` : ''}${doc.host ? ` on ${doc.host.hostname}` : ''}`).replace(/[#$]/g, '_');
  const lines = [
    `# ${generatedBy(doc).replace(/\n/g, ' ')}`,
    `# Install: cp -r ${opts.name} /etc/tuned/ && tuned-adm profile ${opts.name}`,
    '',
    '[main]',
    `summary=${summary}`,
    ...(include ? [`include=${include}`] : ['# include=throughput-performance   (a profile to build on: its values apply first, these win; export --include NAME)']),
    '',
    '[sysctl]',
  ];
  for (const c of sysctlChanges(doc)) {
    checkTunedText(c.key, c.to);
    lines.push(`# ${oneLine(c.reason)} (${oneLine(c.source)}; scope ${scopeOf(c.key)})`, `${c.key}=${c.to}`);
  }
  lines.push('');
  const { sections, sysfs } = netUnits(nicChanges(doc), notes);
  lines.push(...sections);
  if (sysfs.length) lines.push('[sysfs]', ...sysfs, '');
  notes.push(...mptcpNotExpressed(doc, "tuned (it has no MPTCP plugin)"));
  notes.push(...routingNotes(routingChanges(doc), 'tuned', 'tuned has no routing plugin; use --format shell, systemd or ansible, or apply --persist'));
  if (doc.host?.netns) notes.push(`the source was made in network namespace ${doc.host.netns}; tuned applies profiles in the initial namespace only`);
  notes.push(...nftNotExpressed(doc, 'tuned (no nftables plugin)'));
  notes.push('tuned writes these at profile activation and restores the previous values when the profile is switched off; it does not re-check them later (dynamic tuning aside)');
  return { files: [{ path: `${opts.name}/tuned.conf`, content: lines.join('\n') }], notes };
}
