# A host without IPv6: IPv6 disabled by sysctl in the host namespace before anything exists, and
# netctl (with netctl-cni and what they start) unable to open AF_INET6 sockets (a seccomp filter,
# as every socket after booting with ipv6.disable=1), so libip6tc can read no IPv6 table. One
# network has MTU 1200, below IPv6's 1280: its bridge and veths have no IPv6 at all, and the
# kernel answers EAFNOSUPPORT to their IPv6 settings, as it does for every link after
# ipv6.disable=1. IPv4 works fully: networks, connect -p with traffic from a neighbour, run, CNI
# ADD/CHECK/DEL, disconnect, doctor clean, gc changing nothing, recovery after a crash; --ipv6 is
# refused with one clear line (exit 2) and nothing made.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
source "$(dirname "$0")/lib_run.sh"
nov6=$NETCTL_ROOT/nov6.py  # nov6.py CMD...: runs CMD with socket(AF_INET6, ...) -> EAFNOSUPPORT
cat >"$nov6" <<'PY'
import ctypes, os, struct, sys
code = [(0x20, 0, 0, 4), (0x15, 0, 5, 0xC000003E),  # arch != x86_64: allow
        (0x20, 0, 0, 0), (0x15, 0, 3, 41),          # nr != socket: allow
        (0x20, 0, 0, 16), (0x15, 0, 1, 10),         # domain != AF_INET6: allow
        (0x06, 0, 0, 0x00050000 | 97), (0x06, 0, 0, 0x7FFF0000)]  # EAFNOSUPPORT / allow
buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *c) for c in code))
class Prog(ctypes.Structure): _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
prog = Prog(len(code), ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(prog), 0, 0):
    sys.exit("nov6: seccomp: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
PY
[ "$(uname -m)" = x86_64 ] || skip "the seccomp filter is written for x86_64"
nc_() { python3 "$nov6" "$NETCTL" "$@"; }
NETCTL_CNI=${NETCTL_CNI:-$(dirname "$NETCTL")/netctl-cni}
cni_() { # CMD CID NETNS: netctl-cni without IPv6, configuration on stdin
  env CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="$3" CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
    python3 "$nov6" "$NETCTL_CNI"
}
python3 "$nov6" python3 -c 'import socket; socket.socket(socket.AF_INET6)' 2>/dev/null &&
  fail "AF_INET6 sockets work under the filter"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ask() { ip netns exec nb busybox nc -w 2 198.51.100.1 "$1" </dev/null 2>/dev/null || true; }
serve() { ip netns exec "$1" busybox nc -ll -p 80 -e echo "$2" & pids+=($!); }
listening() { for _ in $(seq 50); do ip netns exec "$1" ss -ltn | grep ':80 ' >/dev/null && return; sleep 0.1; done; fail "no server in $1"; }
dnat() { fw_port_count "$1"; }
doctor_clean() {
  local out
  out=$(stdout_of 0 nc_ doctor) || exit 1
  [ "$out" = "no drift" ] || fail "doctor ($1): $out"
}

# IPv4 networks and published ports, reached from the neighbour.
nc_ network create --subnet 10.74.0.0/24 v4 >/dev/null
nc_ network create --mtu 1200 --subnet 10.75.0.0/24 small >/dev/null
small_br=nc-$(nc_ --format json network inspect small | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"][:12])')
ip link show "$small_br" >/dev/null || fail "no bridge $small_br"
[ ! -e "/proc/sys/net/ipv6/conf/$small_br" ] || fail "the MTU 1200 bridge has IPv6"
nc_ sandbox create web >/dev/null
nc_ sandbox create tiny >/dev/null
nc_ network connect -p 8080:80 v4 web
nc_ network connect -p 8081:80 small tiny
serve web hello-v4; serve tiny hello-small
listening web; listening tiny
[ "$(ask 8080)" = hello-v4 ] || fail "neighbour -> host:8080"
[ "$(ask 8081)" = hello-small ] || fail "neighbour -> host:8081 (MTU 1200 network)"
doctor_clean "two endpoints with ports"
before=$(snapshot)
out=$(stdout_of 0 nc_ gc)
[ "$out" = "nothing to repair" ] || fail "gc: $out"
[ "$(snapshot)" = "$before" ] || fail "gc changed something"
# An IPv6 host address cannot be bound: refused as bad input, nothing changed.
nc_ sandbox create v6port >/dev/null
before=$(snapshot)
err=$(stderr_of 2 nc_ network connect -p '[::1]:8090:80' v4 v6port)
grep -F 'has no IPv6' <<<"$err" >/dev/null || fail "-p [::1]: $err"
[ "$(snapshot)" = "$before" ] || fail "a refused -p [::1] changed something"

# netctl run with a published port.
nc_ run -d --name httpd --network v4 -p 8084:80 --rootfs "$ROOTFS" -- /bin/httpd -f -p 80 \
  -h /var/www >/dev/null
[ "$(ip netns exec nb curl -s -m 2 http://198.51.100.1:8084/)" = hello-from-rootfs ] ||
  fail "neighbour -> run httpd:8084"
doctor_clean "with a running container"
nc_ rm --force httpd >/dev/null
[ "$(dnat 8084)" = 0 ] || fail "run's port rule outlived the container"

# CNI ADD (with a port), CHECK, DEL.
conf='{"cniVersion":"1.0.0","name":"x","type":"netctl-cni","network":"v4","runtimeConfig":{"portMappings":[{"hostPort":8085,"containerPort":80,"protocol":"tcp"}]}}'
ip netns add cni1
res=$(cni_ ADD ctr1 /run/netns/cni1 <<<"$conf") || fail "CNI ADD: $res"
serve cni1 hello-cni; listening cni1
[ "$(ask 8085)" = hello-cni ] || fail "neighbour -> CNI port 8085"
chk=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c["prevResult"]=json.loads(sys.argv[2]); print(json.dumps(c))' "$conf" "$res")
cni_ CHECK ctr1 /run/netns/cni1 <<<"$chk" >/dev/null || fail "CNI CHECK"
doctor_clean "with a CNI attachment"
cni_ DEL ctr1 /run/netns/cni1 <<<"$conf" >/dev/null || fail "CNI DEL"
[ "$(dnat 8085)" = 0 ] || fail "CNI DEL left the port rule"

# Disconnect: the ports go; doctor stays clean.
nc_ network disconnect v4 web
nc_ network disconnect small tiny
[ -z "$(ask 8080)" ] && [ -z "$(ask 8081)" ] || fail "a port answers after disconnect"
[ "$(dnat 8080)" = 0 ] && [ "$(dnat 8081)" = 0 ] || fail "port rules left after disconnect"
doctor_clean "after disconnect"

# A crash in the middle of connect -p (killed just before its firewall step, the veth pair
# made): the next command recovers, and nothing of the connect is left.
nc_ sandbox create probe >/dev/null
trace=$(NETCTL_FAIL_TRACE=1 nc_ network connect -p 8082:80 v4 probe 2>&1 >/dev/null)
k=$(sed -n 's/^netctl: step \([0-9]*\): firewall apply$/\1/p' <<<"$trace" | head -n1)
[ -n "$k" ] || fail "no firewall step in: $trace"
grep -E "^netctl: step $((k - 1)): attach " <<<"$trace" >/dev/null || fail "step $k follows no attach: $trace"
nc_ network disconnect v4 probe
links=$(ip -o link show | wc -l)
nc_ sandbox create crash >/dev/null
rc=0; NETCTL_FAIL_AT=$k:kill nc_ network connect -p 8082:80 v4 crash 2>/dev/null || rc=$?
[ "$rc" = 137 ] || fail "killed connect exited $rc, want 137"
[ "$(ip -o link show | wc -l)" -gt "$links" ] || fail "the kill left no veth: it hit the wrong step"
nc_ network create --subnet 10.76.0.0/24 after >/dev/null  # the next command: recovers first
[ "$(ip -o link show | wc -l)" = "$((links + 1))" ] || fail "recovery left links: $(ip -o link show)"
[ "$(dnat 8082)" = 0 ] || fail "recovery left the port rule"
doctor_clean "after recovery"
nc_ network connect -p 8082:80 v4 crash
serve crash hello-again; listening crash
[ "$(ask 8082)" = hello-again ] || fail "neighbour -> host:8082 after recovery"

# A crash in network create just before its firewall step (the bridge made): recovery removes the
# network's rules from both families, as its intent does not say whether it was dual-stack.
trace=$(NETCTL_FAIL_TRACE=1 nc_ network create --subnet 10.78.0.0/24 probe2 2>&1 >/dev/null)
k=$(sed -n 's/^netctl: step \([0-9]*\): firewall apply$/\1/p' <<<"$trace" | head -n1)
[ -n "$k" ] || fail "no firewall step in: $trace"
nc_ network rm probe2 >/dev/null
links=$(ip -o link show | wc -l)
rc=0; NETCTL_FAIL_AT=$k:kill nc_ network create --subnet 10.78.0.0/24 crashnet 2>/dev/null || rc=$?
[ "$rc" = 137 ] || fail "killed network create exited $rc, want 137"
[ "$(ip -o link show | wc -l)" -gt "$links" ] || fail "the kill left no bridge: it hit the wrong step"
nc_ network create --subnet 10.79.0.0/24 after2 >/dev/null  # recovers first
[ "$(ip -o link show | wc -l)" = "$((links + 1))" ] || fail "recovery left links: $(ip -o link show)"
nc_ network ls | grep crashnet && fail "crashnet survived its crash"
doctor_clean "after the recovery of network create"

# --ipv6: one clear line, exit 2, nothing made.
before=$(snapshot)
err=$(stderr_of 2 nc_ network create --ipv6 --subnet 10.77.0.0/24 --subnet fd00:77::/64 dual)
[ "$err" = "netctl: --ipv6: IPv6 is disabled on this host (net.ipv6.conf.default.disable_ipv6=1)" ] ||
  fail "--ipv6: $err"
expect_rc 2 nc_ network create --ipv6 dual2
[ "$(snapshot)" = "$before" ] || fail "a refused --ipv6 changed something"

nc_ sandbox rm --force web tiny v6port probe crash >/dev/null
nc_ network rm v4 small after after2 >/dev/null
doctor_clean "at the end"
echo ok
