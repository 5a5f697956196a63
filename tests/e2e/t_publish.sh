# Firewall through the CLI: masquerade out, published ports in (neighbour, host address,
# 127.0.0.1, another container), a 127.0.0.1-bound port not reachable from the neighbour,
# conflicts, and nothing left after disconnect and rm.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ask() { # NS|host HOST PORT: one TCP request, prints the answer
  if [ "$1" = host ]; then busybox nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true
  else ip netns exec "$1" busybox nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true; fi
}
serve() { # NS PORT WORD: answers WORD to every TCP connection, in the background
  ip netns exec "$1" busybox nc -ll -p "$2" -e echo "$3" & pids+=($!)
}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
nc_ sandbox create web >/dev/null
nc_ sandbox create cli >/dev/null
nc_ network connect -p 8080:80 -p 127.0.0.1:8081:81 n1 web
nc_ network connect n1 cli
serve web 80 hello80; serve web 81 hello81
for _ in $(seq 50); do  # until both servers listen
  [ "$(ip netns exec web ss -ltn | grep -c -E ':(80|81) ')" = 2 ] && break; sleep 0.1
done
[ "$(ask nb 198.51.100.1 8080)" = hello80 ] || fail "neighbour -> host:8080"
[ "$(ask host 198.51.100.1 8080)" = hello80 ] || fail "host address :8080 from the host"
[ "$(ask host 127.0.0.1 8080)" = hello80 ] || fail "127.0.0.1:8080 from the host"
[ "$(ask cli 198.51.100.1 8080)" = hello80 ] || fail "another container -> host:8080"
[ "$(ask web 198.51.100.1 8080)" = hello80 ] || fail "the container -> its own port (hairpin)"
[ "$(ask host 127.0.0.1 8081)" = hello81 ] || fail "127.0.0.1:8081 from the host"
[ -z "$(ask nb 198.51.100.1 8081)" ] || fail "127.0.0.1-bound port answered the neighbour"
# The neighbour sends to 127.0.0.1 through the host: its loopback address goes (and with it the
# local table's 127/8 routes, which win over any other) and route_localnet lets 127/8 leave eth0.
# Checked before the attempt, which otherwise only asks the neighbour's own loopback.
ip netns exec nb sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
ip -n nb addr del 127.0.0.1/8 dev lo
ip -n nb route add 127.0.0.0/8 via 198.51.100.1 dev eth0
ip -n nb route get 127.0.0.1 | grep 'via 198.51.100.1 dev eth0' >/dev/null ||
  fail "neighbour does not route 127.0.0.1 to the host: $(ip -n nb route get 127.0.0.1 2>&1)"
[ -z "$(ask nb 127.0.0.1 8081)" ] || fail "neighbour reached 127.0.0.1:8081 through the host"

# Egress is masqueraded: the neighbour sees the host's address.
ip netns exec nb python3 -c '
import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.2", 9000)); s.listen(1); c,a=s.accept(); c.sendall(a[0].encode()); c.close()' &
pids+=($!)
for _ in $(seq 50); do  # until the server listens
  ip netns exec nb ss -ltn | grep 198.51.100.2:9000 >/dev/null && break; sleep 0.1
done
src=$(ask cli 198.51.100.2 9000)
[ "$src" = 198.51.100.1 ] || fail "neighbour saw source '$src', want 198.51.100.1"

# Conflicts: published twice, or held by a host process; nothing changes.
busybox nc -ll -p 8090 -e echo host & pids+=($!)
sleep 0.2
rules=$(fw_save)
nc_ sandbox create s3 >/dev/null
expect_rc 4 nc_ network connect -p 8080:80 n1 s3
err=$(stderr_of 4 nc_ network connect -p 8090:80 n1 s3)
echo "$err" | grep 'in use by pid' >/dev/null || fail "holder not named: $err"
expect_rc 2 nc_ network connect -p 80:0 n1 s3
[ "$rules" = "$(fw_save)" ] || fail "rules changed: $(diff <(echo "$rules") <(fw_save))"
# Host port 0 picks a free port from ip_local_port_range.
nc_ network connect -p 0:80 n1 s3
port=$(nc_ sandbox inspect s3 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Endpoints"][0]["Ports"][0]["HostPort"])')
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
[ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ] || fail "picked port $port outside $lo-$hi"

nc_ sandbox rm --force web cli s3
[ "$(fw_port_count)" = 0 ] || fail "port entries left after disconnect: $(fw_ports)"
nc_ network rm n1 >/dev/null
[ -z "$(fw_network_objects)" ] || fail "network rules left after rm: $(fw_network_objects)"
echo ok
