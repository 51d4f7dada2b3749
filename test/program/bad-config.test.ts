// Bad config never reaches a resource: the program fails with every problem listed and registers nothing.
import { expect, test } from "vitest";
import { SECRET_MARKERS, existingWorkers, runProgramWith, stackConfig } from "./fixtures";

test("registers nothing and lists every problem with its path when the config is bad", () => {
  const raw = stackConfig(
    [...existingWorkers(2), { name: "Bad_Name", host: { address: "192.0.2.9" } }],
    { rollout: { canary: "nobody", waves: [0] }, secrets: { ENCRYPTION_MASTER_KEY: SECRET_MARKERS.master, "bad key": "x" } },
  );
  const dump = runProgramWith(raw);
  expect(dump.registrations).toEqual([]);
  expect(dump.error).toContain("workers[2].name: must be a lowercase hostname label");
  expect(dump.error).toContain("rollout.canary: must name a worker in workers");
  expect(dump.error).toContain("rollout.waves[0]: must be a positive integer");
  expect(dump.error).not.toContain(SECRET_MARKERS.master);
});

test("refuses to run without the SSH private key", () => {
  const raw = stackConfig(existingWorkers(2), { ssh: { user: "root" } });
  const dump = runProgramWith(raw);
  expect(dump.registrations).toEqual([]);
  expect(dump.error).toMatch(/ssh\.privateKey: is required/);
});
