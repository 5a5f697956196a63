# The overlay's global state (cnm/cluster/overlay_state.h) against a real 3-member etcd cluster
# (netns-fixtures/etcd.sh), through tests/tools/overlay_probe: network claims (repeated, VNI taken,
# VNI picked), 3 hosts x 50 concurrent allocations (150 distinct addresses and MACs, exactly 150
# keys in etcd), removal refused while addresses or peer records exist and racing allocations
# (no address outlives its network), peer records that go with their host's lease (revoked, or
# expired after 2 s) seen by a watch, and hostile records put with etcdctl that are skipped.
# OVERLAY_BENCH=1 measures allocate_address and claim_network afterwards (cnm/cluster/README.md).
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$FIXTURES/etcd.sh"
etcd_test_cluster overlay_probe
o() { "$PROBE" "$ETCD_ENDPOINTS" "$@"; }
P=/netctl/v1/
ctl_keys() { etcdctl_ "$1" get --prefix "$2" --keys-only | grep . || true; }
ctl_val() { etcdctl_ "$1" get "$2" --print-value-only; }
T=$NETCTL_ROOT
ID1=$(printf '1%.0s' $(seq 64)); ID2=$(printf '2%.0s' $(seq 64)); ID3=$(printf '3%.0s' $(seq 64))

# Claims: the name and the VNI together; the same claim again is success; another definition under
# the name, or the VNI of another network, is kConflict naming the owner; nothing half-written.
[ "$(stdout_of 0 o claim blue "$ID1" 198.51.100.0/24 198.51.100.1 5000 1450)" = "blue vni 5000" ] ||
  fail "claim blue"
[ "$(stdout_of 0 o claim blue "$ID1" 198.51.100.0/24 198.51.100.1 5000 1450)" = "blue vni 5000" ] ||
  fail "a repeated claim must succeed"
stderr_of 4 o claim blue "$ID2" 198.51.100.0/24 198.51.100.1 5000 1450 |
  grep "network blue exists with another definition" >/dev/null || fail "claim blue, other id"
stderr_of 4 o claim red "$ID2" 203.0.113.128/25 203.0.113.129 5000 0 |
  grep "VNI 5000 belongs to network blue" >/dev/null || fail "claim red with blue's VNI"
[ -z "$(ctl_keys 2 "${P}networks/red")" ] || fail "a refused claim left networks/red"
[ "$(ctl_val 3 "${P}vnis/5000")" = "{\"id\":\"$ID1\",\"network\":\"blue\"}" ] ||
  fail "vnis/5000 holds '$(ctl_val 3 "${P}vnis/5000")'"
read -r _ _ vni < <(stdout_of 0 o claim red "$ID2" 203.0.113.128/25 203.0.113.129 0 0)
[ "$vni" -ge 4096 ] && [ "$vni" -le 16777215 ] || fail "picked VNI $vni"
[ "$(stdout_of 0 o claim red "$ID2" 203.0.113.128/25 203.0.113.129 0 0)" = "red vni $vni" ] ||
  fail "a repeated claim with a picked VNI must return it"
[ "$(stdout_of 0 o ls | sort)" = "$(printf 'blue 5000\nred %s' "$vni")" ] || fail "ls: $(o ls)"
expect_rc 2 o claim bad/name "$ID3" 10.1.0.0/24 10.1.0.1 0 0
expect_rc 2 o claim green "$ID3" 10.1.0.0/24 10.1.0.0 0 0  # gateway = network address

# 3 hosts x 50 concurrent allocations in a /24 (253 free): 150 distinct addresses and MACs.
pids=()
for h in 1 2 3; do
  OVERLAY_PROBE_CALLS=1 o alloc blue "h$h" 50 >"$T/alloc$h" 2>"$T/alloc$h.err" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "an allocator failed: $(cat "$T"/alloc*.err)"; done
echo "info: 150 concurrent allocations took $(awk '/^calls/ {n += $2} END {print n}' \
  "$T"/alloc[123].err) etcd calls"
cat "$T"/alloc[123] >"$T/all"
[ "$(wc -l <"$T/all")" = 150 ] || fail "$(wc -l <"$T/all") allocations, want 150"
[ "$(awk '{print $1}' "$T/all" | sort -u | wc -l)" = 150 ] || fail "an address was given twice"
[ "$(awk '{print $2}' "$T/all" | sort -u | wc -l)" = 150 ] || fail "a MAC was given twice"
awk '{split($1, b, "."); m = sprintf("02:42:%02x:%02x:%02x:%02x", b[1], b[2], b[3], b[4]);
  if (m != $2) exit 1}' "$T/all" || fail "a MAC is not derived from its address"
grep -E '^198\.51\.100\.(0|1|255) ' "$T/all" && fail "network, gateway or broadcast handed out"
ctl_keys 1 "${P}addrs/blue/" >"$T/keys"
[ "$(wc -l <"$T/keys")" = 150 ] || fail "etcd holds $(wc -l <"$T/keys") address keys, want 150"
[ "$(sed "s|^${P}addrs/blue/||" "$T/keys" | sort)" = "$(awk '{print $1}' "$T/all" | sort)" ] ||
  fail "etcd's address keys differ from what the allocators got"
for h in 1 2 3; do
  n=$(etcdctl_ 2 get --prefix "${P}addrs/blue/" --print-value-only | grep -c "\"h$h\"")
  [ "$n" = 50 ] || fail "etcd says h$h holds $n addresses, want 50"
done
taken=$(head -n 1 "$T/alloc2" | awk '{print $1}')
stderr_of 4 o alloc blue h1 1 "$taken" | grep "held by host h2" >/dev/null || fail "alloc a taken one"
expect_rc 4 o alloc blue h1 1 198.51.100.1
expect_rc 2 o alloc blue h1 1 203.0.113.7
expect_rc 3 o alloc nosuch h1 1

# Removal is refused while any address is allocated; a release must name the owner.
stderr_of 4 o rm blue | grep "network blue has 150 address(es) allocated" >/dev/null ||
  fail "rm blue with 150 addresses"
expect_rc 4 o release blue h1 "$taken"
# Addresses nobody holds (the hostile records below use two of them).
seq 2 254 | sed 's/^/198.51.100./' | grep -vxFf <(awk '{print $1}' "$T/all") >"$T/free"
free=$(sed -n 1p "$T/free"); f2=$(sed -n 2p "$T/free"); f3=$(sed -n 3p "$T/free")
expect_rc 3 o release blue h1 "$free"

# Hosts and peer records: h1 and h2 with 60 s leases, h3 with a 2 s lease. A watch from before
# sees the records come, the hostile ones put with etcdctl as invalid, then h2's go (revoked) and
# h3's go (expired).
l1=$(stdout_of 0 o register h1 203.0.113.1 60)
l2=$(stdout_of 0 o register h2 203.0.113.2 60)
stderr_of 4 o register h2 203.0.113.9 60 | grep "VTEP 203.0.113.2" >/dev/null || fail "h2 twice"
rev=$(stdout_of 0 o peers blue | sed -n 's/^revision //p')
o watch blue $((rev + 1)) 10 9000 >"$T/watch" 2>&1 & watcher=$!
a1=$(sed -n 1p "$T/alloc1" | awk '{print $1}'); a2=$taken
l3=$(stdout_of 0 o register h3 203.0.113.3 2)
a3=$(sed -n 1p "$T/alloc3" | awk '{print $1}'); b3=$(sed -n 2p "$T/alloc3" | awk '{print $1}')
expect_rc 0 o publish blue "$l1" h1 203.0.113.1 "$a1" ep1
expect_rc 0 o publish blue "$l2" h2 203.0.113.2 "$a2" ep2
expect_rc 0 o publish blue "$l3" h3 203.0.113.3 "$a3" ep3
expect_rc 0 o publish blue "$l3" h3 203.0.113.3 "$b3" ep4
stderr_of 4 o publish blue "$l1" h1 203.0.113.1 "$a2" ep5 | grep "not held by host h1" >/dev/null ||
  fail "h1 published h2's address"
expect_rc 4 o publish blue "$l2" h1 203.0.113.1 "$a1" ep1  # h2's lease for h1
expect_rc 4 o publish blue "$l1" h1 203.0.113.9 "$a1" ep1  # another VTEP than h1's
mac() { awk -v ip="$1" '$1 == ip {print $2}' "$T/all"; }
peer_json() { printf '{"ip":"%s","mac":"%s","vtep":"203.0.113.66","host":"evil","endpoint":"x"}' "$@"; }
etcdctl_ 1 put "${P}peers/blue/10.66.0.5" "$(peer_json 10.66.0.5 02:42:0a:42:00:05)" >/dev/null
etcdctl_ 1 put "${P}peers/blue/$f2" "$(peer_json $f2 zz:zz)" >/dev/null
etcdctl_ 1 put "${P}peers/blue/$f3" 'not json' >/dev/null
out=$(stdout_of 0 o peers blue)
[ "$(grep -c '^198' <<<"$out")" = 4 ] || fail "peers blue: $out"
grep -x "$a1 $(mac "$a1") 203.0.113.1 h1 ep1" <<<"$out" >/dev/null || fail "h1's peer: $out"
grep "^skip ${P}peers/blue/10.66.0.5: .*not a host address of 198.51.100.0/24" <<<"$out" \
  >/dev/null || fail "the peer outside the subnet: $out"
grep "^skip ${P}peers/blue/$f2: invalid MAC" <<<"$out" >/dev/null || fail "bad MAC: $out"
grep "^skip ${P}peers/blue/$f3: peer record is not a JSON object" <<<"$out" >/dev/null ||
  fail "not JSON: $out"
expect_rc 0 o revoke "$l2"
out=$(stdout_of 0 o peers blue)
grep "^$a2 " <<<"$out" >/dev/null && fail "h2's peer outlived its revoked lease"
[ -z "$(ctl_keys 2 "${P}hosts/h2")" ] || fail "h2's host record outlived its lease"
start=$(date +%s%N)
while stdout_of 0 o peers blue | grep -E "^($a3|$b3) " >/dev/null; do
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] || fail "h3's peers outlived its lease"
  sleep 0.2
done
rc=0; wait "$watcher" || rc=$?
[ "$rc" = 0 ] || fail "watch (exit $rc): $(cat "$T/watch")"
want=$(printf '%s\n' "added blue $a1 203.0.113.1" "added blue $a2 203.0.113.2" \
  "added blue $a3 203.0.113.3" "added blue $b3 203.0.113.3" "removed blue $a2" \
  "removed blue $a3" "removed blue $b3" | sort)
[ "$(grep -E '^(added|removed)' "$T/watch" | sort)" = "$want" ] || fail "watch: $(cat "$T/watch")"
[ "$(grep -c '^invalid' "$T/watch")" = 3 ] || fail "watch, invalid records: $(cat "$T/watch")"
[ "$(ctl_keys 3 "${P}hosts/")" = "${P}hosts/h1" ] || fail "hosts: $(ctl_keys 3 "${P}hosts/")"

# Every address released by its owner (h1's peer record goes with its address); the hostile peer
# records still block the removal, then it is clean.
pids=()
for h in 1 2 3; do o release blue "h$h" $(awk '{print $1}' "$T/alloc$h") & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a release failed"; done
[ -z "$(ctl_keys 1 "${P}addrs/blue/")" ] || fail "addresses left after the releases"
err=$(stderr_of 4 o rm blue); grep "network blue has 3 endpoint(s) published" <<<"$err" >/dev/null ||
  fail "rm blue with hostile peer records: $err"
etcdctl_ 1 del --prefix "${P}peers/blue/" >/dev/null
expect_rc 0 o rm blue
expect_rc 3 o rm blue
[ "$(ctl_keys 2 "$P" | grep -v "^${P}hosts/" | sort)" = "$(printf '%s\n' "${P}networks/red" \
  "${P}vnis/$vni")" ] || fail "after rm blue: $(ctl_keys 2 "$P")"

# Answers lost: member 1 drops the answers of transactions that wrote (they carry "response_put";
# reads pass), so an allocation's read succeeds there and its write goes there too. The retry on
# member 2 finds the write of the unanswered attempt and takes it as its own: one address, one VNI,
# no second one leaked.
drop="OUTPUT -p tcp --sport 2379 -m string --algo bm --string response_put -j DROP"
ip netns exec etcd1 iptables-legacy -A $drop
lossy() { "$PROBE" "$(etcd_url 1),$(etcd_url 2)" "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
start=$(date +%s%N)
got=$(stdout_of 0 lossy alloc red h1 1 | awk '{print $1}')
t_alloc=$(ms_since "$start")
start=$(date +%s%N)
read -r _ _ lvni < <(stdout_of 0 lossy claim lost "$ID3" 10.3.0.0/24 10.3.0.1 0 0)
t_claim=$(ms_since "$start")
ip netns exec etcd1 iptables-legacy -D $drop
# Each waited for an answer (300 ms per attempt): the retry did happen.
[ "$t_alloc" -ge 300 ] && [ "$t_claim" -ge 300 ] || fail "no answer lost: $t_alloc ms, $t_claim ms"
[ "$(ctl_keys 2 "${P}addrs/red/")" = "${P}addrs/red/$got" ] ||
  fail "a lost answer: allocated '$got', etcd has $(ctl_keys 2 "${P}addrs/red/")"
[ "$(etcdctl_ 2 get --prefix "${P}vnis/" --print-value-only | grep -c '"lost"')" = 1 ] &&
  [ -n "$(ctl_keys 2 "${P}vnis/$lvni")" ] || fail "a lost answer: claim of lost, VNI '$lvni'"
expect_rc 0 o release red h1 "$got"
expect_rc 0 o rm lost

# Removal racing allocations: two processes allocate, check that the network is still there, and
# release, in a loop, while a third retries the removal until it wins. An address held must keep
# its network (exit 5 of a churner otherwise), and no address may be left after the removal.
stdout_of 0 o claim green "$ID3" 10.1.0.0/16 10.1.0.1 0 0 >/dev/null
pids=()
for h in 1 2; do o churn green "h$h" 100000 >/dev/null 2>"$T/churn$h.err" & pids+=($!); done
sleep 0.3
o rm-until green 2000 2>"$T/rm.err" || { kill "${pids[@]}"; fail "rm green: $(cat "$T/rm.err")"; }
for h in 1 2; do
  rc=0; wait "${pids[$((h - 1))]}" || rc=$?
  [ "$rc" = 3 ] || fail "churner $h ended with $rc, want 3 (network gone): $(cat "$T/churn$h.err")"
done
[ -z "$(ctl_keys 1 "${P}addrs/green/")" ] || fail "an address outlived its network"

if [ -n "${OVERLAY_BENCH:-}" ]; then
  stdout_of 0 o claim bench "$ID3" 10.2.0.0/16 10.2.0.1 0 0 >/dev/null
  for i in 1 2 3; do o bench-alloc bench h1 100; done
  for i in 1 2 3; do "$PROBE" -p "/bench$i/" "$ETCD_ENDPOINTS" bench-claim 100; done
fi
echo "ok: overlay state"
