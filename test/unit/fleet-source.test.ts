import { describe, expect, test } from "vitest";
import { UNREPORTED, workerOutputs } from "../../cli/fleet-source";

// What `pulumi stack output --json` gave after an `up` whose canary failed under --continue-on-error (lab): the
// hosts whose verify never ran or failed hold the SDK's unknown sentinel, not a value.
const SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

describe("workerOutputs: each worker's address and recorded release from the stack's outputs", () => {
  test("takes the tailnet address over the public one, and the release verify reported", () => {
    const outputs = { workers: { value: { a: { publicAddress: "203.0.113.5", tailnetAddress: "100.64.0.5", release: "v2" } }, secret: false } };
    expect(workerOutputs(outputs)).toEqual({ a: { address: "100.64.0.5", recorded: "v2" } });
  });

  test("an output left unknown by a failed up is no release and never an address to dial", () => {
    const outputs = { workers: { value: {
      b: { publicAddress: "10.231.0.12", tailnetAddress: SENTINEL, release: SENTINEL },
      c: { publicAddress: SENTINEL, release: "v1" },
    }, secret: false } };
    expect(workerOutputs(outputs)).toEqual({ b: { address: "10.231.0.12", recorded: UNREPORTED }, c: { recorded: "v1" } });
  });
});
