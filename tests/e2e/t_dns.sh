# Service discovery (issue 24) with real queries from inside containers (busybox nslookup, the
# resolv.conf `run` writes): names and aliases on a shared network, NAME.NETWORK, scope by network,
# PTR, forwarding to an upstream the test runs (truncated over UDP, then TCP), a name that resolves
# as soon as `run -d` returns and is gone as soon as `rm` returns, the server killed with -9 (doctor
# reports it, gc brings it back with every name), `-o netctl.dns=false`, and the server's exit once
# no DNS network has endpoints.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ip netns exec nb python3 "$(dirname "$0")/dns_upstream.py" 198.51.100.2 & pids+=($!)
printf 'nameserver 198.51.100.2\n' >"$NETCTL_ROOT/host-resolv.conf"
mount --bind "$NETCTL_ROOT/host-resolv.conf" /etc/resolv.conf  # this mount namespace only
server_pid() { pgrep -f "netctl-dns --root $NETCTL_ROOT" || true; }
cleanup_dns() {
  local p; p=$(server_pid); [ -z "$p" ] || kill -9 $p 2>/dev/null || true
  cleanup_run
}
trap cleanup_dns EXIT
# resolve C NAME: the addresses C's nslookup gets for NAME (not the server's), one per line.
resolve() { nc_ exec "$1" -- nslookup "$2" 2>/dev/null | awk '/^Name:/ {on = 1} on && /^Address:/ {print $2}' | sort; }
ptr() { nc_ exec "$1" -- nslookup "$2" 2>/dev/null | sed -n 's/.*name = \([^ .]*\).*/\1/p'; }
ip_on() { nc_ inspect "$1" | python3 -c "import json,sys
c=json.load(sys.stdin)[0]; print(c['NetworkSettings']['Networks']['$2']['IPAddress'])"; }
run_() { local name=$1; shift; nc_ run -d --name "$name" "$@" --rootfs "$ROOTFS" -- sleep 600 >/dev/null; }

nc_ network create --subnet 10.81.0.0/24 n1 >/dev/null
nc_ network create --subnet 10.82.0.0/24 n2 >/dev/null
run_ c1 --network n1 --network-alias web
run_ c2 --network n1 --network-alias web
run_ c3 --network n2
run_ c4 --network n1 --network n2
grep -x "nameserver 10.81.0.1" <<<"$(nc_ exec c1 -- cat /etc/resolv.conf)" >/dev/null ||
  fail "c1's resolv.conf does not point at n1's gateway: $(nc_ exec c1 -- cat /etc/resolv.conf)"
c1=$(ip_on c1 n1); c2=$(ip_on c2 n1); c3=$(ip_on c3 n2)
# inspect lists the names the server answers for, per network (Docker's DNSNames).
names=$(nc_ inspect c1 | python3 -c "import json,sys
print(json.load(sys.stdin)[0]['NetworkSettings']['Networks']['n1']['DNSNames'])")
[ "$names" = "['c1', 'web']" ] || fail "c1's DNSNames on n1: $names"
[ -n "$c1" ] && [ -n "$c2" ] && [ -n "$c3" ] || fail "addresses: '$c1' '$c2' '$c3'"

[ "$(resolve c1 c2)" = "$c2" ] || fail "c1 -> c2: '$(resolve c1 c2)', want $c2"
[ "$(resolve c2 c1)" = "$c1" ] || fail "c2 -> c1: '$(resolve c2 c1)', want $c1"
[ "$(resolve c1 c2.n1)" = "$c2" ] || fail "c1 -> c2.n1: '$(resolve c1 c2.n1)'"
[ "$(resolve c1 C2)" = "$c2" ] || fail "names are not case-insensitive"
[ "$(resolve c3 web)" = "" ] || fail "c3 (only on n2) resolves web: $(resolve c3 web)"
[ "$(resolve c4 web)" = "$(printf '%s\n' "$c1" "$c2" | sort)" ] ||
  fail "the shared alias web from c4: '$(resolve c4 web)', want both $c1 $c2"
[ "$(resolve c3 c1)" = "" ] || fail "c3 (only on n2) resolves c1"
[ "$(resolve c4 c3)" = "$c3" ] || fail "c4 (on both) -> c3: '$(resolve c4 c3)'"
[ "$(resolve c4 c1)" = "$c1" ] || fail "c4 (on both) -> c1: '$(resolve c4 c1)'"
[ "$(ptr c1 "$c2")" = c2 ] || fail "PTR of $c2: '$(ptr c1 "$c2")'"
out=$(nc_ exec c1 -- nslookup nosuchname 2>&1 || true)
grep -qi "NXDOMAIN\|can't find" <<<"$out" || fail "unknown name: $out"

# Forwarded: an upstream name, and one whose UDP answer is truncated (the server asks again over
# TCP and gets all 30 addresses).
[ "$(resolve c1 outside.example)" = 198.51.100.77 ] || fail "forwarded: '$(resolve c1 outside.example)'"
[ "$(resolve c1 big.example | wc -l)" = 30 ] || fail "truncated then TCP: $(resolve c1 big.example | wc -l) addresses"

# Fresh at once: a name resolves right after run -d returns, and is gone right after rm returns.
run_ c5 --network n1
[ "$(resolve c1 c5)" = "$(ip_on c5 n1)" ] || fail "c5 does not resolve right after run -d returned"
nc_ rm -f c5 >/dev/null
[ "$(resolve c1 c5)" = "" ] || fail "c5 still resolves right after rm returned"

# The server killed with -9: doctor reports it; gc brings it back, with every name.
p=$(server_pid); [ -n "$p" ] || fail "no netctl-dns for this root"
kill -9 "$p"; for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
rc=0; out=$(nc_ doctor 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -i "dns" <<<"$out" >/dev/null || fail "doctor with the server dead (exit $rc): $out"
nc_ gc >/dev/null
[ -n "$(server_pid)" ] || fail "gc did not restart the server"
[ "$(resolve c1 c2)" = "$c2" ] && [ "$(resolve c4 c3)" = "$c3" ] || fail "names after the restart"
nc_ doctor >/dev/null || fail "doctor after gc: $(nc_ doctor 2>&1)"

# -o netctl.dns=false: no resolver on that network's gateway for its container.
nc_ network create --subnet 10.83.0.0/24 -o netctl.dns=false quiet >/dev/null
run_ q1 --network quiet
grep -x "nameserver 10.83.0.1" <<<"$(nc_ exec q1 -- cat /etc/resolv.conf)" >/dev/null &&
  fail "a dns=false network's container points at its gateway"
ss -lnu | grep -F "10.83.0.1:53" >/dev/null && fail "the server listens on the dns=false gateway"
names=$(nc_ inspect q1 | python3 -c "import json,sys
print(json.load(sys.stdin)[0]['NetworkSettings']['Networks']['quiet']['DNSNames'])")
[ "$names" = "[]" ] || fail "q1 has DNSNames on a dns=false network: $names"
nc_ rm -f q1 >/dev/null

# Once no DNS network has endpoints, the server exits.
p=$(server_pid)
nc_ rm -f c1 c2 c3 c4 >/dev/null
for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
kill -0 "$p" 2>/dev/null && fail "the server still runs with no endpoint on a DNS network"
echo ok
