import { defineConfig } from "vitest/config";

// Pulumi's runtime state is process-global: keep one forked process per test file (facts/pulumi.md).
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/program/**/*.test.ts", "test/scripts/**/*.test.ts"],
    pool: "forks",
    isolate: true,
    testTimeout: 30_000,
  },
});
