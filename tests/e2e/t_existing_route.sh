# A namespace that already routes: an `unshare -n` process with its own uplink (a veth to the
# neighbour "wan", default routes via 198.51.100.1 and 2001:db8:100::1). Connecting it to netctl
# networks leaves its default routes alone (as Docker: the endpoint takes a family's route only
# where there is none), it is reachable on the netctl subnets, records say no route;
# `--default-route` there is refused (exit 4, one line) and changes nothing; disconnecting leaves
# the uplink's routes alone. Once the IPv4 route is deleted, --default-route takes it.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT

unshare -n sleep 600 & pid=$!; pids+=($pid)
for _ in $(seq 50); do
  [ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.1
done
[ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] || fail "unshare -n"
in_() { nsenter -t "$pid" -n "$@"; }
ip netns add wan
ip -n wan link set lo up
ip link add up0 type veth peer name wan0 netns wan
ip link set up0 netns "/proc/$pid/ns/net"
ip -n wan addr add 198.51.100.1/24 dev wan0
ip -n wan addr add 2001:db8:100::1/64 dev wan0 nodad
ip -n wan link set wan0 up
in_ ip link set lo up
in_ ip addr add 198.51.100.2/24 dev up0
in_ ip addr add 2001:db8:100::2/64 dev up0 nodad
in_ ip link set up0 up
in_ ip route add default via 198.51.100.1 dev up0
in_ ip -6 route add default via 2001:db8:100::1 dev up0
via() { in_ ip "$1" route show default | awk '{print $3 " " $5}' | tr '\n' ';'; }
[ "$(via -4)" = "198.51.100.1 up0;" ] || fail "uplink setup: '$(via -4)'"
in_ busybox ping -c1 -W2 198.51.100.1 >/dev/null || fail "the uplink does not answer"
recorded() { # NETWORK: the target's DefaultRoute and DefaultRoute6 on NETWORK, "10" style
  nc_ --format json network inspect "$1" | python3 -c '
import json, sys
eps = list(json.load(sys.stdin)[0]["Containers"].values())
print("".join(str(int(e["DefaultRoute"])) + str(int(e["DefaultRoute6"])) for e in eps))'
}

nc_ network create --subnet 10.61.0.0/24 n4 >/dev/null
nc_ network create --ipv6 --subnet 10.62.0.0/24 --subnet fd00:62::/64 n46 >/dev/null
nc_ network create --subnet 10.63.0.0/24 n5 >/dev/null

# Without --default-route: joins, the uplink keeps both default routes.
nc_ network connect n4 "pid:$pid" || fail "connect n4 to a namespace with its own default route"
nc_ network connect n46 "pid:$pid" || fail "connect n46 to a namespace with its own default routes"
[ "$(via -4)" = "198.51.100.1 up0;" ] || fail "IPv4 default after connect: '$(via -4)'"
[ "$(via -6)" = "2001:db8:100::1 up0;" ] || fail "IPv6 default after connect: '$(via -6)'"
[ "$(recorded n4)" = 00 ] || fail "n4 records a default route: $(recorded n4)"
[ "$(recorded n46)" = 00 ] || fail "n46 records a default route: $(recorded n46)"
busybox ping -c1 -W2 10.61.0.2 >/dev/null || fail "host -> the process on n4"
busybox ping -c1 -W2 10.62.0.2 >/dev/null || fail "host -> the process on n46"
ok6=
for _ in $(seq 20); do busybox ping -6 -c1 -W1 fd00:62::2 >/dev/null 2>&1 && { ok6=1; break; }; sleep 0.2; done
[ -n "$ok6" ] || fail "host -> the process on n46 over IPv6"
in_ busybox ping -c1 -W2 198.51.100.1 >/dev/null || fail "the uplink after connect"
out=$(nc_ doctor) || fail "doctor: exit $?: $out"
[ "$out" = "no drift" ] || fail "doctor printed: $out"

# --default-route where the uplink routes: refused, exit 4, nothing changed (the kernel's own
# link-local routes come and go with address autoconfiguration: left out).
before=$(snapshot; in_ ip -o link show | awk '{print $2}'; in_ ip route show; in_ ip -6 route show | grep -v '^fe80::')
err=$(stderr_of 4 nc_ network connect --default-route n5 "pid:$pid")
[ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || fail "error is not one line: $err"
case "$err" in
  *"has an IPv4 default route via 198.51.100.1 dev up0 that netctl did not make"*) ;;
  *) fail "unclear refusal: $err" ;;
esac
after=$(snapshot; in_ ip -o link show | awk '{print $2}'; in_ ip route show; in_ ip -6 route show | grep -v '^fe80::')
[ "$before" = "$after" ] || fail "a refused --default-route changed something: $(diff <(echo "$before") <(echo "$after"))"
nc_ network create --internal --subnet 10.64.0.0/24 ni >/dev/null
expect_rc 2 nc_ network connect --default-route ni "pid:$pid"

# Disconnecting leaves the uplink's routes alone.
nc_ network disconnect n4 "pid:$pid"
nc_ network disconnect n46 "pid:$pid"
[ "$(via -4)" = "198.51.100.1 up0;" ] || fail "IPv4 default after disconnect: '$(via -4)'"
[ "$(via -6)" = "2001:db8:100::1 up0;" ] || fail "IPv6 default after disconnect: '$(via -6)'"

# The IPv4 route deleted: --default-route takes it (IPv4 only: n5 has no IPv6); its disconnect
# takes netctl's route away and leaves the IPv6 one.
in_ ip route del default
nc_ network connect --default-route n5 "pid:$pid"
[ "$(via -4)" = "10.63.0.1 eth0;" ] || fail "--default-route: IPv4 default '$(via -4)'"
[ "$(via -6)" = "2001:db8:100::1 up0;" ] || fail "--default-route: IPv6 default '$(via -6)'"
[ "$(recorded n5)" = 10 ] || fail "n5's record: $(recorded n5)"
nc_ network disconnect n5 "pid:$pid"
[ -z "$(via -4)" ] || fail "after disconnecting n5: '$(via -4)'"
[ "$(via -6)" = "2001:db8:100::1 up0;" ] || fail "IPv6 default after n5: '$(via -6)'"
nc_ network rm n4 n46 n5 ni >/dev/null
echo ok
