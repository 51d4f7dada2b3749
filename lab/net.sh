# shellcheck shell=bash
# Summary: network helpers for lab/hosts.sh (sourced): pick a private /24 that clashes with none of the
#          machine's routes, one bridge on it, one netns + veth per host. Nothing is routed beyond the bridge.
# Inputs:  LAB_SUBNETS (space-separated /24 prefixes to try, default 10.231.0 … 10.239.0).
# Exit codes: none of its own; callers check return codes.

LAB_SUBNETS=${LAB_SUBNETS:-10.231.0 10.232.0 10.233.0 10.234.0 10.235.0 10.236.0 10.237.0 10.238.0 10.239.0}

# ip_to_int A.B.C.D: the address as a 32-bit number.
ip_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

# cidrs_overlap A/LEN B/LEN: true when the two prefixes share any address (compared on the shorter prefix).
cidrs_overlap() {
  local a=${1%/*} alen=${1#*/} b=${2%/*} blen=${2#*/} len mask
  [[ "$1" == */* ]] || alen=32
  [[ "$2" == */* ]] || blen=32
  len=$((alen < blen ? alen : blen))
  mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
  (($(($(ip_to_int "$a") & mask)) == $(($(ip_to_int "$b") & mask))))
}

# machine_prefixes: every IPv4 destination in every routing table, plus every address (default excluded).
machine_prefixes() {
  ip -4 route show table all | awk '
    { d = $1
      if (d ~ /^(local|broadcast|unicast|unreachable|blackhole|prohibit|throw|anycast|multicast)$/) d = $2
      if (d != "default") print d }'
  ip -4 -o addr show | awk '{ print $4 }'
}

# pick_subnet: the first of LAB_SUBNETS that overlaps nothing the machine routes; prints its prefix (A.B.C).
pick_subnet() {
  local candidate prefix clash prefixes
  prefixes=$(machine_prefixes)
  for candidate in $LAB_SUBNETS; do
    clash=""
    for prefix in $prefixes; do
      if cidrs_overlap "$candidate.0/24" "$prefix"; then clash=$prefix && break; fi
    done
    if [[ -z "$clash" ]]; then echo "$candidate" && return 0; fi
  done
  return 1
}

# bridge_up NAME ADDRESS/24: the lab's private bridge, addressed so Redis and the artifact server can bind to it.
bridge_up() {
  ip link add "$1" type bridge
  ip addr add "$2" dev "$1"
  ip link set "$1" up
}

# host_net_up NETNS VETH ADDRESS/24 GATEWAY BRIDGE: a netns whose eth0 is a veth pair plugged into the bridge.
host_net_up() {
  local ns=$1 veth=$2 address=$3 gateway=$4 bridge=$5
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$bridge" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$address" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$gateway"
}

# port_free PORT: nothing on the machine listens on this TCP port, on any address.
port_free() { ! ss -ltnH | awk '{ print $4 }' | grep -qE "[:.]$1\$"; }

# free_port FIRST: the first free TCP port from FIRST on (tries 50).
free_port() {
  local port
  for ((port = $1; port < $1 + 50; port++)); do
    if port_free "$port"; then echo "$port" && return 0; fi
  done
  return 1
}
