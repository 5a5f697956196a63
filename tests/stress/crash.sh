#!/usr/bin/env bash
# Crash harness (issue 7.1): interrupts netctl commands with SIGKILL at random moments and at every
# step (NETCTL_FAIL_AT=<k>:kill), and fails them at every step (NETCTL_FAIL_AT=<k>); after each
# trial the next write command must recover, and then the kernel and the store must agree
# (lib.sh: check_invariants) and every object that survived must pass traffic.
# Usage: NETCTL=build/netctl FIXTURES=netns-fixtures tests/stress/crash.sh [RANDOM_TRIALS]
# Functions per operation (setup_X prepares, run_X sets CMD, the netctl arguments interrupted,
# verify_X checks what survived, cleanup_X returns to the baseline): add `run` and CNI ADD/DEL the
# same way (for the plugin, CMD may name another binary through a run_X that sets BIN).
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
[ -n "${STRESS_TRACE:-}" ] && set -x
RANDOM_TRIALS=${1:-${CRASH_TRIALS:-200}}
SEED=${CRASH_SEED:-$RANDOM}
RANDOM=$SEED
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
KEEP_NETNS=nb
SERVED=
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT

# Baseline: network base with sandbox keeper publishing 7000 -> 80; it must answer after every
# trial (a survivor of every crash).
nc_ network create --subnet 10.89.0.0/24 base >/dev/null
nc_ sandbox create keeper >/dev/null
nc_ network connect -p 7000:80 base keeper >/dev/null
serve keeper 80 keeper; pids+=("$SERVED")
HP=7100  # host ports for trial endpoints: a new one per trial, so a leaked rule cannot answer

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

OPS=(net_create connect disconnect sb_create sb_rm net_rm)

# --- one trial ----------------------------------------------------------------------------------
TRIALS=0
declare -A KILLED DONE FAILED
# trial OP HOW: HOW is "delay:<seconds>", "kill:<k>" or "fail:<k>". Prints the command's rc.
trial() {
  local op=$1 how=$2 rc=0 pid bad
  HP=$((HP + 1))
  "setup_$op"
  BIN=$NETCTL; "run_$op"
  case $how in
    delay:*)  # the netctl process itself is the background job: SIGKILL reaches it, not a shell
      "$BIN" "${CMD[@]}" >/dev/null 2>&1 & pid=$!
      sleep "${how#delay:}"; kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || rc=$? ;;
    kill:*)  # as a background job, so bash does not report the kill on stderr
      NETCTL_FAIL_AT=${how#kill:}:kill "$BIN" "${CMD[@]}" >/dev/null 2>&1 &
      wait $! 2>/dev/null || rc=$? ;;
    fail:*) NETCTL_FAIL_AT=${how#fail:} "$BIN" "${CMD[@]}" >/dev/null 2>&1 || rc=$? ;;
  esac
  # The next write command recovers whatever the interrupted one left (an unknown sandbox: 3).
  local next=0; nc_ sandbox rm no-such-sandbox >/dev/null 2>&1 || next=$?
  [ "$next" = 3 ] || fail "$op $how: the next command exited $next, want 3"
  bad=$(check_invariants; "verify_$op"
        [ "$(ask nb 198.51.100.1 7000)" = keeper ] || echo "keeper's port 7000 does not answer")
  [ -z "$bad" ] || fail "$op $how (rc $rc, seed $SEED): $bad"
  "cleanup_$op"
  bad=$(check_invariants)
  [ -z "$bad" ] || fail "$op $how: after cleanup: $bad"
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
  done
  log "$op: every one of ${STEPS[$op]} steps killed and failed"
done

# Random moments: each operation's duration measured once, kills spread over 0..1.2x of it.
declare -A DUR
for op in "${OPS[@]}"; do
  "setup_$op"; BIN=$NETCTL; "run_$op"
  t0=$(date +%s%N); "$BIN" "${CMD[@]}" >/dev/null; t1=$(date +%s%N)
  nc_ sandbox rm no-such-sandbox >/dev/null 2>&1 || true; "cleanup_$op"
  DUR[$op]=$(( (t1 - t0) / 1000 ))  # microseconds
done
for i in $(seq 1 "$RANDOM_TRIALS"); do
  op=${OPS[$((RANDOM % ${#OPS[@]}))]}
  us=$(( (RANDOM * 32768 + RANDOM) % (DUR[$op] * 12 / 10 + 1) ))
  trial "$op" "delay:$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
done
summary=""
for op in "${OPS[@]}"; do summary+=" $op ${DONE[$op]:-0} ok/${KILLED[$op]:-0} killed/${FAILED[$op]:-0} failed,"; done
log "crash: $TRIALS trials passed (seed $SEED, $RANDOM_TRIALS at random moments);$summary"
echo ok
