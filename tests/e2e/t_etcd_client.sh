# The etcd client (cnm/cluster/etcd.h) against a real 3-member cluster (netns-fixtures/etcd.sh),
# through tests/tools/etcd_probe: reads and writes, create-if-absent, leases that expire, members
# that cannot be reached, and the leader SIGKILLed while 50 create-if-absent calls run: every one
# succeeds within its deadline, and the member catches up after a restart.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$FIXTURES/etcd.sh"
etcd_test_cluster etcd_probe
p() { "$PROBE" "$ETCD_ENDPOINTS" "$@"; }
ctl_get() { etcdctl_ "$1" get "$2" --print-value-only; }

# Plain reads and writes, bytes kept as they are (keys and values travel base64-encoded).
[ "$(stdout_of 0 p put /t/a 'hello world')" != "" ] || fail "put printed nothing"
[ "$(stdout_of 0 p get /t/a)" = "hello world" ] || fail "get /t/a: $(p get /t/a)"
[ "$(ctl_get 2 /t/a)" = "hello world" ] || fail "member 2 has /t/a = '$(ctl_get 2 /t/a)'"
odd=$'a=b/c "q" \\ é'
stdout_of 0 p put "/t/$odd" "$odd" >/dev/null
[ "$(ctl_get 3 "/t/$odd")" = "$odd" ] || fail "odd bytes came back as '$(ctl_get 3 "/t/$odd")'"
expect_rc 3 p get /t/none
[ "$(stdout_of 0 p prefix /t/ | sort)" = "$(printf '/t/%s=%s\n/t/a=hello world' "$odd" "$odd" | sort)" ] ||
  fail "prefix /t/: $(p prefix /t/)"

# create_if_absent: the first creates, the second finds the key and leaves it.
stdout_of 0 p create /t/c first | grep '^done revision [0-9]' >/dev/null || fail "first create"
stdout_of 4 p create /t/c second | grep '^not done' >/dev/null || fail "second create"
[ "$(ctl_get 1 /t/c)" = first ] || fail "/t/c is '$(ctl_get 1 /t/c)' after a refused create"
stdout_of 4 p create /t/c first | grep '^not done' >/dev/null || fail "a create of an existing key \
with the same value, after an answered attempt, must be refused"
# An attempt whose answer is lost (member 1 drops its HTTP answers: packets of 100 bytes or more
# from port 2379; the handshake passes) has taken effect; the retry on member 2 finds the key
# with this call's value and counts it as created.
ip netns exec etcd1 iptables-legacy -A OUTPUT -p tcp --sport 2379 -m length --length 100:65535 -j DROP
out=$(stdout_of 0 "$PROBE" "$(etcd_url 1),$(etcd_url 2)" create /t/lost mine)
[ "$out" != "" ] && [ "$(ctl_get 2 /t/lost)" = mine ] || fail "create with a lost answer: '$out'"
stdout_of 4 "$PROBE" "$(etcd_url 1),$(etcd_url 2)" create /t/lost other >/dev/null
ip netns exec etcd1 iptables-legacy -D OUTPUT -p tcp --sport 2379 -m length --length 100:65535 -j DROP

# delete_if_value deletes only the value it names; delete_key says whether there was a key.
expect_rc 4 p delif /t/c second
[ "$(ctl_get 1 /t/c)" = first ] || fail "delif with another value deleted /t/c"
expect_rc 0 p delif /t/c first
[ -z "$(ctl_get 1 /t/c)" ] || fail "delif with its value left /t/c"
expect_rc 0 p del /t/a
expect_rc 4 p del /t/a

# A lease of 2 s: its key is there, then gone once it expires; keepalive then says so (kNotFound).
read -r lease ttl < <(stdout_of 0 p grant 2)
[ "$ttl" = 2 ] && [ "$lease" -gt 0 ] || fail "grant 2: '$lease $ttl'"
expect_rc 0 p create /t/leased mine "$lease"
stdout_of 0 p keepalive "$lease" | grep -x "$lease 2" >/dev/null || fail "keepalive of a live lease"
[ "$(ctl_get 2 /t/leased)" = mine ] || fail "the leased key is missing"
start=$(date +%s%N)
while [ -n "$(ctl_get 2 /t/leased)" ]; do
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] || fail "the leased key outlived its lease"
  sleep 0.2
done
expect_rc 3 p keepalive "$lease"
# A revoked lease takes its key at once; revoking it again is kNotFound.
read -r lease _ < <(stdout_of 0 p grant 60)
expect_rc 0 p put /t/revoked x "$lease"
expect_rc 0 p revoke "$lease"
[ -z "$(ctl_get 3 /t/revoked)" ] || fail "a revoked lease left its key"
expect_rc 3 p revoke "$lease"

# A watch on a prefix: puts and deletes in order, with their revisions; then the same history
# again from a past revision (what an agent does when it resumes).
rev=$(stdout_of 0 p put /w/a 1 | awk '{print $3}')
p watch /w/ 0 3 5000 >"$NETCTL_ROOT/watch.out" 2>&1 & watcher=$!
sleep 0.5
p put /w/b 2 >/dev/null; p put /x/ignored 0 >/dev/null; p put /w/c 3 >/dev/null; p del /w/b >/dev/null
rc=0; wait "$watcher" || rc=$?
want=$(printf 'put /w/b=2@%d\nput /w/c=3@%d\ndel /w/b@%d\nnext %d' $((rev + 1)) $((rev + 3)) \
  $((rev + 4)) $((rev + 5)))
[ "$rc" = 0 ] && [ "$(cat "$NETCTL_ROOT/watch.out")" = "$want" ] ||
  fail "watch (exit $rc): $(cat "$NETCTL_ROOT/watch.out"), want $want"
[ "$(stdout_of 0 p watch /w/ "$rev" 4 2000 | head -n 2)" = "$(printf 'put /w/a=1@%d\nput /w/b=2@%d' \
  "$rev" $((rev + 1)))" ] || fail "watch from revision $rev: $(p watch /w/ "$rev" 4 2000)"
# Nothing new: the watch ends at its time limit, saying where to resume.
[ "$(stdout_of 5 p watch /w/ $((rev + 5)) 1 300)" = "next $((rev + 5))" ] || fail "idle watch"

# Members that cannot be reached: one failed call within its deadline, one line naming them.
t0=$(date +%s%N)
err=$(stderr_of 1 "$PROBE" -d 400 http://203.0.113.99:2379,http://203.0.113.11:1 get /t/x)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 1400 ] || fail "a call to dead members took $ms ms (deadline 400 ms)"
grep '203.0.113.99:2379' <<<"$err" | grep '203.0.113.11:1' >/dev/null || fail "error: $err"
# One dead member first in the list: the call fails over and succeeds.
expect_rc 0 "$PROBE" "http://203.0.113.11:1,$ETCD_ENDPOINTS" put /t/failover ok

# One kept-alive connection for many calls.
out=$(stdout_of 0 p bench 50)
grep ', connections 1$' <<<"$out" >/dev/null || fail "bench opened more than one connection: $out"

# The leader SIGKILLed mid-run: 50 create-if-absent calls, the leader first in the client's list,
# each succeeds within its 1 s deadline.
leader=$(etcd_leader)
eps=$(etcd_url "$leader")
for i in 1 2 3; do [ "$i" = "$leader" ] || eps+=",$(etcd_url "$i")"; done
"$PROBE" "$eps" creates /kill/ 50 20 >"$NETCTL_ROOT/creates.out" 2>&1 & probe=$!
sleep 0.3
etcd_member_kill "$leader"
rc=0; wait "$probe" || rc=$?
[ "$rc" = 0 ] || fail "create_if_absent after the leader's death: $(cat "$NETCTL_ROOT/creates.out")"
grep '^created 50, slowest [0-9]* us' "$NETCTL_ROOT/creates.out" >/dev/null ||
  fail "creates: $(cat "$NETCTL_ROOT/creates.out")"
grep -E 'connections [2-9]' "$NETCTL_ROOT/creates.out" >/dev/null ||
  fail "the client never left the dead leader: $(cat "$NETCTL_ROOT/creates.out")"
live=$(( leader % 3 + 1 ))
[ "$(etcdctl_ "$live" get --prefix /kill/ --keys-only | grep -c .)" = 50 ] || fail "not 50 keys"
[ "$(etcd_leader)" != "$leader" ] || fail "the dead member still leads"
# The killed member, started again, catches up: its own (serializable) read shows the last key.
etcd_member_start "$leader"
for _ in $(seq 50); do
  [ "$(etcdctl_ "$leader" get /kill/49 --print-value-only --consistency=s)" = v49 ] && break
  sleep 0.1
done
[ "$(etcdctl_ "$leader" get /kill/49 --print-value-only --consistency=s)" = v49 ] ||
  fail "the restarted member did not catch up"
echo "ok: $(cat "$NETCTL_ROOT/creates.out")"
