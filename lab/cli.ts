// `npm run lab -- <command>`: the rehearsal fleet an operator drives like production.
//   up [N]            boot N lab hosts (default 4), Redis and the artifact server; build what is missing
//   apply [--stack-file F] [--preview] [--stop-on-error] | apply --cancel   `pulumi up` of the lab stack on the real engine
//                     (lab/up.ts; needs `npm run pulumi:install` once)
//   release VERSION   point Pulumi.lab.yaml at a lab release (v1, v2, v3-bad-doctor, …), like editing config
//   load [--seconds S] [--rate R] [--min-ms A] [--max-ms B]   a steady stream of runs
//   check [--wait S]  every enqueued run completed exactly once?
//   status | ssh HOST CMD… | down
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { setRelease } from "./stack-file";

const ROOT = path.join(__dirname, "..");
const LAB_DIR = process.env.LAB_DIR ?? path.join(ROOT, ".lab");

function run(cmd: string, args: string[]): number {
  return spawnSync(cmd, args, { stdio: "inherit", cwd: ROOT }).status ?? 1;
}
const tsx = (file: string, args: string[]) => run(process.execPath, ["--import", "tsx", path.join(ROOT, file), ...args]);

function main(argv: string[]): number {
  const [command = "help", ...rest] = argv;
  switch (command) {
    case "up":
      return run("bash", [path.join(ROOT, "lab/hosts.sh"), "up", rest[0] ?? "4"]);
    case "down":
    case "status":
    case "ssh":
      return run("bash", [path.join(ROOT, "lab/hosts.sh"), command, ...rest]);
    case "apply":
      return tsx("lab/up.ts", rest);
    case "release": {
      if (!rest[0]) throw new Error("usage: npm run lab -- release VERSION");
      setRelease(path.join(ROOT, "Pulumi.lab.yaml"), rest[0], LAB_DIR);
      console.log(`Pulumi.lab.yaml now rolls out ${rest[0]}; run \`npm run lab -- apply\``);
      return 0;
    }
    case "load":
      return tsx("lab/load.ts", ["enqueue", ...rest]);
    case "check":
      return tsx("lab/load.ts", ["check", ...rest]);
    default:
      console.log(fs.readFileSync(__filename, "utf8").split("\n").slice(0, 9).map((l) => l.replace(/^\/\/ ?/, "")).join("\n"));
      return command === "help" ? 0 : 2;
  }
}

try {
  process.exit(main(process.argv.slice(2)));
} catch (err) {
  console.error(`npm run lab: ${(err as Error).message}`);
  process.exit(2);
}
