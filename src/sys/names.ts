// Validation of names that end up as arguments of external commands.
import { usageError } from './errors.js';

/** Linux interface names: 1–15 bytes, no '/', no whitespace, not '.' or '..' (dev_valid_name). */
export const IFNAME = /^(?!\.{1,2}$)[^\s/:]{1,15}$/;
/** Namespace names as `ip netns` keeps them under /run/netns (a file name); we allow a safe subset. */
export const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function validIfname(name: string): string {
  if (!IFNAME.test(name)) throw usageError(`invalid interface name ${JSON.stringify(name)}`, '1–15 characters, no "/", ":" or spaces');
  return name;
}

export function validNetns(name: string): string {
  if (!NETNS_NAME.test(name))
    throw usageError(`invalid network namespace name ${JSON.stringify(name)}`, 'letters, digits, "_", "." and "-", at most 64');
  return name;
}
