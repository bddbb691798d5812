// The sysfs attributes nettune writes, checked component by component: /sys/class/net/DEV/ATTR or
// /sys/class/net/DEV/queues/{rx,tx}-N/ATTR, DEV a valid interface name (src/sys/names.ts, which
// refuses "." and ".."), ATTR one of a fixed list. No "..", no empty or extra components. Where the
// path leads once symlinks are followed is checked by `sysfsResolvedProblem` at write time.
import { IFNAME } from '../sys/names.js';

/** Per-device attributes (Documentation/ABI/testing/sysfs-class-net). */
const DEVICE_ATTRS = new Set(['tx_queue_len', 'mtu', 'gro_flush_timeout', 'napi_defer_hard_irqs']);
/** Per-queue attributes (Documentation/ABI/testing/sysfs-class-net-queues, Documentation/networking/scaling.rst). */
const QUEUE_ATTRS: Readonly<Record<'rx' | 'tx', ReadonlySet<string>>> = {
  rx: new Set(['rps_cpus', 'rps_flow_cnt']),
  tx: new Set(['xps_cpus', 'xps_rxqs']),
};

export interface SysfsAttr {
  device: string;
  /** The part below the device directory: "mtu" or "queues/rx-0/rps_cpus". */
  attr: string;
}

/** The device and attribute of an allowed path, or why it is not one. */
export function parseSysfsPath(path: string): SysfsAttr | string {
  const parts = path.split('/');
  const [empty, sys, cls, net, device, ...rest] = parts;
  if (empty !== '' || sys !== 'sys' || cls !== 'class' || net !== 'net' || device === undefined)
    return `${JSON.stringify(path)}: nettune only writes per-device queue and NAPI attributes under /sys/class/net/DEVICE/`;
  if (!IFNAME.test(device)) return `${JSON.stringify(path)}: ${JSON.stringify(device)} is not a valid interface name`;
  if (rest.length === 1 && DEVICE_ATTRS.has(rest[0] ?? '')) return { device, attr: rest[0] ?? '' };
  if (rest.length === 3 && rest[0] === 'queues') {
    const q = /^(rx|tx)-(0|[1-9]\d{0,4})$/.exec(rest[1] ?? '');
    if (q && QUEUE_ATTRS[q[1] as 'rx' | 'tx'].has(rest[2] ?? '')) return { device, attr: rest.join('/') };
  }
  return `${JSON.stringify(path)}: not an attribute nettune writes (${[...DEVICE_ATTRS].join(', ')}, queues/rx-N/{rps_cpus,rps_flow_cnt}, queues/tx-N/{xps_cpus,xps_rxqs})`;
}

/** Checks where the path really leads (realpath): a network device's own directory under
 *  /sys/devices, the same attribute, nothing else. Returns the problem, or null. */
export function sysfsResolvedProblem(requested: SysfsAttr, resolved: string): string | null {
  const suffix = `/net/${requested.device}/${requested.attr}`;
  if (!resolved.startsWith('/sys/devices/') || !resolved.endsWith(suffix) || resolved.split('/').includes('..'))
    return `/sys/class/net/${requested.device}/${requested.attr} leads to ${resolved}, not to the device's own attribute`;
  return null;
}
