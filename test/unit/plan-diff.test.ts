// Why each worker is in the rollout (`npm run plan -- --base`): one base/head pair of stack files per reason,
// compared through the real loader, so `secure:` ciphertexts and ESC imports are read as the CLI reads them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { loadStackFile, readStackFile } from "../../config/load";
import {
  NEEDS_BASE, REMOVED, REMOVED_GONE, Reason, ReasonsReport, StackSnapshot, compareStacks, stackSnapshot,
} from "../../plan/diff";
import { FORMATS, renderPlan } from "../../plan/render/format";
import { buildReport } from "../../plan/report";
import { Raw } from "./fleet-fixture";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-plan-diff-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Ciphertexts carry a marker: finding it in any rendering is a leak.
const CIPHER = "CIPHERTEXT-MARKER-83c1";

function baseDoc(): Raw {
  return {
    config: {
      "zombie-fleet:release": {
        version: "v1",
        worker: { url: "https://artifacts.example/v1/w.tgz", sha256: "a".repeat(64) },
        executor: { url: "https://artifacts.example/v1/e.tgz", sha256: "b".repeat(64) },
      },
      "zombie-fleet:rollout": { canary: "w-a", waves: [1, 2], maxUnavailable: 2 },
      "zombie-fleet:ssh": { user: "deploy", privateKey: { secure: `v1:${CIPHER}-key` } },
      "zombie-fleet:tailscale": { enabled: false },
      "zombie-fleet:env": { LOG_LEVEL: "info" },
      "zombie-fleet:secrets": { DATABASE_URL_WORKER: { secure: `v1:${CIPHER}-db` } },
      "zombie-fleet:workers": [
        { name: "w-a", host: { address: "10.0.0.1" } },
        { name: "w-b", ovh: { serviceName: "ns1.example.net" } },
        { name: "w-c", host: { address: "10.0.0.3" } },
        { name: "w-d", host: { address: "10.0.0.4" }, hold: "disk swap" },
      ],
    },
  };
}

let files = 0;
function snapshot(doc: Raw): StackSnapshot {
  const file = path.join(dir, `Pulumi.s${files++}.yaml`);
  const text = stringify(doc);
  fs.writeFileSync(file, text);
  return stackSnapshot(loadStackFile(file));
}

const cfg = (doc: Raw, key: string) => doc.config[`zombie-fleet:${key}`];
const worker = (doc: Raw, name: string) => cfg(doc, "workers").find((w: Raw) => w.name === name);

function compare(edit: (doc: Raw) => void, editBase: (doc: Raw) => void = () => {}): ReasonsReport {
  const base = baseDoc();
  editBase(base);
  const head = structuredClone(base);
  edit(head);
  return compareStacks(snapshot(base), snapshot(head), "base.yaml");
}

function reasonsOf(report: ReasonsReport): Record<string, Reason[]> {
  return Object.fromEntries(Object.entries(report.workers).map(([name, w]) => [name, w.reasons]));
}

const ALL: Record<string, Reason[]> = { "w-a": ["unchanged"], "w-b": ["unchanged"], "w-c": ["unchanged"], "w-d": ["held"] };
const active = (reasons: Reason[]) => ({ ...ALL, "w-a": reasons, "w-b": reasons, "w-c": reasons });

describe("one base/head pair per reason", () => {
  test.each<[string, (doc: Raw) => void, Record<string, Reason[]>, string]>([
    ["nothing changed", () => {}, ALL, ""],
    ["a new release", (d) => { cfg(d, "release").version = "v2"; }, active(["release change"]), "release.version v1 → v2"],
    ["new bytes under the same version", (d) => { cfg(d, "release").worker.sha256 = "c".repeat(64); },
      active(["release change"]), "release.worker.sha256 (same version, new bytes)"],
    ["a plain env value", (d) => { cfg(d, "env").LOG_LEVEL = "debug"; }, active(["env change"]), 'env.LOG_LEVEL "info" → "debug"'],
    ["a re-encrypted secret", (d) => { cfg(d, "secrets").DATABASE_URL_WORKER = { secure: `v1:${CIPHER}-db2` }; },
      active(["env change"]), "secrets.DATABASE_URL_WORKER (new ciphertext)"],
    ["a new secret", (d) => { cfg(d, "secrets").ENCRYPTION_MASTER_KEY = { secure: `v1:${CIPHER}-mk` }; },
      active(["env change"]), "secrets.ENCRYPTION_MASTER_KEY (added)"],
    ["a new ESC import", (d) => { d.environment = ["zombie/prod-secrets"]; },
      active(["env change"]), "ESC imports [] → [zombie/prod-secrets]"],
    ["units.workerPartOfExecutor", (d) => { d.config["zombie-fleet:units"] = { workerPartOfExecutor: true }; },
      active(["unit change"]), "units.workerPartOfExecutor false → true"],
    ["drain.completeLog", (d) => { d.config["zombie-fleet:drain"] = { completeLog: "worker.drain_complete" }; },
      active(["drain/verify contract change"]), 'drain.completeLog "drain complete, 0 active runs" → "worker.drain_complete"'],
    ["drain.signal (also the unit's KillSignal=)", (d) => { d.config["zombie-fleet:drain"] = { signal: "SIGTERM" }; },
      active(["unit change", "drain/verify contract change"]), 'drain.signal "SIGUSR1" → "SIGTERM"'],
    ["verify.command", (d) => { d.config["zombie-fleet:verify"] = { command: "zombied doctor" }; },
      active(["drain/verify contract change"]), "verify.command"],
    ["a new SSH key", (d) => { cfg(d, "ssh").privateKey = { secure: `v1:${CIPHER}-key2` }; },
      active(["host change"]), "ssh.privateKey (new key)"],
    ["ssh.user", (d) => { cfg(d, "ssh").user = "root"; }, active(["host change"]), "ssh.user deploy → root"],
    ["one host's address", (d) => { worker(d, "w-c").host.address = "10.0.0.33"; },
      { ...ALL, "w-c": ["host change"] }, "host 10.0.0.3 → 10.0.0.33"],
    ["a new worker", (d) => { cfg(d, "workers").push({ name: "w-e", host: { address: "10.0.0.5" } }); },
      { ...ALL, "w-e": ["new host"] }, ""],
    ["a new held worker", (d) => { cfg(d, "workers").push({ name: "w-e", host: { address: "10.0.0.5" }, hold: "burn-in" }); },
      { ...ALL, "w-e": ["new host", "held"] }, ""],
    ["a worker put on hold", (d) => { worker(d, "w-b").hold = "kernel upgrade"; }, { ...ALL, "w-b": ["held"] }, ""],
    ["a worker marked gone", (d) => { worker(d, "w-c").gone = true; }, { ...ALL, "w-c": ["held"] }, ""],
    ["a hold lifted", (d) => { delete worker(d, "w-d").hold; }, { ...ALL, "w-d": ["hold lifted"] }, "hold removed (was: disk swap)"],
    ["rollout.canaryRuns (the gate only watches)", (d) => { cfg(d, "rollout").canaryRuns = 5; },
      { ...ALL, "w-a": ["canary gate change"] }, "ZF_CANARY_RUNS 3 → 5"],
    ["another canary", (d) => { cfg(d, "rollout").canary = "w-b"; },
      { ...ALL, "w-b": ["canary gate change"] }, "becomes the canary (was w-a)"],
    ["rollout.waves (order only)", (d) => { cfg(d, "rollout").waves = [1]; }, ALL, ""],
    ["release URLs only (same checksums)", (d) => { cfg(d, "release").worker.url = "https://mirror.example/w.tgz"; }, ALL, ""],
    ["release and env together", (d) => { cfg(d, "release").version = "v2"; cfg(d, "env").LOG_LEVEL = "debug"; },
      active(["release change", "env change"]), "release.version v1 → v2; env.LOG_LEVEL"],
  ])("%s", (_what, edit, expected, change) => {
    const report = compare(edit);
    expect(reasonsOf(report)).toEqual(expected);
    expect(report.removed).toEqual([]);
    const changes = Object.values(report.workers).map((w) => w.changes.join("; "));
    if (change) expect(changes.some((c) => c.includes(change))).toBe(true);
    expect(JSON.stringify(report)).not.toContain(CIPHER);
  });
});

describe("what runs", () => {
  test("a release change runs the whole chain, the canary's with its gate", () => {
    const { workers } = compare((d) => { cfg(d, "release").version = "v2"; });
    expect(workers["w-a"].runs).toBe("drain → stop → deploy → restart-executor → start-worker → verify → canary-gate");
    expect(workers["w-b"].runs).toBe("drain → stop → deploy → restart-executor → start-worker → verify");
  });

  test("under promote: manual only the canary runs now; the others say they wait, a new host that it is not held back", () => {
    const { workers } = compare((d) => {
      cfg(d, "release").version = "v2";
      cfg(d, "rollout").promote = "manual";
      cfg(d, "workers").push({ name: "w-e", host: { address: "10.0.0.5" } });
    });
    expect(workers["w-a"].runs).toBe("drain → stop → deploy → restart-executor → start-worker → verify → canary-gate");
    expect(workers["w-b"].runs).toBe("nothing yet: waits for the promotion of v2 (then drain → stop → deploy → restart-executor → start-worker → verify)");
    expect(workers["w-e"].runs).toMatch(/^layout, \.env, units, then drain → .* → verify; not held back by rollout\.promote: manual/);
    // Promoted: the waves run as usual.
    const promoted = compare((d) => {
      cfg(d, "release").version = "v2";
      Object.assign(cfg(d, "rollout"), { promote: "manual", promoted: "v2" });
    });
    expect(promoted.workers["w-b"].runs).toBe("drain → stop → deploy → restart-executor → start-worker → verify");
  });

  test("an env-only change drains and restarts without a download", () => {
    const { workers } = compare((d) => { cfg(d, "env").LOG_LEVEL = "debug"; });
    expect(workers["w-b"].runs).toBe("rewrite .env, then drain → stop → restart-executor → start-worker → verify (no download: the release is unchanged)");
  });

  test("a canary gate change re-runs the gate alone", () => {
    expect(compare((d) => { cfg(d, "rollout").canaryDeadline = "30m"; }).workers["w-a"].runs).toBe("canary-gate only (nothing is drained)");
  });

  test("held and unchanged workers run nothing", () => {
    const { workers } = compare(() => {});
    expect(workers["w-b"].runs).toBe("nothing");
    expect(workers["w-d"].runs).toBe("nothing (held: disk swap; keeps its current release)");
  });
});

describe("removed workers", () => {
  const remove = (name: string) => (d: Raw) => {
    d.config["zombie-fleet:workers"] = cfg(d, "workers").filter((w: Raw) => w.name !== name);
  };

  test("are drained and decommissioned; an OVH contract is kept", () => {
    const report = compare(remove("w-b"));
    expect(report.removed).toEqual([{
      name: "w-b", reason: REMOVED,
      runs: "decommission: drains, stops and disables both units; its OVH server and contract are kept (cancelServiceOnDestroy is off)",
    }]);
    expect(report.workers["w-b"]).toBeUndefined();
  });

  test("say when the OVH service will be cancelled", () => {
    const report = compare(remove("w-b"), (d) => { worker(d, "w-b").ovh.cancelServiceOnDestroy = true; });
    expect(report.removed[0].runs).toContain("then its OVH service is CANCELLED (cancelServiceOnDestroy)");
  });

  test("flipping cancelServiceOnDestroy on a kept worker re-runs nothing but is named first, as a danger", () => {
    const on = compare((d) => { worker(d, "w-b").ovh.cancelServiceOnDestroy = true; });
    expect(on.workers["w-b"].reasons).toEqual(["unchanged"]);
    expect(on.notes[0]).toBe("DANGER: w-b: workers[1].ovh.cancelServiceOnDestroy false → true: from this rollout on, " +
      "removing this worker from the stack CANCELS its OVH server contract (the server is terminated by OVH, not kept)");
    const off = compare((d) => { worker(d, "w-b").ovh.cancelServiceOnDestroy = false; }, (d) => { worker(d, "w-b").ovh.cancelServiceOnDestroy = true; });
    expect(off.notes[0]).toBe("w-b: workers[1].ovh.cancelServiceOnDestroy true → false: removing this worker will keep its OVH server and contract");
    expect(compare(() => {}).notes.join("\n")).not.toContain("cancelServiceOnDestroy");
  });

  test("a gone one runs nothing on its host", () => {
    const report = compare(remove("w-c"), (d) => { worker(d, "w-c").gone = true; });
    expect(report.removed).toEqual([{ name: "w-c", reason: REMOVED_GONE, runs: "nothing on the host; its resources leave the state" }]);
  });

  test("a worker on the tailnet also logs out of it", () => {
    const report = compare(remove("w-c"), (d) => { d.config["zombie-fleet:tailscale"] = { enabled: true }; });
    expect(report.removed[0].runs).toContain("logs out of the tailnet");
  });
});

describe("in the report", () => {
  const base = baseDoc();
  const head = structuredClone(base);
  cfg(head, "release").version = "v2";
  cfg(head, "secrets").DATABASE_URL_WORKER = { secure: `v1:${CIPHER}-db2` };
  head.config["zombie-fleet:workers"] = cfg(head, "workers").filter((w: Raw) => w.name !== "w-c");
  head.environment = ["zombie/prod-secrets"];
  const headSnapshot = snapshot(head);
  const reasons = compareStacks(snapshot(base), headSnapshot, "main@abc1234/Pulumi.prod.yaml");
  const report = buildReport("prod", "Pulumi.prod.yaml", headSnapshot, reasons);

  test("markdown has one reasons row per worker, removed ones too, and the notes", () => {
    const markdown = renderPlan(report, "markdown");
    expect(markdown).toContain("### Why each worker is in the rollout (compared with `main@abc1234/Pulumi.prod.yaml`)");
    expect(markdown).toContain("| Worker | Wave | Reasons | What changed | What runs |");
    expect(markdown).toMatch(/^\| `w-a` \| wave 0 \(canary\) \| release change, env change \| release\.version v1 → v2; secrets\.DATABASE_URL_WORKER \(new ciphertext\); ESC imports .* \| rewrite \.env, then drain → .* → canary-gate \|$/m);
    expect(markdown).toMatch(/^\| `w-b` \| wave 1 \| release change, env change \|/m);
    expect(markdown).toMatch(/^\| `w-d` \| held \| held \| — \| nothing \(held: disk swap; keeps its current release\) \|$/m);
    expect(markdown).toMatch(/^\| `w-c` \| — \| removed \(will be drained and decommissioned\) \| — \| decommission: /m);
    expect(markdown).toContain("**2 of 2 active workers re-run, 0 unchanged, 1 held, 1 removed**");
    expect(markdown).toContain("- Note: secrets from ESC environment zombie/prod-secrets are not visible offline");
  });

  test("text lists the reasons, what changed and what runs per worker", () => {
    const text = renderPlan(report, "text");
    expect(text).toContain("Why each worker is in the rollout (compared with main@abc1234/Pulumi.prod.yaml): 2 of 2 active workers re-run");
    expect(text).toMatch(/^ {2}w-a +wave 0 \(canary\) +release change, env change\n {6}changed: release\.version v1 → v2; /m);
    expect(text).toMatch(/^ {2}w-c +- +removed \(will be drained and decommissioned\)\n {6}runs: decommission: /m);
  });

  test("json carries the same reasons", () => {
    expect(JSON.parse(renderPlan(report, "json")).reasons).toEqual(JSON.parse(JSON.stringify(reasons)));
  });

  test("no ciphertext reaches any format", () => {
    for (const format of FORMATS) expect(renderPlan(report, format)).not.toContain(CIPHER);
  });

  test("without a base every format says that reasons need one", () => {
    const plain = buildReport("prod", "Pulumi.prod.yaml", headSnapshot);
    expect(plain.reasons).toEqual({ base: null, workers: {}, removed: [], notes: [NEEDS_BASE] });
    expect(renderPlan(plain, "text")).toContain(`Why each worker is in the rollout: ${NEEDS_BASE}`);
    expect(renderPlan(plain, "markdown")).toContain(`### Why each worker is in the rollout\n\n_${NEEDS_BASE}_`);
  });
});

test("stackSnapshot digests every secure: value by its config path and keeps none of them", () => {
  const text = "config:\n  zombie-fleet:ssh:\n    privateKey: { secure: v1:AAA }\n  zombie-fleet:secrets:\n" +
    "    A: { secure: v1:BBB }\n    B: plain\n  ovh:endpoint: { secure: v1:CCC }\n";
  const file = path.join(dir, "Pulumi.secure.yaml");
  fs.writeFileSync(file, text);
  const snap = stackSnapshot({ config: {} as never, ...readStackFile(file) });
  expect(Object.keys(snap.secure).sort()).toEqual(["secrets.A", "ssh.privateKey"]);
  expect(JSON.stringify(snap.secure)).not.toMatch(/AAA|BBB|CCC/);
  expect(parseYaml(text).config["zombie-fleet:secrets"].B).toBe("plain");
});
