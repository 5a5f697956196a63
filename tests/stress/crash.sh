#!/usr/bin/env bash
# Crash harness (issue 7.1): interrupts netctl commands with SIGKILL at random moments and at every
# step (NETCTL_FAIL_AT=<k>:kill), and fails them at every step (NETCTL_FAIL_AT=<k>); after each
# trial the next write command must recover, and then the kernel and the store must agree
# (lib.sh: check_invariants) and every object that survived must pass traffic; after the trial's
# cleanup the kernel itself (rules, links, addresses, namespaces, cgroups, processes, conntrack:
# lib.sh kernel_snapshot) and the store's rows must be as they were at the baseline.
# Usage: NETCTL=build/netctl FIXTURES=netns-fixtures tests/stress/crash.sh [RANDOM_TRIALS]
# Functions per operation (setup_X prepares, run_X sets CMD, the netctl arguments interrupted,
# verify_X checks what survived, cleanup_X returns to the baseline). For the CNI plugin, run_X sets
# BIN to netctl-cni and ENV to the CNI variables (the configuration comes on stdin from CNI_IN).
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
# `run`: its own cgroup parent and the busybox rootfs; cleanup_run (EXIT) kills what is left in
# that cgroup parent, removes it and the state root.
source "$(dirname "$0")/../e2e/lib_run.sh"
[ -n "${STRESS_TRACE:-}" ] && set -x
RANDOM_TRIALS=${1:-${CRASH_TRIALS:-200}}
SEED=${CRASH_SEED:-$RANDOM}
RANDOM=$SEED
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
KEEP_NETNS=nb
SNAP_PROBE_SRC="198.51.100.2 fd00:94::1"  # the neighbour; the host on base6 (verify_endpoint6)
SERVED=
pids=()

# Baseline: network base with sandbox keeper publishing 7000 -> 80; it must answer after every
# trial (a survivor of every crash).
nc_ network create --subnet 10.89.0.0/24 base >/dev/null
nc_ sandbox create keeper >/dev/null
nc_ network connect -p 7000:80 base keeper >/dev/null
serve keeper 80 keeper; pids+=("$SERVED")
nc_ network create --subnet 10.91.0.0/24 side >/dev/null  # a second network for disconnect_gw
# A dual-stack network: connecting and disconnecting with a published port commits the IPv4 and
# the IPv6 nat table.
nc_ network create --ipv6 --subnet 10.94.0.0/24 --subnet fd00:94::/64 base6 >/dev/null
HP=7100  # host ports for trial endpoints: a new one per trial, so a leaked rule cannot answer

# A second state root on the same host and cgroup parent, with a running container publishing
# 6300 -> 80 (below the trials' ports, which count up from 7101): every trial's command, recovery
# and cleanup must leave it as it is (it is in the kernel baseline below) and answering.
ROOT2=$NETCTL_ROOT/root2  # removed with the first root by cleanup_run
n2_() { NETCTL_ROOT=$ROOT2 "$NETCTL" "$@"; }
n2_ network create --subnet 10.95.0.0/24 other >/dev/null
n2_ run -d --name bystander --network other -p 6300:80 --rootfs "$ROOTFS" -- \
  /bin/nc -ll -p 80 -e /bin/echo bystander >/dev/null
for _ in $(seq 50); do [ "$(ask nb 198.51.100.1 6300)" = bystander ] && break; sleep 0.1; done
[ "$(ask nb 198.51.100.1 6300)" = bystander ] || fail "the second root's container does not answer"

# --- operations ---------------------------------------------------------------------------------
setup_net_create() { :; }
run_net_create() { CMD=(network create --subnet 10.90.0.0/24 t1); }
verify_net_create() {  # a surviving network takes an endpoint that reaches its gateway
  nc_ network inspect t1 >/dev/null 2>&1 || return 0
  nc_ sandbox create probe >/dev/null
  nc_ network connect t1 probe >/dev/null
  ip netns exec probe busybox ping -c1 -W2 10.90.0.1 >/dev/null || echo "t1 gateway unreachable"
  nc_ sandbox rm --force probe >/dev/null
}
cleanup_net_create() { nc_ network rm t1 >/dev/null 2>&1 || true; }

setup_connect() { nc_ sandbox create s1 >/dev/null; serve s1 80 s1; SRV=$SERVED; pids+=("$SRV"); }
run_connect() { CMD=(network connect -p "$HP:80" base s1); }
verify_endpoint() {  # the endpoint of s1 on base, if it survived, answers on its published port
  local ip; ip=$(ep_ip base s1)
  [ -n "$ip" ] || return 0
  busybox ping -c1 -W2 "$ip" >/dev/null || echo "s1 ($ip) does not answer ping"
  [ "$(ask nb 198.51.100.1 "$HP")" = s1 ] || echo "s1's port $HP does not answer the neighbour"
}
verify_connect() { verify_endpoint; }
cleanup_connect() { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null || true; unset "pids[-1]"; nc_ sandbox rm --force s1 >/dev/null; }

setup_disconnect() { setup_connect; nc_ network connect -p "$HP:80" base s1 >/dev/null; }
run_disconnect() { CMD=(network disconnect base s1); }
verify_disconnect() { verify_endpoint; }
cleanup_disconnect() { cleanup_connect; }

# s1 on network side first (its default route), then on base with a published port; disconnecting
# side moves the default route to base, which the port's replies to the neighbour need.
setup_disconnect_gw() {
  setup_connect
  nc_ network connect side s1 >/dev/null
  nc_ network connect -p "$HP:80" base s1 >/dev/null
}
run_disconnect_gw() { CMD=(network disconnect side s1); }
verify_disconnect_gw() { verify_endpoint; }
cleanup_disconnect_gw() { cleanup_connect; }

# The same over IPv6 too: a dual-stack network made (four firewall tables in one command) and an
# endpoint on base6 with a published port (its IPv4 and IPv6 nat rules).
setup_net_create6() { :; }
run_net_create6() { CMD=(network create --ipv6 --subnet 10.90.0.0/24 --subnet fd00:90::/64 t1); }
verify_net_create6() {  # a surviving network takes an endpoint that reaches both its gateways
  nc_ network inspect t1 >/dev/null 2>&1 || return 0
  nc_ sandbox create probe >/dev/null
  nc_ network connect t1 probe >/dev/null
  ip netns exec probe busybox ping -c1 -W2 10.90.0.1 >/dev/null || echo "t1 gateway unreachable"
  ip netns exec probe busybox ping -c1 -W2 fd00:90::1 >/dev/null || echo "t1 IPv6 gateway unreachable"
  nc_ sandbox rm --force probe >/dev/null
}
cleanup_net_create6() { cleanup_net_create; }

setup_connect6() { setup_connect; }
run_connect6() { CMD=(network connect -p "$HP:80" base6 s1); }
verify_endpoint6() {  # the endpoint of s1 on base6, if it survived, answers on both families
  local ip ip6
  ip=$(ep_ip base6 s1)
  [ -n "$ip" ] || return 0
  ip6=$(ip -n s1 -o -6 addr show scope global | awk '{print $4}' | cut -d/ -f1)
  busybox ping -c1 -W2 "$ip" >/dev/null || echo "s1 ($ip) does not answer ping"
  busybox ping -c1 -W2 "$ip6" >/dev/null || echo "s1 ([$ip6]) does not answer ping"
  [ "$(ask nb 198.51.100.1 "$HP")" = s1 ] || echo "s1's port $HP does not answer the neighbour"
  [ "$(busybox nc -w 2 fd00:94::1 "$HP" </dev/null 2>/dev/null || true)" = s1 ] ||
    echo "s1's port $HP does not answer on the IPv6 gateway"
}
verify_connect6() { verify_endpoint6; }
cleanup_connect6() { cleanup_connect; }
setup_disconnect6() { setup_connect; nc_ network connect -p "$HP:80" base6 s1 >/dev/null; }
run_disconnect6() { CMD=(network disconnect base6 s1); }
verify_disconnect6() { verify_endpoint6; }
cleanup_disconnect6() { cleanup_connect; }

setup_sb_create() { :; }
run_sb_create() { CMD=(sandbox create s1); }
verify_sb_create() {
  nc_ sandbox inspect s1 >/dev/null 2>&1 || return 0
  ip netns exec s1 ip link show lo >/dev/null || echo "sandbox s1 has no usable netns"
}
cleanup_sb_create() { nc_ sandbox rm --force s1 >/dev/null 2>&1 || true; }

setup_sb_rm() {  # no server in s1: a process would keep the namespace alive past the rm
  nc_ sandbox create s1 >/dev/null
  nc_ network connect -p "$HP:80" base s1 >/dev/null
}
run_sb_rm() { CMD=(sandbox rm --force s1); }
verify_sb_rm() {
  local ip; ip=$(ep_ip base s1)
  [ -z "$ip" ] || busybox ping -c1 -W2 "$ip" >/dev/null || echo "s1 ($ip) does not answer ping"
}
cleanup_sb_rm() { nc_ sandbox rm --force s1 >/dev/null 2>&1 || true; }

setup_net_rm() { nc_ network create --subnet 10.90.0.0/24 t1 >/dev/null; }
run_net_rm() { CMD=(network rm t1); }
verify_net_rm() { verify_net_create; }
cleanup_net_rm() { cleanup_net_create; }

# run -d with a published port: a container that survived answers on it; one whose run was
# interrupted is exited (the next command reaped it: no endpoint, no rule) or gone.
setup_run_d() { :; }
run_run_d() {
  CMD=(run -d --name c1 --network base -p "$HP:80" --rootfs "$ROOTFS" -- /bin/nc -ll -p 80 -e /bin/echo c1)
}
verify_run_d() {
  local st; st=$(nc_ inspect c1 2>/dev/null | python3 -c 'import json,sys
print(json.load(sys.stdin)[0]["State"]["Status"])' 2>/dev/null || true)
  case $st in
    running) [ "$(ask nb 198.51.100.1 "$HP")" = c1 ] || echo "c1 runs but its port $HP does not answer" ;;
    exited | "") [ -z "$(ask nb 198.51.100.1 "$HP")" ] || echo "c1 is $st but port $HP answers" ;;
    *) echo "c1 is '$st' after the next command" ;;
  esac
}
cleanup_run_d() { nc_ rm -f c1 >/dev/null 2>&1 || true; }

# CNI ADD and DEL, the plugin called as a runtime calls it, into a sandbox's namespace (eth9).
cni_cmd() {  # cni_cmd ADD|DEL: BIN, ENV and the stdin of the plugin call
  BIN=${NETCTL%/*}/netctl-cni
  CNI_IN=$(cni_conf base "$HP")
  ENV=(CNI_COMMAND=$1 CNI_CONTAINERID=cni1 CNI_NETNS=/run/netns/s1 CNI_IFNAME=eth9 CNI_PATH=${NETCTL%/*})
  CMD=()
}
cni_ip() { ip -n s1 -o -4 addr show dev eth9 2>/dev/null | awk '{print $4}' | cut -d/ -f1; }
setup_cni_add() { setup_connect; }
run_cni_add() { cni_cmd ADD; }
verify_cni() {  # an attachment the store kept answers on its address and published port
  local n; n=$(db "select count(*) from endpoints where json_extract(body,'\$.ContainerId') = 'cni1'")
  if [ "$n" = 0 ]; then
    [ -z "$(cni_ip)" ] || echo "eth9 in s1 has an address but no endpoint record"
    [ -z "$(ask nb 198.51.100.1 "$HP")" ] || echo "port $HP answers without an attachment"
    return 0
  fi
  busybox ping -c1 -W2 "$(cni_ip)" >/dev/null || echo "the CNI attachment ($(cni_ip)) does not answer ping"
  [ "$(ask nb 198.51.100.1 "$HP")" = s1 ] || echo "the CNI attachment's port $HP does not answer"
}
verify_cni_add() { verify_cni; }
cleanup_cni_add() { cni_cmd DEL; cni_call >/dev/null 2>&1 || true; cleanup_connect; }
setup_cni_del() { setup_connect; cni_cmd ADD; cni_call >/dev/null; }
run_cni_del() { cni_cmd DEL; }
verify_cni_del() { verify_cni; }
cleanup_cni_del() { cleanup_cni_add; }
cni_call() { printf '%s' "$CNI_IN" | env "${ENV[@]}" "$BIN"; }

ALL_OPS="net_create connect disconnect disconnect_gw net_create6 connect6 disconnect6 sb_create"
ALL_OPS+=" sb_rm net_rm run_d cni_add cni_del"
read -r -a OPS <<<"${CRASH_OPS:-$ALL_OPS}"
# The steps (cnm/kernel/fault.h) an uninterrupted run of each operation takes, as
# NETCTL_FAIL_TRACE=1 counts them (and the sweeps reach): each sweep must reach at least that
# many, so a fault plan the binary ignored (a renamed variable, a missing decorator) cannot pass
# as "0 steps". An operation that takes fewer steps after a change lowers its number here.
declare -A MIN_STEPS=([net_create]=7 [connect]=4 [disconnect]=4 [disconnect_gw]=4 [net_create6]=8
  [connect6]=4 [disconnect6]=4 [sb_create]=3 [sb_rm]=7 [net_rm]=6 [run_d]=6 [cni_add]=4 [cni_del]=4)
FAIL_AT_VAR=${CRASH_FAIL_AT_VAR:-NETCTL_FAIL_AT}  # only to show the assertion above fires

# A `run` killed before it released its workload leaves a container the supervisor reports
# exited a moment later (the held workload sees its pipe close): wait for that, up to 3 s.
settle() {
  local i
  for i in $(seq 60); do
    [ -n "$(db "select id from containers where ref = 'running'" | while read -r id; do
      [ -n "$(cat "$(ctr_cgroup "$id")/cgroup.procs" 2>/dev/null)" ] || echo "$id"
    done)" ] || return 0
    sleep 0.05
  done
}

# The command under test, replacing the subshell of its pipeline (so kill -9 reaches it), with the
# fault plan FAULT ("NAME=VALUE") if set.
exec_cmd() { exec env "${ENV[@]}" ${FAULT:+"$FAULT"} "$BIN" "${CMD[@]}"; }

# --- the kernel's own baseline ------------------------------------------------------------------
# What a bridge's first port leaves for good (its carrier; a dual-stack bridge's IPv6 link-local
# address) is made once before the baseline: a sandbox joins side and base6 and goes.
nc_ sandbox create warm >/dev/null
nc_ network connect side warm >/dev/null
nc_ network connect base6 warm >/dev/null
nc_ sandbox rm --force warm >/dev/null
for _ in $(seq 100); do [[ $(ip -o addr show) == *tentative* ]] || break; sleep 0.05; done  # DAD
# conntrack canaries (IPv4 and IPv6): flows to a port no trial publishes; netctl must leave them.
canaries() {  # canaries I (insert) | D (delete)
  command -v conntrack >/dev/null || return 0
  local v4=(-s 203.0.113.9 -d 198.51.100.1) v6=(-s 2001:db8::9 -d fd00:94::1) f
  for f in v4 v6; do
    local -n a=$f
    if [ "$1" = I ]; then
      conntrack -I "${a[@]}" -p udp --sport 5353 --dport 9 -r "${a[-1]}" -q "${a[-3]}" \
        --reply-port-src 9 --reply-port-dst 5353 -t 86400 >/dev/null 2>&1
    else
      conntrack -D "${a[@]}" -p udp --sport 5353 --dport 9 >/dev/null 2>&1
    fi
  done
}
canaries I
# The store's rows but the allocation hints (where the next address search starts).
store_rows() {
  local t
  for t in networks sandboxes endpoints containers ipam_addresses intents; do
    echo "== $t"; db "select * from $t order by 1, 2"
  done
}
require_invariants "the baseline"
# The legacy tables the snapshot's self-test probes exist from here on under either backend (a
# legacy table, once loaded, stays: made during the self-test it would read as a difference).
iptables-legacy -t nat -S >/dev/null
ip6tables-legacy -t filter -S >/dev/null
BASELINE=$(kernel_snapshot)
BASE_ROWS=$(store_rows)
# same_as_baseline WHAT: fails with the difference when the kernel or the store is not as at
# the baseline (the invariants held there, so they hold again).
same_as_baseline() {
  local now
  now=$(kernel_snapshot)
  [ "$now" = "$BASELINE" ] || fail "$1: after cleanup the kernel differs from the baseline:
$(diff <(echo "$BASELINE") <(echo "$now"))"
  now=$(store_rows)
  [ "$now" = "$BASE_ROWS" ] || fail "$1: after cleanup the store differs from the baseline:
$(diff <(echo "$BASE_ROWS") <(echo "$now"))"
}
# The snapshot is not blind: one change in each of its sections shows up in that section, and
# undoing them all gives the baseline back.
section() { awk -v s="== $1" '/^== /{on = ($0 == s)} on'; }
prove_snapshot() {
  local cg sleeper now sec
  cg=/sys/fs/cgroup/pids/$NETCTL_CGROUP_PARENT/probe
  [ -e /sys/fs/cgroup/cgroup.controllers ] && cg=/sys/fs/cgroup/$NETCTL_CGROUP_PARENT/probe
  ip link add nc-snapprobe type bridge
  ip addr add 203.0.113.77/32 dev nb-nb
  iptables-legacy -t nat -N NETCTL-SNAPPROBE
  ip6tables-legacy -t filter -N NETCTL-SNAPPROBE
  nft add table inet netctl-snapprobe
  ip netns add snapprobe
  mkdir -p "$cg"
  sleep 600 & sleeper=$!; pids+=("$sleeper")
  canaries D
  now=$(kernel_snapshot)
  for sec in iptables ip6tables nftables links addresses netns cgroups processes \
    $(command -v conntrack >/dev/null && echo conntrack); do
    [ "$(section "$sec" <<<"$now")" != "$(section "$sec" <<<"$BASELINE")" ] ||
      fail "kernel_snapshot does not see a change in its section $sec"
  done
  canaries I
  kill "$sleeper"; wait "$sleeper" 2>/dev/null || true; unset "pids[-1]"
  rmdir "$cg"; ip netns del snapprobe
  nft delete table inet netctl-snapprobe
  ip6tables-legacy -t filter -X NETCTL-SNAPPROBE
  iptables-legacy -t nat -X NETCTL-SNAPPROBE
  ip addr del 203.0.113.77/32 dev nb-nb
  ip link del nc-snapprobe
  same_as_baseline "the snapshot's self-test"
}
prove_snapshot

# --- one trial ----------------------------------------------------------------------------------
TRIALS=0
declare -A KILLED DONE FAILED
# trial OP HOW: HOW is "delay:<seconds>", "kill:<k>" or "fail:<k>". Prints the command's rc.
trial() {
  local op=$1 how=$2 rc=0 pid bad
  HP=$((HP + 1))
  "setup_$op"
  BIN=$NETCTL ENV=() CNI_IN=; "run_$op"
  case $how in
    delay:*)  # the netctl process itself is the background job: SIGKILL reaches it, not a shell
      printf '%s' "$CNI_IN" | exec_cmd >/dev/null 2>&1 & pid=$!
      sleep "${how#delay:}"; kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || rc=$? ;;
    kill:*)  # as a background job, so bash does not report the kill on stderr
      printf '%s' "$CNI_IN" | FAULT=$FAIL_AT_VAR=${how#kill:}:kill exec_cmd >/dev/null 2>&1 &
      wait $! 2>/dev/null || rc=$? ;;
    fail:*) printf '%s' "$CNI_IN" | FAULT=$FAIL_AT_VAR=${how#fail:} exec_cmd >/dev/null 2>&1 || rc=$? ;;
  esac
  # The next write command recovers whatever the interrupted one left (an unknown sandbox: 3).
  local next=0; nc_ sandbox rm no-such-sandbox >/dev/null 2>&1 || next=$?
  [ "$next" = 3 ] || fail "$op $how: the next command exited $next, want 3"
  settle
  bad=$(check_invariants; "verify_$op"
        [ "$(ask nb 198.51.100.1 7000)" = keeper ] || echo "keeper's port 7000 does not answer"
        [ "$(ask nb 198.51.100.1 6300)" = bystander ] || echo "the second root's port 6300 does not answer")
  [ -z "$bad" ] || fail "$op $how (rc $rc, seed $SEED): $bad"
  "cleanup_$op"
  same_as_baseline "$op $how (rc $rc, seed $SEED)"
  TRIALS=$((TRIALS + 1))
  case $rc in
    0) DONE[$op]=$((${DONE[$op]:-0} + 1)) ;;
    137) KILLED[$op]=$((${KILLED[$op]:-0} + 1)) ;;
    *) FAILED[$op]=$((${FAILED[$op]:-0} + 1)) ;;
  esac
  RC=$rc
}

# Every step: kill before step k, and fail step k, for k = 1.. until the command completes.
declare -A STEPS
for op in "${OPS[@]}"; do
  for mode in kill fail; do
    for k in $(seq 1 60); do
      trial "$op" "$mode:$k"
      if [ "$RC" = 0 ]; then break; fi
      case "$mode:$RC" in kill:137 | fail:1) ;; *) fail "$op $mode:$k exited $RC" ;; esac
    done
    STEPS[$op]=$((k - 1))
    [ "${STEPS[$op]}" -ge "${MIN_STEPS[$op]:?no MIN_STEPS for $op}" ] ||
      fail "$op: the $mode sweep reached ${STEPS[$op]} steps, want at least ${MIN_STEPS[$op]}"
  done
  log "$op: every one of ${STEPS[$op]} steps killed and failed"
done

# Random moments: each operation's duration measured once, kills spread over 0..1.2x of it.
declare -A DUR
for op in "${OPS[@]}"; do
  "setup_$op"; BIN=$NETCTL ENV=() CNI_IN=; "run_$op"
  t0=$(date +%s%N); printf '%s' "$CNI_IN" | exec_cmd >/dev/null; t1=$(date +%s%N)
  nc_ sandbox rm no-such-sandbox >/dev/null 2>&1 || true; "cleanup_$op"
  same_as_baseline "$op uninterrupted"
  DUR[$op]=$(( (t1 - t0) / 1000 ))  # microseconds
done
for i in $(seq 1 "$RANDOM_TRIALS"); do
  op=${OPS[$((RANDOM % ${#OPS[@]}))]}
  us=$(( (RANDOM * 32768 + RANDOM) % (DUR[$op] * 12 / 10 + 1) ))
  trial "$op" "delay:$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
done
summary=""
for op in "${OPS[@]}"; do summary+=" $op ${DONE[$op]:-0} ok/${KILLED[$op]:-0} killed/${FAILED[$op]:-0} failed,"; done
n2_ doctor >/dev/null || fail "the second root's doctor after every trial: $(n2_ doctor 2>&1)"
n2_ rm -f bystander >/dev/null
n2_ network rm other >/dev/null

log "crash: $TRIALS trials passed (seed $SEED, $RANDOM_TRIALS at random moments);$summary"
echo ok
