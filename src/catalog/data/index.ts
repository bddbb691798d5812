// All catalog data files, in one list. Add a file here when you add a domain.
import type { CatalogEntryInput } from '../schema.js';
import { tcp } from './tcp.js';

export const catalogData: CatalogEntryInput[] = [...tcp];
