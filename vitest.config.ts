import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Servers and workers a failed test left running are killed at the end of its file.
    setupFiles: ["test/support/cleanup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    // Two files at a time even on 2 cores: most of the time goes to waiting on real processes
    // (servers, workers, a browser), not to this process's CPU.
    maxWorkers: 2,
  },
});
