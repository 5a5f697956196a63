# No IPv6 where nothing needs it: the host end of every endpoint (a bridge port) has IPv6 disabled
# (no link-local address, no route in the host's IPv6 tables), and on an IPv4-only network neither
# the bridge nor the container's end generates a link-local address, so an attach floods no DAD,
# MLD or router solicitation over the bridge. A dual-stack network keeps IPv6 inside.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
bridge_of() { echo "nc-$(nc_ network inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"][:12])')"; }
port_of() { ip -o link show master "$1" | awk -F': ' '{print $2}' | cut -d@ -f1; }  # BRIDGE: its one port
v6conf() { cat "/proc/sys/net/ipv6/conf/$1/$2"; }  # IF KNOB (in the caller's namespace)
v6addrs() { ip -6 -o addr show dev "$1" | awk '{print $4}'; }
# v6frames BRIDGE SECONDS OUT: writes the source MAC of every IPv6 frame seen on BRIDGE (either
# direction) for SECONDS to OUT, in the background; returns once the socket listens.
v6frames() {
  rm -f "$3" "$3.ready"
  python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0)); s.settimeout(0.05)
open(sys.argv[3] + ".ready", "w").close()
out, end = [], time.time() + float(sys.argv[2])
while time.time() < end:
    try: f = s.recv(2048)
    except socket.timeout: continue
    if f[12:14] == b"\x86\xdd": out.append(f[6:12].hex(":") + "\n")
open(sys.argv[3], "w").write("".join(out))' "$1" "$2" "$3" & pids+=($!)
  for _ in $(seq 100); do [ -e "$3.ready" ] && return; sleep 0.02; done
  fail "no listener on $1"
}

nc_ network create --subnet 10.71.0.0/24 v4 >/dev/null
nc_ network create --ipv6 --subnet 10.72.0.0/24 --subnet fd00:72::/64 dual >/dev/null
br4=$(bridge_of v4); br6=$(bridge_of dual)
[ "$(v6conf "$br4" addr_gen_mode)" = 1 ] || fail "IPv4-only bridge $br4 generates IPv6 addresses"
[ -z "$(v6addrs "$br4")" ] || fail "IPv4-only bridge has IPv6 addresses: $(v6addrs "$br4")"
v6addrs "$br6" | grep '^fd00:72::1/64$' >/dev/null || fail "dual-stack bridge lacks fd00:72::1"

# An IPv4-only attach: the container's end sends nothing IPv6 over the bridge (its DAD and MLD
# would, within a second).
nc_ sandbox create a >/dev/null
v6frames "$br4" 2.5 "$NETCTL_ROOT/frames"
nc_ network connect v4 a >/dev/null
host4=$(port_of "$br4")
[ -n "$host4" ] || fail "no port on $br4"
[ "$(v6conf "$host4" disable_ipv6)" = 1 ] || fail "bridge port $host4 has IPv6 enabled"
[ -z "$(v6addrs "$host4")" ] || fail "bridge port $host4 has IPv6 addresses: $(v6addrs "$host4")"
[ -z "$(ip -6 route show table all dev "$host4" 2>/dev/null)" ] || fail "IPv6 routes via $host4"
[ "$(ip netns exec a cat /proc/sys/net/ipv6/conf/eth0/addr_gen_mode)" = 1 ] ||
  fail "IPv4-only peer generates IPv6 addresses"
[ -z "$(ip netns exec a ip -6 -o addr show dev eth0)" ] ||
  fail "IPv4-only peer has IPv6 addresses: $(ip netns exec a ip -6 -o addr show dev eth0)"
wait "${pids[-1]}"
peer_mac=$(ip netns exec a cat /sys/class/net/eth0/address)
[ "$(grep -c "^$peer_mac\$" "$NETCTL_ROOT/frames")" = 0 ] ||
  fail "an IPv4-only peer ($peer_mac) sent $(grep -c "^$peer_mac\$" "$NETCTL_ROOT/frames") IPv6 frame(s) over $br4"
ip netns exec a busybox ping -c1 -W2 10.71.0.1 >/dev/null || fail "IPv4 does not work on v4"

# A dual-stack attach: the container's end has IPv6 (link-local too), the host end still none.
nc_ sandbox create b >/dev/null
nc_ network connect --ip6 fd00:72::5 dual b >/dev/null
host6=$(port_of "$br6")
[ "$(v6conf "$host6" disable_ipv6)" = 1 ] || fail "dual-stack bridge port $host6 has IPv6 enabled"
[ -z "$(v6addrs "$host6")" ] || fail "dual-stack bridge port has IPv6 addresses: $(v6addrs "$host6")"
ip netns exec b ip -6 -o addr show dev eth0 | grep ' fe80::' >/dev/null ||
  fail "dual-stack peer has no link-local address"
for _ in $(seq 20); do ip netns exec b busybox ping -6 -c1 -W1 fd00:72::1 >/dev/null 2>&1 && break; done
ip netns exec b busybox ping -6 -c1 -W2 fd00:72::1 >/dev/null || fail "IPv6 does not work on dual"
nc_ sandbox rm --force a b >/dev/null
nc_ network rm v4 dual >/dev/null
echo ok
