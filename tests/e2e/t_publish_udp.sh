# A republished UDP port reaches its new container: conntrack forgets the flows of the old
# mapping (and those made before the port was published), so a client that keeps sending from
# the same source port is not held by a stale NAT decision. Without the flush both checks fail.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
userve() { # NS WORD: answers WORD to every datagram on port 53
  ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53))
while True:
    d, a = s.recvfrom(100); s.sendto(sys.argv[1].encode(), a)' "$2" & pids+=($!)
}
uask() { # one datagram from nb's fixed port 40000 to the host's 5353; prints the answer
  ip netns exec nb python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("198.51.100.2", 40000))
s.settimeout(1)
try:
    s.sendto(b"q", ("198.51.100.1", 5353)); print(s.recvfrom(100)[0].decode())
except OSError:
    pass'
}

nc_ network create --subnet 10.61.0.0/24 n1 >/dev/null
nc_ network create --subnet 10.62.0.0/24 n2 >/dev/null
nc_ sandbox create a >/dev/null
nc_ sandbox create b >/dev/null
userve a alpha; userve b beta
sleep 0.3
# Before anything is published the datagrams reach the host itself (nobody listens): conntrack
# now remembers this flow with no NAT.
[ -z "$(uask)" ] || fail "something answered before the port was published"
nc_ network connect -p 5353:53/udp n1 a
[ "$(uask)" = alpha ] || fail "the flow made before publishing was not forgotten"
# Republish the same host port to another container: the flow to a must be forgotten.
nc_ network disconnect n1 a
nc_ network connect -p 5353:53/udp n2 b
[ "$(uask)" = beta ] || fail "the flow of the old mapping was not forgotten"
nc_ network disconnect n2 b
[ -z "$(uask)" ] || fail "answered after the port was removed"
nc_ network rm n1 n2 >/dev/null
echo ok
