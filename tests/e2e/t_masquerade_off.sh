# Bridge options with real traffic to a simulated outside host (nb, 198.51.100.2): with masquerade
# on (the default) it sees the host's address as the source of a container's connection; with
# masquerade off (Docker's long key, or the short one) the container's own address. A network's
# host_binding_ipv4 is the host address its published ports answer on: there, not on another
# local address.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ip addr add 198.51.100.3/24 dev nb-nb  # a second local address of the host
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
ask() { ip netns exec "$1" busybox nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true; }
# nb answers every TCP connection on port 7000 with the address it came from.
ip netns exec nb python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(8)
while True:
    c, a = s.accept(); c.sendall(a[0].encode()); c.close()' & pids+=($!)
ip_of() { ip netns exec "$1" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }

nc_ network create --subnet 10.65.0.0/24 on >/dev/null
nc_ network create --subnet 10.66.0.0/24 -o com.docker.network.bridge.enable_ip_masquerade=false off >/dev/null
nc_ network create --subnet 10.67.0.0/24 -o ip_masquerade=false -o host_binding_ipv4=198.51.100.3 bind >/dev/null
for n in on off bind; do nc_ sandbox create "s-$n" >/dev/null; done
nc_ network connect on s-on >/dev/null
nc_ network connect off s-off >/dev/null
nc_ network connect -p 8080:80 bind s-bind >/dev/null
for _ in $(seq 50); do ip netns exec nb ss -ltn | grep ':7000 ' >/dev/null && break; sleep 0.1; done

[ "$(ask s-on 198.51.100.2 7000)" = 198.51.100.1 ] ||
  fail "masquerade on: nb saw '$(ask s-on 198.51.100.2 7000)', want the host's 198.51.100.1"
[ "$(ask s-off 198.51.100.2 7000)" = "$(ip_of s-off)" ] ||
  fail "masquerade off (long key): nb saw '$(ask s-off 198.51.100.2 7000)', want $(ip_of s-off)"
[ "$(ask s-bind 198.51.100.2 7000)" = "$(ip_of s-bind)" ] ||
  fail "masquerade off (short key): nb saw '$(ask s-bind 198.51.100.2 7000)', want $(ip_of s-bind)"

ip netns exec s-bind busybox nc -ll -p 80 -e echo up & pids+=($!)
for _ in $(seq 50); do ip netns exec s-bind ss -ltn | grep ':80 ' >/dev/null && break; sleep 0.1; done
[ "$(ask nb 198.51.100.3 8080)" = up ] || fail "the published port does not answer on host_binding_ipv4"
[ -z "$(ask nb 198.51.100.1 8080)" ] || fail "the published port answers on another host address"
nc_ sandbox rm --force s-on s-off s-bind >/dev/null
nc_ network rm on off bind >/dev/null
echo ok
