# shellcheck shell=bash
# Summary: teardown helpers for lab/hosts.sh (sourced): find what `up` created — recorded PIDs (checked against
#          /proc/PID/cmdline, never found by name), netns, overlay mounts, cgroups and the bridge, all named
#          after the lab's id — and remove it. `down` is the whole teardown.
# Inputs:  the globals hosts.sh sets: LAB_DIR, HOSTS_DIR, SSH_DIR, BRIDGE, CGROUP; its `log`.
# Exit codes: `down` returns 1 when something is left behind (and prints what).

# cgroup_roots: where each nspawn gets its own cgroup before it starts. On this machine's hybrid layout both the
# cgroup2 tree and the name=systemd v1 tree are needed, or all containers share `payload/` (facts/testhosts.md).
cgroup_roots() {
  if [[ -d /sys/fs/cgroup/unified ]]; then echo /sys/fs/cgroup/unified /sys/fs/cgroup/systemd
  else echo /sys/fs/cgroup; fi
}

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# recorded_pid FILE NEEDLE: the PID in FILE, if that process still runs and its command line contains NEEDLE.
# Teardown only ever signals processes it recorded, and checks them first (never by name).
recorded_pid() {
  local pid
  [[ -f "$1" ]] || return 1
  pid=$(<"$1")
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  echo "$pid"
}

# stop_recorded FILE NEEDLE SECONDS: SIGTERM the recorded process every 2 s (nspawn forwards each one to the
# container's systemd as SIGRTMIN+3; one sent before that systemd installed its handler is lost), SIGKILL when
# it outlives SECONDS.
stop_recorded() {
  local pid end next=0
  if pid=$(recorded_pid "$1" "$2"); then
    end=$((SECONDS + $3))
    while alive "$pid" && ((SECONDS < end)); do
      if ((SECONDS >= next)); then kill -TERM "$pid" 2>/dev/null || true && next=$((SECONDS + 2)); fi
      sleep 0.1
    done
    if alive "$pid"; then
      log "pid $pid ($2) still running ${3}s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$1"
}

lab_netns() { ip netns list | awk '{ print $1 }' | grep "^$BRIDGE-" || true; }
lab_mounts() { findmnt -rn -o TARGET | grep -F "$HOSTS_DIR/" | sort -r || true; }
lab_cgroups() {
  local root
  for root in $(cgroup_roots); do if [[ -d "$root/$CGROUP" ]]; then echo "$root/$CGROUP"; fi; done
}

# cgroup_pids DIR: every process in the cgroup tree DIR.
cgroup_pids() { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null || true; }

# kill_cgroup DIR: SIGKILL whatever still runs in a cgroup tree the lab created: a container whose nspawn was
# SIGKILLed lives on without it. Everything in the tree is the lab's by construction; nothing is found by name.
kill_cgroup() {
  local pid end=$((SECONDS + 5))
  [[ -n "$(cgroup_pids "$1")" ]] || return 0
  log "processes left in $1 (nspawn gone); killing the cgroup"
  if [[ -f "$1/cgroup.kill" ]]; then echo 1 >"$1/cgroup.kill"
  else for pid in $(cgroup_pids "$1"); do kill -KILL "$pid" 2>/dev/null || true; done; fi
  while [[ -n "$(cgroup_pids "$1")" ]] && ((SECONDS < end)); do sleep 0.1; done
}

# leftovers: one line per thing `up` creates that still exists; nothing printed means a clean machine.
leftovers() {
  local dir
  for dir in "$HOSTS_DIR"/*/; do
    if [[ -f "${dir}pid" ]] && recorded_pid "${dir}pid" "${dir}root" >/dev/null; then echo "nspawn ${dir}"; fi
  done
  if recorded_pid "$LAB_DIR/redis.pid" redis-server >/dev/null; then echo "redis-server"; fi
  if recorded_pid "$LAB_DIR/http.pid" serve.mjs >/dev/null; then echo "artifact server"; fi
  lab_netns | sed 's/^/netns /'
  lab_mounts | sed 's/^/mount /'
  lab_cgroups | sed 's/^/cgroup /'
  if ip link show "$BRIDGE" &>/dev/null; then echo "bridge $BRIDGE"; fi
}

# down: stop the hosts (SIGTERM to nspawn powers the container off), then services, netns, overlays, cgroups
# (deepest first), bridge. Keeps going past failures and reports what is left; exit 1 when anything is.
down() {
  local dir item left
  for dir in "$HOSTS_DIR"/*/; do
    if [[ -f "${dir}pid" ]]; then stop_recorded "${dir}pid" "${dir}root" 20; fi
  done
  stop_recorded "$LAB_DIR/redis.pid" redis-server 10
  stop_recorded "$LAB_DIR/http.pid" serve.mjs 10
  for item in $(lab_netns); do ip netns del "$item" || true; done
  for item in $(lab_mounts); do umount "$item" || true; done
  for item in $(lab_cgroups); do
    kill_cgroup "$item"
    find "$item" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  if ip link show "$BRIDGE" &>/dev/null; then ip link del "$BRIDGE" || true; fi
  if declare -F restore_limits >/dev/null; then restore_limits; fi
  left=$(leftovers)
  if [[ -n "$left" ]]; then
    log "teardown left these behind:"$'\n'"$left"
    return 1
  fi
  rm -rf "$HOSTS_DIR" "$LAB_DIR/hosts.json" "$LAB_DIR/services.env" "$SSH_DIR/known_hosts" "$SSH_DIR/config"
}
