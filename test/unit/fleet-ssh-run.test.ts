import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runSsh } from "../../cli/fleet-ssh";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-run-ssh-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeSsh(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  return file;
}

describe("runSsh: the whole answer of a session", () => {
  // A lab host's report once arrived cut after its first write (273 bytes): the answer was taken on ssh's 'exit',
  // before the pipe's last bytes were read. Here the tail comes after the process exited, deterministically.
  test("keeps output that reaches the pipe after ssh exited", async () => {
    const ssh = fakeSsh("late-tail", "printf '{\"head\":1,'; ( sleep 0.3; printf '\"tail\":2}\\n' ) & exit 0");
    const r = await runSsh([], 60_000, ssh);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"head":1,"tail":2}\n');
  });

  test("does not wait for a process ssh left behind holding the pipe", async () => {
    const ssh = fakeSsh("leftover", "echo answer; ( exec sleep 30 ) & exit 0");
    const r = await runSsh([], 60_000, ssh);
    expect(r.stdout).toBe("answer\n");
    // The leftover holds the pipe for 30 s; the answer is taken after the short grace (2 s), well before that.
    expect(r.ms).toBeLessThan(20_000);
  });
});
