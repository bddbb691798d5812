// All catalog data files, in one list. Add a file here when you add a domain.
import type { CatalogEntryInput } from '../schema.js';
import { core } from './core.js';
import { ip } from './ip.js';
import { ipv6 } from './ipv6.js';
import { misc } from './misc.js';
import { mptcp } from './mptcp.js';
import { netfilter } from './netfilter.js';
import { tcp } from './tcp.js';

export const catalogData: CatalogEntryInput[] = [...tcp, ...core, ...ip, ...ipv6, ...netfilter, ...mptcp, ...misc];
