import { defineConfig } from 'vitest/config';

/**
 * The end-to-end VM test (test/e2e): `npm run test:e2e`, run by .ci/run after `npm test`. It
 * builds or reuses the images, boots a UEFI qemu VM (TCG) and installs it through reef, so it
 * takes many minutes and runs alone (one file at a time, nothing in parallel).
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
