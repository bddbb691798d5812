import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One file at a time: the lab tests measure throughput and RTT on 2 cores, and a parallel
    // file's load would show up in their numbers.
    fileParallelism: false,
    env: { NETTUNE_NO_INSTALL: '1' },
  },
});
