#!/usr/bin/env bash
# Summary: builds the lab hosts' Debian bookworm root filesystem into $LAB_DIR/rootfs, once: the build is reused
#          until this file or rootfs.packages changes (their hash is stored beside it in rootfs.recipe).
#          Also generates the SSH keys baked into it: root's login key and the one host key every host shares.
# Inputs:  LAB_DIR (default <repo>/.lab), LAB_MIRROR (default: the machine's own Debian mirror from its apt
#          sources), LAB_TRACE=1 for set -x. Subcommands: `ensure` (build when stale), `build`, `stale`.
# Exit codes: 0 ok, 1 build failed, 2 bad input / no mirror found.
set -euo pipefail
if [[ "${LAB_TRACE:-}" == 1 ]]; then set -x; fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${LAB_DIR:-$(dirname "$HERE")/.lab}
ROOTFS=$LAB_DIR/rootfs
STAMP=$LAB_DIR/rootfs.recipe
SSH_DIR=$LAB_DIR/ssh
SUITE=bookworm
DEPLOY_USER=deploy
# Units that make no sense in a throwaway host and would wake up mid-test (facts/testhosts.md).
MASKED_UNITS=(apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
  e2scrub_all.timer e2scrub_all.service e2scrub_reap.service)

log() { printf 'rootfs: %s\n' "$*" >&2; }

# recipe_hash: what the build depends on; a change means rebuild.
recipe_hash() { cat "$HERE/rootfs.sh" "$HERE/rootfs.packages" | sha256sum | cut -d' ' -f1; }

# packages_csv: rootfs.packages without comments, comma-joined for debootstrap --include.
packages_csv() { grep -v '^[[:space:]]*\(#\|$\)' "$HERE/rootfs.packages" | paste -sd, -; }

# machine_mirror: the first Debian URI serving $SUITE in the machine's apt sources (deb822 or one-line form).
# Taken from the machine so the repo never names a mirror host.
machine_mirror() {
  local uri=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    uri=$(awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
      { u = ""; s = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
          if ($i ~ /^Suites:/ && (" " $i " ") ~ (" " suite " ")) s = 1
        }
        if (s && u != "") { print u; exit } }' /etc/apt/sources.list.d/*.sources)
  fi
  if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
    uri=$(awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }' /etc/apt/sources.list)
  fi
  printf '%s\n' "$uri"
}

stale() { [[ ! -d "$ROOTFS" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$(recipe_hash)" ]]; }

# new_keys: root's login key and the shared host key, fresh for every build.
new_keys() {
  rm -rf "$SSH_DIR" && install -d -m 700 "$SSH_DIR"
  ssh-keygen -q -t ed25519 -N '' -C zombie-lab-root -f "$SSH_DIR/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C zombie-lab-host -f "$SSH_DIR/host_ed25519"
}

# configure_ssh DIR: login by key only (root, and the deploy user), one host key (shared, so clients can pin it).
configure_ssh() {
  local dir=$1
  rm -f "$dir"/etc/ssh/ssh_host_*
  install -m 600 "$SSH_DIR/host_ed25519" "$dir/etc/ssh/ssh_host_ed25519_key"
  install -m 644 "$SSH_DIR/host_ed25519.pub" "$dir/etc/ssh/ssh_host_ed25519_key.pub"
  install -d -m 700 "$dir/root/.ssh"
  install -m 600 "$SSH_DIR/id_ed25519.pub" "$dir/root/.ssh/authorized_keys"
  # deploy: the production SSH user's shape, same key, passwordless sudo (steps run as `sudo -n bash -c …`).
  chroot "$dir" useradd --create-home --shell /bin/bash "$DEPLOY_USER"
  install -d -m 700 "$dir/home/$DEPLOY_USER/.ssh"
  install -m 600 "$SSH_DIR/id_ed25519.pub" "$dir/home/$DEPLOY_USER/.ssh/authorized_keys"
  chroot "$dir" chown -R "$DEPLOY_USER:" "/home/$DEPLOY_USER/.ssh"
  echo "$DEPLOY_USER ALL=(ALL) NOPASSWD:ALL" >"$dir/etc/sudoers.d/$DEPLOY_USER"
  chmod 440 "$dir/etc/sudoers.d/$DEPLOY_USER"
  cat >"$dir/etc/ssh/sshd_config.d/lab.conf" <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
CONF
}

# configure_system DIR: what a throwaway nspawn host needs (facts/testhosts.md).
configure_system() {
  local dir=$1 unit
  : >"$dir/etc/machine-id"          # empty: systemd makes a fresh transient id per boot
  rm -f "$dir/var/lib/dbus/machine-id" "$dir/etc/hostname"  # hostname is written per host by hosts.sh
  rm -f "$dir/etc/resolv.conf" && : >"$dir/etc/resolv.conf"  # nothing beyond the bridge is reachable: no resolver
  for unit in "${MASKED_UNITS[@]}"; do ln -sfn /dev/null "$dir/etc/systemd/system/$unit"; done
  # Trimmed to keep the build small. No apt lists either: a step that reaches for apt fails loudly.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* \
    "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
}

build() {
  local mirror=${LAB_MIRROR:-$(machine_mirror)} tmp=$LAB_DIR/rootfs.new started=$SECONDS
  if [[ -z "$mirror" ]]; then
    log "no Debian mirror for $SUITE in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set LAB_MIRROR"
    exit 2
  fi
  mkdir -p "$LAB_DIR"
  rm -rf "$tmp" "$STAMP"
  log "debootstrap $SUITE (minbase + $(packages_csv))"
  if ! debootstrap --variant=minbase --include="$(packages_csv)" "$SUITE" "$tmp" "$mirror" \
    >"$LAB_DIR/debootstrap.log" 2>&1; then
    log "debootstrap failed; last lines of $LAB_DIR/debootstrap.log:"
    tail -n 20 "$LAB_DIR/debootstrap.log" >&2
    exit 1
  fi
  new_keys
  configure_ssh "$tmp"
  configure_system "$tmp"
  rm -rf "$ROOTFS" && mv "$tmp" "$ROOTFS"
  recipe_hash >"$STAMP"
  log "built $ROOTFS in $((SECONDS - started)) s ($(du -sh "$ROOTFS" | cut -f1))"
}

main() {
  case "${1:-ensure}" in
    ensure) if stale || [[ ! -f "$SSH_DIR/id_ed25519" ]]; then build; else log "up to date ($ROOTFS)"; fi ;;
    build) build ;;
    stale) stale ;;
    *) log "usage: rootfs.sh [ensure|build|stale]"; exit 2 ;;
  esac
}

main "$@"
