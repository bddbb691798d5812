// `nettune show`: one screen of the host's network tuning state.
import type { Command } from 'commander';
import { summarise, type ShowSummary, type TripleBytes } from '../show/summary.js';
import { getSnapshot, parseOptions, print, printJson, sourceOptionsSchema, withSource } from './common.js';
import { table } from './format.js';
import { formatBytes, formatRate, formatSeconds } from '../units/index.js';

const GLOBAL_ONLY = 'global (init namespace only)';
const onOff = (v: string | null): string => (v === null ? '?' : v === '0' ? 'off' : v === '1' ? 'on' : v);

export function renderShow(s: ShowSummary): string {
  const out: string[] = [];
  /** What to print for a value the Snapshot lacks: a global knob in a child namespace says so. */
  const missing = (key: string): string => (s.global_only.includes(key) ? GLOBAL_ONLY : '?');
  const triple = (t: TripleBytes | null, key: string): string => (t ? `${formatBytes(t.min)} / ${formatBytes(t.default)} / ${formatBytes(t.max)}` : missing(key));
  const bytesOf = (v: number | null, key: string): string => (v === null ? missing(key) : formatBytes(v));
  out.push(`${s.host.hostname} · kernel ${s.host.kernel} (${s.host.machine}) · netns ${s.host.netns} · ${s.host.taken_at}`);
  out.push(
    `${s.cpus} CPUs · memory ${formatBytes(s.memory.total_bytes)} (${formatBytes(s.memory.available_bytes)} available) · page ${formatBytes(s.memory.page_size)}`,
  );
  const t = s.tcp;
  out.push('', 'TCP');
  const ka = t.keepalive;
  out.push(
    indent(
      table([
        ['congestion control', `${t.congestion_control ?? '?'} (available: ${t.available_congestion_control.join(' ') || '?'})`],
        ['default qdisc', t.default_qdisc ?? missing('net.core.default_qdisc')],
        ['tcp_rmem min/def/max', `${triple(t.rmem, 'net.ipv4.tcp_rmem')}   (autotuning limit; ≈ ${t.rmem_max_rate_at_10ms_bps ? formatRate(t.rmem_max_rate_at_10ms_bps) : '?'} per stream at 10 ms RTT)`],
        ['tcp_wmem min/def/max', triple(t.wmem, 'net.ipv4.tcp_wmem')],
        ['core rmem/wmem_max', `${bytesOf(t.core_rmem_max, 'net.core.rmem_max')} / ${bytesOf(t.core_wmem_max, 'net.core.wmem_max')}   (caps SO_RCVBUF/SO_SNDBUF, not autotuning)`],
        ['tcp_mem low/pres/high', `${triple(t.tcp_mem_bytes, 'net.ipv4.tcp_mem')}${t.tcp_mem_high_pct_of_ram !== null ? `   (high = ${t.tcp_mem_high_pct_of_ram} % of RAM)` : ''}`],
        [
          'features',
          Object.entries(t.features)
            .map(([k, v]) => `${k} ${onOff(v)}`)
            .join(' · '),
        ],
        ['keepalive', ka ? `${ka.time_s} s + ${ka.intvl_s} s × ${ka.probes} = dead peer after ${formatSeconds(ka.dead_peer_s)}` : '?'],
      ]),
    ),
  );
  out.push('', 'Backlog and budget');
  const backlogKey = (k: string): string => (k.startsWith('tcp_') ? `net.ipv4.${k}` : `net.core.${k}`);
  out.push(indent(Object.entries(s.backlog).map(([k, v]) => `${k} ${v ?? missing(backlogKey(k))}`).join(' · ')));
  out.push('', 'Sockets and ports');
  const p = s.local_ports;
  out.push(
    indent(
      `TCP in use ${s.sockets.tcp_inuse ?? '?'}, orphan ${s.sockets.tcp_orphan ?? '?'}, TIME-WAIT ${s.sockets.tcp_tw ?? '?'} · UDP in use ${s.sockets.udp_inuse ?? '?'} · local ports ${p ? `${p.low}–${p.high} (${p.count})` : '?'}`,
    ),
  );
  out.push('', 'Conntrack');
  const ct = s.conntrack;
  out.push(indent(ct ? `${ct.count ?? '?'} of ${ct.max ?? '?'} entries (${ct.usage_pct ?? '?'} %), ${ct.buckets ?? '?'} hash buckets` : 'not loaded'));
  out.push('', 'Links');
  out.push(
    indent(
      table([
        ['name', 'state', 'kind/driver', 'mtu', 'speed', 'queues rx/tx', 'qdisc', 'offloads', 'dropped rx/tx'],
        ...s.links.map((l) => [
          l.name,
          l.state,
          l.kind ?? l.driver ?? '-',
          String(l.mtu ?? '?'),
          l.speed_mbps !== null ? `${l.speed_mbps}Mb/s` : '-',
          `${l.rx_queues}/${l.tx_queues}`,
          l.qdisc ?? '-',
          l.offloads
            ? Object.entries(l.offloads)
                .map(([k, v]) => `${k}${v ? '+' : '-'}`)
                .join(' ')
            : '-',
          `${l.rx_dropped ?? '?'}/${l.tx_dropped ?? '?'}`,
        ]),
      ]),
    ),
  );
  out.push('', 'Counters since boot');
  out.push(
    indent(
      Object.entries(s.counters)
        .map(([k, v]) => `${k.split('.').slice(1).join('.')} ${v ?? '-'}`)
        .join(' · '),
    ),
  );
  out.push('', "Changed from this kernel's defaults");
  out.push(
    indent(
      s.changed_from_default.length
        ? table([['key', 'value', 'default here'], ...s.changed_from_default.map((c) => [c.key, c.value, c.default])])
        : 'nothing: every catalogued knob has its kernel default (`nettune explain KEY` says how each is computed)',
    ),
  );
  if (s.errors > 0) out.push('', `${s.errors} probe errors: see \`nettune probe\` for which sections could not be read.`);
  return out.join('\n');
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

export function registerShow(program: Command): void {
  withSource(program.command('show').description('one-screen summary of the network tuning state')).action(async (raw: unknown) => {
    const opts = parseOptions(sourceOptionsSchema, raw);
    const summary = summarise(await getSnapshot(opts));
    if (opts.json) printJson(summary);
    else print(renderShow(summary));
  });
}
