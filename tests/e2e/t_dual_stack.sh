# A dual-stack network through the CLI with real IPv6 traffic: masquerade out (the neighbour sees
# the host's IPv6 address), published ports in over IPv6 (no host address, an IPv6 one), a port
# bound to an IPv4 host address not over IPv6, nothing straight to the subnet, nothing left after.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ip addr add 2001:db8:100::1/64 dev nb-nb nodad
ip -n nb addr add 2001:db8:100::2/64 dev eth0 nodad
ask() { # NS HOST PORT: one TCP request, prints the answer
  ip netns exec "$1" busybox nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true
}
serve() { # NS PORT WORD: answers WORD to every TCP connection (both families), in the background
  ip netns exec "$1" busybox nc -ll -p "$2" -e echo "$3" & pids+=($!)
}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$NETCTL_ROOT"' EXIT

nc_ network create --ipv6 --subnet 10.92.0.0/24 --subnet fd00:92::/64 dual >/dev/null
[ "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ] || fail "IPv6 forwarding not on"
nc_ sandbox create web >/dev/null
nc_ network connect --ip6 fd00:92::2 -p 8080:80 -p '[2001:db8:100::1]:8443:443' \
  -p 198.51.100.1:8081:81 dual web
serve web 80 hello80; serve web 443 hello443; serve web 81 hello81; serve nb 7000 nb7000
for _ in $(seq 50); do  # until the servers listen
  [ "$(ip netns exec web ss -ltn | grep -c -E ':(80|443|81) ')" = 3 ] && break; sleep 0.1
done
for _ in $(seq 20); do  # until IPv6 neighbours resolve (fresh links)
  ip netns exec web busybox ping -6 -c1 -W1 fd00:92::1 >/dev/null 2>&1 && break
done
[ "$(ask nb 2001:db8:100::1 8080)" = hello80 ] || fail "neighbour -> [host]:8080 over IPv6"
[ "$(ask nb 2001:db8:100::1 8443)" = hello443 ] || fail "neighbour -> [host]:8443 (IPv6 host address)"
[ "$(ask nb 198.51.100.1 8080)" = hello80 ] || fail "neighbour -> host:8080 over IPv4"
[ -z "$(ask nb 198.51.100.1 8443)" ] || fail "an IPv6-bound port answered over IPv4"
[ "$(ask nb 198.51.100.1 8081)" = hello81 ] || fail "neighbour -> host:8081 over IPv4"
[ -z "$(ask nb 2001:db8:100::1 8081)" ] || fail "an IPv4-bound port answered over IPv6"
# Masquerade: the neighbour has no route to fd00:92::/64 and still answers.
[ "$(ask web 2001:db8:100::2 7000)" = nb7000 ] || fail "container -> neighbour over IPv6 (masquerade)"
# ... and sees the host's address as the source.
ip netns exec nb python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 7001)); s.listen(8)
while True:
    c, peer = s.accept(); c.sendall(peer[0].encode() + b"\n"); c.close()' & pids+=($!)
for _ in $(seq 50); do ip netns exec nb ss -ltn | grep ':7001 ' >/dev/null && break; sleep 0.1; done
[ "$(ask web 2001:db8:100::2 7001)" = 2001:db8:100::1 ] || fail "neighbour saw $(ask web 2001:db8:100::2 7001)"
# Behind NAT the subnet is not reachable directly, not even the published container port.
ip -n nb -6 route add fd00:92::/64 via 2001:db8:100::1
[ -z "$(ask nb fd00:92::2 80)" ] || fail "neighbour reached the container straight over IPv6"

# doctor sees drift in the IPv6 tables and names it; gc repairs it.
nc_ doctor >/dev/null || { nc_ doctor; fail "doctor: drift on a clean dual-stack state"; }
fw_drop_port 8080 6
[ -z "$(ask nb 2001:db8:100::1 8080)" ] || fail "port answered with its IPv6 entry gone?"
expect_rc 1 nc_ doctor
out=$(stdout_of 1 nc_ doctor)
if is_nft; then want='missing rule: element ports6 .*8080'; else want='missing rule: \[nat6\] -A NETCTL-D-[0-9a-f]{8} -p tcp -m tcp --dport 8080'; fi
echo "$out" | grep -E "$want" >/dev/null || fail "doctor does not name the IPv6 entry: $out"
nc_ gc >/dev/null
nc_ doctor >/dev/null || { nc_ doctor; fail "drift after gc"; }
[ "$(ask nb 2001:db8:100::1 8080)" = hello80 ] || fail "gc did not put the IPv6 port back"

nc_ sandbox rm --force web
nc_ network rm dual >/dev/null
[ -z "$(fw_network_objects)" ] || fail "network rules left behind: $(fw_network_objects)"
fw_save | grep -E 'fd00:92|10\.92\.' >/dev/null && fail "rules naming the network left behind"
[ -z "$(ask nb 2001:db8:100::1 8080)" ] || fail "port still answers after rm"
echo ok
