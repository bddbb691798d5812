// `experiment list|run` input handling: everything wrong with the input is exit 2 before a lab
// is built (these never reach the lab, so they need no root).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, nettune } from '../helpers.js';

const run = (...args: string[]) => nettune('experiment', 'run', ...args, '--json');
const error = (stdout: string): { message: string; exit_code: number } => (JSON.parse(stdout) as { error: { message: string; exit_code: number } }).error;

describe('experiment list', () => {
  it('--json shows each experiment\'s defaults and the parameters it accepts', () => {
    const r = nettune('experiment', 'list', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { experiments: { name: string; defaults: Record<string, unknown>; parameters: { accepts: string[]; cannot: Record<string, string> } }[] };
    const bdp = doc.experiments.find((e) => e.name === 'bdp-buffers');
    expect(bdp?.defaults).toMatchObject({ rate_bps: 1e9, rtt_s: 0.1, topology: 'pair', reps: 4 });
    expect(bdp?.parameters.accepts).toEqual(expect.arrayContaining(['rate', 'rtt', 'jitter', 'loss', 'topology', 'lab', 'arm']));
    const off = doc.experiments.find((e) => e.name === 'offloads');
    expect(off?.parameters.accepts).toContain('rate');
    expect(off?.parameters.accepts).not.toContain('rtt');
    expect(off?.parameters.cannot.rtt).toMatch(/veth/);
  });
});

describe('experiment run: bad input is exit 2 before any lab', () => {
  for (const [why, args, text] of [
    ['a parameter it cannot honour', ['offloads', '--rtt', '10ms'], 'cannot take --rtt'],
    ['a topology it cannot run on', ['bdp-buffers', '--topology', 'multipath'], 'cannot take --topology multipath'],
    ['an unknown topology', ['bdp-buffers', '--topology', 'ring'], 'one of pair'],
    ['a bad rate', ['bdp-buffers', '--rate', 'fast'], '--rate'],
    ['a bad lab name', ['timestamps', '--lab', 'Bad_Name'], 'invalid lab name'],
    ['a value the catalog rejects (--set)', ['timestamps', '--set', 'net.ipv4.tcp_timestamps=9'], 'tcp_timestamps'],
    ['a value the catalog rejects (--arm set:)', ['timestamps', '--arm', 'x=set:net.ipv4.tcp_sack=7'], 'tcp_sack'],
    ['a missing plan', ['timestamps', '--b', '/nonexistent/plan.json'], 'cannot read'],
    ['a broken sysctl file', ['timestamps', '--arm', `x=${join(FIXTURES, 'arms', 'bad-line.conf')}`], 'bad-line.conf:3'],
    ['two arms with one name', ['timestamps', '--arm', 'x=current', '--arm', 'x=defaults'], 'two arms are named x'],
    ['--b and --set together', ['timestamps', '--b', 'current', '--set', 'net.ipv4.tcp_sack=0'], 'not both'],
    ['bad --reps', ['timestamps', '--reps', '0'], '--reps'],
    ['bad --min-effect', ['timestamps', '--min-effect', '120%'], '--min-effect'],
  ] as const) {
    it(why, () => {
      const r = run(...args);
      expect(r.code, r.stderr).toBe(2);
      expect(error(r.stdout).message).toContain(text);
    });
  }
});
