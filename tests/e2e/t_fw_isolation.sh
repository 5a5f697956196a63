# Filtering with real traffic, under either backend (tests/e2e/run.sh runs it under both): within a
# network containers talk (icc on), with icc off they do not; networks are isolated from each other,
# but a port published on one answers from another (through the host address); an internal network
# has no egress while a normal one reaches the LAN neighbour; the neighbour reaches no container
# directly, only published ports.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
serve() { # SANDBOX: answers its name on port 80
  ip netns exec "$1" busybox nc -ll -p 80 -e echo "$1" & pids+=($!)
}
listening() { for _ in $(seq 50); do ip netns exec "$1" ss -ltn | grep ':80 ' >/dev/null && return; sleep 0.1; done; fail "no server in $1"; }
ask() { ip netns exec "$1" busybox nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true; } # FROM ADDR PORT

nc_ network create --subnet 10.81.0.0/24 n1 >/dev/null
nc_ network create --subnet 10.82.0.0/24 n2 >/dev/null
nc_ network create -o com.docker.network.bridge.enable_icc=false --subnet 10.83.0.0/24 n3 >/dev/null
nc_ network create --internal --subnet 10.84.0.0/24 n4 >/dev/null
for s in a1 a2 b1 c1 c2 d1; do nc_ sandbox create "$s" >/dev/null; done
nc_ network connect --ip 10.81.0.2 n1 a1
nc_ network connect --ip 10.81.0.3 n1 a2
nc_ network connect --ip 10.82.0.2 -p 8080:80 n2 b1
nc_ network connect --ip 10.83.0.2 n3 c1
nc_ network connect --ip 10.83.0.3 n3 c2
nc_ network connect --ip 10.84.0.2 n4 d1
for s in a2 b1 c2; do serve "$s"; done
ip netns exec nb busybox nc -ll -p 7000 -e echo nb & pids+=($!)
for s in a2 b1 c2; do listening "$s"; done

[ "$(ask a1 10.81.0.3 80)" = a2 ] || fail "icc on: a1 does not reach a2"
[ -z "$(ask c1 10.83.0.3 80)" ] || fail "icc off: c1 reached c2"
[ -z "$(ask a1 10.82.0.2 80)" ] || fail "isolation: a1 (n1) reached b1 (n2)"
[ -z "$(ask c1 10.81.0.3 80)" ] || fail "isolation: c1 (n3) reached a2 (n1)"
[ "$(ask a1 198.51.100.1 8080)" = b1 ] || fail "a1 does not reach b1's published port"
[ "$(ask a1 198.51.100.2 7000)" = nb ] || fail "a1 has no egress"
[ -z "$(ask d1 198.51.100.2 7000)" ] || fail "internal: d1 reached the neighbour"
[ "$(ask nb 198.51.100.1 8080)" = b1 ] || fail "the neighbour does not reach b1's published port"
ip -n nb route add 10.81.0.0/16 via 198.51.100.1
[ -z "$(ask nb 10.81.0.3 80)" ] || fail "the neighbour reached a2 directly"
nc_ doctor >/dev/null || { nc_ doctor; fail "drift"; }
nc_ sandbox rm --force a1 a2 b1 c1 c2 d1 >/dev/null
nc_ network rm n1 n2 n3 n4 >/dev/null
[ -z "$(fw_network_objects)" ] || fail "network rules left: $(fw_network_objects)"
echo ok
