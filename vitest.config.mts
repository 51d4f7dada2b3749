import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// Pulumi's runtime state is process-global: keep one forked process per test file (facts/pulumi.md).
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/program/**/*.test.ts", "test/scripts/**/*.test.ts"],
    pool: "forks",
    isolate: true,
    // Two files per core. vitest's default in a run is one fewer worker than cores, which on a two-core machine ran
    // the files one at a time; the script tests spend most of their time waiting on bash and the fake units, so a
    // second file per core fills that time (test/scripts: 127 s with 2 workers, 79 s with 4, on a busy 2-core host).
    maxWorkers: Math.max(2, availableParallelism() * 2),
    // A test that passes in seconds on a quiet machine may take a minute when every core is busy (npm run test:stress).
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
