#!/usr/bin/env bash
# Summary: starts one service unit in a throwaway, real systemd service manager (`systemd --user`, run as an
#          ordinary process: PID 1 need not be systemd) and waits for it to finish. Used by tests to have the real
#          systemd read what the program renders (EnvironmentFile= parsing in src/core/execute.c), instead of a
#          reimplementation of its grammar.
#          The manager refuses to start unless /run/systemd/system exists (sd_booted()), so the script re-runs
#          itself in a private mount namespace with a fresh tmpfs on /run: the machine's own /run is untouched.
# Inputs:  $1 WORK (an empty-ish directory owned by the caller; gets run/, config/, manager.log),
#          $2 UNIT_FILE (a *.service file; copied to WORK/config/systemd/user/ and started)
# Output:  the unit's `systemctl show` Result and ExecMainStatus; the manager's log on failure
# Exit codes: 0 the unit ran and succeeded, 1 it failed, 2 bad input or not root, 3 a wait timed out
set -euo pipefail

readonly MANAGER=/usr/lib/systemd/systemd

main() {
  local work=${1:-} unit_file=${2:-}
  if [[ -z "$work" || ! -d "$work" || ! -f "$unit_file" ]]; then
    echo "usage: $0 WORK_DIR UNIT_FILE" >&2
    exit 2
  fi
  if [[ "$(id -u)" != 0 ]]; then echo "needs root (mount namespace)" >&2; exit 2; fi
  if [[ -z "${ZF_IN_PRIVATE_MOUNTS:-}" ]]; then
    ZF_IN_PRIVATE_MOUNTS=1 exec unshare --mount --propagation private -- bash "$0" "$@"
  fi
  mount -t tmpfs -o mode=0755 zf-test-run /run
  mkdir -p /run/systemd/system "$work/run" "$work/config/systemd/user"
  chmod 700 "$work/run"
  cp -- "$unit_file" "$work/config/systemd/user/"
  run_unit "$work" "$(basename -- "$unit_file")"
}

# run_unit WORK UNIT: manager up → start UNIT (blocks until a oneshot finished) → report → manager down.
run_unit() {
  local work=$1 unit=$2 manager_pid rc=0
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work" XDG_RUNTIME_DIR="$work/run" \
    XDG_CONFIG_HOME="$work/config" "$MANAGER" --user --log-target=console --log-level=notice \
    >"$work/manager.log" 2>&1 &
  manager_pid=$!
  # shellcheck disable=SC2064 # the pid is known now and must be the one killed
  trap "stop_manager $manager_pid" EXIT
  wait_for_socket "$work/run/systemd/private" "$manager_pid" || { cat "$work/manager.log" >&2; exit 3; }
  export XDG_RUNTIME_DIR="$work/run"
  timeout 30 systemctl --user start "$unit" || rc=1
  systemctl --user show -p Result -p ExecMainStatus "$unit" || true
  if ((rc != 0)); then cat "$work/manager.log" >&2; fi
  return "$rc"
}

# wait_for_socket PATH PID: up to 10 s for the manager's private socket; fails early if the manager died.
wait_for_socket() {
  local socket=$1 pid=$2 i
  for ((i = 0; i < 100; i++)); do
    [[ -S "$socket" ]] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "manager exited before its socket appeared" >&2; return 1; }
    sleep 0.1
  done
  echo "manager socket $socket did not appear within 10 s" >&2
  return 1
}

# stop_manager PID: SIGTERM ends a user manager; SIGKILL after 5 s if it has not.
stop_manager() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "manager ${pid} ignored SIGTERM for 5 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

main "$@"
