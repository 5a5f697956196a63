# The IPv6 announcement on attach: a dual-stack endpoint sends an unsolicited neighbour
# advertisement for its address once it is set (ndisc_notify), seen on the bridge as a real
# frame (to ff02::1, Override set, Solicited clear, the endpoint's MAC), and a neighbour that
# cached another MAC for that address follows it at once instead of after its timeout.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
# nas BRIDGE SECONDS OUT: writes one line per ICMPv6 neighbour advertisement seen on BRIDGE for
# SECONDS to OUT ("target dst-ip src-mac flags"), in the background; returns once it listens.
nas() {
  rm -f "$3" "$3.ready"
  python3 -c '
import ipaddress, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0)); s.settimeout(0.05)
open(sys.argv[3] + ".ready", "w").close()
out, end = [], time.time() + float(sys.argv[2])
while time.time() < end:
    try: f = s.recv(2048)
    except socket.timeout: continue
    if f[12:14] != b"\x86\xdd" or f[20] != 58 or len(f) < 78 or f[54] != 136: continue
    flags = ("R" if f[58] & 0x80 else "") + ("S" if f[58] & 0x40 else "") + ("O" if f[58] & 0x20 else "")
    out.append("%s %s %s %s" % (ipaddress.IPv6Address(f[62:78]), ipaddress.IPv6Address(f[38:54]),
                                f[6:12].hex(":"), flags or "-"))
open(sys.argv[3], "w").write("".join(l + "\n" for l in out))' "$1" "$2" "$3" & pids+=($!)
  for _ in $(seq 100); do [ -e "$3.ready" ] && return; sleep 0.02; done
  fail "no listener on $1"
}
lladdr6() { ip -n "$1" -j -6 neigh show "$2" dev eth0 | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j[0].get("lladdr","") if j else "")'; }

nc_ network create --ipv6 --subnet 10.73.0.0/24 --subnet fd00:73::/64 dual >/dev/null
br="nc-$(nc_ network inspect dual | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"][:12])')"
for s in a b c; do nc_ sandbox create "$s" >/dev/null; done
nc_ network connect --ip6 fd00:73::2 dual b >/dev/null

# a attaches with a MAC of its own: its advertisement is on the bridge.
nas "$br" 1.5 "$NETCTL_ROOT/na_a"
nc_ network connect --mac 02:00:00:00:00:99 --ip6 fd00:73::5 dual a >/dev/null
wait "${pids[-1]}"
grep -E '^fd00:73::5 ff02::1 02:00:00:00:00:99 O$' "$NETCTL_ROOT/na_a" >/dev/null ||
  fail "no unsolicited NA for fd00:73::5 from a on $br; saw: $(cat "$NETCTL_ROOT/na_a")"
# b talks to a and caches a's MAC.
for _ in $(seq 20); do ip netns exec b busybox ping -6 -c1 -W1 fd00:73::5 >/dev/null 2>&1 && break; done
[ "$(lladdr6 b fd00:73::5)" = 02:00:00:00:00:99 ] || fail "b did not cache a's MAC: $(lladdr6 b fd00:73::5)"

# a leaves; c takes fd00:73::5 with another MAC: announced, b's entry follows without b asking.
nc_ network disconnect dual a >/dev/null
nas "$br" 1.5 "$NETCTL_ROOT/na_c"
nc_ network connect --ip6 fd00:73::5 dual c >/dev/null
mac_c=$(ip netns exec c cat /sys/class/net/eth0/address)
for _ in $(seq 20); do [ "$(lladdr6 b fd00:73::5)" = "$mac_c" ] && break; sleep 0.05; done
[ "$(lladdr6 b fd00:73::5)" = "$mac_c" ] || fail "b still has $(lladdr6 b fd00:73::5) for fd00:73::5, not $mac_c"
wait "${pids[-1]}"
grep -E "^fd00:73::5 ff02::1 $mac_c O\$" "$NETCTL_ROOT/na_c" >/dev/null ||
  fail "no unsolicited NA for fd00:73::5 from c; saw: $(cat "$NETCTL_ROOT/na_c")"
nc_ sandbox rm --force a b c >/dev/null
nc_ network rm dual >/dev/null
echo ok
