import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotSchema, type Snapshot } from '../src/snapshot/schema.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
export const fixture = (...parts: string[]): string => readFileSync(join(FIXTURES, ...parts), 'utf8');

/** The Snapshot captured on the build machine (kernel 6.18), parsed afresh for each caller so
 *  tests can mutate it. */
export const snapshotFixture = (): Snapshot => snapshotSchema.parse(JSON.parse(fixture('snapshot-6.18.json')));
