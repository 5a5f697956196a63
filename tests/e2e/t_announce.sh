# The announcement on attach (gratuitous ARP), real neighbours: on a network where every endpoint
# so far took the MAC derived from its IPv4 address, an attach floods nothing to the other
# sandboxes (a reused address comes back with the same MAC); once an endpoint used a MAC of its
# own, a later holder of its address is announced and a neighbour's cached entry follows at once.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
# arps NS SECONDS OUT: counts the ARP frames eth0 of NS receives for SECONDS into OUT (background;
# returns once the socket listens).
arps() {
  rm -f "$3"
  ip netns exec "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("eth0", 0)); s.settimeout(0.05)
open(sys.argv[2] + ".ready", "w").close()
n, end = 0, time.time() + float(sys.argv[1])
while time.time() < end:
    try: s.recv(2048); n += 1
    except socket.timeout: pass
open(sys.argv[2], "w").write(str(n))' "$2" "$3" &
  for _ in $(seq 100); do [ -e "$3.ready" ] && return; sleep 0.02; done
  fail "no ARP listener in $1"
}
lladdr() { ip -n "$1" -j neigh show "$2" dev eth0 | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j[0].get("lladdr","") if j else "")'; }

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
for s in a b c; do nc_ sandbox create "$s" >/dev/null; done
nc_ network connect n1 b >/dev/null  # 10.88.0.2
arps b 0.5 "$NETCTL_ROOT/quiet"
nc_ network connect n1 a >/dev/null  # 10.88.0.3, 02:42:0a:58:00:03
wait
[ "$(cat "$NETCTL_ROOT/quiet")" = 0 ] || fail "an attach with a derived MAC sent b $(cat "$NETCTL_ROOT/quiet") ARP frame(s)"

# A MAC of its own: a takes .3 again with it; b talks to it and caches that MAC.
nc_ network disconnect n1 a >/dev/null
nc_ network connect --mac 02:00:00:00:00:99 n1 a >/dev/null
ip netns exec b busybox ping -c1 -W2 10.88.0.3 >/dev/null || fail "b cannot reach a"
[ "$(lladdr b 10.88.0.3)" = 02:00:00:00:00:99 ] || fail "b did not cache a's MAC: $(lladdr b 10.88.0.3)"
# a leaves; c gets .3 with the derived MAC: announced, b's entry follows without b asking.
nc_ network disconnect n1 a >/dev/null
arps b 0.5 "$NETCTL_ROOT/loud"
nc_ network connect n1 c >/dev/null
ip -n c -o addr show dev eth0 | grep ' 10.88.0.3/' >/dev/null || fail "c did not get 10.88.0.3"
for _ in $(seq 20); do [ "$(lladdr b 10.88.0.3)" = 02:42:0a:58:00:03 ] && break; sleep 0.05; done
[ "$(lladdr b 10.88.0.3)" = 02:42:0a:58:00:03 ] || fail "b still has $(lladdr b 10.88.0.3) for 10.88.0.3"
wait
[ "$(cat "$NETCTL_ROOT/loud")" -gt 0 ] || fail "b received no announcement"
# The network's inspect output stays Docker's: the bookkeeping field is not shown.
nc_ network inspect n1 | grep -i derived >/dev/null && fail "inspect shows DerivedMacsOnly"
echo ok
