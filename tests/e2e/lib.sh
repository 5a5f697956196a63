# Helpers for e2e scenarios; source after netns-fixtures/lib.sh and throwaway_host.
set -euo pipefail
# Under pipefail, `cmd | grep -q` fails when grep exits before cmd is done writing (SIGPIPE):
# use `cmd | grep PATTERN >/dev/null` instead.
nc_() { "$NETCTL" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# skip REASON: this scenario cannot run on this machine. Exit 77 is never counted as a pass
# (run.sh counts it apart; under CI any skip fails the run).
skip() { echo "SKIP: $*"; exit 77; }
# expect_rc CODE CMD...: runs CMD, requires exit CODE and a one-line error on stderr when CODE != 0.
expect_rc() {
  local want=$1; shift
  local err rc=0
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want ($err)"
  if [ "$want" != 0 ]; then
    [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || fail "'$*': error is not one line: $err"
  fi
}
# stderr_of CODE CMD... / stdout_of CODE CMD...: runs CMD, requires exit CODE, prints what CMD
# wrote on stderr (stdout dropped) or on stdout (stderr dropped). For checks of an error's text:
# the text of a command that did not fail as it should is never checked alone.
stderr_of() {
  local want=$1 err rc=0; shift
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want ($err)"
  printf '%s\n' "$err"
}
stdout_of() {
  local want=$1 out rc=0; shift
  out=$("$@" 2>/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want ($out)"
  printf '%s\n' "$out"
}
# A snapshot of everything netctl may change: links, addresses, routes, the IPv4 and IPv6 rule sets
# (counters dropped) and the store's view. Any command that fails fails the snapshot (and with it
# `x=$(snapshot)` under set -e, or a comparison with an earlier one).
snapshot() {
  { ip -o link show | sed 's/^[0-9]*: //' | awk '{print $1}' | sort; } || fail "snapshot: ip link"
  { ip -o addr show | awk '{print $2, $4}' | sort; } || fail "snapshot: ip addr"
  { ip route show table all | sort; } || fail "snapshot: ip route"
  { iptables-legacy-save | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]//'; } || fail "snapshot: iptables-save"
  { ip6tables-legacy-save | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]//'; } || fail "snapshot: ip6tables-save"
  "$NETCTL" --format json network ls || fail "snapshot: netctl network ls"
  { "$NETCTL" --format json info | grep -v '"Root"'; } || fail "snapshot: netctl info"
}
