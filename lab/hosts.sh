#!/usr/bin/env bash
# Summary: the lab's throwaway systemd test hosts (recipe: /work/shared/facts/testhosts.md).
#          `up N`     tears down any previous lab, builds the root filesystem if its recipe changed, boots
#                     lab-worker-1..N with systemd-nspawn (overlay, own cgroup, own netns on a private bridge),
#                     starts Redis and the artifact server on the bridge, writes $LAB_DIR/hosts.json.
#          `down`     removes everything `up` created (safe to run any time, e.g. from `trap … EXIT`).
#          `status`   one line per host and service; `ssh NAME CMD…` runs CMD on a host as root.
# Inputs:  LAB_DIR (default <repo>/.lab), LAB_BOOT_TIMEOUT (s, default 60), LAB_SUBNETS, LAB_MIRROR,
#          LAB_TRACE=1 for set -x.
# Exit codes: 0 ok, 1 failed (a host did not boot, teardown left something behind), 2 bad usage,
#             3 deadline passed.
set -euo pipefail
if [[ "${LAB_TRACE:-}" == 1 ]]; then set -x; fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${LAB_DIR:-$(dirname "$HERE")/.lab}
# shellcheck source=lab/net.sh
. "$HERE/net.sh"
# shellcheck source=lab/teardown.sh
. "$HERE/teardown.sh"

HOSTS_DIR=$LAB_DIR/hosts
SSH_DIR=$LAB_DIR/ssh
ROOTFS=$LAB_DIR/rootfs
BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-60}
# Every name the lab creates on the machine carries an id derived from its directory, so two checkouts never
# touch each other's bridge, netns or cgroups, and teardown can find leftovers of a crashed run by name.
LAB_ID=$(realpath -m "$LAB_DIR" | sha256sum | cut -c1-6)
BRIDGE=zlab-$LAB_ID
CGROUP=zombie-lab-$LAB_ID
SSH_OPTS=(-i "$SSH_DIR/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5
  -o UserKnownHostsFile="$SSH_DIR/known_hosts" -o GlobalKnownHostsFile=/dev/null
  -o StrictHostKeyChecking=yes -o LogLevel=ERROR)

log() { printf 'lab: %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }

# wait_for SECONDS WHAT CMD…: CMD until it succeeds; exit 3 naming WHAT when the deadline passes.
wait_for() {
  local seconds=$1 what=$2 end=$((SECONDS + $1))
  shift 2
  until "$@" &>/dev/null; do
    if ((SECONDS >= end)); then log "$what not ready after ${seconds}s" && exit 3; fi
    sleep 0.1
  done
}

# start_services BRIDGE_IP: Redis (no persistence) and the artifact server, both bound to the bridge.
start_services() {
  local ip=$1 redis_port http_port
  redis_port=$(free_port 6379) || { log "no free port for Redis from 6379 on" && exit 1; }
  http_port=$(free_port 8080) || { log "no free port for the artifact server from 8080 on" && exit 1; }
  mkdir -p "$LAB_DIR/redis"
  redis-server --bind "$ip" 127.0.0.1 --port "$redis_port" --protected-mode no --save '' --appendonly no \
    --dir "$LAB_DIR/redis" --logfile "$LAB_DIR/redis.log" </dev/null >/dev/null 2>&1 9>&- &
  echo $! >"$LAB_DIR/redis.pid"
  "$HERE/artifacts.sh" build "http://$ip:$http_port" >/dev/null
  node "$HERE/serve.mjs" "$LAB_DIR/artifacts" "$ip" "$http_port" </dev/null >>"$LAB_DIR/http.log" 2>&1 9>&- &
  echo $! >"$LAB_DIR/http.pid"
  wait_for 10 "redis-server on $ip:$redis_port" redis-cli -h "$ip" -p "$redis_port" ping
  wait_for 10 "artifact server on $ip:$http_port" curl -fsS "http://$ip:$http_port/v1/release.json"
  printf 'BRIDGE_IP=%s\nREDIS_PORT=%s\nHTTP_PORT=%s\n' "$ip" "$redis_port" "$http_port" >"$LAB_DIR/services.env"
}

# start_host INDEX SUBNET: overlay root, netns + veth, own cgroup, then systemd-nspawn --boot in the background.
start_host() {
  local name=lab-worker-$1 dir=$HOSTS_DIR/lab-worker-$1 address=$2.$((10 + $1)) root
  mkdir -p "$dir"/{upper,work,root}
  mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
  echo "$name" >"$dir/root/etc/hostname"
  printf '127.0.1.1\t%s\n' "$name" >>"$dir/root/etc/hosts"
  echo "$address" >"$dir/address"
  echo "$address $(cut -d' ' -f1,2 "$SSH_DIR/host_ed25519.pub")" >>"$SSH_DIR/known_hosts"
  host_net_up "$BRIDGE-$1" "${BRIDGE}v$1" "$address/24" "$2.1" "$BRIDGE"
  for root in $(cgroup_roots); do mkdir -p "$root/$CGROUP/$name"; done
  now_ms >"$dir/started_ms"
  (
    # Join the fresh cgroups first, then become nspawn: the recorded PID is nspawn's own.
    for root in $(cgroup_roots); do echo "$BASHPID" >"$root/$CGROUP/$name/cgroup.procs"; done
    export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
    exec systemd-nspawn --quiet --boot --register=no --keep-unit --directory="$dir/root" --machine="$name" \
      --network-namespace-path="/run/netns/$BRIDGE-$1" --resolv-conf=off --timezone=off --link-journal=no \
      --console=read-only
  ) </dev/null >"$dir/console.log" 2>&1 9>&- &
  echo $! >"$dir/pid"
}

# host_ready DIR: sshd accepts the key (fails fast, with the console, when nspawn has exited).
host_ready() {
  local pid
  pid=$(<"$1/pid")
  if ! alive "$pid"; then log "nspawn for $1 exited; console:" && tail -n 20 "$1/console.log" >&2 && exit 1; fi
  ssh "${SSH_OPTS[@]}" -o ConnectTimeout=1 "root@$(<"$1/address")" true
}

# wait_host DIR: until sshd answers, then until systemd says the boot finished; records both times.
wait_host() {
  local dir=$1 started state
  started=$(<"$dir/started_ms")
  wait_for "$BOOT_TIMEOUT" "$(basename "$dir") (sshd)" host_ready "$dir"
  echo $(($(now_ms) - started)) >"$dir/boot_ms"
  state=$(timeout 60 ssh "${SSH_OPTS[@]}" "root@$(<"$dir/address")" systemctl is-system-running --wait) || true
  echo $(($(now_ms) - started)) >"$dir/running_ms"
  if [[ "$state" != running ]]; then
    log "$(basename "$dir") is $state; failed units:"
    ssh "${SSH_OPTS[@]}" "root@$(<"$dir/address")" systemctl --failed --no-legend >&2 || true
    exit 1
  fi
  log "$(basename "$dir") up: sshd after $(<"$dir/boot_ms") ms, running after $(<"$dir/running_ms") ms"
}

# raise_limits N: each booted host's systemd holds inotify instances of the (shared) root user, and the kernel's
# default of 128 per user runs out near 19 hosts (the 19th comes up degraded: systemd-ask-password-*.path failed).
# Raises fs.inotify.max_user_instances / max_user_watches for this lab's run when they are below what N hosts
# need, records the old values, and `down` puts them back; where it may not (no root), it says what to raise.
LIMITS_SAVED=$LAB_DIR/sysctl.saved
raise_limits() {
  local count=$1 key need have
  : >"$LIMITS_SAVED.new"
  for key in max_user_instances:$((128 + 16 * count)) max_user_watches:$((65536 + 16384 * count)); do
    need=${key#*:} key=fs.inotify.${key%%:*}
    have=$(sysctl -n "$key")
    ((have >= need)) && continue
    if ! sysctl -q -w "$key=$need" >/dev/null 2>&1; then
      log "$count hosts need $key >= $need (it is $have): run 'sysctl -w $key=$need' as root" && exit 1
    fi
    echo "$key=$have" >>"$LIMITS_SAVED.new"
    log "raised $key from $have to $need for this lab (restored by down)"
  done
  # Only the first raise records the machine's own values; a re-run of up keeps them.
  if [[ ! -s "$LIMITS_SAVED" ]]; then mv "$LIMITS_SAVED.new" "$LIMITS_SAVED"; else rm -f "$LIMITS_SAVED.new"; fi
}

restore_limits() {
  local line
  [[ -s "$LIMITS_SAVED" ]] || return 0
  while IFS= read -r line; do sysctl -q -w "$line" >/dev/null || log "could not restore $line"; done <"$LIMITS_SAVED"
  rm -f "$LIMITS_SAVED"
}

# write_hosts_json: the contract with other tools (lab/up.ts, tests); see lab/README.md.
write_hosts_json() {
  local dir sep="" host_key
  host_key=$(cut -d' ' -f1,2 "$SSH_DIR/host_ed25519.pub")
  local BRIDGE_IP="" REDIS_PORT="" HTTP_PORT=""
  # shellcheck source=/dev/null  # written by start_services
  . "$LAB_DIR/services.env"
  {
    printf '{\n  "bridge": { "name": "%s", "address": "%s", "cidr": "%s.0/24" },\n' \
      "$BRIDGE" "$BRIDGE_IP" "${BRIDGE_IP%.*}"
    printf '  "redis": { "url": "redis://%s:%s", "host": "%s", "port": %s },\n' \
      "$BRIDGE_IP" "$REDIS_PORT" "$BRIDGE_IP" "$REDIS_PORT"
    printf '  "artifacts": { "baseUrl": "http://%s:%s", "dir": "%s" },\n' "$BRIDGE_IP" "$HTTP_PORT" "$LAB_DIR/artifacts"
    printf '  "hostKey": "%s",\n  "knownHostsPath": "%s",\n' "$host_key" "$SSH_DIR/known_hosts"
    printf '  "deployUser": "deploy",\n  "hosts": ['  # same key as root, passwordless sudo (lab/rootfs.sh)
    for dir in "$HOSTS_DIR"/*/; do
      dir=${dir%/}
      printf '%s\n    { "name": "%s", "address": "%s", "port": 22, "user": "root", "privateKeyPath": "%s",' \
        "$sep" "$(basename "$dir")" "$(<"$dir/address")" "$SSH_DIR/id_ed25519"
      printf ' "hostKey": "%s", "bootMs": %s, "runningMs": %s }' "$host_key" "$(<"$dir/boot_ms")" \
        "$(<"$dir/running_ms")"
      sep=,
    done
    printf '\n  ]\n}\n'
  } >"$LAB_DIR/hosts.json"
}

# write_ssh_config: `ssh -F .lab/ssh/config lab-worker-1` for people poking at the lab by hand.
write_ssh_config() {
  local dir
  for dir in "$HOSTS_DIR"/*/; do
    dir=${dir%/}
    printf 'Host %s\n  HostName %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n' \
      "$(basename "$dir")" "$(<"$dir/address")" "$SSH_DIR/id_ed25519"
    printf '  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n' "$SSH_DIR/known_hosts"
  done >"$SSH_DIR/config"
}

abort_up() {
  log "up failed; tearing down"
  down || true
}

up() {
  local count=$1 subnet i pid waits=() failed=0 started=$SECONDS
  [[ "$count" =~ ^[1-9][0-9]?$ ]] || { log "up: N must be 1..99 (got '$count')" && exit 2; }
  down || { log "a previous lab could not be torn down; fix the above first" && exit 1; }
  trap abort_up EXIT
  "$HERE/rootfs.sh" ensure
  subnet=$(pick_subnet) || { log "every /24 in LAB_SUBNETS clashes with the machine's routes" && exit 1; }
  raise_limits "$count"
  mkdir -p "$HOSTS_DIR" && : >"$SSH_DIR/known_hosts"
  bridge_up "$BRIDGE" "$subnet.1/24"
  start_services "$subnet.1"
  for ((i = 1; i <= count; i++)); do start_host "$i" "$subnet"; done
  for ((i = 1; i <= count; i++)); do wait_host "$HOSTS_DIR/lab-worker-$i" & waits+=($!); done
  for pid in "${waits[@]}"; do wait "$pid" || failed=1; done
  if ((failed)); then log "not every host came up" && exit 1; fi
  write_hosts_json
  write_ssh_config
  trap - EXIT
  log "$count host(s) up on $BRIDGE ($subnet.0/24) in $((SECONDS - started)) s; see $LAB_DIR/hosts.json"
}

status() {
  local dir pid state rc=0
  if [[ ! -f "$LAB_DIR/hosts.json" ]]; then echo "lab is down" && return 1; fi
  for dir in "$HOSTS_DIR"/*/; do
    dir=${dir%/}
    if pid=$(recorded_pid "$dir/pid" "$dir/root"); then
      state=$(timeout 10 ssh "${SSH_OPTS[@]}" "root@$(<"$dir/address")" systemctl is-system-running) || rc=1
    else state="no nspawn process" pid=- rc=1; fi
    echo "$(basename "$dir") $(<"$dir/address") pid=$pid $state"
  done
  pid=$(recorded_pid "$LAB_DIR/redis.pid" redis-server) || { pid="not running" && rc=1; }
  echo "redis-server pid=$pid"
  pid=$(recorded_pid "$LAB_DIR/http.pid" serve.mjs) || { pid="not running" && rc=1; }
  echo "artifact-server pid=$pid"
  return "$rc"
}

host_ssh() {
  local name=${1:-}
  [[ -n "$name" && -f "$HOSTS_DIR/$name/address" ]] || { log "ssh: no lab host named '$name'" && exit 2; }
  shift
  exec ssh "${SSH_OPTS[@]}" "root@$(<"$HOSTS_DIR/$name/address")" "$@"
}

# lock: one `up`/`down` at a time per lab directory. Background children close fd 9 so they do not hold it.
lock() {
  mkdir -p "$LAB_DIR"
  exec 9>"$LAB_DIR/lock"
  flock -w 300 9 || { log "another up/down holds $LAB_DIR/lock" && exit 1; }
}

main() {
  case "${1:-}" in
    up) lock && up "${2:-2}" ;;
    down) lock && down ;;
    status) status ;;
    ssh) shift && host_ssh "$@" ;;
    *) log "usage: hosts.sh up [N] | down | status | ssh NAME CMD…" && exit 2 ;;
  esac
}

main "$@"
