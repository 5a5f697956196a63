# Sandboxes and endpoints: real traffic between sandboxes, a process's namespace via pid:N, two
# networks in one sandbox, inspect output.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
ping1() { ip netns exec "$1" busybox ping -c1 -W2 "$2" >/dev/null || fail "$1 cannot reach $2"; }

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
nc_ network create --subnet 10.89.0.0/24 n2 >/dev/null
nc_ sandbox create s1 >/dev/null
nc_ sandbox create s2 >/dev/null
ip netns list | grep '^s1' >/dev/null || fail "ip netns does not see s1"
nc_ network connect n1 s1
nc_ network connect --ip 10.88.0.50 --alias web n1 s2
ip -n s1 -o addr show dev eth0 | grep 'inet 10.88.0.2/24' >/dev/null || fail "s1 eth0 lacks 10.88.0.2"
ip -n s1 route show default | grep 'via 10.88.0.1 dev eth0' >/dev/null || fail "s1 default route"
ping1 s1 10.88.0.50
ping1 s2 10.88.0.2
ping1 s1 10.88.0.1
# TCP across the bridge with busybox nc.
ip netns exec s2 busybox nc -l -p 7000 -e echo hello-from-s2 &
sleep 0.2
got=$(ip netns exec s1 busybox nc -w 2 10.88.0.50 7000 </dev/null || true)
[ "$got" = hello-from-s2 ] || fail "TCP s1 -> s2 got '$got'"
wait

# A second network: eth1, connected route only, still one default route.
nc_ network connect n2 s1
[ "$(ip -n s1 route show default | wc -l)" = 1 ] || fail "s1 has $(ip -n s1 route show default | wc -l) default routes"
ip -n s1 -o addr show dev eth1 | grep 'inet 10.89.0.2/24' >/dev/null || fail "s1 eth1"

nc_ network inspect n1 | python3 -c '
import json,sys; n=json.load(sys.stdin)[0]; c=n["Containers"]
byname={v["Name"]:v for v in c.values()}
assert set(byname)=={"s1","s2"}, byname
s2=byname["s2"]; assert s2["IPv4Address"]=="10.88.0.50/24" and s2["Aliases"]==["web"], s2
assert s2["MacAddress"]=="02:42:0a:58:00:32" and s2["IfName"]=="eth0" and s2["HostIfName"].startswith("nv"), s2'
nc_ sandbox inspect s1 | python3 -c '
import json,sys; s=json.load(sys.stdin)[0]
assert sorted(e["IfName"] for e in s["Endpoints"])==["eth0","eth1"], s'

# A process's namespace by pid.
unshare -n sleep 600 &
pid=$!
sleep 0.1
nc_ network connect n1 "pid:$pid"
nsenter -t "$pid" -n busybox ping -c1 -W2 10.88.0.2 >/dev/null || fail "pid:$pid cannot reach s1"
nc_ network disconnect n1 "pid:$pid"
nsenter -t "$pid" -n ip link show lo >/dev/null || fail "pid:$pid's namespace is gone"
nsenter -t "$pid" -n ip link show eth0 2>/dev/null && fail "eth0 still inside pid:$pid"
kill "$pid"; wait "$pid" 2>/dev/null || true
nc_ network disconnect n1 "pid:$pid" || fail "second disconnect after exit failed"

# A process that dies while connected: disconnect still works and releases its address.
unshare -n sleep 600 &
pid=$!
sleep 0.1
nc_ network connect --ip 10.88.0.77 n1 "pid:$pid"
kill "$pid"; wait "$pid" 2>/dev/null || true
nc_ network disconnect n1 "pid:$pid"
expect_rc 4 nc_ network connect --ip 10.88.0.77 n1 s1  # s1 is on n1 already
nc_ sandbox create s3 >/dev/null
nc_ network connect --ip 10.88.0.77 n1 s3 || fail "10.88.0.77 not released"

# sandbox rm refuses while endpoints are attached; --force disconnects them.
expect_rc 4 nc_ sandbox rm s1
nc_ sandbox rm --force s1 s2 s3
nc_ network rm n1 n2 >/dev/null
[ -z "$(ip -o link show | grep -E ': (nv|nc-)')" ] || fail "links left: $(ip -o link show)"
[ -z "$(ip netns list)" ] || fail "namespaces left: $(ip netns list)"
echo ok
