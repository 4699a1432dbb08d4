import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // The steps build on each other: after the first failure the rest only repeat it.
    bail: 1,
    expect: { poll: { timeout: 10_000, interval: 100 } },
  },
});
