// Probing inside a named network namespace: nettune re-executes itself under `ip netns exec`, so
// /proc/net, /proc/sys/net and /sys/class/net are all the namespace's own.
import { existsSync } from 'node:fs';
import { environmentError, usageError } from '../sys/errors.js';
import { validNetns } from '../sys/names.js';
import { run } from '../sys/run.js';
import { isRoot, which } from '../sys/tools.js';
import type { Snapshot } from '../snapshot/schema.js';

export const NETNS_DIR = '/run/netns';

/** Checks the name and that `ip netns` knows it; exit 2 for a missing namespace. */
export function checkNetns(name: string): string {
  validNetns(name);
  if (!existsSync(`${NETNS_DIR}/${name}`))
    throw usageError(`network namespace ${JSON.stringify(name)} does not exist (no ${NETNS_DIR}/${name})`, 'list them with: ip netns list');
  return name;
}

export async function probeInNetns(name: string): Promise<Snapshot> {
  checkNetns(name);
  if (!isRoot()) throw environmentError(`probing namespace ${name} needs root (ip netns exec)`);
  const ip = which('ip');
  if (!ip) throw environmentError('ip (iproute2) is not installed; it is needed for --netns');
  const script = process.argv[1];
  if (!script) throw environmentError('cannot find the nettune entry script to re-run inside the namespace');
  const res = await run(ip, ['netns', 'exec', name, process.execPath, script, 'probe', '--json'], {
    timeoutMs: 60_000,
    env: { ...process.env, NETTUNE_NETNS_NAME: name, NETTUNE_NO_INSTALL: '1' },
  });
  if (!res.ok) throw environmentError(`probe inside namespace ${name} failed: ${res.error ?? ''}`);
  // the schema module is loaded only here: the plain probe never validates what it built itself
  const { snapshotSchema } = await import('../snapshot/schema.js');
  const parsed = snapshotSchema.safeParse(JSON.parse(res.stdout));
  if (!parsed.success) throw environmentError(`probe inside namespace ${name} returned an invalid snapshot: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}
