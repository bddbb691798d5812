// `export alerts`: the generated rules file passes `promtool check rules`, and the committed
// `promtool test rules` file (series in, alerts out) passes against it. Metric names follow the
// Prometheus conventions and are the ones the exporter serves (checked live in
// test/integration/exporter-prometheus.test.ts).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alertExpr, alertName, buildAlerts, renderAlerts, rulesWithoutAlerts } from '../../src/export/alerts.js';
import { metricNamesIn, netstatMetric, refMetric, snakeCase } from '../../src/monitor/metrics-names.js';
import { ALERTS, NOT_ALERTED } from '../../src/rules/alerts.js';
import { findRule } from '../../src/rules/index.js';
import { FIXTURES } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nettune-unit-alerts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });

describe('export alerts', () => {
  const file = join(dir, 'nettune-alerts.yml');
  writeFileSync(file, renderAlerts().files[0]?.content ?? '');

  it('promtool check rules passes', () => {
    const r = promtool('check', 'rules', file);
    expect(r.stderr + r.stdout).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    expect(r.status).toBe(0);
  });

  it('the committed promtool unit tests pass (four alerts: series in, alert out, and hosts that must not alert)', () => {
    copyFileSync(join(FIXTURES, 'promtool', 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
    const r = promtool('test', 'rules', 'alerts.test.yml');
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('one alert per rule, with severity, for:, summary, fix and the explain command that exists', () => {
    const alerts = buildAlerts();
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
    for (const a of alerts) {
      const id = a.labels.nettune_rule ?? '';
      expect(findRule(id), id).toBeDefined();
      expect(a.labels.severity).toMatch(/^(info|warning|critical)$/);
      expect(a.for).toMatch(/^\d+m$/);
      expect(a.annotations.explain).toBe(`nettune rules explain ${id}`);
      expect(a.annotations.summary).toContain(findRule(id)?.title);
      expect(a.annotations.fix?.length).toBeGreaterThan(20);
      expect(alertName(id)).toBe(a.alert);
    }
  });

  it('every rule is either alerted or has a reason, and the data names only real rules', () => {
    for (const id of Object.keys(NOT_ALERTED)) expect(findRule(id), id).toBeDefined();
    const without = rulesWithoutAlerts();
    expect(without.length + ALERTS.length).toBeGreaterThan(40);
    expect(without.find((w) => w.rule === 'nic.ring-small-with-drops')?.reason).toMatch(/ring/);
    expect(without.every((w) => w.reason.length > 10)).toBe(true);
  });

  it('alert expressions use counters with _total and rate(), levels without', () => {
    for (const spec of ALERTS) {
      const expr = alertExpr(spec);
      for (const name of metricNamesIn(expr)) expect(name).toMatch(/^nettune_[a-z0-9_]+$/);
      for (const s of spec.signals) if (s.kind === 'rate') for (const ref of s.refs) expect(refMetric(ref)?.name).toMatch(/_total$/);
    }
  });
});

describe('metric names', () => {
  it('kernel counter names become snake_case without lone letters', () => {
    expect(snakeCase('ListenOverflows')).toBe('listen_overflows');
    expect(snakeCase('TCPSpuriousRTOs')).toBe('tcp_spurious_rtos');
    expect(snakeCase('ReasmOKs')).toBe('reasm_oks');
    expect(snakeCase('DelayedACKs')).toBe('delayed_acks');
    expect(snakeCase('MPJoinSynAckHMacFailure')).toBe('mp_join_syn_ack_hmac_failure');
    expect(snakeCase('InType3')).toBe('in_type3');
  });

  it('counters get _total, gauges and scaled units do not', () => {
    expect(netstatMetric('netstat', 'TcpExt', 'ListenOverflows')).toMatchObject({ name: 'nettune_netstat_tcpext_listen_overflows_total', kind: 'counter' });
    expect(netstatMetric('snmp', 'Tcp', 'CurrEstab')).toMatchObject({ name: 'nettune_netstat_tcp_curr_estab', kind: 'gauge' });
    expect(netstatMetric('snmp', 'Tcp', 'RtoMin')).toMatchObject({ name: 'nettune_netstat_tcp_rto_min_seconds', factor: 1e-3 });
    expect(netstatMetric('netstat', 'IpExt', 'InOctets').name).toBe('nettune_netstat_ipext_in_bytes_total');
    expect(refMetric('softnet.dropped')).toMatchObject({ name: 'nettune_softnet_dropped_total', by: ['cpu'] });
    expect(refMetric('link.*.statistics.rx_dropped')).toMatchObject({ name: 'nettune_network_receive_dropped_total', by: ['device'] });
    expect(refMetric('sockstat.TCP.mem')?.name).toBe('nettune_sockstat_tcp_mem_pages');
  });
});
