# Helpers for e2e scenarios; source after netns-fixtures/lib.sh and throwaway_host.
set -euo pipefail
# Under pipefail, `cmd | grep -q` fails when grep exits before cmd is done writing (SIGPIPE):
# use `cmd | grep PATTERN >/dev/null` instead.
nc_() { "$NETCTL" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
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
# A snapshot of everything netctl may change: links, addresses, routes, and the store's view.
snapshot() {
  ip -o link show | sed 's/^[0-9]*: //' | awk '{print $1}' | sort
  ip -o addr show | awk '{print $2, $4}' | sort
  ip route show table all | sort
  "$NETCTL" --format json network ls
  "$NETCTL" --format json info | grep -v '"Root"'
}
