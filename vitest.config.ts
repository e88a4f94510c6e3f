import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Two cores: forks keep native modules (better-sqlite3) isolated per worker.
    pool: 'forks',
    maxWorkers: 2,
    // The CLI tests run the built bin/kaizen.js as a real child process: build once first.
    globalSetup: ['./test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
