#!/usr/bin/env bash
# One command, one table: every benchmark of tests/bench run in turn on this machine, each with
# its peers measured in the same run, then every row they emitted (bench_emit) in one table.
# Usage (root): sudo tests/bench/run.sh [--quick]      (about 15-20 minutes; --quick: ~5)
# Env: NETCTL (build/netctl); SKIP="attach cni ..." leaves benchmarks out; OUT=FILE also writes
# the table there. Everything runs in throwaway namespaces; each benchmark checks it left nothing.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
[ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
export NETCTL=$(realpath "${NETCTL:-$repo/build/netctl}")
[ -x "$NETCTL" ] || { echo "no netctl at $NETCTL (build: scripts/build.sh)" >&2; exit 2; }
quick=0; [ "${1:-}" = --quick ] && quick=1
BENCH_TSV=$(mktemp /tmp/bench-rows.XXXXXX); export BENCH_TSV
logs=$(mktemp -d /tmp/bench-logs.XXXXXX)
trap 'rm -rf "$BENCH_TSV" "$logs"' EXIT
t_all=$(date +%s)

step() {  # NAME ENV... -- SCRIPT: runs one benchmark, its output in $logs/NAME.log
  local name=$1; shift
  local -a envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  [[ " ${SKIP:-} " == *" $name "* ]] && { echo "== $name: skipped (SKIP)"; return; }
  [ -x "$1" ] || { echo "== $name: not present ($1)"; return; }
  local t0=$(date +%s) rc=0
  echo "== $name: $(basename "$1") ${envs[*]}"
  env "${envs[@]}" "$@" >"$logs/$name.log" 2>&1 || rc=$?
  grep -E '^(target|machine|scaling|growth|start floor|Docker not measured|.*not measured)' "$logs/$name.log" | sed 's/^/   /'
  [ "$rc" = 0 ] || { echo "   FAILED (exit $rc); last lines:"; tail -n 5 "$logs/$name.log" | sed 's/^/     /'; }
  echo "   $(($(date +%s) - t0)) s"
}
if [ "$quick" = 1 ]; then
  step network N=10 ROUNDS=1 -- "$here/network.sh"
  step attach PORTS=1 NS="10 100" ROUNDS=1 PEER_ROUNDS=1 MIN_OPS=20 -- "$here/attach.sh"
  step publish ROUNDS=10 -- "$here/publish.sh"
  step fw-scale ROUNDS=5 SIZES="10 1000" -- "$here/fw_scale.sh"
  step fw-attach NS="10 100" ROUNDS=40 -- "$here/fw_attach.sh"
  step cni N=20 ROUNDS=1 -- "$here/cni.sh"
  step run-to-port ROUNDS=5 -- "$here/run_to_port.sh"
else
  step network N=20 ROUNDS=2 -- "$here/network.sh"
  step attach PORTS=0 NS="10 100 500" ROUNDS=2 PEER_ROUNDS=1 MIN_OPS=40 -- "$here/attach.sh"
  step attach-ports PORTS=1 NS="10 100 500" ROUNDS=2 PEER_ROUNDS=1 MIN_OPS=40 FIREWALL=nftables \
    -- "$here/attach.sh"
  step attach-ports-iptables PORTS=1 NS="10 100 500" ROUNDS=2 PEER_ROUNDS=1 MIN_OPS=40 \
    FIREWALL=iptables -- "$here/attach.sh"
  step publish ROUNDS=30 -- "$here/publish.sh"
  step fw-scale ROUNDS=20 -- "$here/fw_scale.sh"
  step fw-attach -- "$here/fw_attach.sh"
  step dns -- "$here/dns.sh"
  step cni N=50 ROUNDS=2 -- "$here/cni.sh"
  step run-to-port -- "$here/run_to_port.sh"
fi
step footprint -- "$here/footprint.sh"

table() {
  echo "netctl $("$NETCTL" version 2>/dev/null | head -n 1) beside its peers, measured in this run"
  bench_machine
  echo "median (p90); ratio = other / netctl (> 1: netctl is faster or smaller)"
  echo
  printf '| %-58s | %-20s | %-36s | %-20s | %-7s |\n' operation netctl "other (same run)" other ratio
  printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "$(printf -- '-%.0s' {1..22})" \
    "$(printf -- '-%.0s' {1..38})" "$(printf -- '-%.0s' {1..22})" "$(printf -- '-%.0s' {1..9})"
  local op a peer b unit am bm r ca cb
  while IFS=$'\x1f' read -r op a peer b unit; do
    read -r am _ <<<"$a"; read -r bm _ <<<"$b"
    r=-
    if [ -n "$am" ] && [ -n "$bm" ] && [ "$am" != - ] && [ "$bm" != - ]; then
      r=$(awk -v x="$bm" -v y="$am" 'BEGIN { if (y > 0) printf "%.1fx", x / y; else print "-" }')
    fi
    ca=$(bench_cell "$a"); cb=$(bench_cell "$b")
    [ "$unit" = ms ] || { ca="${ca%% (*} $unit"; [ "$cb" = - ] || cb="${cb%% (*} $unit"; }
    [ "$ca" = "- $unit" ] && ca=-
    printf '| %-58s | %-20s | %-36s | %-20s | %-7s |\n' "$op" "$ca" "${peer:--}" "$cb" "$r"
  done <"$BENCH_TSV"
  echo
  echo "total $(($(date +%s) - t_all)) s; per-benchmark output and targets above the table"
}
echo
table | tee "${OUT:-/dev/null}"
