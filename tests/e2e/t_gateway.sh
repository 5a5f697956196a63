# The default route of a sandbox on several networks, as Docker keeps it: an internal network
# gives none; disconnecting the network that held it moves it to a network the sandbox keeps, so a
# port published there still answers the neighbour and egress still leaves. Real traffic.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ask() { # NS HOST PORT: one TCP request from NS (or from the host), prints the answer
  if [ "$1" = host ]; then busybox nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true
  else ip netns exec "$1" busybox nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true; fi
}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
default_via() { ip -n "$1" -4 route show default | awk '{print $3 " " $5}'; }

nc_ network create --subnet 10.88.0.0/24 a >/dev/null
nc_ network create --subnet 10.89.0.0/24 b >/dev/null
nc_ network create --internal --subnet 10.90.0.0/24 i >/dev/null
nc_ sandbox create s1 >/dev/null
nc_ sandbox create s2 >/dev/null

# s2: internal first, then b: the default route is b's.
nc_ network connect i s2
[ -z "$(default_via s2)" ] || fail "an internal network gave a default route: $(default_via s2)"
nc_ network connect b s2
[ "$(default_via s2)" = "10.89.0.1 eth1" ] || fail "s2's default route: '$(default_via s2)'"

# s1: a (default route), internal i, then b with a published port; the neighbour reaches it.
nc_ network connect a s1
nc_ network connect i s1
nc_ network connect -p 8080:80 b s1
[ "$(default_via s1)" = "10.88.0.1 eth0" ] || fail "s1's default route: '$(default_via s1)'"
ip netns exec s1 busybox nc -ll -p 80 -e echo hello & pids+=($!)
for _ in $(seq 50); do ip netns exec s1 ss -ltn | grep -q ':80 ' && break; sleep 0.1; done
[ "$(ask nb 198.51.100.1 8080)" = hello ] || fail "neighbour -> 8080 before the disconnect"

# Disconnecting a moves the default route to b (not to the internal i); the port still answers the
# neighbour (its replies need the route) and s1 still reaches the neighbour.
nc_ network disconnect a s1
[ "$(default_via s1)" = "10.89.0.1 eth2" ] || fail "after disconnect: '$(default_via s1)'"
gw=$(nc_ network inspect b | python3 -c 'import json,sys; print([e["DefaultRoute"] for e in json.load(sys.stdin)[0]["Containers"].values() if e["IfName"] == "eth2"])')
[ "$gw" = "[True]" ] || fail "b's endpoint of s1 does not record the default route: $gw"
[ "$(ask nb 198.51.100.1 8080)" = hello ] || fail "neighbour -> 8080 after the disconnect"
ip netns exec nb busybox nc -ll -p 9000 -e echo out & pids+=($!)
for _ in $(seq 50); do ip netns exec nb ss -ltn | grep -q ':9000 ' && break; sleep 0.1; done
[ "$(ask s1 198.51.100.2 9000)" = out ] || fail "s1 -> neighbour after the disconnect"

# Only the internal network left: no default route.
nc_ network disconnect b s1
[ -z "$(default_via s1)" ] || fail "a default route through the internal network: $(default_via s1)"
nc_ sandbox rm --force s1 s2 >/dev/null
nc_ network rm a b i >/dev/null
echo ok
