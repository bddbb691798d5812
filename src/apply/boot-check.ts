// The boot-time half of `apply --persist --confirm` (Junos `commit confirmed` is the model):
// the confirm watchdog is a process and does not survive a reboot, while the persisted files do
// (systemd-sysctl applies them at boot). So while a persisted transaction waits for `nettune
// confirm`, a systemd unit ordered after systemd-sysctl.service runs `nettune __boot-check`,
// which reverts every unconfirmed transaction whose deadline has passed and watches the others
// until theirs. The unit is written atomically, enabled by its sysinit.target.wants symlink (as
// `systemctl enable` would), and removed once no transaction waits any more.
import { lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { writeFileAtomic } from '../sys/fs.js';
import { VERSION } from '../version.js';
import { stateDir } from './state.js';

export const BOOT_UNIT_NAME = 'nettune-confirm-check.service';
const WANTED_BY = 'sysinit.target';

/** /ROOT/etc/sysctl.d/90-nettune.conf → /ROOT/etc/systemd/system/nettune-confirm-check.service */
export const bootUnitPath = (persistFile: string): string => join(dirname(dirname(persistFile)), 'systemd', 'system', BOOT_UNIT_NAME);

/** One systemd command-line word: double-quoted, with \, " escaped, and $ and % doubled so
 *  systemd neither expands variables nor specifiers in it (systemd.service(5), "Command lines";
 *  systemd.unit(5), "Specifiers"). Control characters are refused. */
export function systemdQuote(word: string): string {
  if ([...word].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) throw new Error(`cannot put ${JSON.stringify(word)} in a unit file`);
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$').replace(/%/g, '%%')}"`;
}

/** A path in a space-separated path list (RequiresMountsFor=): C-style escapes for blanks and
 *  backslashes, %% for %. */
const pathWord = (p: string): string => p.replace(/[\s\\]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/%/g, '%%');

/** Environment= assignment, quoted as a whole (systemd.exec(5)). */
const envLine = (name: string, value: string): string => `Environment=${systemdQuote(`${name}=${value}`)}`;

export interface BootCheckCommand {
  node: string;
  script: string;
  stateDir: string;
}

export function renderBootUnit(c: BootCheckCommand): string {
  return [
    `# nettune: written by nettune ${VERSION}. Boot-time check for \`nettune apply --persist --confirm\`:`,
    '# reverts every transaction still waiting for `nettune confirm` whose deadline has passed (its',
    '# watchdog did not survive the reboot) and watches the others until their deadline.',
    '# nettune removes this unit and its sysinit.target.wants link once nothing waits for confirmation.',
    '[Unit]',
    'Description=nettune: revert changes that were not confirmed (apply --confirm)',
    'DefaultDependencies=no',
    'After=systemd-sysctl.service local-fs.target',
    'Before=network-pre.target sysinit.target shutdown.target',
    'Wants=network-pre.target',
    'Conflicts=shutdown.target',
    `RequiresMountsFor=${pathWord(c.stateDir)}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    // the watchdogs it starts for deadlines still ahead must outlive the oneshot's main process
    'KillMode=process',
    envLine('NETTUNE_STATE_DIR', c.stateDir),
    envLine('NETTUNE_NO_INSTALL', '1'),
    `ExecStart=${systemdQuote(c.node)} ${systemdQuote(c.script)} __boot-check`,
    '',
    '[Install]',
    `WantedBy=${WANTED_BY}`,
    '',
  ].join('\n');
}

export const currentBootCommand = (): BootCheckCommand => ({ node: process.execPath, script: process.argv[1] ?? '', stateDir: stateDir() });

/** Writes the unit (atomically) and its enable link (a new symlink renamed over the old). */
export function installBootCheck(unitPath: string, c: BootCheckCommand = currentBootCommand()): void {
  mkdirSync(dirname(unitPath), { recursive: true });
  writeFileAtomic(unitPath, renderBootUnit(c));
  const wants = join(dirname(unitPath), `${WANTED_BY}.wants`);
  mkdirSync(wants, { recursive: true });
  const link = join(wants, BOOT_UNIT_NAME);
  const tmp = `${link}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  symlinkSync(`../${BOOT_UNIT_NAME}`, tmp);
  renameSync(tmp, link);
}

export function removeBootCheck(unitPath: string): void {
  const link = join(dirname(unitPath), `${WANTED_BY}.wants`, BOOT_UNIT_NAME);
  try {
    if (lstatSync(link).isSymbolicLink() && readlinkSync(link).endsWith(BOOT_UNIT_NAME)) rmSync(link);
  } catch {
    /* not there */
  }
  rmSync(unitPath, { force: true });
}

/** Removes the unit at `unitPath` when no transaction that installed it still waits (awaiting
 *  confirmation, half-applied or being rolled back). */
export function removeBootCheckIfIdle(db: BetterSqlite3.Database, unitPath: string | null): void {
  if (!unitPath) return;
  const r = db.prepare(`SELECT COUNT(*) AS n FROM tx WHERE boot_unit = ? AND status IN ('pending', 'awaiting_confirm', 'rolling_back')`).get(unitPath) as { n: number };
  if (r.n === 0) removeBootCheck(unitPath);
}
