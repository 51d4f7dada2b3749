// What a host's verify step reported: the release it checked, read from the step's stdout. PURE. run.sh prints a
// step's status line(s) first (host-scripts/run.sh), and verify.sh's line on success is
// `step=verify host=<h> status=ok version=<v> …`, where <v> is what `current` points to on the host
// (releases/<v>/VERSION): the release the host really runs, not the one the config asked for. A failed verify
// (auto-reverted or not) fails its command, and its stdout never becomes a release: with --continue-on-error the
// engine answers the registration as failed (CreateStep.Fail, pkg/resource/deploy/step.go at v3.248.0) and the SDK
// leaves its outputs unknown (keepUnknowns, sdk/nodejs/runtime/resource.ts); without it the engine cancels the
// update and the outputs stay pending (isGrpcError there). `npm run fleet -- status` asks the hosts themselves.

const VERIFY_OK = /^step=verify host=\S+ status=ok(?: .*)?$/;
const VERSION = /(?:^| )version=(?:"([^"]*)"|(\S+))/;

/** The version of the last `status=ok` verify line in `stdout`, or undefined when it holds none. */
export function reportedRelease(stdout: string | undefined): string | undefined {
  const line = (stdout ?? "").split("\n").filter((l) => VERIFY_OK.test(l)).at(-1);
  const match = line === undefined ? null : VERSION.exec(line);
  return match ? (match[1] ?? match[2]) || undefined : undefined;
}

/** Shown for a host whose verify output holds no release (a state written by another program). */
export const UNREPORTED = "unreported";
