# A (re)published SCTP port: conntrack forgets the SCTP flows to the host port (those made before
# the port was published, and those of its old mapping), so an association a client starts again
# from the same source port reaches the new container instead of following a stale NAT decision.
# Real SCTP packets (INIT chunks through raw sockets: no SCTP stack is needed) and the kernel's
# conntrack table of the throwaway host.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
# An INIT opens a flow in CLOSED (no SCTP stack answers it) or COOKIE_WAIT, 10 and 3 s by
# default: long enough here (this namespace's conntrack) that only a flush ends it.
for s in closed cookie_wait; do echo 600 >"/proc/sys/net/netfilter/nf_conntrack_sctp_timeout_$s"; done
init() { # an SCTP INIT from nb's port 40000 to the host's port 7000
  ip netns exec nb python3 -c '
import os, socket, struct
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8): crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
tag = struct.unpack("!I", os.urandom(4))[0] | 1
chunk = struct.pack("!BBHIIHHI", 1, 0, 20, tag, 65535, 1, 1, 1)  # INIT
pkt = struct.pack("!HHII", 40000, 7000, 0, 0) + chunk
pkt = pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_SCTP)
s.bind(("198.51.100.2", 0)); s.sendto(pkt, ("198.51.100.1", 0))'
}
listen() { # NS OUT: counts the SCTP packets to port 7000 NS receives, until killed (background)
  rm -f "$2" "$2.ready"
  ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_SCTP)
open(sys.argv[1] + ".ready", "w").close()
n = 0
while True:
    p = s.recv(2048); ihl = (p[0] & 15) * 4
    if p[ihl + 2:ihl + 4] == (7000).to_bytes(2, "big"):
        n += 1; open(sys.argv[1], "w").write(str(n))' "$2" & pids+=($!)
  for _ in $(seq 100); do [ -e "$2.ready" ] && return; sleep 0.02; done
  fail "no SCTP listener in $1"
}
got() { cat "$1" 2>/dev/null || echo 0; }
flows() { grep -E '^ipv4 .* sctp .* sport=40000 dport=7000 ' /proc/net/nf_conntrack || true; }

nc_ network create --subnet 10.63.0.0/24 n1 >/dev/null
nc_ network create --subnet 10.64.0.0/24 n2 >/dev/null
nc_ sandbox create a >/dev/null
nc_ sandbox create b >/dev/null
# Before anything is published the INIT is for the host itself: a flow without NAT.
init
[ "$(flows | grep -c 'src=198.51.100.1 dst=198.51.100.2 sport=7000 dport=40000')" = 1 ] ||
  fail "no unNATed SCTP flow after the first INIT: $(flows)"
nc_ network connect -p 7000:7000/sctp n1 a
a_ip=$(ip netns exec a ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
[ -z "$(flows)" ] || fail "publishing 7000/sctp left the flow made before: $(flows)"
listen a "$NETCTL_ROOT/a"
init
for _ in $(seq 20); do [ "$(got "$NETCTL_ROOT/a")" -gt 0 ] && break; sleep 0.05; done
[ "$(got "$NETCTL_ROOT/a")" -gt 0 ] || fail "the INIT after publishing did not reach a"
flows | grep "src=$a_ip dst=198.51.100.2 sport=7000 dport=40000" >/dev/null ||
  fail "no flow DNATed to a ($a_ip): $(flows)"

# Republished to another container: the flow to a is forgotten, the next INIT reaches b.
nc_ network disconnect n1 a
nc_ network connect -p 7000:7000/sctp n2 b
[ -z "$(flows)" ] || fail "republishing 7000/sctp left the old mapping's flow: $(flows)"
listen b "$NETCTL_ROOT/b"
init
for _ in $(seq 20); do [ "$(got "$NETCTL_ROOT/b")" -gt 0 ] && break; sleep 0.05; done
[ "$(got "$NETCTL_ROOT/b")" -gt 0 ] || fail "the INIT after republishing did not reach b"
nc_ network disconnect n2 b
nc_ sandbox rm --force a b >/dev/null
nc_ network rm n1 n2 >/dev/null
echo ok
