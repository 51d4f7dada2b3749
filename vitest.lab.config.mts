import { defineConfig } from "vitest/config";

// The lab suite (test/lab) boots real systemd test hosts with lab/hosts.sh: one file at a time (they share the
// lab's bridge, Redis and .lab/ state), in a forked process, with timeouts that allow a first rootfs build.
export default defineConfig({
  test: {
    include: ["test/lab/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 300_000,
    hookTimeout: 900_000,
  },
});
