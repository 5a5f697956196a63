# Throwaway hosts for tests and demos; source this file. Nothing here touches the machine's own
# network namespace: everything happens inside namespaces these functions make.

# Re-executes the calling script inside a new network + mount namespace (the "throwaway host") with
# a private tmpfs on /run/netns, loopback up and a fresh state root in $NETCTL_ROOT.
# Usage, at the top of a script: source netns-fixtures/lib.sh; throwaway_host "$0" "$@"
throwaway_host() {
  if [ -z "${NETCTL_THROWAWAY:-}" ]; then
    exec unshare --net --mount env NETCTL_THROWAWAY=1 bash "$@"
  fi
  mount --make-rprivate /
  mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns
  ip link set lo up
  NETCTL_ROOT=$(mktemp -d /tmp/netctl-test.XXXXXX)
  export NETCTL_ROOT
  trap 'rm -rf "$NETCTL_ROOT"' EXIT
}

# Adds a "LAN neighbour": a namespace NAME wired to the throwaway host by a veth pair, with address
# NB_ADDR (CIDR) on its side and HOST_ADDR (CIDR) on the host side. Use TEST-NET ranges only
# (198.51.100.0/24, 203.0.113.0/24). The host side is called "nb-NAME".
add_neighbour() {
  local name=$1 nb_addr=$2 host_addr=$3
  ip netns add "$name"
  ip link add "nb-$name" type veth peer name eth0 netns "$name"
  ip addr add "$host_addr" dev "nb-$name"
  ip link set "nb-$name" up
  ip -n "$name" link set lo up
  ip -n "$name" addr add "$nb_addr" dev eth0
  ip -n "$name" link set eth0 up
  ip -n "$name" route add default via "${host_addr%/*}"
}
