import { defineConfig } from "vitest/config";

// Pulumi's runtime state is process-global: keep one forked process per test file (facts/pulumi.md).
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/program/**/*.test.ts", "test/scripts/**/*.test.ts"],
    pool: "forks",
    isolate: true,
    // A test that passes in seconds on a quiet machine may take a minute when every core is busy (npm run test:stress).
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
