# netctl-cni under concurrency: 32 cnitool ADDs at once on one network (each with a published port),
# then 32 DELs at once. Every plugin process waits for the store's writer lock instead of failing:
# 32 distinct addresses, 32 endpoints, the rules the store asks for (doctor: no drift); then an
# empty network, no veth, no port rule, no IPAM entry.
source "$FIXTURES/lib.sh"; source "$FIXTURES/cni/lib.sh"; cni_outside
throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
cni_inside
trap 'umount -l /var/lib 2>/dev/null; rm -rf "$NETCTL_ROOT"' EXIT
N=32
nc_ network create --subnet 10.89.0.0/24 n1 >/dev/null
cni_conflist n1 1.0.0
for i in $(seq $N); do ip netns add "s$i"; done
out=$NETCTL_ROOT/out; mkdir -p "$out"
cap() { echo "{\"portMappings\":[{\"hostPort\":$((30000 + $1)),\"containerPort\":80,\"protocol\":\"tcp\"}]}"; }
pids=()
for i in $(seq $N); do
  CAP_ARGS=$(cap "$i") "$CNITOOL" add n1 "/run/netns/s$i" "c$i" >"$out/$i.json" 2>"$out/$i.err" & pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || fail "$failed of $N parallel ADDs failed: $(cat "$out"/*.err | sort | uniq -c | head -n 5)"
ips=$(for i in $(seq $N); do python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ips"][0]["address"])' "$out/$i.json"; done | sort -u | grep -c .)
[ "$ips" = $N ] || fail "$ips distinct addresses, want $N"
for i in $(seq $N); do  # each namespace holds the address its result names
  a=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ips"][0]["address"])' "$out/$i.json")
  ip -n "s$i" -o addr show dev eth0 | grep " $a " >/dev/null || fail "s$i lacks $a"
done
eps=$(nc_ --format json network inspect n1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["Containers"]))')
[ "$eps" = $N ] || fail "$eps endpoints, want $N"
[ "$(fw_port_count)" = $N ] || fail "port entries: $(fw_port_count), want $N"
nc_ doctor >/dev/null || fail "doctor found drift after parallel ADD: $(nc_ doctor 2>&1)"
pids=()
for i in $(seq $N); do
  CAP_ARGS=$(cap "$i") "$CNITOOL" del n1 "/run/netns/s$i" "c$i" 2>"$out/$i.err" & pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || fail "$failed of $N parallel DELs failed: $(cat "$out"/*.err | sort | uniq -c | head -n 5)"
eps=$(nc_ --format json network inspect n1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["Containers"]))')
[ "$eps" = 0 ] || fail "$eps endpoints left"
[ "$(ip -o link show type veth | grep -c .)" = 0 ] || fail "veths left"
[ "$(fw_port_count)" = 0 ] || fail "port entries left: $(fw_ports)"
alloc=$(nc_ --format json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["AllocatedAddresses"])')
[ "$alloc" = 0 ] || fail "$alloc IPAM entries left"
nc_ doctor >/dev/null || fail "doctor found drift after parallel DEL: $(nc_ doctor 2>&1)"
# 8 first ADDs at once on a network the conflist defines, in a state root that does not exist yet
# (the store is created by whichever process comes first): one network made, all 8 attached.
fresh=$NETCTL_ROOT/fresh
cni_conflist inl 1.0.0 '"subnet":"10.90.0.0/24","stateRoot":"'"$fresh"'"'
pids=()
for i in $(seq 8); do "$CNITOOL" add inl "/run/netns/s$i" "d$i" >/dev/null 2>"$out/$i.err" & pids+=($!); done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || fail "$failed of 8 first ADDs failed: $(cat "$out"/*.err | sort | uniq -c | head -n 5)"
[ "$(nc_ --root "$fresh" --format json network ls | python3 -c 'import json,sys; print(sum(n["Name"]=="inl" for n in json.load(sys.stdin)))')" = 1 ] ||
  fail "inline network not made exactly once"
[ "$(ip -o link show type veth | grep -c .)" = 8 ] || fail "want 8 veths on inl"
echo ok
