// Validation of names that end up as arguments of external commands or as file names.
import { usageError } from './errors.js';

/** Linux interface names: 1–15 bytes, no '/', no whitespace, not '.' or '..' (dev_valid_name). */
export const IFNAME = /^(?!\.{1,2}$)[^\s/:]{1,15}$/;
/** Namespace names as `ip netns` keeps them under /run/netns (a file name); we allow a safe subset:
 *  never empty (`ip netns exec ""` would mean "where I run", from the host that is the host). */
export const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function validIfname(name: string): string {
  if (!IFNAME.test(name)) throw usageError(`invalid interface name ${JSON.stringify(name)}`, '1–15 characters, no "/", ":" or spaces');
  return name;
}

const shown = (name: string): string => JSON.stringify(name.length > 40 ? `${name.slice(0, 39)}…` : name);

/** `where` names the source for the message: "--netns", "NETTUNE_NETNS_NAME", "plan.json host.netns". */
export function validNetns(name: string, where = 'network namespace name'): string {
  if (!NETNS_NAME.test(name))
    throw usageError(
      `${where === 'network namespace name' ? 'invalid network namespace name' : `${where}: invalid network namespace name`} ${name === '' ? '"" (empty)' : shown(name)}`,
      'letters, digits, "_", "." and "-", starting with a letter or digit, at most 64',
    );
  return name;
}

/** NETTUNE_NETNS_NAME (set by nettune for its own run inside `ip netns exec`): null when unset,
 *  exit 2 when set to something that is not a namespace name. */
export function netnsNameFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  const v = env.NETTUNE_NETNS_NAME;
  return v === undefined ? null : validNetns(v, 'NETTUNE_NETNS_NAME');
}
