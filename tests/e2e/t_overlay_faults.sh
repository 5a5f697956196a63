# The NETCTL_FAIL_AT sweep over the overlay commands (issue 27), on two hosts of a real etcd
# cluster (netns-fixtures/overlay.sh). For every step k of each command (kernel calls, cluster
# writes and store writes: cnm/kernel/fault.h), the command is killed (and, for connect, failed)
# just before step k; then the next write command on that host repairs what it left, and both
# hosts must agree with etcd: `netctl doctor` clean (it compares the kernel and the store with the
# cluster: addresses held, VXLAN entries), the addresses this host holds in etcd exactly those of
# its endpoint records, and no link left of a network without endpoints. Commands swept: connect
# (the network's first endpoint here, which makes the bridge and VXLAN device, and a later one),
# disconnect (a later endpoint, and the last, which removes the network here), create and rm.
# Then a dead host: its agent killed and never restarted, its peer records expire with its lease,
# and its addresses are freed by `gc` on another host only once the grace period has passed.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$FIXTURES/etcd.sh"
source "$FIXTURES/overlay.sh"
command -v etcd >/dev/null && command -v etcdctl >/dev/null || skip "etcd/etcdctl not installed"
OVF_DIR=$(mktemp -d /tmp/netctl-ovf.XXXXXX)
trap 'overlay_hosts_stop >/dev/null 2>&1; rm -rf "$OVF_DIR"' EXIT
overlay_hosts_start "$OVF_DIR" 2 >/dev/null || fail "overlay hosts did not start"
export NETCTL_OVERLAY_TTL=10
P=/netctl/v1/
OVF_N=0

# held HOST: the addresses host I holds in etcd for network ov, sorted.
held() {
  etcdctl_ 1 get --prefix "${P}addrs/ov/" | paste - - |
    awk -v h="$(ovf_root_id "$1")" 'index($2, "\"" h "\"") {sub(".*/", "", $1); print $1}' | sort
}
ovf_root_id() { on_host "$1" netctl --format json info | jq -r '.RootId // empty'; }
# local_addrs HOST: the addresses of its endpoint records on ov, sorted.
local_addrs() {
  on_host "$1" netctl network inspect ov 2>/dev/null |
    jq -r '.[0].Containers // {} | .[] | .IPv4Address' | cut -d/ -f1 | sort
}
# check HOST LABEL: the repair and the agreement described above.
check() {
  local h=$1 what=$2 out
  OVF_N=$((OVF_N + 1))
  on_host "$h" netctl sandbox create "fix$OVF_N" >/dev/null || fail "$what: the next command failed"
  out=$(on_host "$h" netctl doctor 2>&1) || fail "$what: doctor on host $h: $out"
  [ "$(held "$h")" = "$(local_addrs "$h")" ] ||
    fail "$what: host $h holds [$(held "$h" | xargs)] in etcd, its records [$(local_addrs "$h" | xargs)]"
  if [ -z "$(local_addrs "$h")" ]; then
    on_host "$h" ip -br link | grep -E '^(nc-|nx)' && fail "$what: links left on host $h"
  fi
  return 0
}
# steps HOST CMD...: how many fault steps CMD takes when nothing fails (it is then undone by the
# caller); fails unless one of them is a write to the cluster store.
steps() {
  local trace
  trace=$(on_host "$1" env NETCTL_FAIL_TRACE=1 "$NETCTL" "${@:2}" 2>&1 >/dev/null)
  grep -q '^netctl: step [0-9]*: cluster ' <<<"$trace" || fail "no cluster step in: $trace"
  grep -c '^netctl: step ' <<<"$trace"
}

[ -n "$(ovf_root_id 1)" ] || fail "netctl info shows no root id"
on_host 1 netctl network create -d overlay --subnet 10.79.0.0/24 ov >/dev/null || fail "create ov"
for s in a b; do on_host 1 netctl sandbox create "$s" >/dev/null; on_host 2 netctl sandbox create "$s" >/dev/null; done
on_host 2 netctl network connect ov a || fail "connect on host 2"  # a remote endpoint to program

# sweep LABEL MODE SETUP UNDO CMD...: for k = 1.. the steps CMD takes, SETUP, CMD killed (or
# failed) at k, the checks, UNDO (the state before SETUP again, whatever k left). Host 1 is checked
# at every step; host 2, whose kernel only follows etcd through its agent, at every step of the
# first sweep and after the last step of the others (CI's time budget).
OVF_EVERY2=1
sweep() {
  local label=$1 mode=$2 setup=$3 undo=$4 n k rc
  shift 4
  eval "$setup"
  n=$(steps 1 "$@")
  eval "$undo"
  [ "$n" -gt 0 ] || fail "$label: no fault step counted"
  for k in $(seq "$n"); do
    eval "$setup"
    rc=0
    on_host 1 env NETCTL_FAIL_AT="$k:$mode" "$NETCTL" "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "$label: step $k of $n ($mode) did not stop the command"
    check 1 "$label, $mode at step $k of $n"
    [ "$OVF_EVERY2" = 0 ] && [ "$k" != "$n" ] || check 2 "$label, $mode at step $k of $n"
    eval "$undo"
  done
  OVF_EVERY2=0
  echo "ok - $label: $mode at each of $n steps, repaired by the next command, etcd agrees"
}
clean1='on_host 1 netctl network disconnect ov a >/dev/null; on_host 1 netctl network disconnect ov b >/dev/null'
sweep "connect, first endpoint here" kill "$clean1" "$clean1" network connect ov a
sweep "connect, first endpoint here" fail "$clean1" "$clean1" network connect ov a
sweep "connect, a later endpoint" kill "on_host 1 netctl network connect ov a" "$clean1" network connect ov b
sweep "disconnect, a later endpoint" kill \
  "on_host 1 netctl network connect ov a; on_host 1 netctl network connect ov b" "$clean1" \
  network disconnect ov b
sweep "disconnect, the last endpoint here" kill "on_host 1 netctl network connect ov a" "$clean1" \
  network disconnect ov a
on_host 2 netctl network disconnect ov a || fail "disconnect on host 2"
sweep "network rm" kill "" \
  'on_host 1 netctl network create -d overlay --subnet 10.79.0.0/24 ov >/dev/null 2>&1 || true' \
  network rm ov
on_host 1 netctl network rm ov >/dev/null || fail "rm after the sweep"
[ -z "$(etcdctl_ 1 get --prefix "${P}networks/" --keys-only | grep .)" ] || fail "rm left a definition"
sweep "network create" kill 'on_host 1 netctl network rm ov >/dev/null 2>&1 || true' \
  'on_host 1 netctl network rm ov >/dev/null 2>&1 || true' \
  network create -d overlay --subnet 10.79.0.0/24 ov
[ -z "$(etcdctl_ 1 get --prefix "$P" --keys-only | grep -v "${P}hosts/\|${P}acks/\|^$")" ] ||
  fail "keys left: $(etcdctl_ 1 get --prefix "$P" --keys-only | grep .)"
echo "ok - nothing of the overlay left in etcd after the sweeps"

# A dead host: host 2's agent (lease TTL 2 s) SIGKILLed and nothing run there. Its peer record
# expires with the lease; its address stays held through the grace period, then gc on host 1
# frees it (the first gc marks the host dead, one after the grace period frees).
on_host 1 netctl network create -d overlay --subnet 10.79.1.0/24 ov >/dev/null || fail "create ov again"
on_host 1 netctl network connect ov a || fail "connect on host 1"
# Host 2's agent of the sweeps (TTL 10) leaves within about a second of its last endpoint; the
# connect below must start one with a TTL of 2.
for _ in $(seq 50); do [ -z "$(overlay_agent_pid 2)" ] && break; sleep 0.1; done
[ -z "$(overlay_agent_pid 2)" ] || fail "host 2's agent still runs 5 s after its last endpoint left"
on_host 2 env NETCTL_OVERLAY_TTL=2 "$NETCTL" network connect ov a || fail "connect on host 2"
h2=$(ovf_root_id 2)
pid=$(overlay_agent_pid 2)
[ -n "$pid" ] || fail "no agent on host 2"
kill -9 "$pid" || fail "kill host 2's agent ($pid)"
for _ in $(seq 60); do
  [ -n "$(etcdctl_ 1 get "${P}hosts/$h2" --keys-only | grep .)" ] || break
  sleep 0.1
done
[ -z "$(etcdctl_ 1 get "${P}hosts/$h2" --keys-only | grep .)" ] || fail "host 2's record outlived its lease"
[ -z "$(etcdctl_ 1 get --prefix "${P}peers/ov/" | grep "\"$h2\"")" ] || fail "host 2's peer record outlived its lease"
dead_addr() { etcdctl_ 1 get --prefix "${P}addrs/ov/" | grep -c "\"$h2\"" || true; }
[ "$(dead_addr)" = 1 ] || fail "host 2's address was not held after its lease ended"
NETCTL_OVERLAY_GRACE=1 on_host 1 netctl gc >/dev/null || fail "gc on host 1"
[ "$(dead_addr)" = 1 ] || fail "the first gc freed a dead host's address before the grace period"
sleep 1.2
out=$(NETCTL_OVERLAY_GRACE=1 on_host 1 netctl gc) || fail "gc on host 1: $out"
grep "freed .* of network ov: host $h2 dead" <<<"$out" >/dev/null || fail "gc said: $out"
[ "$(dead_addr)" = 0 ] || fail "gc did not free the dead host's address"
on_host 1 netctl doctor >/dev/null || fail "doctor on host 1 after the dead host's gc"
echo "ok - a dead host: its peer record expired with its lease, its address freed by gc after the grace period"
on_host 2 netctl network disconnect ov a || fail "disconnect on host 2 after its address was freed"
on_host 1 netctl network disconnect ov a || fail "disconnect on host 1"
on_host 1 netctl network rm ov >/dev/null || fail "rm ov"
