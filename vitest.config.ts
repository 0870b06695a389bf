import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native kernels use every core already; running test files in parallel only thrashes.
    fileParallelism: false,
    reporters: ['default'],
    // the CPU peak cache (src/train/peak.ts) of test runs stays out of the home folder
    env: { METACOT_PEAK_CACHE: join(tmpdir(), `metacot-test-peak-${process.pid}.json`) },
  },
});
