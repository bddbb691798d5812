// The journal: every transaction, its steps (written before each write, so a crash leaves a
// record of what to undo), the before/after Snapshots (gzip) and the result. SQLite via
// better-sqlite3, loaded only by the commands that need it.
import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import type BetterSqlite3 from 'better-sqlite3';
import { z } from 'zod';
import { ETHTOOL_GROUPS } from '../plan/types.js';
import { environmentError } from '../sys/errors.js';
import { ensureStateDir, journalPath } from './state.js';
import { mptcpTargetSchema } from '../plan/mptcp-change.js';
import { routeTargetSchema, ruleTargetSchema } from '../plan/multihomed-kinds.js';

export const TX_STATUSES = [
  'pending',
  'applied',
  'awaiting_confirm',
  'confirmed',
  'failed_rolled_back',
  // a rollback (or revert, or recovery) is under way; `rollback_to` says which status it ends in.
  // Each restored step is marked 'restored' as it goes, so a killed rollback resumes where it stopped.
  'rolling_back',
  'rollback_failed',
  'rolled_back',
  'reverted_unconfirmed',
  'recovered',
] as const;
export type TxStatus = (typeof TX_STATUSES)[number];

/** Transactions whose values may be half-written: recover must finish them (unless their owner lives). */
export const UNFINISHED: readonly TxStatus[] = ['pending', 'rolling_back'];
/** Transactions whose values are in effect and can be rolled back. */
export const IN_EFFECT: readonly TxStatus[] = ['applied', 'confirmed', 'awaiting_confirm'];

/** What one step changes: a sysctl key, an ethtool setting, a sysfs file, or the persisted file. */
export const targetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sysctl'), key: z.string() }),
  z.object({ kind: z.literal('ethtool'), device: z.string(), group: z.enum(ETHTOOL_GROUPS), setting: z.string() }),
  z.object({ kind: z.literal('sysfs'), path: z.string() }),
  mptcpTargetSchema,
  /** A whole nftables table nettune owns (src/apply/kind-nft.ts); null = absent. */
  z.object({ kind: z.literal('nft'), family: z.enum(['inet', 'ip', 'ip6']), table: z.string() }),
  z.object({ kind: z.literal('file'), path: z.string() }),
  /** Mode and owner of a persisted file; and a directory the transaction created (src/apply/file-state.ts). */
  z.object({ kind: z.literal('filemeta'), path: z.string() }),
  z.object({ kind: z.literal('dir'), path: z.string() }),
  /** A route (family, table, destination, metric) and the policy rules at a priority (kind-route.ts). */
  routeTargetSchema,
  ruleTargetSchema,
]);
export type Target = z.infer<typeof targetSchema>;

export interface StepRow {
  tx_id: number;
  seq: number;
  target: Target;
  /** Value before the write (file content for 'file'; null = did not exist). */
  before: string | null;
  wanted: string;
  /** Read back after the write. */
  after: string | null;
  status: 'writing' | 'done' | 'failed' | 'restored' | 'restore_failed';
  error: string | null;
}

export interface TxRow {
  id: number;
  started_at: string;
  finished_at: string | null;
  status: TxStatus;
  netns: string | null;
  source: string;
  confirm_deadline: string | null;
  error: string | null;
  plan: unknown;
  result: unknown;
  /** While rolling_back: the status the rollback ends in. */
  rollback_to: TxStatus | null;
  /** The boot-time check unit installed for this transaction (--persist --confirm), if any. */
  boot_unit: string | null;
}

type Db = BetterSqlite3.Database;

let cached: { path: string; db: Db } | null = null;

function load(): typeof BetterSqlite3 {
  try {
    const require = createRequire(import.meta.url);
    return require('better-sqlite3') as typeof BetterSqlite3;
  } catch (err) {
    throw environmentError(`the journal needs better-sqlite3: ${(err as Error).message}`, 'run ./nettune once to install dependencies (npm ci)');
  }
}

export function openJournal(): Db {
  const path = journalPath();
  if (cached?.path === path) return cached.db;
  ensureStateDir();
  const Database = load();
  let db: Db | null = null;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS tx (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        netns TEXT,
        source TEXT NOT NULL,
        confirm_deadline TEXT,
        error TEXT,
        plan_json TEXT,
        result_json TEXT,
        before_snapshot BLOB,
        after_snapshot BLOB,
        timings_json TEXT
      );
      CREATE TABLE IF NOT EXISTS step (
        tx_id INTEGER NOT NULL REFERENCES tx(id),
        seq INTEGER NOT NULL,
        target_json TEXT NOT NULL,
        before TEXT,
        wanted TEXT NOT NULL,
        after TEXT,
        status TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (tx_id, seq)
      );
    `);
    // Columns added after the first release: journals written by older versions get them here.
    const cols = new Set((db.prepare('PRAGMA table_info(tx)').all() as { name: string }[]).map((c) => c.name));
    for (const [col, type] of [
      ['rollback_to', 'TEXT'],
      ['boot_unit', 'TEXT'],
    ] as const)
      if (!cols.has(col)) db.exec(`ALTER TABLE tx ADD COLUMN ${col} ${type}`);
  } catch (err) {
    db?.close();
    // a full disk, a read-only or corrupt file: the environment, not a bug (nothing was changed)
    throw environmentError(`cannot open the journal ${path}: ${(err as Error).message}`, 'free space there (or set NETTUNE_STATE_DIR) and try again; nothing was changed');
  }
  cached = { path, db };
  return db;
}

let cachedReadOnly: { path: string; db: Db } | null = null;

/** The journal for the commands that only look (the dashboard, the exporter: read-only, they
 *  change nothing on the host): opened read-only, never created, migrated (ALTER TABLE) or
 *  switched to WAL, so a journal of an older version stays as it is (its missing columns read as
 *  null). The caller checks that it exists. */
export function openJournalReadOnly(): Db {
  const path = journalPath();
  if (cachedReadOnly?.path === path) return cachedReadOnly.db;
  const Database = load();
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw environmentError(`cannot read the journal ${path}: ${(err as Error).message}`);
  }
  cachedReadOnly = { path, db };
  return db;
}

export function closeJournal(): void {
  cached?.db.close();
  cached = null;
  cachedReadOnly?.db.close();
  cachedReadOnly = null;
}

const gz = (doc: unknown): Buffer | null => (doc === null || doc === undefined ? null : gzipSync(JSON.stringify(doc)));
const ungz = (b: unknown): unknown => (b instanceof Uint8Array ? JSON.parse(gunzipSync(b).toString('utf8')) : null);
const parseJson = (s: unknown): unknown => (typeof s === 'string' ? JSON.parse(s) : null);

export function beginTx(db: Db, t: { netns: string | null; source: string; plan: unknown; before: unknown }): number {
  const r = db
    .prepare('INSERT INTO tx (started_at, status, netns, source, plan_json, before_snapshot) VALUES (?, ?, ?, ?, ?, ?)')
    .run(new Date().toISOString(), 'pending', t.netns, t.source, JSON.stringify(t.plan ?? null), gz(t.before));
  return Number(r.lastInsertRowid);
}

export function addStep(db: Db, s: Omit<StepRow, 'after' | 'status' | 'error'>): void {
  db.prepare('INSERT INTO step (tx_id, seq, target_json, before, wanted, status) VALUES (?, ?, ?, ?, ?, ?)').run(
    s.tx_id,
    s.seq,
    JSON.stringify(s.target),
    s.before,
    s.wanted,
    'writing',
  );
}

export function updateStep(db: Db, txId: number, seq: number, u: { status: StepRow['status']; after?: string | null; error?: string | null }): void {
  db.prepare('UPDATE step SET status = ?, after = COALESCE(?, after), error = ? WHERE tx_id = ? AND seq = ?').run(u.status, u.after ?? null, u.error ?? null, txId, seq);
}

export function finishTx(
  db: Db,
  id: number,
  u: { status: TxStatus; result?: unknown; error?: string | null; after?: unknown; confirm_deadline?: string | null; timings?: unknown },
): void {
  db.prepare(
    `UPDATE tx SET status = ?, finished_at = ?, result_json = COALESCE(?, result_json), error = ?, after_snapshot = COALESCE(?, after_snapshot),
     confirm_deadline = ?, timings_json = COALESCE(?, timings_json) WHERE id = ?`,
  ).run(
    u.status,
    new Date().toISOString(),
    u.result === undefined ? null : JSON.stringify(u.result),
    u.error ?? null,
    gz(u.after),
    u.confirm_deadline ?? null,
    u.timings === undefined ? null : JSON.stringify(u.timings),
    id,
  );
}

/** The end of a rollback (or revert, or recovery): the final status; the confirm deadline stays
 *  recorded, so a late `confirm` can say what happened. */
export function finishRollback(db: Db, id: number, status: TxStatus, error: string | null = null): void {
  db.prepare('UPDATE tx SET status = ?, rollback_to = NULL, finished_at = ?, error = COALESCE(?, error) WHERE id = ?').run(status, new Date().toISOString(), error, id);
}

export function setStatus(db: Db, id: number, status: TxStatus, error: string | null = null): void {
  db.prepare('UPDATE tx SET status = ?, error = COALESCE(?, error) WHERE id = ?').run(status, error, id);
}

/** The one way a transaction changes hands: moves it to `to` only if it is still in one of
 *  `from` (and, with `deadline`, only before or only after its confirm deadline). SQLite runs
 *  the UPDATE atomically, so of two processes racing (confirm and the watchdog, two recovers)
 *  exactly one sees `true`. */
export function transition(
  db: Db,
  id: number,
  from: readonly TxStatus[],
  to: TxStatus,
  o: { rollbackTo?: TxStatus | null; deadline?: 'before' | 'passed'; now?: Date; finished?: boolean } = {},
): boolean {
  const now = (o.now ?? new Date()).toISOString();
  const guard = o.deadline === 'before' ? ' AND confirm_deadline IS NOT NULL AND confirm_deadline > @now' : o.deadline === 'passed' ? ' AND confirm_deadline IS NOT NULL AND confirm_deadline <= @now' : '';
  const r = db
    .prepare(
      `UPDATE tx SET status = @to, rollback_to = @rollbackTo${o.finished ? ', finished_at = @now' : ''}
       WHERE id = @id AND status IN (${from.map((_, i) => `@f${i}`).join(',')})${guard}`,
    )
    .run({ to, rollbackTo: o.rollbackTo ?? null, now, id, ...Object.fromEntries(from.map((f, i) => [`f${i}`, f])) });
  return r.changes === 1;
}

export function setBootUnit(db: Db, id: number, path: string | null): void {
  db.prepare('UPDATE tx SET boot_unit = ? WHERE id = ?').run(path, id);
}

interface RawTx {
  id: number;
  started_at: string;
  finished_at: string | null;
  status: string;
  netns: string | null;
  source: string;
  confirm_deadline: string | null;
  error: string | null;
  plan_json: string | null;
  result_json: string | null;
  rollback_to: string | null;
  boot_unit: string | null;
}

const toTx = (r: RawTx): TxRow => ({
  id: r.id,
  started_at: r.started_at,
  finished_at: r.finished_at,
  status: r.status as TxStatus,
  netns: r.netns,
  source: r.source,
  confirm_deadline: r.confirm_deadline,
  error: r.error,
  plan: parseJson(r.plan_json),
  result: parseJson(r.result_json),
  rollback_to: (r.rollback_to as TxStatus | null) ?? null,
  boot_unit: r.boot_unit ?? null,
});

export function getTx(db: Db, id: number): TxRow | null {
  const r = db.prepare('SELECT * FROM tx WHERE id = ?').get(id) as RawTx | undefined;
  return r ? toTx(r) : null;
}

export function listTx(db: Db, limit = 50): TxRow[] {
  return (db.prepare('SELECT * FROM tx ORDER BY id DESC LIMIT ?').all(limit) as RawTx[]).map(toTx);
}

export function lastTx(db: Db, statuses: readonly TxStatus[]): TxRow | null {
  const r = db
    .prepare(`SELECT * FROM tx WHERE status IN (${statuses.map(() => '?').join(',')}) ORDER BY id DESC LIMIT 1`)
    .get(...statuses) as RawTx | undefined;
  return r ? toTx(r) : null;
}

/** The newest transaction in one of `statuses` made in namespace `netns` (null: the namespace
 *  nettune runs in). Never one of another namespace. */
export function lastTxIn(db: Db, statuses: readonly TxStatus[], netns: string | null): TxRow | null {
  const r = db
    .prepare(`SELECT * FROM tx WHERE status IN (${statuses.map(() => '?').join(',')}) AND netns IS ? ORDER BY id DESC LIMIT 1`)
    .get(...statuses, netns) as RawTx | undefined;
  return r ? toTx(r) : null;
}

/** Every transaction in one of `statuses`, oldest first. */
export function txWithStatus(db: Db, statuses: readonly TxStatus[]): TxRow[] {
  return (db.prepare(`SELECT * FROM tx WHERE status IN (${statuses.map(() => '?').join(',')}) ORDER BY id`).all(...statuses) as RawTx[]).map(toTx);
}

export function stepsOf(db: Db, txId: number): StepRow[] {
  const rows = db.prepare('SELECT * FROM step WHERE tx_id = ? ORDER BY seq').all(txId) as (Omit<StepRow, 'target'> & { target_json: string })[];
  return rows.map(({ target_json, ...r }) => ({ ...r, target: targetSchema.parse(JSON.parse(target_json)) }));
}

export function snapshotsOf(db: Db, txId: number): { before: unknown; after: unknown } {
  const r = db.prepare('SELECT before_snapshot, after_snapshot FROM tx WHERE id = ?').get(txId) as { before_snapshot: unknown; after_snapshot: unknown } | undefined;
  return { before: ungz(r?.before_snapshot), after: ungz(r?.after_snapshot) };
}

/** Later transactions (not undone) of the same namespace that touched any of `targets` —
 *  rollback must not silently undo them. */
export function laterTouching(db: Db, txId: number, targets: readonly Target[]): number[] {
  const keys = new Set(targets.map((t) => JSON.stringify(t)));
  const rows = db
    .prepare(
      `SELECT DISTINCT s.tx_id, s.target_json FROM step s JOIN tx t ON t.id = s.tx_id
       WHERE s.tx_id > ? AND t.status IN ('applied', 'confirmed', 'awaiting_confirm') AND t.netns IS (SELECT netns FROM tx WHERE id = ?)`,
    )
    .all(txId, txId) as { tx_id: number; target_json: string }[];
  return [...new Set(rows.filter((r) => keys.has(r.target_json)).map((r) => r.tx_id))];
}
