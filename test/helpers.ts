import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotSchema, type Snapshot } from '../src/snapshot/schema.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
export const REPO = join(import.meta.dirname, '..');
/** The built CLI, as users run it (NETTUNE_BUNDLE points the CLI tests at another build). */
export const BUNDLE = process.env.NETTUNE_BUNDLE ?? join(REPO, 'dist', 'nettune.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundle with `args`; never installs packages; `env` adds to the environment. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', env: { ...process.env, NETTUNE_NO_INSTALL: '1', ...env }, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Lab names unique to one test file (PREFIX, pid and a random pair, then a one-letter suffix),
 *  remembered in `labs` so the file's afterAll can remove them. */
export function labNames(prefix: string): { tag: string; labs: string[]; labName: (suffix: string) => string } {
  const tag = `${prefix}${(process.pid % 1000).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
  const labs: string[] = [];
  return {
    tag,
    labs,
    labName: (suffix) => {
      labs.push(`${tag}${suffix}`);
      return `${tag}${suffix}`;
    },
  };
}

/** Network namespaces (ip netns) whose name starts with `prefix`. */
export function netnsWith(prefix: string): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** runCli for the common case: `nettune('show', '--json')`. */
export const nettune = (...args: string[]): CliResult => runCli(args);
export const fixture = (...parts: string[]): string => readFileSync(join(FIXTURES, ...parts), 'utf8');

/** The Snapshot captured on the build machine (kernel 6.18), parsed afresh for each caller so
 *  tests can mutate it. */
export const snapshotFixture = (): Snapshot => snapshotSchema.parse(JSON.parse(fixture('snapshot-6.18.json')));

import { evaluate, type AuditResult } from '../src/rules/engine.js';
import type { Rule } from '../src/rules/types.js';
import type { LinkSpec, Workload } from '../src/plan/types.js';
import { bdpBytes } from '../src/units/index.js';

export interface AuditCase {
  /** Change the (fresh) fixture Snapshot before auditing. */
  mutate?: (s: Snapshot) => void;
  /** Build an earlier sample from the fixture (taken `interval_s` before) for rate-based rules. */
  prev?: (s: Snapshot) => void;
  interval_s?: number;
  workload?: Workload;
  link?: { rate_bps: number; rtt_s: number; loss_pct?: number };
}

/** Runs `rules` on the real 6.18 Snapshot with mutations: the basis of every rule's
 *  fires / does-not-fire test. */
export function auditCase(rules: readonly Rule[], c: AuditCase = {}): AuditResult {
  const snap = snapshotFixture();
  c.mutate?.(snap);
  let prev: Snapshot | null = null;
  if (c.prev) {
    prev = snapshotFixture();
    c.mutate?.(prev);
    c.prev(prev);
    prev.taken_at = new Date(Date.parse(snap.taken_at) - (c.interval_s ?? 10) * 1000).toISOString();
  }
  const link: LinkSpec | null = c.link
    ? { rate_bps: c.link.rate_bps, rtt_s: c.link.rtt_s, bdp_bytes: bdpBytes(c.link.rate_bps, c.link.rtt_s), loss_pct: c.link.loss_pct ?? null }
    : null;
  return evaluate(rules, { snap, prev, workload: c.workload ?? 'balanced', link });
}

/** Ids of the findings an audit case produced (for `toContain` / `not.toContain`). */
export const firedIds = (r: AuditResult): string[] => r.findings.map((f) => f.id);
