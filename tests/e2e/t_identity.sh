# Ownership and identity: reserved ranges are never subnets; a --mac equal to another address's
# derived MAC only moves automatic allocation on; a namespace that got the inode of one that ended
# (the kernel reuses freed nsfs inodes) is attached although the ended one's records remain.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"

# 1. Reserved ranges: exit 2, one line, nothing changed.
nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
before=$(snapshot)
for s in 0.0.0.0/8 127.0.0.0/8 224.0.0.0/4 240.0.0.0/4 127.1.0.0/16 239.255.0.0/24 0.0.0.0/0; do
  expect_rc 2 nc_ network create --subnet "$s" x
done
for s in ::/128 ::1/128 ff00::/8 ::/64 ff02::/64; do
  expect_rc 2 nc_ network create --ipv6 --subnet 10.90.0.0/24 --subnet "$s" x
done
err=$(stderr_of 2 nc_ network create --subnet 127.0.0.0/8 x)
case $err in *"overlaps the loopback range 127.0.0.0/8"*) ;; *) fail "127.0.0.0/8: $err" ;; esac
cfg=$NETCTL_ROOT/reserved-pools.yaml  # removed with the state root
printf 'default-address-pools:\n  - base: 127.0.0.0/8\n    size: 24\n' >"$cfg"
expect_rc 2 nc_ --config "$cfg" network create x
printf 'default-address-pools:\n  - base: ff00::/16\n    size: 64\n' >"$cfg"
expect_rc 2 nc_ --config "$cfg" network create --ipv6 x
after=$(snapshot)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&2; fail "state changed"; }
ip -o addr show | grep ' 127\.0\.0\.1/8' | grep -v ' lo ' >/dev/null && fail "127.0.0.1 on a bridge"

# 2. --mac of the next free address's derived MAC (10.89.0.4): later connects skip that address.
nc_ network create --subnet 10.89.0.0/24 n2 >/dev/null
for s in m1 m2 m3 m4 m5; do nc_ sandbox create "$s" >/dev/null; done
nc_ network connect n2 m1                          # 10.89.0.2
nc_ network connect --mac 02:42:0a:59:00:04 n2 m2  # 10.89.0.3, .4's MAC
for s in m3 m4 m5; do nc_ network connect n2 "$s" || fail "connect n2 $s after a --mac"; done
nc_ network inspect n2 | python3 -c '
import json,sys; c=json.load(sys.stdin)[0]["Containers"]
by={v["Name"]:(v["IPv4Address"],v["MacAddress"]) for v in c.values()}
want={"m1":("10.89.0.2/24","02:42:0a:59:00:02"),"m2":("10.89.0.3/24","02:42:0a:59:00:04"),
      "m3":("10.89.0.5/24","02:42:0a:59:00:05"),"m4":("10.89.0.6/24","02:42:0a:59:00:06"),
      "m5":("10.89.0.7/24","02:42:0a:59:00:07")}
assert by==want, by' || fail "n2 addresses and MACs"
for s in m3 m4 m5; do
  mac=$(ip -n "$s" -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  ip -n "$s" -o addr show dev eth0 | grep "inet 10.89.0.$((16#${mac##*:}))/24" >/dev/null ||
    fail "$s: MAC $mac does not match its address"
done
ip netns exec m3 busybox ping -c1 -W2 10.89.0.3 >/dev/null || fail "m3 cannot reach m2"
nc_ sandbox rm -f m1 m2 m3 m4 m5 >/dev/null
nc_ network rm n2 >/dev/null

# 3. 20 namespaces of processes that exit without a disconnect: the kernel hands the freed inode
# to the next one, whose connect must not be refused by the ended one's record.
declare -A seen=()
reused=0 i=0
# At least 20, and on until an inode was reused (up to 200): the case under test must happen.
while [ "$i" -lt 20 ] || { [ "$reused" = 0 ] && [ "$i" -lt 200 ]; }; do
  i=$((i + 1))
  unshare -n sleep 100 &
  pid=$!
  for _ in $(seq 50); do  # until unshare has exec'd sleep in its namespace
    [ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.02
  done
  ino=$(readlink /proc/$pid/ns/net)
  [ -n "${seen[$ino]:-}" ] && reused=$((reused + 1))
  seen[$ino]=1
  nc_ network connect n1 "pid:$pid" || fail "connect $i to pid:$pid ($ino) failed"
  nsenter -t "$pid" -n ip -o addr show dev eth0 | grep 'inet 10\.88\.0\.' >/dev/null ||
    fail "pid:$pid has no address on eth0"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done
# The kernel tears a namespace down after its last process is gone: wait for the last veth.
for _ in $(seq 100); do
  [ -z "$(ip -o link show type veth)" ] && break
  sleep 0.1
done
[ -z "$(ip -o link show type veth)" ] || fail "veths left: $(ip -o link show type veth)"
# The records of ended namespaces whose inode no later one got are dead endpoints until gc.
out=$(stdout_of 1 nc_ doctor)
echo "$out" | grep "endpoint without veth: n1 pid:" >/dev/null || fail "doctor: $out"
nc_ gc >/dev/null
nc_ doctor >/dev/null || { nc_ doctor; fail "drift after gc"; }
[ "$(nc_ --format json network inspect n1 | python3 -c '
import json,sys; print(len(json.load(sys.stdin)[0]["Containers"] or {}))')" = 0 ] ||
  fail "records left on n1 after gc"
nc_ network rm n1 >/dev/null
[ "$reused" -gt 0 ] || skip "the kernel reused no namespace inode in $i namespaces"
echo "ok ($reused of $i namespaces reused an inode)"
