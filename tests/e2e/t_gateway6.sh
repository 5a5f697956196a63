# One default route holder per address family, as Docker 27 keeps them: a sandbox on an IPv4-only
# network and then on a dual-stack one reaches the outside over IPv6 through the second; each
# family moves by itself when its holder disconnects. Real traffic to a neighbour.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ip addr add 2001:db8:100::1/64 dev nb-nb nodad
ip -n nb addr add 2001:db8:100::2/64 dev eth0 nodad
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
ask() { ip netns exec mix busybox nc -w 2 "$1" 7000 </dev/null 2>/dev/null || true; }
via() { ip -n mix "$1" route show default | awk '{print $3 " " $5}'; }
# Both families answer: the neighbour's server on 7000; the sandbox's routes may need a moment
# for IPv6 neighbour discovery on fresh links.
ip netns exec nb busybox nc -ll -p 7000 -e echo nb7000 & pids+=($!)
for _ in $(seq 50); do ip netns exec nb ss -ltn | grep -q ':7000 ' && break; sleep 0.1; done
reach() { # FAMILY-LABEL ADDRESS: the sandbox reaches the neighbour at ADDRESS
  local _
  for _ in $(seq 20); do [ "$(ask "$2")" = nb7000 ] && return 0; sleep 0.2; done
  fail "$1: the sandbox does not reach the neighbour at $2 (v4 '$(via -4)', v6 '$(via -6)')"
}

nc_ network create --subnet 10.95.0.0/24 four >/dev/null
nc_ network create --ipv6 --subnet 10.96.0.0/24 --subnet fd00:96::/64 dual >/dev/null
nc_ network create --ipv6 --subnet 10.97.0.0/24 --subnet fd00:97::/64 dual2 >/dev/null
nc_ sandbox create mix >/dev/null

# IPv4-only first, then dual-stack: IPv4 from the first, IPv6 from the second.
nc_ network connect four mix
nc_ network connect dual mix
[ "$(via -4)" = "10.95.0.1 eth0" ] || fail "IPv4 default: '$(via -4)'"
[ "$(via -6)" = "fd00:96::1 eth1" ] || fail "IPv6 default: '$(via -6)'"
reach "IPv4 out through four" 198.51.100.2
reach "IPv6 out through dual" 2001:db8:100::2
routes() { nc_ --format json sandbox inspect mix | python3 -c '
import json, sys
eps = json.load(sys.stdin)[0]["Endpoints"]
print(" ".join(e["IfName"] + ":" + str(int(e["DefaultRoute"])) + str(int(e["DefaultRoute6"]))
               for e in sorted(eps, key=lambda e: e["IfName"])))'; }
[ "$(routes)" = "eth0:10 eth1:01" ] || fail "recorded routes: $(routes)"

# A second dual-stack network takes neither; its holder of IPv6 leaving hands IPv6 to it alone.
nc_ network connect dual2 mix
[ "$(routes)" = "eth0:10 eth1:01 eth2:00" ] || fail "recorded routes with dual2: $(routes)"
nc_ network disconnect dual mix
[ "$(via -4)" = "10.95.0.1 eth0" ] || fail "IPv4 default after dual left: '$(via -4)'"
[ "$(via -6)" = "fd00:97::1 eth2" ] || fail "IPv6 default after dual left: '$(via -6)'"
reach "IPv6 out through dual2" 2001:db8:100::2
# The IPv4 holder leaving: dual2 takes IPv4 too.
nc_ network disconnect four mix
[ "$(via -4)" = "10.97.0.1 eth2" ] || fail "IPv4 default after four left: '$(via -4)'"
reach "IPv4 out through dual2" 198.51.100.2
[ "$(routes)" = "eth2:11" ] || fail "recorded routes at the end: $(routes)"
nc_ doctor >/dev/null || { nc_ doctor; fail "doctor reports drift"; }

nc_ sandbox rm --force mix
nc_ network rm four dual dual2 >/dev/null
echo ok
