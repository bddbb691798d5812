// `nettune lint` as users run it: the built bundle, exit codes, --json validity.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, nettune } from '../helpers.js';

const SNAP = join(FIXTURES, 'snapshot-6.18.json');
const CORPUS = join(FIXTURES, 'sysctl.d');
const tmp = mkdtempSync(join(tmpdir(), 'nettune-lint-cli-'));


interface LintJson {
  source: { mode: string };
  files: { path: string; status: string; order: number | null; masked_by: string | null; same_as: string | null }[];
  assignments: { file: string; line: number; key: string; value: string; ignore_failure: boolean; glob: boolean; winner: boolean }[];
  messages: { file: string | null; line: number | null; severity: string; code: string; message: string; key: string | null; suggestions?: string[] }[];
  summary: { errors: number; warnings: number; infos: number; files_read: number; by_code: Record<string, number> };
}

const json = (stdout: string): LintJson => JSON.parse(stdout) as LintJson; // throws unless exactly one JSON document

/** A directory whose only file agrees with the fixture Snapshot: nothing to report. */
function cleanDir(): string {
  const dir = join(tmp, 'clean', 'sysctl.d');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '50-ok.conf'), '# matches the snapshot\nnet.core.somaxconn = 4096\nnet.ipv4.tcp_rmem = 4096 131072 33554432\nnet.ipv4.conf.*.rp_filter = 0\n');
  return dir;
}

describe('lint', () => {
  it('the corpus: exit 1, one JSON document with files, assignments, messages and a summary', () => {
    const r = nettune('lint', '--root', CORPUS, '--snapshot', SNAP, '--json');
    expect(r.code).toBe(1);
    const j = json(r.stdout);
    expect(j.source.mode).toBe('snapshot');
    expect(j.summary.files_read).toBe(19);
    expect(j.summary.errors).toBeGreaterThan(0);
    expect(j.files.find((f) => f.path.endsWith('usr/lib/sysctl.d/50-default.conf'))).toMatchObject({ status: 'masked', masked_by: join(CORPUS, 'etc/sysctl.d/50-default.conf') });
    expect(j.files.at(-4)).toMatchObject({ path: join(CORPUS, 'etc/sysctl.conf'), status: 'read', order: 18 });
    expect(j.assignments.find((a) => a.key === 'net.core.somaxconn' && a.winner)).toMatchObject({ value: '65535', line: 3 });
    const typo = j.messages.find((m) => m.key === 'net.ipv4.tcp_rmen');
    expect(typo).toMatchObject({ severity: 'error', code: 'unknown-key', line: 2 });
    expect(typo?.suggestions).toContain('net.ipv4.tcp_rmem');
    expect(j.messages.find((m) => m.code === 'removed-knob')).toMatchObject({ key: 'net.ipv4.tcp_tw_recycle', line: 3 });
  });

  it('human output: file:line: severity: message, grouped by file, and a summary line', () => {
    const r = nettune('lint', '--root', CORPUS, '--snapshot', SNAP);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${join(CORPUS, 'etc/sysctl.d/91-incident-fixes.conf')}:2: error: unknown key "net.ipv4.tcp_rmen"`);
    expect(r.stdout).toContain(`${join(CORPUS, 'etc/sysctl.d/70-old-blog-post.conf')}:14: warning: tcp.sack-off`);
    expect(r.stdout).toMatch(/Files in the order they are applied:/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^19 files read \(3 masked, 2 skipped\), \d+ assignments → \d+ keys: 10 errors, \d+ warnings, \d+ info$/);
  });

  it('no errors: exit 0; directories and files as PATH arguments', () => {
    const dir = cleanDir();
    const r = nettune('lint', dir, '--snapshot', SNAP, '--json');
    expect(r.code).toBe(0);
    expect(json(r.stdout).summary).toMatchObject({ errors: 0, warnings: 0, files_read: 1 });
    const extra = join(tmp, 'extra.conf');
    writeFileSync(extra, 'net.core.somaxconn = 1024\n');
    const j = json(nettune('lint', dir, extra, '--snapshot', SNAP, '--json').stdout);
    expect(j.files.map((f) => [f.path, f.order])).toEqual([
      [join(dir, '50-ok.conf'), 0],
      [extra, 1],
    ]);
    expect(j.messages.find((m) => m.code === 'overridden')?.message).toContain(`${extra}:1`);
    expect(nettune('lint', extra, '--snapshot', SNAP).code).toBe(0); // drift is a warning
  });

  it('a file with an error: exit 1', () => {
    const bad = join(tmp, 'bad.conf');
    writeFileSync(bad, 'net.ipv4.tcp_syncookies 1\n');
    const r = nettune('lint', bad, '--snapshot', SNAP);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bad}:1: error: not an assignment`);
  });

  it('bad usage is exit 2: a missing PATH (named), --netns with --snapshot, an unknown workload, --root with PATH', () => {
    const missing = join(tmp, 'nope.d');
    const r = nettune('lint', missing, '--snapshot', SNAP);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${missing}: no such file or directory`);
    const j = nettune('lint', missing, '--snapshot', SNAP, '--json');
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { exit_code: 2 } });
    expect(nettune('lint', '--snapshot', SNAP, '--netns', 'x').code).toBe(2);
    expect(nettune('lint', cleanDir(), '--snapshot', SNAP, '--workload', 'fastest').code).toBe(2);
    expect(nettune('lint', cleanDir(), '--root', CORPUS, '--snapshot', SNAP).code).toBe(2);
    expect(nettune('lint', '--root', missing, '--snapshot', SNAP).code).toBe(2);
  });

  it('runs live on this host with the default search path', () => {
    const r = nettune('lint', '--json');
    expect([0, 1]).toContain(r.code);
    const j = json(r.stdout);
    expect(j.source.mode).toBe('live');
    expect(r.code).toBe(j.summary.errors > 0 ? 1 : 0);
  });
});
