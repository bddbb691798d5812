// Suggestions never exceed what the kernel accepts: the audit rule and the planner compute the
// buffer size once (bufferForBdp), and every value they propose passes the shared validator.
import { describe, expect, it } from 'vitest';
import { findEntry, validateValue } from '../../src/catalog/index.js';
import { buildPlan } from '../../src/plan/index.js';
import { evaluate } from '../../src/rules/engine.js';
import { allRules } from '../../src/rules/index.js';
import { bufferForBdp, doubledBuffer, MAX_SOCKET_BUFFER } from '../../src/rules/buffers.js';
import { bdpBytes, parseDuration, parseRate } from '../../src/units/index.js';
import { snapshotFixture } from '../helpers.js';

const link = (rate: string, rtt: string) => {
  const rate_bps = parseRate(rate);
  const rtt_s = parseDuration(rtt, '--rtt');
  return { rate_bps, rtt_s, loss_pct: null, bdp_bytes: bdpBytes(rate_bps, rtt_s) };
};

describe('one buffer size for audit and plan', () => {
  it('caps at 1 GiB, below INT_MAX', () => {
    expect(bufferForBdp(12.5e6)).toEqual({ wanted: 2 ** 25, target: 2 ** 25, capped: false });
    expect(bufferForBdp(1e15)).toMatchObject({ target: MAX_SOCKET_BUFFER, capped: true });
    expect(MAX_SOCKET_BUFFER).toBeLessThan(2 ** 31 - 1);
    expect(doubledBuffer(2 ** 30)).toBe(2 ** 30);
    expect(doubledBuffer(3 * 2 ** 30)).toBe(3 * 2 ** 30); // never lowers
    expect(doubledBuffer(4096)).toBe(8192);
  });

  it('audit --link 999999tbit --rtt 10ms suggests what plan proposes, within the kernel limits', () => {
    const snap = snapshotFixture();
    const l = link('999999tbit', '10ms');
    const findings = evaluate(allRules, { snap, workload: 'throughput', link: l }).findings;
    const rmem = findings.find((f) => f.id === 'buffers.rmem-below-bdp');
    const suggested = rmem?.fix.changes.find((c) => c.kind === 'sysctl' && c.key === 'net.ipv4.tcp_rmem');
    expect(suggested?.to.split(' ')[2]).toBe(String(MAX_SOCKET_BUFFER));
    const plan = buildPlan(snap, { workload: 'throughput', link: l, conns: null, dead_peer_s: null });
    const planned = plan.changes.find((c) => c.kind === 'sysctl' && c.key === 'net.ipv4.tcp_rmem');
    expect(planned?.to).toBe(suggested?.to);
  });

  it('every change any finding suggests passes the validator, for links from 1 kbit to 1 Pbit', () => {
    const snap = snapshotFixture();
    const bad: string[] = [];
    for (const rate of ['1kbit', '10mbit', '10gbit', '400gbit', '999999tbit']) {
      for (const rtt of ['50us', '10ms', '2s']) {
        for (const f of evaluate(allRules, { snap, workload: 'throughput', link: link(rate, rtt) }).findings) {
          for (const c of f.fix.changes) {
            if (c.kind !== 'sysctl') continue;
            const e = findEntry(c.key);
            const v = e ? validateValue(e, c.to, { sysctl: snap.sysctl }) : null;
            if (v && !v.ok) bad.push(`${rate} ${rtt} ${f.id}: ${c.key}=${c.to}: ${v.problem}`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });
});
