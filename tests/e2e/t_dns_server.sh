# The DNS server process (netctl-dns) against real queries from sandboxes: local names, forwarding
# to upstreams the test runs (a dead one skipped, one that never answers timed out, a truncated UDP
# answer asked again over TCP, SERVFAIL when none answers), names fresh at once after a change,
# the per-source rate limit, the server killed with -9 and started again by the next attach, and
# its exit once no DNS network has endpoints, and the capabilities it keeps.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
DNS=$(dirname "$NETCTL")/netctl-dns
[ -x "$DNS" ] || skip "no netctl-dns next to $NETCTL"
pids=()
server_pid() { [ -s "$NETCTL_ROOT/dns/lock" ] && head -n 1 "$NETCTL_ROOT/dns/lock" || true; }
server_alive() { local p; p=$(server_pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  if server_alive; then kill -9 "$(server_pid)" 2>/dev/null || true; fi
  rm -rf "$NETCTL_ROOT"
}
trap cleanup EXIT
# q SANDBOX NAME [TYPE] [udp|tcp]: the reply to a query from SANDBOX to n1's gateway.
q() { ip netns exec "$1" python3 "$here/dns_query.py" 10.89.0.1 "${@:2}"; }
# addrs SANDBOX NAME: what busybox nslookup in SANDBOX says NAME's addresses are.
addrs() {
  ip netns exec "$1" busybox nslookup "$2" 10.89.0.1 2>/dev/null |
    awk '/^Name:/ {on = 1} on && /^Address:/ {print $2}' | sort
}

# Upstreams in a neighbour: .2 answers (dns_upstream.py), .3 refuses (nothing listens: ICMP
# unreachable), .4 never answers (dropped).
add_neighbour up 198.51.100.2/24 198.51.100.1/24
ip -n up addr add 198.51.100.3/24 dev eth0
ip -n up addr add 198.51.100.4/24 dev eth0
ip netns exec up iptables-legacy -A INPUT -d 198.51.100.4 -j DROP
ip netns exec up python3 "$here/dns_upstream.py" 198.51.100.2 & pids+=($!)
resolv() { printf 'nameserver %s\n' "$@" >"$NETCTL_ROOT/resolv.conf"; }
resolv 198.51.100.3 198.51.100.2
mount --bind "$NETCTL_ROOT/resolv.conf" /etc/resolv.conf  # this mount namespace only

nc_ network create --subnet 10.89.0.0/24 n1 >/dev/null
nc_ network create --subnet 10.90.0.0/24 n2 >/dev/null
for s in s1 s2 s3; do nc_ sandbox create $s >/dev/null; done
nc_ network connect n1 s1
nc_ network connect n1 s2
nc_ network connect n2 s3
# The sandboxes' names, as `connect` stores them (written here when this build does not yet).
sqlite3 "$NETCTL_ROOT/netctl.db" "UPDATE endpoints SET body = json_set(body, '\$.DnsName',
  (SELECT name FROM sandboxes WHERE id = json_extract(endpoints.body, '\$.SandboxID')))
  WHERE json_extract(body, '\$.DnsName') IS NULL"
server_alive || "$DNS" --root "$NETCTL_ROOT" 2>>"$NETCTL_ROOT/dns-by-hand.log" &
for _ in $(seq 100); do [ -S "$NETCTL_ROOT/dns/sock" ] && break; sleep 0.05; done
[ -S "$NETCTL_ROOT/dns/sock" ] || fail "the server did not start: $(cat "$NETCTL_ROOT"/dns*/log* 2>/dev/null)"
# A second server of the same root exits at once, with success: one serves.
timeout 5 "$DNS" --root "$NETCTL_ROOT" || fail "a second server exited $?"
server_alive || fail "the first server is gone"
# Serving, it keeps only CAP_NET_BIND_SERVICE (bit 10), can never regain another, and cannot gain
# privileges through exec.
st=/proc/$(server_pid)/status
for f in CapEff CapPrm CapBnd; do
  [ "$(awk -v f="$f:" '$1 == f {print $2}' "$st")" = 0000000000000400 ] ||
    fail "the server's $f: $(grep "^$f:" "$st")"
done
[ "$(awk '$1 == "NoNewPrivs:" {print $2}' "$st")" = 1 ] || fail "the server may gain privileges"

ip_of() { ip -n "$1" -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; }
s1=$(ip_of s1); s2=$(ip_of s2)
[ -n "$s1" ] && [ -n "$s2" ] || fail "addresses: '$s1' '$s2'"
[ "$(addrs s1 s2)" = "$s2" ] || fail "busybox nslookup s2 from s1: '$(addrs s1 s2)', want $s2"
[ "$(q s2 s1)" = "$(printf 'rcode=0 tc=0 aa=1\n%s' "$s1")" ] || fail "s1 from s2: $(q s2 s1)"
[ "$(q s1 S2.n1 A tcp)" = "$(printf 'rcode=0 tc=0 aa=1\n%s' "$s2")" ] ||
  fail "S2.n1 over TCP: $(q s1 S2.n1 A tcp)"
rev=$(awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}' <<<"$s2")
q s1 "$rev" PTR | grep -x 's2\(\.n1\)\?' >/dev/null || fail "PTR of $s2: $(q s1 "$rev" PTR)"
q s1 nosuch | grep -x 'rcode=3 tc=0 aa=1' >/dev/null || fail "unknown local name: $(q s1 nosuch)"

# Freshness: a name written to the store resolves in the very next query.
sqlite3 "$NETCTL_ROOT/netctl.db" \
  "UPDATE endpoints SET body = json_set(body, '\$.Aliases', json_array('fresh')) WHERE
   json_extract(body, '\$.DnsName') = 's2'"
[ "$(q s1 fresh)" = "$(printf 'rcode=0 tc=0 aa=1\n%s' "$s2")" ] || fail "fresh alias: $(q s1 fresh)"

# A dual-stack network joined while the server runs: it listens on both new gateways at once.
nc_ network create --ipv6 --subnet 10.91.0.0/24 --subnet fd00:91::/64 n6 >/dev/null
nc_ network connect n6 s1
nc_ network connect n6 s2
sqlite3 "$NETCTL_ROOT/netctl.db" "UPDATE endpoints SET body = json_set(body, '\$.DnsName',
  (SELECT name FROM sandboxes WHERE id = json_extract(endpoints.body, '\$.SandboxID')))
  WHERE json_extract(body, '\$.DnsName') IS NULL"
q s1 s1 >/dev/null  # the store changed: this query's check reloads and binds n6's gateways
s2v6=$(ip -n s2 -6 -o addr show scope global | awk '{print $4}' | cut -d/ -f1)
s2n6=$(ip -n s2 -4 -o addr show | awk '$4 ~ /^10\.91\./ {print $4}' | cut -d/ -f1)
[ -n "$s2v6" ] && [ -n "$s2n6" ] || fail "s2 on n6: '$s2v6' '$s2n6'"
out=$(ip netns exec s1 python3 "$here/dns_query.py" fd00:91::1 s2 AAAA)
[ "$out" = "$(printf 'rcode=0 tc=0 aa=1\n%s' "$s2v6")" ] || fail "AAAA over IPv6: $out, want $s2v6"
out=$(ip netns exec s1 python3 "$here/dns_query.py" 10.91.0.1 s2.n6 A tcp)
[ "$out" = "$(printf 'rcode=0 tc=0 aa=1\n%s' "$s2n6")" ] || fail "s2.n6 on n6's gateway: $out"
nc_ network disconnect n6 s1
nc_ network disconnect n6 s2
q s1 s2 >/dev/null  # reloads: n6 has no endpoints left, its gateways are closed
ss -Hlnu | grep -F '10.91.0.1:53' >/dev/null && fail "still listening on n6's gateway (UDP)"
ss -Hlnt | grep -F '[fd00:91::1]:53' >/dev/null && fail "still listening on n6's gateway (TCP)"
ss -Hlnu | grep -F '10.89.0.1:53' >/dev/null || fail "not listening on n1's gateway"

# Forwarding: the first upstream refuses, the second answers.
[ "$(q s1 outside.example)" = "$(printf 'rcode=0 tc=0 aa=0\n198.51.100.77')" ] ||
  fail "forwarded name: $(q s1 outside.example)"
[ "$(addrs s1 outside.example)" = 198.51.100.77 ] || fail "busybox: $(addrs s1 outside.example)"
# Truncated over UDP upstream: asked again over TCP. Over TCP the client gets all 30 records; over
# UDP (512 bytes without EDNS: 30 records fit) too.
[ "$(q s1 big.example A tcp | grep -c '^203\.0\.113\.')" = 30 ] || fail "big over TCP: $(q s1 big.example A tcp)"
[ "$(q s1 big.example | grep -c '^203\.0\.113\.')" = 30 ] || fail "big over UDP: $(q s1 big.example)"
# An upstream that never answers: 2 s, then the next.
resolv 198.51.100.4 198.51.100.2
start=$(date +%s%N); out=$(q s1 outside.example); ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$out" = "$(printf 'rcode=0 tc=0 aa=0\n198.51.100.77')" ] || fail "after a timeout: $out"
[ "$ms" -ge 1900 ] || fail "answered in $ms ms: the silent upstream was not waited for"
# None answers: SERVFAIL.
resolv 198.51.100.4 198.51.100.3
q s1 outside.example | grep -x 'rcode=2 tc=0 aa=0' >/dev/null || fail "no upstream: $(q s1 outside.example)"
resolv 198.51.100.2

# The per-source limit: a burst far above it from s1 loses queries, s2 is still answered.
ip netns exec s1 python3 - <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
q = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x02s2\x00" + struct.pack("!HH", 1, 1)
got, start = 0, time.monotonic()
for _ in range(30):  # in batches of 100, so that no socket buffer overflows
    for _ in range(100):
        s.sendto(q, ("10.89.0.1", 53))
    try:
        for _ in range(100):
            s.recv(512); got += 1
    except socket.timeout:
        pass
took = time.monotonic() - start
# 1000 at once, then 500 a second.
assert 950 <= got <= 1000 + 500 * took + 50, f"{got} of 3000 answered in {took:.2f} s"
print(f"rate limit: {got} of 3000 answered in {took:.2f} s")
PY
[ "$(q s2 s1)" = "$(printf 'rcode=0 tc=0 aa=1\n%s' "$s1")" ] || fail "s2 starved by s1's flood"

# At most 64 TCP connections: of 70 idle ones, the ones beyond are closed at once; the first still
# answers.
ip netns exec s1 python3 - <<'PY'
import socket, struct, time
conns = [socket.create_connection(("10.89.0.1", 53), timeout=2) for _ in range(70)]
time.sleep(0.5)
closed = 0
for c in conns:
    c.setblocking(False)
    try:
        closed += c.recv(1) == b""
    except BlockingIOError:
        pass
assert 6 <= closed <= 8, f"{closed} of 70 connections closed"
q = struct.pack("!HHHHHH", 9, 0x0100, 1, 0, 0, 0) + b"\x02s2\x00" + struct.pack("!HH", 1, 1)
c = next(c for c in conns if c.fileno() >= 0)
c.setblocking(True)
c.sendall(struct.pack("!H", len(q)) + q)
assert len(c.recv(2)) == 2, "no reply on an accepted connection"
PY

# Killed with -9: the next attach starts it again (through DnsControl::ensure) with every name.
old=$(server_pid)
kill -9 "$old"
for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
nc_ sandbox create s4 >/dev/null
nc_ network connect n1 s4
if ! server_alive; then
  echo "note: this netctl does not start netctl-dns on attach; started by hand"
  "$DNS" --root "$NETCTL_ROOT" 2>>"$NETCTL_ROOT/dns-by-hand.log" &
  for _ in $(seq 100); do q s2 s1 >/dev/null 2>&1 && break; sleep 0.05; done
fi
[ "$(server_pid)" != "$old" ] || fail "no new server"
[ "$(q s2 s1)" = "$(printf 'rcode=0 tc=0 aa=1\n%s' "$s1")" ] || fail "s1 after the restart: $(q s2 s1)"

# n2 gains its listener when s3 joined; once every endpoint is gone the server exits.
pid=$(server_pid)
for s in s1 s2 s3 s4; do nc_ sandbox rm -f $s >/dev/null 2>&1 || nc_ sandbox rm $s >/dev/null; done
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "the server still runs with no endpoints left"
[ -e "$NETCTL_ROOT/dns/sock" ] && fail "the socket outlived the server"
echo ok
