// A collection on disk (`fleet collect --out DIR`, read back by `fleet audit|drift --from DIR`):
// DIR/fleet.json (the hosts, their status, which Snapshot file is whose) and one Snapshot file per
// reachable host, each the same document `nettune probe --json` writes.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadSnapshot } from '../snapshot/index.js';
import { usageError } from '../sys/errors.js';
import { readJsonFile, writeFileAtomic } from '../sys/fs.js';
import { FLEET_SCHEMA, hostStatusSchema, type FleetCollection } from './collect.js';

const indexSchema = z.object({
  schema: z.literal(FLEET_SCHEMA),
  inventory: z.string(),
  limit: z.string().nullable(),
  taken_at: z.string(),
  ansible: z.object({ rc: z.number(), duration_s: z.number(), forks: z.number().nullable() }),
  hosts: z.array(
    z.object({
      name: z.string(),
      address: z.string().nullable(),
      status: hostStatusSchema,
      message: z.string().nullable(),
      sources_failed: z.array(z.string()),
      snapshot_file: z.string().regex(/^[A-Za-z0-9._%-]+\.snapshot\.json$/).nullable(),
    }),
  ),
});

/** A host name as a file name: kept when it is plainly safe, else percent-encoded. */
export const snapshotFileName = (host: string): string =>
  `${/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(host) ? host : encodeURIComponent(host).replace(/\./g, '%2E')}.snapshot.json`;

/** The index as written to fleet.json and printed by `collect --json` (Snapshots by file). */
export function collectionIndex(c: FleetCollection, withFiles: boolean): z.infer<typeof indexSchema> {
  return { ...c, hosts: c.hosts.map(({ snapshot, ...h }) => ({ ...h, snapshot_file: withFiles && snapshot ? snapshotFileName(h.name) : null })) };
}

export function writeCollection(dir: string, c: FleetCollection): string[] {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw usageError(`--out ${dir}: not a directory`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const h of c.hosts) {
    if (!h.snapshot) continue;
    const file = join(dir, snapshotFileName(h.name));
    writeFileAtomic(file, `${JSON.stringify(h.snapshot, null, 2)}\n`, 0o600);
    written.push(file);
  }
  const index = join(dir, 'fleet.json');
  writeFileAtomic(index, `${JSON.stringify(collectionIndex(c, true), null, 2)}\n`, 0o600);
  return [index, ...written];
}

export function readCollection(dir: string): FleetCollection {
  const file = join(dir, 'fleet.json');
  if (!existsSync(file)) throw usageError(`--from ${dir}: no fleet.json there`, 'make one with: nettune fleet collect --inventory INV --out DIR');
  const res = indexSchema.safeParse(readJsonFile(file, { what: 'a fleet index' }));
  if (!res.success) {
    const first = res.error.issues[0];
    throw usageError(`${file}: not a fleet index: ${first?.path.join('.') || '(top level)'}: ${first?.message ?? 'invalid'}`);
  }
  return {
    ...res.data,
    schema: FLEET_SCHEMA,
    hosts: res.data.hosts.map(({ snapshot_file, ...h }) => ({ ...h, snapshot: snapshot_file ? loadSnapshot(join(dir, snapshot_file)) : null })),
  };
}
