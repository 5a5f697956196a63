# Bad connect/disconnect/sandbox input: one line, its exit code, nothing changed.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
nc_ sandbox create s1 >/dev/null
nc_ sandbox create s2 >/dev/null
nc_ network connect --ip 10.88.0.10 n1 s1
ip netns exec s2 ip link add dup0 type veth peer name dup1
before=$(snapshot; ip -n s1 -o link; ip -n s2 -o link; ip netns list)

expect_rc 4 nc_ network connect n1 s1                        # same network twice
expect_rc 4 nc_ network connect --ip 10.88.0.10 n1 s2        # static IP in use
expect_rc 4 nc_ network connect --ip 10.88.0.1 n1 s2         # the gateway
expect_rc 2 nc_ network connect --ip 10.99.0.10 n1 s2        # outside the subnet
expect_rc 2 nc_ network connect --ip 10.88.0.300 n1 s2
expect_rc 2 nc_ network connect --ip6 fd00::5 n1 s2          # no IPv6 on n1
expect_rc 2 nc_ network connect --ifname abcdefghijklmnop n1 s2
expect_rc 4 nc_ network connect --ifname dup0 n1 s2          # present in the target
expect_rc 2 nc_ network connect --mac 01:00:5e:00:00:01 n1 s2
expect_rc 2 nc_ network connect --mac nonsense n1 s2
expect_rc 3 nc_ network connect n1 nosuch
expect_rc 3 nc_ network connect nonet s2
expect_rc 3 nc_ network connect n1 pid:999999
expect_rc 3 nc_ network connect n1 /run/netns/missing
expect_rc 2 nc_ network connect n1 "pid:abc"
expect_rc 2 nc_ network connect n1 "bad name"
expect_rc 3 nc_ network disconnect nonet s1
expect_rc 4 nc_ network rm n1                                # has endpoints
expect_rc 4 nc_ sandbox create s1
expect_rc 2 nc_ sandbox create "../x"
expect_rc 3 nc_ sandbox rm nosuch
expect_rc 4 nc_ sandbox rm s1
ip netns add taken
expect_rc 4 nc_ sandbox create taken
ip netns del taken

after=$(snapshot; ip -n s1 -o link; ip -n s2 -o link; ip netns list)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&2; fail "state changed"; }
# Disconnecting something that is not connected succeeds and changes nothing (idempotent).
nc_ network disconnect n1 s2
echo ok
