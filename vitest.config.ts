import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests share one Docker engine and one auditd: run files one at a time so they never race for them.
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
