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
# The firewall backend under test: $NETCTL_FIREWALL_BACKEND, else the one netctl picks here (auto;
# netctl info reports it). tests/e2e/run.sh runs the firewall subset under each.
fw_backend() {
  if [ -z "${FW_BACKEND:-}" ]; then
    case "${NETCTL_FIREWALL_BACKEND:-auto}" in
      iptables | nftables) FW_BACKEND=$NETCTL_FIREWALL_BACKEND ;;
      *) FW_BACKEND=$("$NETCTL" --format json info | sed -nE 's/.*"FirewallBackend": *"([a-z]+)".*/\1/p')
         [ -n "$FW_BACKEND" ] || fail "netctl info names no firewall backend" ;;
    esac
  fi
  echo "$FW_BACKEND"
}
is_nft() { [ "$(fw_backend)" = nftables ]; }
# netctl's nftables tables (one per root: "inet netctl-<root id>"), one name a line.
nft_tables() { nft list tables 2>/dev/null | sed -nE 's/^table inet (netctl-[0-9a-f]{8})$/\1/p'; }
# Every element of netctl's port maps, one a line: "ports4 tcp . 8080 : 10.88.0.2 . 80"
# ("ports4h 198.51.100.1 . tcp . 8080 : ..." with a host address; ports6/ports6h for IPv6).
nft_ports() {
  local t m elems
  for t in $(nft_tables); do
    for m in ports4 ports4h ports6 ports6h; do
      elems=$({ nft list map inet "$t" "$m" 2>/dev/null || true; } | tr -d '\n\t' |
        sed -nE 's/.*elements = \{([^}]*)\}.*/\1/p')
      [ -z "$elems" ] || tr ',' '\n' <<<"$elems" | sed -E "s/^ +//; s/ +\$//; /^\$/d; s/^/$m /"
    done
  done
}
# Published ports in the active backend, one entry a line (an iptables DNAT rule, an nftables map
# element: a range is one rule but one element per port); with PORT, only those for host port PORT.
fw_ports() {
  if is_nft; then
    nft_ports | { if [ -n "${1:-}" ]; then grep -E " $1 : " || true; else cat; fi; }
  else
    { iptables-legacy-save -t nat; ip6tables-legacy-save -t nat; } | grep -- '-j DNAT' |
      { if [ -n "${1:-}" ]; then grep -E -- "--dport $1(:[0-9]+)? " || true; else cat; fi; }
  fi
}
fw_port_count() { fw_ports "${1:-}" | grep -c . || true; }
# Deletes, behind netctl's back, the published-port entries for host port PORT in family 4 (the
# default) or 6: drift for doctor, gc and CNI CHECK to find.
fw_drop_port() {
  local line t rule fam=${2:-4} ipt=iptables-legacy
  if is_nft; then
    t=$(nft_tables | head -n 1)
    nft_ports | grep -E "^ports$fam" | grep -E " $1 : " | while read -r line; do
      nft delete element inet "$t" "${line%% *}" "{ $(sed -E 's/^[^ ]+ //; s/ : .*//' <<<"$line") }"
    done
  else
    [ "$fam" = 6 ] && ipt=ip6tables-legacy
    $ipt -t nat -S | grep -E -- "^-A NETCTL-D-[0-9a-f]{8} .*--dport $1 .*-j DNAT" |
      while read -r rule; do read -r -a del <<<"${rule/#-A/-D}"; $ipt -t nat "${del[@]}"; done
  fi
}
# netctl's per-network objects (N, I, M chains and the jumps to them) in the active backend.
fw_network_objects() {
  if is_nft; then
    local t
    for t in $(nft_tables); do nft list table inet "$t" | grep -E '(chain|jump|goto) [NIM]-' || true; done
  else
    { iptables-legacy-save; ip6tables-legacy-save; } | grep -E 'NETCTL-[NIM]-' || true
  fi
}
# nft output with the elements of every set and map one a line, sorted: a hash map lists them in
# no fixed order.
nft_sorted_elements() {
  python3 -c '
import re, sys
def one_a_line(m):
    items = sorted(x.strip() for x in m.group(2).split(","))
    return m.group(1) + "elements = {\n" + "".join(m.group(1) + "\t" + x + "\n" for x in items) + m.group(1) + "}"
sys.stdout.write(re.sub(r"(\t+)elements = \{([^}]*)\}", one_a_line, sys.stdin.read()))'
}
# Every firewall rule of the host in both backends, counters dropped: for "byte-identical" checks.
fw_save() {
  { iptables-legacy-save | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]//'; } || fail "fw_save: iptables-save"
  { ip6tables-legacy-save | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]//'; } || fail "fw_save: ip6tables-save"
  { nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' |
      nft_sorted_elements; } ||
    fail "fw_save: nft list ruleset"
}
# fw_save without what only says that a legacy table exists (its header, built-in chain policies,
# COMMIT): reading a legacy table that is not there yet makes it, empty.
fw_rules() {
  fw_save | grep -vE '^(\*[a-z]+|:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) [A-Z]+ ?|COMMIT)$' || true
}
# A snapshot of everything netctl may change: links, addresses, routes, the firewall of both
# backends (counters dropped) and the store's view. Any command that fails fails the snapshot (and
# with it `x=$(snapshot)` under set -e, or a comparison with an earlier one).
snapshot() {
  { ip -o link show | sed 's/^[0-9]*: //' | awk '{print $1}' | sort; } || fail "snapshot: ip link"
  { ip -o addr show | awk '{print $2, $4}' | sort; } || fail "snapshot: ip addr"
  { ip route show table all | sort; } || fail "snapshot: ip route"
  fw_save
  "$NETCTL" --format json network ls || fail "snapshot: netctl network ls"
  { "$NETCTL" --format json info | grep -v '"Root"'; } || fail "snapshot: netctl info"
}

# published_web: network n1 (10.88.0.0/24) and sandbox web on it publishing 8080 -> 80, where a
# busybox server answers "up" (its pid added to the caller's `pids`).
published_web() {
  nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
  nc_ sandbox create web >/dev/null
  nc_ network connect -p 8080:80 n1 web
  ip netns exec web busybox nc -ll -p 80 -e echo up & pids+=($!)
  for _ in $(seq 50); do ip netns exec web ss -ltn | grep ':80 ' >/dev/null && break; sleep 0.1; done
}
